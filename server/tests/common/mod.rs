//! Test harness: each test gets its own database (cloned from the migrated
//! template) and its own real HTTP server on a free loopback port.
#![allow(dead_code)]
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU32, Ordering};

pub const PASSWORD: &str = "une phrase de passe solide";
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestApp {
    pub url: String,
    pub pool: PgPool,
    /// This test's own database (a copy of the template).
    pub database: String,
}

fn template_url() -> String {
    std::env::var("HAB_TEST_DATABASE_URL")
        .expect("HAB_TEST_DATABASE_URL (the migrated template database) is set by scripts/test.sh")
}

/// The test's database goes with the value (crates.io's `TestDatabase`):
/// no test drops it by hand, and no script sweeps leftovers. `Drop` hands
/// the name to one dropping thread (a runtime of its own) and returns at
/// once: blocking the test's runtime there would deadlock PostgreSQL,
/// whose `DROP DATABASE` waits for every backend, one of which may be
/// authenticating a connection of that very runtime. At exit the process
/// waits for the drops still queued (`atexit`).
impl Drop for TestApp {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.database);
        if !name.is_empty() {
            let _ = dropper().lock().unwrap().send(DropMsg::Database(name));
        }
    }
}

enum DropMsg {
    Database(String),
    Flush(std::sync::mpsc::Sender<()>),
}

fn dropper() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<DropMsg>> {
    static DROPPER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<DropMsg>>> =
        std::sync::OnceLock::new();
    DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<DropMsg>();
        let (base, _) = template_url()
            .rsplit_once('/')
            .map(|(b, n)| (b.to_string(), n.to_string()))
            .unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            while let Ok(msg) = rx.recv() {
                match msg {
                    DropMsg::Database(name) => {
                        let dropped = rt.block_on(async {
                            let admin = server::connect(&format!("{base}/postgres"), 1).await?;
                            sqlx::query(&format!(
                                "drop database if exists \"{name}\" with (force)"
                            ))
                            .execute(&admin)
                            .await?;
                            admin.close().await;
                            Ok::<_, sqlx::Error>(())
                        });
                        if let Err(e) = dropped {
                            eprintln!("test database {name} not dropped: {e}");
                        }
                    }
                    DropMsg::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        extern "C" fn flush_at_exit() {
            let (tx, rx) = std::sync::mpsc::channel();
            if let Ok(s) = dropper().lock() {
                if s.send(DropMsg::Flush(tx)).is_ok() {
                    let _ = rx.recv_timeout(std::time::Duration::from_secs(120));
                }
            }
        }
        unsafe {
            libc::atexit(flush_at_exit);
        }
        std::sync::Mutex::new(tx)
    })
}

/// An empty database of its own (no migration applied), dropped with the
/// value like a `TestApp`'s: for the tests of a migration.
pub struct EmptyDatabase {
    pub pool: PgPool,
    name: String,
}

impl EmptyDatabase {
    pub async fn create() -> EmptyDatabase {
        let template = template_url();
        let (base, _) = template.rsplit_once('/').unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("hab_t_empty_{}_{n}", std::process::id());
        let admin = server::connect(&format!("{base}/postgres"), 1).await.unwrap();
        sqlx::query(&format!("create database \"{name}\""))
            .execute(&admin)
            .await
            .expect("create an empty test database");
        admin.close().await;
        let pool = server::connect(&format!("{base}/{name}"), 5).await.unwrap();
        EmptyDatabase { pool, name }
    }
}

