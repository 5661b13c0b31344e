//! The rights core: the only code that gives, re-dates and ends rights,
//! direct and through groups (memberships, group rights), and the one
//! answer to « whom does this responsable reach ». Every path (the Rôles
//! tab, « Ajouter une nouvelle habilitation », the decision of a request,
//! the CSV import, invitations, group rights, memberships, account
//! closings) calls it, and its checks run in one order: the caller is not
//! the target, ranks, the convention ceiling, the application's
//! « Habiliter » role, the responsable's reach, no overlap. The database
//! holds the same rules as constraints and triggers (migrations 0010,
//! 0015): a path that forgot one would be refused there.
//!
//! Dates: a closing date is the first day without the right (a half-open
//! period [ouverture, clôture)), see `domain::Period`.
#[cfg(feature = "ssr")]
pub mod checks;
#[cfg(feature = "ssr")]
pub mod direct;
#[cfg(feature = "ssr")]
pub mod errors;
#[cfg(feature = "ssr")]
pub mod group_rights;
#[cfg(feature = "ssr")]
pub mod memberships;
#[cfg(feature = "ssr")]
pub mod reach;
