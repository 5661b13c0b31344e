//! Wiring: configuration, database, sessions, router, mail worker.
pub mod bench;
pub mod exports;
pub mod generate;
pub mod guard;
pub mod journal;
pub mod mailer;
pub mod seed;

use app::state::{AppState, Config};
use axum::{
    body::Body,
    extract::Request,
    http::{header, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

/// Everything the server reads from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub app: Config,
    pub secure_cookies: bool,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub site_root: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let database_url = var("DATABASE_URL").ok_or("DATABASE_URL n'est pas défini")?;
        let bind = var("LEPTOS_SITE_ADDR")
            .or(var("HAB_BIND"))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let public_url = var("HAB_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        let flag = |k: &str, default: bool| {
            var(k)
                .map(|v| matches!(v.as_str(), "1" | "true" | "yes"))
                .unwrap_or(default)
        };
        let num = |k: &str, default: i64| var(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        let trusted_proxies =
            app::client_ip::parse_trusted_proxies(&var("HAB_TRUSTED_PROXIES").unwrap_or_default())?;
        // `1` shows the development mailbox to operators; `public` to
        // anyone (the end-to-end tests' server only).
        let dev_mailbox_public = var("HAB_DEV_MAILBOX").as_deref() == Some("public");
        Ok(Settings {
            database_url,
            secure_cookies: flag("HAB_SECURE_COOKIES", public_url.starts_with("https://")),
            app: Config {
                public_url,
                dev_mailbox: dev_mailbox_public || flag("HAB_DEV_MAILBOX", false),
                dev_mailbox_public,
                login_max_failures: num("HAB_LOGIN_MAX_FAILURES", 5),
                login_window_minutes: num("HAB_LOGIN_WINDOW_MINUTES", 15),
                trusted_proxies,
                page_timeout_seconds: num("HAB_PAGE_TIMEOUT_SECONDS", 15).max(1) as u64,
            },
            bind,
            smtp_url: var("SMTP_URL"),
            mail_from: var("MAIL_FROM")
                .unwrap_or_else(|| "Habilitations <no-reply@habilitations.localhost>".into()),
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
        })
    }
}

pub async fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new().max_connections(max).connect(url).await
}

/// Applies the project's migrations and the session store's table.
pub async fn migrate(pool: &PgPool) -> Result<(), Box<dyn std::error::Error>> {
    sqlx::migrate!("../migrations").run(pool).await?;
    PostgresStore::new(pool.clone()).migrate().await?;
    Ok(())
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("habilitations")
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(
            settings
                .bind
                .parse::<std::net::SocketAddr>()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 3000).into()),
        )
        .build()
}

/// The whole HTTP application: pages, server functions, static files.
pub fn router(pool: PgPool, settings: &Settings) -> Router {
    // Before Leptos installs its own: the request's state follows the
    // tasks spawned to render its page.
    app::state::install_executor();
    let state = AppState {
        pool: pool.clone(),
        config: Arc::new(settings.app.clone()),
    };
    app::state::register(&state);
    let options = leptos_options(settings);
    let routes = generate_route_list(app::App);
    let store = PostgresStore::new(pool);
    let sessions = SessionManagerLayer::new(store)
        .with_name("hab_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(8)));
    let public_url = settings.app.public_url.clone();
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            guard::provide_request_nonce();
        }
    };
    let app = Router::new()
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .merge(exports::routes(state.clone()))
        .merge(static_files(&settings.site_root))
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context,
            app::shell,
        ))
        .layer(middleware::from_fn(api_status))
        .layer(sessions)
        .layer(middleware::from_fn(move |req, next| {
            same_origin(public_url.clone(), req, next)
        }))
        .layer(middleware::from_fn(
            move |req: Request<Body>, next: Next| app::state::scope(state.clone(), next.run(req)),
        ));
    let page_timeout = std::time::Duration::from_secs(settings.app.page_timeout_seconds);
    guard::protect(app, page_timeout).with_state(options)
}

/// The WebAssembly bundle and the DSFR, served by their own service rather
/// than through the pages' fallback (`file_and_error_handler`), which
/// answers every status but 200 (a 304 to a conditional request, a read
/// error) with the rendered « page introuvable » and a 404 — what a browser
/// loading a WebAssembly chunk cannot tell from a missing file. Here a
/// conditional request gets its 304, a file precompressed at build time
/// (`.br`, `.gz`) is sent to the browsers that accept it, and a failure
/// keeps its status (logged by `guard::security_headers`).
fn static_files<S: Clone + Send + Sync + 'static>(site_root: &str) -> Router<S> {
    use tower_http::services::ServeDir;
    let dir = |sub: &str| {
        ServeDir::new(format!("{site_root}/{sub}"))
            .precompressed_br()
            .precompressed_gzip()
    };
    Router::new()
        .nest_service("/pkg", dir("pkg"))
        .nest_service("/dsfr", dir("dsfr"))
}

/// Refuses state-changing requests sent by another site (CSRF). Browsers
/// always send Origin (or Sec-Fetch-Site) on POST; other clients have no
/// ambient cookies to abuse.
async fn same_origin(public_url: String, req: Request<Body>, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let headers = req.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let allowed = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            Some(origin) => {
                origin == public_url.trim_end_matches('/')
                    || origin
                        .split_once("://")
                        .map(|(_, rest)| rest == host)
                        .unwrap_or(false)
            }
            None => !matches!(
                headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
                Some("cross-site") | Some("same-site")
            ),
        };
        if !allowed {
            tracing::warn!(uri = %req.uri(), "cross-origin request refused");
            return (
                StatusCode::FORBIDDEN,
                "Requête d'une autre origine refusée.",
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// Server functions answer every error with 500; give API clients the
/// status that matches the error (401, 403, 404, 409, 422, 429).
async fn api_status(req: Request<Body>, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    if !is_api || resp.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status = err.status();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Starts background work every instance runs: mail delivery and the
/// clean-up of expired sessions.
pub fn spawn_workers(pool: PgPool, settings: &Settings) {
    tokio::spawn(mailer::run(
        pool.clone(),
        settings.smtp_url.clone(),
        settings.mail_from.clone(),
    ));
    let store = PostgresStore::new(pool);
    tokio::spawn(async move {
        use tower_sessions::session_store::ExpiredDeletion;
        let _ = store
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600))
            .await;
    });
}
