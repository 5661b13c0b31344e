//! Transfer of the primary manager (Chorus Pro "Transférer le rôle de
//! gestionnaire principal"), in its three modes: some of my organisations to
//! one user, all of them to one user, each to its own user. The new manager
//! must already be attached; the whole transfer is one transaction.
use super::Member;
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferMode {
    /// "Transfert d'une partie de vos structures" (to one user).
    Partie,
    /// "Transfert de toutes vos structures vers un seul gestionnaire".
    Toutes,
    /// "Transfert de toutes vos structures vers plusieurs gestionnaires".
    Chacune,
}

impl TransferMode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "partie" => Ok(Self::Partie),
            "toutes" => Ok(Self::Toutes),
            "chacune" => Ok(Self::Chacune),
            _ => Err("Choisissez un type de transfert.".into()),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::Partie => "partie",
            Self::Toutes => "toutes",
            Self::Chacune => "chacune",
        }
    }
}

/// An organisation whose primary manager is being transferred, with the
/// people attached to it (the possible new managers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferOrg {
    pub id: i64,
    pub siret: String,
    pub nom: String,
    pub members: Vec<Member>,
    pub more_members: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferSetup {
    /// The current primary manager whose role is transferred.
    pub manager_id: i64,
    pub manager: String,
    /// An operator acting for someone else.
    pub for_other: bool,
    pub organisations: Vec<TransferOrg>,
}

/// The field that names the new manager of one organisation in mode (c).
pub fn manager_field(organisation_id: i64) -> String {
    format!("gestionnaires[{organisation_id}]")
}

/// Whose role is transferred: the caller's own, or (operator only) that of
/// `depuis`. Anyone else gets `Forbidden`.
#[cfg(feature = "ssr")]
fn transferor(me: &crate::session::Authenticated, depuis: i64) -> AppResult<i64> {
    if depuis == 0 || depuis == me.id().get() {
        Ok(me.id().get())
    } else if me.is_operator() {
        Ok(depuis)
    } else {
        Err(crate::error::AppError::Forbidden)
    }
}

