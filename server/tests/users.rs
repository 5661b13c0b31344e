//! Agents of an organisation: creation with invitation, invitation of an
//! existing account by email (attached once its owner accepts),
//! modification, closing and reopening, detachment, the Rôles tab and the
//! ceiling of activated services.
mod common;
use common::*;
use reqwest::StatusCode;

fn fiche<'a>(o: &'a str, email: &'a str, nom: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("organisation_id", o),
        ("civilite", "M"),
        ("nom", nom),
        ("prenom", "Mathieu"),
        ("email", email),
        ("email_confirmation", email),
        ("telephone", "01 23 45 67 89"),
        ("telephone_confirmation", "0123456789"),
        ("poste", "itinerant"),
    ]
}

fn today_plus(days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(days)).to_string()
}

#[tokio::test]
async fn an_invited_agent_sets_a_password_and_logs_in() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    // The answer is the (normalised) address, not the new account's id.
    let uid = app
        .create_agent(&admin, &fiche(&o, "Mathieu.Durand@exemple.fr", "Durand"))
        .await;
    let (poste, cree_par, home, pw): (String, Option<i64>, Option<i64>, Option<String>) =
        sqlx::query_as(
            "select poste, created_by, home_organisation_id, password_hash from users where id = $1",
        )
        .bind(uid)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(poste, "itinerant");
    assert!(cree_par.is_some());
    assert_eq!(
        home,
        Some(org),
        "the account belongs to the structure that created it"
    );
    assert!(pw.is_none(), "no password until the invitation is accepted");
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where user_id = {uid} and organisation_id = {org} and unit_id is null"
        ))
        .await,
        1
    );
    // The agent appears in the list and in the journal.
    let (_, list) = app
        .call(
            &admin,
            "list_agents",
            &[("organisation_id", &o), ("nom", "dur")],
        )
        .await;
    assert_eq!(list["rows"][0]["email"], "mathieu.durand@exemple.fr");
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where target_id = {uid} and action in ('utilisateur.creation', 'rattachement.creation')"
        ))
        .await,
        2
    );
    // Cannot log in before choosing a password.
    let c = app.client();
    let (s, _) = app
        .call(
            &c,
            "login",
            &[
                ("email", "mathieu.durand@exemple.fr"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    // The invitation link sets the password and signs in.
    let (subject, mail) = app.last_mail("mathieu.durand@exemple.fr").await.unwrap();
    assert!(subject.contains("créé"), "{subject}");
    let token = token_in(&mail);
    let (s, body) = app
        .call(
            &c,
            "accept_invitation",
            &[
                ("jeton", &token),
                ("password", "court"),
                ("password_confirmation", "court"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["password"]);
    let (s, body) = app
        .call(
            &c,
            "accept_invitation",
            &[
                ("jeton", &token),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, me) = app.call(&c, "me", &[]).await;
    assert_eq!(me["id"], uid);
    // The structure that invited them reads it in its journal.
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where action = 'compte.activation' and target_id = {uid} and organisation_id = {org}"
        ))
        .await,
        1
    );
    // The link is single-use.
    let (s, _) = app
        .call(
            &app.client(),
            "accept_invitation",
            &[
                ("jeton", &token),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    app.login("mathieu.durand@exemple.fr").await;
}

// Changed with the consent rules: attaching an existing account by email
// used to be immediate (and answered its id); it is now an invitation its
// owner accepts once signed in, and the answer is the address, as for a new
// account. Nothing is attached before the acceptance.
#[tokio::test]
async fn an_existing_account_is_invited_by_email_and_joins_at_a_unit_once_it_accepts() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let paul = app
        .signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let (_, unit) = app
        .call(
            &admin,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("code", "COMPTA"),
                ("libelle", "Comptabilité"),
            ],
        )
        .await;
    let unit = unit.as_i64().unwrap().to_string();
    let users_before = app.count("select count(*) from users").await;
    // The whole fiche is asked for, but the account's own fiche is kept.
    let mut f = fiche(&o, "paul@exemple.fr", "Autrenom");
    f.push(("unit_id", &unit));
    assert_eq!(app.create_agent(&admin, &f).await, paul);
    assert_eq!(app.count("select count(*) from users").await, users_before);
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where id = {paul} and nom = 'Agent' and prenom = 'Paul' and poste = 'sedentaire'"
        ))
        .await,
        1,
        "the structure does not write on an account it did not create"
    );
    // Before the person answers: no membership, one open invitation.
    assert_eq!(app.memberships(paul, org).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from membership_invitations
              where user_id = {paul} and organisation_id = {org} and unit_id = {unit} and answered_at is null"
        ))
        .await,
        1
    );
    let (subject, _) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert!(subject.contains("vous invite à la rejoindre"), "{subject}");
    // Asked again before the answer: the same open invitation, renewed.
    assert_eq!(app.create_agent(&admin, &f).await, paul);
    assert_eq!(
        app.count(&format!(
            "select count(*) from membership_invitations where user_id = {paul}"
        ))
        .await,
        1
    );
    assert_eq!(app.memberships(paul, org).await, 0);
    // The invitation is answered by its addressee only.
    let (invitation,): (i64,) =
        sqlx::query_as("select id from membership_invitations where user_id = $1")
            .bind(paul)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (s, body) = app
        .call(
            &admin,
            "answer_join_invitation",
            &[
                ("invitation_id", &invitation.to_string()),
                ("reponse", "accepter"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(app.memberships(paul, org).await, 0);
    // Paul accepts: attached at the unit.
    let paul_c = app.login("paul@exemple.fr").await;
    assert_eq!(app.accept_join(&paul_c, org).await, invitation);
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where user_id = {paul} and organisation_id = {org} and unit_id = {unit}"
        ))
        .await,
        1
    );
    let (_, open) = app.call(&paul_c, "my_invitations", &[]).await;
    assert_eq!(open.as_array().unwrap().len(), 0);
    // Once attached, a new invitation is refused, next to the email.
    let (s, body) = app.call(&admin, "create_agent", &f).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["email"]);
    // A unit of another organisation is refused and nothing is written.
    let (other, _, org2) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let (_, unit2) = app
        .call(
            &other,
            "save_unit",
            &[
                ("organisation_id", &org2.to_string()),
                ("code", "X"),
                ("libelle", "X"),
            ],
        )
        .await;
    let mut f = fiche(&o, "nouveau@exemple.fr", "Nouveau");
    let unit2 = unit2.as_i64().unwrap().to_string();
    f.push(("unit_id", &unit2));
    let (s, body) = app.call(&admin, "create_agent", &f).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["unit_id"]);
    assert_eq!(
        app.count("select count(*) from users where email = 'nouveau@exemple.fr'")
            .await,
        0
    );
}

