//! One reach: whom a responsable habilitations reaches, defined once in
//! SQL (`reached_users(responsable, date)`, migration 0015: the open or
//! future members of the groups they reach, never themselves, never a
//! manager or administrator of the structure, never their N+1) and read
//! here only.
use crate::domain::{OrganisationId, UserId};
use crate::error::AppResult;
use crate::session::GroupManager;
use sqlx::PgConnection;

/// Does `responsable` reach `user` in the structure today?
pub async fn reaches(
    conn: &mut PgConnection,
    responsable: UserId,
    org: OrganisationId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from reached_users($1, current_date) where organisation_id = $2 and user_id = $3) as "ok!""#,
        responsable as UserId,
        org as OrganisationId,
        user as UserId,
    )
    .fetch_one(conn)
    .await
}

impl GroupManager {
    /// The one Rust entry point of the reach: this responsable reaches
    /// `user` today (see the module).
    pub async fn reaches(&self, conn: &mut PgConnection, user: UserId) -> AppResult<bool> {
        Ok(reaches(conn, self.user_id(), self.organisation_id(), user).await?)
    }

    /// Everything `user` holds in the structure lies within what this
    /// responsable administers: each of their open or future memberships
    /// is in a group the responsable reaches, they are responsable of no
    /// group outside that reach, and hold no direct right of a démarche
    /// whose profiles the responsable does not administer (« Habiliter »).
    /// Only then may the responsable change the account itself (email,
    /// closing, reopening); otherwise only the memberships of their groups.
    pub async fn holds_only_within(
        &self,
        conn: &mut PgConnection,
        user: UserId,
    ) -> AppResult<bool> {
        if !self.reaches(conn, user).await? {
            return Ok(false);
        }
        let ok = sqlx::query_scalar!(
            r#"with reach as (select group_id from responsable_reach($1, current_date) where organisation_id = $2)
             select not exists (select 1 from group_memberships gm
                                 where gm.user_id = $3 and gm.organisation_id = $2
                                   and (gm.date_cloture is null or gm.date_cloture > current_date)
                                   and gm.group_id not in (select group_id from reach))
                and not exists (select 1 from user_groups g
                                 where g.responsable_id = $3 and g.organisation_id = $2
                                   and (g.date_cloture is null or g.date_cloture > current_date)
                                   and g.id not in (select group_id from reach))
                and not exists (select 1 from grants gr join roles r on r.id = gr.role_id
                                  join applications a on a.id = r.application_id
                                 where gr.user_id = $3 and gr.organisation_id = $2
                                   and (gr.date_cloture is null or gr.date_cloture > greatest(gr.date_ouverture, current_date))
                                   and not (a.habiliter_role_id is not null and exists (
                                        select 1 from effective_rights(current_date) e
                                         where e.user_id = $1 and e.organisation_id = $2
                                           and e.role_id = a.habiliter_role_id))) as "ok!""#,
            self.user_id() as UserId,
            self.organisation_id() as OrganisationId,
            user as UserId,
        )
        .fetch_one(conn)
        .await?;
        Ok(ok)
    }
}
