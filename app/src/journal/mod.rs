//! The journal screens: who changed what, when, read in names. An
//! organisation's admins see its events; the operator sees all of them.
//! The same query feeds the CSV export (`server/src/exports.rs`).
pub mod labels;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
pub use labels::Change;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const PAGE_SIZE: i64 = 50;

/// One event, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRow {
    pub id: i64,
    /// "25/11/2026 14:03", Paris time.
    pub date: String,
    /// "Prénom Nom", or "Système".
    pub acteur: String,
    pub acteur_email: String,
    pub structure: String,
    pub action: String,
    pub cible: String,
    pub changes: Vec<Change>,
    pub ip: String,
}

impl JournalRow {
    /// "Prénom Nom (email)".
    pub fn acteur_label(&self) -> String {
        if self.acteur_email.is_empty() {
            self.acteur.clone()
        } else {
            format!("{} ({})", self.acteur, self.acteur_email)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The organisation's name, or None for the whole journal.
    pub organisation: Option<String>,
    pub rows: Vec<JournalRow>,
    /// Cursor of the next page (the last id shown), if any.
    pub next: Option<String>,
}

/// A page of the journal, newest first. With `organisation_id`, that
/// organisation's events for its managers; without, every event for the
/// operator. Filters: period (`du`, `au`, dates), actor (name or email
/// prefix), action (code), target (name prefix or type).
#[server(endpoint = "list_journal", output = crate::json::Json)]
pub async fn list_journal(
    #[server(default)] organisation_id: Option<i64>,
    #[server(default)] du: String,
    #[server(default)] au: String,
    #[server(default)] acteur: String,
    #[server(default)] action: String,
    #[server(default)] cible: String,
    #[server(default)] apres: String,
) -> AppResult<Journal> {
    let scope = ssr::authorise(organisation_id).await?;
    let filters = ssr::Filters::parse(&du, &au, &acteur, &action, &cible)?;
    let pool = crate::state::pool();
    let organisation = scope.organisation_name(&pool).await?;
    let (rows, next) = ssr::page(&pool, &scope, &filters, apres.parse().ok(), PAGE_SIZE).await?;
    Ok(Journal {
        organisation,
        rows,
        next: next.map(|n| n.to_string()),
    })
}
