//! « Groupes d'utilisateurs » (CAF fiches 7 to 16): groups within one
//! convention of a structure, each with one responsable habilitations;
//! their rights (« Habilitations du groupe »); their users, with dated
//! memberships (« Ajouter à un groupe », « Gérer l'appartenance de
//! l'utilisateur », « Utilisateurs du groupe »).
//!
//! Who may do what (SPEC "Delegation"): the structure's managers (and the
//! operator) create, modify and close groups, name responsables and set
//! the groups' rights; a responsable habilitations attaches and detaches
//! the users of the groups they reach (theirs and their subgroups), and
//! names the responsable of a subgroup of their own group. The database
//! holds the rules that do not depend on who acts (see migration 0010).
mod edit;
mod memberships;
mod pages;
mod rights;
pub use edit::*;
pub use memberships::*;
pub use pages::*;
pub use rights::*;

use crate::error::AppResult;
use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRow {
    pub id: i64,
    pub code: String,
    pub libelle: String,
    pub niveau: i32,
    /// « CODE — Libellé » of the parent group, "" at the top.
    pub parent: String,
    pub convention: String,
    pub date_ouverture: NaiveDate,
    pub date_cloture: Option<NaiveDate>,
    pub statut: String,
    pub responsable: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupList {
    pub organisation_id: i64,
    pub organisation: String,
    pub siret: String,
    /// The convention the screen was reached from (« Convention
    /// sélectionnée »), if any.
    pub convention: Option<(i64, String)>,
    pub rows: Vec<GroupRow>,
    /// Cursor of the next page (the last code shown), if any.
    pub next: Option<String>,
    /// The caller manages the structure: creates, modifies, closes groups
    /// and sets their rights. A responsable only reads the groups they
    /// reach and manages their users.
    pub manager: bool,
}

pub const GROUPS_PAGE_SIZE: i64 = 50;

/// A group's code: trimmed, upper-cased, 1 to 30 letters, digits, spaces,
/// '-', '_' or '.', starting with a letter or a digit.
pub fn parse_group_code(raw: &str) -> Result<String, String> {
    let code = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    if code.is_empty() {
        return Err("Saisissez le code du groupe.".into());
    }
    let first_ok = code
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if code.len() > 30
        || !first_ok
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'.'))
    {
        return Err("Le code ne peut contenir que des lettres sans accent, des chiffres, des espaces, « - », « _ » et « . » (30 au plus).".into());
    }
    Ok(code)
}

