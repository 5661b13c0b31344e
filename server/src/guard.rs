//! The protections every request and response goes through:
//! - security headers, with the nonce that the page's inline scripts carry;
//! - a panic becomes a logged 500 (a French page, or the JSON
//!   `AppError::Internal` of a server function), never a dropped connection;
//! - a page not rendered in time becomes a logged 500, never a hang;
//! - request bodies: a size limit on every endpoint (413), and the
//!   server functions' forms read once, in linear time, refusing invalid
//!   UTF-8 (400) and control characters (a 422 naming the field).
use app::error::{AppError, FieldError, TOO_LARGE};
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{Html, IntoResponse, Response},
    Router,
};
use futures_util::FutureExt;
use std::{panic::AssertUnwindSafe, time::Duration};

/// The largest body of a server function called with a form.
pub const FORM_LIMIT: usize = 64 * 1024;
/// The largest body of the import (the file plus the other fields).
pub const IMPORT_LIMIT: usize = app::import::MAX_BYTES + 64 * 1024;
const IMPORT_PATH: &str = "/api/import_agents";
const FORM: &str = "application/x-www-form-urlencoded";

/// Wraps `router` in the protections, outermost first: headers, panics,
/// the page deadline, the body checks.
pub fn protect<S>(router: Router<S>, page_timeout: Duration) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    // `cargo leptos watch` reloads the page through a WebSocket on
    // another port.
    let live_reload = std::env::var("LEPTOS_WATCH").is_ok();
    router
        .layer(middleware::from_fn(check_body))
        .layer(middleware::from_fn(move |req, next| {
            page_deadline(page_timeout, req, next)
        }))
        .layer(middleware::from_fn(catch_panics))
        .layer(middleware::from_fn(move |req, next| {
            security_headers(live_reload, req, next)
        }))
}

// ---------------------------------------------------------------------
// Security headers.

/// The nonce of this request's inline scripts, announced by its CSP.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Gives Leptos the request's nonce (called where the app's context is
/// provided): the hydration and resource scripts carry it.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<http::request::Parts>() {
        if let Some(n) = parts.extensions.get::<CspNonce>() {
            provide_context(leptos::nonce::Nonce::from_value(n.0.as_str()));
        }
    }
}

fn content_security_policy(nonce: &str, live_reload: bool) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'{}; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        if live_reload { " ws: wss:" } else { "" }
    )
}

/// Static files (the WASM bundle, the DSFR) may be cached; everything else
/// may hold personal data and is never stored.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/dsfr/")
}

async fn security_headers(live_reload: bool, mut req: Request, next: Next) -> Response {
    let nonce: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let cacheable = is_static(req.uri().path());
    let path = cacheable.then(|| req.uri().path().to_string());
    let mut resp = next.run(req).await;
    if let Some(path) = path {
        let status = resp.status();
        // A static file the browser could not get leaves the page
        // unhydrated: always worth a line in the log.
        if !status.is_success() && status != StatusCode::NOT_MODIFIED {
            tracing::warn!(%path, %status, "static file not served");
        }
    }
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(&nonce, live_reload)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !cacheable {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

// ---------------------------------------------------------------------
// Panics and stuck pages.

const ERROR_PAGE: &str = r#"<!DOCTYPE html>
<html lang="fr" data-fr-scheme="light">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Erreur — Habilitations</title>
<link rel="stylesheet" href="/dsfr/dsfr.min.css"/>
</head>
<body>
<main id="contenu" class="fr-container fr-my-6w">
<h1>Erreur</h1>
<p>Une erreur interne est survenue. Réessayez plus tard.</p>
<p><a class="fr-link" href="/">Retour à mes démarches</a></p>
</main>
</body>
</html>
"#;

/// An error in the form its caller reads: JSON for server functions.
fn app_error(e: AppError) -> Response {
    let body = serde_json::to_string(&e).unwrap_or_else(|_| "\"Internal\"".into());
    (
        e.status(),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn internal_error(path: &str) -> Response {
    if path.starts_with("/api/") {
        app_error(AppError::Internal)
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, Html(ERROR_PAGE)).into_response()
    }
}

async fn catch_panics(req: Request, next: Next) -> Response {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(resp) => resp,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%method, %uri, panic = %what, "panic while answering a request");
            internal_error(uri.path())
        }
    }
}

/// Pages are rendered whole before they are sent (async SSR): one that is
/// not ready in time is answered with the error page. Server functions
/// (an import may be long) are not cut.
///
/// Leptos 0.8's `<Suspense>` may, rarely and under load, never see that
/// its resources have loaded (a lost wake-up fixed upstream after 0.8.23):
/// a page not ready after a third of the deadline is rendered once more
/// (a GET has no body to keep), then the deadline answers.
async fn page_deadline(limit: Duration, req: Request, next: Next) -> Response {
    let page = matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.uri().path().starts_with("/api/");
    if !page {
        return next.run(req).await;
    }
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let (parts, body) = req.into_parts();
    let again = Request::from_parts(parts.clone(), Body::empty());
    let first = (limit / 3).max(Duration::from_secs(1)).min(limit);
    let first_try = next.clone().run(Request::from_parts(parts, body));
    if let Ok(resp) = tokio::time::timeout(first, first_try).await {
        return resp;
    }
    tracing::warn!(%method, %uri, seconds = first.as_secs_f32(), "page not rendered in time: rendered again");
    match tokio::time::timeout(limit.saturating_sub(first), next.run(again)).await {
        Ok(resp) => resp,
        Err(_) => {
            tracing::error!(%method, %uri, seconds = limit.as_secs_f32(), "page not rendered in time");
            internal_error(uri.path())
        }
    }
}

