//! CSV exports neutralise spreadsheet formulas (OWASP "CSV injection"): a
//! cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return gets
//! a leading `'`, so a spreadsheet shows it as text.
mod common;
use common::*;
use reqwest::StatusCode;

/// Names allow letters, digits and `-'._`; an address's local part allows
/// much more.
const FORMULA: &str = "=hyperlink(\"http://pirate.example\";\"clic\")@exemple.fr";

/// The rows of a `;`-separated CSV body (after its byte order mark).
async fn cells(resp: reqwest::Response) -> Vec<Vec<String>> {
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn assert_no_formula(rows: &[Vec<String>]) {
    for row in rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell begins with a formula character: {cell:?} in {row:?}"
            );
        }
    }
}

#[tokio::test]
async fn formula_cells_are_neutralised_in_both_exports() {
    let app = TestApp::spawn().await;
    // The manager's own name starts with `-` (the journal's actor).
    let uid = app
        .signup_verified("marie@exemple.fr", "-Marie", "Gestionnaire")
        .await;
    assert!(uid > 0);
    let marie = app.login("marie@exemple.fr").await;
    let (s, body) = app
        .call(&marie, "register_organisation", &[("siret", AFDAS)])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let org = body.as_i64().unwrap().to_string();
    let (s, body) = app
        .call(
            &marie,
            "create_agent",
            &[
                ("organisation_id", org.as_str()),
                ("civilite", "M"),
                ("nom", "-Dupont"),
                ("prenom", "-Paul"),
                ("email", FORMULA),
                ("email_confirmation", FORMULA),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let agents = cells(
        marie
            .get(format!("{}/exports/agents.csv", app.url))
            .query(&[("organisation", &org)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_no_formula(&agents);
    let row = agents
        .iter()
        .find(|r| r.iter().any(|c| c.contains("pirate.example")))
        .expect("the agent's row");
    // Identifiant;Nom;Prénom;Adresse mail;…
    assert_eq!(row[1], "'-Dupont", "{row:?}");
    assert_eq!(row[2], "'-Paul", "{row:?}");
    assert_eq!(row[3], format!("'{FORMULA}"), "{row:?}");

    let journal = cells(
        marie
            .get(format!("{}/exports/journal.csv", app.url))
            .query(&[("organisation", &org)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_no_formula(&journal);
    // Date;Acteur;Structure;Action;Cible;Avant;Après;IP
    assert!(
        journal
            .iter()
            .any(|r| r[1].starts_with("'-Marie Gestionnaire")),
        "{journal:?}"
    );
    assert!(
        journal
            .iter()
            .any(|r| r[4] == format!("'-Paul -Dupont ({FORMULA})")),
        "{journal:?}"
    );
    assert!(
        journal.iter().skip(1).all(|r| r[7] == "127.0.0.1"),
        "{journal:?}"
    );
    drop(app);
}
