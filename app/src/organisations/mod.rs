//! Organisations ("structures"): register one by SIRET (checked against the
//! SIRENE directory), find existing ones, list mine.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OrganisationSummary {
    pub id: i64,
    pub siret: String,
    pub nom: String,
    pub adresse: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct MyOrganisation {
    pub id: i64,
    pub siret: String,
    pub nom: String,
    pub adresse: String,
    /// `primary_manager`, `org_admin`, or empty for a plain member.
    pub admin_role: String,
    /// Responsable habilitations of an open group of the structure.
    pub responsable: bool,
}

#[server(endpoint = "my_organisations", output = crate::json::Json)]
pub async fn my_organisations() -> AppResult<Vec<MyOrganisation>> {
    let me = crate::session::require_user().await?;
    Ok(sqlx::query_as!(
        MyOrganisation,
        r#"select o.id, o.siret, o.nom, o.adresse, coalesce(m.admin_role, '') as "admin_role!",
                exists (select 1 from user_groups g where g.responsable_id = m.user_id and g.organisation_id = o.id
                           and g.date_ouverture <= current_date
                           and (g.date_cloture is null or g.date_cloture > current_date)) as "responsable!"
           from memberships m join organisations o on o.id = m.organisation_id
          where m.user_id = $1 and o.active order by o.nom"#,
        me.id() as crate::domain::UserId,
    )
    .fetch_all(&crate::state::pool())
    .await?)
}

/// Finds active organisations by SIRET (or its start) or by name.
#[server(endpoint = "search_organisations", output = crate::json::Json)]
pub async fn search_organisations(q: String) -> AppResult<Vec<OrganisationSummary>> {
    crate::session::require_user().await?;
    let q = q.trim();
    if q.chars().count() < 3 {
        return Ok(vec![]);
    }
    let digits: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    let rows = if digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 14 {
            return Ok(vec![]);
        }
        // SIRETs are 14 digits: a prefix is the range from prefix000… to
        // prefix999…, which the unique index on siret serves in any
        // collation (LIKE could not use it under C.UTF-8).
        sqlx::query_as!(
            OrganisationSummary,
            "select id, siret, nom, adresse from organisations
              where active and siret between $1 and $2 order by siret limit 20",
            format!("{digits:0<14}"),
            format!("{digits:9<14}"),
        )
        .fetch_all(&crate::state::pool())
        .await?
    } else {
        // Trigram index on nom serves the ILIKE.
        sqlx::query_as!(
            OrganisationSummary,
            "select id, siret, nom, adresse from organisations
              where active and nom ilike '%' || $1 || '%' order by nom limit 20",
            q.replace('%', "\\%").replace('_', "\\_"),
        )
        .fetch_all(&crate::state::pool())
        .await?
    };
    Ok(rows)
}

/// Registers an organisation from the SIRENE directory; the caller becomes
/// its primary manager.
#[server(endpoint = "register_organisation", output = crate::json::Json)]
pub async fn register_organisation(siret: String) -> AppResult<i64> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let siret = crate::domain::Siret::parse(&siret).map_err(|m| AppError::invalid("siret", m))?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        "select denomination, etat_administratif, adresse, code_postal, commune
           from sirene_etablissements where siret = $1",
        siret.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((nom, etat, adresse, cp, commune)) =
        found.map(|f| (f.denomination, f.etat_administratif, f.adresse, f.code_postal, f.commune))
    else {
        return Err(AppError::invalid(
            "siret",
            "Ce SIRET est inconnu de la base SIRENE de l'INSEE.",
        ));
    };
    if etat != "A" {
        return Err(AppError::invalid(
            "siret",
            "Cet établissement est fermé dans la base SIRENE (état « Fermé ») : il ne peut pas être enregistré.",
        ));
    }
    let adresse = format!("{adresse}, {cp} {commune}")
        .trim_matches([',', ' '])
        .to_string();
    let id = sqlx::query_scalar!(
        "insert into organisations (siret, nom, adresse, created_by) values ($1, $2, $3, $4)
         on conflict (siret) do nothing returning id",
        siret.as_str(),
        &nom,
        &adresse,
        me.id() as crate::domain::UserId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Err(AppError::invalid(
            "siret",
            "Cette structure existe déjà : recherchez-la ci-dessous et demandez un accès pour la rejoindre.",
        ));
    };
    sqlx::query!(
        "insert into memberships (user_id, organisation_id, admin_role) values ($1, $2, 'primary_manager')",
        me.id() as crate::domain::UserId,
        id,
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(me.id().get()),
            organisation_id: Some(id),
            action: "structure.creation",
            target_type: "structure",
            target_id: Some(id),
            before: None,
            after: Some(serde_json::json!({"siret": siret.as_str(), "nom": nom, "gestionnaire_principal": me.id()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Public facts of one active organisation (name, SIRET, address).
#[server(endpoint = "get_organisation", output = crate::json::Json)]
pub async fn get_organisation(id: crate::domain::OrganisationId) -> AppResult<OrganisationSummary> {
    crate::session::require_user().await?;
    sqlx::query_as!(
        OrganisationSummary,
        "select id, siret, nom, adresse from organisations where id = $1 and active",
        id as crate::domain::OrganisationId,
    )
    .fetch_optional(&crate::state::pool())
    .await?
    .ok_or(crate::error::AppError::NotFound)
}
