//! Organisation administrators (named by the operator, at most `max_admins`)
//! and the transfer of the primary manager in Chorus Pro's three modes.
mod common;
use common::*;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A logged-in operator.
async fn operator(app: &TestApp) -> Client {
    let id = app
        .signup_verified("operateur@exemple.fr", "Olivier", "Opérateur")
        .await;
    sqlx::query("update users set is_operator = true where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    app.login("operateur@exemple.fr").await
}

/// A person with an account (who never logs in), attached to `orgs`.
async fn member(app: &TestApp, email: &str, nom: &str, orgs: &[i64]) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "insert into users (identifier, civilite, nom, prenom, email, email_verified_at)
         values (upper(substr(md5($1), 1, 10)), 'M', $2, 'Jean', $1, now()) returning id",
    )
    .bind(email)
    .bind(nom)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for org in orgs {
        attach(app, id, *org).await;
    }
    id
}

async fn attach(app: &TestApp, user: i64, org: i64) {
    sqlx::query("insert into memberships (user_id, organisation_id) values ($1, $2)")
        .bind(user)
        .bind(org)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// Registers one more organisation for an already logged-in manager.
async fn register(app: &TestApp, c: &Client, siret: &str) -> i64 {
    let (s, body) = app
        .call(c, "register_organisation", &[("siret", siret)])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body.as_i64().unwrap()
}

async fn name_admin(app: &TestApp, c: &Client, org: i64, user: i64) -> (StatusCode, Value) {
    app.call(
        c,
        "set_org_admin",
        &[
            ("organisation_id", &org.to_string()),
            ("user_id", &user.to_string()),
            ("admin", "true"),
        ],
    )
    .await
}

/// The admin role of `user` in `org`: Some("") for a plain member, None if
/// not attached.
async fn role(app: &TestApp, user: i64, org: i64) -> Option<String> {
    sqlx::query_as::<_, (Option<String>,)>(
        "select admin_role from memberships where user_id = $1 and organisation_id = $2",
    )
    .bind(user)
    .bind(org)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
    .map(|(r,)| r.unwrap_or_default())
}

async fn primary_manager(app: &TestApp, org: i64) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "select user_id from memberships where organisation_id = $1 and admin_role = 'primary_manager'",
    )
    .bind(org)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    id
}

