//! Domain values with rules: parse once at the edge, trust below.
mod agent;
mod email;
mod identifier;
mod ids;
mod password;
mod period;
mod person;
mod siret;

pub use agent::{parse_contact, parse_date, Agent, AgentFields, Poste};
pub use email::Email;
pub use identifier::UserIdentifier;
pub use ids::{
    ApplicationId, ConventionId, GrantId, GroupId, InvitationId, MembershipId, OrganisationId,
    RequestId, RoleId, UnitId, UserId,
};
pub use password::{Password, MIN_PASSWORD_CHARS};
pub use period::{statut, Period};
pub use person::{Civilite, PersonName, Telephone};
pub use siret::Siret;

/// A user's search text as a LIKE prefix: trimmed, lower-cased, with the
/// wildcards `%` and `_` (and the escape `\`) taken literally.
pub fn like_prefix(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
