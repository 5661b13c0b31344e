//! Organisation administrators: the operator finds organisations, names and
//! removes their admins and sets how many they may have. The transfer of the
//! primary manager lives in `transfer`.
mod pages;
mod transfer;
mod transfer_page;
pub use pages::*;
pub use transfer::*;
pub use transfer_page::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Someone attached to an organisation, as shown in lists and selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Member {
    pub id: i64,
    pub identifier: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    /// `primary_manager`, `org_admin`, or empty for a plain member.
    pub admin_role: String,
}

impl Member {
    pub fn label(&self) -> String {
        format!("{} {} — {}", self.nom, self.prenom, self.email)
    }
}

/// One organisation in the operator's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct OrgRow {
    pub id: i64,
    pub siret: String,
    pub nom: String,
    pub active: bool,
    pub max_admins: i32,
    /// "Prénom Nom" of the primary manager, empty when there is none.
    pub primary_manager: String,
    pub admins: i64,
    /// The name as the database sorts it (keyset cursor).
    pub sort_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSearchResults {
    pub rows: Vec<OrgRow>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

/// The administration of one organisation, for the operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgAdmins {
    pub id: i64,
    pub siret: String,
    pub nom: String,
    pub adresse: String,
    pub active: bool,
    pub max_admins: i32,
    pub primary_manager: Option<Member>,
    pub admins: Vec<Member>,
    /// Attached members with an open account who could be named, by name.
    pub candidates: Vec<Member>,
    /// More candidates exist than the list shows.
    pub more_candidates: bool,
}

pub const ORG_PAGE_SIZE: i64 = 20;
/// At most this many people in a select; beyond, the list says so.
pub const SELECT_LIMIT: i64 = 200;
pub const MAX_ADMINS_CEILING: i32 = 10;

/// A user id chosen in a select ("" when nothing is chosen).
pub fn parse_user_choice(raw: &str) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| "Choisissez une personne dans la liste.".to_string())
}

/// "Nombre maximal d'administrateurs": 1 to 10.
pub fn parse_max_admins(raw: &str) -> Result<i32, String> {
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=MAX_ADMINS_CEILING).contains(n))
        .ok_or_else(|| format!("Saisissez un nombre entre 1 et {MAX_ADMINS_CEILING}."))
}

/// "1 administrateur", "2 administrateurs".
pub fn administrateurs(n: i64) -> String {
    format!("{n} administrateur{}", if n > 1 { "s" } else { "" })
}

/// Operator: organisations by SIRET prefix (digits) or name prefix, keyset
/// paginated, active and inactive alike.
#[server(endpoint = "operator_organisations", output = crate::json::Json)]
pub async fn operator_organisations(
    #[server(default)] q: String,
    #[server(default)] after: String,
) -> AppResult<OrgSearchResults> {
    crate::session::require_operator().await?;
    let pool = crate::state::pool();
    let digits: String = q.chars().filter(|c| !c.is_whitespace()).collect();
    let by_siret = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let mut rows: Vec<OrgRow> = if by_siret {
        // By SIRET prefix, in SIRET order (the cursor is the last SIRET).
        sqlx::query_as!(
            OrgRow,
            r#"select o.id, o.siret, o.nom, o.active, o.max_admins, lower(o.nom) as "sort_key!",
                    coalesce((select u.prenom || ' ' || u.nom from memberships m join users u on u.id = m.user_id
                               where m.organisation_id = o.id and m.admin_role = 'primary_manager'), '') as "primary_manager!",
                    (select count(*) from memberships m where m.organisation_id = o.id and m.admin_role = 'org_admin') as "admins!"
               from organisations o
              where o.siret like $1 || '%' and o.siret > $2 order by o.siret limit $3"#,
            &digits,
            &after,
            ORG_PAGE_SIZE + 1,
        )
        .fetch_all(&pool)
        .await?
    } else {
        // Keyset cursor: (lower-cased name, id) of the last row shown.
        let cursor: Option<(String, i64)> = serde_json::from_str(&after).ok();
        let (c_nom, c_id) = cursor.clone().unwrap_or_default();
        sqlx::query_as!(
            OrgRow,
            r#"select o.id, o.siret, o.nom, o.active, o.max_admins, lower(o.nom) as "sort_key!",
                    coalesce((select u.prenom || ' ' || u.nom from memberships m join users u on u.id = m.user_id
                               where m.organisation_id = o.id and m.admin_role = 'primary_manager'), '') as "primary_manager!",
                    (select count(*) from memberships m where m.organisation_id = o.id and m.admin_role = 'org_admin') as "admins!"
               from organisations o
              where lower(o.nom) like $1 || '%'
                and (not $2 or (lower(o.nom), o.id) > ($3, $4))
              order by lower(o.nom), o.id limit $5"#,
            crate::domain::like_prefix(&q),
            cursor.is_some(),
            c_nom,
            c_id,
            ORG_PAGE_SIZE + 1,
        )
        .fetch_all(&pool)
        .await?
    };
    let next = if rows.len() as i64 > ORG_PAGE_SIZE {
        rows.truncate(ORG_PAGE_SIZE as usize);
        rows.last().map(|r| {
            if by_siret {
                r.siret.clone()
            } else {
                serde_json::to_string(&(&r.sort_key, r.id)).unwrap_or_default()
            }
        })
    } else {
        None
    };
    Ok(OrgSearchResults { rows, next })
}

