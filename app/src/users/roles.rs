//! The "Rôles" tab of an agent (Mégalis): one row per application
//! activated for the organisation, a checkbox and a level (role) within
//! the organisation's ceiling.
use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentAppRole {
    pub application_id: i64,
    pub code: String,
    pub libelle: String,
    /// The roles the organisation may hand out on it (id, libellé).
    pub roles: Vec<(i64, String)>,
    /// The role the agent holds directly today or from a future date, if any.
    pub current: Option<i64>,
    /// That right: its id, opening date and closing date (the first day
    /// it no longer holds; empty when open-ended), as yyyy-mm-dd.
    pub grant: Option<(i64, String, String)>,
}

/// A right the agent holds today, whatever its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveRight {
    pub application: String,
    pub role: String,
    /// « Attribuée directement » or « Groupe CODE — Libellé ».
    pub origine: String,
}

/// « Habilitations effectives »: what the agent holds today in the
/// structure, read from `effective_rights` (direct rights and those of
/// their groups, within the open conventions). For the structure's
/// managers, and for a responsable habilitations who reaches the agent.
#[server(endpoint = "get_effective_rights", output = crate::json::Json)]
pub async fn get_effective_rights(
    organisation_id: crate::domain::OrganisationId,
    user_id: crate::domain::UserId,
) -> AppResult<Vec<EffectiveRight>> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    use crate::domain::{OrganisationId, UserId};
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let pool = crate::state::pool();
    let mut conn = pool.acquire().await?;
    match me.manager_of(org).await {
        Ok(_) => {}
        Err(AppError::Forbidden)
            if crate::rights::reach::reaches(&mut conn, me.id(), org, UserId(user_id)).await? => {}
        Err(e) => return Err(e),
    }
    Ok(sqlx::query_as!(
        EffectiveRight,
        r#"select a.libelle as application, r.libelle as role,
                coalesce('Groupe ' || g.code || ' — ' || g.libelle, 'Attribuée directement') as "origine!"
           from effective_rights(current_date) e
           join roles r on r.id = e.role_id join applications a on a.id = e.application_id
           left join user_groups g on g.id = e.group_id
          where e.user_id = $1 and e.organisation_id = $2
          order by a.position, a.libelle, r.position, r.libelle, 3"#,
        user_id,
        org as OrganisationId,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The agent's rights in the organisation, application by application.
#[server(endpoint = "get_agent_roles", output = crate::json::Json)]
pub async fn get_agent_roles(organisation_id: crate::domain::OrganisationId, user_id: crate::domain::UserId) -> AppResult<Vec<AgentAppRole>> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    let me = crate::session::require_user().await?;
    // A manager, or a responsable habilitations reaching the agent (who
    // sees only the démarches whose profiles they administer).
    let manager = me
        .account_actor(organisation_id, crate::domain::UserId(user_id))
        .await?;
    let pool = crate::state::pool();
    let mut conn = pool.acquire().await?;
    crate::users::ssr::member(&mut conn, &manager, crate::domain::UserId(user_id)).await?;
    let apps = administered_apps(&mut conn, &manager).await?;
    type Row = (
        i64,
        String,
        String,
        i64,
        String,
        Option<(i64, chrono::NaiveDate, Option<chrono::NaiveDate>)>,
    );
    // The direct right of each role held today or from a future date (the
    // earliest).
    let rows: Vec<Row> = sqlx::query!(
        r#"select a.id, a.code, a.libelle, r.id as role_id, r.libelle as role,
                (select row(g.id, g.date_ouverture, g.date_cloture) from grants g
                  where g.user_id = $2 and g.organisation_id = $1 and g.role_id = r.id
                    and (g.date_cloture is null or g.date_cloture > greatest(g.date_ouverture, current_date))
                  order by g.date_ouverture limit 1) as "held?: (i64, chrono::NaiveDate, Option<chrono::NaiveDate>)"
           from organisation_roles orl join roles r on r.id = orl.role_id
           join applications a on a.id = orl.application_id
          where orl.organisation_id = $1 and ($3::bigint[] is null or a.id = any($3))
          order by a.position, a.libelle, r.position, r.libelle"#,
        manager.organisation_id() as crate::domain::OrganisationId,
        user_id,
        apps.as_deref(),
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.code, r.libelle, r.role_id, r.role, r.held))
    .collect();
    let mut out: Vec<AgentAppRole> = vec![];
    for (app_id, code, libelle, role_id, role, held) in rows {
        if out.last().map(|a| a.application_id) != Some(app_id) {
            out.push(AgentAppRole {
                application_id: app_id,
                code,
                libelle,
                roles: vec![],
                current: None,
                grant: None,
            });
        }
        let last = out.last_mut().unwrap();
        last.roles.push((role_id, role));
        if let (Some((gid, from, until)), None) = (held, last.current) {
            last.current = Some(role_id);
            last.grant = Some((
                gid,
                from.to_string(),
                until.map(|d| d.to_string()).unwrap_or_default(),
            ));
        }
    }
    Ok(out)
}

