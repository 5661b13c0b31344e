//! Units ("services" of a structure).
mod common;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn units_are_created_modified_and_deactivated() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let (s, body) = app
        .call(
            &manager,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("code", " compta "),
                ("libelle", "Comptabilité"),
                ("numero_engagement_obligatoire", "oui"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let id = body.as_i64().unwrap().to_string();
    // Code unique within the organisation.
    let (s, body) = app
        .call(
            &manager,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("code", "COMPTA"),
                ("libelle", "Autre"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["code"]);
    // Bad input: each field says what is wrong, nothing is written.
    let (s, body) = app
        .call(
            &manager,
            "save_unit",
            &[("organisation_id", &o), ("code", "é t é"), ("libelle", " ")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["code", "libelle"]);
    assert_eq!(app.count("select count(*) from units").await, 1);

    let (s, _) = app
        .call(
            &manager,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("id", &id),
                ("code", "COMPTA-1"),
                ("libelle", "Comptabilité générale"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(
            &manager,
            "set_unit_active",
            &[("organisation_id", &o), ("id", &id), ("active", "false")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = app
        .call(&manager, "list_units", &[("organisation_id", &o)])
        .await;
    assert_eq!(list[0]["code"], "COMPTA-1");
    assert_eq!(list[0]["libelle"], "Comptabilité générale");
    assert_eq!(list[0]["numero_engagement_obligatoire"], false);
    assert_eq!(list[0]["active"], false);
    assert_eq!(
        app.count("select count(*) from audit_events where action in ('service.creation', 'service.modification', 'service.desactivation')").await,
        3
    );
    // The same code is free in another organisation.
    let (other, _, other_org) = app.manager_of("eve@exemple.fr", SAINT_MALO).await;
    let (s, _) = app
        .call(
            &other,
            "save_unit",
            &[
                ("organisation_id", &other_org.to_string()),
                ("code", "COMPTA-1"),
                ("libelle", "Compta"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn units_of_another_organisation_stay_out_of_reach() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (_, body) = app
        .call(
            &manager,
            "save_unit",
            &[
                ("organisation_id", &org.to_string()),
                ("code", "RH"),
                ("libelle", "Ressources humaines"),
            ],
        )
        .await;
    let id = body.as_i64().unwrap().to_string();
    let (intruder, _, other) = app.manager_of("eve@exemple.fr", SAINT_MALO).await;
    let o = org.to_string();
    let mine = other.to_string();
    assert_eq!(
        app.call(&intruder, "list_units", &[("organisation_id", &o)])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(
            &intruder,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("id", &id),
                ("code", "X"),
                ("libelle", "X")
            ]
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Through the intruder's own organisation, the unit does not exist.
    assert_eq!(
        app.call(
            &intruder,
            "save_unit",
            &[
                ("organisation_id", &mine),
                ("id", &id),
                ("code", "X"),
                ("libelle", "X")
            ]
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            &intruder,
            "set_unit_active",
            &[("organisation_id", &mine), ("id", &id), ("active", "false")]
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(
            &intruder,
            "set_unit_active",
            &[("organisation_id", &o), ("id", &id), ("active", "false")]
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(&app.client(), "list_units", &[("organisation_id", &o)])
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (code, active): (String, bool) = sqlx::query_as("select code, active from units")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((code.as_str(), active), ("RH", true));
}
