//! Rights held directly by a person (the `grants` table): the only code
//! that gives, re-dates and ends them. A right holds [date_ouverture,
//! date_cloture) like every dated row (migration 0016): the closing date is
//! the first day without it; two rights of one role never overlap
//! (`grants_no_overlap`).
use super::checks;
use crate::domain::{OrganisationId, UserId};
use crate::error::{AppError, AppResult};
use crate::session::Acting;
use chrono::NaiveDate;
use sqlx::PgConnection;

/// Which open rights to end.
pub enum Rights<'a> {
    /// On these roles, in one organisation.
    Roles(OrganisationId, &'a [i64]),
    /// Of one person, in one organisation.
    Holder(OrganisationId, UserId),
    /// These rights.
    Ids(&'a [i64]),
}

/// A right that a change ended: its closing date before and after.
#[derive(Debug, Clone)]
pub struct Ended {
    pub id: i64,
    pub user_id: i64,
    pub organisation_id: i64,
    pub role_id: i64,
    pub before: Option<NaiveDate>,
    pub after: NaiveDate,
}

/// Ends, from today, the open rights chosen. Returns the rights ended.
pub async fn end(conn: &mut PgConnection, which: Rights<'_>) -> Result<Vec<Ended>, sqlx::Error> {
    match which {
        Rights::Roles(org, roles) => {
            sqlx::query_as!(
                Ended,
                r#"with old as (select id, date_cloture from grants
                                 where (date_cloture is null or date_cloture > current_date)
                                   and organisation_id = $1 and role_id = any($2) for update)
                   update grants g set date_cloture = greatest(g.date_ouverture, current_date) from old where g.id = old.id
                   returning g.id as "id!", g.user_id as "user_id!", g.organisation_id as "organisation_id!",
                             g.role_id as "role_id!", old.date_cloture as "before?: NaiveDate", g.date_cloture as "after!: NaiveDate""#,
                org as OrganisationId,
                roles,
            )
            .fetch_all(conn)
            .await
        }
        Rights::Holder(org, user) => {
            sqlx::query_as!(
                Ended,
                r#"with old as (select id, date_cloture from grants
                                 where (date_cloture is null or date_cloture > current_date)
                                   and organisation_id = $1 and user_id = $2 for update)
                   update grants g set date_cloture = greatest(g.date_ouverture, current_date) from old where g.id = old.id
                   returning g.id as "id!", g.user_id as "user_id!", g.organisation_id as "organisation_id!",
                             g.role_id as "role_id!", old.date_cloture as "before?: NaiveDate", g.date_cloture as "after!: NaiveDate""#,
                org as OrganisationId,
                user as UserId,
            )
            .fetch_all(conn)
            .await
        }
        Rights::Ids(ids) => {
            sqlx::query_as!(
                Ended,
                r#"with old as (select id, date_cloture from grants
                                 where (date_cloture is null or date_cloture > current_date) and id = any($1) for update)
                   update grants g set date_cloture = greatest(g.date_ouverture, current_date) from old where g.id = old.id
                   returning g.id as "id!", g.user_id as "user_id!", g.organisation_id as "organisation_id!",
                             g.role_id as "role_id!", old.date_cloture as "before?: NaiveDate", g.date_cloture as "after!: NaiveDate""#,
                ids,
            )
            .fetch_all(conn)
            .await
        }
    }
}

/// An account closes on `from`: every right of the person still held then
/// ends then (in every structure). Returns the rights ended.
pub async fn end_all_of(
    conn: &mut PgConnection,
    user: UserId,
    from: NaiveDate,
) -> Result<Vec<Ended>, sqlx::Error> {
    sqlx::query_as!(
        Ended,
        r#"with old as (select id, date_cloture from grants
                         where user_id = $1 and (date_cloture is null or date_cloture > $2::date) for update)
           update grants g set date_cloture = greatest(g.date_ouverture, $2::date) from old where g.id = old.id
           returning g.id as "id!", g.user_id as "user_id!", g.organisation_id as "organisation_id!",
                     g.role_id as "role_id!", old.date_cloture as "before?: NaiveDate", g.date_cloture as "after!: NaiveDate""#,
        user as UserId,
        from as NaiveDate,
    )
    .fetch_all(conn)
    .await
}

/// One journal event per right a cascade ended (a role leaving the
/// conventions, a detachment, an account closing), made by `actor`, with
/// why (`motif`). The journal names the right (role, démarche, person).
pub async fn record_ended(
    conn: &mut PgConnection,
    actor: UserId,
    ended: &[Ended],
    motif: &str,
) -> Result<(), sqlx::Error> {
    let events = ended
        .iter()
        .map(|e| {
            crate::audit::ssr::Event::by(
                actor,
                Some(OrganisationId(e.organisation_id)),
                "habilitation.retrait",
                "habilitation",
                Some(e.id),
                Some(serde_json::json!({"utilisateur": e.user_id, "role_id": e.role_id, "date_cloture": e.before})),
                Some(serde_json::json!({"date_cloture": e.after, "motif": motif})),
            )
        })
        .collect();
    crate::audit::ssr::record_all(conn, events).await
}