/// The organisations the caller (or, for an operator, `depuis`) is primary
/// manager of, each with the open accounts attached to it.
#[server(endpoint = "transfer_choices", output = crate::json::Json)]
pub async fn transfer_choices(#[server(default)] depuis: i64) -> AppResult<TransferSetup> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let from = transferor(&me, depuis)?;
    let pool = crate::state::pool();
    let manager = sqlx::query_scalar!(
        r#"select prenom || ' ' || nom as "name!" from users where id = $1"#,
        from
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let orgs: Vec<(i64, String, String)> = sqlx::query!(
        "select o.id, o.siret, o.nom from memberships m join organisations o on o.id = m.organisation_id
          where m.user_id = $1 and m.admin_role = 'primary_manager' and o.active order by o.nom, o.id",
        from,
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|o| (o.id, o.siret, o.nom))
    .collect();
    let ids: Vec<i64> = orgs.iter().map(|o| o.0).collect();
    // The first people of each organisation by name, in one query.
    let rows = sqlx::query!(
        r#"select org.id as "org!", x.id as "id!", x.identifier as "identifier!", x.nom as "nom!",
                  x.prenom as "prenom!", x.email as "email!", x.admin_role as "admin_role!"
           from unnest($1::bigint[]) as org(id)
           cross join lateral (
               select u.id, u.identifier, u.nom, u.prenom, u.email, coalesce(m.admin_role, '') as admin_role
                 from memberships m join users u on u.id = m.user_id
                where m.organisation_id = org.id and u.id <> $2
                  and (u.date_cloture is null or u.date_cloture > current_date)
                order by u.nom, u.prenom, u.id limit $3) x"#,
        &ids,
        from,
        super::SELECT_LIMIT + 1,
    )
    .fetch_all(&pool)
    .await?;
    let mut members: HashMap<i64, Vec<Member>> = HashMap::new();
    for r in rows {
        members.entry(r.org).or_default().push(Member {
            id: r.id,
            identifier: r.identifier,
            nom: r.nom,
            prenom: r.prenom,
            email: r.email,
            admin_role: r.admin_role,
        });
    }
    let organisations = orgs
        .into_iter()
        .map(|(id, siret, nom)| {
            let mut list = members.remove(&id).unwrap_or_default();
            let more_members = list.len() as i64 > super::SELECT_LIMIT;
            list.truncate(super::SELECT_LIMIT as usize);
            TransferOrg {
                id,
                siret,
                nom,
                members: list,
                more_members,
            }
        })
        .collect();
    Ok(TransferSetup {
        manager_id: from,
        manager,
        for_other: from != me.id().get(),
        organisations,
    })
}

/// Transfers the primary manager role of the caller (or, for an operator,
/// of `depuis`). Mode `partie`: the organisations ticked in `structures`
/// go to `user_id`; `toutes`: all of them go to `user_id`; `chacune`: each
/// organisation of `gestionnaires` goes to its own user. The former manager
/// stays attached, as a plain member or, with `rester_administrateur`, as an
/// admin. All or nothing. Returns how many organisations changed hands.
#[server(endpoint = "transfer_primary_manager", output = crate::json::Json)]
pub async fn transfer_primary_manager(
    #[server(default)] mode: String,
    #[server(default)] depuis: i64,
    #[server(default)] structures: HashMap<String, String>,
    #[server(default)] user_id: String,
    #[server(default)] gestionnaires: HashMap<String, String>,
    #[server(default)] rester_administrateur: Option<String>,
) -> AppResult<i64> {
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let from = transferor(&me, depuis)?;
    let mode = TransferMode::parse(&mode).map_err(|m| AppError::invalid("mode", m))?;
    let keep_admin = rester_administrateur.is_some();
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    // The organisations `from` manages, locked in id order so that concurrent
    // transfers and admin changes of the same organisation queue up.
    let managed: HashMap<i64, (String, String, i32)> = sqlx::query!(
        "select o.id, o.nom, o.siret, o.max_admins
           from organisations o join memberships m on m.organisation_id = o.id
          where m.user_id = $1 and m.admin_role = 'primary_manager' and o.active
          order by o.id for update of o, m",
        from,
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|o| (o.id, (o.nom, o.siret, o.max_admins)))
    .collect();
    let org_id = |key: &str| key.trim().parse::<i64>().map_err(|_| AppError::Forbidden);
    let mut errs = Errors::default();
    // (organisation, new manager, field that chose them)
    let mut plan: Vec<(i64, i64, String)> = vec![];
    match mode {
        TransferMode::Partie | TransferMode::Toutes => {
            let mut orgs: Vec<i64> = if mode == TransferMode::Toutes {
                managed.keys().copied().collect()
            } else {
                structures
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, _)| org_id(k))
                    .collect::<Result<_, _>>()?
            };
            orgs.sort_unstable();
            // Only the organisations `from` manages can be transferred.
            if orgs.iter().any(|o| !managed.contains_key(o)) {
                return Err(AppError::Forbidden);
            }
            if orgs.is_empty() {
                errs.add(
                    "structures",
                    if mode == TransferMode::Toutes {
                        "Il n'y a aucune structure active dont transférer le rôle."
                    } else {
                        "Choisissez au moins une structure."
                    },
                );
            }
            let target = errs.check(
                "user_id",
                super::parse_user_choice(&user_id)
                    .map_err(|_| "Choisissez le nouveau gestionnaire principal.".to_string()),
            );
            if let Some(t) = target {
                plan = orgs.into_iter().map(|o| (o, t, "user_id".into())).collect();
            }
        }
        TransferMode::Chacune => {
            for (k, v) in gestionnaires.iter().filter(|(_, v)| !v.trim().is_empty()) {
                let o = org_id(k)?;
                if !managed.contains_key(&o) {
                    return Err(AppError::Forbidden);
                }
                let field = manager_field(o);
                if let Some(t) = errs.check(&field, super::parse_user_choice(v)) {
                    plan.push((o, t, field));
                }
            }
            plan.sort_unstable();
            if gestionnaires.values().all(|v| v.trim().is_empty()) {
                errs.add(
                    "gestionnaires",
                    "Désignez le nouveau gestionnaire principal d'au moins une structure.",
                );
            }
        }
    }
    errs.finish()?;
    let mut errs = Errors::default();
    // Each new manager must be an open account attached to the organisation.
    let mut missing: HashMap<String, (String, Vec<String>)> = HashMap::new();
    let mut people: HashMap<i64, (String, String)> = HashMap::new();
    let mut former_roles: Vec<Option<String>> = vec![];
    for (org, user, field) in &plan {
        let nom_org = &managed[org].0;
        let row = sqlx::query!(
            r#"select u.prenom || ' ' || u.nom as "name!", u.email,
                    u.date_cloture is not null and u.date_cloture <= current_date as "closed!",
                    m.user_id is not null as "attached!", m.admin_role as "admin_role?"
               from users u left join memberships m on m.user_id = u.id and m.organisation_id = $2
              where u.id = $1"#,
            user,
            org,
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.name, r.email, r.closed, r.attached, r.admin_role));
        let Some((name, email, closed, attached, role)) = row else {
            errs.add(field, "Cette personne est introuvable.");
            continue;
        };
        former_roles.push(role);
        people.insert(*user, (name.clone(), email));
        if *user == from {
            errs.add(
                field,
                format!("{name} est déjà gestionnaire principal de {nom_org}."),
            );
        } else if closed {
            errs.add(field, format!("Le compte de {name} est clôturé."));
        } else if !attached {
            missing
                .entry(field.clone())
                .or_insert_with(|| (name, vec![]))
                .1
                .push(nom_org.clone());
        }
    }
    let mut missing: Vec<_> = missing.into_iter().collect();
    missing.sort();
    for (field, (name, orgs)) in missing {
        errs.add(
            &field,
            format!(
                "{name} n'est pas rattaché(e) à {} {} : rattachez cette personne d'abord ou choisissez-en une autre.",
                if orgs.len() > 1 { "aux structures" } else { "la structure" },
                orgs.join(", ")
            ),
        );
    }
    errs.finish()?;
    apply(
        &mut tx,
        &me,
        from,
        mode,
        keep_admin,
        &plan,
        &former_roles,
        &managed,
    )
    .await?;
    notify(&mut tx, &plan, &people, &managed).await?;
    tx.commit().await?;
    Ok(plan.len() as i64)
}

