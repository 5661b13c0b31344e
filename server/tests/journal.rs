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
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
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
