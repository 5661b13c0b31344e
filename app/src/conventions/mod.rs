//! "Démarches activées": the applications an organisation may use and the
//! roles each may hand out (the seed of conventions). The operator sets
//! them; the organisation's administrators read them. It is the ceiling
//! of every grant (also enforced by a trigger on `grants`).
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CeilingRole {
    pub id: i64,
    pub libelle: String,
    pub allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    pub application_id: i64,
    pub code: String,
    pub libelle: String,
    pub description: String,
    pub active: bool,
    pub roles: Vec<CeilingRole>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesOfOrg {
    pub organisation: String,
    pub siret: String,
    pub applications: Vec<Activation>,
}

/// Every application of the catalogue, with what the organisation has
/// activated. For the organisation's administrators and operators.
#[server(endpoint = "org_services", output = crate::json::Json)]
pub async fn org_services(organisation_id: i64) -> AppResult<ServicesOfOrg> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let (organisation, siret): (String, String) =
        sqlx::query_as("select nom, siret from organisations where id = $1")
            .bind(manager.organisation_id())
            .fetch_one(&pool)
            .await?;
    type Row = (i64, String, String, String, bool, i64, String, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "select a.id, a.code, a.libelle, a.description, oa.application_id is not null,
                r.id, r.libelle, orl.role_id is not null
           from applications a join roles r on r.application_id = a.id
           left join organisation_applications oa on oa.application_id = a.id and oa.organisation_id = $1
           left join organisation_roles orl on orl.role_id = r.id and orl.organisation_id = $1
          order by a.position, a.libelle, r.position, r.libelle",
    )
    .bind(manager.organisation_id())
    .fetch_all(&pool)
    .await?;
    let mut applications: Vec<Activation> = vec![];
    for (app_id, code, libelle, description, active, role_id, role, allowed) in rows {
        if applications.last().map(|a| a.application_id) != Some(app_id) {
            applications.push(Activation {
                application_id: app_id,
                code,
                libelle,
                description,
                active,
                roles: vec![],
            });
        }
        applications.last_mut().unwrap().roles.push(CeilingRole {
            id: role_id,
            libelle: role,
            allowed,
        });
    }
    Ok(ServicesOfOrg {
        organisation,
        siret,
        applications,
    })
}

/// Parses a comma-separated list of ids ("12,15").
pub fn parse_ids(raw: &str) -> Result<Vec<i64>, String> {
    let mut ids = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| "Sélection invalide.".to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Operator: sets the roles an organisation may hand out on one
/// application. No role deactivates the application. Rights and pending
/// requests outside the new ceiling end at once, in the same transaction.
#[server(endpoint = "set_org_service", output = crate::json::Json)]
pub async fn set_org_service(
    organisation_id: i64,
    application_id: i64,
    #[server(default)] role_ids: String,
) -> AppResult<()> {
    use crate::error::AppError;
    let op = crate::session::require_operator().await?;
    let wanted = parse_ids(&role_ids).map_err(|m| AppError::invalid("role_ids", m))?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let org: Option<(i64,)> =
        sqlx::query_as("select id from organisations where id = $1 for update")
            .bind(organisation_id)
            .fetch_optional(&mut *tx)
            .await?;
    if org.is_none() {
        return Err(AppError::NotFound);
    }
    let app_roles: Vec<(i64, String)> =
        sqlx::query_as("select id, libelle from roles where application_id = $1")
            .bind(application_id)
            .fetch_all(&mut *tx)
            .await?;
    if app_roles.is_empty() {
        return Err(AppError::NotFound);
    }
    if let Some(bad) = wanted
        .iter()
        .find(|w| !app_roles.iter().any(|(id, _)| id == *w))
    {
        return Err(AppError::invalid(
            "role_ids",
            format!("Le rôle {bad} n'appartient pas à cette démarche."),
        ));
    }
    let libelles = |ids: &[i64]| -> Vec<String> {
        app_roles
            .iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(_, l)| l.clone())
            .collect()
    };
    let before: Vec<(i64,)> = sqlx::query_as(
        "select role_id from organisation_roles where organisation_id = $1 and application_id = $2 order by role_id",
    )
    .bind(organisation_id)
    .bind(application_id)
    .fetch_all(&mut *tx)
    .await?;
    let before: Vec<i64> = before.into_iter().map(|r| r.0).collect();
    if before == wanted {
        return Ok(());
    }
    if wanted.is_empty() {
        sqlx::query(
            "delete from organisation_applications where organisation_id = $1 and application_id = $2",
        )
        .bind(organisation_id)
        .bind(application_id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "insert into organisation_applications (organisation_id, application_id, activated_by)
             values ($1, $2, $3) on conflict do nothing",
        )
        .bind(organisation_id)
        .bind(application_id)
        .bind(op.id())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "delete from organisation_roles where organisation_id = $1 and application_id = $2
                and role_id <> all($3)",
        )
        .bind(organisation_id)
        .bind(application_id)
        .bind(&wanted)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into organisation_roles (organisation_id, application_id, role_id)
             select $1, $2, unnest($3::bigint[]) on conflict do nothing",
        )
        .bind(organisation_id)
        .bind(application_id)
        .bind(&wanted)
        .execute(&mut *tx)
        .await?;
    }
    let removed: Vec<i64> = before
        .iter()
        .copied()
        .filter(|r| !wanted.contains(r))
        .collect();
    let ended = ssr::end_grants(
        &mut tx,
        ssr::Rights::Roles(crate::domain::OrganisationId(organisation_id), &removed),
    )
    .await?;
    sqlx::query(
        "update access_requests set status = 'expired', decided_at = now(),
                decision_comment = 'Démarche ou rôle retiré de la structure'
          where organisation_id = $1 and role_id = any($2) and status = 'pending'",
    )
    .bind(organisation_id)
    .bind(&removed)
    .execute(&mut *tx)
    .await?;
    let action = if before.is_empty() {
        "demarche.activation"
    } else if wanted.is_empty() {
        "demarche.desactivation"
    } else {
        "demarche.modification"
    };
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(op.id().get()),
            organisation_id: Some(organisation_id),
            action,
            target_type: "demarche",
            target_id: Some(application_id),
            before: Some(serde_json::json!({"roles": libelles(&before)})),
            after: Some(
                serde_json::json!({"roles": libelles(&wanted), "habilitations_closes": ended}),
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::domain::{OrganisationId, RoleId, UserId};
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
    pub async fn end_grants(
        conn: &mut PgConnection,
        which: Rights<'_>,
    ) -> Result<u64, sqlx::Error> {
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

    /// True when the organisation may hand out the role.
    pub async fn within_ceiling(
        conn: &mut PgConnection,
        organisation_id: OrganisationId,
        role_id: RoleId,
    ) -> Result<bool, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "select role_id from organisation_roles where organisation_id = $1 and role_id = $2",
        )
        .bind(organisation_id)
        .bind(role_id)
        .fetch_optional(conn)
        .await?;
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_sorted_and_deduplicated() {
        assert_eq!(parse_ids(" 15,12,,15 ").unwrap(), vec![12, 15]);
        assert_eq!(parse_ids("").unwrap(), Vec::<i64>::new());
        assert!(parse_ids("12,x").is_err());
    }
}
