//! Access requests: a user asks for a role on an application for an
//! organisation; its managers accept or refuse.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyRequest {
    pub id: i64,
    pub application: String,
    pub role: String,
    pub structure: String,
    pub status: String,
    pub created_at: String,
    pub decision_comment: String,
}

pub fn status_label(s: &str) -> &'static str {
    match s {
        "pending" => "En attente",
        "accepted" => "Acceptée",
        "refused" => "Refusée",
        "cancelled" => "Annulée",
        _ => "Expirée",
    }
}

/// One pending request, as « Demandes d'accès à traiter » shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestToDecide {
    pub id: i64,
    pub demandeur: String,
    pub email: String,
    pub application: String,
    pub role: String,
    pub created_at: String,
    pub message: String,
    /// The open groups holding the role today that the caller may put the
    /// requester in (for a responsable, those of their reach).
    pub groups: Vec<crate::groups::Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequests {
    pub organisation: String,
    /// A manager may also accept with a direct grant (no group).
    pub manager: bool,
    pub rows: Vec<RequestToDecide>,
    /// More are pending than are shown (the oldest come first).
    pub more: bool,
}

/// The pending requests the caller decides in a structure, oldest first:
/// all of them for a manager; for a responsable habilitations, those for a
/// role one of the groups they reach holds today.
#[server(endpoint = "requests_to_decide", output = crate::json::Json)]
pub async fn requests_to_decide(organisation_id: crate::domain::OrganisationId) -> AppResult<PendingRequests> {
    use crate::domain::{OrganisationId, UserId};
    const SHOWN: i64 = 200;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let manager = me.manages_or_reaches(org).await?;
    let pool = crate::state::pool();
    // The groups holding a role today that the caller may add people to.
    let holders = sqlx::query!(
        r#"select g.id, g.code || ' — ' || g.libelle as "label!", h.role_id as "role_id!"
           from group_roles(current_date) h join user_groups g on g.id = h.group_id
          where h.organisation_id = $1
            and ($2 or h.group_id in (select group_id from responsable_reach($3, current_date)))
          order by upper(g.code)"#,
        org as OrganisationId,
        manager,
        me.id() as UserId,
    )
    .fetch_all(&pool)
    .await?;
    let roles: Vec<i64> = holders.iter().map(|h| h.role_id).collect();
    let mut rows = sqlx::query!(
        r#"select a.id, u.prenom || ' ' || u.nom as "demandeur!", u.email, ap.libelle as application,
                  r.libelle as role, a.created_at as "created_at: chrono::DateTime<chrono::Utc>", a.message, a.role_id
           from access_requests a join users u on u.id = a.requester_id
           join roles r on r.id = a.role_id join applications ap on ap.id = r.application_id
          where a.organisation_id = $1 and a.status = 'pending' and ($2 or a.role_id = any($3))
          order by a.created_at, a.id limit $4"#,
        org as OrganisationId,
        manager,
        &roles,
        SHOWN + 1,
    )
    .fetch_all(&pool)
    .await?;
    let more = rows.len() as i64 > SHOWN;
    rows.truncate(SHOWN as usize);
    let organisation = sqlx::query_scalar!(
        "select nom from organisations where id = $1",
        org as OrganisationId
    )
    .fetch_one(&pool)
    .await?;
    Ok(PendingRequests {
        organisation,
        manager,
        more,
        rows: rows
            .into_iter()
            .map(|r| RequestToDecide {
                id: r.id,
                demandeur: r.demandeur,
                email: r.email,
                application: r.application,
                role: r.role,
                created_at: r
                    .created_at
                    .with_timezone(&chrono::Local)
                    .format("%d/%m/%Y %H:%M")
                    .to_string(),
                message: r.message,
                groups: holders
                    .iter()
                    .filter(|h| h.role_id == r.role_id)
                    .map(|h| crate::groups::Choice {
                        id: h.id,
                        label: h.label.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

#[server(endpoint = "request_access", output = crate::json::Json)]
pub async fn request_access(
    organisation_id: crate::domain::OrganisationId,
    role_id: crate::domain::RoleId,
    #[server(default)] message: String,
) -> AppResult<i64> {
    use crate::domain::{OrganisationId, RoleId, UserId};
    use crate::error::AppError;
    use crate::mail::ssr::{enqueue, link};
    let me = crate::session::require_user().await?;
    let message = message.trim().to_string();
    if message.chars().count() > 1000 {
        return Err(AppError::invalid(
            "message",
            "Le message ne peut dépasser 1 000 caractères.",
        ));
    }
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let target = sqlx::query!(
        r#"select o.nom as org_nom, a.libelle as app_libelle, a.code as app_code, r.libelle as role_libelle
           from organisations o, roles r join applications a on a.id = r.application_id
          where o.id = $1 and o.active and r.id = $2"#,
        organisation_id as OrganisationId,
        role_id as RoleId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(target) = target else {
        return Err(AppError::invalid(
            "role_id",
            "Choisissez une structure et un rôle existants.",
        ));
    };
    let (org_nom, app_libelle, app_code, role_libelle) =
        (target.org_nom, target.app_libelle, target.app_code, target.role_libelle);
    if !crate::conventions::ssr::within_ceiling(&mut tx, organisation_id, role_id).await? {
        return Err(AppError::invalid(
            "role_id",
            "Ce rôle n'est pas ouvert à cette structure : choisissez une démarche activée pour elle.",
        ));
    }
    let held = sqlx::query_scalar!(
        "select role_id from effective_rights(current_date)
          where user_id = $1 and organisation_id = $2 and role_id = $3 limit 1",
        me.id() as UserId,
        organisation_id as OrganisationId,
        role_id as RoleId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if held.is_some() {
        return Err(AppError::invalid(
            "role_id",
            "Vous disposez déjà de ce rôle pour cette structure.",
        ));
    }
    let inserted = sqlx::query_scalar!(
        "insert into access_requests (requester_id, organisation_id, role_id, message)
         values ($1, $2, $3, $4) returning id",
        me.id() as UserId,
        organisation_id as OrganisationId,
        role_id as RoleId,
        &message,
    )
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("access_requests_one_pending") => {
            return Err(AppError::invalid(
                "role_id",
                "Vous avez déjà une demande en attente pour ce rôle et cette structure.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let who = sqlx::query!("select prenom, nom from users where id = $1", me.id() as UserId)
        .fetch_one(&mut *tx)
        .await?;
    let (prenom, nom) = (who.prenom, who.nom);
    // The managers, and the responsables habilitations of the open groups
    // holding the role today (a subgroup's roles are its parent's too, so
    // the responsables above are among them).
    let managers = sqlx::query!(
        r#"select u.email, bool_or(m.admin_role is not null) as "is_manager!" from memberships m join users u on u.id = m.user_id
          where m.organisation_id = $1 and u.id <> $2
            and (u.date_cloture is null or u.date_cloture > current_date)
            and (m.admin_role is not null
                 or exists (select 1 from group_roles(current_date) h
                             where h.responsable_id = u.id and h.organisation_id = $1 and h.role_id = $3))
          group by u.email"#,
        organisation_id as OrganisationId,
        me.id() as UserId,
        role_id as RoleId,
    )
    .fetch_all(&mut *tx)
    .await?;
    let manager_url = link(&format!(
        "/demarches/{app_code}/utilisateurs/{}?structure={organisation_id}",
        me.id()
    ));
    let responsable_url = link(&format!("/structures/{organisation_id}/demandes"));
    let extra = if message.is_empty() {
        String::new()
    } else {
        format!("\n\nSon message : « {message} »")
    };
    for m in managers {
        let (email, is_manager) = (m.email, m.is_manager);
        let url = if is_manager {
            &manager_url
        } else {
            &responsable_url
        };
        enqueue(
            &mut tx,
            &email,
            &format!("Demande d'accès à {app_libelle}"),
            &format!(
                "{prenom} {nom} vous demande l'accès à la démarche '{app_libelle}' (rôle {role_libelle}) pour la structure {org_nom}, dont vous administrez les accès.{extra}\n\nPour accepter ou refuser la demande, connectez-vous : {url}"
            ),
        )
        .await?;
    }
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(me.id().get()),
            organisation_id: Some(organisation_id.get()),
            action: "demande.creation",
            target_type: "demande",
            target_id: Some(id),
            before: None,
            after: Some(serde_json::json!({"role": role_libelle, "application": app_libelle, "message": message})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[server(endpoint = "my_requests", output = crate::json::Json)]
pub async fn my_requests() -> AppResult<Vec<MyRequest>> {
    let me = crate::session::require_user().await?;
    let rows = sqlx::query!(
        r#"select q.id, a.libelle as application, r.libelle as role, o.nom as structure, q.status,
                  q.created_at as "created_at: chrono::DateTime<chrono::Utc>", q.decision_comment
           from access_requests q join roles r on r.id = q.role_id
           join applications a on a.id = r.application_id join organisations o on o.id = q.organisation_id
          where q.requester_id = $1 order by q.created_at desc limit 100"#,
        me.id() as crate::domain::UserId,
    )
    .fetch_all(&crate::state::pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MyRequest {
            id: r.id,
            application: r.application,
            role: r.role,
            structure: r.structure,
            status: r.status,
            created_at: r.created_at.format("%d/%m/%Y").to_string(),
            decision_comment: r.decision_comment,
        })
        .collect())
}

/// The requester withdraws a pending request.
#[server(endpoint = "cancel_request", output = crate::json::Json)]
pub async fn cancel_request(id: crate::domain::RequestId) -> AppResult<()> {
    use crate::domain::{RequestId, UserId};
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"select requester_id as "requester_id: UserId", status, organisation_id
             from access_requests where id = $1 for update"#,
        id as RequestId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(AppError::NotFound);
    };
    let (requester, status, org) = (row.requester_id, row.status, row.organisation_id);
    if requester != me.id() {
        return Err(AppError::NotFound);
    }
    if status != "pending" {
        return Err(AppError::Conflict(
            "Cette demande n'est plus en attente.".into(),
        ));
    }
    sqlx::query!(
        "update access_requests set status = 'cancelled' where id = $1",
        id as RequestId
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(me.id().get()),
            organisation_id: Some(org),
            action: "demande.annulation",
            target_type: "demande",
            target_id: Some(id.get()),
            before: Some(serde_json::json!({"statut": "pending"})),
            after: Some(serde_json::json!({"statut": "cancelled"})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Accepts or refuses a pending request. The row lock makes two managers
/// deciding at once serialise: the second sees it decided and is refused.
#[server(endpoint = "decide_request", output = crate::json::Json)]
pub async fn decide_request(
    id: crate::domain::RequestId,
    decision: String,
    #[server(default)] comment: String,
    #[server(default)] group_id: crate::domain::GroupId,
) -> AppResult<()> {
    use crate::domain::{OrganisationId, RequestId, RoleId, UserId};
    use crate::error::AppError;
    use crate::mail::ssr::{enqueue, link};
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let accept = match decision.as_str() {
        "accepter" => true,
        "refuser" => false,
        _ => {
            return Err(AppError::invalid(
                "decision",
                "Choisissez d'accepter ou de refuser la demande.",
            ))
        }
    };
    let comment = comment.trim().to_string();
    if comment.chars().count() > 1000 {
        return Err(AppError::invalid(
            "comment",
            "Le commentaire ne peut dépasser 1 000 caractères.",
        ));
    }
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select requester_id, organisation_id, role_id, status from access_requests where id = $1 for update",
        id as RequestId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(AppError::NotFound);
    };
    let (requester, org, role_id, status) = (row.requester_id, row.organisation_id, row.role_id, row.status);
    // Checked before anything about the request is revealed: a manager of
    // the structure, or a responsable habilitations of a group holding the
    // role today (through the group they choose, when accepting).
    let organisation = OrganisationId(org);
    let manager = match me.manager_of(organisation).await {
        Ok(m) => GroupActor::Manager(m),
        Err(AppError::Forbidden) => {
            // A responsable decides through a group they reach that holds
            // the role today: the one chosen, or (to refuse) any such one.
            let g = group_holding(&mut tx, Some(me.id()), org, role_id, group_id.get())
                .await?
                .ok_or(AppError::NotFound)?;
            let r = me
                .group_manager_of(g)
                .await
                .map_err(|_| AppError::NotFound)?;
            if accept && group_id.get() == 0 {
                return Err(AppError::invalid(
                    "group_id",
                    "Choisissez le groupe dans lequel le demandeur reçoit ce rôle.",
                ));
            }
            GroupActor::Responsable(r)
        }
        Err(e) => return Err(e),
    };
    let group = (group_id.get() != 0).then_some(group_id);
    if group.is_some()
        && matches!(manager, GroupActor::Manager(_))
        && group_holding(&mut tx, None, org, role_id, group_id.get())
            .await?
            .is_none()
    {
        return Err(AppError::invalid(
            "group_id",
            "Ce groupe ne détient pas aujourd'hui le rôle demandé : choisissez-en un autre.",
        ));
    }
    // Nobody decides their own request (the database refuses it too).
    if requester == manager.user_id().get() {
        return Err(AppError::Conflict(
            "Vous ne pouvez pas décider de votre propre demande.".into(),
        ));
    }
    // A decision acts on the requester: ranks hold (an admin decides no
    // request of the primary manager, a responsable none of a manager or
    // an admin), whether it accepts or refuses.
    {
        use crate::session::Acting;
        let rank =
            crate::rights::checks::target_role(&mut tx, OrganisationId(org), UserId(requester))
                .await?;
        manager.outranks(UserId(requester), rank.as_deref())?;
    }
    if status != "pending" {
        return Err(AppError::Conflict(
            "Cette demande a déjà été traitée : aucune modification n'a été faite.".into(),
        ));
    }
    let new_status = if accept { "accepted" } else { "refused" };
    sqlx::query!(
        "update access_requests set status = $2, decided_by = $3, decided_at = now(), decision_comment = $4 where id = $1",
        id as RequestId,
        new_status,
        manager.user_id() as UserId,
        &comment,
    )
    .execute(&mut *tx)
    .await?;
    let mut grant_id = None;
    let mut membership_id = None;
    if accept && group.is_none() {
        let GroupActor::Manager(m) = &manager else {
            return Err(AppError::Internal);
        };
        if let Some(m) = crate::rights::checks::habiliter(&mut tx, m, &[role_id]).await? {
            return Err(AppError::Conflict(m));
        }
    }
    if accept
        && !crate::conventions::ssr::within_ceiling(&mut tx, OrganisationId(org), RoleId(role_id)).await?
    {
        return Err(AppError::Conflict(
            "Ce rôle n'est plus ouvert à la structure : la demande ne peut être acceptée, refusez-la.".into(),
        ));
    }
    if accept {
        sqlx::query!(
            "insert into memberships (user_id, organisation_id) values ($1, $2) on conflict do nothing",
            requester,
            org,
        )
        .execute(&mut *tx)
        .await?;
    }
    if let (true, Some(g)) = (accept, group) {
        // The requester joins the chosen group from today: the right comes
        // with the group's, and ends with it.
        let today = chrono::Local::now().date_naive();
        membership_id = Some(
            crate::rights::memberships::join(
                &mut tx,
                &manager,
                g,
                UserId(requester),
                today,
                None,
                crate::rights::memberships::Joining::Requester,
            )
            .await?,
        );
    } else if accept {
        let today = chrono::Local::now().date_naive();
        let g = crate::rights::direct::give(
            &mut tx,
            &manager,
            UserId(requester),
            role_id,
            today,
            None,
            crate::rights::direct::Field("decision"),
        )
        .await?;
        grant_id = g;
    }
    let names = sqlx::query!(
        r#"select u.email, a.libelle as app_libelle, r.libelle as role_libelle, o.nom as org_nom
             from users u, roles r join applications a on a.id = r.application_id, organisations o
            where u.id = $1 and r.id = $2 and o.id = $3"#,
        requester,
        role_id,
        org,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (email, app_libelle, role_libelle, org_nom) =
        (names.email, names.app_libelle, names.role_libelle, names.org_nom);
    let why = if comment.is_empty() {
        String::new()
    } else {
        format!("\n\nCommentaire : « {comment} »")
    };
    let (subject, body) = if accept {
        (
            format!("Votre accès à {app_libelle} est accordé"),
            format!(
                "Votre demande d'accès à la démarche '{app_libelle}' (rôle {role_libelle}) pour la structure {org_nom} a été acceptée.{why}\n\nRetrouvez vos démarches : {}",
                link("/")
            ),
        )
    } else {
        (
            format!("Votre demande d'accès à {app_libelle} est refusée"),
            format!(
                "Votre demande d'accès à la démarche '{app_libelle}' (rôle {role_libelle}) pour la structure {org_nom} a été refusée.{why}"
            ),
        )
    };
    enqueue(&mut tx, &email, &subject, &body).await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(manager.user_id().get()),
            organisation_id: Some(org),
            action: if accept { "demande.acceptation" } else { "demande.refus" },
            target_type: "demande",
            target_id: Some(id.get()),
            before: Some(serde_json::json!({"statut": "pending"})),
            after: Some(serde_json::json!({"statut": new_status, "commentaire": comment, "habilitation": grant_id, "groupe": group.map(|g| g.get()), "appartenance": membership_id})),
        },
    )
    .await?;
    if let Some(gid) = grant_id {
        crate::audit::ssr::record(
            &mut tx,
            crate::audit::ssr::Event {
                actor_id: Some(manager.user_id().get()),
                organisation_id: Some(org),
                action: "habilitation.attribution",
                target_type: "habilitation",
                target_id: Some(gid),
                before: None,
                after: Some(serde_json::json!({"utilisateur": requester, "role": role_libelle, "application": app_libelle, "demande": id})),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A group of the structure that holds the role today: `group_id` itself
/// (0: any), among the groups `responsable` reaches when one is given.
#[cfg(feature = "ssr")]
async fn group_holding(
    conn: &mut sqlx::PgConnection,
    responsable: Option<crate::domain::UserId>,
    organisation_id: i64,
    role_id: i64,
    group_id: i64,
) -> Result<Option<crate::domain::GroupId>, sqlx::Error> {
    use crate::domain::{GroupId, UserId};
    sqlx::query_scalar!(
        r#"select h.group_id as "group_id!: GroupId" from group_roles(current_date) h
          where h.organisation_id = $2 and h.role_id = $3 and ($4::bigint = 0 or h.group_id = $4)
            and ($1::bigint is null
                 or h.group_id in (select group_id from responsable_reach($1, current_date)))
          order by h.group_id limit 1"#,
        responsable as Option<UserId>,
        organisation_id,
        role_id,
        group_id,
    )
    .fetch_optional(conn)
    .await
}
