//! Units ("services" of a structure): create, consult, modify, activate,
//! deactivate. For the organisation's managers and operators.
mod pages;
pub use pages::*;

use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub libelle: String,
    pub active: bool,
    pub numero_engagement_obligatoire: bool,
}

/// A unit code: trimmed, upper-cased, 1 to 30 letters, digits, '-' or '_'.
pub fn parse_code(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_uppercase();
    if code.is_empty() {
        return Err("Saisissez le code du service.".into());
    }
    if code.len() > 30
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("Le code ne peut contenir que des lettres sans accent, des chiffres, « - » et « _ » (30 au plus).".into());
    }
    Ok(code)
}

#[server(endpoint = "list_units", output = crate::json::Json)]
pub async fn list_units(organisation_id: crate::domain::OrganisationId) -> AppResult<Vec<Unit>> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    Ok(sqlx::query_as!(
        Unit,
        "select id, code, libelle, active, numero_engagement_obligatoire from units
          where organisation_id = $1 order by code",
        manager.organisation_id() as crate::domain::OrganisationId,
    )
    .fetch_all(&crate::state::pool())
    .await?)
}

/// Creates a unit (`id` = 0) or modifies one of the organisation.
#[server(endpoint = "save_unit", output = crate::json::Json)]
pub async fn save_unit(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] id: crate::domain::UnitId,
    code: String,
    libelle: String,
    #[server(default)] numero_engagement_obligatoire: Option<String>,
) -> AppResult<i64> {
    use crate::domain::{OrganisationId, UnitId};
    use crate::error::{AppError, Errors};
    let creating = id.get() == 0;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let mut errs = Errors::default();
    let code = errs.check("code", parse_code(&code));
    let libelle = libelle.split_whitespace().collect::<Vec<_>>().join(" ");
    if libelle.is_empty() || libelle.chars().count() > 200 {
        errs.add("libelle", "Saisissez un libellé (200 caractères au plus).");
    }
    errs.finish()?;
    let code = code.unwrap();
    let flag = numero_engagement_obligatoire.is_some();
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let before: Option<serde_json::Value> = if creating {
        None
    } else {
        let row = sqlx::query_scalar!(
            r#"select to_jsonb(u) - 'created_at' as "unit!" from units u where id = $1 and organisation_id = $2 for update"#,
            id as UnitId,
            manager.organisation_id() as OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?;
        Some(row.ok_or(AppError::NotFound)?)
    };
    let saved = if creating {
        sqlx::query_scalar!(
            "insert into units (organisation_id, code, libelle, numero_engagement_obligatoire) values ($1, $2, $3, $4) returning id",
            manager.organisation_id() as OrganisationId,
            &code,
            &libelle,
            flag,
        )
        .fetch_one(&mut *tx)
        .await
    } else {
        sqlx::query_scalar!(
            "update units set code = $3, libelle = $4, numero_engagement_obligatoire = $5
              where id = $1 and organisation_id = $2 returning id",
            id as UnitId,
            manager.organisation_id() as OrganisationId,
            &code,
            &libelle,
            flag,
        )
        .fetch_one(&mut *tx)
        .await
    };
    let unit_id = match saved {
        Ok(uid) => uid,
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("units_code_key") => {
            return Err(AppError::invalid(
                "code",
                "Ce code est déjà utilisé par un autre service de la structure.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            if creating { "service.creation" } else { "service.modification" },
            "service",
            Some(unit_id),
            before,
            Some(serde_json::json!({"code": code, "libelle": libelle, "numero_engagement_obligatoire": flag})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(unit_id)
}

/// Activates or deactivates a unit of the organisation.
#[server(endpoint = "set_unit_active", output = crate::json::Json)]
pub async fn set_unit_active(organisation_id: crate::domain::OrganisationId, id: crate::domain::UnitId, active: bool) -> AppResult<()> {
    use crate::domain::{OrganisationId, UnitId};
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "update units set active = $3 where id = $1 and organisation_id = $2 and active <> $3",
        id as UnitId,
        manager.organisation_id() as OrganisationId,
        active,
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        let exists = sqlx::query_scalar!(
            "select id from units where id = $1 and organisation_id = $2",
            id as UnitId,
            manager.organisation_id() as OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?;
        return if exists.is_some() {
            Ok(())
        } else {
            Err(AppError::NotFound)
        };
    }
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            if active {
                "service.activation"
            } else {
                "service.desactivation"
            },
            "service",
            Some(id.get()),
            Some(serde_json::json!({"active": !active})),
            Some(serde_json::json!({"active": active})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_are_normalised_and_checked() {
        assert_eq!(parse_code(" compta-01 ").unwrap(), "COMPTA-01");
        assert!(parse_code("").is_err());
        assert!(parse_code("élève").is_err());
        assert!(parse_code(&"A".repeat(31)).is_err());
    }
}
