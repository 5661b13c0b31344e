//! Rights held directly by a person (the `grants` table): the only code
//! that gives, re-dates and ends them.
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

/// Ends, from today, the open rights chosen. Returns how many ended.
pub async fn end(conn: &mut PgConnection, which: Rights<'_>) -> Result<u64, sqlx::Error> {
    let filter = match which {
        Rights::Roles(..) => "organisation_id = $1 and role_id = any($2)",
        Rights::Holder(..) => "organisation_id = $1 and user_id = $2",
        Rights::Ids(..) => "id = any($1)",
    };
    let sql = format!(
        "update grants set ends_on = greatest(starts_on - 1, current_date - 1)
          where (ends_on is null or ends_on >= current_date) and {filter}"
    );
    let q = sqlx::query(&sql);
    let q = match which {
        Rights::Roles(org, roles) => q.bind(org).bind(roles),
        Rights::Holder(org, user) => q.bind(org).bind(user),
        Rights::Ids(ids) => q.bind(ids),
    };
    Ok(q.execute(conn).await?.rows_affected())
}

/// An account closes on `from`: every right of the person still held then
/// ends then (in every structure). Returns how many ended.
pub async fn end_all_of(
    conn: &mut PgConnection,
    user: UserId,
    from: NaiveDate,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update grants set ends_on = greatest(starts_on - 1, $2::date - 1)
          where user_id = $1 and (ends_on is null or ends_on >= $2::date)",
    )
    .bind(user)
    .bind(from)
    .execute(conn)
    .await?
    .rows_affected())
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
    let org = actor.organisation_id();
    let (within,): (bool,) = sqlx::query_as(
        "select exists (select 1 from organisation_roles where organisation_id = $1 and role_id = $2)",
    )
    .bind(org)
    .bind(role_id)
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
    // Rights keep their last day held (`ends_on`), the day before closing.
    let ends_on = cloture.map(|c| c - chrono::Duration::days(1));
    let overlapping: Option<(i64,)> = sqlx::query_as(
        "select id from grants where user_id = $1 and organisation_id = $2 and role_id = $3
            and (ends_on is null or ends_on >= starts_on)
            and (ends_on is null or ends_on >= $4::date)
            and ($5::date is null or starts_on <= $5) limit 1",
    )
    .bind(user)
    .bind(org)
    .bind(role_id)
    .bind(ouverture)
    .bind(ends_on)
    .fetch_optional(&mut *conn)
    .await?;
    if overlapping.is_some() {
        return Ok(None);
    }
    let row: Option<(i64,)> = sqlx::query_as(
        "insert into grants (role_id, organisation_id, user_id, granted_by, starts_on, ends_on)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (user_id, organisation_id, role_id) where ends_on is null do nothing returning id",
    )
    .bind(role_id)
    .bind(org)
    .bind(user)
    .bind(actor.user_id())
    .bind(ouverture)
    .bind(ends_on)
    .fetch_optional(&mut *conn)
    .await
    .map_err(grant_error)?;
    Ok(row.map(|r| r.0))
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
    let new_ends = cloture.map(|c| c - chrono::Duration::days(1));
    let overlapping: Option<(i64,)> = sqlx::query_as(
        "select o.id from grants g join grants o on o.user_id = g.user_id and o.organisation_id = g.organisation_id
                and o.role_id = g.role_id and o.id <> g.id
          where g.id = $1
            and (o.ends_on is null or o.ends_on >= o.starts_on)
            and (o.ends_on is null or o.ends_on >= $2::date)
            and ($3::date is null or o.starts_on <= $3) limit 1",
    )
    .bind(grant_id)
    .bind(ouverture)
    .bind(new_ends)
    .fetch_optional(&mut *conn)
    .await?;
    if overlapping.is_some() {
        return Err(AppError::invalid(
            "date_ouverture",
            "Une autre habilitation de ce rôle couvre déjà une partie de cette période.",
        ));
    }
    sqlx::query("update grants set starts_on = $2, ends_on = $3 where id = $1")
        .bind(grant_id)
        .bind(ouverture)
        .bind(new_ends)
        .execute(conn)
        .await
        .map_err(grant_error)?;
    Ok(())
}

/// The database's refusal of a right outside the structure's conventions
/// (its trigger), next to the dates.
pub fn grant_error(e: sqlx::Error) -> AppError {
    if let sqlx::Error::Database(d) = &e {
        if d.constraint() == Some("grants_within_ceiling") {
            return AppError::invalid(
                "date_cloture",
                "Aucune convention de la structure n'ouvre ce rôle sur cette période.",
            );
        }
    }
    e.into()
}
