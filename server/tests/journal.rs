//! Database rules of organisation administration: the journal's hash
//! chain and the limit of organisation admins.
mod common;
use common::*;
use server::journal::{check, ChainBreak};

async fn app_with_events() -> TestApp {
    let app = TestApp::spawn().await;
    for who in ["a", "b", "c"] {
        app.signup_verified(&format!("{who}@exemple.fr"), "Jeanne", "Martin")
            .await;
    }
    app
}

#[tokio::test]
async fn the_journal_chain_verifies_when_untouched() {
    let app = app_with_events().await;
    let n = check(&app.pool).await.unwrap().expect("intact chain");
    assert_eq!(n, app.count("select count(*) from audit_events").await);
    assert!(n >= 6);
}

/// A superuser who bypasses the append-only trigger still leaves a trace.
async fn tamper(app: &TestApp, sql: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("alter table audit_events disable trigger audit_events_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(sql).execute(&mut *tx).await.unwrap();
    sqlx::query("alter table audit_events enable trigger audit_events_append_only")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_edited_event_is_detected() {
    let app = app_with_events().await;
    tamper(
        &app,
        "update audit_events set after = '{\"email\": \"autre@exemple.fr\"}' where seq = 3",
    )
    .await;
    assert_eq!(
        check(&app.pool).await.unwrap(),
        Err(ChainBreak::Content { seq: 3 })
    );
}

#[tokio::test]
async fn a_deleted_event_is_detected() {
    let app = app_with_events().await;
    tamper(&app, "delete from audit_events where seq = 2").await;
    assert_eq!(
        check(&app.pool).await.unwrap(),
        Err(ChainBreak::Gap {
            expected: 2,
            found: 3
        })
    );
}

#[tokio::test]
async fn a_rehashed_edit_breaks_the_next_link() {
    let app = app_with_events().await;
    tamper(
        &app,
        "update audit_events set action = 'falsifié' where seq = 2",
    )
    .await;
    // The forger recomputes the edited event's own hash...
    tamper(
        &app,
        "update audit_events set hash = digest(prev_hash || convert_to(audit_event_content(audit_events), 'UTF8'), 'sha256')
          where seq = 2",
    )
    .await;
    let (action,): (String,) = sqlx::query_as("select action from audit_events where seq = 2")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(action, "falsifié");
    // ...but the next event still points at the old one.
    assert_eq!(
        check(&app.pool).await.unwrap(),
        Err(ChainBreak::Link { seq: 3 })
    );
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain() {
    let app = TestApp::spawn().await;
    let mut tasks = vec![];
    for i in 0..8 {
        let url = app.url.clone();
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let email = format!("p{i}@exemple.fr");
            let form = signup_form(&email, "Jeanne", "Martin");
            c.post(format!("{url}/api/signup"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
    assert_eq!(check(&app.pool).await.unwrap(), Ok(8));
}

async fn org_with_members(app: &TestApp, n: usize) -> (i64, Vec<i64>) {
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let mut ids = vec![];
    for i in 0..n {
        let id = app
            .signup_verified(&format!("m{i}@exemple.fr"), "Jean", "Membre")
            .await;
        sqlx::query("insert into memberships (user_id, organisation_id) values ($1, $2)")
            .bind(id)
            .bind(org)
            .execute(&app.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    (org, ids)
}

async fn promote(pool: &sqlx::PgPool, user: i64, org: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update memberships set admin_role = 'org_admin' where user_id = $1 and organisation_id = $2")
        .bind(user)
        .bind(org)
        .execute(pool)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_third_organisation_admin_is_refused() {
    let app = TestApp::spawn().await;
    let (org, ids) = org_with_members(&app, 3).await;
    promote(&app.pool, ids[0], org).await.unwrap();
    promote(&app.pool, ids[1], org).await.unwrap();
    let err = promote(&app.pool, ids[2], org).await.unwrap_err();
    let db = err.as_database_error().expect("database error");
    assert_eq!(db.constraint(), Some("memberships_admin_limit"));
    assert_eq!(
        app.count("select count(*) from memberships where admin_role = 'org_admin'")
            .await,
        2
    );
    // The limit is per organisation and configurable.
    sqlx::query("update organisations set max_admins = 3 where id = $1")
        .bind(org)
        .execute(&app.pool)
        .await
        .unwrap();
    promote(&app.pool, ids[2], org).await.unwrap();
}

#[tokio::test]
async fn racing_promotions_cannot_exceed_the_limit() {
    let app = TestApp::spawn().await;
    let (org, ids) = org_with_members(&app, 3).await;
    promote(&app.pool, ids[0], org).await.unwrap();
    // Two transactions promote at the same time; the organisation row lock
    // makes the second one count the first.
    let mut a = app.pool.begin().await.unwrap();
    let mut b = app.pool.begin().await.unwrap();
    sqlx::query("update memberships set admin_role = 'org_admin' where user_id = $1 and organisation_id = $2")
        .bind(ids[1])
        .bind(org)
        .execute(&mut *a)
        .await
        .unwrap();
    let second = tokio::spawn(async move {
        let r = sqlx::query("update memberships set admin_role = 'org_admin' where user_id = $1 and organisation_id = $2")
            .bind(ids[2])
            .bind(org)
            .execute(&mut *b)
            .await;
        match r {
            Ok(_) => b.commit().await.map(|_| ()),
            Err(e) => Err(e),
        }
    });
    // The second transaction is waiting on the first one's lock (seen in
    // pg_locks, not guessed with a sleep) before the first commits.
    wait_for_a_blocked_backend(&app).await;
    a.commit().await.unwrap();
    assert!(
        second.await.unwrap().is_err(),
        "the second promotion must be refused"
    );
    assert_eq!(
        app.count("select count(*) from memberships where admin_role = 'org_admin'")
            .await,
        2
    );
}

// ---- The journal screens: who may read what, filters, pages, CSV. ----

/// A verified, logged-in user with the given names, primary manager of
/// the organisation `siret`: (client, user id, organisation id).
async fn admin(
    app: &TestApp,
    email: &str,
    prenom: &str,
    nom: &str,
    siret: &str,
) -> (reqwest::Client, i64, i64) {
    let uid = app.signup_verified(email, prenom, nom).await;
    let c = app.login(email).await;
    let (s, body) = app
        .call(&c, "register_organisation", &[("siret", siret)])
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    (c, uid, body.as_i64().unwrap())
}

async fn member(
    app: &TestApp,
    email: &str,
    prenom: &str,
    nom: &str,
    org: i64,
    role: Option<&str>,
) -> (reqwest::Client, i64) {
    let uid = app.signup_verified(email, prenom, nom).await;
    sqlx::query(
        "insert into memberships (user_id, organisation_id, admin_role) values ($1, $2, $3)",
    )
    .bind(uid)
    .bind(org)
    .bind(role)
    .execute(&app.pool)
    .await
    .unwrap();
    (app.login(email).await, uid)
}

async fn operator(app: &TestApp) -> reqwest::Client {
    let id = app
        .signup_verified("ops@exemple.fr", "Olga", "Operatrice")
        .await;
    sqlx::query("update users set is_operator = true where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    app.login("ops@exemple.fr").await
}

async fn create_unit(
    app: &TestApp,
    c: &reqwest::Client,
    org: i64,
    code: &str,
    libelle: &str,
) -> i64 {
    let (s, body) = app
        .call(
            c,
            "save_unit",
            &[
                ("organisation_id", &org.to_string()),
                ("code", code),
                ("libelle", libelle),
            ],
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    body.as_i64().unwrap()
}

/// `list_journal` with the organisation (if any) and filters: (status, body).
async fn journal(
    app: &TestApp,
    c: &reqwest::Client,
    org: Option<i64>,
    filters: &[(&str, &str)],
) -> (reqwest::StatusCode, serde_json::Value) {
    let org = org.map(|o| o.to_string());
    let mut form: Vec<(&str, &str)> = filters.to_vec();
    if let Some(o) = &org {
        form.push(("organisation_id", o));
    }
    app.call(c, "list_journal", &form).await
}

fn column(body: &serde_json::Value, key: &str) -> Vec<String> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn each_reads_the_journal_of_their_reach_in_names() {
    use reqwest::StatusCode;
    let app = TestApp::spawn().await;
    let (marie, _, afdas) = admin(&app, "marie@exemple.fr", "Marie", "Curie", AFDAS).await;
    let (eve, _, malo) = admin(&app, "eve@exemple.fr", "Eve", "Malouine", SAINT_MALO).await;
    create_unit(&app, &marie, afdas, "COMPTA", "Comptabilité").await;
    create_unit(&app, &eve, malo, "PORT", "Capitainerie").await;
    let (plain, _) = member(&app, "paul@exemple.fr", "Paul", "Simple", afdas, None).await;

    let (s, body) = journal(&app, &marie, Some(afdas), &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["organisation"], "AFDAS");
    // Only AFDAS's events: its registration and its unit.
    assert_eq!(
        column(&body, "action"),
        vec!["Création d'un service", "Enregistrement d'une structure"]
    );
    let row = &body["rows"][0];
    assert_eq!(row["acteur"], "Marie Curie");
    assert_eq!(row["acteur_email"], "marie@exemple.fr");
    assert_eq!(row["structure"], "AFDAS");
    assert_eq!(row["cible"], "COMPTA — Comptabilité");
    let lines: Vec<String> = row["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} : {}",
                c["field"].as_str().unwrap(),
                c["after"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        lines.contains(&"Libellé : Comptabilité".to_string()),
        "{lines:?}"
    );
    assert_eq!(body["rows"][1]["cible"], "AFDAS (SIRET 78471400800165)");
    // The primary manager named in the registration is a name, not an id.
    assert!(body["rows"][1]
        .to_string()
        .contains("Gestionnaire principal"));
    assert!(body["rows"][1].to_string().contains("Marie Curie"));

    // Another organisation's admin, a plain member, anyone without an
    // organisation: refused. A visitor must log in.
    let o = Some(afdas);
    assert_eq!(journal(&app, &eve, o, &[]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(journal(&app, &plain, o, &[]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        journal(&app, &marie, None, &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        journal(&app, &app.client(), o, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The operator reads any organisation's journal and the whole journal.
    let ops = operator(&app).await;
    assert_eq!(journal(&app, &ops, o, &[]).await.0, StatusCode::OK);
    let (s, all) = journal(&app, &ops, None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(all["organisation"].is_null());
    assert_eq!(
        all["rows"].as_array().unwrap().len() as i64,
        app.count("select count(*) from audit_events").await
    );
    let structures = column(&all, "structure");
    assert!(structures.contains(&"COMMUNE DE SAINT-MALO".to_string()));
    assert!(column(&all, "cible").contains(&"PORT — Capitainerie".to_string()));
}

#[tokio::test]
async fn each_filter_narrows_the_journal() {
    use reqwest::StatusCode;
    let app = TestApp::spawn().await;
    let (marie, _, org) = admin(&app, "marie@exemple.fr", "Marie", "Curie", AFDAS).await;
    let (second, _) = member(
        &app,
        "paul@exemple.fr",
        "Paul",
        "Second",
        org,
        Some("org_admin"),
    )
    .await;
    let (_, agent) = member(&app, "jean@exemple.fr", "Jean", "Agent", org, None).await;
    let unit = create_unit(&app, &marie, org, "COMPTA", "Comptabilité").await;
    create_unit(&app, &second, org, "RH", "Ressources humaines").await;
    let o = org.to_string();
    let (s, _) = app
        .call(
            &marie,
            "save_unit",
            &[
                ("organisation_id", &o),
                ("id", &unit.to_string()),
                ("code", "COMPTA"),
                ("libelle", "Compta"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(
            &second,
            "resend_identifier",
            &[("organisation_id", &o), ("user_id", &agent.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // An event of long ago, late in the evening (Paris time).
    sqlx::query(
        "insert into audit_events (at, actor_id, organisation_id, action, target_type, target_id)
         values ('2020-03-15 23:30 Europe/Paris', $1, $2, 'service.desactivation', 'service', $3)",
    )
    .bind(agent)
    .bind(org)
    .bind(unit)
    .execute(&app.pool)
    .await
    .unwrap();
    let actions = |f: &'static [(&'static str, &'static str)]| {
        let (app, marie) = (&app, &marie);
        async move {
            let (s, body) = journal(app, marie, Some(org), f).await;
            assert_eq!(s, StatusCode::OK, "{f:?}: {body}");
            column(&body, "action")
        }
    };
    assert_eq!(actions(&[]).await.len(), 6);
    // Period, in Paris days.
    assert_eq!(
        actions(&[("du", "2020-03-15"), ("au", "2020-03-15")]).await,
        vec!["Désactivation d'un service"]
    );
    assert_eq!(
        actions(&[("du", "2020-03-16"), ("au", "2020-12-31")]).await,
        Vec::<String>::new()
    );
    assert_eq!(actions(&[("au", "15/03/2020")]).await.len(), 1);
    assert_eq!(actions(&[("du", "2021-01-01")]).await.len(), 5);
    // Actor: name, first name + name, email prefixes, any case.
    let by_paul = vec!["Renvoi de l'identifiant par mail", "Création d'un service"];
    assert_eq!(actions(&[("acteur", "SEC")]).await, by_paul);
    assert_eq!(actions(&[("acteur", "paul sec")]).await, by_paul);
    assert_eq!(actions(&[("acteur", "paul@")]).await, by_paul);
    assert_eq!(actions(&[("acteur", "Jean")]).await.len(), 1);
    // Action.
    assert_eq!(
        actions(&[("action", "service.modification")]).await,
        vec!["Modification d'un service"]
    );
    // Target: its type, or the start of its name.
    assert_eq!(actions(&[("cible", "Service")]).await.len(), 4);
    assert_eq!(actions(&[("cible", "compt")]).await.len(), 3);
    assert_eq!(
        actions(&[("cible", "agent")]).await,
        vec!["Renvoi de l'identifiant par mail"]
    );
    assert_eq!(
        actions(&[("cible", "afdas")]).await,
        vec!["Enregistrement d'une structure"]
    );
    // Filters combine.
    assert_eq!(
        actions(&[
            ("cible", "compta"),
            ("acteur", "marie"),
            ("du", "2021-01-01")
        ])
        .await,
        vec!["Modification d'un service", "Création d'un service"]
    );
    // A wrong date is reported on its field.
    let (s, body) = journal(
        &app,
        &marie,
        Some(org),
        &[("du", "15 mars"), ("au", "2020-01-01")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["du"]);
    let (_, body) = journal(
        &app,
        &marie,
        Some(org),
        &[("du", "2020-02-01"), ("au", "2020-01-01")],
    )
    .await;
    assert_eq!(invalid_fields(&body), vec!["au"]);
}

#[tokio::test]
async fn pages_follow_each_other_without_gap_or_repeat() {
    let app = TestApp::spawn().await;
    let (marie, uid, org) = admin(&app, "marie@exemple.fr", "Marie", "Curie", AFDAS).await;
    sqlx::query(
        "insert into audit_events (actor_id, organisation_id, action, target_type, target_id)
         select $1, $2, 'utilisateur.renvoi_identifiant', 'utilisateur', $1 from generate_series(1, 120)",
    )
    .bind(uid)
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap();
    let expected: Vec<i64> = sqlx::query_as::<_, (i64,)>(
        "select id from audit_events where organisation_id = $1 order by id desc",
    )
    .bind(org)
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.0)
    .collect();
    assert_eq!(expected.len(), 121);
    let (mut seen, mut after, mut pages) = (vec![], String::new(), 0);
    loop {
        let (s, body) = journal(&app, &marie, Some(org), &[("apres", &after)]).await;
        assert_eq!(s, reqwest::StatusCode::OK, "{body}");
        let rows = body["rows"].as_array().unwrap();
        assert!(rows.len() <= 50);
        seen.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
        pages += 1;
        match body["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);
}

/// GET `/exports/journal.csv` with a query string.
async fn export(app: &TestApp, c: &reqwest::Client, query: &[(&str, &str)]) -> reqwest::Response {
    c.get(format!("{}/exports/journal.csv", app.url))
        .query(query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_csv_export_follows_the_screen_rights_and_filters() {
    use reqwest::StatusCode;
    let app = TestApp::spawn().await;
    let (marie, _, org) = admin(&app, "marie@exemple.fr", "Marie", "Curie", AFDAS).await;
    let (eve, _, _) = admin(&app, "eve@exemple.fr", "Eve", "Malouine", SAINT_MALO).await;
    create_unit(&app, &marie, org, "COMPTA", "Comptabilité; paie").await;
    let o = org.to_string();

    // A visitor is sent to the login page; others' admins are refused.
    let visitor = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = export(&app, &visitor, &[("organisation", &o)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/connexion");
    assert_eq!(
        export(&app, &eve, &[("organisation", &o)]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        export(&app, &marie, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        export(&app, &marie, &[("organisation", &o), ("du", "hier")])
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let r = export(&app, &marie, &[("organisation", &o)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"journal-"));
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "Date",
            "Acteur",
            "Structure",
            "Action",
            "Cible",
            "Avant",
            "Après",
            "IP"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][1], "Marie Curie (marie@exemple.fr)");
    assert_eq!(&rows[0][2], "AFDAS");
    assert_eq!(&rows[0][3], "Création d'un service");
    assert_eq!(&rows[0][4], "COMPTA — Comptabilité; paie");
    assert!(
        rows[0][6].contains("Libellé : Comptabilité; paie"),
        "{:?}",
        &rows[0][6]
    );
    assert_eq!(&rows[0][7], "127.0.0.1");
    assert!(text.starts_with("Date;Acteur;Structure;Action;Cible;Avant;Après;IP\r\n"));

    // The screen's filters apply.
    let r = export(
        &app,
        &marie,
        &[("organisation", &o), ("action", "structure.creation")],
    )
    .await;
    let text = r.text().await.unwrap();
    let rows = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes())
        .records()
        .count();
    assert_eq!(rows, 1, "{text}");
    assert!(text.contains("Enregistrement d'une structure"));

    // The operator exports the whole journal, in batches.
    let ops = operator(&app).await;
    sqlx::query(
        "insert into audit_events (organisation_id, action, target_type, target_id)
         select $1, 'service.activation', 'service', null from generate_series(1, 2100)",
    )
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap();
    let text = export(&app, &ops, &[]).await.text().await.unwrap();
    let n = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes())
        .records()
        .count() as i64;
    assert_eq!(n, app.count("select count(*) from audit_events").await);
}

/// Returns once some backend of this test's database waits for a lock.
async fn wait_for_a_blocked_backend(app: &TestApp) {
    for _ in 0..2000 {
        let waiting = app
            .count(&format!(
                "select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid
                  where not l.granted and a.datname = '{}'",
                app.database
            ))
            .await;
        if waiting > 0 {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("no backend ever waited for the lock: the race was not run");
}