// ---------------------------------------------------------------------
// Request bodies.

fn too_large(api: bool, import: bool) -> Response {
    if import {
        app_error(AppError::TooLarge(
            "Le fichier dépasse 2 Mo : découpez-le en plusieurs fichiers.".into(),
        ))
    } else if api {
        app_error(AppError::TooLarge(TOO_LARGE.into()))
    } else {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            TOO_LARGE,
        )
            .into_response()
    }
}

fn bad_request(message: impl Into<String>) -> Response {
    app_error(AppError::BadRequest(message.into()))
}

fn is_length_limit(e: &axum::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
}

/// A page whose address cannot be read (a control character or invalid
/// UTF-8 in its query string): a French 400 page naming the parameter,
/// before anything reaches a query.
fn bad_address(e: &AppError) -> Response {
    let detail = match e {
        AppError::Invalid(fields) => fields
            .iter()
            .map(|f| format!("« {} » : {}", escape(&f.field), escape(&f.message)))
            .collect::<Vec<_>>()
            .join(" "),
        other => escape(&other.to_string()),
    };
    let page = ERROR_PAGE
        .replace(
            "<title>Erreur — Habilitations</title>",
            "<title>Adresse invalide — Habilitations</title>",
        )
        .replace("<h1>Erreur</h1>", "<h1>Adresse invalide</h1>")
        .replace(
            "<p>Une erreur interne est survenue. Réessayez plus tard.</p>",
            &format!("<p>L'adresse de cette page contient un paramètre illisible. {detail}</p>"),
        );
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn check_body(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let api = path.starts_with("/api/");
    // The address's parameters are read like a form's fields (issue 17):
    // a NUL in a filter never reaches PostgreSQL.
    if let Some(query) = req.uri().query() {
        if let Err(e) = check_form(query.as_bytes()) {
            tracing::info!(method = %req.method(), uri = %req.uri(), error = %e, "address refused");
            return if api { app_error(e) } else { bad_address(&e) };
        }
    }
    let import = path == IMPORT_PATH;
    let limit = if import { IMPORT_LIMIT } else { FORM_LIMIT };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        tracing::warn!(method = %req.method(), uri = %req.uri(), declared, "request body over the limit");
        return too_large(api, import);
    }
    let (parts, body) = req.into_parts();
    if !api {
        // Pages and exports read no body: it is not buffered, only bounded.
        let body = Body::new(http_body_util::Limited::new(body, limit));
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => {
            tracing::warn!(method = %parts.method, uri = %parts.uri, "request body over the limit");
            return too_large(true, import);
        }
        Err(e) => {
            tracing::warn!(method = %parts.method, uri = %parts.uri, error = %e, "unreadable request body");
            return bad_request("Requête mal formée : le corps de la requête n'a pas pu être lu.");
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if import {
        if !content_type.starts_with("multipart/form-data") {
            return bad_request("Requête mal formée : le fichier doit être envoyé par un formulaire (multipart/form-data).");
        }
    } else {
        if !(content_type.starts_with(FORM) || (content_type.is_empty() && bytes.is_empty())) {
            return bad_request(
                "Requête mal formée : les données doivent être envoyées comme un formulaire (application/x-www-form-urlencoded).",
            );
        }
        if let Err(e) = check_form(&bytes) {
            tracing::info!(method = %parts.method, uri = %parts.uri, error = %e, "form refused");
            return app_error(e);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Control characters have no place in typed text (PostgreSQL refuses NUL),
/// except tab and line breaks.
fn forbidden(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// One percent-decoded part of a form (`+` is a space).
fn decode(raw: &[u8]) -> Result<String, std::string::FromUtf8Error> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_encoding::percent_decode(&spaced).collect())
}

/// Reads a URL-encoded form once: each name and value must be UTF-8, and no
/// value may hold a control character (the fields at fault are named).
pub fn check_form(body: &[u8]) -> Result<(), AppError> {
    let mut bad: Vec<FieldError> = vec![];
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let name = decode(k)
            .ok()
            .filter(|n| !n.chars().any(char::is_control))
            .ok_or_else(|| {
                AppError::BadRequest("Requête mal formée : un nom de champ est illisible.".into())
            })?;
        let value = decode(v).map_err(|_| {
            AppError::BadRequest(format!(
                "Requête mal formée : le champ « {name} » n'est pas encodé en UTF-8."
            ))
        })?;
        if value.chars().any(forbidden) && !bad.iter().any(|e| e.field == name) {
            bad.push(FieldError {
                field: name,
                message: "Ce champ contient un caractère de contrôle non autorisé.".into(),
            });
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(bad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_checked_field_by_field() {
        assert!(check_form(b"").is_ok());
        assert!(check_form(b"nom=Dupont&commentaire=deux%0D%0Alignes%09ici&x").is_ok());
        assert!(check_form("nom=%C3%89lodie+Zo%C3%A9".as_bytes()).is_ok());
        let e = check_form(b"nom=Du%00rand&prenom=ok&poste=%1B").unwrap_err();
        let fields: Vec<_> = match e {
            AppError::Invalid(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields, ["nom", "poste"]);
        assert!(matches!(
            check_form(b"nom=%FF%FE"),
            Err(AppError::BadRequest(m)) if m.contains("« nom »")
        ));
        assert!(matches!(
            check_form(b"n%00m=x"),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            check_form(&[b'a', b'=', 0xff]),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn the_policy_announces_the_nonce_and_forbids_framing() {
        let csp = content_security_policy("abc", false);
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("ws:"));
        assert!(content_security_policy("abc", true).contains("connect-src 'self' ws: wss:"));
    }
}
