//! Outgoing mail: queued in the outbox inside the change's transaction, and
//! the development mailbox page that shows what was sent.
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr {
    use sqlx::PgConnection;

    pub const SIGNATURE: &str = "Cordialement,\n\nL'équipe Habilitations\n\nCe message est envoyé par un automate, merci de ne pas y répondre : votre réponse ne pourra pas être traitée.";

    /// Queues a message; it leaves only if the surrounding transaction commits.
    pub async fn enqueue(
        conn: &mut PgConnection,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "insert into outbox (to_email, subject, body) values ($1, $2, $3)",
            to,
            subject,
            format!("Bonjour,\n\n{body}\n\n{SIGNATURE}"),
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    pub fn link(path: &str) -> String {
        format!(
            "{}{}",
            crate::state::state()
                .config
                .public_url
                .trim_end_matches('/'),
            path
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
    pub sent: bool,
}

/// Development mailbox: every queued message, newest first. It shows every
/// reset and invitation link, so it exists only when the server runs with
/// the development mailbox on, and then only for an operator (or for
/// anyone on the end-to-end tests' server, `HAB_DEV_MAILBOX=public`).
/// Anyone else gets "not found", as if it did not exist.
#[server(endpoint = "dev_mailbox", output = crate::json::Json)]
pub async fn dev_mailbox(to: String) -> AppResult<Vec<Message>> {
    use crate::error::AppError;
    let st = crate::state::state();
    if !st.config.dev_mailbox {
        return Err(AppError::NotFound);
    }
    if !st.config.dev_mailbox_public && crate::session::require_operator().await.is_err() {
        return Err(AppError::NotFound);
    }
    let rows = sqlx::query!(
        r#"select id, to_email, subject, body, created_at as "created_at: chrono::DateTime<chrono::Utc>",
                  sent_at is not null as "sent!" from outbox
          where $1 = '' or to_email = lower($1) order by id desc limit 100"#,
        to.trim(),
    )
    .fetch_all(&st.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Message {
            id: r.id,
            to_email: r.to_email,
            subject: r.subject,
            body: r.body,
            created_at: r.created_at.format("%d/%m/%Y %H:%M:%S").to_string(),
            sent: r.sent,
        })
        .collect())
}

/// Splits a body into text and links so that links are clickable.
fn linkify(body: &str) -> impl IntoView {
    body.split('\n')
        .map(|line| {
            let parts = line
                .split(' ')
                .map(|w| {
                    if w.starts_with("http://") || w.starts_with("https://") {
                        view! { <a href=w.to_string()>{w.to_string()}</a> " " }.into_any()
                    } else {
                        format!("{w} ").into_any()
                    }
                })
                .collect::<Vec<_>>();
            view! { {parts} <br/> }
        })
        .collect::<Vec<_>>()
}

#[component]
pub fn MailboxPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let to = move || query.get().get("a").unwrap_or_default();
    let messages = Resource::new(to, dev_mailbox);
    view! {
        <Suspense fallback=crate::ui::loading>
            {move || Suspend::new(async move {
                let list = match messages.await {
                    // Off, or not an operator: the page does not exist.
                    Err(crate::error::AppError::NotFound) => return crate::NotFound().into_any(),
                    Err(e) => return view! { <div class="fr-container fr-my-4w"><crate::ui::ErrorNotice error=e/></div> }.into_any(),
                    Ok(list) => list,
                };
                let list = if list.is_empty() {
                    view! { <p>"Aucun message."</p> }.into_any()
                } else {
                    list.into_iter()
                        .map(|m| view! {
                            <article class="fr-card fr-p-3w fr-mb-2w mail">
                                <h2 class="fr-h5">{m.subject.clone()}</h2>
                                <p class="fr-text--sm">"À : " <span class="mail-to">{m.to_email.clone()}</span> " — " {m.created_at.clone()}</p>
                                <p class="mail-body">{linkify(&m.body)}</p>
                            </article>
                        })
                        .collect::<Vec<_>>()
                        .into_any()
                };
                view! {
                    <div class="fr-container fr-my-4w">
                        <h1>"Boîte aux lettres de développement"</h1>
                        <p>"Les courriels envoyés par l'application (hors production)."</p>
                        <form method="get" class="fr-mb-3w">
                            <div class="fr-input-group">
                                <label class="fr-label" for="filtre-destinataire">"Destinataire"</label>
                                <input class="fr-input" id="filtre-destinataire" name="a" type="email" value=to/>
                            </div>
                            <button class="fr-btn fr-btn--secondary" type="submit">"Filtrer"</button>
                        </form>
                        {list}
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}
