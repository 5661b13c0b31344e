//! "Liste des agents": search, keyset pagination, identifier reminder,
//! and the organisation boundary.
mod common;
use common::*;
use reqwest::StatusCode;

/// Attaches `n` agents named Agent000.. (plus one "Zoé Dupont") directly.
async fn populate(app: &TestApp, org: i64, n: usize) {
    sqlx::query(
        "with new as (
             insert into users (identifier, civilite, nom, prenom, email, email_verified_at)
             select 'AGT' || lpad(i::text, 4, '0') || 'AAA', 'M', 'Agent' || lpad(i::text, 3, '0'), 'Jean',
                    'agent' || i || '@exemple.fr', now()
               from generate_series(1, $2) i
             returning id)
         insert into memberships (user_id, organisation_id) select id, $1 from new",
    )
    .bind(org)
    .bind(n as i32)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "with new as (insert into users (identifier, civilite, nom, prenom, email, date_cloture)
                      values ('ZZZ1234ZZZ', 'Mme', 'Dupont', 'Zoé', 'zoe.dupont@exemple.fr', current_date) returning id)
         insert into memberships (user_id, organisation_id) select id, $1 from new",
    )
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn agents_are_listed_by_name_in_keyset_pages() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    populate(&app, org, 60).await;
    let org_s = org.to_string();
    let (s, page1) = app
        .call(&manager, "list_agents", &[("organisation_id", &org_s)])
        .await;
    assert_eq!(s, StatusCode::OK, "{page1}");
    let rows = page1["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0]["nom"], "Agent001");
    assert_eq!(page1["organisation"], "AFDAS");
    let next = page1["next"].as_str().expect("a next page").to_string();
    let (_, page2) = app
        .call(
            &manager,
            "list_agents",
            &[("organisation_id", &org_s), ("after", &next)],
        )
        .await;
    let rows2 = page2["rows"].as_array().unwrap();
    // 60 agents, Dupont and the manager herself (Gestionnaire): 62 in all.
    assert_eq!(rows2.len(), 12, "{page2}");
    assert!(page2["next"].is_null());
    let names: Vec<&str> = rows
        .iter()
        .chain(rows2.iter())
        .map(|r| r["nom"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    sorted.dedup();
    assert_eq!(sorted.len(), 62, "no row twice");
}

#[tokio::test]
async fn agents_filters_search_their_columns() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    populate(&app, org, 15).await;
    let org_s = org.to_string();
    let list = |form: Vec<(&'static str, &'static str)>| {
        let mut f = vec![("organisation_id", org_s.as_str())];
        f.extend(form);
        let app = &app;
        let manager = &manager;
        async move {
            app.call(manager, "list_agents", &f).await.1["rows"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let zoe = list(vec![("q", "zoé")]).await;
    assert_eq!(zoe.len(), 1);
    assert_eq!(zoe[0]["statut"], "Clôturé");
    assert_eq!(list(vec![("identifiant", "zzz1")]).await.len(), 1);
    assert_eq!(
        list(vec![("nom", "agent01")]).await.len(),
        6,
        "Agent010..Agent015"
    );
    assert_eq!(
        list(vec![("prenom", "jean"), ("nom", "agent00")])
            .await
            .len(),
        9
    );
    assert_eq!(list(vec![("q", "zoe.dupont@")]).await.len(), 1);
    // LIKE wildcards are taken literally.
    assert_eq!(list(vec![("q", "%")]).await.len(), 0);
}

#[tokio::test]
async fn identifier_reminder_is_mailed_and_traced() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    populate(&app, org, 1).await;
    let uid = app.user_id("agent1@exemple.fr").await.to_string();
    let (s, body) = app
        .call(
            &manager,
            "resend_identifier",
            &[("organisation_id", &org.to_string()), ("user_id", &uid)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (subject, mail) = app.last_mail("agent1@exemple.fr").await.unwrap();
    assert_eq!(subject, "Votre identifiant Habilitations");
    assert!(mail.contains("AGT0001AAA"), "{mail}");
    assert_eq!(
        app.count(
            "select count(*) from audit_events where action = 'utilisateur.renvoi_identifiant'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn agents_of_another_organisation_stay_out_of_reach() {
    let app = TestApp::spawn().await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    populate(&app, org, 2).await;
    let (intruder, _, other) = app.manager_of("eve@exemple.fr", SAINT_MALO).await;
    let uid = app.user_id("agent1@exemple.fr").await.to_string();
    let (s, _) = app
        .call(
            &intruder,
            "list_agents",
            &[("organisation_id", &org.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            &intruder,
            "resend_identifier",
            &[("organisation_id", &org.to_string()), ("user_id", &uid)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Through the intruder's own organisation: the agent is not there.
    let (s, _) = app
        .call(
            &intruder,
            "resend_identifier",
            &[("organisation_id", &other.to_string()), ("user_id", &uid)],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(app.mail_count("agent1@exemple.fr").await, 0);
    // A plain member of the organisation is no manager either.
    app.signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    sqlx::query("insert into memberships (user_id, organisation_id) select id, $1 from users where email = 'paul@exemple.fr'")
        .bind(org)
        .execute(&app.pool)
        .await
        .unwrap();
    let paul = app.login("paul@exemple.fr").await;
    let (s, _) = app
        .call(
            &paul,
            "list_agents",
            &[("organisation_id", &org.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Anonymous.
    let (s, _) = app
        .call(
            &app.client(),
            "list_agents",
            &[("organisation_id", &org.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_agents_csv_export_has_every_page_and_the_screen_rights() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    populate(&app, org, 120).await;
    let url = format!("{}/exports/agents.csv", app.url);
    let o = org.to_string();
    let r = other
        .get(&url)
        .query(&[("organisation", &o)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let visitor = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = visitor
        .get(&url)
        .query(&[("organisation", &o)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = admin
        .get(&url)
        .query(&[("organisation", &o)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(&bytes[3..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "Identifiant",
            "Nom",
            "Prénom",
            "Adresse mail",
            "Téléphone",
            "Date d'ouverture",
            "Date de clôture",
            "Statut"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // 120 generated agents, Zoé Dupont (closed) and the manager, across pages.
    assert_eq!(rows.len(), 122);
    let zoe = rows
        .iter()
        .find(|r| &r[3] == "zoe.dupont@exemple.fr")
        .unwrap();
    assert_eq!(&zoe[7], "Clôturé");
    // The screen's filters apply.
    let r = admin
        .get(&url)
        .query(&[("organisation", o.as_str()), ("nom", "dup")])
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}
