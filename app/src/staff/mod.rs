//! The operator's own staff (CAF « Agents Caf »: consulter, créer un agent):
//! the platform's operators, listed and created the way a structure's
//! agents are, with a fiche and an invitation to choose a password. They
//! belong to no structure. Operators only.
mod pages;
pub use pages::*;

#[cfg(feature = "ssr")]
use crate::domain::AgentFields;
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffRow {
    pub id: i64,
    pub identifier: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub statut: String,
    pub date_ouverture: String,
    pub date_cloture: String,
    /// The caller themselves (never closed from here).
    pub me: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffPage {
    pub rows: Vec<StaffRow>,
    /// The last row's id, when more follow.
    pub next: Option<i64>,
}

#[cfg(feature = "ssr")]
const PAGE: i64 = 50;

/// « Consulter les agents de l'opérateur »: by name, filtered by a text
/// (identifiant, nom, prénom or adresse), a page at a time by keys.
#[server(endpoint = "list_staff", output = crate::json::Json)]
pub async fn list_staff(
    #[server(default)] q: String,
    #[server(default)] after: i64,
) -> AppResult<StaffPage> {
    let op = crate::session::require_operator().await?;
    let q = q.trim().to_lowercase();
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        chrono::NaiveDate,
        Option<chrono::NaiveDate>,
    );
    let mut rows: Vec<Row> = sqlx::query!(
        r#"select u.id, u.identifier, u.nom, u.prenom, u.email, u.date_ouverture as "date_ouverture: chrono::NaiveDate",
                  u.date_cloture as "date_cloture?: chrono::NaiveDate"
           from users u
          where u.is_operator
            and ($1 = '' or u.identifier = upper($1) or u.email = $1
                 or lower(u.nom) like '%' || $1 || '%' or lower(u.prenom) like '%' || $1 || '%')
            and ($2::bigint = 0 or (upper(u.nom), upper(u.prenom), u.id)
                          > (select upper(nom), upper(prenom), id from users where id = $2))
          order by upper(u.nom), upper(u.prenom), u.id
          limit $3"#,
        &q,
        after,
        PAGE + 1,
    )
    .fetch_all(&crate::state::pool())
    .await?
    .into_iter()
    .map(|r| (r.id, r.identifier, r.nom, r.prenom, r.email, r.date_ouverture, r.date_cloture))
    .collect();
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let today = chrono::Local::now().date_naive();
    Ok(StaffPage {
        next: if more { rows.last().map(|r| r.0) } else { None },
        rows: rows
            .into_iter()
            .map(|(id, identifier, nom, prenom, email, o, c)| StaffRow {
                me: id == op.id().get(),
                id,
                identifier,
                nom,
                prenom,
                email,
                statut: crate::domain::statut(o, c, today).into(),
                date_ouverture: o.to_string(),
                date_cloture: c.map(|c| c.to_string()).unwrap_or_default(),
            })
            .collect(),
    })
}

/// « Créer un agent » of the operator: an operator account from the fiche,
/// attached to no structure; its owner receives a link (valid 7 days) to
/// choose a password. An address that already has an account is refused
/// (the operator sees every account: nothing to hide).
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "create_staff", output = crate::json::Json)]
pub async fn create_staff(
    #[server(default)] civilite: String,
    #[server(default)] nom: String,
    #[server(default)] prenom: String,
    #[server(default)] email: String,
    #[server(default)] email_confirmation: String,
    #[server(default)] telephone: String,
    #[server(default)] telephone_confirmation: String,
    #[server(default)] poste: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<String> {
    use crate::error::{AppError, Errors};
    let op = crate::session::require_operator().await?;
    let mut errs = Errors::default();
    let fields = AgentFields {
        civilite,
        nom,
        prenom,
        email,
        email_confirmation,
        telephone,
        telephone_confirmation,
        poste,
        date_ouverture,
        date_cloture,
    };
    let a = fields.parse(&mut errs, chrono::Local::now().date_naive(), None);
    errs.finish()?;
    let a = a.ok_or(AppError::Internal)?;
    let mut tx = crate::state::pool().begin().await?;
    // An operator's account: attached to no structure.
    let (id, identifier) = crate::users::ssr::insert_account(&mut tx, &a, op.id(), None).await?;
    let id = id.get();
    let token = crate::auth::ssr::create_token(&mut tx, id, "invite", 7 * 24 * 60).await?;
    crate::mail::ssr::enqueue(
        &mut tx,
        a.email.as_str(),
        "Votre compte d'agent de l'opérateur Habilitations",
        &format!(
            "Un agent de l'opérateur vous a créé un compte Habilitations (identifiant {identifier}) pour administrer la plateforme.\n\nPour choisir votre mot de passe et activer votre compte, ouvrez ce lien (valable 7 jours) : {}",
            crate::mail::ssr::link(&format!("/invitation?jeton={token}"))
        ),
    )
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event::by(
            op.id(),
            None,
            "operateur.agent_creation",
            "utilisateur",
            Some(id),
            None,
            Some(crate::users::ssr::fiche_json(&a)),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(identifier)
}

/// « Clôturer » an agent of the operator from today: their sessions end
/// and they can no longer sign in. Never oneself (one operator always
/// remains).
#[server(endpoint = "close_staff", output = crate::json::Json)]
pub async fn close_staff(user_id: crate::domain::UserId) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (user_id,) = (user_id.get(),);
    use crate::error::AppError;
    let op = crate::session::require_operator().await?;
    if user_id == op.id().get() {
        return Err(AppError::Conflict(
            "Vous ne pouvez pas clôturer votre propre compte : un autre agent de l'opérateur doit le faire.".into(),
        ));
    }
    let mut tx = crate::state::pool().begin().await?;
    let row = sqlx::query_scalar!(
        r#"select date_cloture as "date_cloture?: chrono::NaiveDate" from users where id = $1 and is_operator for update"#,
        user_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let before = row.ok_or(AppError::NotFound)?;
    let today = chrono::Local::now().date_naive();
    if before.is_some_and(|c| c <= today) {
        return Err(AppError::Conflict("Ce compte est déjà clôturé.".into()));
    }
    sqlx::query!(
        "update users set date_cloture = current_date, session_generation = session_generation + 1 where id = $1",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event::by(
            op.id(),
            None,
            "operateur.agent_cloture",
            "utilisateur",
            Some(user_id),
            Some(serde_json::json!({"date_cloture": before.map(|d| d.to_string()).unwrap_or_default()})),
            Some(serde_json::json!({"date_cloture": today.to_string()})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
