//! The journal: one append-only event per change, written in the change's
//! own transaction.
#[cfg(feature = "ssr")]
pub mod ssr {
    use sqlx::PgConnection;

    pub struct Event<'a> {
        pub actor_id: Option<i64>,
        pub organisation_id: Option<i64>,
        pub action: &'a str,
        pub target_type: &'a str,
        pub target_id: Option<i64>,
        pub before: Option<serde_json::Value>,
        pub after: Option<serde_json::Value>,
    }

    impl<'a> Event<'a> {
        /// An event made by `actor`, in a structure or (`None`) on the platform.
        pub fn by(
            actor: crate::domain::UserId,
            organisation: Option<crate::domain::OrganisationId>,
            action: &'a str,
            target_type: &'a str,
            target_id: Option<i64>,
            before: Option<serde_json::Value>,
            after: Option<serde_json::Value>,
        ) -> Self {
            Event {
                actor_id: Some(actor.get()),
                organisation_id: organisation.map(|o| o.get()),
                action,
                target_type,
                target_id,
                before,
                after,
            }
        }
    }

    pub async fn record(conn: &mut PgConnection, e: Event<'_>) -> Result<(), sqlx::Error> {
        let ip = crate::state::client_ip().await;
        sqlx::query(
            "insert into audit_events (actor_id, organisation_id, action, target_type, target_id, before, after, ip)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(e.actor_id)
        .bind(e.organisation_id)
        .bind(e.action)
        .bind(e.target_type)
        .bind(e.target_id)
        .bind(e.before)
        .bind(e.after)
        .bind(ip)
        .execute(conn)
        .await?;
        Ok(())
    }
}
