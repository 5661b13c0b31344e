//! The catalogue: online services ("démarches") and their roles.
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RoleOption {
    pub id: i64,
    pub application_code: String,
    pub application: String,
    pub role: String,
}

/// The roles of the catalogue; with an organisation, only those it may
/// hand out (its activated applications).
#[server(endpoint = "list_roles", output = crate::json::Json)]
pub async fn list_roles(#[server(default)] organisation_id: crate::domain::OrganisationId) -> AppResult<Vec<RoleOption>> {
    crate::session::require_user().await?;
    // 0: every role of the catalogue.
    Ok(sqlx::query_as!(
        RoleOption,
        "select r.id, a.code as application_code, a.libelle as application, r.libelle as role
           from roles r join applications a on a.id = r.application_id
          where $1::bigint = 0 or exists (select 1 from organisation_roles o where o.organisation_id = $1 and o.role_id = r.id)
          order by a.position, a.libelle, r.position, r.libelle",
        organisation_id as crate::domain::OrganisationId,
    )
    .fetch_all(&crate::state::pool())
    .await?)
}