/// The groups of a structure (those of one convention when
/// `convention_id` is given): all of them for its managers, the groups
/// they reach for a responsable. Filters: code and libellé prefixes, and
/// « Sélectionner un utilisateur » (the groups an agent, by identifiant,
/// is an open member of). Sorted by code, 50 a page.
#[server(endpoint = "list_groups", output = crate::json::Json)]
pub async fn list_groups(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] convention_id: crate::domain::ConventionId,
    #[server(default)] code: String,
    #[server(default)] libelle: String,
    #[server(default)] utilisateur: String,
    #[server(default)] after: String,
) -> AppResult<GroupList> {
    use crate::domain::like_prefix;
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let manager = me.manages_or_reaches(org).await?;
    let pool = crate::state::pool();
    let (organisation, siret) = crate::conventions::ssr::names(&pool, org).await?;
    let convention: Option<(i64, String)> = if convention_id.get() == 0 {
        None
    } else {
        Some(
            sqlx::query!(
                "select id, libelle from conventions where id = $1 and organisation_id = $2",
                convention_id as crate::domain::ConventionId,
                org as crate::domain::OrganisationId,
            )
            .fetch_optional(&pool)
            .await?
            .map(|c| (c.id, c.libelle))
            .ok_or(AppError::NotFound)?,
        )
    };
    let rows = sqlx::query!(
        r#"select g.id, g.code, g.libelle, g.niveau, coalesce(p.code || ' — ' || p.libelle, '') as "parent!",
                c.libelle as convention,
                g.date_ouverture as "date_ouverture: NaiveDate", g.date_cloture as "date_cloture?: NaiveDate",
                r.prenom || ' ' || r.nom || ' (' || r.identifier || ')' as "responsable!"
           from user_groups g
           join conventions c on c.id = g.convention_id
           join users r on r.id = g.responsable_id
           left join user_groups p on p.id = g.parent_id
          where g.organisation_id = $1
            and ($2 or g.id in (select group_id from responsable_reach($3, current_date)))
            and ($4::bigint = 0 or g.convention_id = $4)
            and ($5 = '' or upper(g.code) like upper($5) || '%')
            and ($6 = '' or lower(g.libelle) like $6 || '%')
            and ($7 = '' or exists (
                    select 1 from group_memberships m join users u on u.id = m.user_id
                     where m.group_id = g.id and u.identifier = upper($7)
                       and m.date_ouverture <= current_date and (m.date_cloture is null or m.date_cloture > current_date)))
            and ($8 = '' or upper(g.code) > $8)
          order by upper(g.code) limit $9"#,
        org as crate::domain::OrganisationId,
        manager,
        me.id() as crate::domain::UserId,
        convention_id as crate::domain::ConventionId,
        like_prefix(&code),
        like_prefix(&libelle),
        utilisateur.trim(),
        after.trim().to_uppercase(),
        GROUPS_PAGE_SIZE + 1,
    )
    .fetch_all(&pool)
    .await?;
    let today = chrono::Local::now().date_naive();
    let more = rows.len() as i64 > GROUPS_PAGE_SIZE;
    let rows: Vec<GroupRow> = rows
        .into_iter()
        .take(GROUPS_PAGE_SIZE as usize)
        .map(|r| {
            (
                r.id,
                r.code,
                r.libelle,
                r.niveau,
                r.parent,
                r.convention,
                r.date_ouverture,
                r.date_cloture,
                r.responsable,
            )
        })
        .map(
            |(id, code, libelle, niveau, parent, convention, o, c, responsable)| GroupRow {
                id,
                code,
                libelle,
                niveau,
                parent,
                convention,
                date_ouverture: o,
                date_cloture: c,
                statut: crate::domain::statut(o, c, today).into(),
                responsable,
            },
        )
        .collect();
    Ok(GroupList {
        organisation_id: org.get(),
        organisation,
        siret,
        convention,
        next: more.then(|| rows.last().map(|r| r.code.clone())).flatten(),
        rows,
        manager,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: i64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDetail {
    /// 0: the blank form of a new group.
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub convention_id: i64,
    pub convention: String,
    pub code: String,
    pub libelle: String,
    pub parent_id: i64,
    pub parent: String,
    pub niveau: i32,
    pub date_ouverture: NaiveDate,
    pub date_cloture: Option<NaiveDate>,
    pub statut: String,
    /// The responsable's identifiant, and their name.
    pub responsable: String,
    pub responsable_nom: String,
    /// The caller manages the structure (may modify and close).
    pub manager: bool,
    /// The caller, a responsable of the parent group, may name this
    /// group's responsable.
    pub may_name_responsable: bool,
    /// Open conventions of the structure (for a new group).
    pub conventions: Vec<Choice>,
    /// Open groups that may be the parent.
    pub parents: Vec<Choice>,
    /// Agents of the structure suggested as responsable (identifiant and
    /// name), the first 200 by name.
    pub suggestions: Vec<(String, String)>,
}

/// One group (« Détails du groupe »), or the blank form of a new one
/// (`id` = 0; `convention_id` preselects its convention).
#[server(endpoint = "get_group", output = crate::json::Json)]
pub async fn get_group(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] id: crate::domain::GroupId,
    #[server(default)] convention_id: crate::domain::ConventionId,
) -> AppResult<GroupDetail> {
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let actor = if id.get() == 0 {
        GroupActor::Manager(me.manager_of(org).await?)
    } else {
        me.group_actor(org, id).await?
    };
    let manager = matches!(actor, GroupActor::Manager(_));
    let pool = crate::state::pool();
    let today = chrono::Local::now().date_naive();
    let organisation = sqlx::query_scalar!(
        "select nom from organisations where id = $1",
        org as crate::domain::OrganisationId
    )
    .fetch_one(&pool)
    .await?;
    type Head = (
        i64,
        String,
        String,
        String,
        i64,
        String,
        i32,
        NaiveDate,
        Option<NaiveDate>,
        String,
        String,
    );
    let head: Head = if id.get() == 0 {
        let conv = sqlx::query!(
            "select id, libelle from conventions where id = $1 and organisation_id = $2",
            convention_id as crate::domain::ConventionId,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&pool)
        .await?
        .map(|c| (c.id, c.libelle));
        let (cid, cl) = conv.unwrap_or((0, String::new()));
        (
            cid,
            cl,
            String::new(),
            String::new(),
            0,
            String::new(),
            1,
            today,
            None,
            String::new(),
            String::new(),
        )
    } else {
        sqlx::query!(
            r#"select g.convention_id, c.libelle as convention, g.code, g.libelle, coalesce(g.parent_id, 0) as "parent_id!",
                    coalesce(p.code || ' — ' || p.libelle, '') as "parent!", g.niveau,
                    g.date_ouverture as "date_ouverture: NaiveDate", g.date_cloture as "date_cloture?: NaiveDate",
                    r.identifier, r.prenom || ' ' || r.nom as "responsable_nom!"
               from user_groups g join conventions c on c.id = g.convention_id
               join users r on r.id = g.responsable_id
               left join user_groups p on p.id = g.parent_id
              where g.id = $1 and g.organisation_id = $2"#,
            id as crate::domain::GroupId,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&pool)
        .await?
        .map(|h| {
            (
                h.convention_id,
                h.convention,
                h.code,
                h.libelle,
                h.parent_id,
                h.parent,
                h.niveau,
                h.date_ouverture,
                h.date_cloture,
                h.identifier,
                h.responsable_nom,
            )
        })
        .ok_or(AppError::NotFound)?
    };
    let (
        cid,
        convention,
        code,
        libelle,
        parent_id,
        parent,
        niveau,
        o,
        c,
        responsable,
        responsable_nom,
    ) = head;
    // A responsable names the responsable of a subgroup of their own
    // group: they reach its parent.
    let may_name_responsable = manager
        || (parent_id != 0
            && me
                .group_manager_of(crate::domain::GroupId(parent_id))
                .await
                .is_ok());
    let (conventions, parents, suggestions) = if manager {
        let conventions: Vec<(i64, String)> = sqlx::query!(
            "select id, libelle from conventions where organisation_id = $1
                and (date_cloture is null or date_cloture > current_date) order by libelle, id",
            org as crate::domain::OrganisationId,
        )
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c.libelle))
        .collect();
        let parents: Vec<(i64, String)> = sqlx::query!(
            r#"select id, code || ' — ' || libelle as "label!" from user_groups
              where organisation_id = $1 and id <> $2 and ($3::bigint = 0 or convention_id = $3)
                and (date_cloture is null or date_cloture > current_date)
              order by upper(code) limit 500"#,
            org as crate::domain::OrganisationId,
            id as crate::domain::GroupId,
            cid,
        )
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(|p| (p.id, p.label))
        .collect();
        let suggestions: Vec<(String, String)> = sqlx::query!(
            r#"select u.identifier, u.prenom || ' ' || u.nom as "nom!" from memberships m join users u on u.id = m.user_id
              where m.organisation_id = $1 and (u.date_cloture is null or u.date_cloture > current_date)
              order by m.agent_nom, m.agent_prenom, m.user_id limit 200"#,
            org as crate::domain::OrganisationId,
        )
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(|s| (s.identifier, s.nom))
        .collect();
        let choice = |v: Vec<(i64, String)>| {
            v.into_iter()
                .map(|(id, label)| Choice { id, label })
                .collect::<Vec<_>>()
        };
        (choice(conventions), choice(parents), suggestions)
    } else {
        (vec![], vec![], vec![])
    };
    Ok(GroupDetail {
        id: id.get(),
        organisation_id: org.get(),
        organisation,
        convention_id: cid,
        convention,
        code,
        libelle,
        parent_id,
        parent,
        niveau,
        date_ouverture: o,
        date_cloture: c,
        statut: crate::domain::statut(o, c, today).into(),
        responsable,
        responsable_nom,
        manager,
        may_name_responsable,
        conventions,
        parents,
        suggestions,
    })
}