#[tokio::test]
async fn bad_fiches_are_refused_field_by_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let yesterday = today_plus(-1);
    let (s, body) = app
        .call(
            &admin,
            "create_agent",
            &[
                ("organisation_id", &o),
                ("nom", ""),
                ("prenom", "Jo"),
                ("email", "jo@exemple.fr"),
                ("email_confirmation", "joe@exemple.fr"),
                ("telephone", "0123456789"),
                ("telephone_confirmation", "0123456780"),
                ("date_ouverture", "2020-01-01"),
                ("date_cloture", &yesterday),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        invalid_fields(&body),
        vec![
            "nom",
            "email_confirmation",
            "telephone_confirmation",
            "date_cloture"
        ]
    );
    assert_eq!(
        app.count("select count(*) from users where email = 'jo@exemple.fr'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from outbox where to_email = 'jo@exemple.fr'")
            .await,
        0
    );
}

async fn update_paul(
    app: &TestApp,
    admin: &reqwest::Client,
    o: &str,
    p: &str,
    cloture: String,
) -> (StatusCode, serde_json::Value) {
    let ouverture = today_plus(-30);
    let form = [
        ("organisation_id", o),
        ("user_id", p),
        ("civilite", "M"),
        ("nom", "Agent"),
        ("prenom", "Paul"),
        ("email", "paul@exemple.fr"),
        ("email_confirmation", "paul@exemple.fr"),
        ("poste", "sedentaire"),
        ("date_ouverture", &ouverture),
        ("date_cloture", &cloture),
    ];
    app.call(admin, "update_agent", &form).await
}