/// Operator: an organisation's primary manager, admins, and the attached
/// members who could be named admin.
#[server(endpoint = "list_org_admins", output = crate::json::Json)]
pub async fn list_org_admins(organisation_id: crate::domain::OrganisationId) -> AppResult<OrgAdmins> {
    use crate::error::AppError;
    crate::session::require_operator().await?;
    let pool = crate::state::pool();
    let org = sqlx::query!(
        "select id, siret, nom, adresse, active, max_admins from organisations where id = $1",
        organisation_id as crate::domain::OrganisationId,
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let (id, siret, nom, adresse, active, max_admins) =
        (org.id, org.siret, org.nom, org.adresse, org.active, org.max_admins);
    // The primary manager and the admins; then the attached members who
    // could be named.
    let holders = sqlx::query_as!(
        Member,
        r#"select u.id, u.identifier, u.nom, u.prenom, u.email, coalesce(m.admin_role, '') as "admin_role!"
             from memberships m join users u on u.id = m.user_id
            where m.organisation_id = $1 and m.admin_role is not null
            order by u.nom, u.prenom, u.id"#,
        id,
    )
    .fetch_all(&pool)
    .await?;
    let mut candidates = sqlx::query_as!(
        Member,
        r#"select u.id, u.identifier, u.nom, u.prenom, u.email, coalesce(m.admin_role, '') as "admin_role!"
             from memberships m join users u on u.id = m.user_id
            where m.organisation_id = $1 and m.admin_role is null
              and (u.date_cloture is null or u.date_cloture > current_date)
            order by u.nom, u.prenom, u.id limit $2"#,
        id,
        SELECT_LIMIT + 1,
    )
    .fetch_all(&pool)
    .await?;
    let more_candidates = candidates.len() as i64 > SELECT_LIMIT;
    candidates.truncate(SELECT_LIMIT as usize);
    let (primary, admins): (Vec<Member>, Vec<Member>) = holders
        .into_iter()
        .partition(|m| m.admin_role == "primary_manager");
    Ok(OrgAdmins {
        id,
        siret,
        nom,
        adresse,
        active,
        max_admins,
        primary_manager: primary.into_iter().next(),
        admins,
        candidates,
        more_candidates,
    })
}

/// Operator: names (`admin` = true) or removes an organisation admin. The
/// person must be attached; the primary manager is never changed here; the
/// database refuses more than `max_admins` admins, also under races.
#[server(endpoint = "set_org_admin", output = crate::json::Json)]
pub async fn set_org_admin(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] user_id: String,
    admin: bool,
) -> AppResult<()> {
    use crate::domain::OrganisationId;
    use crate::error::AppError;
    let op = crate::session::require_operator().await?;
    let pool = crate::state::pool();
    // A choice from the list (an id) or, in large structures, the email
    // address or identifiant of an attached person.
    let user_id = match parse_user_choice(&user_id) {
        Ok(id) => id,
        Err(m) if user_id.trim().is_empty() => return Err(AppError::invalid("user_id", m)),
        Err(_) => {
            let key = user_id.trim();
            let found = sqlx::query_scalar!(
                "select u.id from users u
                   join memberships m on m.user_id = u.id and m.organisation_id = $3
                  where u.email = $1 or u.identifier = $2",
                key.to_lowercase(),
                key.to_uppercase(),
                organisation_id as OrganisationId,
            )
            .fetch_optional(&pool)
            .await?;
            found.ok_or_else(|| {
                AppError::invalid(
                    "user_id",
                    "Aucune personne rattachée à la structure n'a cette adresse mail ou cet identifiant.",
                )
            })?
        }
    };
    if user_id == op.id().get() {
        return Err(AppError::Conflict(
            "Vous ne pouvez pas modifier vos propres droits d'administration.".into(),
        ));
    }
    let mut tx = pool.begin().await?;
    // The organisation row lock orders concurrent namings (the limit trigger
    // takes the same lock).
    let org = sqlx::query!(
        "select nom, max_admins from organisations where id = $1 for update",
        organisation_id as OrganisationId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let (org_nom, max_admins) = (org.nom, org.max_admins);
    let member = sqlx::query!(
        r#"select coalesce(m.admin_role, '') as "role!", u.prenom, u.nom, u.email,
                u.date_cloture is not null and u.date_cloture <= current_date as "closed!"
           from memberships m join users u on u.id = m.user_id
          where m.user_id = $1 and m.organisation_id = $2 for update of m"#,
        user_id,
        organisation_id as OrganisationId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|m| (m.role, m.prenom, m.nom, m.email, m.closed));
    let Some((role, prenom, nom, email, closed)) = member else {
        return Err(AppError::invalid(
            "user_id",
            "Cette personne n'est pas rattachée à la structure : rattachez-la d'abord.",
        ));
    };
    if role == "primary_manager" {
        return Err(AppError::invalid(
            "user_id",
            if admin {
                "Cette personne est déjà le gestionnaire principal de la structure."
            } else {
                "Le gestionnaire principal ne peut pas être retiré ainsi : transférez d'abord son rôle."
            },
        ));
    }
    if (role == "org_admin") == admin {
        return Ok(());
    }
    if admin && closed {
        return Err(AppError::invalid(
            "user_id",
            "Le compte de cette personne est clôturé.",
        ));
    }
    let new_role = admin.then_some("org_admin");
    let done = sqlx::query!(
        "update memberships set admin_role = $3 where user_id = $1 and organisation_id = $2",
        user_id,
        organisation_id as OrganisationId,
        new_role,
    )
    .execute(&mut *tx)
    .await;
    match done {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("memberships_admin_limit") => {
            return Err(AppError::invalid(
                "user_id",
                format!(
                    "Cette structure a déjà {} : retirez-en un ou relevez la limite.",
                    administrateurs(max_admins as i64)
                ),
            ));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(op.id().get()),
            organisation_id: Some(organisation_id.get()),
            action: if admin {
                "administrateur.nomination"
            } else {
                "administrateur.retrait"
            },
            target_type: "utilisateur",
            target_id: Some(user_id),
            before: Some(serde_json::json!({"admin_role": (!role.is_empty()).then_some(&role)})),
            after: Some(serde_json::json!({"admin_role": new_role})),
        },
    )
    .await?;
    if admin {
        crate::mail::ssr::enqueue(
            &mut tx,
            &email,
            "Vous êtes administrateur d'une structure",
            &format!(
                "{prenom} {nom}, vous êtes désormais administrateur de la structure {org_nom}.\n\n\
                 Vous pouvez gérer ses agents et ses services depuis : {}\n\n\
                 Ce rôle ne vous donne aucun droit sur les démarches : ils s'attribuent séparément.",
                crate::mail::ssr::link("/structures")
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Operator: the most org admins an organisation may have (1 to 10), never
/// below the number it has.
#[server(endpoint = "set_max_admins", output = crate::json::Json)]
pub async fn set_max_admins(organisation_id: crate::domain::OrganisationId, max_admins: String) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id,) = (organisation_id.get(),);
    use crate::error::AppError;
    let op = crate::session::require_operator().await?;
    let wanted = parse_max_admins(&max_admins).map_err(|m| AppError::invalid("max_admins", m))?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let current = sqlx::query_scalar!(
        "select max_admins from organisations where id = $1 for update",
        organisation_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if current == wanted {
        return Ok(());
    }
    let n = sqlx::query_scalar!(
        r#"select count(*) as "n!" from memberships where organisation_id = $1 and admin_role = 'org_admin'"#,
        organisation_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    if n > wanted as i64 {
        return Err(AppError::invalid(
            "max_admins",
            format!(
                "Cette structure a déjà {} : retirez-en avant de baisser la limite à {wanted}.",
                administrateurs(n)
            ),
        ));
    }
    sqlx::query!(
        "update organisations set max_admins = $2 where id = $1",
        organisation_id,
        wanted,
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(op.id().get()),
            organisation_id: Some(organisation_id),
            action: "structure.limite_administrateurs",
            target_type: "structure",
            target_id: Some(organisation_id),
            before: Some(serde_json::json!({"max_admins": current})),
            after: Some(serde_json::json!({"max_admins": wanted})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_and_limits_are_parsed() {
        assert_eq!(parse_user_choice(" 12 "), Ok(12));
        assert!(parse_user_choice("").is_err());
        assert!(parse_user_choice("0").is_err());
        assert_eq!(parse_max_admins("3"), Ok(3));
        assert!(parse_max_admins("0").is_err());
        assert!(parse_max_admins("11").is_err());
        assert!(parse_max_admins("deux").is_err());
    }
}
