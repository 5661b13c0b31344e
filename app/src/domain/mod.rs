//! Domain values with rules: parse once at the edge, trust below.
mod agent;
mod email;
mod identifier;
mod password;
mod person;
mod siret;

pub use agent::{parse_contact, parse_date, Agent, AgentFields, Poste};
pub use email::Email;
pub use identifier::UserIdentifier;
pub use password::{Password, MIN_PASSWORD_CHARS};
pub use person::{Civilite, PersonName, Telephone};
pub use siret::Siret;