impl Drop for EmptyDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        if !name.is_empty() {
            let _ = dropper().lock().unwrap().send(DropMsg::Database(name));
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut server::Settings)) -> TestApp {
        let template = template_url();
        let (_, template_name) = template.rsplit_once('/').unwrap();
        Self::spawn_copy_of(template_name, tweak).await
    }

    /// A server on a copy of `template_name` (the migrated template, or a
    /// fixture database whose connections are all closed).
    pub async fn spawn_copy_of(
        template_name: &str,
        tweak: impl FnOnce(&mut server::Settings),
    ) -> TestApp {
        let template = template_url();
        let (base, _) = template.rsplit_once('/').unwrap();
        let name = format!(
            "hab_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            chrono::Utc::now().timestamp_micros() % 1_000_000
        );
        let admin = server::connect(&format!("{base}/postgres"), 1)
            .await
            .expect("admin connection");
        // A closed pool's backends may take a moment to go; one that
        // lingers on the template is ended (nobody else may use it).
        let mut attempt = 0;
        loop {
            match sqlx::query(&format!(
                "create database \"{name}\" template \"{template_name}\""
            ))
            .execute(&admin)
            .await
            {
                Ok(_) => break,
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("55006") && attempt < 50 =>
                {
                    attempt += 1;
                    let who: Vec<(Option<String>, Option<String>, Option<String>)> =
                        sqlx::query_as(
                            "select application_name, state, left(query, 120) from pg_stat_activity
                          where datname = $1 and pid <> pg_backend_pid()",
                        )
                        .bind(template_name)
                        .fetch_all(&admin)
                        .await
                        .unwrap_or_default();
                    eprintln!("template {template_name} in use (attempt {attempt}): {who:?}");
                    sqlx::query(
                        "select pg_terminate_backend(pid) from pg_stat_activity
                          where datname = $1 and pid <> pg_backend_pid()",
                    )
                    .bind(template_name)
                    .execute(&admin)
                    .await
                    .expect("end the template's sessions");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        admin.close().await;
        let database_url = format!("{base}/{name}");
        let pool = server::connect(&database_url, 10).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let mut settings = server::Settings {
            database_url,
            bind: addr.to_string(),
            app: app::state::Config {
                public_url: url.clone(),
                dev_mailbox: true,
                ..Default::default()
            },
            secure_cookies: false,
            smtp_url: None,
            mail_from: "Habilitations <no-reply@test.local>".into(),
            site_root: "target/site".into(),
        };
        tweak(&mut settings);
        let router = server::router(pool.clone(), &settings);
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .unwrap();
        });
        TestApp {
            url,
            pool,
            database: name,
        }
    }

    pub fn client(&self) -> Client {
        Client::builder().cookie_store(true).build().unwrap()
    }

    /// Calls a server function the way a browser form does (URL-encoded POST).
    pub async fn call(
        &self,
        client: &Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let resp = client
            .post(format!("{}/api/{endpoint}", self.url))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    /// The newest email sent to `to`: (subject, body).
    pub async fn last_mail(&self, to: &str) -> Option<(String, String)> {
        sqlx::query_as(
            "select subject, body from outbox where to_email = $1 order by id desc limit 1",
        )
        .bind(to)
        .fetch_optional(&self.pool)
        .await
        .unwrap()
    }

    pub async fn mail_count(&self, to: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as("select count(*) from outbox where to_email = $1")
            .bind(to)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        n
    }

    /// Signs up through the real server function and follows the link.
    pub async fn signup_verified(&self, email: &str, prenom: &str, nom: &str) -> i64 {
        let c = self.client();
        let (status, body) = self
            .call(&c, "signup", &signup_form(email, prenom, nom))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, mail) = self.last_mail(email).await.expect("verification mail");
        let token = token_in(&mail);
        let (status, body) = self.call(&c, "verify_email", &[("jeton", &token)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.user_id(email).await
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as("select id from users where email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        id
    }

    /// A logged-in client for an existing account.
    pub async fn login(&self, email: &str) -> Client {
        let c = self.client();
        let (status, body) = self
            .call(&c, "login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        c
    }

    /// A verified user, logged in, primary manager of a fresh organisation
    /// registered from the SIRENE extract.
    pub async fn manager_of(&self, email: &str, siret: &str) -> (Client, i64, i64) {
        let uid = self.signup_verified(email, "Marie", "Gestionnaire").await;
        let c = self.login(email).await;
        let (status, body) = self
            .call(&c, "register_organisation", &[("siret", siret)])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (c, uid, body.as_i64().unwrap())
    }

    /// A logged-in operator (of the public service).
    pub async fn operator(&self, email: &str) -> Client {
        let uid = self.signup_verified(email, "Olivia", "Operatrice").await;
        sqlx::query("update users set is_operator = true where id = $1")
            .bind(uid)
            .execute(&self.pool)
            .await
            .unwrap();
        self.login(email).await
    }

    pub async fn role_id(&self, app: &str, role: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as(
            "select r.id from roles r join applications a on a.id = r.application_id where a.code = $1 and r.code = $2",
        )
        .bind(app)
        .bind(role)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        id
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.pool).await.unwrap();
        n
    }

    /// "Créer un utilisateur" through the real server function. Its answer
    /// is the invited address, never an id (the same whether or not the
    /// address has an account); the account's id is looked up by email.
    /// For an existing account nothing is attached yet: see `accept_join`.
    pub async fn create_agent(&self, client: &Client, form: &[(&str, &str)]) -> i64 {
        let (status, body) = self.call(client, "create_agent", form).await;
        assert_eq!(status, StatusCode::OK, "create_agent: {body}");
        let email = form
            .iter()
            .find(|(k, _)| *k == "email")
            .map(|(_, v)| v.trim().to_lowercase())
            .expect("an email in the form");
        assert_eq!(
            body["email"],
            Value::String(email.clone()),
            "create_agent answers with the invited address"
        );
        self.user_id(&email).await
    }

    /// An account created by the structure (`create_agent` for a new
    /// address), whose owner followed the mailed link and chose
    /// `PASSWORD`. Returns its id and the owner's signed-in client.
    pub async fn structure_account(
        &self,
        manager: &Client,
        organisation_id: i64,
        email: &str,
        prenom: &str,
        nom: &str,
    ) -> (i64, Client) {
        let o = organisation_id.to_string();
        let uid = self
            .create_agent(manager, &agent_form(&o, email, prenom, nom))
            .await;
        let (subject, mail) = self.last_mail(email).await.expect("invitation mail");
        assert!(subject.contains("créé"), "{subject}");
        let c = self.client();
        let (status, body) = self
            .call(
                &c,
                "accept_invitation",
                &[
                    ("jeton", &token_in(&mail)),
                    ("password", PASSWORD),
                    ("password_confirmation", PASSWORD),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "accept_invitation: {body}");
        (uid, c)
    }

    /// The invited person, signed in as `person`, finds the invitation of
    /// `organisation_id` in "Mes structures" (`my_invitations`) and accepts
    /// it (`answer_join_invitation`). Returns the invitation's id.
    pub async fn accept_join(&self, person: &Client, organisation_id: i64) -> i64 {
        let (siret,): (String,) = sqlx::query_as("select siret from organisations where id = $1")
            .bind(organisation_id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let (status, list) = self.call(person, "my_invitations", &[]).await;
        assert_eq!(status, StatusCode::OK, "my_invitations: {list}");
        let id = list
            .as_array()
            .expect("a list of invitations")
            .iter()
            .find(|i| i["siret"] == siret.as_str())
            .unwrap_or_else(|| panic!("no open invitation of {organisation_id}: {list}"))["id"]
            .as_i64()
            .unwrap();
        let (status, body) = self
            .call(
                person,
                "answer_join_invitation",
                &[("invitation_id", &id.to_string()), ("reponse", "accepter")],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "answer_join_invitation: {body}");
        id
    }

    /// « Importer des utilisateurs »: posts a CSV file as `c` (checked
    /// only, or applied with `confirm`), as the browser's form does.
    pub async fn import_agents(
        &self,
        c: &Client,
        org: i64,
        bytes: Vec<u8>,
        confirm: bool,
    ) -> (StatusCode, Value) {
        use reqwest::multipart::{Form, Part};
        let form = Form::new()
            .text("organisation_id", org.to_string())
            .text("confirmer", if confirm { "1" } else { "0" })
            .part(
                "fichier",
                Part::bytes(bytes)
                    .file_name("agents.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            );
        let resp = c
            .post(format!("{}/api/import_agents", self.url))
            .header("Origin", &self.url)
            .header("Accept", "application/json")
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Is the user attached to the organisation (0 or 1)?
    pub async fn memberships(&self, user_id: i64, organisation_id: i64) -> i64 {
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from memberships where user_id = $1 and organisation_id = $2",
        )
        .bind(user_id)
        .bind(organisation_id)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        n
    }
}

/// A complete "Créer un utilisateur" form (every fiche field is required,
/// for a new address as for one that already has an account).
pub fn agent_form<'a>(
    organisation_id: &'a str,
    email: &'a str,
    prenom: &'a str,
    nom: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("organisation_id", organisation_id),
        ("civilite", "M"),
        ("nom", nom),
        ("prenom", prenom),
        ("email", email),
        ("email_confirmation", email),
    ]
}

pub fn signup_form<'a>(email: &'a str, prenom: &'a str, nom: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("civilite", "Mme"),
        ("nom", nom),
        ("prenom", prenom),
        ("email", email),
        ("email_confirmation", email),
        ("telephone", ""),
        ("telephone_confirmation", ""),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ]
}

/// The 64-hex-digit token of the link in a mail body.
pub fn token_in(body: &str) -> String {
    let i = body.find("jeton=").expect("a link with a token") + 6;
    body[i..i + 64].to_string()
}

/// The field names of an `Invalid` error body.
pub fn invalid_fields(body: &Value) -> Vec<String> {
    body["Invalid"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub const AFDAS: &str = "78471400800165";
pub const SAINT_MALO: &str = "95822412300157";
pub const MEGALIS: &str = "46913810100321";
pub const CLOSED: &str = "66306997900297";
