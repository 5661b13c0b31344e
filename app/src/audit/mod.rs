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

    impl crate::session::OrgManager {
        /// An event made by this manager in their organisation.
        pub fn event<'a>(
            &self,
            action: &'a str,
            target_type: &'a str,
            target_id: Option<i64>,
            before: Option<serde_json::Value>,
            after: Option<serde_json::Value>,
        ) -> Event<'a> {
            Event {
                actor_id: Some(self.user_id().get()),
                organisation_id: Some(self.organisation_id().get()),
                action,
                target_type,
                target_id,
                before,
                after,
            }
        }
    }

    impl crate::session::GroupActor {
        /// An event made by this manager or responsable in the group's
        /// structure.
        pub fn event<'a>(
            &self,
            action: &'a str,
            target_type: &'a str,
            target_id: Option<i64>,
            before: Option<serde_json::Value>,
            after: Option<serde_json::Value>,
        ) -> Event<'a> {
            Event {
                actor_id: Some(self.user_id().get()),
                organisation_id: Some(self.organisation_id().get()),
                action,
                target_type,
                target_id,
                before,
                after,
            }
        }
    }

    pub async fn record(conn: &mut PgConnection, e: Event<'_>) -> Result<(), sqlx::Error> {
        let ip = crate::session::client_ip().await;
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
