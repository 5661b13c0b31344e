//! The caller's IP address: `X-Forwarded-For` counts only from a trusted
//! proxy, as an IP address, for the journal and the per-IP login limit.
mod common;
use common::*;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A server function call carrying an `X-Forwarded-For` header.
async fn call_via(
    app: &TestApp,
    c: &Client,
    forwarded: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = c
        .post(format!("{}/api/{endpoint}", app.url))
        .header("accept", "application/json")
        .header("x-forwarded-for", forwarded)
        .form(form)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Signs up and validates the address, both calls with `forwarded`;
/// returns the IP the journal wrote for the validation (as text).
async fn validate_via(app: &TestApp, forwarded: &str, email: &str) -> Option<String> {
    let c = app.client();
    let (s, body) = call_via(
        app,
        &c,
        forwarded,
        "signup",
        &signup_form(email, "Ines", "Proxy"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, mail) = app.last_mail(email).await.expect("verification mail");
    let token = token_in(&mail);
    let (s, body) = call_via(app, &c, forwarded, "verify_email", &[("jeton", &token)]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let uid = app.user_id(email).await;
    // `concat` prints text as is and an inet without its /32.
    let (ip,): (Option<String>,) = sqlx::query_as(
        "select nullif(concat(ip), '') from audit_events
          where action = 'compte.validation_email' and target_id = $1",
    )
    .bind(uid)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    ip
}

async fn failed_login(app: &TestApp, forwarded: &str, email: &str) -> (StatusCode, Value) {
    call_via(
        app,
        &app.client(),
        forwarded,
        "login",
        &[("email", email), ("password", "mauvais mot de passe")],
    )
    .await
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(|s| s.app.login_max_failures = 2).await;
    let ip = validate_via(
        &app,
        "=HYPERLINK(\"http://pirate.example\")",
        "ines@exemple.fr",
    )
    .await;
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));

    // The per-IP limit (10 × 2 failures) counts the real peer, whatever
    // address each attempt claims.
    for i in 0..20 {
        let (s, body) =
            failed_login(&app, &format!("203.0.113.{i}"), &format!("x{i}@exemple.fr")).await;
        assert_eq!(s, StatusCode::CONFLICT, "attempt {i}: {body}");
    }
    let (s, body) = failed_login(&app, "198.51.100.77", "autre@exemple.fr").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let ips: Vec<(String,)> = sqlx::query_as("select distinct concat(ip) from login_failures")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ips, vec![("127.0.0.1".to_string(),)]);
    drop(app);
}