/// Demotes the former manager then promotes the new one, organisation by
/// organisation, with one journal event each.
#[cfg(feature = "ssr")]
#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut sqlx::PgConnection,
    me: &crate::session::Authenticated,
    from: i64,
    mode: TransferMode,
    keep_admin: bool,
    plan: &[(i64, i64, String)],
    former_roles: &[Option<String>],
    managed: &HashMap<i64, (String, String, i32)>,
) -> AppResult<()> {
    use crate::error::AppError;
    for ((org, user, _), former) in plan.iter().zip(former_roles) {
        let (nom_org, _, max_admins) = &managed[org];
        set_admin_role(tx, *org, from, None).await?;
        set_admin_role(tx, *org, *user, Some("primary_manager")).await?;
        if keep_admin {
            let kept = set_admin_role(tx, *org, from, Some("org_admin")).await;
            match kept {
                Err(sqlx::Error::Database(d))
                    if d.constraint() == Some("memberships_admin_limit") =>
                {
                    return Err(AppError::invalid(
                        "rester_administrateur",
                        format!("La structure {nom_org} a déjà {} : l'ancien gestionnaire ne peut pas en rester administrateur.", super::administrateurs(*max_admins as i64)),
                    ));
                }
                other => {
                    other?;
                }
            }
        }
        crate::audit::ssr::record(
            tx,
            crate::audit::ssr::Event {
                actor_id: Some(me.id().get()),
                organisation_id: Some(*org),
                action: "gestionnaire_principal.transfert",
                target_type: "structure",
                target_id: Some(*org),
                before: Some(serde_json::json!({
                    "gestionnaire_principal": from,
                    "role_du_nouveau": former,
                })),
                after: Some(serde_json::json!({
                    "gestionnaire_principal": user,
                    "role_de_l_ancien": keep_admin.then_some("org_admin"),
                    "mode": mode.code(),
                })),
            },
        )
        .await?;
    }
    // Exactly one primary manager per organisation, checked before commit
    // (the unique index forbids two; the deferred trigger forbids none).
    let orgs: Vec<i64> = plan.iter().map(|p| p.0).collect();
    let n = sqlx::query_scalar!(
        r#"select count(distinct organisation_id) as "n!" from memberships
          where organisation_id = any($1) and admin_role = 'primary_manager'"#,
        &orgs,
    )
    .fetch_one(&mut *tx)
    .await?;
    if n != orgs.len() as i64 {
        tracing::error!(
            ?orgs,
            n,
            "transfer left an organisation without primary manager"
        );
        return Err(AppError::Internal);
    }
    Ok(())
}

/// One mail to each new manager, listing their organisations.
#[cfg(feature = "ssr")]
async fn notify(
    tx: &mut sqlx::PgConnection,
    plan: &[(i64, i64, String)],
    people: &HashMap<i64, (String, String)>,
    managed: &HashMap<i64, (String, String, i32)>,
) -> AppResult<()> {
    let mut by_user: Vec<(i64, Vec<String>)> = vec![];
    for (org, user, _) in plan {
        let (nom, siret, _) = &managed[org];
        let line = format!("- {nom} (SIRET {siret})");
        match by_user.iter_mut().find(|(u, _)| u == user) {
            Some((_, lines)) => lines.push(line),
            None => by_user.push((*user, vec![line])),
        }
    }
    for (user, lines) in by_user {
        let (name, email) = &people[&user];
        crate::mail::ssr::enqueue(
            tx,
            email,
            "Vous êtes gestionnaire principal",
            &format!(
                "{name}, le rôle de gestionnaire principal vous a été transféré pour :\n{}\n\n\
                 Vous pouvez gérer ces structures depuis : {}",
                lines.join("\n"),
                crate::mail::ssr::link("/structures")
            ),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_modes_are_parsed() {
        for m in [
            TransferMode::Partie,
            TransferMode::Toutes,
            TransferMode::Chacune,
        ] {
            assert_eq!(TransferMode::parse(m.code()), Ok(m));
        }
        assert!(TransferMode::parse("").is_err());
        assert_eq!(manager_field(7), "gestionnaires[7]");
    }
}

/// One membership's rank in a structure (none, admin, primary manager).
#[cfg(feature = "ssr")]
async fn set_admin_role(
    conn: &mut sqlx::PgConnection,
    org: i64,
    user: i64,
    role: Option<&str>,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query!(
        "update memberships set admin_role = $3 where organisation_id = $1 and user_id = $2",
        org,
        user,
        role,
    )
    .execute(conn)
    .await
}
