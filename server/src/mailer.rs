//! Delivers the outbox through SMTP. Rows are claimed with
//! FOR UPDATE SKIP LOCKED, so any number of instances can run this.
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use std::time::Duration;

pub async fn run(pool: PgPool, smtp_url: Option<String>, from: String) {
    let Some(url) = smtp_url else {
        tracing::warn!("SMTP_URL non défini : les courriels restent dans la file d'envoi (visibles dans /dev/mailbox en développement)");
        return;
    };
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&url) {
        Ok(t) => t.build(),
        Err(e) => {
            tracing::error!(error = %e, "SMTP_URL invalide");
            return;
        }
    };
    loop {
        match deliver_batch(&pool, &transport, &from).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(2)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "échec de l'envoi des courriels");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Sends up to 20 due messages; returns how many were tried.
pub async fn deliver_batch(
    pool: &PgPool,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &str,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        "select id, to_email, subject, body from outbox
          where sent_at is null and attempts < 10
            and (attempts = 0 or created_at < now() - make_interval(secs => power(2, attempts)::int * 30))
          order by id limit 20 for update skip locked",
    )
    .fetch_all(&mut *tx)
    .await?;
    let n = rows.len();
    for r in rows {
        let (id, to, subject, body) = (r.id, r.to_email, r.subject, r.body);
        let result = match build(from, &to, &subject, body) {
            Ok(msg) => transport
                .send(msg)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                sqlx::query!(
                    "update outbox set sent_at = now(), attempts = attempts + 1, last_error = null where id = $1",
                    id
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(e) => {
                tracing::warn!(id, error = %e, "courriel non envoyé");
                sqlx::query!(
                    "update outbox set attempts = attempts + 1, last_error = $2 where id = $1",
                    id,
                    e,
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(n)
}

fn build(from: &str, to: &str, subject: &str, body: String) -> Result<Message, String> {
    Message::builder()
        .from(
            from.parse()
                .map_err(|e| format!("expéditeur invalide : {e}"))?,
        )
        .to(to
            .parse()
            .map_err(|e| format!("destinataire invalide : {e}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}
