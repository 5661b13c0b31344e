//! "Utilisateurs du service": a manager's view of who holds or asks for a
//! role on one application, in the organisations they manage.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub code: String,
    pub libelle: String,
    /// (role id, role code, role libellé)
    pub roles: Vec<(i64, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ServiceUserRow {
    pub user_id: i64,
    pub organisation_id: i64,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub siret: String,
    pub structure: String,
    pub roles: String,
    pub pending: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceUsers {
    pub application: AppInfo,
    pub rows: Vec<ServiceUserRow>,
    /// Cursor of the next page (keyset), if there is one.
    pub next: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

#[cfg(feature = "ssr")]
pub(crate) async fn app_info(code: &str) -> AppResult<(i64, AppInfo)> {
    let pool = crate::state::pool();
    let app = sqlx::query!("select id, code, libelle from applications where code = $1", code)
        .fetch_optional(&pool)
        .await?;
    let Some((id, code, libelle)) = app.map(|a| (a.id, a.code, a.libelle)) else {
        return Err(crate::error::AppError::NotFound);
    };
    let roles = sqlx::query!(
        "select id, code, libelle from roles where application_id = $1 order by position, libelle",
        id
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.code, r.libelle))
    .collect();
    Ok((
        id,
        AppInfo {
            code,
            libelle,
            roles,
        },
    ))
}

/// One page of the (user, organisation) pairs that hold a right on the
/// application or wait for one, in organisations the caller manages.
/// `role` filters on a role code, or `en-attente` for pending requests.
///
/// The page is found by walking the managed structures' members in name
/// order (the index the Liste des agents reads) and computing the rights
/// of those walked only, a few dozen at a time: where most members hold
/// the démarche (the common case) a page costs a few dozen lookups,
/// whatever the size of the structure. When the walk finds few holders
/// (a rare role, a search that matches few names), it stops after
/// `WALK_LIMIT` members and the rest of the page is read set-based.
/// People who asked to join (not members yet) come from their pending
/// requests, merged in order.
#[server(endpoint = "list_service_users", output = crate::json::Json)]
pub async fn list_service_users(
    application: String,
    #[server(default)] q: String,
    #[server(default)] role: String,
    #[server(default)] after: String,
) -> AppResult<ServiceUsers> {
    let me = crate::session::require_user().await?;
    let (app_id, info) = app_info(&application).await?;
    // Keyset cursor: (nom, prénom, user id, organisation id) of the last row.
    let cursor: Option<ssr::Key> = if after.is_empty() {
        None
    } else {
        serde_json::from_str(&after).ok()
    };
    let q = q
        .trim()
        .to_lowercase()
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pool = crate::state::pool();
    // The structures the caller manages; `None` for the operator (all).
    let managed: Option<Vec<i64>> = if me.is_operator() {
        None
    } else {
        Some(
            sqlx::query_scalar!(
                "select organisation_id from memberships where user_id = $1 and admin_role is not null order by 1",
                me.id() as crate::domain::UserId,
            )
            .fetch_all(&pool)
            .await?,
        )
    };
    let need = PAGE_SIZE as usize + 1;
    let mut rows = if managed.as_ref().is_some_and(|m| m.is_empty()) {
        vec![]
    } else {
        let f = ssr::Filter {
            app_id,
            managed: managed.as_deref(),
            q: &q,
            role: &role,
        };
        ssr::page(&pool, &f, cursor, need).await?
    };
    let next = if rows.len() > PAGE_SIZE as usize {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| {
            serde_json::to_string(&(&r.nom, &r.prenom, r.user_id, r.organisation_id))
                .unwrap_or_default()
        })
    } else {
        None
    };
    Ok(ServiceUsers {
        application: info,
        rows,
        next,
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::ServiceUserRow;
    use sqlx::PgPool;

    /// (nom, prénom, user id, organisation id): the order of the list.
    pub type Key = (String, String, i64, i64);

    pub struct Filter<'a> {
        pub app_id: i64,
        /// The managed structures; `None`: all (the operator).
        pub managed: Option<&'a [i64]>,
        /// Lower-cased, `%` and `_` escaped.
        pub q: &'a str,
        /// A role code, `en-attente`, or empty.
        pub role: &'a str,
    }

    /// Members walked before the rest of a page is read set-based.
    const WALK_LIMIT: usize = 2_000;

    fn key(r: &ServiceUserRow) -> Key {
        (
            r.nom.clone(),
            r.prenom.clone(),
            r.user_id,
            r.organisation_id,
        )
    }

    /// The roles held on the application and the pending requests, for the
    /// pairs `pairs` selects (columns user_id, organisation_id, nom,
    /// prenom): rights computed for those rows only.
    const ROLES_AND_PENDING: &str = "
        select c.user_id, c.organisation_id, c.nom, c.prenom, u.email, o.siret, o.nom as structure,
               coalesce(h.roles, '') as roles, coalesce(h.codes, '{}') as codes, w.pending
          from pairs c join users u on u.id = c.user_id join organisations o on o.id = c.organisation_id
          cross join lateral (
              select string_agg(r.libelle, ', ' order by r.position) as roles, array_agg(r.code) as codes
                from (select distinct e.role_id from effective_rights(current_date) e
                       where e.user_id = c.user_id and e.organisation_id = c.organisation_id
                         and e.application_id = $1) x
                join roles r on r.id = x.role_id) h
          cross join lateral (
              select count(*) as pending from access_requests a join roles r on r.id = a.role_id
               where a.requester_id = c.user_id and a.organisation_id = c.organisation_id
                 and a.status = 'pending' and r.application_id = $1) w
         order by c.nom, c.prenom, c.user_id, c.organisation_id";

    /// The search, on names, email or SIRET (prefixes).
    const SEARCH: &str = "($2 = '' or lower(m.agent_nom) like $2 || '%' or lower(m.agent_prenom) like $2 || '%'
                  or exists (select 1 from users su where su.id = m.user_id and su.email like $2 || '%')
                  or exists (select 1 from organisations so where so.id = m.organisation_id and so.siret like $2 || '%'))";

    /// The same search on a person `u` and their structure `so`.
    const SEARCH_PERSON: &str =
        "($2 = '' or lower(u.nom) like $2 || '%' or lower(u.prenom) like $2 || '%'
                  or u.email like $2 || '%' or so.siret like $2 || '%')";

    type Found = (
        i64,
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        Vec<String>,
        i64,
    );

    fn row(f: Found) -> (ServiceUserRow, Vec<String>) {
        let (user_id, organisation_id, nom, prenom, email, siret, structure, roles, codes, pending) =
            f;
        (
            ServiceUserRow {
                user_id,
                organisation_id,
                nom,
                prenom,
                email,
                siret,
                structure,
                roles,
                pending,
            },
            codes,
        )
    }

    fn keep(f: &Filter<'_>, r: &ServiceUserRow, codes: &[String]) -> bool {
        match f.role {
            "" => !r.roles.is_empty() || r.pending > 0,
            "en-attente" => r.pending > 0,
            code => codes.iter().any(|c| c == code),
        }
    }

    /// Up to `need` rows after `cursor`.
    pub async fn page(
        pool: &PgPool,
        f: &Filter<'_>,
        cursor: Option<Key>,
        need: usize,
    ) -> Result<Vec<ServiceUserRow>, sqlx::Error> {
        // Those who wait: pending requests are few, read set-based (members
        // or not); they are the whole list for « En attente ».
        // A role's holders are all members: only the whole list and « En
        // attente » read them.
        let mut out = match f.role {
            "" | "en-attente" => requesters(pool, f, cursor.as_ref(), need).await?,
            _ => vec![],
        };
        if f.role == "en-attente" {
            return Ok(out);
        }
        // Holders among the members, in name order.
        let mut cur = cursor;
        // Enough for a page where most members hold the démarche; then as
        // many as the holders seen so far say are needed.
        let mut size = need + need / 16 + 2;
        let mut walked = 0;
        let mut found = 0;
        loop {
            let chunk = walk(pool, f, cur.as_ref(), size).await?;
            let n = chunk.len();
            walked += n;
            for (r, codes) in chunk {
                cur = Some(key(&r));
                if keep(f, &r, &codes) {
                    out.push(r);
                    found += 1;
                }
            }
            if found >= need || n < size {
                break;
            }
            if walked >= WALK_LIMIT {
                // Few holders: the rest of the page set-based, from where
                // the walk stopped.
                out.extend(set_based(pool, f, cur.as_ref(), need - found).await?);
                break;
            }
            let density = (found.max(1) as f64) / (walked as f64);
            size = ((((need - found) as f64) / density * 1.2) as usize + 4).min(512);
        }
        let mut out = in_list_order(pool, out).await?;
        out.dedup_by(|a, b| key(a) == key(b));
        out.truncate(need);
        Ok(out)
    }

    /// The rows in the list's order, as PostgreSQL sorts names (French
    /// collation: not Rust's byte order), so that pages follow on.
    async fn in_list_order(
        pool: &PgPool,
        rows: Vec<ServiceUserRow>,
    ) -> Result<Vec<ServiceUserRow>, sqlx::Error> {
        if rows.len() < 2 {
            return Ok(rows);
        }
        let noms: Vec<&str> = rows.iter().map(|r| r.nom.as_str()).collect();
        let prenoms: Vec<&str> = rows.iter().map(|r| r.prenom.as_str()).collect();
        let users: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        let orgs: Vec<i64> = rows.iter().map(|r| r.organisation_id).collect();
        let order: Vec<i64> = sqlx::query_scalar!(
            r#"select (i - 1)::bigint as "slot!" from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
                    with ordinality as t(nom, prenom, user_id, organisation_id, i)
              order by nom, prenom, user_id, organisation_id"#,
            &noms as &[&str],
            &prenoms as &[&str],
            &users,
            &orgs,
        )
        .fetch_all(pool)
        .await?;
        let mut slots: Vec<Option<ServiceUserRow>> = rows.into_iter().map(Some).collect();
        Ok(order
            .into_iter()
            .filter_map(|i| slots.get_mut(i as usize).and_then(Option::take))
            .collect())
    }

    /// Runs one of the list's queries: its parameters are always the
    /// same ten ($1 application, $2 search, $3 role, $4 structures, $5–$9
    /// the cursor, $10 how many).
    async fn fetch(
        pool: &PgPool,
        sql: &str,
        f: &Filter<'_>,
        cursor: Option<&Key>,
        limit: usize,
    ) -> Result<Vec<(ServiceUserRow, Vec<String>)>, sqlx::Error> {
        let (c_nom, c_prenom, c_uid, c_org) = cursor.cloned().unwrap_or_default();
        let found: Vec<Found> = sqlx::query_as(sql)
            .bind(f.app_id)
            .bind(f.q)
            .bind(f.role)
            .bind(f.managed.map(|m| m.to_vec()))
            .bind(cursor.is_some())
            .bind(c_nom)
            .bind(c_prenom)
            .bind(c_uid)
            .bind(c_org)
            .bind(limit as i64)
            .fetch_all(pool)
            .await?;
        Ok(found.into_iter().map(row).collect())
    }

    /// The rows of `fetch` the list keeps.
    async fn kept(
        pool: &PgPool,
        sql: &str,
        f: &Filter<'_>,
        cursor: Option<&Key>,
        limit: usize,
    ) -> Result<Vec<ServiceUserRow>, sqlx::Error> {
        Ok(fetch(pool, sql, f, cursor, limit)
            .await?
            .into_iter()
            .filter(|(r, codes)| keep(f, r, codes))
            .map(|(r, _)| r)
            .collect())
    }

    /// `size` members after `cursor`, with their roles and requests.
    async fn walk(
        pool: &PgPool,
        f: &Filter<'_>,
        cursor: Option<&Key>,
        size: usize,
    ) -> Result<Vec<(ServiceUserRow, Vec<String>)>, sqlx::Error> {
        // One structure: a range of its (organisation, nom, prénom, user)
        // index. Several: their members sorted. All (the operator): the
        // (nom, prénom, user, organisation) index.
        let scope = match f.managed {
            Some([_]) => "m.organisation_id = ($4::bigint[])[1] and (not $5 or (m.agent_nom, m.agent_prenom, m.user_id) > ($6, $7, $8)) and $9::bigint = $9",
            Some(_) => "m.organisation_id = any($4) and (not $5 or (m.agent_nom, m.agent_prenom, m.user_id, m.organisation_id) > ($6, $7, $8, $9))",
            None => "$4::bigint[] is null and (not $5 or (m.agent_nom, m.agent_prenom, m.user_id, m.organisation_id) > ($6, $7, $8, $9))",
        };
        let sql = format!(
            "with pairs as materialized (
                 select m.user_id, m.organisation_id, m.agent_nom as nom, m.agent_prenom as prenom
                   from memberships m
                  where {scope} and {SEARCH} and $3::text = $3::text
                  order by m.agent_nom, m.agent_prenom, m.user_id, m.organisation_id
                  limit $10)
             {ROLES_AND_PENDING}"
        );
        fetch(pool, &sql, f, cursor, size).await
    }

    /// The people with a pending request on the application (members or
    /// not), after `cursor`.
    async fn requesters(
        pool: &PgPool,
        f: &Filter<'_>,
        cursor: Option<&Key>,
        need: usize,
    ) -> Result<Vec<ServiceUserRow>, sqlx::Error> {
        let sql = format!(
            "with pairs as materialized (
                 select distinct a.requester_id as user_id, a.organisation_id, u.nom, u.prenom
                   from access_requests a join roles r on r.id = a.role_id join users u on u.id = a.requester_id
                   join organisations so on so.id = a.organisation_id
                  where r.application_id = $1 and a.status = 'pending'
                    and ($4::bigint[] is null or a.organisation_id = any($4))
                    and {SEARCH_PERSON}
                    and (not $5 or (u.nom, u.prenom, u.id, a.organisation_id) > ($6, $7, $8, $9))
                    and $3::text = $3::text
                  order by u.nom, u.prenom, a.requester_id, a.organisation_id
                  limit $10)
             {ROLES_AND_PENDING}"
        );
        kept(pool, &sql, f, cursor, need).await
    }

    /// The holders after `cursor`, set-based: every effective right of the
    /// application in the managed structures, then the page.
    async fn set_based(
        pool: &PgPool,
        f: &Filter<'_>,
        cursor: Option<&Key>,
        need: usize,
    ) -> Result<Vec<ServiceUserRow>, sqlx::Error> {
        let sql = format!(
            "with pairs as materialized (
                 select x.user_id, x.organisation_id, u.nom, u.prenom
                   from (select distinct e.user_id, e.organisation_id from effective_rights(current_date) e
                          where e.application_id = $1 and ($4::bigint[] is null or e.organisation_id = any($4))
                            and ($3 in ('', 'en-attente')
                                 or e.role_id = (select id from roles where application_id = $1 and code = $3))) x
                   join users u on u.id = x.user_id join organisations so on so.id = x.organisation_id
                  where {SEARCH_PERSON}
                    and (not $5 or (u.nom, u.prenom, u.id, x.organisation_id) > ($6, $7, $8, $9))
                  order by u.nom, u.prenom, x.user_id, x.organisation_id
                  limit $10)
             {ROLES_AND_PENDING}"
        );
        kept(pool, &sql, f, cursor, need).await
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub id: i64,
    pub role: String,
    pub message: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldGrant {
    pub id: i64,
    pub role: String,
    /// The first day held.
    pub date_ouverture: String,
    /// The closing date, the first day without it (empty: no end).
    pub date_cloture: String,
    /// Its last day held (the day before the closing date).
    pub dernier_jour: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCard {
    pub application: AppInfo,
    pub user_id: i64,
    pub organisation_id: i64,
    pub civilite: String,
    pub nom: String,
    pub prenom: String,
    pub email: String,
    pub telephone: String,
    pub structure: String,
    pub siret: String,
    pub pending: Vec<PendingRequest>,
    pub grants: Vec<HeldGrant>,
    /// Rights held today through groups: « Consultation — groupe G1 — … ».
    pub group_rights: Vec<String>,
}

/// A user's card for a manager of the organisation. The user must belong
/// to it, hold a right in it or have asked for one; otherwise: not found.
#[server(endpoint = "get_user_card", output = crate::json::Json)]
pub async fn get_user_card(
    application: String,
    user_id: crate::domain::UserId,
    organisation_id: crate::domain::OrganisationId,
) -> AppResult<UserCard> {
    // Typed at the boundary; read as numbers below.
    let (user_id, organisation_id) = (user_id.get(), organisation_id.get());
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me
        .manager_of(organisation_id)
        .await
        .map_err(|_| AppError::NotFound)?;
    let (app_id, info) = app_info(&application).await?;
    let pool = crate::state::pool();
    let person = sqlx::query!(
        r#"select u.civilite, u.nom, u.prenom, u.email, u.telephone, o.nom as structure, o.siret
           from users u, organisations o
          where u.id = $1 and o.id = $2
            and (exists (select 1 from memberships m where m.user_id = u.id and m.organisation_id = o.id)
              or exists (select 1 from access_requests a where a.requester_id = u.id and a.organisation_id = o.id))"#,
        user_id,
        manager.organisation_id() as crate::domain::OrganisationId,
    )
    .fetch_optional(&pool)
    .await?;
    let Some(person) = person else {
        return Err(AppError::NotFound);
    };
    let pending = sqlx::query!(
        r#"select a.id, r.libelle, a.message, a.created_at as "created_at: chrono::DateTime<chrono::Utc>"
           from access_requests a join roles r on r.id = a.role_id
          where a.requester_id = $1 and a.organisation_id = $2 and r.application_id = $3 and a.status = 'pending'
          order by a.created_at"#,
        user_id,
        organisation_id,
        app_id,
    )
    .fetch_all(&pool)
    .await?;
    let grants = sqlx::query!(
        r#"select g.id, r.libelle, g.date_ouverture as "date_ouverture: chrono::NaiveDate",
                  g.date_cloture as "date_cloture?: chrono::NaiveDate"
           from grants g join roles r on r.id = g.role_id
          where g.user_id = $1 and g.organisation_id = $2 and r.application_id = $3
            and (g.date_cloture is null or g.date_cloture > greatest(g.date_ouverture, current_date))
          order by r.position"#,
        user_id,
        organisation_id,
        app_id,
    )
    .fetch_all(&pool)
    .await?;
    let group_rights = sqlx::query_scalar!(
        r#"select distinct r.libelle || ' — groupe ' || g.code || ' — ' || g.libelle as "right!"
           from effective_rights(current_date) e join roles r on r.id = e.role_id
           join user_groups g on g.id = e.group_id
          where e.user_id = $1 and e.organisation_id = $2 and e.application_id = $3 order by 1"#,
        user_id,
        organisation_id,
        app_id,
    )
    .fetch_all(&pool)
    .await?;
    let (civilite, nom, prenom, email, telephone, structure, siret) = (
        person.civilite,
        person.nom,
        person.prenom,
        person.email,
        person.telephone,
        person.structure,
        person.siret,
    );
    Ok(UserCard {
        group_rights,
        application: info,
        user_id,
        organisation_id,
        civilite,
        nom,
        prenom,
        email,
        telephone: telephone.unwrap_or_default(),
        structure,
        siret,
        pending: pending
            .into_iter()
            .map(|p| PendingRequest {
                id: p.id,
                role: p.libelle,
                message: p.message,
                created_at: p.created_at.format("%d/%m/%Y").to_string(),
            })
            .collect(),
        grants: grants
            .into_iter()
            .map(|g| (g.id, g.libelle, g.date_ouverture, g.date_cloture))
            .map(|(id, role, s, e)| HeldGrant {
                id,
                role,
                date_ouverture: crate::ui::date_fr(&s),
                date_cloture: e.map(|e| crate::ui::date_fr(&e)).unwrap_or_default(),
                dernier_jour: e
                    .map(|e| crate::ui::date_fr(&(e - chrono::Duration::days(1))))
                    .unwrap_or_default(),
            })
            .collect(),
    })
}

/// "Ajouter une nouvelle habilitation": a manager grants a role directly to
/// a user of the organisation (or one who asked to join it), from a date
/// (today by default, never in the past) and until an optional closing
/// date (the first day it no longer holds).
#[server(endpoint = "add_grant", output = crate::json::Json)]
pub async fn add_grant(
    user_id: crate::domain::UserId,
    organisation_id: crate::domain::OrganisationId,
    role_id: crate::domain::RoleId,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<i64> {
    // Typed at the boundary; read as numbers below.
    let (user_id, organisation_id, role_id) = (user_id.get(), organisation_id.get(), role_id.get());
    use crate::error::{AppError, Errors};
    use crate::mail::ssr::{enqueue, link};
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    // Nobody gives themselves a right (the database refuses it too).
    manager.not_self(crate::domain::UserId(user_id))?;
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let period =
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today);
    errs.finish()?;
    let period = period.unwrap();
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let target = sqlx::query!(
        r#"select u.email, r.libelle as role, a.libelle as app, o.nom as org
             from users u, roles r join applications a on a.id = r.application_id, organisations o
          where u.id = $1 and r.id = $2 and o.id = $3
            and (exists (select 1 from memberships m where m.user_id = u.id and m.organisation_id = o.id)
              or exists (select 1 from access_requests q where q.requester_id = u.id and q.organisation_id = o.id
                            and q.status = 'pending'))"#,
        user_id,
        role_id,
        manager.organisation_id() as crate::domain::OrganisationId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, role, app, org)) = target.map(|t| (t.email, t.role, t.app, t.org)) else {
        return Err(AppError::NotFound);
    };
    // Ranks, the ceiling, « Habiliter » and overlaps: the rights core.
    sqlx::query!(
        "insert into memberships (user_id, organisation_id) values ($1, $2) on conflict do nothing",
        user_id,
        organisation_id,
    )
    .execute(&mut *tx)
    .await?;
    let gid = crate::rights::direct::give(
        &mut tx,
        &manager,
        crate::domain::UserId(user_id),
        role_id,
        period.ouverture,
        period.cloture,
        crate::rights::direct::Field("role_id"),
    )
    .await?
    .ok_or_else(|| AppError::invalid("role_id", "Cet utilisateur dispose déjà de ce rôle."))?;
    enqueue(
        &mut tx,
        &email,
        &format!("Nouvel accès à {app}"),
        &format!(
            "Le rôle {role} de la démarche '{app}' vous a été attribué pour la structure {org}{}{}.\n\nRetrouvez vos démarches : {}",
            if period.ouverture > today { format!(", à partir du {}", period.ouverture.format("%d/%m/%Y")) } else { String::new() },
            period.cloture.map(|c| format!(", jusqu'au {} (exclu)", c.format("%d/%m/%Y"))).unwrap_or_default(),
            link("/")
        ),
    )
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(manager.user_id().get()),
            organisation_id: Some(organisation_id),
            action: "habilitation.attribution",
            target_type: "habilitation",
            target_id: Some(gid),
            before: None,
            after: Some(serde_json::json!({
                "utilisateur": user_id, "role": role, "application": app,
                "date_ouverture": period.ouverture, "date_cloture": period.cloture,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(gid)
}
