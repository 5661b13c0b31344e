//! Server-side state handed to server functions through Leptos context.
use sqlx::PgPool;
use std::sync::Arc;

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
        }
    }
}

#[derive(Clone, Debug)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
}

pub fn state() -> AppState {
    leptos::prelude::expect_context::<AppState>()
}

pub fn pool() -> PgPool {
    state().pool
}
