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
mod pages;
pub use pages::*;

use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
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
    organisation_id: i64,
    #[server(default)] convention_id: i64,
    #[server(default)] code: String,
    #[server(default)] libelle: String,
    #[server(default)] utilisateur: String,
    #[server(default)] after: String,
) -> AppResult<GroupList> {
    use crate::domain::{like_prefix, OrganisationId};
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let manager = me.manages_or_reaches(org).await?;
    let pool = crate::state::pool();
    let (organisation, siret): (String, String) =
        sqlx::query_as("select nom, siret from organisations where id = $1")
            .bind(org)
            .fetch_one(&pool)
            .await?;
    let convention: Option<(i64, String)> = if convention_id == 0 {
        None
    } else {
        Some(
            sqlx::query_as(
                "select id, libelle from conventions where id = $1 and organisation_id = $2",
            )
            .bind(convention_id)
            .bind(org)
            .fetch_optional(&pool)
            .await?
            .ok_or(AppError::NotFound)?,
        )
    };
    type Row = (
        i64,
        String,
        String,
        i32,
        String,
        String,
        NaiveDate,
        Option<NaiveDate>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select g.id, g.code, g.libelle, g.niveau, coalesce(p.code || ' — ' || p.libelle, ''), c.libelle,
                g.date_ouverture, g.date_cloture, r.prenom || ' ' || r.nom || ' (' || r.identifier || ')'
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
          order by upper(g.code) limit $9",
    )
    .bind(org)
    .bind(manager)
    .bind(me.id())
    .bind(convention_id)
    .bind(like_prefix(&code))
    .bind(like_prefix(&libelle))
    .bind(utilisateur.trim())
    .bind(after.trim().to_uppercase())
    .bind(GROUPS_PAGE_SIZE + 1)
    .fetch_all(&pool)
    .await?;
    let today = chrono::Local::now().date_naive();
    let more = rows.len() as i64 > GROUPS_PAGE_SIZE;
    let rows: Vec<GroupRow> = rows
        .into_iter()
        .take(GROUPS_PAGE_SIZE as usize)
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
        organisation_id,
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
    organisation_id: i64,
    #[server(default)] id: i64,
    #[server(default)] convention_id: i64,
) -> AppResult<GroupDetail> {
    use crate::domain::OrganisationId;
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let actor = if id == 0 {
        GroupActor::Manager(me.manager_of(org).await?)
    } else {
        me.group_actor(org, crate::domain::GroupId(id)).await?
    };
    let manager = matches!(actor, GroupActor::Manager(_));
    let pool = crate::state::pool();
    let today = chrono::Local::now().date_naive();
    let (organisation,): (String,) = sqlx::query_as("select nom from organisations where id = $1")
        .bind(org)
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
    let head: Head = if id == 0 {
        let conv: Option<(i64, String)> = sqlx::query_as(
            "select id, libelle from conventions where id = $1 and organisation_id = $2",
        )
        .bind(convention_id)
        .bind(org)
        .fetch_optional(&pool)
        .await?;
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
        sqlx::query_as(
            "select g.convention_id, c.libelle, g.code, g.libelle, coalesce(g.parent_id, 0),
                    coalesce(p.code || ' — ' || p.libelle, ''), g.niveau, g.date_ouverture, g.date_cloture,
                    r.identifier, r.prenom || ' ' || r.nom
               from user_groups g join conventions c on c.id = g.convention_id
               join users r on r.id = g.responsable_id
               left join user_groups p on p.id = g.parent_id
              where g.id = $1 and g.organisation_id = $2",
        )
        .bind(id)
        .bind(org)
        .fetch_optional(&pool)
        .await?
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
        let conventions: Vec<(i64, String)> = sqlx::query_as(
            "select id, libelle from conventions where organisation_id = $1
                and (date_cloture is null or date_cloture > current_date) order by libelle, id",
        )
        .bind(org)
        .fetch_all(&pool)
        .await?;
        let parents: Vec<(i64, String)> = sqlx::query_as(
            "select id, code || ' — ' || libelle from user_groups
              where organisation_id = $1 and id <> $2 and ($3::bigint = 0 or convention_id = $3)
                and (date_cloture is null or date_cloture > current_date)
              order by upper(code) limit 500",
        )
        .bind(org)
        .bind(id)
        .bind(cid)
        .fetch_all(&pool)
        .await?;
        let suggestions: Vec<(String, String)> = sqlx::query_as(
            "select u.identifier, u.prenom || ' ' || u.nom from memberships m join users u on u.id = m.user_id
              where m.organisation_id = $1 and (u.date_cloture is null or u.date_cloture > current_date)
              order by m.agent_nom, m.agent_prenom, m.user_id limit 200",
        )
        .bind(org)
        .fetch_all(&pool)
        .await?;
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
        id,
        organisation_id,
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

/// « Créer un groupe » (`id` = 0) or modify one: the structure's managers
/// only. The responsable is an agent of the structure, given by identifiant
/// or email; a subgroup is in its parent's convention.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "save_group", output = crate::json::Json)]
pub async fn save_group(
    organisation_id: i64,
    #[server(default)] id: i64,
    #[server(default)] convention_id: i64,
    code: String,
    libelle: String,
    #[server(default)] parent_id: i64,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
    #[server(default)] responsable: String,
) -> AppResult<i64> {
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let org = manager.organisation_id();
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let code = errs.check("code", parse_group_code(&code));
    let libelle = libelle.split_whitespace().collect::<Vec<_>>().join(" ");
    if libelle.is_empty() || libelle.chars().count() > 200 {
        errs.add(
            "libelle",
            "Saisissez le libellé du groupe (200 caractères au plus).",
        );
    }
    let period = if id == 0 {
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today)
    } else {
        crate::domain::Period::parse(&mut errs, &date_ouverture, &date_cloture, today)
    };
    if responsable.trim().is_empty() {
        errs.add(
            "responsable",
            "Désignez le responsable habilitations du groupe (obligatoire).",
        );
    }
    errs.finish()?;
    let (code, period) = (code.unwrap(), period.unwrap());
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let responsable_id = ssr::agent_of(&mut tx, org, &responsable)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "responsable",
                "Aucun agent ouvert de la structure n'a cet identifiant ou cette adresse mail.",
            )
        })?;
    let before: Option<serde_json::Value> = if id == 0 {
        None
    } else {
        let row: Option<(serde_json::Value, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
            "select jsonb_build_object('code', code, 'libelle', libelle, 'groupe_parent', parent_id,
                        'date_ouverture', date_ouverture, 'date_cloture', date_cloture, 'responsable', responsable_id),
                    date_ouverture, date_cloture
               from user_groups where id = $1 and organisation_id = $2 for update",
        )
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        let (b, old_o, old_c) = row.ok_or(AppError::NotFound)?;
        // A closed group stays closed (the database refuses it too).
        if old_c.is_some_and(|c| c <= today) {
            return Err(AppError::Conflict(
                "Ce groupe est clôturé : il ne se modifie plus. Pour continuer, créez un nouveau groupe.".into(),
            ));
        }
        if period.ouverture != old_o && (old_o <= today || period.ouverture < today) {
            return Err(AppError::invalid(
                "date_ouverture",
                "La date d'ouverture ne change plus une fois le groupe ouvert, et ne peut pas être dans le passé.",
            ));
        }
        Some(b)
    };
    // The parent fixes the convention; else the one chosen (open, of this
    // structure).
    let parent = (parent_id != 0).then_some(parent_id);
    let convention_id: i64 = if let Some(p) = parent {
        let row: Option<(i64,)> = sqlx::query_as(
            "select convention_id from user_groups where id = $1 and organisation_id = $2",
        )
        .bind(p)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        row.ok_or_else(|| {
            AppError::invalid(
                "parent_id",
                "Ce groupe parent n'existe pas dans la structure.",
            )
        })?
        .0
    } else if id != 0 {
        let (c,): (i64,) = sqlx::query_as("select convention_id from user_groups where id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        c
    } else {
        let row: Option<(i64,)> = sqlx::query_as(
            "select id from conventions where id = $1 and organisation_id = $2
                and (date_cloture is null or date_cloture > current_date)",
        )
        .bind(convention_id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        row.ok_or_else(|| {
            AppError::invalid(
                "convention_id",
                "Choisissez une convention ouverte de la structure.",
            )
        })?
        .0
    };
    let saved: Result<(i64,), sqlx::Error> = if id == 0 {
        sqlx::query_as(
            "insert into user_groups (organisation_id, convention_id, code, libelle, parent_id, date_ouverture,
                                      date_cloture, responsable_id, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        )
        .bind(org)
        .bind(convention_id)
        .bind(&code)
        .bind(&libelle)
        .bind(parent)
        .bind(period.ouverture)
        .bind(period.cloture)
        .bind(responsable_id)
        .bind(manager.user_id())
        .fetch_one(&mut *tx)
        .await
    } else {
        sqlx::query_as(
            "update user_groups set code = $3, libelle = $4, parent_id = $5, date_ouverture = $6,
                    date_cloture = $7, responsable_id = $8
              where id = $1 and organisation_id = $2 returning id",
        )
        .bind(id)
        .bind(org)
        .bind(&code)
        .bind(&libelle)
        .bind(parent)
        .bind(period.ouverture)
        .bind(period.cloture)
        .bind(responsable_id)
        .fetch_one(&mut *tx)
        .await
    };
    let group_id = match saved {
        Ok((g,)) => g,
        Err(e) => return Err(ssr::group_error(e)),
    };
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            if id == 0 {
                "groupe.creation"
            } else {
                "groupe.modification"
            },
            "groupe",
            Some(group_id),
            before,
            Some(serde_json::json!({
                "code": code, "libelle": libelle, "groupe_parent": parent,
                "date_ouverture": period.ouverture, "date_cloture": period.cloture,
                "responsable": responsable_id,
            })),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(group_id)
}

/// « Remplacer un responsable habilitations »: a manager of the structure,
/// or the responsable of the parent group for a subgroup of their own. The
/// new responsable is an agent of the structure; a responsable may only
/// name one of the users of the groups they reach, and never themselves.
#[server(endpoint = "set_group_responsable", output = crate::json::Json)]
pub async fn set_group_responsable(
    organisation_id: i64,
    group_id: i64,
    responsable: String,
) -> AppResult<()> {
    use crate::domain::GroupId;
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = crate::domain::OrganisationId(organisation_id);
    let actor = me.group_actor(org, GroupId(group_id)).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let row: Option<(Option<i64>, i64)> = sqlx::query_as(
        "select parent_id, responsable_id from user_groups where id = $1 and organisation_id = $2 for update",
    )
    .bind(group_id)
    .bind(org)
    .fetch_optional(&mut *tx)
    .await?;
    let (parent, old) = row.ok_or(AppError::NotFound)?;
    let new = ssr::agent_of(&mut tx, org, &responsable)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "responsable",
                "Aucun agent ouvert de la structure n'a cet identifiant ou cette adresse mail.",
            )
        })?;
    if let GroupActor::Responsable(_) = &actor {
        // Only for a subgroup of a group they reach (not their own top group).
        let Some(parent) = parent else {
            return Err(AppError::Forbidden);
        };
        let reach_parent = me.group_manager_of(GroupId(parent)).await?;
        if new == me.id().get() {
            return Err(AppError::Conflict(
                "Vous ne pouvez pas vous désigner vous-même : un administrateur de la structure doit le faire.".into(),
            ));
        }
        if !reach_parent
            .reaches(&mut tx, crate::domain::UserId(new))
            .await?
        {
            return Err(AppError::invalid(
                "responsable",
                "Désignez un utilisateur des groupes dont vous êtes responsable.",
            ));
        }
    }
    if new == old {
        return Ok(());
    }
    sqlx::query("update user_groups set responsable_id = $2 where id = $1")
        .bind(group_id)
        .bind(new)
        .execute(&mut *tx)
        .await
        .map_err(ssr::group_error)?;
    crate::audit::ssr::record(
        &mut tx,
        actor.event(
            "groupe.responsable",
            "groupe",
            Some(group_id),
            Some(serde_json::json!({"responsable": old})),
            Some(serde_json::json!({"responsable": new})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// « Désactiver un groupe » (managers; the screen asks for confirmation):
/// its closing date becomes today. Its subgroups, memberships and rights
/// end with it (database triggers); its users stay open.
#[server(endpoint = "close_group", output = crate::json::Json)]
pub async fn close_group(organisation_id: i64, group_id: i64) -> AppResult<()> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let mut tx = crate::state::pool().begin().await?;
    if crate::rights::group_rights::close_group(&mut tx, &manager, crate::domain::GroupId(group_id))
        .await?
    {
        tx.commit().await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRights {
    pub organisation: String,
    pub convention: String,
    pub code: String,
    pub libelle: String,
    pub parent: String,
    /// The services (applications) of the convention.
    pub services: Vec<Choice>,
    pub application_id: i64,
    /// Roles of the chosen service the group may receive (within the
    /// convention, and for a subgroup held by its parent), not assigned.
    pub available: Vec<Choice>,
    pub assigned: Vec<Choice>,
    pub open: bool,
}

/// « Habilitations du groupe »: managers of the structure only (a
/// responsable cannot open a group's rights).
#[server(endpoint = "group_rights", output = crate::json::Json)]
pub async fn load_group_rights(
    organisation_id: i64,
    group_id: i64,
    #[server(default)] application_id: i64,
) -> AppResult<GroupRights> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    #[allow(clippy::type_complexity)]
    let head: Option<(String, String, String, String, i64, Option<i64>, bool)> = sqlx::query_as(
        "select o.nom, c.libelle, g.code, g.libelle, g.convention_id, g.parent_id,
                (g.date_cloture is null or g.date_cloture > current_date)
           from user_groups g join conventions c on c.id = g.convention_id
           join organisations o on o.id = g.organisation_id
          where g.id = $1 and g.organisation_id = $2",
    )
    .bind(group_id)
    .bind(manager.organisation_id())
    .fetch_optional(&pool)
    .await?;
    let (organisation, convention, code, libelle, cid, parent_id, open) =
        head.ok_or(AppError::NotFound)?;
    let parent: String = match parent_id {
        Some(p) => {
            sqlx::query_as::<_, (String,)>(
                "select code || ' — ' || libelle from user_groups where id = $1",
            )
            .bind(p)
            .fetch_one(&pool)
            .await?
            .0
        }
        None => String::new(),
    };
    let services: Vec<(i64, String)> = sqlx::query_as(
        "select a.id, a.libelle from applications a
          where exists (select 1 from convention_roles cr where cr.convention_id = $1 and cr.application_id = a.id
                           and (cr.date_cloture is null or cr.date_cloture > current_date))
          order by a.position, a.libelle",
    )
    .bind(cid)
    .fetch_all(&pool)
    .await?;
    let application_id = if services.iter().any(|s| s.0 == application_id) {
        application_id
    } else {
        services.first().map(|s| s.0).unwrap_or(0)
    };
    let roles: Vec<(i64, String, bool, bool)> = sqlx::query_as(
        "select r.id, r.libelle,
                exists (select 1 from group_grants gg where gg.group_id = $1 and gg.role_id = r.id
                           and (gg.date_cloture is null or gg.date_cloture > current_date)),
                exists (select 1 from convention_roles cr where cr.convention_id = $2 and cr.role_id = r.id
                           and (cr.date_cloture is null or cr.date_cloture > current_date))
                and ($4::bigint is null or exists (
                        select 1 from group_grants pg where pg.group_id = $4 and pg.role_id = r.id
                           and (pg.date_cloture is null or pg.date_cloture > current_date)))
           from roles r where r.application_id = $3 order by r.position, r.libelle",
    )
    .bind(group_id)
    .bind(cid)
    .bind(application_id)
    .bind(parent_id)
    .fetch_all(&pool)
    .await?;
    let choice = |(id, label, ..): &(i64, String, bool, bool)| Choice {
        id: *id,
        label: label.clone(),
    };
    Ok(GroupRights {
        organisation,
        convention,
        code,
        libelle,
        parent,
        services: services
            .into_iter()
            .map(|(id, label)| Choice { id, label })
            .collect(),
        application_id,
        assigned: roles.iter().filter(|r| r.2).map(choice).collect(),
        available: roles.iter().filter(|r| !r.2 && r.3).map(choice).collect(),
        open,
    })
}

/// « Enregistrer les modifications » of « Habilitations du groupe »: the
/// roles of one service the group holds from now on. One transaction, one
/// journal event per role assigned or withdrawn; a role withdrawn ends
/// today in the group and its subgroups.
#[server(endpoint = "set_group_roles", output = crate::json::Json)]
pub async fn set_group_roles(
    organisation_id: i64,
    group_id: i64,
    application_id: i64,
    #[server(default)] role_ids: String,
) -> AppResult<()> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let wanted =
        crate::conventions::parse_ids(&role_ids).map_err(|m| AppError::invalid("role_ids", m))?;
    let mut tx = crate::state::pool().begin().await?;
    crate::rights::group_rights::set_roles(
        &mut tx,
        &manager,
        crate::domain::GroupId(group_id),
        application_id,
        &wanted,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRow {
    pub membership_id: i64,
    pub user_id: i64,
    pub identifier: String,
    pub nom: String,
    pub prenom: String,
    pub group_id: i64,
    /// « CODE — Libellé » of the group (and « sous-groupe de … »).
    pub group: String,
    pub parent: String,
    pub date_ouverture: NaiveDate,
    pub date_cloture: Option<NaiveDate>,
    pub statut: String,
    /// The caller may change these dates.
    pub editable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Members {
    pub organisation: String,
    pub title: String,
    pub rows: Vec<MemberRow>,
    /// Cursor of the next page (the last membership id), if any.
    pub next: Option<i64>,
}

pub const MEMBERS_PAGE_SIZE: i64 = 100;

/// « Utilisateurs du groupe » (`group_id`) or « Gérer l'appartenance de
/// l'utilisateur » (`user_id`): memberships, newest first, ended ones
/// included. A manager sees all; a responsable sees the memberships of
/// the groups they reach (and for a user, only when the user is in one).
#[server(endpoint = "list_memberships", output = crate::json::Json)]
pub async fn list_memberships(
    organisation_id: i64,
    #[server(default)] group_id: i64,
    #[server(default)] user_id: i64,
    #[server(default)] after: i64,
) -> AppResult<Members> {
    use crate::domain::{GroupId, OrganisationId};
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    if (group_id == 0) == (user_id == 0) {
        return Err(AppError::invalid(
            "group_id",
            "Choisissez un groupe ou un utilisateur.",
        ));
    }
    let manager = if group_id != 0 {
        matches!(
            me.group_actor(org, GroupId(group_id)).await?,
            GroupActor::Manager(_)
        )
    } else {
        match me.manager_of(org).await {
            Ok(_) => true,
            Err(AppError::Forbidden) => {
                let pool = crate::state::pool();
                let mut conn = pool.acquire().await?;
                if !crate::rights::reach::reaches(
                    &mut conn,
                    me.id(),
                    org,
                    crate::domain::UserId(user_id),
                )
                .await?
                {
                    return Err(AppError::Forbidden);
                }
                false
            }
            Err(e) => return Err(e),
        }
    };
    let pool = crate::state::pool();
    let (organisation,): (String,) = sqlx::query_as("select nom from organisations where id = $1")
        .bind(org)
        .fetch_one(&pool)
        .await?;
    let title: (String,) = if group_id != 0 {
        sqlx::query_as("select code || ' — ' || libelle from user_groups where id = $1")
            .bind(group_id)
            .fetch_one(&pool)
            .await?
    } else {
        sqlx::query_as(
            "select u.prenom || ' ' || u.nom || ' (' || u.identifier || ')' from users u
               join memberships m on m.user_id = u.id and m.organisation_id = $2 where u.id = $1",
        )
        .bind(user_id)
        .bind(org)
        .fetch_optional(&pool)
        .await?
        .ok_or(AppError::NotFound)?
    };
    type Row = (
        i64,
        i64,
        String,
        String,
        String,
        i64,
        String,
        String,
        NaiveDate,
        Option<NaiveDate>,
        bool,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "select m.id, u.id, u.identifier, u.nom, u.prenom, g.id, g.code || ' — ' || g.libelle,
                coalesce(p.code || ' — ' || p.libelle, ''), m.date_ouverture, m.date_cloture,
                $5 or g.id in (select group_id from responsable_reach($6, current_date))
           from group_memberships m join users u on u.id = m.user_id
           join user_groups g on g.id = m.group_id
           left join user_groups p on p.id = g.parent_id
          where m.organisation_id = $1
            and ($2::bigint = 0 or m.group_id = $2)
            and ($3::bigint = 0 or m.user_id = $3)
            and ($4::bigint = 0 or m.id < $4)
            and ($5 or g.id in (select group_id from responsable_reach($6, current_date)))
          order by m.id desc limit $7",
    )
    .bind(org)
    .bind(group_id)
    .bind(user_id)
    .bind(after)
    .bind(manager)
    .bind(me.id())
    .bind(MEMBERS_PAGE_SIZE + 1)
    .fetch_all(&pool)
    .await?;
    let today = chrono::Local::now().date_naive();
    let more = rows.len() as i64 > MEMBERS_PAGE_SIZE;
    let rows: Vec<MemberRow> = rows
        .into_iter()
        .take(MEMBERS_PAGE_SIZE as usize)
        .map(
            |(mid, uid, identifier, nom, prenom, gid, group, parent, o, c, reach)| MemberRow {
                membership_id: mid,
                user_id: uid,
                identifier,
                nom,
                prenom,
                group_id: gid,
                group,
                parent,
                date_ouverture: o,
                date_cloture: c,
                statut: crate::domain::statut(o, c, today).into(),
                editable: reach && uid != me.id().get() && c.is_none_or(|c| c > today),
            },
        )
        .collect();
    Ok(Members {
        organisation,
        title: title.0,
        next: more.then(|| rows.last().map(|r| r.membership_id)).flatten(),
        rows,
    })
}

/// « Ajouter à un groupe »: a user of the structure joins a group, from
/// a date (default today, never in the past) to an optional closing date.
/// A manager adds any agent of the structure; a responsable adds to the
/// groups they reach the users already in those groups. Nobody adds
/// themselves.
#[server(endpoint = "add_to_group", output = crate::json::Json)]
pub async fn add_to_group(
    organisation_id: i64,
    group_id: i64,
    #[server(default)] user_id: i64,
    #[server(default)] utilisateur: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<i64> {
    use crate::domain::{GroupId, OrganisationId, UserId};
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let actor = me.group_actor(org, GroupId(group_id)).await?;
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let period =
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today);
    errs.finish()?;
    let period = period.unwrap();
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let user = if user_id != 0 {
        let row: Option<(i64,)> = sqlx::query_as(
            "select user_id from memberships where user_id = $1 and organisation_id = $2",
        )
        .bind(user_id)
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
        row.map(|r| r.0)
    } else {
        ssr::agent_of(&mut tx, org, &utilisateur).await?
    };
    let Some(user) = user else {
        return Err(AppError::invalid(
            "utilisateur",
            "Aucun agent ouvert de la structure n'a cet identifiant ou cette adresse mail.",
        ));
    };
    let mid = crate::rights::memberships::join(
        &mut tx,
        &actor,
        GroupId(group_id),
        UserId(user),
        period.ouverture,
        period.cloture,
        crate::rights::memberships::Joining::Member,
    )
    .await?;
    tx.commit().await?;
    Ok(mid)
}

/// « Modifier l'appartenance d'un utilisateur à un groupe »: its dates. The
/// closing date is never in the past (closing today detaches at once); an
/// opening date changes only while the membership has not started.
#[server(endpoint = "update_membership", output = crate::json::Json)]
pub async fn update_membership(
    organisation_id: i64,
    membership_id: i64,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<()> {
    use crate::domain::{GroupId, OrganisationId};
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let pool = crate::state::pool();
    let row: Option<(i64,)> = sqlx::query_as(
        "select group_id from group_memberships where id = $1 and organisation_id = $2",
    )
    .bind(membership_id)
    .bind(org)
    .fetch_optional(&pool)
    .await?;
    // A missing membership and a foreign one answer the same.
    let (group_id,) = row.ok_or(AppError::Forbidden)?;
    let actor = me.group_actor(org, GroupId(group_id)).await?;
    let mut tx = pool.begin().await?;
    crate::rights::memberships::redate(
        &mut tx,
        &actor,
        membership_id,
        &date_ouverture,
        &date_cloture,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The open groups the caller may add users to, for « Ajouter à un
/// groupe »: all of the structure's for a manager, the groups they reach
/// for a responsable (« CODE — Libellé », with the parent).
#[server(endpoint = "group_choices", output = crate::json::Json)]
pub async fn group_choices(organisation_id: i64) -> AppResult<Vec<Choice>> {
    use crate::domain::OrganisationId;
    let me = crate::session::require_user().await?;
    let org = OrganisationId(organisation_id);
    let manager = me.manages_or_reaches(org).await?;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select g.id, g.code || ' — ' || g.libelle || coalesce(' (sous-groupe de ' || p.code || ')', '')
           from user_groups g left join user_groups p on p.id = g.parent_id
          where g.organisation_id = $1 and (g.date_cloture is null or g.date_cloture > current_date)
            and ($2 or g.id in (select group_id from responsable_reach($3, current_date)))
          order by upper(g.code) limit 1000",
    )
    .bind(org)
    .bind(manager)
    .bind(me.id())
    .fetch_all(&crate::state::pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, label)| Choice { id, label })
        .collect())
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
        let row: Option<(i64,)> = sqlx::query_as(
            "select u.id from users u join memberships m on m.user_id = u.id and m.organisation_id = $1
              where (u.identifier = upper($2) or u.email = lower($2))
                and (u.date_cloture is null or u.date_cloture > current_date)",
        )
        .bind(org)
        .bind(who)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| r.0))
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
