//! An organisation's agents: create (or attach by email, with an
//! invitation), modify, close and reopen, change level (structure or one
//! unit), detach with a comment; the invited person sets a password; a
//! member of several organisations picks the one they work in.
mod pages;
pub mod roles;
pub use pages::*;

use crate::domain::AgentFields;
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitOption {
    pub id: i64,
    pub label: String,
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
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::error::{AppError, AppResult};
    use crate::session::OrgManager;
    use sqlx::PgConnection;

    /// The person must be attached to the manager's organisation.
    pub async fn member(
        conn: &mut PgConnection,
        m: &OrgManager,
        user_id: i64,
    ) -> AppResult<(Option<i64>, Option<String>)> {
        let row: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
            "select unit_id, admin_role from memberships where organisation_id = $1 and user_id = $2 for update",
        )
        .bind(m.organisation_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
        row.ok_or(AppError::NotFound)
    }

    /// May the caller change the person's account itself (not only their
    /// attachment)? Only when every organisation of the person is one the
    /// caller manages, or the caller is an operator.
    pub async fn may_edit_account(
        conn: &mut PgConnection,
        caller: i64,
        is_operator: bool,
        user_id: i64,
    ) -> AppResult<bool> {
        if is_operator {
            return Ok(true);
        }
        let (foreign,): (i64,) = sqlx::query_as(
            "select count(*) from memberships m
              where m.user_id = $2 and not exists (
                    select 1 from memberships a where a.user_id = $1 and a.organisation_id = m.organisation_id
                       and a.admin_role is not null)",
        )
        .bind(caller)
        .bind(user_id)
        .fetch_one(conn)
        .await?;
        Ok(foreign == 0)
    }

    /// A unit of the organisation (active), or the structure level (0).
    pub async fn unit_of(
        conn: &mut PgConnection,
        organisation_id: i64,
        unit_id: i64,
    ) -> AppResult<Option<i64>> {
        if unit_id == 0 {
            return Ok(None);
        }
        let row: Option<(i64,)> = sqlx::query_as(
            "select id from units where id = $1 and organisation_id = $2 and active",
        )
        .bind(unit_id)
        .bind(organisation_id)
        .fetch_optional(conn)
        .await?;
        row.map(|r| Some(r.0)).ok_or_else(|| {
            AppError::invalid("unit_id", "Choisissez un service actif de la structure.")
        })
    }

    /// Creates the account of an invited person (no password yet) and
    /// queues the invitation to set one. Returns the new user's id.
    pub async fn create_invited(
        conn: &mut PgConnection,
        actor: i64,
        organisation: (i64, &str),
        a: &crate::domain::Agent,
    ) -> AppResult<i64> {
        let mut user_id = None;
        for _ in 0..5 {
            let r: Result<(i64,), sqlx::Error> = sqlx::query_as(
                "insert into users (identifier, civilite, nom, prenom, email, telephone, poste,
                                    date_ouverture, date_cloture, created_by)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 on conflict (identifier) do nothing returning id",
            )
            .bind(crate::auth::ssr::generate_identifier())
            .bind(a.civilite.code())
            .bind(a.nom.as_str())
            .bind(a.prenom.as_str())
            .bind(a.email.as_str())
            .bind(a.telephone.as_ref().map(|t| t.as_str().to_string()))
            .bind(a.poste.code())
            .bind(a.date_ouverture)
            .bind(a.date_cloture)
            .bind(actor)
            .fetch_one(&mut *conn)
            .await;
            match r {
                Ok((id,)) => {
                    user_id = Some(id);
                    break;
                }
                Err(sqlx::Error::RowNotFound) => continue,
                Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
                    return Err(AppError::invalid(
                        "email",
                        "Un compte vient d'être créé avec cette adresse : recommencez pour la rattacher.",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let user_id = user_id.ok_or(AppError::Internal)?;
        send_invitation(conn, user_id, a.email.as_str(), organisation.1).await?;
        crate::audit::ssr::record(
            conn,
            crate::audit::ssr::Event {
                actor_id: Some(actor),
                organisation_id: Some(organisation.0),
                action: "utilisateur.creation",
                target_type: "utilisateur",
                target_id: Some(user_id),
                before: None,
                after: Some(fiche_json(a)),
            },
        )
        .await?;
        Ok(user_id)
    }

    /// Queues an invitation link (valid 7 days) to set a password.
    pub async fn send_invitation(
        conn: &mut PgConnection,
        user_id: i64,
        email: &str,
        organisation: &str,
    ) -> AppResult<()> {
        use crate::mail::ssr::{enqueue, link};
        let token = crate::auth::ssr::create_token(conn, user_id, "invite", 7 * 24 * 60).await?;
        enqueue(
            conn,
            email,
            "Votre compte Habilitations a été créé",
            &format!(
                "L'administrateur de la structure {organisation} vous a créé un compte Habilitations.\n\nPour choisir votre mot de passe et activer votre compte, ouvrez ce lien (valable 7 jours) : {}",
                link(&format!("/invitation?jeton={token}"))
            ),
        )
        .await?;
        Ok(())
    }

    pub fn fiche_json(a: &crate::domain::Agent) -> serde_json::Value {
        serde_json::json!({
            "civilite": a.civilite.code(),
            "nom": a.nom.as_str(),
            "prenom": a.prenom.as_str(),
            "email": a.email.as_str(),
            "telephone": a.telephone.as_ref().map(|t| t.as_str()).unwrap_or(""),
            "poste": a.poste.code(),
            "date_ouverture": a.date_ouverture.to_string(),
            "date_cloture": a.date_cloture.map(|d| d.to_string()).unwrap_or_default(),
        })
    }

    /// Attaches an existing account to the organisation (at structure
    /// level or one unit).
    pub async fn attach(
        conn: &mut PgConnection,
        actor: i64,
        organisation_id: i64,
        user_id: i64,
        unit_id: Option<i64>,
    ) -> AppResult<()> {
        let done = sqlx::query(
            "insert into memberships (user_id, organisation_id, unit_id) values ($1, $2, $3) on conflict do nothing",
        )
        .bind(user_id)
        .bind(organisation_id)
        .bind(unit_id)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::invalid(
                "email",
                "Cette personne est déjà rattachée à la structure.",
            ));
        }
        crate::audit::ssr::record(
            conn,
            crate::audit::ssr::Event {
                actor_id: Some(actor),
                organisation_id: Some(organisation_id),
                action: "rattachement.creation",
                target_type: "utilisateur",
                target_id: Some(user_id),
                before: None,
                after: Some(serde_json::json!({"service": unit_id})),
            },
        )
        .await?;
        Ok(())
    }
}

/// The fiche of one agent of the organisation.
#[server(endpoint = "get_agent")]
pub async fn get_agent(organisation_id: i64, user_id: i64) -> AppResult<AgentDetail> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut conn = pool.acquire().await?;
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
    let row: Option<Row> = sqlx::query_as(
        "select u.identifier, u.civilite, u.nom, u.prenom, u.email, u.telephone, u.poste,
                u.date_ouverture, u.date_cloture,
                u.date_cloture is not null and u.date_cloture <= current_date,
                m.unit_id, m.admin_role, o.nom, u.password_hash is null
           from memberships m join users u on u.id = m.user_id join organisations o on o.id = m.organisation_id
          where m.organisation_id = $1 and m.user_id = $2",
    )
    .bind(manager.organisation_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
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
    let editable = ssr::may_edit_account(&mut conn, me.id, me.is_operator, user_id).await?;
    let units: Vec<(i64, String, String)> = sqlx::query_as(
        "select id, code, libelle from units where organisation_id = $1 and (active or id = $2) order by code",
    )
    .bind(manager.organisation_id)
    .bind(unit_id)
    .fetch_all(&mut *conn)
    .await?;
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
    })
}

