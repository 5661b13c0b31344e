//! Server-side state of server functions: the pool and the configuration.
//!
//! Server functions reach it by a path that cannot be missing while a
//! request is handled: a task-local value set around every request by the
//! server's router ([`scope`]) and carried into every task Leptos spawns for
//! that request (the resources of a page rendered on the server) by the
//! executor of [`install_executor`]. The reactive context (which a disposed
//! owner loses) and a process-wide handle (when exactly one application is
//! served) are fallbacks; when all are missing, [`try_state`] answers
//! `AppError::Internal` and [`state`] a pool that refuses every query, so a
//! server function fails with a logged error instead of a panic.
use crate::error::{AppError, AppResult};
use sqlx::PgPool;
use std::future::Future;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL used in emailed links, e.g. `http://127.0.0.1:3000`.
    pub public_url: String,
    /// Shows `/dev/mailbox` to operators (development and tests only).
    pub dev_mailbox: bool,
    /// Failed logins allowed per email within the window before refusal.
    pub login_max_failures: i64,
    /// Window of the login failure counter, in minutes.
    pub login_window_minutes: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed
    /// (`HAB_TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: Vec<crate::client_ip::IpRange>,
    /// Shows `/dev/mailbox` to anyone, not only to operators: the
    /// end-to-end tests' server only (`HAB_DEV_MAILBOX=public`).
    pub dev_mailbox_public: bool,
    /// A page not rendered within this many seconds is answered with an
    /// error page (a stuck render must not hold the connection forever).
    pub page_timeout_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://127.0.0.1:3000".into(),
            dev_mailbox: false,
            login_max_failures: 5,
            login_window_minutes: 15,
            trusted_proxies: vec![],
            dev_mailbox_public: false,
            page_timeout_seconds: 15,
        }
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
}

tokio::task_local! {
    static CURRENT: AppState;
}

/// Runs `f` (the handling of one request) with `state` as the state of
/// every server function it calls, including in the tasks it spawns
/// through Leptos once [`install_executor`] has run.
pub async fn scope<F: Future>(state: AppState, f: F) -> F::Output {
    CURRENT.scope(state, f).await
}

/// Leptos' executor on tokio, except that a task spawned while a request
/// is handled keeps that request's state.
struct Propagating;

impl any_spawner::CustomExecutor for Propagating {
    fn spawn(&self, fut: any_spawner::PinnedFuture<()>) {
        match CURRENT.try_with(AppState::clone) {
            Ok(state) => drop(tokio::spawn(CURRENT.scope(state, fut))),
            Err(_) => drop(tokio::spawn(fut)),
        }
    }

    fn spawn_local(&self, fut: any_spawner::PinnedLocalFuture<()>) {
        match CURRENT.try_with(AppState::clone) {
            Ok(state) => drop(tokio::task::spawn_local(CURRENT.scope(state, fut))),
            Err(_) => drop(tokio::task::spawn_local(fut)),
        }
    }

    fn poll_local(&self) {}
}

/// Installs the executor of Leptos' tasks (once per process, before Leptos
/// installs its own). Returns false if another executor was already set.
pub fn install_executor() -> bool {
    let ok = any_spawner::Executor::init_custom_executor(Propagating).is_ok();
    if !ok && !INSTALLED.load(std::sync::atomic::Ordering::SeqCst) {
        tracing::warn!(
            "another executor was installed first: request state may not reach spawned tasks"
        );
    }
    INSTALLED.store(true, std::sync::atomic::Ordering::SeqCst);
    ok
}

static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The applications served by this process: (how many, the first one).
static SERVED: Mutex<(usize, Option<AppState>)> = Mutex::new((0, None));

/// Records an application served by this process: when it is the only one,
/// it is the state of code that runs outside any request.
pub fn register(state: &AppState) {
    let mut served = SERVED.lock().unwrap_or_else(|e| e.into_inner());
    served.0 += 1;
    if served.1.is_none() {
        served.1 = Some(state.clone());
    }
}

fn only_served() -> Option<AppState> {
    let served = SERVED.lock().unwrap_or_else(|e| e.into_inner());
    match *served {
        (1, Some(ref s)) => Some(s.clone()),
        _ => None,
    }
}

/// The state of the current request.
pub fn try_state() -> AppResult<AppState> {
    if let Ok(s) = CURRENT.try_with(AppState::clone) {
        return Ok(s);
    }
    if let Some(s) = leptos::prelude::use_context::<AppState>() {
        return Ok(s);
    }
    if let Some(s) = only_served() {
        return Ok(s);
    }
    tracing::error!(
        "application state unavailable: no request scope, no context, several applications"
    );
    Err(AppError::Internal)
}

/// The state of the current request; never panics (see the module's note).
pub fn state() -> AppState {
    try_state().unwrap_or_else(|_| unavailable())
}

pub fn pool() -> PgPool {
    state().pool
}

/// A state whose pool refuses every query at once (no connection is ever
/// attempted to a real server): the caller's query fails, which server
/// functions turn into `AppError::Internal`.
fn unavailable() -> AppState {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(std::time::Duration::from_millis(50))
        .connect_lazy_with(PgConnectOptions::new().socket("/nonexistent/habilitations-sans-etat"));
    AppState {
        pool,
        config: Arc::new(Config::default()),
    }
}

/// The caller's IP (`X-Forwarded-For` only from a trusted proxy, see
/// `client_ip`): for the journal and the per-IP login limit.
pub async fn client_ip() -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip());
    let trusted = state().config.trusted_proxies.clone();
    if trusted.is_empty() {
        return peer.map(|p| p.to_canonical());
    }
    let headers = leptos_axum::extract::<http::HeaderMap>()
        .await
        .unwrap_or_default();
    let values = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    crate::client_ip::resolve(peer, values, &trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_state(url: &str) -> AppState {
        AppState {
            pool: PgPool::connect_lazy(url).unwrap(),
            config: Arc::new(Config {
                public_url: url.into(),
                ..Config::default()
            }),
        }
    }

    #[tokio::test]
    async fn without_any_request_the_state_is_an_error_not_a_panic() {
        assert_eq!(try_state().unwrap_err(), AppError::Internal);
        // The pool of the fallback refuses queries: a logged 500, no hang.
        let refused = sqlx::query("select 1").execute(&pool()).await;
        assert!(refused.is_err());
    }

    #[tokio::test]
    async fn a_request_scope_reaches_the_tasks_it_spawns() {
        install_executor();
        let st = some_state("postgres://u@localhost/a");
        let seen = scope(st, async {
            let (tx, rx) = tokio::sync::oneshot::channel();
            any_spawner::Executor::spawn(async move {
                let _ = tx.send(try_state().map(|s| s.config.public_url.clone()));
            });
            rx.await.unwrap()
        })
        .await;
        assert_eq!(seen.unwrap(), "postgres://u@localhost/a");
    }
}