#[tokio::test]
async fn closing_ends_login_sessions_and_rights_and_reopening_restores_login() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    // Paul's account is created by the structure: only then may it close
    // and reopen it (a self-made account's fiche is not the structure's).
    let (paul, _) = app
        .structure_account(&admin, org, "paul@exemple.fr", "Paul", "Agent")
        .await;
    let p = paul.to_string();
    let consultation = app.role_id("soffi", "consultation").await.to_string();
    let (s, body) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &consultation),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let paul_session = app.login("paul@exemple.fr").await;
    // A closing date in the past is refused; nothing changes.
    let (s, body) = update_paul(&app, &admin, &o, &p, today_plus(-1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["date_cloture"]);
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where id = {p} and date_cloture is not null"
        ))
        .await,
        0
    );
    // Closed from today: the session ends, login is refused, no right is held.
    let (s, body) = update_paul(&app, &admin, &o, &p, today_plus(0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, false, "no change of address pending");
    let (_, me) = app.call(&paul_session, "me", &[]).await;
    assert!(me.is_null(), "the open session ended");
    let (s, _) = app
        .call(
            &app.client(),
            "login",
            &[("email", "paul@exemple.fr"), ("password", PASSWORD)],
        )
        .await;
    assert_ne!(s, StatusCode::OK);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {p} and (date_cloture is null or date_cloture > current_date)"
        ))
        .await,
        0
    );
    let (_, roles) = app
        .call(
            &admin,
            "get_agent_roles",
            &[("organisation_id", &o), ("user_id", &p)],
        )
        .await;
    assert!(roles[0]["current"].is_null());
    let (_, list) = app
        .call(
            &admin,
            "list_agents",
            &[("organisation_id", &o), ("nom", "agent")],
        )
        .await;
    assert_eq!(list["rows"][0]["statut"], "Clôturé");
    // A closed account receives no role.
    let (s, _) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &consultation),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Reopening (empty closing date) lets the person log in again.
    let (s, body) = update_paul(&app, &admin, &o, &p, String::new()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.login("paul@exemple.fr").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where target_id = {p} and action in ('utilisateur.cloture', 'utilisateur.reouverture')"
        ))
        .await,
        2
    );
}

#[tokio::test]
async fn agents_of_other_organisations_are_out_of_reach() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let uid = app
        .create_agent(&admin, &fiche(&o, "mathieu@exemple.fr", "Durand"))
        .await
        .to_string();
    let (other, _, org2) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let o2 = org2.to_string();
    let plain_id = app
        .signup_verified("plain@exemple.fr", "Plain", "User")
        .await;
    let plain = app.login("plain@exemple.fr").await;
    let mut f = fiche(&o, "pirate@exemple.fr", "Pirate");
    f.push(("user_id", &uid));
    for c in [&other, &plain] {
        for (endpoint, form) in [
            (
                "get_agent",
                vec![("organisation_id", o.as_str()), ("user_id", uid.as_str())],
            ),
            (
                "get_agent_roles",
                vec![("organisation_id", &o), ("user_id", &uid)],
            ),
            ("update_agent", f.clone()),
            ("create_agent", fiche(&o, "x@exemple.fr", "X")),
            (
                "set_agent_unit",
                vec![("organisation_id", &o), ("user_id", &uid), ("unit_id", "0")],
            ),
            (
                "detach_agent",
                vec![
                    ("organisation_id", &o),
                    ("user_id", &uid),
                    ("niveau", "structure"),
                    ("commentaire", "x"),
                ],
            ),
            (
                "save_agent_roles",
                vec![("organisation_id", &o), ("user_id", &uid), ("role_ids", "")],
            ),
        ] {
            let (s, body) = app.call(c, endpoint, &form).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{endpoint}: {body}");
        }
    }
    // Through their own organisation, the other admin still cannot reach
    // a person who is not attached to it.
    for (endpoint, form) in [
        (
            "get_agent",
            vec![("organisation_id", o2.as_str()), ("user_id", uid.as_str())],
        ),
        (
            "get_agent_roles",
            vec![("organisation_id", &o2), ("user_id", &uid)],
        ),
        (
            "detach_agent",
            vec![
                ("organisation_id", &o2),
                ("user_id", &uid),
                ("niveau", "structure"),
                ("commentaire", "x"),
            ],
        ),
    ] {
        let (s, body) = app.call(&other, endpoint, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{endpoint}: {body}");
    }
    let _ = plain_id;
    assert_eq!(
        app.count("select count(*) from users where email = 'pirate@exemple.fr'")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from users where email = 'x@exemple.fr'")
            .await,
        0
    );
}

