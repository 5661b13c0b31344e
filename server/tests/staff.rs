//! The operator's own staff (CAF « Agents Caf »): listed, created with an
//! invitation, closed; operators only.
mod common;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn operators_list_create_and_close_their_own_agents() {
    let app = TestApp::spawn().await;
    let op = app.operator("operateur@exemple.fr").await;
    let (manager, _, _) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let form = |email: &'static str| {
        vec![
            ("civilite", "Mme"),
            ("nom", "Agent"),
            ("prenom", "Nora"),
            ("email", email),
            ("email_confirmation", email),
        ]
    };
    // Only an operator: a structure's manager is refused, nothing written.
    let (s, _) = app
        .call(&manager, "create_staff", &form("nora@exemple.fr"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(&manager, "list_staff", &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("select count(*) from users where email = 'nora@exemple.fr'")
            .await,
        0
    );
    // Bad input: French errors next to the fields.
    let (s, body) = app
        .call(
            &op,
            "create_staff",
            &[
                ("nom", ""),
                ("prenom", "Nora"),
                ("email", "nora@"),
                ("email_confirmation", "x"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = invalid_fields(&body);
    assert!(
        fields.contains(&"nom".to_string()) && fields.contains(&"email".to_string()),
        "{body}"
    );
    // An address that already has an account.
    let (s, body) = app
        .call(&op, "create_staff", &form("marie@exemple.fr"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["email"]);
    // Created: an operator of no structure, who chooses a password from
    // the mailed link and then administers the platform.
    let (s, body) = app
        .call(&op, "create_staff", &form("nora@exemple.fr"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let nora = app.user_id("nora@exemple.fr").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where id = {nora} and is_operator and home_organisation_id is null
                and not exists (select 1 from memberships where user_id = {nora})"
        ))
        .await,
        1
    );
    let (_, mail) = app
        .last_mail("nora@exemple.fr")
        .await
        .expect("an invitation");
    let nora_c = app.client();
    let (s, body) = app
        .call(
            &nora_c,
            "accept_invitation",
            &[
                ("jeton", &token_in(&mail)),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, list) = app.call(&nora_c, "list_staff", &[("q", "nora")]).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["rows"].as_array().unwrap().len(), 1);
    assert_eq!(list["rows"][0]["me"], true);
    let (_, all) = app.call(&op, "list_staff", &[]).await;
    assert_eq!(all["rows"].as_array().unwrap().len(), 2, "{all}");
    // Nobody closes their own account; another operator closes it, and
    // its sessions end at once.
    let (s, _) = app
        .call(&nora_c, "close_staff", &[("user_id", &nora.to_string())])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .call(
            &op,
            "close_staff",
            &[(
                "user_id",
                &app.user_id("marie@exemple.fr").await.to_string(),
            )],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "only operators' accounts are closed here"
    );
    let (s, body) = app
        .call(&op, "close_staff", &[("user_id", &nora.to_string())])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, me) = app.call(&nora_c, "me", &[]).await;
    assert_eq!(me, serde_json::Value::Null);
    let (s, _) = app.call(&nora_c, "list_staff", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("select count(*) from audit_events where action in ('operateur.agent_creation', 'operateur.agent_cloture')")
            .await,
        2
    );
}