#[tokio::test]
async fn a_6_kb_forwarded_for_leaves_the_lock_out_working() {
    let app = TestApp::spawn_with(|s| s.app.login_max_failures = 3).await;
    app.signup_verified("jeanne@exemple.fr", "Jeanne", "Martin")
        .await;
    // Random text: PostgreSQL cannot compress it under its index row limit.
    let big: String = {
        use rand::Rng;
        rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(6000)
            .map(char::from)
            .collect()
    };
    for i in 0..3 {
        let (s, body) = failed_login(&app, &big, "jeanne@exemple.fr").await;
        assert_eq!(s, StatusCode::CONFLICT, "attempt {i}: {body}");
        assert!(
            body.to_string().contains("mot de passe incorrect"),
            "{body}"
        );
    }
    assert_eq!(app.count("select count(*) from login_failures").await, 3);
    // Locked out, even with the right password.
    let (s, body) = call_via(
        &app,
        &app.client(),
        &big,
        "login",
        &[("email", "jeanne@exemple.fr"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    drop(app);
}

#[tokio::test]
async fn a_trusted_proxy_gives_the_forwarded_address() {
    let app = TestApp::spawn_with(|s| {
        s.app.trusted_proxies = app::client_ip::parse_trusted_proxies("127.0.0.1").unwrap();
        s.app.login_max_failures = 1;
    })
    .await;
    // The client, then what our proxy appended (the right-most hop).
    let ip = validate_via(&app, "6.6.6.6, 198.51.100.9", "ines@exemple.fr").await;
    assert_eq!(ip.as_deref(), Some("198.51.100.9"));
    // Not an address: the proxy itself is the client.
    let ip = validate_via(&app, "=1+1", "jules@exemple.fr").await;
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));

    // The per-IP limit (10 failures) counts each forwarded client apart.
    for i in 0..10 {
        let (s, body) = failed_login(&app, "198.51.100.9", &format!("x{i}@exemple.fr")).await;
        assert_eq!(s, StatusCode::CONFLICT, "attempt {i}: {body}");
    }
    let (s, _) = failed_login(&app, "198.51.100.9", "y@exemple.fr").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = failed_login(&app, "198.51.100.10", "y@exemple.fr").await;
    assert_eq!(s, StatusCode::CONFLICT);
    drop(app);
}

/// Migration 0009 turns the text `ip` columns into `inet`: the journal's
/// hash chain still verifies, for the rows written before and after.
#[tokio::test]
async fn the_journal_chain_verifies_across_the_inet_migration() {
    let template = std::env::var("HAB_TEST_DATABASE_URL").unwrap();
    let (base, _) = template.rsplit_once('/').unwrap();
    let name = format!("hab_t_{}_inet_migration", std::process::id());
    let admin = server::connect(&format!("{base}/postgres"), 1)
        .await
        .unwrap();
    sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("create database \"{name}\""))
        .execute(&admin)
        .await
        .unwrap();
    let pool = server::connect(&format!("{base}/{name}"), 2).await.unwrap();

    // The schema as it was before 0009.
    let all = sqlx::migrate!("../migrations");
    let mut before = sqlx::migrate!("../migrations");
    before.migrations = all
        .migrations
        .iter()
        .filter(|m| m.version < 9)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    let old = [
        Some("127.0.0.1"),
        Some("2001:db8::1"),
        Some("2001:DB8:0:0::0001"),
        Some("=HYPERLINK(\"http://pirate.example\")"),
        Some(""),
        Some("10.0.0.0/8"),
        None,
    ];
    for ip in old {
        sqlx::query(
            "insert into audit_events (action, target_type, ip) values ('essai', 'essai', $1)",
        )
        .bind(ip)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("insert into login_failures (email, ip) values ('a@exemple.fr', '127.0.0.1'), ('b@exemple.fr', $1)")
        .bind("9".repeat(2000))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(server::journal::check(&pool).await.unwrap(), Ok(7));

    all.run(&pool).await.unwrap();
    assert_eq!(server::journal::check(&pool).await.unwrap(), Ok(7));
    let ips: Vec<(Option<String>,)> =
        sqlx::query_as("select host(ip) from audit_events order by seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let ips: Vec<Option<&str>> = ips.iter().map(|(i,)| i.as_deref()).collect();
    assert_eq!(
        ips,
        [
            Some("127.0.0.1"),
            Some("2001:db8::1"),
            Some("2001:db8::1"),
            None,
            None,
            None,
            None
        ]
    );
    let failures: Vec<(Option<String>,)> =
        sqlx::query_as("select host(ip) from login_failures order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(failures, vec![(Some("127.0.0.1".into()),), (None,)]);

    // New rows (an inet) chain on and verify.
    sqlx::query("insert into audit_events (action, target_type, ip) values ('essai', 'essai', '198.51.100.9'), ('essai', 'essai', null)")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(server::journal::check(&pool).await.unwrap(), Ok(9));
    // An edited address is still detected.
    sqlx::query("alter table audit_events disable trigger audit_events_append_only")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update audit_events set ip = '198.51.100.10' where seq = 8")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        server::journal::check(&pool).await.unwrap(),
        Err(server::journal::ChainBreak::Content { seq: 8 })
    );
    pool.close().await;
    sqlx::query(&format!("drop database \"{name}\" with (force)"))
        .execute(&admin)
        .await
        .unwrap();
}