fn message(body: &Value, field: &str) -> String {
    body["Invalid"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["field"] == field))
        .map(|e| e["message"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no error on {field}: {body}"))
}

#[tokio::test]
async fn the_operator_names_and_removes_an_admin_who_holds_no_business_role() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (_, pm, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let paul = app
        .signup_verified("paul@exemple.fr", "Paul", "Admin")
        .await;
    attach(&app, paul, org).await;
    let grants_before = app.count("select count(*) from grants").await;

    let (s, body) = name_admin(&app, &op, org, paul).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role(&app, paul, org).await.as_deref(), Some("org_admin"));
    let (subject, mail) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert!(subject.contains("administrateur"), "{subject}");
    assert!(mail.contains("AFDAS"));
    let (s, list) = app
        .call(
            &op,
            "list_org_admins",
            &[("organisation_id", &org.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["primary_manager"]["id"], pm);
    assert_eq!(list["admins"][0]["id"], paul);
    assert_eq!(list["candidates"].as_array().unwrap().len(), 0);
    // Naming twice changes nothing.
    let (s, _) = name_admin(&app, &op, org, paul).await;
    assert_eq!(s, StatusCode::OK);

    // Being an administrator grants no role on any online service.
    assert_eq!(
        app.count("select count(*) from grants").await,
        grants_before
    );
    let paul_c = app.login("paul@exemple.fr").await;
    let (_, tiles) = app.call(&paul_c, "home_tiles", &[]).await;
    assert!(
        tiles.as_array().unwrap().iter().all(|t| t["held"] == false),
        "{tiles}"
    );
    // But it does let Paul manage the organisation.
    let (s, _) = app
        .call(
            &paul_c,
            "list_units",
            &[("organisation_id", &org.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, body) = app
        .call(
            &op,
            "set_org_admin",
            &[
                ("organisation_id", &org.to_string()),
                ("user_id", &paul.to_string()),
                ("admin", "false"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role(&app, paul, org).await.as_deref(), Some(""));
    let events: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
        "select action, actor_id, target_id from audit_events
          where action like 'administrateur.%' order by seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let op_id = app.user_id("operateur@exemple.fr").await;
    assert_eq!(
        events,
        vec![
            ("administrateur.nomination".into(), op_id, Some(paul)),
            ("administrateur.retrait".into(), op_id, Some(paul)),
        ]
    );
}

#[tokio::test]
async fn a_third_admin_is_refused_next_to_the_field_and_the_limit_is_configurable() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let mut ids = vec![];
    for i in 0..3 {
        ids.push(member(&app, &format!("m{i}@exemple.fr"), "Membre", &[org]).await);
    }
    for id in &ids[..2] {
        let (s, body) = name_admin(&app, &op, org, *id).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (s, body) = name_admin(&app, &op, org, ids[2]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        message(&body, "user_id").starts_with("Cette structure a déjà 2 administrateurs"),
        "{body}"
    );
    assert_eq!(role(&app, ids[2], org).await.as_deref(), Some(""));

    let o = org.to_string();
    let set_max = |n: &'static str| {
        let (app, op, o) = (&app, &op, o.clone());
        async move {
            app.call(
                op,
                "set_max_admins",
                &[("organisation_id", &o), ("max_admins", n)],
            )
            .await
        }
    };
    for bad in ["0", "11", "deux"] {
        let (s, body) = set_max(bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(invalid_fields(&body), vec!["max_admins"]);
    }
    let (s, body) = set_max("1").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&body, "max_admins").contains("déjà 2 administrateurs"));
    let (s, body) = set_max("3").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = name_admin(&app, &op, org, ids[2]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(
            "select count(*) from audit_events where action = 'structure.limite_administrateurs'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn racing_namings_through_the_server_let_only_one_win() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let mut ids = vec![];
    for i in 0..5 {
        ids.push(member(&app, &format!("m{i}@exemple.fr"), "Membre", &[org]).await);
    }
    let (s, _) = name_admin(&app, &op, org, ids[0]).await;
    assert_eq!(s, StatusCode::OK);
    // Four requests race for the one remaining seat.
    let (a, b, c, d) = tokio::join!(
        name_admin(&app, &op, org, ids[1]),
        name_admin(&app, &op, org, ids[2]),
        name_admin(&app, &op, org, ids[3]),
        name_admin(&app, &op, org, ids[4]),
    );
    let statuses = [a.0, b.0, c.0, d.0];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    for (s, body) in [a, b, c, d] {
        if s != StatusCode::OK {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert!(message(&body, "user_id").contains("déjà 2 administrateurs"));
        }
    }
    assert_eq!(
        app.count("select count(*) from memberships where admin_role = 'org_admin'")
            .await,
        2
    );
}

#[tokio::test]
async fn only_the_operator_manages_admins() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other_pm, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let admin = app
        .signup_verified("admin@exemple.fr", "Alice", "Admin")
        .await;
    let plain = app
        .signup_verified("plain@exemple.fr", "Pierre", "Simple")
        .await;
    attach(&app, admin, org).await;
    attach(&app, plain, org).await;
    let (s, _) = name_admin(&app, &op, org, admin).await;
    assert_eq!(s, StatusCode::OK);
    let admin_c = app.login("admin@exemple.fr").await;
    let plain_c = app.login("plain@exemple.fr").await;
    let o = org.to_string();
    let p = plain.to_string();
    let calls: &[(&str, &[(&str, &str)])] = &[
        ("operator_organisations", &[("q", "")]),
        ("list_org_admins", &[("organisation_id", &o)]),
        (
            "set_org_admin",
            &[("organisation_id", &o), ("user_id", &p), ("admin", "true")],
        ),
        (
            "set_max_admins",
            &[("organisation_id", &o), ("max_admins", "5")],
        ),
    ];
    for (who, c) in [
        ("plain user", &plain_c),
        ("org admin", &admin_c),
        ("primary manager", &manager),
        ("admin of another organisation", &other_pm),
    ] {
        for (endpoint, form) in calls {
            let (s, body) = app.call(c, endpoint, form).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{who} {endpoint}: {body}");
        }
    }
    assert_eq!(role(&app, plain, org).await.as_deref(), Some(""));
}

#[tokio::test]
async fn naming_needs_an_attached_person_and_spares_the_primary_manager() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (_, pm, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let outsider = member(&app, "dehors@exemple.fr", "Dehors", &[]).await;
    let (s, body) = name_admin(&app, &op, org, outsider).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&body, "user_id").contains("n'est pas rattachée"));
    assert_eq!(role(&app, outsider, org).await, None);
    let (s, body) = name_admin(&app, &op, org, pm).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&body, "user_id").contains("gestionnaire principal"));
    let (s, body) = app
        .call(
            &op,
            "set_org_admin",
            &[
                ("organisation_id", &org.to_string()),
                ("user_id", &pm.to_string()),
                ("admin", "false"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&body, "user_id").contains("transférez d'abord"));
    assert_eq!(
        role(&app, pm, org).await.as_deref(),
        Some("primary_manager")
    );
    // Nothing chosen in the select; an unknown organisation.
    let (s, body) = app
        .call(
            &op,
            "set_org_admin",
            &[
                ("organisation_id", &org.to_string()),
                ("user_id", ""),
                ("admin", "true"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["user_id"]);
    let (s, _) = name_admin(&app, &op, 999_999, outsider).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("select count(*) from audit_events where action like 'administrateur.%'")
            .await,
        0
    );
    // Large structures: the person is typed, by email address or identifiant
    // (any case), and must be attached.
    let by_key = |key: String| {
        let (app, op) = (&app, &op);
        async move {
            app.call(
                op,
                "set_org_admin",
                &[
                    ("organisation_id", &org.to_string()),
                    ("user_id", &key),
                    ("admin", "true"),
                ],
            )
            .await
        }
    };
    let (s, body) = by_key(" DEHORS@exemple.fr ".into()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&body, "user_id").contains("Aucune personne rattachée"));
    let inside = member(&app, "dedans@exemple.fr", "Dedans", &[org]).await;
    let (s, body) = by_key("Dedans@Exemple.fr".into()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role(&app, inside, org).await.as_deref(), Some("org_admin"));
    let other = member(&app, "autre@exemple.fr", "Autre", &[org]).await;
    let (identifier,): (String,) = sqlx::query_as("select identifier from users where id = $1")
        .bind(other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (s, body) = by_key(identifier.to_lowercase()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(role(&app, other, org).await.as_deref(), Some("org_admin"));
}

#[tokio::test]
async fn the_database_keeps_one_primary_manager_per_active_organisation() {
    let app = TestApp::spawn().await;
    let (_, pm, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let other = member(&app, "x@exemple.fr", "Autre", &[org]).await;
    // Two: the unique index.
    let two = sqlx::query(
        "update memberships set admin_role = 'primary_manager' where user_id = $1 and organisation_id = $2",
    )
    .bind(other)
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap_err();
    assert_eq!(
        two.as_database_error().unwrap().constraint(),
        Some("memberships_one_primary_manager")
    );
    // None: the deferred check refuses the commit.
    for sql in [
        "update memberships set admin_role = null where user_id = $1 and organisation_id = $2",
        "delete from memberships where user_id = $1 and organisation_id = $2",
    ] {
        let mut tx = app.pool.begin().await.unwrap();
        sqlx::query(sql)
            .bind(pm)
            .bind(org)
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = tx.commit().await.unwrap_err();
        assert_eq!(
            err.as_database_error().unwrap().constraint(),
            Some("memberships_primary_manager_kept"),
            "{sql}"
        );
    }
    assert_eq!(primary_manager(&app, org).await, pm);
}

/// Marie manages AFDAS, Saint-Malo and Mégalis; Jean is attached to AFDAS
/// and Saint-Malo, Luc to Mégalis only.
struct Three {
    marie: Client,
    marie_id: i64,
    orgs: [i64; 3],
    jean: i64,
    luc: i64,
}

async fn three(app: &TestApp) -> Three {
    let (marie, marie_id, a) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let b = register(app, &marie, SAINT_MALO).await;
    let c = register(app, &marie, MEGALIS).await;
    let jean = member(app, "jean@exemple.fr", "Durand", &[a, b]).await;
    let luc = member(app, "luc@exemple.fr", "Martin", &[c]).await;
    Three {
        marie,
        marie_id,
        orgs: [a, b, c],
        jean,
        luc,
    }
}

async fn transfer(app: &TestApp, c: &Client, form: &[(&str, &str)]) -> (StatusCode, Value) {
    app.call(c, "transfer_primary_manager", form).await
}

async fn transfers(app: &TestApp) -> i64 {
    app.count("select count(*) from audit_events where action = 'gestionnaire_principal.transfert'")
        .await
}

#[tokio::test]
async fn transfer_choices_list_my_organisations_and_their_people() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    let (s, setup) = app.call(&t.marie, "transfer_choices", &[]).await;
    assert_eq!(s, StatusCode::OK, "{setup}");
    let orgs = setup["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 3);
    let afdas = orgs.iter().find(|o| o["id"] == t.orgs[0]).unwrap();
    let people: Vec<i64> = afdas["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    // Marie herself is not a choice.
    assert_eq!(people, vec![t.jean]);
    assert_eq!(setup["for_other"], false);
}

#[tokio::test]
async fn mode_partie_transfers_the_ticked_organisations_to_one_user() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    let [a, b, c] = t.orgs.map(|o| o.to_string());
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "partie"),
            (&format!("structures[{a}]"), "oui"),
            (&format!("structures[{b}]"), "oui"),
            ("user_id", &t.jean.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, 2);
    for org in &t.orgs[..2] {
        assert_eq!(primary_manager(&app, *org).await, t.jean);
        assert_eq!(role(&app, t.marie_id, *org).await.as_deref(), Some(""));
    }
    assert_eq!(primary_manager(&app, t.orgs[2]).await, t.marie_id);
    // One mail to Jean naming both organisations.
    assert_eq!(app.mail_count("jean@exemple.fr").await, 1);
    let (subject, mail) = app.last_mail("jean@exemple.fr").await.unwrap();
    assert_eq!(subject, "Vous êtes gestionnaire principal");
    assert!(
        mail.contains("AFDAS") && mail.contains("SAINT-MALO"),
        "{mail}"
    );
    assert_eq!(transfers(&app).await, 2);
    let (actor, after): (i64, Value) = sqlx::query_as(
        "select actor_id, after from audit_events where action = 'gestionnaire_principal.transfert' and organisation_id = $1",
    )
    .bind(t.orgs[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, t.marie_id);
    assert_eq!(after["gestionnaire_principal"], t.jean);
    assert_eq!(after["mode"], "partie");
    let _ = c;
}

#[tokio::test]
async fn mode_toutes_transfers_every_organisation_and_may_keep_the_former_as_admin() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    attach(&app, t.jean, t.orgs[2]).await;
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "toutes"),
            ("user_id", &t.jean.to_string()),
            ("rester_administrateur", "oui"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, 3);
    for org in t.orgs {
        assert_eq!(primary_manager(&app, org).await, t.jean);
        assert_eq!(
            role(&app, t.marie_id, org).await.as_deref(),
            Some("org_admin")
        );
    }
    assert_eq!(transfers(&app).await, 3);
    // Marie manages nothing any more: nothing left to transfer.
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[("mode", "toutes"), ("user_id", &t.luc.to_string())],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["structures"]);
}

#[tokio::test]
async fn mode_chacune_gives_each_organisation_its_own_manager() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    let [a, _, c] = t.orgs;
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "chacune"),
            (&format!("gestionnaires[{a}]"), &t.jean.to_string()),
            (&format!("gestionnaires[{}]", t.orgs[1]), ""),
            (&format!("gestionnaires[{c}]"), &t.luc.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body, 2);
    assert_eq!(primary_manager(&app, a).await, t.jean);
    assert_eq!(primary_manager(&app, t.orgs[1]).await, t.marie_id);
    assert_eq!(primary_manager(&app, c).await, t.luc);
    assert_eq!(app.mail_count("jean@exemple.fr").await, 1);
    assert_eq!(app.mail_count("luc@exemple.fr").await, 1);
    // Nothing chosen at all.
    let (s, body) = transfer(&app, &t.marie, &[("mode", "chacune")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["gestionnaires"]);
}

#[tokio::test]
async fn a_transfer_with_one_unattached_target_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    // Jean is not attached to Mégalis.
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[("mode", "toutes"), ("user_id", &t.jean.to_string())],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let msg = message(&body, "user_id");
    assert!(msg.contains("MEGALIS BRETAGNE"), "{msg}");
    assert!(!msg.contains("AFDAS"), "{msg}");
    // Mode chacune: Luc is fine for Mégalis, not for AFDAS.
    let [a, _, c] = t.orgs;
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "chacune"),
            (&format!("gestionnaires[{a}]"), &t.luc.to_string()),
            (&format!("gestionnaires[{c}]"), &t.luc.to_string()),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec![format!("gestionnaires[{a}]")]);
    assert!(message(&body, &format!("gestionnaires[{a}]")).contains("AFDAS"));
    for org in t.orgs {
        assert_eq!(primary_manager(&app, org).await, t.marie_id);
    }
    assert_eq!(transfers(&app).await, 0);
    assert_eq!(app.mail_count("jean@exemple.fr").await, 0);
    assert_eq!(app.mail_count("luc@exemple.fr").await, 0);
}

