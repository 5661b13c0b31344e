//! "Importer des utilisateurs": dry run, all or nothing, encodings.
mod common;
use common::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

async fn import(
    app: &TestApp,
    c: &reqwest::Client,
    org: i64,
    bytes: Vec<u8>,
    confirm: bool,
) -> (StatusCode, Value) {
    let form = Form::new()
        .text("organisation_id", org.to_string())
        .text("confirmer", if confirm { "1" } else { "0" })
        .part(
            "fichier",
            Part::bytes(bytes)
                .file_name("agents.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let resp = c
        .post(format!("{}/api/import_agents", app.url))
        .header("Origin", &app.url)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn outcomes(report: &Value) -> Vec<(u64, String)> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const HEADER: &str = "Civilité;Nom;Prénom;Adresse mail;Téléphone;Poste;Date d'ouverture;Date de clôture;Code service\n";

#[tokio::test]
async fn a_file_with_one_bad_row_writes_nothing_and_names_the_line() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    app.signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let users = app.count("select count(*) from users").await;
    let events = app.count("select count(*) from audit_events").await;
    let bad = format!(
        "{HEADER}Mme;Lefèvre;Hélène;helene@exemple.fr;;;;;\nMme;Agent;Paul;paul@exemple.fr;;;;;\nM;;Sans nom;pas-une-adresse;;;;;\n"
    );
    for confirm in [false, true] {
        let (s, report) = import(&app, &admin, org, bad.clone().into_bytes(), confirm).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!(report["applied"], false);
        assert_eq!(report["errors"], 1);
        // A new account and an existing one both read "invitation" (the
        // report no longer tells whether an address has an account).
        assert_eq!(
            outcomes(&report),
            vec![
                (2, "invitation".into()),
                (3, "invitation".into()),
                (4, "erreur".into())
            ]
        );
        assert!(report["lines"][2]["message"].as_str().unwrap().len() > 5);
        assert_eq!(app.count("select count(*) from users").await, users);
        assert_eq!(app.count("select count(*) from audit_events").await, events);
        assert_eq!(
            app.count("select count(*) from outbox where to_email = 'helene@exemple.fr'")
                .await,
            0
        );
    }
    // Fixed (and saved by Excel in Windows-1252): dry run, then confirm.
    let fixed = bad.replace("M;;Sans nom;pas-une-adresse", "M;Nom;Jean;jean@exemple.fr");
    let bytes = encoding_rs::WINDOWS_1252.encode(&fixed).0.into_owned();
    let (_, dry) = import(&app, &admin, org, bytes.clone(), false).await;
    assert_eq!(dry["errors"], 0);
    assert_eq!(dry["applied"], false);
    assert_eq!(app.count("select count(*) from users").await, users);
    let (s, report) = import(&app, &admin, org, bytes.clone(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], true);
    assert_eq!(app.count("select count(*) from users").await, users + 2);
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where organisation_id = {org}"
        ))
        .await,
        3,
        "Paul (an existing account) is invited, not attached, until he accepts"
    );
    let (nom,): (String,) =
        sqlx::query_as("select nom from users where email = 'helene@exemple.fr'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(nom, "Lefèvre");
    let (subject, _) = app.last_mail("helene@exemple.fr").await.unwrap();
    assert!(subject.contains("créé"));
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'utilisateurs.import'")
            .await,
        1
    );
    // The same file again: nothing changes for the members (Paul, not yet
    // attached, is invited again); a changed row is an update.
    let (_, again) = import(&app, &admin, org, bytes, false).await;
    assert_eq!(
        outcomes(&again)
            .into_iter()
            .map(|o| o.1)
            .collect::<Vec<_>>(),
        vec!["inchangé", "invitation", "inchangé"]
    );
    let changed = fixed.replace(
        "Mme;Lefèvre;Hélène;helene@exemple.fr;;",
        "Mme;Lefèvre;Hélène;helene@exemple.fr;0123456789;itinérant",
    );
    let (_, upd) = import(&app, &admin, org, changed.into_bytes(), true).await;
    assert_eq!(upd["lines"][0]["outcome"], "mise à jour");
    assert_eq!(upd["applied"], true);
}

#[tokio::test]
async fn import_is_for_the_organisation_admins_only() {
    let app = TestApp::spawn().await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let file = format!("{HEADER}M;X;Y;x@exemple.fr;;;;;\n").into_bytes();
    let (s, _) = import(&app, &other, org, file.clone(), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = import(&app, &app.client(), org, file, true).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("select count(*) from users where email = 'x@exemple.fr'")
            .await,
        0
    );
}

#[tokio::test]
async fn unreadable_files_are_refused_next_to_the_file_field() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (s, body) = import(&app, &admin, org, b"Nom;Prenom\nA;B\n".to_vec(), false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["fichier"]);
    let (s, body) = import(&app, &admin, org, vec![], false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
