//! "Liste des agents" of an organisation: search, keyset pagination,
//! "Renvoi de l'identifiant par mail". For its managers and operators.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: i64,
    pub identifier: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub telephone: String,
    pub date_ouverture: String,
    pub date_cloture: String,
    /// "Ouvert" or "Clôturé", from the dates.
    pub statut: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsPage {
    pub organisation: String,
    pub siret: String,
    pub rows: Vec<AgentRow>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

#[cfg(feature = "ssr")]
use crate::domain::like_prefix;

/// The agents attached to an organisation, sorted by name, 50 a page.
/// `q` searches identifiant, nom, prénom and email (prefixes); the other
/// filters apply to their own column.
#[server(endpoint = "list_agents")]
pub async fn list_agents(
    organisation_id: i64,
    #[server(default)] q: String,
    #[server(default)] identifiant: String,
    #[server(default)] nom: String,
    #[server(default)] prenom: String,
    #[server(default)] after: String,
) -> AppResult<AgentsPage> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let (organisation, siret): (String, String) =
        sqlx::query_as("select nom, siret from organisations where id = $1")
            .bind(manager.organisation_id)
            .fetch_one(&pool)
            .await?;
    // Keyset cursor: (nom, prénom, id) of the last row shown.
    let cursor: Option<(String, String, i64)> = if after.is_empty() {
        None
    } else {
        serde_json::from_str(&after).ok()
    };
    let (c_nom, c_prenom, c_id) = cursor.clone().unwrap_or_default();
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
        chrono::NaiveDate,
        Option<chrono::NaiveDate>,
        bool,
    );
    let mut rows: Vec<Row> = sqlx::query_as(
        "select u.id, u.identifier, u.nom, u.prenom, u.email, u.telephone, u.date_ouverture, u.date_cloture,
                u.date_cloture is not null and u.date_cloture <= current_date
           from memberships m join users u on u.id = m.user_id
          where m.organisation_id = $1
            and ($2 = '' or lower(u.identifier) like $2 || '%' or lower(u.nom) like $2 || '%'
                 or lower(u.prenom) like $2 || '%' or u.email like $2 || '%')
            and ($3 = '' or lower(u.identifier) like $3 || '%')
            and ($4 = '' or lower(u.nom) like $4 || '%')
            and ($5 = '' or lower(u.prenom) like $5 || '%')
            and (not $6 or (u.nom, u.prenom, u.id) > ($7, $8, $9))
          order by u.nom, u.prenom, u.id
          limit $10",
    )
    .bind(manager.organisation_id)
    .bind(like_prefix(&q))
    .bind(like_prefix(&identifiant))
    .bind(like_prefix(&nom))
    .bind(like_prefix(&prenom))
    .bind(cursor.is_some())
    .bind(c_nom)
    .bind(c_prenom)
    .bind(c_id)
    .bind(PAGE_SIZE + 1)
    .fetch_all(&pool)
    .await?;
    let next = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last()
            .and_then(|r| serde_json::to_string(&(&r.2, &r.3, r.0)).ok())
    } else {
        None
    };
    let rows = rows
        .into_iter()
        .map(
            |(id, identifier, nom, prenom, email, telephone, ouverture, cloture, closed)| {
                AgentRow {
                    id,
                    identifier,
                    nom,
                    prenom,
                    email,
                    telephone: telephone.unwrap_or_default(),
                    date_ouverture: crate::ui::date_fr(&ouverture),
                    date_cloture: cloture.map(|d| crate::ui::date_fr(&d)).unwrap_or_default(),
                    statut: if closed { "Clôturé" } else { "Ouvert" }.into(),
                }
            },
        )
        .collect();
    Ok(AgentsPage {
        organisation,
        siret,
        rows,
        next,
    })
}

/// "Renvoi de l'identifiant par mail": reminds an agent of their identifier.
#[server(endpoint = "resend_identifier")]
pub async fn resend_identifier(organisation_id: i64, user_id: i64) -> AppResult<()> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let agent: Option<(String, String, String)> = sqlx::query_as(
        "select u.email, u.identifier, o.nom from memberships m join users u on u.id = m.user_id
           join organisations o on o.id = m.organisation_id
          where m.organisation_id = $1 and m.user_id = $2",
    )
    .bind(manager.organisation_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, identifier, org)) = agent else {
        return Err(AppError::NotFound);
    };
    crate::mail::ssr::enqueue(
        &mut tx,
        &email,
        "Votre identifiant Habilitations",
        &format!(
            "À la demande de l'administrateur de la structure {org}, voici votre identifiant : {identifier}\n\nVous vous connectez avec votre adresse électronique et votre mot de passe : {}",
            crate::mail::ssr::link("/connexion")
        ),
    )
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(manager.user_id),
            organisation_id: Some(manager.organisation_id),
            action: "utilisateur.renvoi_identifiant",
            target_type: "utilisateur",
            target_id: Some(user_id),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
