//! "Hold under attack", findings 1–3: nobody takes over someone else's
//! account (attach-and-edit, change of email then reset), ranks are kept
//! (an admin against the primary manager or another admin), and nobody
//! acts on their own rights, on any path.
mod common;
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn fiche<'a>(o: &'a str, email: &'a str, nom: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("organisation_id", o),
        ("civilite", "M"),
        ("nom", nom),
        ("prenom", "Intrus"),
        ("email", email),
        ("email_confirmation", email),
        ("telephone", ""),
        ("telephone_confirmation", ""),
        ("poste", "sedentaire"),
    ]
}

/// `update_agent` on `user` with `email` as the new address.
async fn change_email(
    app: &TestApp,
    c: &reqwest::Client,
    org: i64,
    user: i64,
    email: &str,
) -> (StatusCode, Value) {
    let (o, u) = (org.to_string(), user.to_string());
    let mut form = fiche(&o, email, "Cible");
    form.push(("user_id", &u));
    app.call(c, "update_agent", &form).await
}

async fn email_of(app: &TestApp, user: i64) -> String {
    let (e,): (String,) = sqlx::query_as("select email from users where id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    e
}

async fn memberships(app: &TestApp, user: i64, org: i64) -> i64 {
    app.count(&format!(
        "select count(*) from memberships where user_id = {user} and organisation_id = {org}"
    ))
    .await
}

#[tokio::test]
async fn attaching_an_existing_account_is_an_invitation_and_never_lets_a_structure_edit_it() {
    let app = TestApp::spawn().await;
    // The victim signed up on their own; the attacker registers any
    // structure (anyone can).
    let victim = app
        .signup_verified("victime@exemple.fr", "Victor", "Victime")
        .await;
    let (attacker, _, org) = app.manager_of("intrus@exemple.fr", AFDAS).await;
    let o = org.to_string();

    // create_agent answers the same for a known and an unknown address.
    let (s_known, known) = app
        .call(
            &attacker,
            "create_agent",
            &fiche(&o, "victime@exemple.fr", "X"),
        )
        .await;
    let (s_new, new) = app
        .call(
            &attacker,
            "create_agent",
            &fiche(&o, "inconnu@exemple.fr", "X"),
        )
        .await;
    assert_eq!((s_known, s_new), (StatusCode::OK, StatusCode::OK));
    // The answer echoes what was typed, for a known address as for a new
    // one: never the owner's own fiche.
    let typed = |email: &str| serde_json::json!({"email": email, "nom": "X", "prenom": "Intrus", "service": null, "groupe": null});
    assert_eq!(known, typed("victime@exemple.fr"));
    assert_eq!(new, typed("inconnu@exemple.fr"));
    // A missing fiche is refused alike for both (no shortcut for known ones).
    for email in ["victime@exemple.fr", "autre-inconnu@exemple.fr"] {
        let (s, body) = app
            .call(
                &attacker,
                "create_agent",
                &[
                    ("organisation_id", &o),
                    ("email", email),
                    ("email_confirmation", email),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(invalid_fields(&body).contains(&"nom".to_string()), "{body}");
    }

    // Nothing is attached without the owner's consent: the fiche is out of
    // reach, its email cannot be changed.
    assert_eq!(memberships(&app, victim, org).await, 0);
    let (s, _) = app
        .call(
            &attacker,
            "get_agent",
            &[("organisation_id", &o), ("user_id", &victim.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = change_email(&app, &attacker, org, victim, "piege@exemple.fr").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(email_of(&app, victim).await, "victime@exemple.fr");
    let (subject, body) = app.last_mail("victime@exemple.fr").await.unwrap();
    assert!(subject.contains("vous invite à la rejoindre"), "{subject}");
    assert!(body.contains("Rien n'est fait sans votre accord"), "{body}");

    // Even once the victim accepts, their account stays theirs: the
    // structure did not create it.
    let v = app.login("victime@exemple.fr").await;
    let (s, list) = app.call(&v, "my_invitations", &[]).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let inv = list[0]["id"].as_i64().unwrap().to_string();
    // Nobody else can answer it.
    let (s, _) = app
        .call(
            &attacker,
            "answer_join_invitation",
            &[("invitation_id", &inv), ("reponse", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(memberships(&app, victim, org).await, 0);
    let (s, body) = app
        .call(
            &v,
            "answer_join_invitation",
            &[("invitation_id", &inv), ("reponse", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(memberships(&app, victim, org).await, 1);
    let (s, agent) = app
        .call(
            &attacker,
            "get_agent",
            &[("organisation_id", &o), ("user_id", &victim.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{agent}");
    assert_eq!(agent["editable"], Value::Bool(false));
    let (s, body) = change_email(&app, &attacker, org, victim, "piege@exemple.fr").await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(email_of(&app, victim).await, "victime@exemple.fr");
    // Closing the account is an edit of the fiche: refused too.
    let (s, _) = app
        .call(
            &attacker,
            "update_agent",
            &[
                fiche(&o, "victime@exemple.fr", "Victime"),
                vec![
                    ("user_id", &victim.to_string()),
                    (
                        "date_cloture",
                        &chrono::Local::now().date_naive().to_string(),
                    ),
                ],
            ]
            .concat(),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (n,): (i64,) =
        sqlx::query_as("select count(*) from users where id = $1 and date_cloture is null")
            .bind(victim)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(n, 1);
    // The victim's password still works, the reset link goes to them.
    app.login("victime@exemple.fr").await;
}

#[tokio::test]
async fn the_operator_cannot_be_attached_or_edited_by_a_structure() {
    let app = TestApp::spawn().await;
    let _op = app.operator("operateur@exemple.fr").await;
    let operator = app.user_id("operateur@exemple.fr").await;
    let (attacker, _, org) = app.manager_of("intrus@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let (s, _) = app
        .call(
            &attacker,
            "create_agent",
            &fiche(&o, "operateur@exemple.fr", "X"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(memberships(&app, operator, org).await, 0);
    // Even attached (by their own acceptance), an operator's account is
    // never editable from a structure.
    let op = app.login("operateur@exemple.fr").await;
    let (_, list) = app.call(&op, "my_invitations", &[]).await;
    let inv = list[0]["id"].as_i64().unwrap().to_string();
    let (s, _) = app
        .call(
            &op,
            "answer_join_invitation",
            &[("invitation_id", &inv), ("reponse", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = change_email(&app, &attacker, org, operator, "piege@exemple.fr").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(email_of(&app, operator).await, "operateur@exemple.fr");
}

#[tokio::test]
async fn a_new_email_takes_effect_only_from_the_new_address_and_the_old_one_is_told() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (agent, _) = app
        .structure_account(&manager, org, "paul@exemple.fr", "Paul", "Agent")
        .await;
    let (s, body) = change_email(&app, &manager, org, agent, "paul.nouveau@exemple.fr").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, Value::Bool(true), "the change waits for confirmation");
    // The old address stays valid until the link is followed.
    assert_eq!(email_of(&app, agent).await, "paul@exemple.fr");
    app.login("paul@exemple.fr").await;
    let (subject, notice) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert!(subject.contains("Changement d'adresse"), "{subject}");
    assert!(notice.contains("paul.nouveau@exemple.fr"), "{notice}");
    assert!(!notice.contains("jeton="), "no link to the old address");
    let (_, link) = app.last_mail("paul.nouveau@exemple.fr").await.unwrap();
    let token = token_in(&link);
    let anyone = app.client();
    let (s, body) = app
        .call(&anyone, "confirm_email_change", &[("jeton", &token)])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(email_of(&app, agent).await, "paul.nouveau@exemple.fr");
    app.login("paul.nouveau@exemple.fr").await;
    // Single use.
    let (s, _) = app
        .call(&anyone, "confirm_email_change", &[("jeton", &token)])
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // An address already taken is refused at confirmation (not revealed
    // when asked).
    app.signup_verified("pris@exemple.fr", "Pierre", "Pris")
        .await;
    let (s, _) = change_email(&app, &manager, org, agent, "pris@exemple.fr").await;
    assert_eq!(s, StatusCode::OK);
    let (_, link) = app.last_mail("pris@exemple.fr").await.unwrap();
    let (s, body) = app
        .call(
            &anyone,
            "confirm_email_change",
            &[("jeton", &token_in(&link))],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(email_of(&app, agent).await, "paul.nouveau@exemple.fr");
}

/// The primary manager, an admin named by the operator and a second
/// admin, all of accounts created by the structure.
async fn structure_with_two_admins(
    app: &TestApp,
) -> (
    i64,
    (reqwest::Client, i64),
    (reqwest::Client, i64),
    i64,
    reqwest::Client,
) {
    let (manager, pm, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (a1, a1c) = app
        .structure_account(&manager, org, "admin1@exemple.fr", "Adèle", "Admin")
        .await;
    let (a2, _) = app
        .structure_account(&manager, org, "admin2@exemple.fr", "Bruno", "Admin")
        .await;
    let op = app.operator("operateur@exemple.fr").await;
    for a in [a1, a2] {
        let (s, body) = app
            .call(
                &op,
                "set_org_admin",
                &[
                    ("organisation_id", &org.to_string()),
                    ("user_id", &a.to_string()),
                    ("admin", "true"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    (org, (a1c, a1), (manager, pm), a2, op)
}

#[tokio::test]
async fn an_organisation_admin_cannot_touch_the_primary_manager_or_another_admin() {
    let app = TestApp::spawn().await;
    let (org, (admin, _), (manager, pm), other_admin, op) = structure_with_two_admins(&app).await;
    // Make the primary manager's account the structure's own, so that only
    // the rank protects it.
    sqlx::query("update users set home_organisation_id = $2 where id = $1")
        .bind(pm)
        .bind(org)
        .execute(&app.pool)
        .await
        .unwrap();
    let o = org.to_string();
    for target in [pm, other_admin] {
        let t = target.to_string();
        let before = email_of(&app, target).await;
        let (s, body) = change_email(&app, &admin, org, target, "piege@exemple.fr").await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        assert!(
            body.to_string().contains("Un administrateur ne peut pas"),
            "{body}"
        );
        assert_eq!(email_of(&app, target).await, before);
        let (s, _) = app
            .call(
                &admin,
                "set_agent_unit",
                &[("organisation_id", &o), ("user_id", &t), ("unit_id", "0")],
            )
            .await;
        assert!(s == StatusCode::CONFLICT || s == StatusCode::OK, "{s}");
        for niveau in ["structure", "service"] {
            let (s, body) = app
                .call(
                    &admin,
                    "detach_agent",
                    &[
                        ("organisation_id", &o),
                        ("user_id", &t),
                        ("niveau", niveau),
                        ("commentaire", "prise de contrôle"),
                    ],
                )
                .await;
            assert_eq!(s, StatusCode::CONFLICT, "{niveau}: {body}");
        }
        let (s, _) = app
            .call(
                &admin,
                "save_agent_roles",
                &[("organisation_id", &o), ("user_id", &t), ("role_ids", "")],
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(memberships(&app, target, org).await, 1);
        let (s, agent) = app
            .call(
                &admin,
                "get_agent",
                &[("organisation_id", &o), ("user_id", &t)],
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(agent["editable"], Value::Bool(false));
    }
    // The primary manager does not remove an admin either: that belongs to
    // the operator.
    let (s, body) = app
        .call(
            &manager,
            "detach_agent",
            &[
                ("organisation_id", &o),
                ("user_id", &other_admin.to_string()),
                ("niveau", "structure"),
                ("commentaire", "départ"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body.to_string().contains("seul l'opérateur"), "{body}");
    assert_eq!(memberships(&app, other_admin, org).await, 1);
    // The operator can.
    let (s, body) = app
        .call(
            &op,
            "detach_agent",
            &[
                ("organisation_id", &o),
                ("user_id", &other_admin.to_string()),
                ("niveau", "structure"),
                ("commentaire", "départ"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(memberships(&app, other_admin, org).await, 0);
}

#[tokio::test]
async fn nobody_gives_themselves_a_right_on_any_path() {
    let app = TestApp::spawn().await;
    let (org, (admin, admin_id), (manager, pm), _, op) = structure_with_two_admins(&app).await;
    let o = org.to_string();
    let role = app.role_id("soffi", "administrateur").await.to_string();
    let op_id = app.user_id("operateur@exemple.fr").await;
    for (who, c, me) in [
        ("primary manager", &manager, pm),
        ("admin", &admin, admin_id),
        ("operator", &op, op_id),
    ] {
        let m = me.to_string();
        let (s, body) = app
            .call(
                c,
                "add_grant",
                &[("user_id", &m), ("organisation_id", &o), ("role_id", &role)],
            )
            .await;
        assert!(
            s == StatusCode::CONFLICT || s == StatusCode::NOT_FOUND,
            "{who}: {s} {body}"
        );
        let (s, body) = app
            .call(
                c,
                "save_agent_roles",
                &[
                    ("organisation_id", &o),
                    ("user_id", &m),
                    ("role_ids", &role),
                ],
            )
            .await;
        assert!(
            s == StatusCode::CONFLICT || s == StatusCode::NOT_FOUND,
            "{who}: {s} {body}"
        );
        assert_eq!(
            app.count(&format!("select count(*) from grants where user_id = {me}"))
                .await,
            0,
            "{who}"
        );
    }
    // The operator does not name (or remove) themselves either.
    let (s, _) = app
        .call(
            &op,
            "set_org_admin",
            &[
                ("organisation_id", &o),
                ("user_id", &op_id.to_string()),
                ("admin", "true"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The database refuses a self-grant whatever path writes it.
    let r = sqlx::query(
        "insert into grants (role_id, organisation_id, user_id, granted_by) values ($1, $2, $3, $3)",
    )
    .bind(role.parse::<i64>().unwrap())
    .bind(org)
    .bind(pm)
    .execute(&app.pool)
    .await;
    let e = r.expect_err("self-grant refused by the database");
    assert!(e.to_string().contains("grants_not_self"), "{e}");
    // And another manager can grant it.
    let (s, body) = app
        .call(
            &admin,
            "add_grant",
            &[
                ("user_id", &pm.to_string()),
                ("organisation_id", &o),
                ("role_id", &role),
            ],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an admin does not change the primary manager's rights: {body}"
    );
    let (s, body) = app
        .call(
            &manager,
            "add_grant",
            &[
                ("user_id", &admin_id.to_string()),
                ("organisation_id", &o),
                ("role_id", &role),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
