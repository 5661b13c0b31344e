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

#[server(endpoint = "list_roles")]
pub async fn list_roles() -> AppResult<Vec<RoleOption>> {
    crate::session::require_user().await?;
    Ok(sqlx::query_as(
        "select r.id, a.code as application_code, a.libelle as application, r.libelle as role
           from roles r join applications a on a.id = r.application_id
          order by a.position, a.libelle, r.position, r.libelle",
    )
    .fetch_all(&crate::state::pool())
    .await?)
}
