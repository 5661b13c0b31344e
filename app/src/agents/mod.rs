//! "Liste des agents" of an organisation: search, keyset pagination,
//! "Renvoi de l'identifiant par mail". For its managers and operators.
mod pages;
pub use pages::*;

use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
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
    /// The service (unit) the person is attached to, "" at structure level.
    pub service: String,
    pub date_ouverture: String,
    pub date_cloture: String,
    /// "Ouvert" or "Clôturé", from the dates.
    pub statut: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsPage {
    pub organisation: String,
    pub siret: String,
    /// The caller manages the structure; false for a responsable
    /// habilitations, who sees the users of their groups only.
    pub manager: bool,
    pub rows: Vec<AgentRow>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

/// The columns of a page of agents, around the sub-query that picks it.
#[cfg(feature = "ssr")]
const PAGE_SELECT: &str =
    "select u.id, u.identifier, u.nom, u.prenom, u.email, u.telephone, u.date_ouverture, u.date_cloture,
            u.date_cloture is not null and u.date_cloture <= current_date,
            coalesce(s.code || ' — ' || s.libelle, '')
       from (select m.user_id, m.agent_nom, m.agent_prenom, m.unit_id from ";
#[cfg(feature = "ssr")]
use crate::domain::like_prefix;

/// The bounds `[low, high)`, in byte order (text_pattern_ops), of the
/// lower-cased strings that start with the user's search text (U+10FFFF is
/// above every character a name holds).
#[cfg(feature = "ssr")]
fn prefix_range(s: &str) -> (String, String) {
    let low = s.trim().to_lowercase();
    let high = format!("{low}\u{10FFFF}");
    (low, high)
}

/// The agents attached to an organisation, sorted by name, 50 a page.
/// `q` searches identifiant, nom, prénom and email (prefixes); the other
/// filters apply to their own column.
#[server(endpoint = "list_agents", output = crate::json::Json)]
pub async fn list_agents(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] q: String,
    #[server(default)] identifiant: String,
    #[server(default)] nom: String,
    #[server(default)] prenom: String,
    #[server(default)] after: String,
    #[server(default)] group_id: crate::domain::GroupId,
) -> AppResult<AgentsPage> {
    // Typed at the boundary (0: none); read as numbers below.
    let (group_id,) = (group_id.get(),);
    // Typed at the boundary; read as numbers below.
    let (organisation_id,) = (organisation_id.get(),);
    let me = crate::session::require_user().await?;
    let org = crate::domain::OrganisationId(organisation_id);
    // A responsable habilitations sees the users of the groups they reach.
    let reach_of = (!me.manages_or_reaches(org).await?).then(|| me.id());
    let pool = crate::state::pool();
    let names = sqlx::query!("select nom, siret from organisations where id = $1", org as crate::domain::OrganisationId)
        .fetch_one(&pool)
        .await?;
    let (organisation, siret) = (names.nom, names.siret);
    // Keyset cursor: (nom, prénom, id) of the last row shown.
    let cursor: Option<(String, String, i64)> = if after.is_empty() {
        None
    } else {
        serde_json::from_str(&after).ok()
    };
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
        String,
    );
    // The sort key is copied onto memberships (migration 0007): the page
    // is picked among the organisation's memberships first, 51 rows from
    // the cursor on in the order of the index (organisation, nom, prénom,
    // user), and only then joined to users. A name prefix is matched on its
    // own index (organisation, lower(nom)) and only its matches are sorted:
    // they sit together in name order, so walking the sorted index to them
    // could cross the whole organisation. Only the filters in use are in
    // the SQL.
    // The strings that start with the typed name, lower-cased: a range of
    // the index in byte order (text_pattern_ops), no LIKE to evaluate.
    let (nom_low, nom_high) = prefix_range(&nom);
    let (q, identifiant, prenom) = (
        like_prefix(&q),
        like_prefix(&identifiant),
        like_prefix(&prenom),
    );
    let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
    sql.push(PAGE_SELECT);
    if group_id != 0 || reach_of.is_some() {
        // « Sélectionner un groupe », or a responsable's reach: the
        // group's open members are found first (a few index probes), then
        // sorted, instead of testing every agent of the structure.
        sql.push(
            "(select distinct m.user_id, m.organisation_id, m.agent_nom, m.agent_prenom, m.unit_id
                from group_memberships gm
                join memberships m on m.user_id = gm.user_id and m.organisation_id = gm.organisation_id
               where gm.organisation_id = ",
        )
        .push_bind(org)
        .push(" and gm.date_ouverture <= current_date and (gm.date_cloture is null or gm.date_cloture > current_date)");
        if group_id != 0 {
            sql.push(" and gm.group_id = ").push_bind(group_id);
        }
        if let Some(me) = reach_of {
            sql.push(" and gm.group_id in (select group_id from responsable_reach(")
                .push_bind(me)
                .push(", current_date))");
        }
        if !nom_low.is_empty() {
            sql.push(" and lower(m.agent_nom) ~>=~ ")
                .push_bind(nom_low)
                .push(" and lower(m.agent_nom) ~<~ ")
                .push_bind(nom_high);
        }
        sql.push(" offset 0) m");
    } else if nom_low.is_empty() {
        sql.push("memberships m");
    } else {
        // OFFSET 0 keeps the planner from walking the sorted index instead.
        sql.push(
            "(select user_id, organisation_id, agent_nom, agent_prenom, unit_id from memberships
               where organisation_id = ",
        )
        .push_bind(org)
        .push(" and lower(agent_nom) ~>=~ ")
        .push_bind(nom_low)
        .push(" and lower(agent_nom) ~<~ ")
        .push_bind(nom_high)
        .push(" offset 0) m");
    }
    if !q.is_empty() || !identifiant.is_empty() {
        sql.push(" join users f on f.id = m.user_id");
    }
    sql.push(" where m.organisation_id = ").push_bind(org);
    if !q.is_empty() {
        sql.push(" and (lower(f.identifier) like ")
            .push_bind(q.clone())
            .push(" || '%' or lower(m.agent_nom) like ")
            .push_bind(q.clone())
            .push(" || '%' or lower(m.agent_prenom) like ")
            .push_bind(q.clone())
            .push(" || '%' or f.email like ")
            .push_bind(q)
            .push(" || '%')");
    }
    if !identifiant.is_empty() {
        sql.push(" and lower(f.identifier) like ")
            .push_bind(identifiant)
            .push(" || '%'");
    }
    if !prenom.is_empty() {
        sql.push(" and lower(m.agent_prenom) like ")
            .push_bind(prenom)
            .push(" || '%'");
    }
    if let Some((c_nom, c_prenom, c_id)) = cursor {
        sql.push(" and (m.agent_nom, m.agent_prenom, m.user_id) > (")
            .push_bind(c_nom)
            .push(", ")
            .push_bind(c_prenom)
            .push(", ")
            .push_bind(c_id)
            .push(")");
    }
    sql.push(" order by m.agent_nom, m.agent_prenom, m.user_id limit ")
        .push_bind(PAGE_SIZE + 1)
        .push(
            ") p join users u on u.id = p.user_id
             left join units s on s.id = p.unit_id
             order by p.agent_nom, p.agent_prenom, p.user_id",
        );
    let mut rows: Vec<Row> = sql.build_query_as().fetch_all(&pool).await?;
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
            |(
                id,
                identifier,
                nom,
                prenom,
                email,
                telephone,
                ouverture,
                cloture,
                closed,
                service,
            )| {
                AgentRow {
                    id,
                    identifier,
                    nom,
                    prenom,
                    email,
                    telephone: telephone.unwrap_or_default(),
                    service,
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
        manager: reach_of.is_none(),
        rows,
        next,
    })
}

/// "Renvoi de l'identifiant par mail": reminds an agent of their identifier.
#[server(endpoint = "resend_identifier", output = crate::json::Json)]
pub async fn resend_identifier(organisation_id: crate::domain::OrganisationId, user_id: crate::domain::UserId) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let agent = sqlx::query!(
        "select u.email, u.identifier, o.nom from memberships m join users u on u.id = m.user_id
           join organisations o on o.id = m.organisation_id
          where m.organisation_id = $1 and m.user_id = $2",
        manager.organisation_id() as crate::domain::OrganisationId,
        user_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, identifier, org)) = agent.map(|a| (a.email, a.identifier, a.nom)) else {
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
        manager.event(
            "utilisateur.renvoi_identifiant",
            "utilisateur",
            Some(user_id),
            None,
            None,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
