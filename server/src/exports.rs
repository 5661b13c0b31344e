//! CSV downloads (plain GET links) for spreadsheets: `;` separator and a
//! UTF-8 byte order mark, so that a French Excel opens them as they are.
//! Each export checks the session and the caller's rights with the very
//! code of its screen's server function, run inside a Leptos context.
use app::error::AppError;
use app::state::AppState;
use axum::{
    body::Body,
    extract::{Query, Request},
    http::header,
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use futures_util::{stream, StreamExt};
use leptos::prelude::*;
use leptos::reactive::{computed::ScopedFuture, owner::Owner};
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;

/// The export routes, merged into the application's router.
pub fn routes(state: AppState) -> Router<LeptosOptions> {
    let st = state.clone();
    Router::new()
        .route(
            "/exports/journal.csv",
            get(move |q: Query<JournalParams>, req: Request| journal(state.clone(), q.0, req)),
        )
        .route(
            "/exports/agents.csv",
            get(move |q: Query<AgentsParams>, req: Request| agents(st.clone(), q.0, req)),
        )
}

/// The Liste des agents filters, from the link's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AgentsParams {
    organisation: String,
    q: String,
    identifiant: String,
    nom: String,
    prenom: String,
    groupe: String,
}

/// `/exports/agents.csv?organisation=…&nom=…`: the Liste des agents with
/// the screen's columns and filters, read page by page through the
/// screen's own server function (same checks, same keyset order).
async fn agents(state: AppState, p: AgentsParams, req: Request) -> Response {
    let org: i64 = p.organisation.parse().unwrap_or(0);
    let read = in_app_context(state, req, async move {
        let mut rows = vec![];
        let mut after = String::new();
        loop {
            let page = app::agents::list_agents(
                app::domain::OrganisationId(org),
                p.q.clone(),
                p.identifiant.clone(),
                p.nom.clone(),
                p.prenom.clone(),
                after,
                p.groupe.parse().unwrap_or_default(),
            )
            .await?;
            rows.extend(page.rows.into_iter().map(|r| {
                vec![
                    r.identifier,
                    r.nom,
                    r.prenom,
                    r.email,
                    r.telephone,
                    r.date_ouverture,
                    r.date_cloture,
                    r.statut,
                ]
            }));
            match page.next {
                Some(n) => after = n,
                None => break,
            }
        }
        Ok::<_, AppError>(rows)
    })
    .await;
    let rows = match read {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let header = [
        "Identifiant",
        "Nom",
        "Prénom",
        "Adresse mail",
        "Téléphone",
        "Date d'ouverture",
        "Date de clôture",
        "Statut",
    ];
    let mut once = Some(rows);
    csv_download(
        &format!("agents-{}.csv", chrono::Utc::now().format("%Y-%m-%d")),
        &header,
        move |_: Option<()>| {
            let rows = once.take().unwrap_or_default();
            async move { Ok((rows, None)) }
        },
    )
}

/// Runs app code that reads the session, the pool or the request (as
/// server functions do) for a request that is not a server function.
pub async fn in_app_context<T>(state: AppState, req: Request, f: impl Future<Output = T>) -> T {
    let (parts, _) = req.into_parts();
    let owner = Owner::new();
    owner
        .with(|| {
            provide_context(parts);
            provide_context(state);
            ScopedFuture::new(f)
        })
        .await
}

/// Rows of an export, one batch at a time, and the cursor of the next batch.
pub type Batch<C> = Result<(Vec<Vec<String>>, Option<C>), AppError>;

/// A CSV attachment: the header line, then the rows, read batch by batch
/// (keyset cursor `C`) while the body streams, so a long export holds one
/// batch in memory.
pub fn csv_download<C, F, Fut>(filename: &str, header: &[&str], mut next: F) -> Response
where
    C: Send + 'static,
    F: FnMut(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Batch<C>> + Send + 'static,
{
    enum At<C> {
        Start,
        After(C),
        Done,
    }
    let mut head = "\u{feff}".as_bytes().to_vec();
    head.extend(encode(&[header.iter().map(|h| h.to_string()).collect()]));
    let rows = stream::unfold(At::Start, move |at| {
        let cursor = match at {
            At::Done => None,
            At::Start => Some(None),
            At::After(c) => Some(Some(c)),
        };
        let batch = cursor.map(&mut next);
        async move {
            match batch?.await {
                Ok((rows, more)) => Some((
                    Ok::<_, std::io::Error>(encode(&rows)),
                    more.map(At::After).unwrap_or(At::Done),
                )),
                Err(e) => {
                    tracing::error!(error = %e, "CSV export interrupted");
                    Some((Err(std::io::Error::other("export interrompu")), At::Done))
                }
            }
        }
    });
    let body = stream::once(async move { Ok(head) }).chain(rows);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| AppError::Internal.status().into_response())
}

/// Every cell of every export goes through `neutralise`.
fn encode(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(vec![]);
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(r.iter().map(|cell| neutralise(cell).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

/// A cell a spreadsheet would read as a formula (OWASP "CSV injection":
/// it begins with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`, which makes it text; other cells are left as they are.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+33 1 23", "'+33 1 23"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("", ""),
            ("Marie", "Marie"),
            ("a=1", "a=1"),
            ("'=1", "'=1"),
            ("127.0.0.1", "127.0.0.1"),
            ("2001:db8::1", "2001:db8::1"),
        ] {
            assert_eq!(neutralise(cell), out, "{cell:?}");
        }
        let csv = String::from_utf8(encode(&[vec!["=1;2".into(), "ok".into()]])).unwrap();
        assert_eq!(csv, "\"'=1;2\";ok\r\n");
    }
}

/// The answer to a refused export: the login page for a visitor, else the
/// error's status and message.
pub fn refused(e: AppError) -> Response {
    match e {
        AppError::Unauthenticated => Redirect::to("/connexion").into_response(),
        e => (e.status(), e.to_string()).into_response(),
    }
}

/// The journal screen's filters, from the link's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JournalParams {
    organisation: String,
    du: String,
    au: String,
    acteur: String,
    action: String,
    cible: String,
}