/// "Créer un utilisateur": attaches the person with this email to the
/// organisation (at structure level, or at `unit_id`). Without an account,
/// one is created from the fiche and an invitation lets them set their
/// password; with one, only the email is needed and their fiche is kept.
/// Returns the person's id.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "create_agent")]
pub async fn create_agent(
    organisation_id: i64,
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
    #[server(default)] unit_id: i64,
) -> AppResult<i64> {
    use crate::domain::{parse_contact, Email};
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    // An existing account needs only its (confirmed) address.
    let known: Option<(i64,)> = match Email::parse(&email) {
        Ok(e) => {
            sqlx::query_as("select id from users where email = $1")
                .bind(e.as_str())
                .fetch_optional(&pool)
                .await?
        }
        Err(_) => None,
    };
    let mut errs = Errors::default();
    let fiche = if known.is_some() {
        parse_contact(&mut errs, &email, &email_confirmation, "", "");
        None
    } else {
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
        fields.parse(&mut errs, chrono::Local::now().date_naive(), None)
    };
    errs.finish()?;
    let mut tx = pool.begin().await?;
    let unit = ssr::unit_of(&mut tx, manager.organisation_id, unit_id).await?;
    let (org_nom,): (String,) = sqlx::query_as("select nom from organisations where id = $1")
        .bind(manager.organisation_id)
        .fetch_one(&mut *tx)
        .await?;
    let user_id = match (known, fiche) {
        (Some((id,)), _) => {
            let (to,): (String,) = sqlx::query_as("select email from users where id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            crate::mail::ssr::enqueue(
                &mut tx,
                &to,
                &format!("Vous êtes rattaché(e) à la structure {org_nom}"),
                &format!(
                    "L'administrateur de la structure {org_nom} vous y a rattaché(e) sur Habilitations.\n\nVous pouvez désormais y demander des accès : {}",
                    crate::mail::ssr::link("/")
                ),
            )
            .await?;
            id
        }
        (None, Some(a)) => {
            ssr::create_invited(
                &mut tx,
                manager.user_id,
                (manager.organisation_id, &org_nom),
                &a,
            )
            .await?
        }
        (None, None) => return Err(AppError::Internal),
    };
    ssr::attach(
        &mut tx,
        manager.user_id,
        manager.organisation_id,
        user_id,
        unit,
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// "Modifier un utilisateur": the fiche, dates included. A closing date
/// cannot be in the past; from it the person cannot log in and holds no
/// right. Emptying it reopens the account.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "update_agent")]
pub async fn update_agent(
    organisation_id: i64,
    user_id: i64,
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
) -> AppResult<()> {
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    ssr::member(&mut tx, &manager, user_id).await?;
    if !ssr::may_edit_account(&mut tx, me.id, me.is_operator, user_id).await? {
        return Err(AppError::Conflict(
            "Cette personne appartient aussi à d'autres structures : seul son rattachement à la vôtre peut être modifié.".into(),
        ));
    }
    let (before, saved_cloture): (serde_json::Value, Option<chrono::NaiveDate>) = sqlx::query_as(
        "select jsonb_build_object('civilite', civilite, 'nom', nom, 'prenom', prenom, 'email', email,
                'telephone', coalesce(telephone, ''), 'poste', poste,
                'date_ouverture', date_ouverture::text, 'date_cloture', coalesce(date_cloture::text, '')),
                date_cloture
           from users where id = $1 for update",
    )
    .bind(user_id)
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
    let after = ssr::fiche_json(&a);
    if after == before {
        return Ok(());
    }
    let updated = sqlx::query(
        "update users set civilite = $2, nom = $3, prenom = $4, email = $5, telephone = $6, poste = $7,
                date_ouverture = $8, date_cloture = $9,
                session_generation = session_generation + case when $9 is not null and $9 <= current_date
                                                               and $9 is distinct from date_cloture then 1 else 0 end
          where id = $1",
    )
    .bind(user_id)
    .bind(a.civilite.code())
    .bind(a.nom.as_str())
    .bind(a.prenom.as_str())
    .bind(a.email.as_str())
    .bind(a.telephone.as_ref().map(|t| t.as_str().to_string()))
    .bind(a.poste.code())
    .bind(a.date_ouverture)
    .bind(a.date_cloture)
    .execute(&mut *tx)
    .await;
    match updated {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
            return Err(AppError::invalid(
                "email",
                "Cette adresse est déjà celle d'un autre compte.",
            ));
        }
        r => {
            r?;
        }
    }
    // From the closing date the person holds no right.
    let mut ended = 0;
    if let Some(c) = a.date_cloture {
        ended = sqlx::query(
            "update grants set ends_on = greatest(starts_on - 1, $2::date - 1)
              where user_id = $1 and (ends_on is null or ends_on >= $2::date)",
        )
        .bind(user_id)
        .bind(c)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let reopened = saved_cloture.is_some() && a.date_cloture.is_none();
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            if a.date_cloture.is_some() && a.date_cloture != saved_cloture {
                "utilisateur.cloture"
            } else if reopened {
                "utilisateur.reouverture"
            } else {
                "utilisateur.modification"
            },
            "utilisateur",
            Some(user_id),
            Some(before),
            Some(if ended > 0 {
                let mut v = after;
                v["habilitations_closes"] = ended.into();
                v
            } else {
                after
            }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Moves an agent to structure level (`unit_id` 0) or to one unit.
#[server(endpoint = "set_agent_unit")]
pub async fn set_agent_unit(organisation_id: i64, user_id: i64, unit_id: i64) -> AppResult<()> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let (before, _) = ssr::member(&mut tx, &manager, user_id).await?;
    let unit = ssr::unit_of(&mut tx, manager.organisation_id, unit_id).await?;
    if unit == before {
        return Ok(());
    }
    sqlx::query("update memberships set unit_id = $3 where organisation_id = $1 and user_id = $2")
        .bind(manager.organisation_id)
        .bind(user_id)
        .bind(unit)
        .execute(&mut *tx)
        .await?;
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            "rattachement.modification",
            "utilisateur",
            Some(user_id),
            Some(serde_json::json!({"service": before})),
            Some(serde_json::json!({"service": unit})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Detaches an agent from their unit (back to structure level) or from
/// the structure (their rights in it end), with a mandatory comment.
#[server(endpoint = "detach_agent")]
pub async fn detach_agent(
    organisation_id: i64,
    user_id: i64,
    niveau: String,
    #[server(default)] commentaire: String,
) -> AppResult<()> {
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
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let (unit, admin_role) = ssr::member(&mut tx, &manager, user_id).await?;
    let action = match niveau.as_str() {
        "service" => {
            if unit.is_none() {
                return Err(AppError::invalid(
                    "niveau",
                    "Cette personne est rattachée à la structure, pas à un service.",
                ));
            }
            sqlx::query(
                "update memberships set unit_id = null where organisation_id = $1 and user_id = $2",
            )
            .bind(manager.organisation_id)
            .bind(user_id)
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
            crate::conventions::ssr::end_grants(
                &mut tx,
                crate::conventions::ssr::Rights::Holder(manager.organisation_id, user_id),
            )
            .await?;
            sqlx::query(
                "update access_requests set status = 'cancelled'
                  where organisation_id = $1 and requester_id = $2 and status = 'pending'",
            )
            .bind(manager.organisation_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("delete from memberships where organisation_id = $1 and user_id = $2")
                .bind(manager.organisation_id)
                .bind(user_id)
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
#[server(endpoint = "accept_invitation")]
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
    let (generation,): (i32,) = sqlx::query_as(
        "update users set password_hash = $2, email_verified_at = coalesce(email_verified_at, now()),
                session_generation = session_generation + 1
          where id = $1 and (date_cloture is null or date_cloture > current_date)
          returning session_generation",
    )
    .bind(uid)
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::Conflict("Ce compte est clôturé.".into()))?;
    // Told in the journal of the structure that invited them (the first
    // they were attached to).
    let inviter: Option<(i64,)> = sqlx::query_as(
        "select organisation_id from memberships where user_id = $1
          order by created_at, organisation_id limit 1",
    )
    .bind(uid)
    .fetch_optional(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(uid),
            organisation_id: inviter.map(|o| o.0),
            action: "compte.activation",
            target_type: "utilisateur",
            target_id: Some(uid),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    crate::session::sign_in(uid, generation).await?;
    Ok(())
}

/// The organisation the signed-in person works in (header switcher).
#[server(endpoint = "switch_organisation")]
pub async fn switch_organisation(organisation_id: i64) -> AppResult<()> {
    let me = crate::session::require_user().await?;
    let row: Option<(i64,)> = sqlx::query_as(
        "select organisation_id from memberships where user_id = $1 and organisation_id = $2",
    )
    .bind(me.id)
    .bind(organisation_id)
    .fetch_optional(&crate::state::pool())
    .await?;
    if row.is_none() {
        return Err(crate::error::AppError::NotFound);
    }
    crate::session::set_current_organisation(organisation_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}
