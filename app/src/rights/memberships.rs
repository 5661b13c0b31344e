//! Memberships (« appartenances »): a person in a group for a period. The
//! only code that writes `group_memberships`.
use super::checks;
use crate::domain::{GroupId, OrganisationId, Period, UserId};
use crate::error::{AppError, AppResult, Errors};
use crate::session::Acting;
use chrono::NaiveDate;
use sqlx::PgConnection;

/// Who joins: someone already attached (ranks and, for a responsable,
/// reach apply); a requester whose access request is accepted into the
/// group (ranks apply; the request reached the responsable through the
/// role their group holds); or an account created in this very
/// transaction by the actor (it holds nothing and outranks nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    Member,
    Requester,
    Newcomer,
}

/// `user` joins the group for the period, added by `actor`, with its
/// journal event. The checks, in order: not oneself, ranks (and for a
/// responsable, the person within their reach), the group within the
/// responsable's reach, « Habiliter » for the profiles the group holds.
/// The database checks the rest: the group open, the user attached to the
/// structure, no overlapping membership.
pub async fn join(
    conn: &mut PgConnection,
    actor: &impl Acting,
    group: GroupId,
    user: UserId,
    ouverture: NaiveDate,
    cloture: Option<NaiveDate>,
    joining: Joining,
) -> AppResult<i64> {
    checks::not_self(actor, user)?;
    match joining {
        Joining::Member => checks::rank(conn, actor, user).await?,
        Joining::Requester => {
            let role = checks::target_role(conn, actor.organisation_id(), user).await?;
            actor.outranks(user, role.as_deref())?;
        }
        Joining::Newcomer => {}
    }
    if let Some(r) = actor.responsable() {
        let within = sqlx::query_scalar!(
            r#"select exists (select 1 from responsable_reach($1, current_date) where group_id = $2) as "within!""#,
            r.user_id() as UserId,
            group as GroupId,
        )
        .fetch_one(&mut *conn)
        .await?;
        if !within {
            return Err(AppError::Forbidden);
        }
    }
    let roles = checks::group_roles_from_today(conn, group).await?;
    if let Some(m) = checks::habiliter(conn, actor, &roles).await? {
        return Err(AppError::invalid("group_id", m));
    }
    insert(
        conn,
        actor.user_id(),
        actor.organisation_id(),
        group,
        user,
        ouverture,
        cloture,
    )
    .await
}

