//! An organisation's agents: create (or attach by email, with an
//! invitation), modify, close and reopen, change level (structure or one
//! unit), detach with a comment; the invited person sets a password; a
//! member of several organisations picks the one they work in.
mod pages;
pub mod roles;
pub use pages::*;

use crate::domain::AgentFields;
#[cfg(feature = "ssr")]
use crate::domain::UserId;
use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitOption {
    pub id: i64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationSent {
    pub email: String,
    pub nom: String,
    pub prenom: String,
    /// "CODE — Libellé" of the service chosen, none for the structure.
    pub service: Option<String>,
    /// "CODE — Libellé" of the group the person joins, if one was chosen.
    pub groupe: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDetail {
    pub organisation: String,
    pub id: i64,
    pub identifier: String,
    pub statut: String,
    /// The fiche, as the form shows it (dates as yyyy-mm-dd).
    pub fiche: AgentFields,
    pub unit_id: Option<i64>,
    /// "Gestionnaire principal", "Administrateur" or "".
    pub admin_role: String,
    /// False when the person also belongs to an organisation the caller
    /// does not manage: only their attachment here can be changed.
    pub editable: bool,
    pub units: Vec<UnitOption>,
    pub invitation_pending: bool,
    /// The caller manages the structure; false for a responsable
    /// habilitations, who changes the fiche only (no service, no
    /// detachment, no Rôles tab).
    pub manager: bool,
}

#[cfg(feature = "ssr")]
mod accounts;
#[cfg(feature = "ssr")]
pub mod ssr {
    pub use super::accounts::*;
}

/// The fiche of one agent of the organisation.
#[server(endpoint = "get_agent", output = crate::json::Json)]
pub async fn get_agent(organisation_id: crate::domain::OrganisationId, user_id: crate::domain::UserId) -> AppResult<AgentDetail> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    let me = crate::session::require_user().await?;
    let manager = me.account_actor(organisation_id, UserId(user_id)).await?;
    let pool = crate::state::pool();
    let mut conn = pool.acquire().await?;
    if manager.responsable().is_some() {
        // The reach, checked as every write checks it.
        ssr::member(&mut conn, &manager, UserId(user_id)).await?;
    }
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        chrono::NaiveDate,
        Option<chrono::NaiveDate>,
        bool,
        Option<i64>,
        Option<String>,
        String,
        bool,
    );
    let row: Option<Row> = sqlx::query!(
        r#"select u.identifier, u.civilite, u.nom, u.prenom, u.email, u.telephone, u.poste,
                u.date_ouverture as "date_ouverture: chrono::NaiveDate", u.date_cloture as "date_cloture?: chrono::NaiveDate",
                u.date_cloture is not null and u.date_cloture <= current_date as "closed!",
                m.unit_id, m.admin_role, o.nom as organisation, u.password_hash is null as "invitation_pending!"
           from memberships m join users u on u.id = m.user_id join organisations o on o.id = m.organisation_id
          where m.organisation_id = $1 and m.user_id = $2"#,
        manager.organisation_id() as crate::domain::OrganisationId,
        user_id,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| {
        (
            r.identifier,
            r.civilite,
            r.nom,
            r.prenom,
            r.email,
            r.telephone,
            r.poste,
            r.date_ouverture,
            r.date_cloture,
            r.closed,
            r.unit_id,
            r.admin_role,
            r.organisation,
            r.invitation_pending,
        )
    });
    let Some((
        identifier,
        civilite,
        nom,
        prenom,
        email,
        telephone,
        poste,
        ouverture,
        cloture,
        closed,
        unit_id,
        admin_role,
        organisation,
        invitation_pending,
    )) = row
    else {
        return Err(crate::error::AppError::NotFound);
    };
    let editable = ssr::may_edit_account(&mut conn, &manager, UserId(user_id)).await?;
    let is_manager = manager.responsable().is_none();
    let units: Vec<(i64, String, String)> = sqlx::query!(
        "select id, code, libelle from units where organisation_id = $1 and (active or id = $2) and $3 order by code",
        manager.organisation_id() as crate::domain::OrganisationId,
        unit_id,
        is_manager,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|u| (u.id, u.code, u.libelle))
    .collect();
    let telephone = telephone.unwrap_or_default();
    Ok(AgentDetail {
        organisation,
        id: user_id,
        identifier,
        statut: if closed { "Clôturé" } else { "Ouvert" }.into(),
        fiche: AgentFields {
            civilite,
            nom,
            prenom,
            email_confirmation: email.clone(),
            email,
            telephone_confirmation: telephone.clone(),
            telephone,
            poste,
            date_ouverture: ouverture.to_string(),
            date_cloture: cloture.map(|d| d.to_string()).unwrap_or_default(),
        },
        unit_id,
        admin_role: match admin_role.as_deref() {
            Some("primary_manager") => "Gestionnaire principal",
            Some(_) => "Administrateur",
            None => "",
        }
        .into(),
        editable,
        units: units
            .into_iter()
            .map(|(id, code, libelle)| UnitOption {
                id,
                label: format!("{code} — {libelle}"),
            })
            .collect(),
        invitation_pending,
        manager: is_manager,
    })
}

