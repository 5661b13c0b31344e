//! The checks of the rights core, in the order every write path runs them:
//! the caller is not the target, ranks, the convention ceiling (held by the
//! database's triggers), the application's « Habiliter » role, the
//! responsable's reach, no overlap (exclusion constraints).
use crate::domain::{GroupId, OrganisationId, UserId};
use crate::error::{AppError, AppResult};
use crate::session::Acting;
use sqlx::PgConnection;

/// Nobody acts on their own rights, groups or rank.
pub fn not_self(actor: &impl Acting, target: UserId) -> AppResult<()> {
    if actor.user_id() == target {
        Err(AppError::Conflict(
            "Vous ne pouvez pas agir sur vos propres droits ni sur vos propres groupes : un autre administrateur ou responsable doit le faire.".into(),
        ))
    } else {
        Ok(())
    }
}

/// The target's rank in the actor's structure (`memberships.admin_role`:
/// primary_manager, org_admin, or none, also for someone not attached).
pub async fn target_role(
    conn: &mut PgConnection,
    org: OrganisationId,
    target: UserId,
) -> AppResult<Option<String>> {
    // Someone not attached (a requester from outside) has no rank here.
    let role = sqlx::query_scalar!(
        "select admin_role from memberships where organisation_id = $1 and user_id = $2",
        org as OrganisationId,
        target as UserId,
    )
    .fetch_optional(conn)
    .await?;
    Ok(role.flatten())
}

/// Ranks: primary manager > admins > responsables > the others. An admin
/// acts on neither the primary manager nor another admin; a responsable
/// acts only on the people they reach (never a manager, an admin,
/// themselves or their N+1).
pub async fn rank(conn: &mut PgConnection, actor: &impl Acting, target: UserId) -> AppResult<()> {
    let role = target_role(conn, actor.organisation_id(), target).await?;
    actor.outranks(target, role.as_deref())?;
    if let Some(r) = actor.responsable() {
        if !r.reaches(conn, target).await? {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
}

/// CAF's Afas rule: the profiles of an application whose catalogue names
/// a « Habiliter » role are given, changed or withdrawn — directly, to a
/// group, or by putting someone in or out of a group holding them — only
/// by an operator or someone who holds that role in the structure today.
/// Returns the message for the first such application of `role_ids` the
/// actor may not administer.
pub async fn habiliter(
    conn: &mut PgConnection,
    actor: &impl Acting,
    role_ids: &[i64],
) -> Result<Option<String>, sqlx::Error> {
    if actor.is_operator() || role_ids.is_empty() {
        return Ok(None);
    }
    habiliter_of(conn, actor.user_id(), actor.organisation_id(), role_ids).await
}

/// The same for someone known by id only (the inviter of an accepted
/// invitation; operators are exempt, as above).
pub async fn habiliter_of(
    conn: &mut PgConnection,
    actor: UserId,
    org: OrganisationId,
    role_ids: &[i64],
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select a.libelle as "app!", h.libelle as "role!" from applications a
           join roles h on h.id = a.habiliter_role_id
          where a.id in (select application_id from roles where id = any($1))
            and not exists (select 1 from users u where u.id = $2 and u.is_operator)
            and not exists (select 1 from effective_rights(current_date) e
                             where e.user_id = $2 and e.organisation_id = $3 and e.role_id = a.habiliter_role_id)
          order by a.position limit 1"#,
        role_ids,
        actor as UserId,
        org as OrganisationId,
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| {
        let (app, role) = (r.app, r.role);
        format!(
            "Pour administrer les profils {app} d'un utilisateur, il faut appartenir à un groupe qui détient le rôle « {role} » de {app}."
        )
    }))
}

/// The roles a group holds today or from a later date.
pub async fn group_roles_from_today(
    conn: &mut PgConnection,
    group: GroupId,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct role_id as "role_id!" from group_grants
          where group_id = $1 and (date_cloture is null or date_cloture > greatest(date_ouverture, current_date))"#,
        group as GroupId,
    )
    .fetch_all(conn)
    .await
}

/// Nobody gives rights to a group they belong to (today or from a later
/// date): they would give them to themselves.
pub async fn not_member_of(
    conn: &mut PgConnection,
    actor: &impl Acting,
    group: GroupId,
) -> AppResult<()> {
    let member = sqlx::query_scalar!(
        r#"select exists (select 1 from group_memberships where group_id = $1 and user_id = $2
                           and (date_cloture is null or date_cloture > current_date)) as "member!""#,
        group as GroupId,
        actor.user_id() as UserId,
    )
    .fetch_one(conn)
    .await?;
    if member {
        return Err(AppError::Conflict(
            "Vous appartenez à ce groupe : vous ne pouvez pas modifier ses habilitations, qui seraient les vôtres. Un autre administrateur doit le faire.".into(),
        ));
    }
    Ok(())
}

/// No right outlives its holder's account, whatever path gives it (a
/// direct right, a membership): refused for an account closed by the
/// opening; for one that closes later, the period ends at the account's
/// closing (a reopening revives nothing). Returns the closing to write.
pub async fn within_account(
    conn: &mut PgConnection,
    user: UserId,
    ouverture: chrono::NaiveDate,
    cloture: Option<chrono::NaiveDate>,
    field: &str,
) -> AppResult<Option<chrono::NaiveDate>> {
    let account_closes = sqlx::query_scalar!(
        r#"select date_cloture as "date_cloture?: chrono::NaiveDate" from users where id = $1"#,
        user as UserId,
    )
    .fetch_one(conn)
    .await?;
    match account_closes {
        Some(c) if c <= ouverture => Err(AppError::invalid(
            field,
            "Ce compte est clôturé à cette date : il ne reçoit plus d'habilitation.",
        )),
        Some(c) => Ok(Some(cloture.map_or(c, |x| x.min(c)))),
        None => Ok(cloture),
    }
}