/// "Enregistrer": `role_ids` lists the role wanted on each ticked
/// application (at most one per application). The difference with what
/// the agent holds is applied in one transaction, one journal event per
/// right given or ended. A role outside the organisation's ceiling is
/// refused.
#[server(endpoint = "save_agent_roles", output = crate::json::Json)]
pub async fn save_agent_roles(
    organisation_id: crate::domain::OrganisationId,
    user_id: crate::domain::UserId,
    #[server(default)] role_ids: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let manager = me
        .account_actor(organisation_id, crate::domain::UserId(user_id))
        .await?;
    let wanted =
        crate::conventions::parse_ids(&role_ids).map_err(|m| AppError::invalid("role_ids", m))?;
    // The period of the roles given now (today by default, never in the
    // past); rights keep their last day held, the day before closing.
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let period =
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today);
    errs.finish()?;
    let period = period.ok_or(AppError::Internal)?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    // Nobody changes their own rights (the database refuses it too).
    manager.not_self(crate::domain::UserId(user_id))?;
    // Locks the membership: two saves for the same agent run one after
    // the other.
    let member = sqlx::query!(
        r#"select u.date_cloture is not null and u.date_cloture <= current_date as "closed!", m.admin_role
           from memberships m join users u on u.id = m.user_id
          where m.organisation_id = $1 and m.user_id = $2 for update of m"#,
        manager.organisation_id() as crate::domain::OrganisationId,
        user_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|m| (m.closed, m.admin_role));
    let Some((closed, role)) = member else {
        return Err(AppError::NotFound);
    };
    crate::users::ssr::member(&mut tx, &manager, crate::domain::UserId(user_id)).await?;
    manager.outranks(crate::domain::UserId(user_id), role.as_deref())?;
    // The démarches the caller administers here: all for a manager; for a
    // responsable, those whose « Habiliter » role they hold today.
    let administered = administered_apps(&mut tx, &manager).await?;
    // (role id, application id, libellés) of every wanted role in the ceiling.
    let allowed: Vec<(i64, i64, String, String)> = sqlx::query!(
        r#"select r.id, r.application_id, r.libelle, a.libelle as application from organisation_roles orl
           join roles r on r.id = orl.role_id join applications a on a.id = r.application_id
          where orl.organisation_id = $1 and orl.role_id = any($2)
            and ($3::bigint[] is null or r.application_id = any($3))"#,
        manager.organisation_id() as crate::domain::OrganisationId,
        &wanted,
        administered.as_deref(),
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.id, r.application_id, r.libelle, r.application))
    .collect();
    if allowed.len() != wanted.len() {
        return Err(AppError::invalid(
            "role_ids",
            "Un des rôles choisis n'est pas ouvert à la structure : seules les démarches activées pour elle peuvent être attribuées.",
        ));
    }
    let mut apps: Vec<i64> = allowed.iter().map(|a| a.1).collect();
    apps.sort_unstable();
    if apps.windows(2).any(|w| w[0] == w[1]) {
        return Err(AppError::invalid(
            "role_ids",
            "Un seul niveau par démarche.",
        ));
    }
    if closed && !wanted.is_empty() {
        return Err(AppError::Conflict(
            "Ce compte est clôturé : il ne peut recevoir aucun rôle.".into(),
        ));
    }
    // Rights held today or from a future date.
    let held: Vec<(i64, i64, String, String)> = sqlx::query!(
        r#"select g.id, g.role_id, r.libelle, a.libelle as application from grants g
           join roles r on r.id = g.role_id join applications a on a.id = r.application_id
          where g.user_id = $1 and g.organisation_id = $2
            and (g.date_cloture is null or g.date_cloture > greatest(g.date_ouverture, current_date))
            and ($3::bigint[] is null or r.application_id = any($3))"#,
        user_id,
        manager.organisation_id() as crate::domain::OrganisationId,
        administered.as_deref(),
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.id, r.role_id, r.libelle, r.application))
    .collect();
    // The profiles given or withdrawn: those of an application with a
    // « Habiliter » role need its holder.
    let changed: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|w| !held.iter().any(|h| h.1 == *w))
        .chain(held.iter().map(|h| h.1).filter(|h| !wanted.contains(h)))
        .collect();
    if let Some(m) = crate::rights::checks::habiliter(&mut tx, &manager, &changed).await? {
        return Err(AppError::invalid("role_ids", m));
    }
    // Rights no longer wanted end in one statement, then one event each.
    let ending: Vec<i64> = held
        .iter()
        .filter(|h| !wanted.contains(&h.1))
        .map(|h| h.0)
        .collect();
    crate::rights::direct::end(&mut tx, crate::rights::direct::Rights::Ids(&ending)).await?;
    for (gid, role_id, role, app) in &held {
        if wanted.contains(role_id) {
            continue;
        }
        crate::audit::ssr::record(
            &mut tx,
            manager.event(
                "habilitation.retrait",
                "habilitation",
                Some(*gid),
                Some(serde_json::json!({"utilisateur": user_id, "role": role, "application": app})),
                None,
            ),
        )
        .await?;
    }
    for (role_id, _, role, app) in &allowed {
        if held.iter().any(|h| h.1 == *role_id) {
            continue;
        }
        let gid = crate::rights::direct::give(
            &mut tx,
            &manager,
            crate::domain::UserId(user_id),
            *role_id,
            period.ouverture,
            period.cloture,
            crate::rights::direct::Field("role_ids"),
        )
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "role_ids",
                "Une habilitation de ce rôle couvre déjà une partie de cette période.",
            )
        })?;
        crate::audit::ssr::record(
            &mut tx,
            manager.event(
                "habilitation.attribution",
                "habilitation",
                Some(gid),
                None,
                Some(serde_json::json!({
                    "utilisateur": user_id, "role": role, "application": app,
                    "date_ouverture": period.ouverture, "date_cloture": period.cloture,
                })),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// « Modifier les dates » of a right given directly: its closing date
/// (never in the past; today ends it at once) and, while it has not
/// started, its opening date (never in the past). The structure's
/// conventions must cover the new period (the database checks it too).
#[server(endpoint = "set_grant_dates", output = crate::json::Json)]
pub async fn set_grant_dates(
    organisation_id: crate::domain::OrganisationId,
    grant_id: crate::domain::GrantId,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, grant_id) = (organisation_id.get(), grant_id.get());
    use crate::domain::UserId;
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    // The right's holder decides who may act: a manager, or a responsable
    // reaching them (for the démarches whose profiles they administer).
    let holder = sqlx::query_scalar!(
        "select user_id from grants where id = $1 and organisation_id = $2",
        grant_id,
        organisation_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    // A missing right and another structure's answer alike.
    let holder = holder.ok_or(AppError::Forbidden)?;
    let manager = me.account_actor(organisation_id, UserId(holder)).await?;
    crate::users::ssr::member(&mut tx, &manager, UserId(holder)).await?;
    let apps = administered_apps(&mut tx, &manager).await?;
    type Row = (
        i64,
        i64,
        chrono::NaiveDate,
        Option<chrono::NaiveDate>,
        Option<String>,
        String,
        String,
    );
    let row: Option<Row> = sqlx::query!(
        r#"select g.user_id, g.role_id, g.date_ouverture as "date_ouverture: chrono::NaiveDate",
                  g.date_cloture as "date_cloture?: chrono::NaiveDate", m.admin_role, r.libelle, a.libelle as application
           from grants g join memberships m on m.user_id = g.user_id and m.organisation_id = g.organisation_id
           join roles r on r.id = g.role_id join applications a on a.id = r.application_id
          where g.id = $1 and g.organisation_id = $2 and ($3::bigint[] is null or r.application_id = any($3))
          for update of g"#,
        grant_id,
        manager.organisation_id() as crate::domain::OrganisationId,
        apps.as_deref(),
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| (r.user_id, r.role_id, r.date_ouverture, r.date_cloture, r.admin_role, r.libelle, r.application));
    let (user, role_id, starts, ends, rank, role, app) = row.ok_or(AppError::Forbidden)?;
    manager.not_self(UserId(user))?;
    manager.outranks(UserId(user), rank.as_deref())?;
    let today = chrono::Local::now().date_naive();
    if ends.is_some_and(|c| c <= today.max(starts)) {
        return Err(AppError::Conflict(
            "Cette habilitation a pris fin : ses dates ne se modifient plus.".into(),
        ));
    }
    let mut errs = Errors::default();
    let ouverture = if date_ouverture.trim().is_empty() {
        starts.to_string()
    } else {
        date_ouverture
    };
    let period = crate::domain::Period::parse(&mut errs, &ouverture, &date_cloture, today);
    errs.finish()?;
    let period = period.ok_or(AppError::Internal)?;
    if period.ouverture != starts && (starts <= today || period.ouverture < today) {
        return Err(AppError::invalid(
            "date_ouverture",
            "La date d'ouverture ne change plus une fois l'habilitation commencée, et ne peut pas être dans le passé.",
        ));
    }
    if period.ouverture == starts && period.cloture == ends {
        return Ok(());
    }
    if let Some(m) = crate::rights::checks::habiliter(&mut tx, &manager, &[role_id]).await? {
        return Err(AppError::invalid("date_cloture", m));
    }
    // One right of a role at a time: no other over the new period.
    crate::rights::direct::set_dates(&mut tx, grant_id, period.ouverture, period.cloture).await?;
    let shown = |s: chrono::NaiveDate, e: Option<chrono::NaiveDate>| {
        serde_json::json!({
            "utilisateur": user, "role": role, "application": app,
            "date_ouverture": s, "date_cloture": e,
        })
    };
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            "habilitation.dates",
            "habilitation",
            Some(grant_id),
            Some(shown(starts, ends)),
            Some(shown(period.ouverture, period.cloture)),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The démarches whose rights `actor` administers in their structure:
/// every one (`None`) for a manager; for a responsable habilitations, the
/// applications whose « Habiliter » role they hold there today (CAF's Afas
/// rule: per-user profiles are given by their holders only).
#[cfg(feature = "ssr")]
async fn administered_apps(
    conn: &mut sqlx::PgConnection,
    actor: &crate::session::GroupActor,
) -> Result<Option<Vec<i64>>, sqlx::Error> {
    if actor.responsable().is_none() {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_scalar!(
            "select a.id from applications a
              where a.habiliter_role_id is not null
                and exists (select 1 from effective_rights(current_date) e
                             where e.user_id = $1 and e.organisation_id = $2 and e.role_id = a.habiliter_role_id)",
            actor.user_id() as crate::domain::UserId,
            actor.organisation_id() as crate::domain::OrganisationId,
        )
        .fetch_all(conn)
        .await?,
    ))
}
