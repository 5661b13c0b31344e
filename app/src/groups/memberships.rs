//! « Utilisateurs du groupe », « Ajouter à un groupe », « Gérer
//! l'appartenance de l'utilisateur »: dated memberships.
#[allow(unused_imports)]
use super::*;
use crate::error::AppResult;
use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] group_id: crate::domain::GroupId,
    #[server(default)] user_id: crate::domain::UserId,
    #[server(default)] after: i64,
) -> AppResult<Members> {
    use crate::domain::GroupId;
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    // One of the two is given (0: the other one).
    let (group_id, user_id) = (group_id.get(), user_id.get());
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
    let organisation = sqlx::query_scalar!(
        "select nom from organisations where id = $1",
        org as crate::domain::OrganisationId
    )
    .fetch_one(&pool)
    .await?;
    let title: String = if group_id != 0 {
        sqlx::query_scalar!(
            r#"select code || ' — ' || libelle as "title!" from user_groups where id = $1"#,
            group_id
        )
        .fetch_one(&pool)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"select u.prenom || ' ' || u.nom || ' (' || u.identifier || ')' as "title!" from users u
               join memberships m on m.user_id = u.id and m.organisation_id = $2 where u.id = $1"#,
            user_id,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&pool)
        .await?
        .ok_or(AppError::NotFound)?
    };
    let rows = sqlx::query!(
        r#"select m.id, u.id as user_id, u.identifier, u.nom, u.prenom, g.id as group_id,
                g.code || ' — ' || g.libelle as "group!",
                coalesce(p.code || ' — ' || p.libelle, '') as "parent!",
                m.date_ouverture as "date_ouverture: NaiveDate", m.date_cloture as "date_cloture?: NaiveDate",
                $5 or g.id in (select group_id from responsable_reach($6, current_date)) as "reach!"
           from group_memberships m join users u on u.id = m.user_id
           join user_groups g on g.id = m.group_id
           left join user_groups p on p.id = g.parent_id
          where m.organisation_id = $1
            and ($2::bigint = 0 or m.group_id = $2)
            and ($3::bigint = 0 or m.user_id = $3)
            and ($4::bigint = 0 or m.id < $4)
            and ($5 or g.id in (select group_id from responsable_reach($6, current_date)))
          order by m.id desc limit $7"#,
        org as crate::domain::OrganisationId,
        group_id,
        user_id,
        after,
        manager,
        me.id() as crate::domain::UserId,
        MEMBERS_PAGE_SIZE + 1,
    )
    .fetch_all(&pool)
    .await?;
    let today = chrono::Local::now().date_naive();
    let more = rows.len() as i64 > MEMBERS_PAGE_SIZE;
    let rows: Vec<MemberRow> = rows
        .into_iter()
        .take(MEMBERS_PAGE_SIZE as usize)
        .map(|r| {
            (
                r.id,
                r.user_id,
                r.identifier,
                r.nom,
                r.prenom,
                r.group_id,
                r.group,
                r.parent,
                r.date_ouverture,
                r.date_cloture,
                r.reach,
            )
        })
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
        title,
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
    organisation_id: crate::domain::OrganisationId,
    group_id: crate::domain::GroupId,
    #[server(default)] user_id: crate::domain::UserId,
    #[server(default)] utilisateur: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<i64> {
    use crate::domain::UserId;
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let actor = me.group_actor(org, group_id).await?;
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let period =
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today);
    errs.finish()?;
    let period = period.unwrap();
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let user = if user_id.get() != 0 {
        sqlx::query_scalar!(
            "select user_id from memberships where user_id = $1 and organisation_id = $2",
            user_id as UserId,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?
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
        group_id,
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
    organisation_id: crate::domain::OrganisationId,
    membership_id: crate::domain::MembershipId,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<()> {
    use crate::domain::GroupId;
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let pool = crate::state::pool();
    let row = sqlx::query_scalar!(
        r#"select group_id as "group_id: GroupId" from group_memberships where id = $1 and organisation_id = $2"#,
        membership_id as crate::domain::MembershipId,
        org as crate::domain::OrganisationId,
    )
    .fetch_optional(&pool)
    .await?;
    // A missing membership and a foreign one answer the same.
    let group_id = row.ok_or(AppError::Forbidden)?;
    let actor = me.group_actor(org, group_id).await?;
    let mut tx = pool.begin().await?;
    crate::rights::memberships::redate(
        &mut tx,
        &actor,
        membership_id.get(),
        &date_ouverture,
        &date_cloture,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
