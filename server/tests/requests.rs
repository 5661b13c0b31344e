//! Organisations and the access-request journey, over real HTTP.
mod common;
use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn registering_an_organisation_checks_siret_and_sirene() {
    let app = TestApp::spawn().await;
    app.signup_verified("marie@exemple.fr", "Marie", "Curie")
        .await;
    let c = app.login("marie@exemple.fr").await;
    let cases = [
        ("78471400800166", "clé de contrôle"),
        ("1234", "14 chiffres"),
        ("73282932000074", "inconnu de la base SIRENE"),
        (CLOSED, "fermé"),
    ];
    for (siret, expected) in cases {
        let (s, body) = app
            .call(&c, "register_organisation", &[("siret", siret)])
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{siret}: {body}");
        assert_eq!(invalid_fields(&body), vec!["siret"]);
        assert!(body.to_string().contains(expected), "{siret}: {body}");
    }
    assert_eq!(app.count("select count(*) from organisations").await, 0);

    let (s, body) = app
        .call(
            &c,
            "register_organisation",
            &[("siret", "784 714 008 00165")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, mine) = app.call(&c, "my_organisations", &[]).await;
    assert_eq!(mine[0]["nom"], "AFDAS");
    assert_eq!(mine[0]["admin_role"], "primary_manager");
    // Exists once: a second registration is refused, with the way to join.
    let other = app
        .signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let _ = other;
    let p = app.login("paul@exemple.fr").await;
    let (s, body) = app
        .call(&p, "register_organisation", &[("siret", AFDAS)])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("existe déjà"));
    assert_eq!(app.count("select count(*) from organisations").await, 1);
    // La Poste establishments follow their own key rule.
    let (s, body) = app
        .call(&p, "register_organisation", &[("siret", "35600000049837")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Found by SIRET prefix and by name.
    let (_, found) = app
        .call(&p, "search_organisations", &[("q", "784714")])
        .await;
    assert_eq!(found[0]["siret"], AFDAS);
    let (_, found) = app
        .call(&p, "search_organisations", &[("q", "poste")])
        .await;
    assert_eq!(found[0]["nom"], "LA POSTE");
}

struct Journey {
    app: TestApp,
    manager: reqwest::Client,
    agent: reqwest::Client,
    agent_id: i64,
    org: i64,
    role: i64,
    request: i64,
}

/// Marie manages AFDAS; Paul asks for SOFFi Consultation there.
async fn journey() -> Journey {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let agent_id = app
        .signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let agent = app.login("paul@exemple.fr").await;
    let role = app.role_id("soffi", "consultation").await;
    let (s, body) = app
        .call(
            &agent,
            "request_access",
            &[
                ("organisation_id", &org.to_string()),
                ("role_id", &role.to_string()),
                ("message", "Pour le suivi"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let request = body.as_i64().unwrap();
    Journey {
        app,
        manager,
        agent,
        agent_id,
        org,
        role,
        request,
    }
}

#[tokio::test]
async fn request_then_accept_creates_the_grant_and_tells_both_sides() {
    let j = journey().await;
    let app = &j.app;
    let (subject, mail) = app.last_mail("marie@exemple.fr").await.unwrap();
    assert_eq!(subject, "Demande d'accès à SOFFi");
    assert!(
        mail.contains("Paul Agent vous demande l'accès à la démarche 'SOFFi'"),
        "{mail}"
    );
    assert!(mail.contains("pour la structure AFDAS"));
    assert!(mail.contains(&format!(
        "{}/demarches/soffi/utilisateurs/{}?structure={}",
        app.url, j.agent_id, j.org
    )));

    // A second identical request waits for the first.
    let (s, body) = app
        .call(
            &j.agent,
            "request_access",
            &[
                ("organisation_id", &j.org.to_string()),
                ("role_id", &j.role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (_, tiles) = app.call(&j.manager, "home_tiles", &[]).await;
    let soffi = tiles
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "soffi")
        .expect("SOFFi tile for the manager");
    assert_eq!(soffi["pending"], 1);
    assert_eq!(soffi["managed"], true);
    let (_, list) = app
        .call(
            &j.manager,
            "list_service_users",
            &[("application", "soffi"), ("role", "en-attente")],
        )
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["rows"][0]["email"], "paul@exemple.fr");
    let (_, list) = app
        .call(
            &j.manager,
            "list_service_users",
            &[("application", "soffi"), ("q", AFDAS)],
        )
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 1);
    let (s, card) = app
        .call(
            &j.manager,
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &j.agent_id.to_string()),
                ("organisation_id", &j.org.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{card}");
    assert_eq!(card["pending"][0]["role"], "Consultation");
    assert_eq!(card["siret"], AFDAS);

    let (_, tiles) = app.call(&j.agent, "home_tiles", &[]).await;
    assert!(tiles.as_array().unwrap().is_empty(), "{tiles}");

    let (s, body) = app
        .call(
            &j.manager,
            "decide_request",
            &[
                ("id", &j.request.to_string()),
                ("decision", "accepter"),
                ("comment", "Bienvenue"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {} and role_id = {} and date_cloture is null",
            j.agent_id, j.role
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where user_id = {}",
            j.agent_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action in ('demande.acceptation', 'habilitation.attribution')").await,
        2
    );
    let (subject, mail) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert_eq!(subject, "Votre accès à SOFFi est accordé");
    assert!(mail.contains("Bienvenue"));
    let (_, tiles) = app.call(&j.agent, "home_tiles", &[]).await;
    assert_eq!(tiles[0]["code"], "soffi");
    assert_eq!(tiles[0]["held"], true);
    let (_, tiles) = app.call(&j.manager, "home_tiles", &[]).await;
    let soffi = tiles
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "soffi")
        .unwrap();
    assert_eq!(soffi["pending"], 0);
}

#[tokio::test]
async fn refusal_creates_nothing_and_tells_the_requester() {
    let j = journey().await;
    let app = &j.app;
    let (s, _) = app
        .call(
            &j.manager,
            "decide_request",
            &[
                ("id", &j.request.to_string()),
                ("decision", "refuser"),
                ("comment", "Pas de besoin"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.count("select count(*) from grants").await, 0);
    let (subject, mail) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert_eq!(subject, "Votre demande d'accès à SOFFi est refusée");
    assert!(mail.contains("Pas de besoin"));
    let (_, mine) = app.call(&j.agent, "my_requests", &[]).await;
    assert_eq!(mine[0]["status"], "refused");
    assert_eq!(mine[0]["decision_comment"], "Pas de besoin");
}

#[tokio::test]
async fn nobody_decides_their_own_request() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let role = app.role_id("soffi", "administrateur").await;
    let (s, body) = app
        .call(
            &manager,
            "request_access",
            &[
                ("organisation_id", &org.to_string()),
                ("role_id", &role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let id = body.as_i64().unwrap().to_string();
    let (s, body) = app
        .call(
            &manager,
            "decide_request",
            &[("id", &id), ("decision", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.to_string().contains("propre demande"));
    assert_eq!(
        app.count("select count(*) from access_requests where status = 'pending'")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from grants").await, 0);
}

#[tokio::test]
async fn a_decided_request_cannot_be_decided_again() {
    let j = journey().await;
    let app = &j.app;
    let id = j.request.to_string();
    assert_eq!(
        app.call(
            &j.manager,
            "decide_request",
            &[("id", &id), ("decision", "refuser")]
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, body) = app
        .call(
            &j.manager,
            "decide_request",
            &[("id", &id), ("decision", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.to_string().contains("déjà été traitée"));
    assert_eq!(app.count("select count(*) from grants").await, 0);
    assert_eq!(
        app.count("select count(*) from access_requests where status = 'refused'")
            .await,
        1
    );
}

#[tokio::test]
async fn two_managers_deciding_at_once_exactly_one_wins() {
    let j = journey().await;
    let app = &j.app;
    let second = app
        .signup_verified("luc@exemple.fr", "Luc", "Adjoint")
        .await;
    sqlx::query("insert into memberships (user_id, organisation_id, admin_role) values ($1, $2, 'org_admin')")
        .bind(second)
        .bind(j.org)
        .execute(&app.pool)
        .await
        .unwrap();
    let other = app.login("luc@exemple.fr").await;
    for round in 0..5 {
        let id = if round == 0 {
            j.request
        } else {
            sqlx::query("update access_requests set status = 'cancelled' where status = 'pending'")
                .execute(&app.pool)
                .await
                .unwrap();
            let (s, body) = app
                .call(
                    &j.agent,
                    "request_access",
                    &[
                        ("organisation_id", &j.org.to_string()),
                        ("role_id", &app.role_id("soffi", "saisie").await.to_string()),
                    ],
                )
                .await;
            if s != StatusCode::OK {
                // Already granted by an earlier round: done.
                assert!(body.to_string().contains("déjà"), "{body}");
                break;
            }
            body.as_i64().unwrap()
        };
        let id = id.to_string();
        let accept = [("id", id.as_str()), ("decision", "accepter")];
        let refuse = [("id", id.as_str()), ("decision", "refuser")];
        let (a, b) = tokio::join!(
            app.call(&j.manager, "decide_request", &accept),
            app.call(&other, "decide_request", &refuse),
        );
        let oks = [a.0, b.0].iter().filter(|s| **s == StatusCode::OK).count();
        let conflicts = [a.0, b.0]
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((oks, conflicts), (1, 1), "round {round}: {a:?} {b:?}");
        let decisions = app.count(&format!("select count(*) from audit_events where target_id = {id} and action in ('demande.acceptation', 'demande.refus')")).await;
        assert_eq!(decisions, 1);
    }
}

#[tokio::test]
async fn a_manager_of_another_organisation_can_neither_read_nor_change() {
    let j = journey().await;
    let app = &j.app;
    let (intruder, _, other_org) = app.manager_of("eve@exemple.fr", SAINT_MALO).await;
    let (uid, org, req) = (
        j.agent_id.to_string(),
        j.org.to_string(),
        j.request.to_string(),
    );

    let (_, list) = app
        .call(&intruder, "list_service_users", &[("application", "soffi")])
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 0, "{list}");
    let (_, tiles) = app.call(&intruder, "home_tiles", &[]).await;
    assert!(tiles.as_array().unwrap().iter().all(|t| t["pending"] == 0));
    let (s, _) = app
        .call(
            &intruder,
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &uid),
                ("organisation_id", &org),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Own organisation id with a foreign user: not found either.
    let (s, _) = app
        .call(
            &intruder,
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &uid),
                ("organisation_id", &other_org.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            &intruder,
            "decide_request",
            &[("id", &req), ("decision", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            &intruder,
            "add_grant",
            &[
                ("user_id", &uid),
                ("organisation_id", &org),
                ("role_id", &j.role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            &intruder,
            "add_grant",
            &[
                ("user_id", &uid),
                ("organisation_id", &other_org.to_string()),
                ("role_id", &j.role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.call(&intruder, "cancel_request", &[("id", &req)]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The requester cannot decide or grant either.
    let (s, _) = app
        .call(
            &j.agent,
            "decide_request",
            &[("id", &req), ("decision", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            &j.agent,
            "add_grant",
            &[
                ("user_id", &uid),
                ("organisation_id", &org),
                ("role_id", &j.role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nothing changed.
    assert_eq!(
        app.count("select count(*) from access_requests where status = 'pending'")
            .await,
        1
    );
    assert_eq!(app.count("select count(*) from grants").await, 0);
    let (_, mine) = app.call(&j.agent, "my_requests", &[]).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (_, theirs) = app.call(&intruder, "my_requests", &[]).await;
    assert_eq!(theirs.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn manager_adds_a_grant_directly() {
    let j = journey().await;
    let app = &j.app;
    let saisie = app.role_id("soffi", "saisie").await.to_string();
    let form = [
        ("user_id", j.agent_id.to_string()),
        ("organisation_id", j.org.to_string()),
        ("role_id", saisie),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, body) = app.call(&j.manager, "add_grant", &form).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app.call(&j.manager, "add_grant", &form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, card) = app
        .call(
            &j.manager,
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &j.agent_id.to_string()),
                ("organisation_id", &j.org.to_string()),
            ],
        )
        .await;
    assert_eq!(card["grants"][0]["role"], "Saisie");
    let (subject, _) = app.last_mail("paul@exemple.fr").await.unwrap();
    assert_eq!(subject, "Nouvel accès à SOFFi");
}

#[tokio::test]
async fn the_requester_can_cancel_a_pending_request() {
    let j = journey().await;
    let app = &j.app;
    let id = j.request.to_string();
    assert_eq!(
        app.call(&j.agent, "cancel_request", &[("id", &id)]).await.0,
        StatusCode::OK
    );
    let (s, _) = app
        .call(
            &j.manager,
            "decide_request",
            &[("id", &id), ("decision", "accepter")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

/// Every server function refuses an anonymous caller (except sign-up,
/// login and the password flows, which are for anonymous people).
#[tokio::test]
async fn anonymous_callers_are_refused_everywhere() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let calls: &[(&str, &[(&str, &str)])] = &[
        ("my_organisations", &[]),
        ("search_organisations", &[("q", "AFDAS")]),
        ("register_organisation", &[("siret", AFDAS)]),
        ("get_organisation", &[("id", "1")]),
        ("list_roles", &[]),
        (
            "request_access",
            &[("organisation_id", "1"), ("role_id", "1")],
        ),
        ("my_requests", &[]),
        ("cancel_request", &[("id", "1")]),
        ("decide_request", &[("id", "1"), ("decision", "accepter")]),
        ("home_tiles", &[]),
        ("list_service_users", &[("application", "soffi")]),
        (
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", "1"),
                ("organisation_id", "1"),
            ],
        ),
        (
            "add_grant",
            &[("user_id", "1"), ("organisation_id", "1"), ("role_id", "1")],
        ),
        ("org_services", &[("organisation_id", "1")]),
        ("list_conventions", &[]),
        ("get_convention", &[("id", "1")]),
        ("save_convention", &[("id", "1"), ("libelle", "x")]),
        ("close_convention", &[("id", "1")]),
        ("list_groups", &[("organisation_id", "1")]),
        ("get_group", &[("organisation_id", "1"), ("id", "1")]),
        (
            "add_to_group",
            &[
                ("organisation_id", "1"),
                ("group_id", "1"),
                ("user_id", "1"),
            ],
        ),
        ("get_agent", &[("organisation_id", "1"), ("user_id", "1")]),
        (
            "create_agent",
            &[
                ("organisation_id", "1"),
                ("email", "a@b.fr"),
                ("email_confirmation", "a@b.fr"),
            ],
        ),
        (
            "update_agent",
            &[
                ("organisation_id", "1"),
                ("user_id", "1"),
                ("nom", "A"),
                ("prenom", "B"),
                ("email", "a@b.fr"),
                ("email_confirmation", "a@b.fr"),
            ],
        ),
        (
            "set_agent_unit",
            &[("organisation_id", "1"), ("user_id", "1"), ("unit_id", "0")],
        ),
        (
            "detach_agent",
            &[
                ("organisation_id", "1"),
                ("user_id", "1"),
                ("niveau", "structure"),
                ("commentaire", "x"),
            ],
        ),
        (
            "get_agent_roles",
            &[("organisation_id", "1"), ("user_id", "1")],
        ),
        (
            "save_agent_roles",
            &[("organisation_id", "1"), ("user_id", "1"), ("role_ids", "")],
        ),
        ("switch_organisation", &[("organisation_id", "1")]),
        ("my_invitations", &[]),
        (
            "answer_join_invitation",
            &[("invitation_id", "1"), ("reponse", "accepter")],
        ),
        ("operator_organisations", &[("q", "")]),
        ("list_org_admins", &[("organisation_id", "1")]),
        (
            "set_org_admin",
            &[
                ("organisation_id", "1"),
                ("user_id", "1"),
                ("admin", "true"),
            ],
        ),
        (
            "set_max_admins",
            &[("organisation_id", "1"), ("max_admins", "3")],
        ),
        ("transfer_choices", &[]),
        (
            "transfer_primary_manager",
            &[("mode", "toutes"), ("user_id", "1")],
        ),
        ("list_journal", &[("organisation_id", "1")]),
        ("list_journal", &[]),
    ];
    for (endpoint, form) in calls {
        let (s, body) = app.call(&c, endpoint, form).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{endpoint}: {body}");
    }
    let (_, me) = app.call(&c, "me", &[]).await;
    assert!(me.is_null());
}

#[tokio::test]
async fn dev_mailbox_is_off_unless_configured() {
    let app = TestApp::spawn_with(|s| s.app.dev_mailbox = false).await;
    let (s, _) = app.call(&app.client(), "dev_mailbox", &[("to", "")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// « Mes démarches » of a new structure's primary manager: the démarches
/// activated for the structure, marked as managed but not held (« Gestion
/// uniquement »); an agent of the structure sees none of them.
#[tokio::test]
async fn a_new_primary_manager_sees_the_demarches_they_administer() {
    let app = TestApp::spawn().await;
    let (manager, _, org) = app.manager_of("gestion@exemple.fr", "78471400800165").await;
    let activated = app
        .count(&format!(
            "select count(*) from organisation_applications where organisation_id = {org}"
        ))
        .await;
    assert!(activated > 0, "démarches activated by default");
    let (_, tiles) = app.call(&manager, "home_tiles", &[]).await;
    let tiles = tiles.as_array().unwrap().clone();
    assert_eq!(tiles.len() as i64, activated, "{tiles:?}");
    let soffi = tiles.iter().find(|t| t["code"] == "soffi").expect("SOFFi");
    assert_eq!(soffi["managed"], true);
    assert_eq!(soffi["held"], false);
    // An agent of the structure administers nothing.
    let (_, agent) = app
        .structure_account(&manager, org, "agent@exemple.fr", "Paul", "Agent")
        .await;
    let (_, tiles) = app.call(&agent, "home_tiles", &[]).await;
    assert_eq!(tiles.as_array().unwrap().len(), 0, "{tiles}");
    drop(app);
}