/// "Créer un utilisateur": invites the person with this address to the
/// organisation (at structure level, or at `unit_id`). Without an account,
/// one is created from the fiche and attached, and an invitation lets them
/// set their password; with one, its owner is invited to join and decides
/// (nothing is attached until then, and their fiche is theirs). The answer
/// is the same in both cases: it does not tell whether the address has an
/// account.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "create_agent", output = crate::json::Json)]
pub async fn create_agent(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] civilite: String,
    #[server(default)] nom: String,
    #[server(default)] prenom: String,
    email: String,
    email_confirmation: String,
    #[server(default)] telephone: String,
    #[server(default)] telephone_confirmation: String,
    #[server(default)] poste: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
    #[server(default)] unit_id: crate::domain::UnitId,
    #[server(default)] group_id: crate::domain::GroupId,
) -> AppResult<InvitationSent> {
    // Typed at the boundary (0: none); read as numbers below.
    let (unit_id, group_id) = (unit_id.get(), group_id.get());
    // Typed at the boundary; read as numbers below.
    let (organisation_id,) = (organisation_id.get(),);
    use crate::domain::GroupId;
    use crate::error::{AppError, Errors};
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    // A manager, with or without a group; a responsable habilitations
    // only into a group they reach.
    let manager = match group_id {
        0 => match me.manager_of(organisation_id).await {
            Ok(m) => GroupActor::Manager(m),
            Err(AppError::Forbidden) if me.is_responsable_in(organisation_id.into()).await? => {
                return Err(AppError::invalid(
                    "group_id",
                    "Choisissez le groupe d'utilisateurs dans lequel la personne est créée.",
                ))
            }
            Err(e) => return Err(e),
        },
        g => me.group_actor(organisation_id, GroupId(g)).await?,
    };
    if manager.responsable().is_some() && unit_id != 0 {
        return Err(AppError::invalid(
            "unit_id",
            "Seul un administrateur de la structure choisit le service de rattachement.",
        ));
    }
    let pool = crate::state::pool();
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
    let fiche = fields.parse(&mut errs, chrono::Local::now().date_naive(), None);
    errs.finish()?;
    let a = fiche.ok_or(AppError::Internal)?;
    let mut tx = pool.begin().await?;
    let unit = ssr::unit_of(&mut tx, &manager, unit_id).await?;
    let org_nom = ssr::organisation_name(&mut tx, &manager).await?;
    let group = (group_id != 0).then_some(GroupId(group_id));
    ssr::invite(&mut tx, &manager, &org_nom, &a, unit, group).await?;
    let groupe = sqlx::query_scalar!(
        r#"select code || ' — ' || libelle as "label!" from user_groups where id = $1"#,
        group as Option<GroupId>
    )
    .fetch_optional(&mut *tx)
    .await?;
    let service = match unit {
        Some(id) => sqlx::query_scalar!(
            r#"select code || ' — ' || libelle as "label!" from units where id = $1"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?,
        None => None,
    };
    tx.commit().await?;
    // What was typed, as recorded (the same whether or not the address
    // already had an account).
    Ok(InvitationSent {
        email: a.email.as_str().to_string(),
        nom: a.nom.as_str().to_string(),
        prenom: a.prenom.as_str().to_string(),
        service,
        groupe,
    })
}

/// "Modifier un utilisateur": the fiche, dates included. A closing date
/// cannot be in the past; from it the person cannot log in and holds no
/// right. Emptying it reopens the account. A new address takes effect once
/// confirmed from it.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "update_agent", output = crate::json::Json)]
pub async fn update_agent(
    organisation_id: crate::domain::OrganisationId,
    user_id: crate::domain::UserId,
    #[server(default)] civilite: String,
    nom: String,
    prenom: String,
    email: String,
    email_confirmation: String,
    #[server(default)] telephone: String,
    #[server(default)] telephone_confirmation: String,
    #[server(default)] poste: String,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
) -> AppResult<bool> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let user = UserId(user_id);
    // A manager, or a responsable habilitations reaching the person.
    let manager = me.account_actor(organisation_id, user).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let (_, role) = ssr::member(&mut tx, &manager, user).await?;
    manager.outranks(user, role.as_deref())?;
    ssr::refuse_account_change(&mut tx, &manager, user).await?;
    let saved_cloture = sqlx::query_scalar!(
        r#"select date_cloture as "date_cloture?: chrono::NaiveDate" from users where id = $1"#,
        user as UserId
    )
    .fetch_one(&mut *tx)
    .await?;
    let today = chrono::Local::now().date_naive();
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
    let a = fields.parse(&mut errs, today, saved_cloture);
    errs.finish()?;
    let a = a.ok_or(AppError::Internal)?;
    let done = ssr::update_fiche(&mut tx, &manager, user, &a, None).await?;
    tx.commit().await?;
    Ok(done.email_pending)
}

