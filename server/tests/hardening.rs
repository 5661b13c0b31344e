//! Holding under attack: pages always finish (no panic becomes a hang),
//! security headers on every response, and bad input is a 4xx with a
//! French message, never a 500.
mod common;
use common::*;
use reqwest::{header, StatusCode};
use std::time::Duration;

fn fiche<'a>(o: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("organisation_id", o),
        ("civilite", "M"),
        ("nom", "Durand"),
        ("prenom", "Mathieu"),
        ("email", email),
        ("email_confirmation", email),
        ("telephone", ""),
        ("telephone_confirmation", ""),
        ("poste", "sedentaire"),
    ]
}

/// A manager's client, their organisation and one agent (Mathieu Durand).
async fn structure_with_agent(app: &TestApp) -> (reqwest::Client, i64, i64) {
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let agent = app
        .create_agent(&admin, &fiche(&o, "mathieu.durand@exemple.fr"))
        .await;
    (admin, org, agent)
}

/// GET with a deadline: a page that never ends fails the test instead of
/// hanging it.
async fn get_within(c: &reqwest::Client, url: &str, secs: u64) -> (StatusCode, String) {
    let fetch = async {
        let resp = c.get(url).send().await.expect("request");
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    };
    tokio::time::timeout(Duration::from_secs(secs), fetch)
        .await
        .unwrap_or_else(|_| panic!("{url} did not finish within {secs} s"))
}

// ---------------------------------------------------------------------
// Finding 4: pages that never finish loading.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_page_with_its_roles_tab_always_finishes_loading() {
    let app = TestApp::spawn().await;
    let (admin, org, agent) = structure_with_agent(&app).await;
    let page = format!("{}/structures/{org}/agents/{agent}", app.url);
    let roles = format!("{page}?onglet=roles");
    for i in 0..200 {
        for url in [&page, &roles] {
            let (s, html) = get_within(&admin, url, 10).await;
            assert_eq!(s, StatusCode::OK, "load {i} of {url}");
            assert!(html.contains("Mathieu Durand"), "load {i} of {url}: {html}");
            // The Rôles tab itself rendered (SOFFi is activated by default).
            assert!(html.contains("SOFFi"), "load {i} of {url}: roles missing");
            assert!(
                !html.contains("erreur interne"),
                "load {i} of {url}: an error was shown"
            );
        }
    }
    drop(app);
}

/// A small application behind the same protections as the portal: a
/// handler that panics, one that never answers.
async fn guarded_toy(timeout: Duration) -> String {
    use axum::routing::{get, post};
    let toy: axum::Router = axum::Router::new()
        .route(
            "/boum",
            get(|| async {
                if true {
                    panic!("a handler panics");
                }
                "jamais"
            }),
        )
        .route(
            "/api/boum",
            post(|| async {
                if true {
                    panic!("a server function panics");
                }
                "jamais"
            }),
        )
        .route(
            "/lent",
            get(|| async {
                std::future::pending::<()>().await;
                "jamais"
            }),
        )
        .route("/ok", get(|| async { "bien" }));
    let app = server::guard::protect(toy, timeout);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_panic_in_a_page_is_a_french_500_page() {
    let url = guarded_toy(Duration::from_secs(5)).await;
    let c = reqwest::Client::new();
    let (s, html) = get_within(&c, &format!("{url}/boum"), 5).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(html.contains("Une erreur interne est survenue"), "{html}");
    assert!(html.contains("<html lang=\"fr\""), "{html}");
    // The server still answers afterwards.
    let (s, body) = get_within(&c, &format!("{url}/ok"), 5).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "bien"));
}

