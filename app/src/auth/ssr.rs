//! Password hashing, emailed tokens and login throttling.
use crate::error::{AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// OWASP parameters for argon2id: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Bounds concurrent hashes so a login burst cannot exhaust memory or
/// starve the runtime.
fn permits() -> &'static Semaphore {
    static S: OnceLock<Semaphore> = OnceLock::new();
    S.get_or_init(|| {
        Semaphore::new(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        )
    })
}

pub async fn hash_password(password: String) -> AppResult<String> {
    let _permit = permits().acquire().await.map_err(|_| AppError::Internal)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| AppError::Internal)?
    .map_err(|e| {
        tracing::error!(error = %e, "hashing failed");
        AppError::Internal
    })
}

/// Checks a new password and its confirmation (errors next to the
/// fields) and hashes it.
pub async fn new_password_hash(password: &str, confirmation: &str) -> AppResult<String> {
    let password =
        crate::domain::Password::parse(password).map_err(|m| AppError::invalid("password", m))?;
    if confirmation != password.expose() {
        return Err(AppError::invalid(
            "password_confirmation",
            "Les deux mots de passe ne correspondent pas.",
        ));
    }
    hash_password(password.expose().to_string()).await
}

/// A hash of a random password, verified against when the email is
/// unknown so that both paths take the same time.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"dummy password for timing", &salt)
            .unwrap()
            .to_string()
    })
}

pub async fn verify_password(password: String, hash: Option<String>) -> AppResult<bool> {
    let _permit = permits().acquire().await.map_err(|_| AppError::Internal)?;
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_string());
        let parsed = PasswordHash::new(&hash).map_err(|_| AppError::Internal)?;
        let ok = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
    .map_err(|_| AppError::Internal)?
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Creates a single-use token; returns the clear token (for the email link).
pub async fn create_token(
    conn: &mut PgConnection,
    user_id: i64,
    purpose: &str,
    minutes: i64,
) -> AppResult<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "insert into email_tokens (token_hash, user_id, purpose, expires_at)
         values ($1, $2, $3, now() + make_interval(mins => $4::int))",
        sha256_hex(&token),
        user_id,
        purpose,
        minutes as i32,
    )
    .execute(conn)
    .await?;
    Ok(token)
}

/// Consumes a valid token (unused, unexpired) and returns its user.
pub async fn consume_token(
    conn: &mut PgConnection,
    token: &str,
    purpose: &str,
) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "update email_tokens set used_at = now()
          where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
          returning user_id",
        sha256_hex(token.trim()),
        purpose,
    )
    .fetch_optional(conn)
    .await?)
}

pub fn generate_identifier() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    crate::domain::UserIdentifier::generate(|n| rng.gen_range(0..n))
        .as_str()
        .to_string()
}
