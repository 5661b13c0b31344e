//! Accounts: sign-up with email verification, login, logout, forgotten
//! password. Server functions first, then their screens.
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the header needs to know about the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub identifier: String,
    pub prenom: String,
    pub nom: String,
    pub is_operator: bool,
    pub is_manager: bool,
    /// The organisations the user belongs to (id, name), and the one
    /// chosen in the header when there are several.
    pub organisations: Vec<(i64, String)>,
    pub current_organisation: Option<i64>,
}

#[server(endpoint = "me", output = crate::json::Json)]
pub async fn me() -> AppResult<Option<SessionUser>> {
    let Some(u) = crate::session::current_user().await? else {
        return Ok(None);
    };
    // The header's needs in one round trip: identity, manager or not, and
    // the organisations for the switcher.
    let row = sqlx::query!(
        r#"select identifier, prenom, nom,
                exists (select 1 from memberships m where m.user_id = u.id and m.admin_role is not null) as "is_manager!",
                coalesce((select json_agg(json_build_array(o.id, o.nom) order by o.nom, o.id)
                            from memberships m join organisations o on o.id = m.organisation_id
                           where m.user_id = u.id and o.active), '[]') as "organisations!"
           from users u where id = $1"#,
        u.id() as crate::domain::UserId,
    )
    .fetch_one(&crate::state::pool())
    .await?;
    let organisations: Vec<(i64, String)> = serde_json::from_value(row.organisations).unwrap_or_default();
    let current = crate::session::current_organisation().await?;
    let current_organisation = current.filter(|c| organisations.iter().any(|(id, _)| id == c));
    Ok(Some(SessionUser {
        organisations,
        current_organisation,
        id: u.id().get(),
        identifier: row.identifier,
        prenom: row.prenom,
        nom: row.nom,
        is_operator: u.is_operator(),
        is_manager: row.is_manager || u.is_operator(),
    }))
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "signup", output = crate::json::Json)]
pub async fn signup(
    #[server(default)] civilite: String,
    nom: String,
    prenom: String,
    email: String,
    email_confirmation: String,
    #[server(default)] telephone: String,
    #[server(default)] telephone_confirmation: String,
    password: String,
    password_confirmation: String,
) -> AppResult<()> {
    use crate::domain::*;
    use crate::error::Errors;
    use crate::mail::ssr::{enqueue, link};

    let mut errs = Errors::default();
    let civilite = errs.check("civilite", Civilite::parse(&civilite));
    let nom = errs.check("nom", PersonName::parse(&nom, "nom"));
    let prenom = errs.check("prenom", PersonName::parse(&prenom, "prénom"));
    let (email, telephone) = parse_contact(
        &mut errs,
        &email,
        &email_confirmation,
        &telephone,
        &telephone_confirmation,
    );
    let password = errs.check("password", Password::parse(&password));
    if password.is_some() && password_confirmation != password.as_ref().unwrap().expose() {
        errs.add(
            "password_confirmation",
            "Les deux mots de passe ne correspondent pas.",
        );
    }
    errs.finish()?;
    let (civilite, nom, prenom, email, password) = (
        civilite.unwrap(),
        nom.unwrap(),
        prenom.unwrap(),
        email.unwrap(),
        password.unwrap(),
    );

    let hash = ssr::hash_password(password.expose().to_string()).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let existing = sqlx::query_scalar!("select id from users where email = $1", email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if existing.is_some() {
        // Same answer as a new sign-up, so the form does not reveal who has
        // an account; the owner of the address is told instead.
        enqueue(
            &mut tx,
            email.as_str(),
            "Votre compte Habilitations existe déjà",
            &format!(
                "Une création de compte a été demandée avec votre adresse électronique, qui a déjà un compte.\n\nSi vous avez oublié votre mot de passe : {}",
                link("/mot-de-passe-oublie")
            ),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let mut user_id = None;
    for _ in 0..5 {
        let r = sqlx::query_scalar!(
            "insert into users (identifier, civilite, nom, prenom, email, telephone, password_hash)
             values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (identifier) do nothing returning id",
            ssr::generate_identifier(),
            civilite.code(),
            nom.as_str(),
            prenom.as_str(),
            email.as_str(),
            telephone.as_ref().map(|t| t.as_str()),
            &hash,
        )
        .fetch_one(&mut *tx)
        .await;
        match r {
            Ok(id) => {
                user_id = Some(id);
                break;
            }
            Err(sqlx::Error::RowNotFound) => continue, // identifier taken: draw again
            Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
                // Raced with a concurrent sign-up of the same address.
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let user_id = user_id.ok_or(crate::error::AppError::Internal)?;
    let token = ssr::create_token(&mut tx, user_id, "verify", 24 * 60).await?;
    enqueue(
        &mut tx,
        email.as_str(),
        "Validez votre adresse électronique",
        &format!(
            "Vous venez de créer votre compte Habilitations.\n\nPour valider votre adresse électronique, ouvrez ce lien (valable 24 heures) : {}",
            link(&format!("/compte/verifier?jeton={token}"))
        ),
    )
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(user_id),
            organisation_id: None,
            action: "compte.creation",
            target_type: "utilisateur",
            target_id: Some(user_id),
            before: None,
            after: Some(serde_json::json!({"email": email.as_str(), "nom": nom.as_str(), "prenom": prenom.as_str()})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(endpoint = "verify_email", output = crate::json::Json)]
pub async fn verify_email(jeton: String) -> AppResult<()> {
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let Some(uid) = ssr::consume_token(&mut tx, &jeton, "verify").await? else {
        return Err(crate::error::AppError::Conflict(
            "Ce lien de validation n'est plus valable (déjà utilisé ou expiré).".into(),
        ));
    };
    sqlx::query!(
        "update users set email_verified_at = coalesce(email_verified_at, now()) where id = $1",
        uid
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(uid),
            organisation_id: None,
            action: "compte.validation_email",
            target_type: "utilisateur",
            target_id: Some(uid),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[server(endpoint = "login", output = crate::json::Json)]
pub async fn login(email: String, password: String) -> AppResult<()> {
    use crate::error::AppError;
    let email = crate::domain::Email::parse(&email).map_err(|m| AppError::invalid("email", m))?;
    if password.is_empty() {
        return Err(AppError::invalid(
            "password",
            "Saisissez votre mot de passe.",
        ));
    }
    let st = crate::state::state();
    let ip = crate::state::client_ip().await;
    let window = st.config.login_window_minutes as i32;
    let failures = sqlx::query!(
        r#"select count(*) filter (where email = $1) as "by_email!", count(*) filter (where ip = $2) as "by_ip!"
           from login_failures where at > now() - make_interval(mins => $3) and (email = $1 or ip = $2)"#,
        email.as_str(),
        ip as Option<std::net::IpAddr>,
        window,
    )
    .fetch_one(&st.pool)
    .await?;
    let (by_email, by_ip) = (failures.by_email, failures.by_ip);
    if by_email >= st.config.login_max_failures || by_ip >= st.config.login_max_failures * 10 {
        return Err(AppError::TooManyRequests(format!(
            "Trop de tentatives de connexion échouées. Réessayez dans {window} minutes ou réinitialisez votre mot de passe."
        )));
    }
    let user = sqlx::query!(
        r#"select id, password_hash, email_verified_at is not null as "verified!",
                date_cloture is not null and date_cloture <= current_date as "closed!", session_generation
           from users where email = $1"#,
        email.as_str(),
    )
    .fetch_optional(&st.pool)
    .await?;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    if !ssr::verify_password(password, hash).await? {
        sqlx::query!(
            "insert into login_failures (email, ip) values ($1, $2)",
            email.as_str(),
            ip as Option<std::net::IpAddr>,
        )
        .execute(&st.pool)
        .await?;
        return Err(AppError::Conflict(
            "Adresse électronique ou mot de passe incorrect.".into(),
        ));
    }
    let user = user.expect("verified password implies a user");
    let (uid, verified, closed, generation) = (user.id, user.verified, user.closed, user.session_generation);
    if closed {
        return Err(AppError::Conflict(
            "Votre compte est clôturé : contactez l'administrateur de votre structure.".into(),
        ));
    }
    if !verified {
        return Err(AppError::Conflict(
            "Votre adresse électronique n'est pas encore validée : ouvrez le lien reçu par courriel.".into(),
        ));
    }
    sqlx::query!("delete from login_failures where email = $1", email.as_str())
        .execute(&st.pool)
        .await?;
    crate::session::sign_in(crate::domain::UserId(uid), generation).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(endpoint = "logout", output = crate::json::Json)]
pub async fn logout() -> AppResult<()> {
    crate::session::sign_out().await?;
    leptos_axum::redirect("/connexion");
    Ok(())
}

#[server(endpoint = "forgot_password", output = crate::json::Json)]
pub async fn forgot_password(email: String) -> AppResult<()> {
    use crate::error::AppError;
    use crate::mail::ssr::{enqueue, link};
    let email = crate::domain::Email::parse(&email).map_err(|m| AppError::invalid("email", m))?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    // At most 3 reset mails per address and hour; the answer stays the same.
    let user = sqlx::query!(
        r#"select u.id, (select count(*) from email_tokens t where t.user_id = u.id and t.purpose = 'reset'
                        and t.created_at > now() - interval '1 hour') as "recent!"
           from users u where u.email = $1 and (u.date_cloture is null or u.date_cloture > current_date)"#,
        email.as_str(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((uid, recent)) = user.map(|u| (u.id, u.recent)) {
        if recent < 3 {
            let token = ssr::create_token(&mut tx, uid, "reset", 60).await?;
            enqueue(
                &mut tx,
                email.as_str(),
                "Réinitialisation de votre mot de passe",
                &format!(
                    "Vous avez demandé à réinitialiser votre mot de passe.\n\nOuvrez ce lien, valable une heure et une seule fois : {}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.",
                    link(&format!("/mot-de-passe/nouveau?jeton={token}"))
                ),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[server(endpoint = "reset_password", output = crate::json::Json)]
pub async fn reset_password(
    jeton: String,
    password: String,
    password_confirmation: String,
) -> AppResult<()> {
    use crate::error::AppError;
    let hash = ssr::new_password_hash(&password, &password_confirmation).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let Some(uid) = ssr::consume_token(&mut tx, &jeton, "reset").await? else {
        return Err(AppError::Conflict(
            "Ce lien de réinitialisation n'est plus valable (déjà utilisé ou expiré) : demandez-en un nouveau.".into(),
        ));
    };
    // New password, every open session ended, other reset links voided.
    // Following the emailed link also proves the address.
    sqlx::query!(
        "update users set password_hash = $2, session_generation = session_generation + 1,
                email_verified_at = coalesce(email_verified_at, now()) where id = $1",
        uid,
        &hash,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update email_tokens set used_at = now() where user_id = $1 and purpose = 'reset' and used_at is null",
        uid
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::ssr::record(
        &mut tx,
        crate::audit::ssr::Event {
            actor_id: Some(uid),
            organisation_id: None,
            action: "compte.reinitialisation_mot_de_passe",
            target_type: "utilisateur",
            target_id: Some(uid),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
