//! Who is calling: the session, the signed-in user, and the capabilities
//! (operator, organisation manager) that privileged queries require.
use crate::error::{AppError, AppResult};
use crate::state::pool;
use tower_sessions::Session;

const USER_KEY: &str = "uid";
const GENERATION_KEY: &str = "gen";
const ORGANISATION_KEY: &str = "org";

/// A signed-in, open (not closed) user. Only `require_user` makes one.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub id: i64,
    pub is_operator: bool,
}

/// Proof that the caller may administer `organisation_id` (its primary
/// manager, one of its admins, or an operator).
#[derive(Debug, Clone)]
pub struct OrgManager {
    pub user_id: i64,
    pub organisation_id: i64,
}

pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = ?e, "session layer missing");
        AppError::Internal
    })
}

/// The caller's IP (`X-Forwarded-For` only from a trusted proxy).
pub async fn client_ip() -> Option<std::net::IpAddr> {
    crate::client_ip::from_request().await
}

/// Starts a fresh session for `user_id`: a new session id (no fixation).
pub async fn sign_in(user_id: i64, generation: i32) -> AppResult<()> {
    let s = session().await?;
    s.cycle_id().await.map_err(session_err)?;
    s.insert(USER_KEY, user_id).await.map_err(session_err)?;
    s.insert(GENERATION_KEY, generation)
        .await
        .map_err(session_err)?;
    Ok(())
}

/// Remembers the organisation the user works in (header switcher).
pub async fn set_current_organisation(organisation_id: i64) -> AppResult<()> {
    session()
        .await?
        .insert(ORGANISATION_KEY, organisation_id)
        .await
        .map_err(session_err)
}

pub async fn current_organisation() -> AppResult<Option<i64>> {
    session()
        .await?
        .get::<i64>(ORGANISATION_KEY)
        .await
        .map_err(session_err)
}

pub async fn sign_out() -> AppResult<()> {
    session().await?.flush().await.map_err(session_err)
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}

/// The signed-in user, if the session is still valid: the account is open
/// and no reset has ended its sessions since.
pub async fn current_user() -> AppResult<Option<Authenticated>> {
    let s = session().await?;
    let Some(uid) = s.get::<i64>(USER_KEY).await.map_err(session_err)? else {
        return Ok(None);
    };
    let generation = s
        .get::<i32>(GENERATION_KEY)
        .await
        .map_err(session_err)?
        .unwrap_or(-1);
    let row: Option<(bool,)> = sqlx::query_as(
        "select is_operator from users
          where id = $1 and session_generation = $2
            and (date_cloture is null or date_cloture > current_date)",
    )
    .bind(uid)
    .bind(generation)
    .fetch_optional(&pool())
    .await?;
    match row {
        Some((is_operator,)) => Ok(Some(Authenticated {
            id: uid,
            is_operator,
        })),
        None => {
            s.flush().await.map_err(session_err)?;
            Ok(None)
        }
    }
}

pub async fn require_user() -> AppResult<Authenticated> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

pub async fn require_operator() -> AppResult<Authenticated> {
    let u = require_user().await?;
    if u.is_operator {
        Ok(u)
    } else {
        Err(AppError::Forbidden)
    }
}

impl Authenticated {
    /// The capability to administer one organisation, checked in the
    /// database: a missing or foreign organisation gives `Forbidden`.
    pub async fn manager_of(&self, organisation_id: i64) -> AppResult<OrgManager> {
        let ok = self.is_operator
            || {
                let row: Option<(i64,)> = sqlx::query_as(
                "select 1::bigint from memberships m join organisations o on o.id = m.organisation_id
                  where m.user_id = $1 and m.organisation_id = $2 and m.admin_role is not null and o.active",
            )
            .bind(self.id)
            .bind(organisation_id)
            .fetch_optional(&pool())
            .await?;
                row.is_some()
            };
        if ok {
            Ok(OrgManager {
                user_id: self.id,
                organisation_id,
            })
        } else {
            Err(AppError::Forbidden)
        }
    }
}
