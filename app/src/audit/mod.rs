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

    /// Many events in one statement (a cascade's, one per object it
    /// changed), in the order given.
    pub async fn record_all(conn: &mut PgConnection, events: Vec<Event<'_>>) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let ip = crate::state::client_ip().await;
        let mut actors = Vec::with_capacity(events.len());
        let mut orgs = Vec::with_capacity(events.len());
        let mut actions = Vec::with_capacity(events.len());
        let mut types = Vec::with_capacity(events.len());
        let mut targets = Vec::with_capacity(events.len());
        let mut befores = Vec::with_capacity(events.len());
        let mut afters = Vec::with_capacity(events.len());
        for e in events {
            actors.push(e.actor_id);
            orgs.push(e.organisation_id);
            actions.push(e.action.to_string());
            types.push(e.target_type.to_string());
            targets.push(e.target_id);
            befores.push(e.before);
            afters.push(e.after);
        }
        sqlx::query!(
            "insert into audit_events (actor_id, organisation_id, action, target_type, target_id, before, after, ip)
             select e.actor_id, e.organisation_id, e.action, e.target_type, e.target_id, e.before, e.after, $8
               from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::jsonb[], $7::jsonb[])
                    with ordinality as e(actor_id, organisation_id, action, target_type, target_id, before, after, n)
              order by e.n",
            &actors as &[Option<i64>],
            &orgs as &[Option<i64>],
            &actions,
            &types,
            &targets as &[Option<i64>],
            &befores as &[Option<serde_json::Value>],
            &afters as &[Option<serde_json::Value>],
            ip as Option<std::net::IpAddr>,
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn record(conn: &mut PgConnection, e: Event<'_>) -> Result<(), sqlx::Error> {
        let ip = crate::state::client_ip().await;
        sqlx::query!(
            "insert into audit_events (actor_id, organisation_id, action, target_type, target_id, before, after, ip)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            e.actor_id,
            e.organisation_id,
            e.action,
            e.target_type,
            e.target_id,
            e.before,
            e.after,
            ip as Option<std::net::IpAddr>,
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}