/// May this manager edit the person's fiche (as `get_agent` tells)?
async fn editable(app: &TestApp, c: &reqwest::Client, org: i64, user: i64) -> bool {
    let (s, detail) = app
        .call(
            c,
            "get_agent",
            &[
                ("organisation_id", &org.to_string()),
                ("user_id", &user.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    detail["editable"].as_bool().unwrap()
}

#[tokio::test]
async fn a_person_of_two_organisations_keeps_their_fiche_but_can_be_detached() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other, _, org2) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    // Changed with the ownership rules: Paul's account is created by the
    // first structure (a self-made account would be read-only for both
    // anyway), then he accepts to join the second: from then on neither
    // edits his fiche, only their attachment.
    let (paul, paul_c) = app
        .structure_account(&admin, org, "paul@exemple.fr", "Paul", "Agent")
        .await;
    let o = org.to_string();
    let p = paul.to_string();
    assert!(
        editable(&app, &admin, org, paul).await,
        "the structure's own account"
    );
    let o2 = org2.to_string();
    assert_eq!(
        app.create_agent(&other, &fiche(&o2, "paul@exemple.fr", "Agent"))
            .await,
        paul
    );
    // Invited, not yet attached: still the first structure's alone.
    assert_eq!(app.memberships(paul, org2).await, 0);
    assert!(editable(&app, &admin, org, paul).await);
    app.accept_join(&paul_c, org2).await;
    assert_eq!(app.memberships(paul, org2).await, 1);
    assert!(!editable(&app, &admin, org, paul).await);
    assert!(!editable(&app, &other, org2, paul).await);
    for (c, o) in [(&admin, org), (&other, org2)] {
        let o = o.to_string();
        let mut f = fiche(&o, "paul@exemple.fr", "Changé");
        f.push(("user_id", &p));
        let (s, body) = app.call(c, "update_agent", &f).await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
    }
    assert_eq!(
        app.count("select count(*) from users where nom = 'Changé'")
            .await,
        0
    );
    // Detaching needs a comment, then ends the rights held here only.
    let consultation = app.role_id("soffi", "consultation").await.to_string();
    for (c, o) in [(&admin, org), (&other, org2)] {
        let (s, body) = app
            .call(
                c,
                "save_agent_roles",
                &[
                    ("organisation_id", &o.to_string()),
                    ("user_id", &p),
                    ("role_ids", &consultation),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (s, body) = app
        .call(
            &admin,
            "detach_agent",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("niveau", "structure"),
                ("commentaire", "  "),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["commentaire"]);
    let (s, body) = app
        .call(
            &admin,
            "detach_agent",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("niveau", "structure"),
                ("commentaire", "Départ du service"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where user_id = {p}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {p} and (date_cloture is null or date_cloture > current_date)"
        ))
        .await,
        1,
        "the right in the other organisation stays"
    );
    let (after,): (serde_json::Value,) = sqlx::query_as(
        "select after from audit_events where action = 'rattachement.detachement' and target_id = $1",
    )
    .bind(paul)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(after["commentaire"], "Départ du service");
    // The primary manager cannot be detached.
    let marie = app.user_id("marie@exemple.fr").await.to_string();
    let (s, body) = app
        .call(
            &admin,
            "detach_agent",
            &[
                ("organisation_id", &o),
                ("user_id", &marie),
                ("niveau", "structure"),
                ("commentaire", "x"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn roles_stay_within_the_activated_services() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let paul = app
        .signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let p = paul.to_string();
    // An existing account joins once its owner accepts the invitation.
    app.create_agent(&admin, &fiche(&o, "paul@exemple.fr", "Agent"))
        .await;
    let paul_c = app.login("paul@exemple.fr").await;
    app.accept_join(&paul_c, org).await;
    let parapheur_admin = app.role_id("parapheur", "administrateur").await.to_string();
    let saisie = app.role_id("soffi", "saisie").await.to_string();
    let consultation = app.role_id("soffi", "consultation").await.to_string();
    // Only SOFFi is activated by default.
    let (_, rows) = app
        .call(
            &admin,
            "get_agent_roles",
            &[("organisation_id", &o), ("user_id", &p)],
        )
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["code"], "soffi");
    // Outside the ceiling: refused by every path, nothing written.
    let (s, body) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &format!("{saisie},{parapheur_admin}")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["role_ids"]);
    let (s, _) = app
        .call(
            &admin,
            "add_grant",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_id", &parapheur_admin),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            &paul_c,
            "request_access",
            &[("organisation_id", &o), ("role_id", &parapheur_admin)],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count(&format!("select count(*) from grants where user_id = {p}"))
            .await,
        0
    );
    // The database refuses it too.
    let direct =
        sqlx::query("insert into grants (role_id, organisation_id, user_id) values ($1, $2, $3)")
            .bind(parapheur_admin.parse::<i64>().unwrap())
            .bind(org)
            .bind(paul)
            .execute(&app.pool)
            .await;
    assert!(direct
        .unwrap_err()
        .to_string()
        .contains("conventions ouvertes"));
    // One level per application.
    let (s, _) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &format!("{saisie},{consultation}")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Only an operator formalises a convention.
    let form = [
        ("siret", AFDAS),
        ("libelle", "Convention Parapheur"),
        ("role_ids", parapheur_admin.as_str()),
    ];
    let (s, _) = app.call(&admin, "save_convention", &form).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let op = app.operator("operateur@exemple.fr").await;
    let (s, body) = app.call(&op, "save_convention", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let convention = body.as_i64().unwrap().to_string();
    let (_, services) = app
        .call(&admin, "org_services", &[("organisation_id", &o)])
        .await;
    let para = services["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "parapheur")
        .unwrap()
        .clone();
    assert_eq!(para["active"], true);
    // Now the save applies the difference in one go.
    let (s, body) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &format!("{saisie},{parapheur_admin}")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, rows) = app
        .call(
            &admin,
            "get_agent_roles",
            &[("organisation_id", &o), ("user_id", &p)],
        )
        .await;
    let current: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["current"].to_string())
        .collect();
    assert_eq!(current, vec![saisie.clone(), parapheur_admin.clone()]);
    let (s, _) = app
        .call(
            &admin,
            "save_agent_roles",
            &[
                ("organisation_id", &o),
                ("user_id", &p),
                ("role_ids", &consultation),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {p} and (date_cloture is null or date_cloture > current_date)"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action in ('habilitation.attribution', 'habilitation.retrait')").await,
        5
    );
    // Deactivating the service ends the rights given on it.
    app.call(
        &admin,
        "save_agent_roles",
        &[
            ("organisation_id", &o),
            ("user_id", &p),
            ("role_ids", &format!("{consultation},{parapheur_admin}")),
        ],
    )
    .await;
    // Closing the convention ends the rights given on it.
    let (s, body) = app
        .call(&op, "close_convention", &[("id", &convention)])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants g join roles r on r.id = g.role_id join applications a on a.id = r.application_id
              where g.user_id = {p} and a.code = 'parapheur' and (g.date_cloture is null or g.date_cloture > current_date)"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_member_of_several_organisations_switches_between_them() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other, _, org2) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let paul_id = app
        .signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let paul = app.login("paul@exemple.fr").await;
    // Both structures invite him; he accepts both.
    for (c, o) in [(&admin, org), (&other, org2)] {
        app.create_agent(c, &fiche(&o.to_string(), "paul@exemple.fr", "Agent"))
            .await;
        assert_eq!(app.memberships(paul_id, o).await, 0);
        app.accept_join(&paul, o).await;
        assert_eq!(app.memberships(paul_id, o).await, 1);
    }
    let (_, me) = app.call(&paul, "me", &[]).await;
    assert_eq!(me["organisations"].as_array().unwrap().len(), 2);
    assert!(me["current_organisation"].is_null());
    let (s, _) = app
        .call(
            &paul,
            "switch_organisation",
            &[("organisation_id", &org2.to_string())],
        )
        .await;
    assert!(s.is_success() || s.is_redirection(), "{s}");
    let (_, me) = app.call(&paul, "me", &[]).await;
    assert_eq!(me["current_organisation"], org2);
    // Not an organisation of theirs.
    let (_, _, org3) = app.manager_of("trois@exemple.fr", "46913810100321").await;
    let (s, _) = app
        .call(
            &paul,
            "switch_organisation",
            &[("organisation_id", &org3.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