#[tokio::test]
async fn keeping_the_former_manager_as_admin_respects_the_limit_or_nothing_changes() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let t = three(&app).await;
    let [a, ..] = t.orgs;
    let m1 = member(&app, "m1@exemple.fr", "Un", &[a]).await;
    let m2 = member(&app, "m2@exemple.fr", "Deux", &[a]).await;
    for m in [m1, m2] {
        let (s, _) = name_admin(&app, &op, a, m).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "partie"),
            (&format!("structures[{a}]"), "oui"),
            ("user_id", &t.jean.to_string()),
            ("rester_administrateur", "oui"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(message(&body, "rester_administrateur").contains("déjà 2 administrateurs"));
    assert_eq!(primary_manager(&app, a).await, t.marie_id);
    assert_eq!(transfers(&app).await, 0);
    // An admin promoted to primary manager frees their seat.
    let (s, body) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "partie"),
            (&format!("structures[{a}]"), "oui"),
            ("user_id", &m1.to_string()),
            ("rester_administrateur", "oui"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(primary_manager(&app, a).await, m1);
    assert_eq!(
        role(&app, t.marie_id, a).await.as_deref(),
        Some("org_admin")
    );
}

#[tokio::test]
async fn only_the_primary_manager_or_the_operator_may_transfer() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let t = three(&app).await;
    let [a, ..] = t.orgs;
    // Paul: admin of AFDAS, not its primary manager.
    let paul = app
        .signup_verified("paul@exemple.fr", "Paul", "Admin")
        .await;
    attach(&app, paul, a).await;
    let (s, _) = name_admin(&app, &op, a, paul).await;
    assert_eq!(s, StatusCode::OK);
    let paul_c = app.login("paul@exemple.fr").await;
    let ticked = format!("structures[{a}]");
    let jean = t.jean.to_string();
    let form = [
        ("mode", "partie"),
        (ticked.as_str(), "oui"),
        ("user_id", jean.as_str()),
    ];
    let (s, body) = transfer(&app, &paul_c, &form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // Nor may he act for Marie.
    let marie = t.marie_id.to_string();
    let mut for_marie = form.to_vec();
    for_marie.push(("depuis", &marie));
    let (s, _) = transfer(&app, &paul_c, &for_marie).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(&paul_c, "transfer_choices", &[("depuis", &marie)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(primary_manager(&app, a).await, t.marie_id);
    // The operator may, for Marie.
    let (s, setup) = app
        .call(&op, "transfer_choices", &[("depuis", &marie)])
        .await;
    assert_eq!(s, StatusCode::OK, "{setup}");
    assert_eq!(setup["for_other"], true);
    assert_eq!(setup["organisations"].as_array().unwrap().len(), 3);
    let (s, body) = transfer(&app, &op, &for_marie).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(primary_manager(&app, a).await, t.jean);
    let op_id = app.user_id("operateur@exemple.fr").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where action = 'gestionnaire_principal.transfert' and actor_id = {op_id}"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_primary_manager_cannot_transfer_an_organisation_they_do_not_manage() {
    let app = TestApp::spawn().await;
    let t = three(&app).await;
    let (other, _, foreign) = app.manager_of("autre@exemple.fr", "28728463200950").await;
    attach(&app, t.jean, foreign).await;
    let jean = t.jean.to_string();
    let ticked = format!("structures[{foreign}]");
    let (s, _) = transfer(
        &app,
        &t.marie,
        &[("mode", "partie"), (&ticked, "oui"), ("user_id", &jean)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let chosen = format!("gestionnaires[{foreign}]");
    let (s, _) = transfer(&app, &t.marie, &[("mode", "chacune"), (&chosen, &jean)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Mixed with one of hers: still refused, nothing changes.
    let mine = format!("structures[{}]", t.orgs[0]);
    let (s, _) = transfer(
        &app,
        &t.marie,
        &[
            ("mode", "partie"),
            (&ticked, "oui"),
            (&mine, "oui"),
            ("user_id", &jean),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(primary_manager(&app, t.orgs[0]).await, t.marie_id);
    assert_ne!(primary_manager(&app, foreign).await, t.jean);
    assert_eq!(transfers(&app).await, 0);
    let _ = other;
}

#[tokio::test]
async fn the_operator_finds_organisations_by_name_or_siret_in_keyset_pages() {
    let app = TestApp::spawn().await;
    let op = operator(&app).await;
    let (_, _, _afdas) = app.manager_of("marie@exemple.fr", AFDAS).await;
    sqlx::query(
        "insert into organisations (siret, nom)
         select '999' || lpad(i::text, 11, '0'), 'Commune test ' || lpad(i::text, 2, '0')
           from generate_series(1, 25) i",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (s, page1) = app
        .call(&op, "operator_organisations", &[("q", "commune T")])
        .await;
    assert_eq!(s, StatusCode::OK, "{page1}");
    let rows = page1["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(rows[0]["nom"], "Commune test 01");
    let next = page1["next"].as_str().unwrap();
    let (_, page2) = app
        .call(
            &op,
            "operator_organisations",
            &[("q", "commune T"), ("after", next)],
        )
        .await;
    let rows2 = page2["rows"].as_array().unwrap();
    assert_eq!(rows2.len(), 5, "{page2}");
    assert_eq!(rows2[0]["nom"], "Commune test 21");
    assert!(page2["next"].is_null());
    // SIRET prefix, spaces allowed; the row shows the primary manager.
    let (_, found) = app
        .call(&op, "operator_organisations", &[("q", "784 714 008")])
        .await;
    assert_eq!(found["rows"].as_array().unwrap().len(), 1);
    assert_eq!(found["rows"][0]["nom"], "AFDAS");
    assert_eq!(found["rows"][0]["primary_manager"], "Marie Gestionnaire");
    assert_eq!(found["rows"][0]["admins"], 0);
    let (_, by_siret) = app
        .call(&op, "operator_organisations", &[("q", "999")])
        .await;
    assert_eq!(by_siret["rows"].as_array().unwrap().len(), 20);
    let next = by_siret["next"].as_str().unwrap();
    let (_, rest) = app
        .call(
            &op,
            "operator_organisations",
            &[("q", "999"), ("after", next)],
        )
        .await;
    assert_eq!(rest["rows"].as_array().unwrap().len(), 5);
}