/// Moves an agent to structure level (`unit_id` 0) or to one unit.
#[server(endpoint = "set_agent_unit", output = crate::json::Json)]
pub async fn set_agent_unit(organisation_id: crate::domain::OrganisationId, user_id: crate::domain::UserId, unit_id: crate::domain::UnitId) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id, unit_id) = (organisation_id.get(), user_id.get(), unit_id.get());
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let user = UserId(user_id);
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let (before, role) = ssr::member(&mut tx, &manager, user).await?;
    manager.outranks(user, role.as_deref())?;
    let unit = ssr::unit_of(&mut tx, &manager, unit_id).await?;
    if unit == before {
        return Ok(());
    }
    ssr::set_unit(&mut tx, &manager, user, before, unit).await?;
    tx.commit().await?;
    Ok(())
}

/// Detaches an agent from their unit (back to structure level) or from
/// the structure (their rights in it end), with a mandatory comment.
#[server(endpoint = "detach_agent", output = crate::json::Json)]
pub async fn detach_agent(
    organisation_id: crate::domain::OrganisationId,
    user_id: crate::domain::UserId,
    niveau: String,
    #[server(default)] commentaire: String,
) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (organisation_id, user_id) = (organisation_id.get(), user_id.get());
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let commentaire = commentaire.trim().to_string();
    if commentaire.is_empty() || commentaire.chars().count() > 1000 {
        return Err(AppError::invalid(
            "commentaire",
            "Indiquez le motif du détachement (1 000 caractères au plus).",
        ));
    }
    let user = UserId(user_id);
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let (unit, admin_role) = ssr::member(&mut tx, &manager, user).await?;
    manager.outranks(user, admin_role.as_deref())?;
    if admin_role.as_deref() == Some("org_admin") && niveau == "structure" && !manager.is_operator()
    {
        return Err(AppError::Conflict(
            "Cette personne est administrateur de la structure : seul l'opérateur peut retirer un administrateur (il lui retire ce rôle avant tout détachement).".into(),
        ));
    }
    let action = match niveau.as_str() {
        "service" => {
            if unit.is_none() {
                return Err(AppError::invalid(
                    "niveau",
                    "Cette personne est rattachée à la structure, pas à un service.",
                ));
            }
            sqlx::query!(
                "update memberships set unit_id = null where organisation_id = $1 and user_id = $2",
                manager.organisation_id() as crate::domain::OrganisationId,
                user_id,
            )
            .execute(&mut *tx)
            .await?;
            "rattachement.detachement_service"
        }
        "structure" => {
            if admin_role.as_deref() == Some("primary_manager") {
                return Err(AppError::invalid(
                    "niveau",
                    "Le gestionnaire principal ne peut être détaché : transférez d'abord ce rôle.",
                ));
            }
            // A responsable habilitations is replaced before leaving: a
            // group never keeps a responsable from outside the structure.
            let held = sqlx::query_scalar!(
                "select code from user_groups where organisation_id = $1 and responsable_id = $2
                    and (date_cloture is null or date_cloture > current_date) order by upper(code) limit 1",
                manager.organisation_id() as crate::domain::OrganisationId,
                user_id,
            )
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(code) = held {
                return Err(AppError::Conflict(format!(
                    "Cette personne est responsable habilitations du groupe {code} : désignez d'abord un autre responsable pour ses groupes, puis détachez-la."
                )));
            }
            let ended = crate::rights::direct::end(
                &mut tx,
                crate::rights::direct::Rights::Holder(manager.organisation_id(), user),
            )
            .await?;
            crate::rights::direct::record_ended(
                &mut tx,
                manager.user_id(),
                &ended,
                "Détachement de la structure",
            )
            .await?;
            crate::rights::memberships::end_all_of(
                &mut tx,
                &manager,
                user,
                chrono::Local::now().date_naive(),
                crate::rights::memberships::Scope::Structure,
            )
            .await?;
            sqlx::query!(
                "update access_requests set status = 'cancelled'
                  where organisation_id = $1 and requester_id = $2 and status = 'pending'",
                manager.organisation_id() as crate::domain::OrganisationId,
                user_id,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!(
                "delete from memberships where organisation_id = $1 and user_id = $2",
                manager.organisation_id() as crate::domain::OrganisationId,
                user_id,
            )
            .execute(&mut *tx)
            .await?;
            "rattachement.detachement"
        }
        _ => {
            return Err(AppError::invalid(
                "niveau",
                "Choisissez de détacher du service ou de la structure.",
            ))
        }
    };
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            action,
            "utilisateur",
            Some(user_id),
            Some(serde_json::json!({"service": unit, "administrateur": admin_role})),
            Some(serde_json::json!({"commentaire": commentaire})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The invited person chooses their password (this proves their address)
/// and is signed in.
#[server(endpoint = "accept_invitation", output = crate::json::Json)]
pub async fn accept_invitation(
    jeton: String,
    password: String,
    password_confirmation: String,
) -> AppResult<()> {
    use crate::error::AppError;
    let hash = crate::auth::ssr::new_password_hash(&password, &password_confirmation).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let Some(uid) = crate::auth::ssr::consume_token(&mut tx, &jeton, "invite").await? else {
        return Err(AppError::Conflict(
            "Ce lien d'invitation n'est plus valable (déjà utilisé ou expiré) : demandez à votre administrateur de vous renvoyer votre identifiant.".into(),
        ));
    };
    let generation = sqlx::query_scalar!(
        "update users set password_hash = $2, email_verified_at = coalesce(email_verified_at, now()),
                session_generation = session_generation + 1
          where id = $1 and (date_cloture is null or date_cloture > current_date)
          returning session_generation",
        uid,
        &hash,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::Conflict("Ce compte est clôturé.".into()))?;
    // Told in the journal of the structure that invited them (the first
    // they were attached to).
    let inviter = sqlx::query_scalar!(
        "select organisation_id from memberships where user_id = $1
          order by created_at, organisation_id limit 1",
        uid,
    )
    .fetch_optional(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(uid),
            organisation_id: inviter,
            action: "compte.activation",
            target_type: "utilisateur",
            target_id: Some(uid),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    crate::session::sign_in(UserId(uid), generation).await?;
    Ok(())
}

/// The organisation the signed-in person works in (header switcher).
#[server(endpoint = "switch_organisation", output = crate::json::Json)]
pub async fn switch_organisation(organisation_id: crate::domain::OrganisationId) -> AppResult<()> {
    use crate::domain::{OrganisationId, UserId};
    let me = crate::session::require_user().await?;
    let row = sqlx::query_scalar!(
        "select organisation_id from memberships where user_id = $1 and organisation_id = $2",
        me.id() as UserId,
        organisation_id as OrganisationId,
    )
    .fetch_optional(&crate::state::pool())
    .await?;
    if row.is_none() {
        return Err(crate::error::AppError::NotFound);
    }
    crate::session::set_current_organisation(organisation_id.get()).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// An open invitation to join a structure, shown to the invited person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinInvitation {
    pub id: i64,
    pub organisation: String,
    pub siret: String,
    /// "Prénom Nom" of the administrator who invited.
    pub invited_by: String,
    /// dd/mm/yyyy
    pub expires_on: String,
}

/// The signed-in person's open invitations to join structures.
#[server(endpoint = "my_invitations", output = crate::json::Json)]
pub async fn my_invitations() -> AppResult<Vec<JoinInvitation>> {
    let me = crate::session::require_user().await?;
    let rows = sqlx::query!(
        r#"select i.id, o.nom, o.siret, u.prenom || ' ' || u.nom as "by?",
                  (i.expires_at at time zone 'Europe/Paris')::date as "expires!: chrono::NaiveDate"
           from membership_invitations i join organisations o on o.id = i.organisation_id
           left join users u on u.id = i.invited_by
          where i.user_id = $1 and i.answered_at is null and i.expires_at > now() and o.active
          order by i.created_at desc limit 50"#,
        me.id() as crate::domain::UserId,
    )
    .fetch_all(&crate::state::pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.nom, r.siret, r.by, r.expires))
        .map(|(id, organisation, siret, by, expires)| JoinInvitation {
            id,
            organisation,
            siret,
            invited_by: by.unwrap_or_default(),
            expires_on: crate::ui::date_fr(&expires),
        })
        .collect())
}

/// The invited person accepts (`reponse` = "accepter") or declines
/// ("refuser") an invitation addressed to them, and only to them.
#[server(endpoint = "answer_join_invitation", output = crate::json::Json)]
pub async fn answer_join_invitation(invitation_id: crate::domain::InvitationId, reponse: String) -> AppResult<()> {
    // Typed at the boundary; read as numbers below.
    let (invitation_id,) = (invitation_id.get(),);
    let me = crate::session::require_user().await?;
    let accept = match reponse.as_str() {
        "accepter" => true,
        "refuser" => false,
        _ => {
            return Err(crate::error::AppError::invalid(
                "reponse",
                "Choisissez d'accepter ou de refuser l'invitation.",
            ))
        }
    };
    let mut tx = crate::state::pool().begin().await?;
    ssr::answer_invitation(&mut tx, &me, invitation_id, accept).await?;
    tx.commit().await?;
    Ok(())
}

/// The owner of a new address follows the emailed link: it becomes the
/// account's address.
#[server(endpoint = "confirm_email_change", output = crate::json::Json)]
pub async fn confirm_email_change(jeton: String) -> AppResult<()> {
    let mut tx = crate::state::pool().begin().await?;
    ssr::confirm_email_change(&mut tx, &jeton).await?;
    tx.commit().await?;
    Ok(())
}
