//! Conventions: what a structure may hand out (a set of application roles)
//! and for which period. The operator formalises, modifies and closes
//! them; the structure's administrators read them. The roles of the
//! conventions open on a date are the structure's ceiling on that date
//! (« Démarches activées » shows today's), enforced on every path by the
//! database's triggers as well.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CeilingRole {
    pub id: i64,
    pub libelle: String,
    pub allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activation {
    pub application_id: i64,
    pub code: String,
    pub libelle: String,
    pub description: String,
    pub active: bool,
    pub roles: Vec<CeilingRole>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicesOfOrg {
    pub organisation: String,
    pub siret: String,
    pub applications: Vec<Activation>,
}

/// « Démarches activées »: every application of the catalogue, with the
/// roles the structure may hand out today (its open conventions). For the
/// organisation's administrators and operators.
#[server(endpoint = "org_services", output = crate::json::Json)]
pub async fn org_services(organisation_id: crate::domain::OrganisationId) -> AppResult<ServicesOfOrg> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id,) = (organisation_id.get(),);
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let (organisation, siret) = ssr::names(&pool, manager.organisation_id()).await?;
    let rows = sqlx::query!(
        r#"select a.id, a.code, a.libelle, a.description, r.id as role_id, r.libelle as role_libelle,
                exists (select 1 from organisation_roles orl where orl.organisation_id = $1 and orl.role_id = r.id) as "allowed!"
           from applications a join roles r on r.application_id = a.id
          order by a.position, a.libelle, r.position, r.libelle"#,
        manager.organisation_id() as crate::domain::OrganisationId,
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.code, r.libelle, r.description, r.role_id, r.role_libelle, r.allowed))
    .collect();
    let mut applications = group_roles(rows);
    for a in &mut applications {
        a.active = a.roles.iter().any(|r| r.allowed);
    }
    Ok(ServicesOfOrg {
        organisation,
        siret,
        applications,
    })
}

