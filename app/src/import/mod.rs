//! "Importer des utilisateurs": a CSV file as a French spreadsheet saves
//! it (UTF-8 or Windows-1252, `;` or `,`), checked first (dry run, a line
//! per row: invitation, mise à jour, inchangé or erreur), then
//! applied all at once or not at all.
mod pages;
pub use pages::*;

use crate::error::AppResult;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

/// The columns of the template, in order.
pub const COLUMNS: &[&str] = &[
    "Civilité",
    "Nom",
    "Prénom",
    "Adresse mail",
    "Téléphone",
    "Poste",
    "Date d'ouverture",
    "Date de clôture",
    "Code service",
    "Code groupe",
];

/// The largest file accepted.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportLine {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    pub email: String,
    pub nom: String,
    /// "invitation" (a new account, or an existing one invited to join:
    /// the report does not tell which), "mise à jour", "inchangé" or
    /// "erreur".
    pub outcome: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub lines: Vec<ImportLine>,
    pub errors: usize,
    /// True when the rows were written (confirmed run without error).
    pub applied: bool,
}

impl ImportReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.lines.iter().filter(|l| l.outcome == outcome).count()
    }
}

/// Multipart fields: `organisation_id`, `confirmer` ("1" to apply) and
/// `fichier` (the CSV file).
#[server(endpoint = "import_agents", input = MultipartFormData, output = crate::json::Json)]
pub async fn import_agents(data: MultipartData) -> AppResult<ImportReport> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let mut form = data.into_inner().ok_or(AppError::Internal)?;
    let too_big = || {
        AppError::invalid(
            "fichier",
            "Le fichier dépasse 2 Mo : découpez-le en plusieurs fichiers.",
        )
    };
    let cut = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "import: form not received whole");
        AppError::invalid(
            "fichier",
            "Le fichier n'a pas été reçu en entier : envoyez-le de nouveau.",
        )
    };
    // Read as it arrives, every field counted against one budget: an
    // upload over the limit is refused without reading the rest.
    let (mut org, mut confirm, mut bytes) = (0i64, false, None::<Vec<u8>>);
    let (mut total, mut fields) = (0usize, 0usize);
    while let Some(mut field) = form.next_field().await.map_err(|e| cut(&e))? {
        fields += 1;
        if fields > ssr::MAX_FIELDS {
            return Err(AppError::invalid(
                "fichier",
                "Formulaire d'import non reconnu : rechargez la page et envoyez le fichier de nouveau.",
            ));
        }
        let name = field.name().unwrap_or_default().to_string();
        let keep = matches!(name.as_str(), "organisation_id" | "confirmer" | "fichier");
        let mut buf = vec![];
        while let Some(chunk) = field.chunk().await.map_err(|e| cut(&e))? {
            total += chunk.len();
            if total > MAX_BYTES + ssr::FORM_SLACK || (keep && buf.len() + chunk.len() > MAX_BYTES)
            {
                return Err(too_big());
            }
            if keep {
                buf.extend_from_slice(&chunk);
            }
        }
        match name.as_str() {
            "organisation_id" => org = String::from_utf8_lossy(&buf).trim().parse().unwrap_or(0),
            "confirmer" => confirm = buf == b"1",
            "fichier" => bytes = Some(buf),
            _ => {}
        }
    }
    let manager = me.manager_of(org).await?;
    let bytes = bytes
        .filter(|b| !b.is_empty())
        .ok_or_else(|| AppError::invalid("fichier", "Choisissez un fichier CSV."))?;
    // Decoding and parsing take CPU: on a blocking thread, never on one of
    // the few async workers that serve every other request.
    let rows = tokio::task::spawn_blocking(move || ssr::read(&bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "import: the reading task failed");
            AppError::Internal
        })?
        .map_err(|m| AppError::invalid("fichier", m))?;
    ssr::run(&manager, rows, confirm).await
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::*;
    use crate::domain::{Agent, AgentFields, Email};
    use crate::error::{AppError, Errors};
    use crate::session::OrgManager;

    /// One data row: its line and its fields, with the unit code.
    /// The line, the fiche, the unit's code and the group's code.
    pub type Row = (u64, AgentFields, String, String);

    /// UTF-8 (with or without BOM) or, failing that, Windows-1252.
    pub fn decode(bytes: &[u8]) -> String {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(s) => s.to_string(),
            Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
        }
    }

    fn fold(s: &str) -> String {
        s.trim()
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'à' | 'â' => 'a',
                'î' | 'ï' => 'i',
                'ô' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                '’' => '\'',
                c => c,
            })
            .collect()
    }

    /// At most this many people per file.
    pub const MAX_ROWS: usize = 5000;
    /// Room for the form's small fields beside the file.
    pub const FORM_SLACK: usize = 64 * 1024;
    /// The form has three fields; a few more are tolerated, not thousands.
    pub const MAX_FIELDS: usize = 16;

    /// Numbers the lines of a file as a spreadsheet shows them, for record
    /// positions asked in increasing order (as the reader gives them): the
    /// newlines are counted once, from where the previous call stopped.
    pub struct LineCounter<'a> {
        text: &'a [u8],
        /// Bytes before this offset are counted in `newlines`.
        upto: usize,
        newlines: u64,
        /// Bytes looked at so far (the work done, for the tests).
        scanned: usize,
    }

    impl<'a> LineCounter<'a> {
        pub fn new(text: &'a [u8]) -> Self {
            LineCounter {
                text,
                upto: 0,
                newlines: 0,
                scanned: 0,
            }
        }

        /// The line where the record starting at byte `start` begins. The
        /// reader's own count is one short with CRLF endings (what Excel
        /// writes): its record starts on the LF of the line before, hence
        /// the byte at `start` is counted too.
        pub fn line_at(&mut self, start: u64) -> u64 {
            let end = usize::try_from(start)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
                .min(self.text.len());
            if end < self.upto {
                // Never in one pass; correct anyway.
                self.upto = 0;
                self.newlines = 0;
            }
            let part = &self.text[self.upto..end];
            self.newlines += part.iter().filter(|&&b| b == b'\n').count() as u64;
            self.scanned += part.len();
            self.upto = end;
            1 + self.newlines
        }

        pub fn scanned(&self) -> usize {
            self.scanned
        }
    }

    /// Reads the file: header row (the template's columns, in any order,
    /// accents and case ignored), then one person per row.
    pub fn read(bytes: &[u8]) -> Result<Vec<Row>, String> {
        let text = decode(bytes);
        let first = text.lines().next().unwrap_or_default();
        let delimiter = if first.matches(';').count() >= first.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|_| "Le fichier n'est pas un CSV lisible.".to_string())?
            .clone();
        let wanted: Vec<String> = COLUMNS.iter().map(|c| fold(c)).collect();
        let index: Vec<Option<usize>> = wanted
            .iter()
            .map(|w| headers.iter().position(|h| fold(h) == *w))
            .collect();
        for (i, required) in [(1, "Nom"), (2, "Prénom"), (3, "Adresse mail")] {
            if index[i].is_none() {
                return Err(format!(
                    "La colonne « {required} » manque à la ligne 1 : partez du modèle à télécharger."
                ));
            }
        }
        let mut lines = LineCounter::new(text.as_bytes());
        let mut rows = vec![];
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(format!(
                        "Ligne {} illisible.",
                        e.position().map(|p| lines.line_at(p.byte())).unwrap_or(0)
                    ))
                }
            }
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let line = record
                .position()
                .map(|p| lines.line_at(p.byte()))
                .unwrap_or(0);
            if rows.len() == MAX_ROWS {
                return Err(format!(
                    "Limite dépassée : 5 000 lignes au plus par fichier (la ligne {line} est de trop). Découpez-le en plusieurs fichiers."
                ));
            }
            let get = |i: usize| {
                index[i]
                    .and_then(|j| record.get(j))
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let civilite = match fold(&get(0)).as_str() {
                "mme" | "madame" => "Mme".to_string(),
                "m" | "m." | "monsieur" | "" => "M".to_string(),
                other => other.to_string(),
            };
            rows.push((
                line,
                AgentFields {
                    civilite,
                    nom: get(1),
                    prenom: get(2),
                    email: get(3),
                    email_confirmation: get(3),
                    telephone: get(4),
                    telephone_confirmation: get(4),
                    poste: get(5),
                    date_ouverture: get(6),
                    date_cloture: get(7),
                },
                get(8).to_uppercase(),
                get(9).to_uppercase(),
            ));
        }
        if rows.is_empty() {
            return Err("Le fichier ne contient aucune ligne à importer.".into());
        }
        Ok(rows)
    }

    fn describe(e: &AppError) -> String {
        match e {
            AppError::Invalid(list) => list
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        }
    }

    /// Checks every row inside one transaction, writing as it goes; rolls
    /// back unless `confirm` and no row failed.
    pub async fn run(m: &OrgManager, rows: Vec<Row>, confirm: bool) -> AppResult<ImportReport> {
        let pool = crate::state::pool();
        let mut tx = pool.begin().await?;
        // One import at a time per organisation.
        let org_nom = sqlx::query_scalar!(
            "select nom from organisations where id = $1 for update",
            m.organisation_id() as crate::domain::OrganisationId,
        )
        .fetch_one(&mut *tx)
        .await?;
        let today = chrono::Local::now().date_naive();
        let mut seen = std::collections::HashSet::new();
        let mut lines = vec![];
        for (line, fields, unit_code, group_code) in rows {
            let mut out = ImportLine {
                line,
                email: fields.email.clone(),
                nom: format!("{} {}", fields.prenom, fields.nom)
                    .trim()
                    .to_string(),
                outcome: String::new(),
                message: String::new(),
            };
            let result = row(
                &mut tx,
                m,
                &org_nom,
                &fields,
                (&unit_code, &group_code),
                today,
                &mut seen,
            )
            .await;
            match result {
                Ok(outcome) => out.outcome = outcome.into(),
                Err(AppError::Internal) => return Err(AppError::Internal),
                Err(e) => {
                    out.outcome = "erreur".into();
                    out.message = describe(&e);
                }
            }
            lines.push(out);
        }
        let errors = lines.iter().filter(|l| l.outcome == "erreur").count();
        let applied = confirm && errors == 0;
        if applied {
            crate::audit::ssr::record(
                &mut tx,
                crate::audit::ssr::Event {
                    actor_id: Some(m.user_id().get()),
                    organisation_id: Some(m.organisation_id().get()),
                    action: "utilisateurs.import",
                    target_type: "structure",
                    target_id: Some(m.organisation_id().get()),
                    before: None,
                    after: Some(serde_json::json!({
                        "lignes": lines.len(),
                        "invitations": lines.iter().filter(|l| l.outcome == "invitation").count(),
                        "mises_a_jour": lines.iter().filter(|l| l.outcome == "mise à jour").count(),
                    })),
                },
            )
            .await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(ImportReport {
            lines,
            errors,
            applied,
        })
    }

    /// One row, written in the import's transaction (inside a savepoint so
    /// that a failed row leaves the others checkable).
    async fn row(
        tx: &mut sqlx::PgConnection,
        m: &OrgManager,
        org_nom: &str,
        fields: &AgentFields,
        (unit_code, group_code): (&str, &str),
        today: chrono::NaiveDate,
        seen: &mut std::collections::HashSet<String>,
    ) -> AppResult<&'static str> {
        use sqlx::Connection;
        let email = Email::parse(&fields.email).map_err(|msg| AppError::invalid("email", msg))?;
        if !seen.insert(email.as_str().to_string()) {
            return Err(AppError::invalid(
                "email",
                "Cette adresse figure déjà plus haut dans le fichier.",
            ));
        }
        let existing = sqlx::query!(
            r#"select u.id, u.date_cloture as "date_cloture?: chrono::NaiveDate",
                    exists (select 1 from memberships m where m.user_id = u.id and m.organisation_id = $2) as "member!"
               from users u where u.email = $1"#,
            email.as_str(),
            m.organisation_id() as crate::domain::OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|e| (e.id, e.date_cloture, e.member));
        // A person not attached here is invited whether or not they have an
        // account: the saved closing date of a foreign account must not
        // change how the row is checked (that would tell the account exists).
        let member = existing.filter(|e| e.2);
        let mut errs = Errors::default();
        let agent: Option<Agent> = fields.parse(&mut errs, today, member.and_then(|e| e.1));
        errs.finish()?;
        let agent = agent.ok_or(AppError::Internal)?;
        let unit = if unit_code.is_empty() {
            None
        } else {
            let u = sqlx::query_scalar!(
                "select id from units where organisation_id = $1 and code = $2 and active",
                m.organisation_id() as crate::domain::OrganisationId,
                unit_code,
            )
            .fetch_optional(&mut *tx)
            .await?;
            Some(u.ok_or_else(|| {
                AppError::invalid(
                    "unit_id",
                    format!("Aucun service actif de code « {unit_code} » dans la structure."),
                )
            })?)
        };
        // The group the person joins (open today, of the structure): its
        // rights come within its convention, as on every other path.
        let group = if group_code.is_empty() {
            None
        } else {
            let g = sqlx::query_scalar!(
                r#"select id as "id: crate::domain::GroupId" from user_groups where organisation_id = $1 and upper(code) = $2
                    and date_ouverture <= current_date and (date_cloture is null or date_cloture > current_date)"#,
                m.organisation_id() as crate::domain::OrganisationId,
                group_code,
            )
            .fetch_optional(&mut *tx)
            .await?;
            Some(g.ok_or_else(|| {
                AppError::invalid(
                    "group_id",
                    format!("Aucun groupe ouvert de code « {group_code} » dans la structure."),
                )
            })?)
        };
        let mut sp = tx.begin().await?;
        let outcome = match member {
            None => {
                // The same write path as "Créer un utilisateur": a new
                // account, or an invitation to an existing one.
                crate::users::ssr::invite(&mut sp, m, org_nom, &agent, unit, group).await?;
                "invitation"
            }
            Some((uid, _, _)) if uid == m.user_id().get() => {
                return Err(AppError::invalid(
                    "email",
                    "C'est votre propre compte : il ne se modifie pas par un import (un autre administrateur de la structure doit le faire).",
                ));
            }
            Some((uid, _, _)) => {
                // The same write path as "Modifier un utilisateur": ranks,
                // ownership of the account, closing (rights and sessions
                // end), reopening, a new address confirmed from it.
                let done = crate::users::ssr::update_fiche(
                    &mut sp,
                    m,
                    crate::domain::UserId(uid),
                    &agent,
                    Some(unit),
                )
                .await?;
                // Joins the group unless already in it (now or later).
                let mut joined = false;
                if let Some(g) = group {
                    let already = sqlx::query_scalar!(
                        "select id from group_memberships where group_id = $1 and user_id = $2
                            and (date_cloture is null or date_cloture > current_date) limit 1",
                        g as crate::domain::GroupId,
                        uid,
                    )
                    .fetch_optional(&mut *sp)
                    .await?;
                    if already.is_none() {
                        crate::rights::memberships::join(
                            &mut sp,
                            m,
                            g,
                            crate::domain::UserId(uid),
                            today,
                            None,
                            crate::rights::memberships::Joining::Member,
                        )
                        .await?;
                        joined = true;
                    }
                }
                if done.changed || joined {
                    "mise à jour"
                } else {
                    "inchangé"
                }
            }
        };
        sp.commit().await?;
        Ok(outcome)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn excel_files_in_windows_1252_with_semicolons_are_read() {
            let bytes = encoding_rs::WINDOWS_1252
                .encode(
                    "Civilité;Nom;Prénom;Adresse mail\nMme;Lefèvre;Hélène;helene@exemple.fr\n;;;\n",
                )
                .0
                .into_owned();
            let rows = read(&bytes).unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0, 2);
            assert_eq!(rows[0].1.nom, "Lefèvre");
            assert_eq!(rows[0].1.civilite, "Mme");
        }

        #[test]
        fn utf8_with_bom_and_commas_in_any_column_order() {
            let text =
                "\u{feff}adresse mail,prenom,NOM,code service\nj@exemple.fr,Jean,Dupont,compta\n";
            let rows = read(text.as_bytes()).unwrap();
            assert_eq!(rows[0].1.email, "j@exemple.fr");
            assert_eq!(rows[0].1.prenom, "Jean");
            assert_eq!(rows[0].2, "COMPTA");
        }

        #[test]
        fn lines_are_numbered_as_a_spreadsheet_shows_them_whatever_the_line_ends() {
            for end in ["\n", "\r\n"] {
                let text = [
                    "Nom;Prénom;Adresse mail",
                    "A;B;a@exemple.fr",
                    ";;",
                    "C;\"D\nE\";c@exemple.fr",
                    "F;G;f@exemple.fr",
                ]
                .join(end);
                let lines: Vec<u64> = read(text.as_bytes()).unwrap().iter().map(|r| r.0).collect();
                assert_eq!(lines, vec![2, 4, 6], "line ends {end:?}");
            }
        }

        /// The line counter's work, walking every record of `n` lines the
        /// way `read` does, CRLF ends (Excel's).
        fn counter_work(n: usize) -> usize {
            let text = "M;Nom;P;x\r\n".repeat(n);
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .from_reader(text.as_bytes());
            let mut lines = LineCounter::new(text.as_bytes());
            let mut last = 0;
            for record in reader.records() {
                let at = lines.line_at(record.unwrap().position().unwrap().byte());
                assert_eq!(at, last + 1, "consecutive lines");
                last = at;
            }
            assert_eq!(last, n as u64);
            assert!(lines.scanned() <= text.len(), "one pass over the text");
            lines.scanned()
        }

        #[test]
        fn line_numbers_take_one_pass_whatever_the_size() {
            let (small, big) = (counter_work(10_000), counter_work(20_000));
            assert!(
                big < 3 * small,
                "linear, not quadratic: {small} then {big} bytes scanned"
            );
            // 200 000 lines (2 MB): still one pass.
            assert!(counter_work(200_000) <= 200_000 * 11);
        }

        #[test]
        fn the_row_limit_stops_the_reading_at_the_first_row_too_many() {
            let mut file = String::from("Nom;Prénom;Adresse mail\n");
            file.push_str(&"A;B;a@exemple.fr\n".repeat(MAX_ROWS));
            assert_eq!(read(file.as_bytes()).unwrap().len(), MAX_ROWS);
            // Blank rows do not count.
            file.push_str(";;\n");
            assert_eq!(read(file.as_bytes()).unwrap().len(), MAX_ROWS);
            file.push_str(&"A;B;a@exemple.fr\n".repeat(200_000));
            let err = read(file.as_bytes()).unwrap_err();
            assert!(err.contains("5 000 lignes au plus"), "{err}");
            assert!(err.contains("ligne 5003 "), "{err}");
        }

        #[test]
        fn a_file_without_the_needed_columns_is_refused() {
            assert!(read(b"Nom;Prenom\nA;B\n")
                .unwrap_err()
                .contains("Adresse mail"));
            assert!(read(b"Nom;Prenom;Adresse mail\n").is_err());
        }
    }
}