/// An invitation into a group, accepted by its addressee: joined from
/// today if the group is still open and the inviter may still add people
/// to it (a manager of the structure, an operator, or a responsable who
/// still reaches the group, holding « Habiliter » for the group's profiles).
/// Returns the membership, or `None` when the inviter no longer may.
pub async fn join_invited(
    conn: &mut PgConnection,
    inviter: UserId,
    org: OrganisationId,
    group: GroupId,
    user: UserId,
) -> AppResult<Option<i64>> {
    if inviter == user {
        return Ok(None);
    }
    let open = sqlx::query_scalar!(
        "select g.id from user_groups g
          where g.id = $1 and g.organisation_id = $2
            and g.date_ouverture <= current_date and (g.date_cloture is null or g.date_cloture > current_date)
            and (exists (select 1 from users u where u.id = $3 and u.is_operator)
                 or exists (select 1 from memberships m
                             where m.user_id = $3 and m.organisation_id = $2 and m.admin_role is not null)
                 or exists (select 1 from responsable_reach($3, current_date) r where r.group_id = g.id))",
        group as GroupId,
        org as OrganisationId,
        inviter as UserId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if open.is_none() {
        return Ok(None);
    }
    let roles = checks::group_roles_from_today(conn, group).await?;
    if checks::habiliter_of(conn, inviter, org, &roles)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let today = chrono::Local::now().date_naive();
    Ok(Some(
        insert(conn, inviter, org, group, user, today, None).await?,
    ))
}

async fn insert(
    conn: &mut PgConnection,
    added_by: UserId,
    org: OrganisationId,
    group: GroupId,
    user: UserId,
    ouverture: NaiveDate,
    cloture: Option<NaiveDate>,
) -> AppResult<i64> {
    // Joining a group gives its rights: none past the account's closing.
    let cloture = checks::within_account(conn, user, ouverture, cloture, "utilisateur").await?;
    let mid = sqlx::query_scalar!(
        "insert into group_memberships (group_id, organisation_id, user_id, date_ouverture, date_cloture, added_by)
         values ($1, $2, $3, $4, $5, $6) returning id",
        group as GroupId,
        org as OrganisationId,
        user as UserId,
        ouverture as NaiveDate,
        cloture as Option<NaiveDate>,
        added_by as UserId,
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(super::errors::group_error)?;
    crate::audit::ssr::record(
        conn,
        crate::audit::ssr::Event::by(
            added_by,
            Some(org),
            "groupe.ajout_utilisateur",
            "utilisateur",
            Some(user.get()),
            None,
            Some(serde_json::json!({
                "groupe": group.get(), "date_ouverture": ouverture, "date_cloture": cloture,
            })),
        ),
    )
    .await?;
    Ok(mid)
}

/// « Modifier l'appartenance »: the dates of one membership. The closing
/// date is never in the past (today ends it at once); the opening changes
/// only while the membership has not started; a closed membership stays
/// closed. Not oneself, ranks, reach and « Habiliter » as for joining.
pub async fn redate(
    conn: &mut PgConnection,
    actor: &impl Acting,
    membership: i64,
    date_ouverture: &str,
    date_cloture: &str,
) -> AppResult<()> {
    let row = sqlx::query!(
        r#"select group_id as "group_id: GroupId", user_id as "user_id: UserId",
                  date_ouverture as "date_ouverture: NaiveDate", date_cloture as "date_cloture?: NaiveDate"
             from group_memberships where id = $1 and organisation_id = $2 for update"#,
        membership,
        actor.organisation_id() as OrganisationId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::Forbidden)?;
    let (group_id, user, old_o, old_c) = (row.group_id, row.user_id, row.date_ouverture, row.date_cloture);
    checks::not_self(actor, user)?;
    checks::rank(conn, actor, user).await?;
    let today = chrono::Local::now().date_naive();
    if old_c.is_some_and(|c| c <= today) {
        return Err(AppError::Conflict(
            "Cette appartenance est close : elle ne se modifie plus.".into(),
        ));
    }
    let mut errs = Errors::default();
    let ouverture = if date_ouverture.trim().is_empty() {
        old_o.to_string()
    } else {
        date_ouverture.to_string()
    };
    let period = Period::parse(&mut errs, &ouverture, date_cloture, today);
    errs.finish()?;
    let period = period.ok_or(AppError::Internal)?;
    if period.ouverture != old_o && (old_o <= today || period.ouverture < today) {
        return Err(AppError::invalid(
            "date_ouverture",
            "La date d'ouverture ne change plus une fois l'appartenance commencée, et ne peut pas être dans le passé.",
        ));
    }
    let roles = checks::group_roles_from_today(conn, group_id).await?;
    if let Some(m) = checks::habiliter(conn, actor, &roles).await? {
        return Err(AppError::invalid("date_cloture", m));
    }
    sqlx::query!(
        "update group_memberships set date_ouverture = $2, date_cloture = $3 where id = $1",
        membership,
        period.ouverture as NaiveDate,
        period.cloture as Option<NaiveDate>,
    )
    .execute(&mut *conn)
    .await
    .map_err(super::errors::group_error)?;
    crate::audit::ssr::record(
        conn,
        actor.event(
            "groupe.appartenance_modifiee",
            "utilisateur",
            Some(user.get()),
            Some(serde_json::json!({"groupe": group_id, "date_ouverture": old_o, "date_cloture": old_c})),
            Some(serde_json::json!({"groupe": group_id, "date_ouverture": period.ouverture, "date_cloture": period.cloture})),
        ),
    )
    .await?;
    Ok(())
}

/// Where a person's memberships end.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// Everywhere: the account closes.
    Account,
    /// In the actor's structure: the person is detached from it.
    Structure,
}

/// Ends, from `from` (today or later), every membership of `user` still
/// open then, one journal event each, by `actor`. An account's closing and
/// a detachment call it in their own transaction; a reopening revives
/// nothing. Returns how many ended.
pub async fn end_all_of(
    conn: &mut PgConnection,
    actor: &impl Acting,
    user: UserId,
    from: NaiveDate,
    scope: Scope,
) -> AppResult<u64> {
    let only_in = match scope {
        Scope::Account => None,
        Scope::Structure => Some(actor.organisation_id()),
    };
    let rows = sqlx::query!(
        r#"with old as (
             select id, group_id, date_ouverture, date_cloture from group_memberships
              where user_id = $1 and ($3::bigint is null or organisation_id = $3)
                and (date_cloture is null or date_cloture > $2) for update)
         update group_memberships gm set date_cloture = greatest(gm.date_ouverture, $2)
           from old where gm.id = old.id
         returning old.group_id as "group_id!", old.date_ouverture as "ouverture!: NaiveDate",
                   old.date_cloture as "before?: NaiveDate", gm.date_cloture as "after!: NaiveDate""#,
        user as UserId,
        from as NaiveDate,
        only_in as Option<OrganisationId>,
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(super::errors::group_error)?;
    let ended = rows.len() as u64;
    let events = rows
        .into_iter()
        .map(|r| {
            actor.event(
                "groupe.appartenance_modifiee",
                "utilisateur",
                Some(user.get()),
                Some(serde_json::json!({"groupe": r.group_id, "date_ouverture": r.ouverture, "date_cloture": r.before})),
                Some(serde_json::json!({"groupe": r.group_id, "date_ouverture": r.ouverture, "date_cloture": r.after})),
            )
        })
        .collect();
    crate::audit::ssr::record_all(conn, events).await?;
    Ok(ended)
}