const JOURNAL_BATCH: i64 = 1000;

/// `/exports/journal.csv?organisation=…&du=…`: the journal with the
/// screen's filters, for the same callers as `list_journal`.
async fn journal(state: AppState, p: JournalParams, req: Request) -> Response {
    use app::journal::ssr::{authorise, page, Filters};
    let pool = state.pool.clone();
    let checked = in_app_context(state, req, async {
        // An unreadable id asks for organisation 0, which nobody manages.
        let org = (!p.organisation.is_empty()).then(|| p.organisation.parse().unwrap_or(0));
        let scope = authorise(org).await?;
        let filters = Filters::parse(&p.du, &p.au, &p.acteur, &p.action, &p.cible)?;
        Ok::<_, AppError>(Arc::new((scope, filters)))
    })
    .await;
    let query = match checked {
        Ok(q) => q,
        Err(e) => return refused(e),
    };
    let filename = format!("journal-{}.csv", chrono::Utc::now().format("%Y-%m-%d"));
    let header = [
        "Date",
        "Acteur",
        "Structure",
        "Action",
        "Cible",
        "Avant",
        "Après",
        "IP",
    ];
    csv_download(&filename, &header, move |after: Option<i64>| {
        let (pool, query) = (pool.clone(), query.clone());
        async move {
            let (rows, next) = page(&pool, &query.0, &query.1, after, JOURNAL_BATCH).await?;
            let side = |r: &app::journal::JournalRow, before: bool| {
                r.changes
                    .iter()
                    .filter_map(|c| {
                        let v = if before { &c.before } else { &c.after };
                        v.as_ref().map(|v| format!("{} : {v}", c.field))
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let records = rows
                .iter()
                .map(|r| {
                    vec![
                        r.date.clone(),
                        r.acteur_label(),
                        r.structure.clone(),
                        r.action.clone(),
                        r.cible.clone(),
                        side(r, true),
                        side(r, false),
                        r.ip.clone(),
                    ]
                })
                .collect();
            Ok((records, next))
        }
    })
}