/// The error of a refused right, on the form field the caller names.
pub struct Field<'a>(pub &'a str);

/// Gives `user` the role for [ouverture, cloture). The checks, in order:
/// not oneself, ranks (a responsable only on someone they reach), the
/// structure's conventions (today's ceiling; the database checks the
/// period), « Habiliter », no overlap with another right of the role.
/// `Ok(None)` when the person already holds the role over that period.
/// No journal event here: the caller writes it with what it knows (the
/// request, the libellés).
pub async fn give(
    conn: &mut PgConnection,
    actor: &impl Acting,
    user: UserId,
    role_id: i64,
    ouverture: NaiveDate,
    cloture: Option<NaiveDate>,
    field: Field<'_>,
) -> AppResult<Option<i64>> {
    checks::not_self(actor, user)?;
    checks::rank(conn, actor, user).await?;
    let cloture = checks::within_account(conn, user, ouverture, cloture, field.0).await?;
    let org = actor.organisation_id();
    let within = sqlx::query_scalar!(
        r#"select exists (select 1 from organisation_roles where organisation_id = $1 and role_id = $2) as "within!""#,
        org as OrganisationId,
        role_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !within {
        return Err(AppError::invalid(
            field.0,
            "Ce rôle n'est pas ouvert à la structure : seules les démarches activées pour elle peuvent être attribuées.",
        ));
    }
    if let Some(m) = checks::habiliter(conn, actor, &[role_id]).await? {
        return Err(AppError::invalid(field.0, m));
    }
    let overlapping = sqlx::query_scalar!(
        "select id from grants where user_id = $1 and organisation_id = $2 and role_id = $3
            and daterange(date_ouverture, date_cloture) && daterange($4::date, $5::date) limit 1",
        user as UserId,
        org as OrganisationId,
        role_id,
        ouverture as NaiveDate,
        cloture as Option<NaiveDate>,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if overlapping.is_some() {
        return Ok(None);
    }
    let id = sqlx::query_scalar!(
        "insert into grants (role_id, organisation_id, user_id, granted_by, date_ouverture, date_cloture)
         values ($1, $2, $3, $4, $5, $6)
         on conflict do nothing returning id",
        role_id,
        org as OrganisationId,
        user as UserId,
        actor.user_id() as UserId,
        ouverture as NaiveDate,
        cloture as Option<NaiveDate>,
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(grant_error)?;
    Ok(id)
}

/// New dates for one direct right (checked by the caller: see
/// `users::set_grant_dates`), refused when another right of the role
/// covers part of the new period.
pub async fn set_dates(
    conn: &mut PgConnection,
    grant_id: i64,
    ouverture: NaiveDate,
    cloture: Option<NaiveDate>,
) -> AppResult<()> {
    let overlapping = sqlx::query_scalar!(
        "select o.id from grants g join grants o on o.user_id = g.user_id and o.organisation_id = g.organisation_id
                and o.role_id = g.role_id and o.id <> g.id
          where g.id = $1
            and daterange(o.date_ouverture, o.date_cloture) && daterange($2::date, $3::date) limit 1",
        grant_id,
        ouverture as NaiveDate,
        cloture as Option<NaiveDate>,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if overlapping.is_some() {
        return Err(AppError::invalid(
            "date_ouverture",
            "Une autre habilitation de ce rôle couvre déjà une partie de cette période.",
        ));
    }
    sqlx::query!(
        "update grants set date_ouverture = $2, date_cloture = $3 where id = $1",
        grant_id,
        ouverture as NaiveDate,
        cloture as Option<NaiveDate>,
    )
    .execute(conn)
    .await
        .map_err(grant_error)?;
    Ok(())
}

/// The database's refusal of a right outside the structure's conventions
/// (its trigger), next to the dates.
pub fn grant_error(e: sqlx::Error) -> AppError {
    if let sqlx::Error::Database(d) = &e {
        match d.constraint() {
            Some("grants_within_ceiling") => {
                return AppError::invalid(
                    "date_cloture",
                    "Aucune convention de la structure n'ouvre ce rôle sur cette période.",
                )
            }
            // Two writers raced past the check above: the database keeps one.
            Some("grants_no_overlap") => {
                return AppError::invalid(
                    "date_ouverture",
                    "Une autre habilitation de ce rôle couvre déjà une partie de cette période.",
                )
            }
            _ => {}
        }
    }
    e.into()
}
