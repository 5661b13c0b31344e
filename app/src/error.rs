//! The one error type of server functions, with variants the UI can act on.
use leptos::prelude::*;

use serde::{Deserialize, Serialize};

/// An error tied to one form field, shown next to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Vous devez être connecté.")]
    Unauthenticated,
    #[error("Vous n'avez pas les droits pour cette action.")]
    Forbidden,
    #[error("Élément introuvable.")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("Saisie invalide."))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    TooManyRequests(String),
    /// A request that cannot be read (malformed body, missing or
    /// ill-typed argument): 400.
    #[error("{0}")]
    BadRequest(String),
    /// A request body over the size limit: 413.
    #[error("{0}")]
    TooLarge(String),
    #[error("Une erreur interne est survenue. Réessayez plus tard.")]
    Internal,
    #[error("Erreur de communication avec le serveur : {0}")]
    ServerFn(String),
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// The message for one field, if this error names it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// A message not tied to any field (shown at the top of a form).
    pub fn general(&self) -> Option<String> {
        match self {
            AppError::Invalid(_) => None,
            other => Some(other.to_string()),
        }
    }

    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            AppError::Unauthenticated => S::UNAUTHORIZED,
            AppError::Forbidden => S::FORBIDDEN,
            AppError::NotFound => S::NOT_FOUND,
            AppError::Conflict(_) => S::CONFLICT,
            AppError::Invalid(_) => S::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => S::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => S::BAD_REQUEST,
            AppError::TooLarge(_) => S::PAYLOAD_TOO_LARGE,
            AppError::Internal | AppError::ServerFn(_) => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Collects field errors of a form so that all are reported at once.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
    /// Keeps the parsed value, or records the error under `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::json::JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server could not decode the arguments: the caller's fault.
            ServerFnErrorErr::MissingArg(name) => AppError::BadRequest(missing_argument(&name)),
            ServerFnErrorErr::Args(detail) => AppError::BadRequest(bad_arguments(&detail)),
            // On the server, this is the request body that could not be read.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) if detail.contains("length limit") => {
                AppError::TooLarge(TOO_LARGE.into())
            }
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) => {
                AppError::BadRequest(bad_arguments(&detail))
            }
            other => AppError::ServerFn(other.to_string()),
        }
    }
}

/// The message of a request body over the limit.
pub const TOO_LARGE: &str =
    "La requête est trop volumineuse : réduisez la taille des données envoyées.";

fn missing_argument(name: &str) -> String {
    format!("Requête mal formée : l'argument « {name} » est manquant.")
}

/// A French message for an argument decoding error (serde's English
/// detail is not shown, except the name of a missing field).
fn bad_arguments(detail: &str) -> String {
    if let Some(rest) = detail.split("missing field `").nth(1) {
        if let Some(name) = rest.split('`').next() {
            return missing_argument(name);
        }
    }
    let what = if detail.contains("too large") || detail.contains("too small") {
        "un nombre dépasse les valeurs permises"
    } else if detail.contains("digit") || detail.contains("number") || detail.contains("integer") {
        "un nombre entier est attendu"
    } else if detail.contains("utf-8") || detail.contains("UTF-8") {
        "le texte n'est pas encodé en UTF-8"
    } else {
        "un argument n'a pas le format attendu"
    };
    format!("Requête mal formée : {what}.")
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        // The database's own safety nets, should a path get past the
        // checks made before writing: said in French, not as a 500.
        if let sqlx::Error::Database(d) = &e {
            let message = match d.constraint() {
                Some("memberships_primary_manager_kept") => Some(
                    "La structure doit garder un gestionnaire principal : transférez d'abord ce rôle à une autre personne.",
                ),
                Some("memberships_admin_limit") => Some(
                    "Le nombre maximal d'administrateurs de cette structure est atteint.",
                ),
                Some("grants_within_ceiling") => Some(
                    "Ce rôle n'est pas ouvert à cette structure : la démarche ou le rôle n'y est pas activé.",
                ),
                _ => None,
            };
            if let Some(m) = message {
                tracing::warn!(error = %e, "refused by a database check");
                return AppError::Conflict(m.into());
            }
        }
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_decoding_errors_are_french_400s() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args(
            "missing field `organisation_id`".into(),
        ));
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(
            e.to_string(),
            "Requête mal formée : l'argument « organisation_id » est manquant."
        );
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args(
            "number too large to fit in target type".into(),
        ));
        assert_eq!(
            e.to_string(),
            "Requête mal formée : un nombre dépasse les valeurs permises."
        );
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Request("down".into()));
        assert_eq!(e.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    }
}