/// Parses a comma-separated list of ids ("12,15").
pub fn parse_ids(raw: &str) -> Result<Vec<i64>, String> {
    let mut ids = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| "Sélection invalide.".to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConventionRow {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub siret: String,
    pub libelle: String,
    pub date_ouverture: chrono::NaiveDate,
    pub date_cloture: Option<chrono::NaiveDate>,
    /// « Ouvert », « À venir » or « Clôturé », from the dates.
    pub statut: String,
    /// « SOFFi : Consultation, Saisie ; Parapheur : Utilisateur ».
    pub roles: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConventionList {
    pub rows: Vec<ConventionRow>,
    pub next: Option<i64>,
    /// The caller may formalise, modify and close conventions.
    pub operator: bool,
}

pub const CONVENTIONS_PAGE_SIZE: i64 = 50;

/// « Consulter les conventions »: the operator sees every convention, an
/// organisation's managers those of the structures they manage (read
/// only). Filters: structure (name or SIRET prefix, or one structure),
/// libellé prefix, état (`ouverte`, `a_venir`, `cloturee`); newest first.
#[server(endpoint = "list_conventions", output = crate::json::Json)]
pub async fn list_conventions(
    #[server(default)] organisation_id: crate::domain::OrganisationId,
    #[server(default)] structure: String,
    #[server(default)] libelle: String,
    #[server(default)] etat: String,
    #[server(default)] after: i64,
) -> AppResult<ConventionList> {
    // Typed at the boundary (0: none); read as numbers below.
    let (organisation_id,) = (organisation_id.get(),);
    use crate::domain::like_prefix;
    let me = crate::session::require_user().await?;
    if organisation_id != 0 {
        me.manager_of(organisation_id).await?;
    }
    let etat = match etat.as_str() {
        "" | "ouverte" | "a_venir" | "cloturee" => etat,
        _ => return Err(crate::error::AppError::invalid("etat", "État inconnu.")),
    };
    let rows = sqlx::query!(
        r#"select c.id, c.organisation_id, o.nom, o.siret, c.libelle,
                c.date_ouverture as "date_ouverture: chrono::NaiveDate", c.date_cloture as "date_cloture?: chrono::NaiveDate",
                coalesce((select string_agg(a.libelle || ' : ' || x.roles, ' ; ' order by a.position, a.libelle)
                            from (select cr.application_id, string_agg(r.libelle, ', ' order by r.position, r.libelle) as roles
                                    from convention_roles cr join roles r on r.id = cr.role_id
                                   where cr.convention_id = c.id and (cr.date_cloture is null or cr.date_cloture > current_date)
                                   group by 1) x
                            join applications a on a.id = x.application_id), '') as "roles!"
           from conventions c join organisations o on o.id = c.organisation_id
          where ($1::bigint = 0 or c.organisation_id = $1)
            and ($2 or c.organisation_id in (select m.organisation_id from memberships m
                                               where m.user_id = $3 and m.admin_role is not null))
            and ($4 = '' or lower(o.nom) like $4 || '%' or o.siret like $4 || '%')
            and ($5 = '' or lower(c.libelle) like $5 || '%')
            and case $6 when 'ouverte' then c.date_ouverture <= current_date and (c.date_cloture is null or c.date_cloture > current_date)
                        when 'a_venir' then c.date_ouverture > current_date and (c.date_cloture is null or c.date_cloture > current_date)
                        when 'cloturee' then c.date_cloture <= current_date
                        else true end
            and ($7::bigint = 0 or c.id < $7)
          order by c.id desc limit $8"#,
        organisation_id,
        me.is_operator(),
        me.id() as crate::domain::UserId,
        like_prefix(&structure),
        like_prefix(&libelle),
        &etat,
        after,
        CONVENTIONS_PAGE_SIZE + 1,
    )
    .fetch_all(&crate::state::pool())
    .await?;
    let today = chrono::Local::now().date_naive();
    let more = rows.len() as i64 > CONVENTIONS_PAGE_SIZE;
    let rows: Vec<ConventionRow> = rows
        .into_iter()
        .take(CONVENTIONS_PAGE_SIZE as usize)
        .map(|r| ConventionRow {
            id: r.id,
            organisation_id: r.organisation_id,
            organisation: r.nom,
            siret: r.siret,
            libelle: r.libelle,
            date_ouverture: r.date_ouverture,
            date_cloture: r.date_cloture,
            statut: crate::domain::statut(r.date_ouverture, r.date_cloture, today).into(),
            roles: r.roles,
        })
        .collect();
    Ok(ConventionList {
        next: more.then(|| rows.last().map(|r| r.id)).flatten(),
        rows,
        operator: me.is_operator(),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConventionDetail {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub siret: String,
    pub libelle: String,
    pub date_ouverture: chrono::NaiveDate,
    pub date_cloture: Option<chrono::NaiveDate>,
    pub statut: String,
    /// The caller may modify and close it (operators).
    pub editable: bool,
    /// Every application of the catalogue; `allowed` marks the roles the
    /// convention lists (from today, or from its opening).
    pub applications: Vec<Activation>,
}

/// One convention: for operators, and read-only for the managers of its
/// structure. `id` = 0 with `organisation_id` gives the blank form of a
/// new convention for that structure (operators only).
#[server(endpoint = "get_convention", output = crate::json::Json)]
pub async fn get_convention(
    #[server(default)] id: crate::domain::ConventionId,
    #[server(default)] organisation_id: crate::domain::OrganisationId,
) -> AppResult<ConventionDetail> {
    // Typed at the boundary (0: none); read as numbers below.
    let (id, organisation_id) = (id.get(), organisation_id.get());
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let pool = crate::state::pool();
    let head: Option<(i64, String, chrono::NaiveDate, Option<chrono::NaiveDate>)> = if id == 0 {
        if !me.is_operator() {
            return Err(AppError::Forbidden);
        }
        Some((
            organisation_id,
            String::new(),
            chrono::Local::now().date_naive(),
            None,
        ))
    } else {
        sqlx::query!(
            r#"select organisation_id, libelle, date_ouverture as "date_ouverture: chrono::NaiveDate",
                      date_cloture as "date_cloture?: chrono::NaiveDate" from conventions where id = $1"#,
            id,
        )
        .fetch_optional(&pool)
        .await?
        .map(|c| (c.organisation_id, c.libelle, c.date_ouverture, c.date_cloture))
    };
    // A missing convention and a foreign one answer the same.
    let Some((org, libelle, o, c)) = head else {
        return Err(AppError::Forbidden);
    };
    // Operators may start a convention without a structure (its SIRET is
    // typed in the form); anyone else reads their structures' only.
    let (organisation, siret): (String, String) = if org == 0 && me.is_operator() {
        (String::new(), String::new())
    } else {
        let manager = me.manager_of(org).await?;
        ssr::names(&pool, manager.organisation_id()).await?
    };
    let rows = sqlx::query!(
        r#"select a.id, a.code, a.libelle, a.description, r.id as role_id, r.libelle as role_libelle,
                exists (select 1 from convention_roles cr where cr.convention_id = $1 and cr.role_id = r.id
                           and (cr.date_cloture is null or cr.date_cloture > current_date)) as "allowed!"
           from applications a join roles r on r.application_id = a.id
          order by a.position, a.libelle, r.position, r.libelle"#,
        id,
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.code, r.libelle, r.description, r.role_id, r.role_libelle, r.allowed))
    .collect();
    let today = chrono::Local::now().date_naive();
    let mut applications = group_roles(rows);
    for a in &mut applications {
        a.active = a.roles.iter().any(|r| r.allowed);
    }
    Ok(ConventionDetail {
        id,
        organisation_id: org,
        organisation,
        siret,
        libelle,
        date_ouverture: o,
        date_cloture: c,
        statut: crate::domain::statut(o, c, today).into(),
        editable: me.is_operator() && c.is_none_or(|c| c > today),
        applications,
    })
}

/// Rows (application…, role…, flag) in catalogue order, grouped by
/// application.
#[cfg(feature = "ssr")]
fn group_roles(rows: Vec<(i64, String, String, String, i64, String, bool)>) -> Vec<Activation> {
    let mut applications: Vec<Activation> = vec![];
    for (app_id, code, libelle, description, role_id, role, allowed) in rows {
        if applications.last().map(|a| a.application_id) != Some(app_id) {
            applications.push(Activation {
                application_id: app_id,
                code,
                libelle,
                description,
                active: false,
                roles: vec![],
            });
        }
        if let Some(a) = applications.last_mut() {
            a.roles.push(CeilingRole {
                id: role_id,
                libelle: role,
                allowed,
            });
        }
    }
    applications
}

/// « Formaliser une convention » (`id` = 0, for the structure whose SIRET
/// is given) or modify one: libellé, dates, the roles it allows. Operators
/// only. A role taken out stops at once (its row is closed today, and the
/// groups' rights on it end); a role added counts from today (or from the
/// convention's opening). Rights and pending requests outside the
/// structure's ceiling of today end in the same transaction.
#[server(endpoint = "save_convention", output = crate::json::Json)]
pub async fn save_convention(
    #[server(default)] id: crate::domain::ConventionId,
    #[server(default)] siret: String,
    libelle: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
    #[server(default)] role_ids: String,
) -> AppResult<i64> {
    // Typed at the boundary (0: none); read as numbers below.
    let (id,) = (id.get(),);
    use crate::error::{AppError, Errors};
    let op = crate::session::require_operator().await?;
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let libelle = libelle.split_whitespace().collect::<Vec<_>>().join(" ");
    if libelle.is_empty() || libelle.chars().count() > 200 {
        errs.add(
            "libelle",
            "Saisissez le libellé de la convention (200 caractères au plus).",
        );
    }
    let period = if id == 0 {
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today)
    } else {
        crate::domain::Period::parse(&mut errs, &date_ouverture, &date_cloture, today)
    };
    let wanted = errs.check("role_ids", parse_ids(&role_ids));
    if wanted.as_ref().is_some_and(|w| w.is_empty()) {
        errs.add(
            "role_ids",
            "Cochez au moins un rôle que la structure pourra attribuer.",
        );
    }
    let siret = if id == 0 {
        errs.check("siret", crate::domain::Siret::parse(&siret))
    } else {
        None
    };
    errs.finish()?;
    let (period, wanted) = (period.unwrap(), wanted.unwrap());
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    // The structure, locked: its ceiling changes in this transaction.
    let (org, before): (
        i64,
        Option<(String, chrono::NaiveDate, Option<chrono::NaiveDate>)>,
    ) = if id == 0 {
        let row = sqlx::query_scalar!(
            "select id from organisations where siret = $1 for update",
            siret.as_ref().map(|s| s.as_str()),
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(org) = row else {
            return Err(AppError::invalid(
                "siret",
                "Aucune structure n'est enregistrée avec ce SIRET.",
            ));
        };
        (org, None)
    } else {
        let row = sqlx::query!(
            r#"select organisation_id, libelle, date_ouverture as "date_ouverture: chrono::NaiveDate",
                      date_cloture as "date_cloture?: chrono::NaiveDate" from conventions where id = $1"#,
            id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((org, l, o, c)) = row.map(|r| (r.organisation_id, r.libelle, r.date_ouverture, r.date_cloture))
        else {
            return Err(AppError::NotFound);
        };
        sqlx::query!("select id from organisations where id = $1 for update", org)
            .fetch_one(&mut *tx)
            .await?;
        if c.is_some_and(|c| c <= today) {
            return Err(AppError::Conflict(
                "Cette convention est clôturée : elle ne se modifie plus.".into(),
            ));
        }
        // The opening of a convention that has started is a fact.
        if period.ouverture != o && (o <= today || period.ouverture < today) {
            return Err(AppError::invalid(
                "date_ouverture",
                "La date d'ouverture ne change plus une fois la convention ouverte, et ne peut pas être dans le passé.",
            ));
        }
        (org, Some((l, o, c)))
    };
    let catalogue: Vec<(i64, i64, String)> = sqlx::query!(
        r#"select r.id, r.application_id, a.libelle || ' — ' || r.libelle as "label!"
           from roles r join applications a on a.id = r.application_id where r.id = any($1)
          order by a.position, a.libelle, r.position, r.libelle"#,
        &wanted,
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.id, r.application_id, r.label))
    .collect();
    if catalogue.len() != wanted.len() {
        return Err(AppError::invalid(
            "role_ids",
            "Un des rôles choisis n'existe pas.",
        ));
    }
    let ceiling_before = ssr::ceiling_today(&mut tx, crate::domain::OrganisationId(org)).await?;
    // What its groups hold, before the change: a role taken out or an
    // earlier closing ends their rights (the database's cascade), each
    // with its event.
    let mut watched = None;
    let convention_id = match before {
        None => {
            sqlx::query_scalar!(
                "insert into conventions (organisation_id, libelle, date_ouverture, date_cloture, created_by)
                 values ($1, $2, $3, $4, $5) returning id",
                org,
                &libelle,
                period.ouverture as chrono::NaiveDate,
                period.cloture as Option<chrono::NaiveDate>,
                op.id() as crate::domain::UserId,
            )
            .fetch_one(&mut *tx)
            .await?
        }
        Some((_, old_o, old_c)) => {
            watched = Some(
                crate::rights::group_rights::Watched::read(
                    &mut tx,
                    crate::rights::group_rights::Cascading::Convention(crate::domain::ConventionId(id)),
                )
                .await?,
            );
            sqlx::query!(
                "update conventions set libelle = $2, date_ouverture = $3, date_cloture = $4 where id = $1",
                id,
                &libelle,
                period.ouverture as chrono::NaiveDate,
                period.cloture as Option<chrono::NaiveDate>,
            )
            .execute(&mut *tx)
            .await?;
            // Extended (its closing later, or none): the roles that were to
            // end with it go on with it (a role removed before keeps its end).
            if let Some(old_c) = old_c.filter(|c| period.cloture.is_none_or(|n| n > *c)) {
                sqlx::query!(
                    "update convention_roles set date_cloture = $2 where convention_id = $1 and date_cloture = $3",
                    id,
                    period.cloture as Option<chrono::NaiveDate>,
                    old_c as chrono::NaiveDate,
                )
                .execute(&mut *tx)
                .await?;
                crate::rights::group_rights::follow_convention(
                    &mut tx,
                    crate::domain::ConventionId(id),
                    old_c,
                    period.cloture,
                )
                .await?;
            }
            if old_o != period.ouverture {
                sqlx::query!(
                    "update convention_roles set date_ouverture = $2 where convention_id = $1 and date_ouverture = $3",
                    id,
                    period.ouverture as chrono::NaiveDate,
                    old_o as chrono::NaiveDate,
                )
                .execute(&mut *tx)
                .await?;
            }
            id
        }
    };
    // The roles listed from today on, then the change.
    let listed: Vec<i64> = sqlx::query_scalar!(
        "select role_id from convention_roles where convention_id = $1
            and (date_cloture is null or date_cloture > current_date) order by role_id",
        convention_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    let removed: Vec<i64> = listed
        .iter()
        .copied()
        .filter(|r| !wanted.contains(r))
        .collect();
    let added: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|r| !listed.contains(r))
        .collect();
    // Closed from today (a row not yet open holds for no day).
    sqlx::query!(
        "update convention_roles set date_cloture = greatest(date_ouverture, current_date)
          where convention_id = $1 and role_id = any($2) and (date_cloture is null or date_cloture > current_date)",
        convention_id,
        &removed,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into convention_roles (convention_id, application_id, role_id, date_ouverture, date_cloture)
         select $1, r.application_id, r.id, greatest($3::date, current_date), $4 from roles r where r.id = any($2)",
        convention_id,
        &added,
        period.ouverture as chrono::NaiveDate,
        period.cloture as Option<chrono::NaiveDate>,
    )
    .execute(&mut *tx)
    .await?;
    let ended =
        ssr::apply_ceiling(&mut tx, op.id(), crate::domain::OrganisationId(org), &ceiling_before)
            .await?;
    let names = |ids: &[i64]| -> Vec<String> {
        catalogue
            .iter()
            .filter(|(r, _, _)| ids.contains(r))
            .map(|(_, _, l)| l.clone())
            .collect()
    };
    let removed_names: Vec<String> = if removed.is_empty() {
        vec![]
    } else {
        sqlx::query_scalar!(
            r#"select a.libelle || ' — ' || r.libelle as "label!" from roles r join applications a on a.id = r.application_id
              where r.id = any($1) order by 1"#,
            &removed,
        )
        .fetch_all(&mut *tx)
        .await?
    };
    let fmt = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(op.id().get()),
            organisation_id: Some(org),
            action: if id == 0 { "convention.creation" } else { "convention.modification" },
            target_type: "convention",
            target_id: Some(convention_id),
            before: before.as_ref().map(|(l, o, c)| {
                serde_json::json!({"libelle": l, "date_ouverture": o.to_string(), "date_cloture": fmt(*c)})
            }),
            after: Some(serde_json::json!({
                "libelle": libelle,
                "date_ouverture": period.ouverture.to_string(),
                "date_cloture": fmt(period.cloture),
                "roles_ajoutes": names(&added),
                "roles_retires": removed_names,
                "habilitations_closes": ended,
            })),
        },
    )
    .await?;
    if let Some(w) = watched {
        w.record(&mut tx, op.id(), crate::domain::OrganisationId(org)).await?;
    }
    tx.commit().await?;
    Ok(convention_id)
}

/// Closes a convention from today (operators; the screen asks for a
/// confirmation). Its roles and its groups' rights end with it; the
/// structure's rights outside its remaining conventions end too.
#[server(endpoint = "close_convention", output = crate::json::Json)]
pub async fn close_convention(id: crate::domain::ConventionId) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (id,) = (id.get(),);
    use crate::error::AppError;
    let op = crate::session::require_operator().await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"select organisation_id, date_cloture as "date_cloture?: chrono::NaiveDate" from conventions where id = $1"#,
        id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((org, before)) = row.map(|r| (r.organisation_id, r.date_cloture)) else {
        return Err(AppError::NotFound);
    };
    sqlx::query!("select id from organisations where id = $1 for update", org)
        .fetch_one(&mut *tx)
        .await?;
    let today = chrono::Local::now().date_naive();
    if before.is_some_and(|c| c <= today) {
        return Ok(());
    }
    let ceiling_before = ssr::ceiling_today(&mut tx, crate::domain::OrganisationId(org)).await?;
    let watched = crate::rights::group_rights::Watched::read(
        &mut tx,
        crate::rights::group_rights::Cascading::Convention(crate::domain::ConventionId(id)),
    )
    .await?;
    sqlx::query!(
        "update conventions set date_cloture = greatest(date_ouverture, current_date) where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    let ended =
        ssr::apply_ceiling(&mut tx, op.id(), crate::domain::OrganisationId(org), &ceiling_before)
            .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(op.id().get()),
            organisation_id: Some(org),
            action: "convention.cloture",
            target_type: "convention",
            target_id: Some(id),
            before: Some(serde_json::json!({"date_cloture": before.map(|d| d.to_string())})),
            after: Some(serde_json::json!({"date_cloture": today.to_string(), "habilitations_closes": ended})),
        },
    )
    .await?;
    watched
        .record(&mut tx, op.id(), crate::domain::OrganisationId(org))
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::domain::{OrganisationId, RoleId};
    use sqlx::PgConnection;

    /// A structure's name and SIRET.
    pub async fn names(
        pool: &sqlx::PgPool,
        organisation_id: OrganisationId,
    ) -> Result<(String, String), sqlx::Error> {
        let o = sqlx::query!(
            "select nom, siret from organisations where id = $1",
            organisation_id as OrganisationId
        )
        .fetch_one(pool)
        .await?;
        Ok((o.nom, o.siret))
    }

    /// The roles the organisation may hand out today (its ceiling).
    pub async fn ceiling_today(
        conn: &mut PgConnection,
        organisation_id: OrganisationId,
    ) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar!(
            r#"select role_id as "role_id!" from organisation_roles where organisation_id = $1 order by role_id"#,
            organisation_id as OrganisationId
        )
        .fetch_all(conn)
        .await
    }

    /// After a change of conventions: the direct rights and pending
    /// requests on roles that left the ceiling today end now (they would
    /// no longer count anyway; ending them keeps the screens true).
    /// Each right ended has its journal event. Returns how many ended.
    pub async fn apply_ceiling(
        conn: &mut PgConnection,
        actor: crate::domain::UserId,
        organisation_id: OrganisationId,
        before: &[i64],
    ) -> Result<usize, sqlx::Error> {
        let after = ceiling_today(&mut *conn, organisation_id).await?;
        let left: Vec<i64> = before
            .iter()
            .copied()
            .filter(|r| !after.contains(r))
            .collect();
        if left.is_empty() {
            return Ok(0);
        }
        let ended = crate::rights::direct::end(
            &mut *conn,
            crate::rights::direct::Rights::Roles(organisation_id, &left),
        )
        .await?;
        crate::rights::direct::record_ended(
            &mut *conn,
            actor,
            &ended,
            "Rôle retiré des conventions de la structure",
        )
        .await?;
        sqlx::query!(
            "update access_requests set status = 'expired', decided_at = now(),
                    decision_comment = 'Démarche ou rôle retiré de la structure'
              where organisation_id = $1 and role_id = any($2) and status = 'pending'",
            organisation_id as OrganisationId,
            &left,
        )
        .execute(&mut *conn)
        .await?;
        Ok(ended.len())
    }

    /// True when the organisation may hand out the role.
    pub async fn within_ceiling(
        conn: &mut PgConnection,
        organisation_id: OrganisationId,
        role_id: RoleId,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query_scalar!(
            "select role_id from organisation_roles where organisation_id = $1 and role_id = $2",
            organisation_id as OrganisationId,
            role_id as RoleId,
        )
        .fetch_optional(conn)
        .await?;
        Ok(row.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_sorted_and_deduplicated() {
        assert_eq!(parse_ids(" 15,12,,15 ").unwrap(), vec![12, 15]);
        assert_eq!(parse_ids("").unwrap(), Vec::<i64>::new());
        assert!(parse_ids("12,x").is_err());
    }
}