/// The open groups the caller may add users to, for « Ajouter à un
/// groupe »: all of the structure's for a manager, the groups they reach
/// for a responsable (« CODE — Libellé », with the parent).
#[server(endpoint = "group_choices", output = crate::json::Json)]
pub async fn group_choices(
    organisation_id: crate::domain::OrganisationId,
) -> AppResult<Vec<Choice>> {
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let manager = me.manages_or_reaches(org).await?;
    Ok(sqlx::query_as!(
        Choice,
        r#"select g.id, g.code || ' — ' || g.libelle || coalesce(' (sous-groupe de ' || p.code || ')', '') as "label!"
           from user_groups g left join user_groups p on p.id = g.parent_id
          where g.organisation_id = $1 and (g.date_cloture is null or g.date_cloture > current_date)
            and ($2 or g.id in (select group_id from responsable_reach($3, current_date)))
          order by upper(g.code) limit 1000"#,
        org as crate::domain::OrganisationId,
        manager,
        me.id() as crate::domain::UserId,
    )
    .fetch_all(&crate::state::pool())
    .await?)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::domain::OrganisationId;
    use sqlx::PgConnection;

    /// An open agent of the structure, by identifiant or email.
    pub async fn agent_of(
        conn: &mut PgConnection,
        org: OrganisationId,
        who: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let who = who.trim();
        if who.is_empty() {
            return Ok(None);
        }
        sqlx::query_scalar!(
            "select u.id from users u join memberships m on m.user_id = u.id and m.organisation_id = $1
              where (u.identifier = upper($2) or u.email = lower($2))
                and (u.date_cloture is null or u.date_cloture > current_date)",
            org as OrganisationId,
            who,
        )
        .fetch_optional(conn)
        .await
    }

    pub use crate::rights::errors::group_error;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_codes_are_normalised_and_checked() {
        assert_eq!(parse_group_code("  afas -  dec ").unwrap(), "AFAS - DEC");
        assert_eq!(parse_group_code("CDAP T2").unwrap(), "CDAP T2");
        assert!(parse_group_code("").is_err());
        assert!(parse_group_code("-X").is_err());
        assert!(parse_group_code("éco").is_err());
        assert!(parse_group_code(&"A".repeat(31)).is_err());
    }
}