#[tokio::test]
async fn a_panic_in_a_server_function_is_the_json_internal_error() {
    let url = guarded_toy(Duration::from_secs(5)).await;
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/boum"))
        .form(&[("a", "b")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let err: app::error::AppError = resp.json().await.unwrap();
    assert_eq!(err, app::error::AppError::Internal);
}

#[tokio::test]
async fn a_page_that_never_ends_is_a_500_after_the_timeout() {
    let url = guarded_toy(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    let (s, html) = get_within(&reqwest::Client::new(), &format!("{url}/lent"), 20).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(html.contains("Une erreur interne est survenue"), "{html}");
    // A liveness bound: the 1 s deadline answered, the page did not hang.
    assert!(started.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------------
// Finding 8: security headers.

/// A page, a server function's answer and the "not found" page.
async fn sample_responses(app: &TestApp) -> Vec<(String, reqwest::Response)> {
    let c = app.client();
    let page = c
        .get(format!("{}/connexion", app.url))
        .send()
        .await
        .unwrap();
    let api = c
        .post(format!("{}/api/me", app.url))
        .header("accept", "application/json")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    let missing = c
        .get(format!("{}/nulle-part", app.url))
        .send()
        .await
        .unwrap();
    vec![
        ("page".into(), page),
        ("api".into(), api),
        ("404".into(), missing),
    ]
}

fn header_of(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn every_response_carries_a_strict_content_security_policy() {
    let app = TestApp::spawn().await;
    for (what, resp) in sample_responses(&app).await {
        let csp = header_of(&resp, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{what}: {directive} missing in {csp:?}"
            );
        }
        assert!(
            csp.contains("script-src 'self'") && csp.contains("'wasm-unsafe-eval'"),
            "{what}: {csp:?}"
        );
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp:?}");
    }
    drop(app);
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let app = TestApp::spawn().await;
    for (what, resp) in sample_responses(&app).await {
        assert_eq!(
            header_of(&resp, "x-content-type-options"),
            "nosniff",
            "{what}"
        );
    }
    drop(app);
}

#[tokio::test]
async fn no_response_may_be_framed() {
    let app = TestApp::spawn().await;
    for (what, resp) in sample_responses(&app).await {
        assert_eq!(header_of(&resp, "x-frame-options"), "DENY", "{what}");
    }
    drop(app);
}

#[tokio::test]
async fn every_response_keeps_the_referrer_on_the_site() {
    let app = TestApp::spawn().await;
    for (what, resp) in sample_responses(&app).await {
        assert_eq!(header_of(&resp, "referrer-policy"), "same-origin", "{what}");
    }
    drop(app);
}

#[tokio::test]
async fn authenticated_pages_and_answers_are_never_stored() {
    let app = TestApp::spawn().await;
    let (admin, org, agent) = structure_with_agent(&app).await;
    let page = admin
        .get(format!("{}/structures/{org}/agents/{agent}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header_of(&page, "cache-control"), "no-store");
    let api = admin
        .post(format!("{}/api/me", app.url))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(header_of(&api, "cache-control"), "no-store");
    for (what, resp) in sample_responses(&app).await {
        assert_eq!(header_of(&resp, "cache-control"), "no-store", "{what}");
    }
    drop(app);
}

/// The nonce the CSP announces.
fn nonce_of(csp: &str) -> String {
    let i = csp.find("'nonce-").expect("a nonce in the CSP") + 7;
    csp[i..].split('\'').next().unwrap().to_string()
}

#[tokio::test]
async fn inline_scripts_carry_the_fresh_nonce_the_policy_announces() {
    let app = TestApp::spawn().await;
    let (admin, org, agent) = structure_with_agent(&app).await;
    let mut nonces = vec![];
    for url in [
        format!("{}/connexion", app.url),
        format!("{}/structures/{org}/agents/{agent}", app.url),
    ] {
        let resp = admin.get(&url).send().await.unwrap();
        let nonce = nonce_of(&header_of(&resp, "content-security-policy"));
        assert!(nonce.len() >= 16, "{nonce}");
        let html = resp.text().await.unwrap();
        let scripts: Vec<&str> = html.split("<script").skip(1).collect();
        assert!(
            !scripts.is_empty(),
            "the hydration script is inline: {html}"
        );
        for s in scripts {
            let tag = &s[..s.find('>').unwrap()];
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{url}: a script without the nonce {nonce}: <script{tag}>"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a new nonce for every response");
    drop(app);
}

// ---------------------------------------------------------------------
// Finding 9: bad input is a 4xx with a French message.

/// POSTs a raw body to a server function.
async fn post_raw(
    app: &TestApp,
    c: &reqwest::Client,
    endpoint: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, String) {
    let resp = c
        .post(format!("{}/api/{endpoint}", app.url))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A client error whose message is French (an `AppError` in JSON).
fn assert_french_client_error(what: &str, status: StatusCode, body: &str) {
    assert!(
        status.is_client_error(),
        "{what}: expected a 4xx, got {status}: {body}"
    );
    let err: app::error::AppError = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{what}: not an AppError ({e}): {body}"));
    let message = err.to_string();
    assert!(
        !message.contains("error") && !message.contains("missing") && !message.contains("invalid"),
        "{what}: not French: {message}"
    );
}

#[tokio::test]
async fn a_body_in_invalid_utf8_is_a_400() {
    let app = TestApp::spawn().await;
    let (admin, org, _) = structure_with_agent(&app).await;
    let mut body = format!("organisation_id={org}&nom=").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, 0x41]);
    let (s, text) = post_raw(&app, &admin, "list_agents", FORM, body).await;
    assert_french_client_error("raw invalid UTF-8", s, &text);
    let body = format!("organisation_id={org}&nom=%FF%FE");
    let (s, text) = post_raw(&app, &admin, "list_agents", FORM, body).await;
    assert_french_client_error("percent-encoded invalid UTF-8", s, &text);
    drop(app);
}

#[tokio::test]
async fn a_missing_argument_is_a_400() {
    let app = TestApp::spawn().await;
    let (admin, _, _) = structure_with_agent(&app).await;
    let (s, text) = post_raw(&app, &admin, "get_agent", FORM, "user_id=1").await;
    assert_french_client_error("missing organisation_id", s, &text);
    assert!(
        text.contains("organisation_id"),
        "names the argument: {text}"
    );
    drop(app);
}

#[tokio::test]
async fn a_non_numeric_argument_is_a_400() {
    let app = TestApp::spawn().await;
    let (admin, _, agent) = structure_with_agent(&app).await;
    let body = format!("organisation_id=abc&user_id={agent}");
    let (s, text) = post_raw(&app, &admin, "get_agent", FORM, body).await;
    assert_french_client_error("non-numeric id", s, &text);
    drop(app);
}

#[tokio::test]
async fn an_id_beyond_i64_is_a_400() {
    let app = TestApp::spawn().await;
    let (admin, _, agent) = structure_with_agent(&app).await;
    let body = format!("organisation_id=99999999999999999999&user_id={agent}");
    let (s, text) = post_raw(&app, &admin, "get_agent", FORM, body).await;
    assert_french_client_error("i64 overflow", s, &text);
    drop(app);
}

#[tokio::test]
async fn a_json_body_to_a_form_endpoint_is_a_4xx() {
    let app = TestApp::spawn().await;
    let (admin, org, agent) = structure_with_agent(&app).await;
    let body = format!(r#"{{"organisation_id": {org}, "user_id": {agent}}}"#);
    let (s, text) = post_raw(&app, &admin, "get_agent", "application/json", body).await;
    assert_french_client_error("JSON body", s, &text);
    drop(app);
}

#[tokio::test]
async fn a_10_mb_body_is_a_413_in_french() {
    let app = TestApp::spawn().await;
    let (admin, org, _) = structure_with_agent(&app).await;
    let body = format!("organisation_id={org}&nom={}", "a".repeat(10 << 20));
    let (s, text) = post_raw(&app, &admin, "list_agents", FORM, body).await;
    assert_eq!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &text[..text.len().min(300)]
    );
    assert_french_client_error("10 MB body", s, &text);
    // Also when the size is not announced (chunked).
    let chunks =
        futures_util::stream::iter((0..160).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 64 << 10])));
    let (s, text) = post_raw(
        &app,
        &admin,
        "list_agents",
        FORM,
        reqwest::Body::wrap_stream(chunks),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &text[..text.len().min(300)]
    );
    assert_french_client_error("10 MB chunked body", s, &text);
    // The import accepts a larger body, but not without bound.
    let form = reqwest::multipart::Form::new()
        .text("organisation_id", org.to_string())
        .part(
            "fichier",
            reqwest::multipart::Part::bytes(vec![b'a'; 10 << 20]).file_name("agents.csv"),
        );
    let resp = admin
        .post(format!("{}/api/import_agents", app.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_french_client_error("10 MB import", s, &text);
    drop(app);
}

#[tokio::test]
async fn a_nul_byte_in_a_name_is_a_field_error() {
    let app = TestApp::spawn().await;
    let (admin, org, _) = structure_with_agent(&app).await;
    let o = org.to_string();
    let mut form = fiche(&o, "paul@exemple.fr");
    form[2] = ("nom", "Du\0rand");
    let (s, body) = app.call(&admin, "create_agent", &form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["nom"]);
    // Other control characters too, in any field.
    let (s, body) = app
        .call(
            &admin,
            "list_agents",
            &[("organisation_id", &o), ("nom", "a\u{1b}[31m")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["nom"]);
    assert_eq!(
        app.count("select count(*) from users where email = 'paul@exemple.fr'")
            .await,
        0
    );
    drop(app);
}

#[tokio::test]
async fn dates_outside_1900_2999_are_field_errors() {
    let app = TestApp::spawn().await;
    let (admin, org, _) = structure_with_agent(&app).await;
    let o = org.to_string();
    for date in ["-5000-01-01", "3500-01-01", "99999-01-01", "01/01/1850"] {
        let mut form = fiche(&o, "paul@exemple.fr");
        form.push(("date_cloture", date));
        let (s, body) = app.call(&admin, "create_agent", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {body}");
        assert_eq!(invalid_fields(&body), vec!["date_cloture"], "{date}");
        let mut form = fiche(&o, "paul@exemple.fr");
        form.push(("date_ouverture", date));
        let (s, body) = app.call(&admin, "create_agent", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {body}");
        assert_eq!(invalid_fields(&body), vec!["date_ouverture"], "{date}");
        // The journal's filters, on screen and in the export.
        let (s, body) = app
            .call(
                &admin,
                "list_journal",
                &[("organisation_id", &o), ("du", date)],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{date}: {body}");
        assert_eq!(invalid_fields(&body), vec!["du"], "{date}");
        let resp = admin
            .get(format!("{}/exports/journal.csv", app.url))
            .query(&[("organisation", o.as_str()), ("au", date)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{date}");
    }
    drop(app);
}
