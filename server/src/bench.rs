//! `server bench`: latency of the main reads, measured the way a browser
//! makes them: a logged-in session, server functions called over HTTP one
//! after another, the time from sending the request to the last byte of
//! the answer. Then the throughput of concurrent clients.
use reqwest::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub email: String,
    /// The operator made by `server generate` (its « Mes démarches »).
    pub operator_email: String,
    pub password: String,
    /// Timed requests per measure.
    pub requests: usize,
    /// Concurrent clients of the throughput measure.
    pub clients: usize,
    /// Depth of the "deep page" (rows before it).
    pub depth: usize,
    /// The organisation to read; by default the first one the user manages.
    pub organisation: Option<i64>,
}

impl Options {
    pub fn from_args(args: &[String]) -> Result<Self, BoxError> {
        let mut o = Options {
            url: "http://127.0.0.1:3000".into(),
            email: crate::generate::BENCH_EMAIL.into(),
            operator_email: crate::generate::BENCH_OPERATOR.into(),
            password: crate::generate::BENCH_PASSWORD.into(),
            requests: 300,
            clients: 8,
            depth: 50_000,
            organisation: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| format!("valeur manquante après {flag}"))?;
            let num = || -> Result<usize, BoxError> {
                value
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("{flag} : nombre attendu, reçu « {value} »").into())
            };
            match flag.as_str() {
                "--url" => o.url = value.trim_end_matches('/').to_string(),
                "--email" => o.email = value.clone(),
                "--operator-email" => o.operator_email = value.clone(),
                "--password" => o.password = value.clone(),
                "--requests" => o.requests = num()?.max(1),
                "--clients" => o.clients = num()?.max(1),
                "--depth" => o.depth = num()?,
                "--organisation" => o.organisation = Some(num()? as i64),
                _ => return Err(format!("option inconnue : {flag}").into()),
            }
        }
        Ok(o)
    }
}

/// "A user's rights": the agent's roles in the organisation, the "Rôles"
/// tab (`get_agent_roles`).
fn rights_request(
    organisation_id: i64,
    user_id: i64,
) -> (&'static str, Vec<(&'static str, String)>) {
    (
        "get_agent_roles",
        vec![
            ("organisation_id", organisation_id.to_string()),
            ("user_id", user_id.to_string()),
        ],
    )
}

/// One journal page of the organisation (the newest events).
fn journal_request(organisation_id: i64) -> (&'static str, Vec<(&'static str, String)>) {
    (
        "list_journal",
        vec![("organisation_id", organisation_id.to_string())],
    )
}

/// A logged-in HTTP client.
struct Api {
    client: Client,
    url: String,
}

impl Api {
    async fn login(o: &Options) -> Result<Api, BoxError> {
        let api = Api {
            client: Client::builder().cookie_store(true).build()?,
            url: o.url.clone(),
        };
        api.call(
            "login",
            &[("email", o.email.clone()), ("password", o.password.clone())],
        )
        .await
        .map_err(|e| format!("connexion de {} impossible : {e}", o.email))?;
        Ok(api)
    }

    /// Calls a server function; the duration covers sending the request
    /// and reading the whole answer, not decoding it.
    async fn timed(
        &self,
        endpoint: &str,
        form: &[(&str, String)],
    ) -> Result<(Duration, Value), BoxError> {
        let t = Instant::now();
        let resp = self
            .client
            .post(format!("{}/api/{endpoint}", self.url))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let elapsed = t.elapsed();
        if !status.is_success() {
            return Err(format!(
                "{endpoint} : HTTP {status} {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )
            .into());
        }
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)?
        };
        Ok((elapsed, value))
    }

    async fn call(&self, endpoint: &str, form: &[(&str, String)]) -> Result<Value, BoxError> {
        Ok(self.timed(endpoint, form).await?.1)
    }

    /// Gets a whole page as a browser first does (server-side rendering,
    /// with the session cookie): from the request to the last byte of
    /// the HTML. Fails unless it answers 200 with the page's own content.
    async fn page(&self, path: &str) -> Result<Duration, BoxError> {
        let t = Instant::now();
        let resp = self
            .client
            .get(format!("{}{path}", self.url))
            .header("accept", "text/html")
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let elapsed = t.elapsed();
        let html = String::from_utf8_lossy(&body);
        if !status.is_success() || html.contains("fr-alert--error") {
            return Err(format!("{path} : HTTP {status}, page en erreur").into());
        }
        Ok(elapsed)
    }
}

/// Gets `n` pages one after another, the i-th at `path(i)`.
async fn pages<F>(api: &Api, n: usize, path: F) -> Result<Vec<Duration>, String>
where
    F: Fn(usize) -> String,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(api.page(&path(i)).await.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// One line of the table.
struct Measure {
    label: String,
    target_ms: Option<f64>,
    result: Result<Vec<Duration>, String>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Calls `n` requests one after another, the i-th built by `form(i)`.
async fn series<F>(api: &Api, endpoint: &str, n: usize, form: F) -> Result<Vec<Duration>, String>
where
    F: Fn(usize) -> Vec<(&'static str, String)>,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (d, _) = api
            .timed(endpoint, &form(i))
            .await
            .map_err(|e| e.to_string())?;
        out.push(d);
    }
    Ok(out)
}

pub async fn run(o: &Options) -> Result<(), BoxError> {
    let api = Api::login(o).await?;
    let n = o.requests;
    let mine = api.call("my_organisations", &[]).await?;
    let org = match o.organisation {
        Some(id) => id,
        None => mine
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|m| m["admin_role"].as_str().is_some_and(|r| !r.is_empty()))
            })
            .and_then(|m| m["id"].as_i64())
            .ok_or("l'utilisateur n'administre aucune structure : --organisation ID")?,
    };
    let org_s = org.to_string();
    let first = || vec![("organisation_id", org_s.clone())];
    // Warm-up: connections, caches, prepared statements.
    for _ in 0..20 {
        api.call("list_agents", &first()).await?;
    }

    let mut table: Vec<Measure> = vec![];
    let mut push = |label: &str, target_ms: Option<f64>, result: Result<Vec<Duration>, String>| {
        table.push(Measure {
            label: label.into(),
            target_ms,
            result,
        })
    };

    push(
        "Surcoût d'une requête (session + `me`)",
        None,
        series(&api, "me", n, |_| vec![]).await,
    );
    push(
        "Liste des agents, première page",
        Some(10.0),
        series(&api, "list_agents", n, |_| first()).await,
    );

    // Walks the whole organisation with the keyset cursor (not timed),
    // keeping the cursor at the deep page and the agents seen for the
    // other measures.
    let t = Instant::now();
    let mut after = String::new();
    let mut deep = String::new();
    let mut seen = 0usize;
    let mut depth = 0usize;
    let mut ids: Vec<i64> = vec![];
    let mut noms: Vec<String> = vec![];
    let mut siret = String::new();
    loop {
        let mut form = first();
        if !after.is_empty() {
            form.push(("after", after.clone()));
        }
        let page = api.call("list_agents", &form).await?;
        if siret.is_empty() {
            siret = page["siret"].as_str().unwrap_or_default().to_string();
        }
        let rows = page["rows"].as_array().cloned().unwrap_or_default();
        seen += rows.len();
        for r in &rows {
            ids.push(r["id"].as_i64().unwrap_or_default());
            noms.push(r["nom"].as_str().unwrap_or_default().to_string());
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
        if seen <= o.depth {
            deep = after.clone();
            depth = seen;
        }
    }
    println!(
        "{seen} agents parcourus ({} pages) en {:.1} s",
        seen.div_ceil(50),
        t.elapsed().as_secs_f64()
    );
    if ids.is_empty() {
        return Err("la structure n'a aucun agent".into());
    }
    push(
        &format!("Liste des agents, page à {depth} lignes de profondeur"),
        Some(25.0),
        series(&api, "list_agents", n, |_| {
            vec![("organisation_id", org_s.clone()), ("after", deep.clone())]
        })
        .await,
    );

    // Delegated administration: one agent's effective rights (direct and
    // through their groups, read from `effective_rights`), the structure's
    // groups, and the Liste des agents filtered by one group.
    push(
        "Habilitations effectives d'un agent (`effective_rights`)",
        Some(10.0),
        series(&api, "get_effective_rights", n, |i| {
            vec![
                ("organisation_id", org_s.clone()),
                ("user_id", ids[(i * 7919) % ids.len()].to_string()),
            ]
        })
        .await,
    );
    push(
        "Groupes d'utilisateurs, première page",
        Some(10.0),
        series(&api, "list_groups", n, |_| first()).await,
    );
    let mut groups: Vec<i64> = vec![];
    let mut after_code = String::new();
    for _ in 0..20 {
        let mut form = first();
        form.push(("after", after_code.clone()));
        let page = api.call("list_groups", &form).await?;
        for r in page["rows"].as_array().cloned().unwrap_or_default() {
            groups.push(r["id"].as_i64().unwrap_or_default());
        }
        match page["next"].as_str() {
            Some(next) => after_code = next.to_string(),
            None => break,
        }
    }
    let by_group = if groups.is_empty() {
        Err("la structure n'a aucun groupe d'utilisateurs".to_string())
    } else {
        series(&api, "list_agents", n, |i| {
            vec![
                ("organisation_id", org_s.clone()),
                ("group_id", groups[(i * 7919) % groups.len()].to_string()),
            ]
        })
        .await
    };
    push("Liste des agents filtrée par groupe", Some(10.0), by_group);
    // « Utilisateurs du service »: every (person, structure) holding a right
    // on the démarche or waiting for one, in name order: the members are
    // walked in name order and the rights of those walked only are read
    // (50 people a page, each with their dated group memberships).
    push(
        "Utilisateurs du service SOFFi, première page",
        Some(50.0),
        series(&api, "list_service_users", n, |_| {
            vec![("application", "soffi".to_string())]
        })
        .await,
    );

    // Name prefixes of 2, 3 and 4 letters and whole names, as typed.
    let mut prefixes: Vec<String> = noms
        .iter()
        .flat_map(|nom| {
            let lower = nom.to_lowercase();
            let chars: Vec<char> = lower.chars().collect();
            let len = chars.len();
            [2, 3, 4, len]
                .into_iter()
                .filter(|&k| k <= len)
                .map(|k| chars[..k].iter().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let spread = |v: &Vec<String>, i: usize| v[(i * 7919) % v.len()].clone();
    push(
        "Recherche par début de nom",
        Some(10.0),
        series(&api, "list_agents", n, |i| {
            vec![
                ("organisation_id", org_s.clone()),
                ("nom", spread(&prefixes, i)),
            ]
        })
        .await,
    );

    // SIRETs known to the search (not timed), then exact and prefix searches.
    let mut sirets = vec![siret.clone()];
    for d in 1..=9 {
        let found = api
            .call("search_organisations", &[("q", format!("{d}0{d}"))])
            .await?;
        for r in found.as_array().cloned().unwrap_or_default() {
            sirets.push(r["siret"].as_str().unwrap_or_default().to_string());
        }
    }
    sirets.retain(|s| s.len() == 14);
    sirets.sort();
    sirets.dedup();
    push(
        "Recherche par SIRET (14 chiffres)",
        Some(10.0),
        series(&api, "search_organisations", n, |i| {
            vec![("q", spread(&sirets, i))]
        })
        .await,
    );
    push(
        "Recherche par début de SIRET (5 à 9 chiffres)",
        Some(10.0),
        series(&api, "search_organisations", n, |i| {
            vec![("q", spread(&sirets, i)[..5 + i % 5].to_string())]
        })
        .await,
    );

    let (endpoint, _) = rights_request(org, 0);
    push(
        &format!("Droits d'un utilisateur (`{endpoint}`)"),
        Some(10.0),
        series(&api, endpoint, n, |i| {
            rights_request(org, ids[(i * 7919) % ids.len()]).1
        })
        .await,
    );

    let (endpoint, form) = journal_request(org);
    let journal = match api.call(endpoint, &form).await {
        Ok(_) => series(&api, endpoint, n, |_| journal_request(org).1).await,
        // Until the endpoint exists (the answer is the 404 page).
        Err(e) => Err(format!(
            "à venir ({})",
            e.to_string().split(" <").next().unwrap_or_default()
        )),
    };
    push(
        &format!("Une page du journal (`{endpoint}`)"),
        Some(25.0),
        journal,
    );

    // Whole pages, HTML to the last byte (server-side rendering of the
    // page and of every server function it waits for).
    let enc = app::ui::urlencode;
    let target = Some(25.0);
    push(
        "Page « Mes démarches » (gestionnaire de la grande structure)",
        target,
        pages(&api, n, |_| "/".into()).await,
    );
    match Api::login(&Options {
        email: o.operator_email.clone(),
        ..o.clone()
    })
    .await
    {
        Ok(op) => push(
            "Page « Mes démarches » (opérateur)",
            target,
            pages(&op, n, |_| "/".into()).await,
        ),
        Err(e) => push(
            "Page « Mes démarches » (opérateur)",
            target,
            Err(e.to_string()),
        ),
    }
    push(
        "Page « Liste des agents », première page",
        target,
        pages(&api, n, |_| format!("/structures/{org}/agents")).await,
    );
    push(
        &format!("Page « Liste des agents » à {depth} lignes de profondeur"),
        target,
        pages(&api, n, |_| {
            format!("/structures/{org}/agents?apres={}", enc(&deep))
        })
        .await,
    );
    push(
        "Page « Liste des agents », recherche par début de nom",
        target,
        pages(&api, n, |i| {
            format!(
                "/structures/{org}/agents?nom={}",
                enc(&spread(&prefixes, i))
            )
        })
        .await,
    );
    if !groups.is_empty() {
        push(
            "Page « Liste des agents » filtrée par groupe",
            target,
            pages(&api, n, |i| {
                format!(
                    "/structures/{org}/agents?groupe={}",
                    groups[(i * 7919) % groups.len()]
                )
            })
            .await,
        );
        push(
            "Page « Groupes d'utilisateurs »",
            target,
            pages(&api, n, |_| format!("/structures/{org}/groupes")).await,
        );
    }
    push(
        "Page d'un agent, onglet Rôles",
        target,
        pages(&api, n, |i| {
            format!(
                "/structures/{org}/agents/{}?onglet=roles",
                ids[(i * 7919) % ids.len()]
            )
        })
        .await,
    );
    push(
        "Page fiche d'un utilisateur (Utilisateurs du service SOFFi)",
        target,
        pages(&api, n, |i| {
            format!(
                "/demarches/soffi/utilisateurs/{}?structure={org}",
                ids[(i * 104729) % ids.len()]
            )
        })
        .await,
    );
    push(
        "Page « Journal » de la structure",
        target,
        pages(&api, n, |_| format!("/structures/{org}/journal")).await,
    );

    let throughput = throughput(o, &org_s).await?;

    println!();
    println!("| Mesure | Requêtes | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | Objectif p95 |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for m in &table {
        let target = m
            .target_ms
            .map(|t| format!("≤ {t} ms"))
            .unwrap_or_else(|| "—".into());
        match &m.result {
            Ok(samples) => {
                let mut s = samples.clone();
                s.sort();
                let p95 = percentile(&s, 95.0);
                let verdict = match m.target_ms {
                    Some(t) if p95 <= t => " ✅",
                    Some(_) => " ❌",
                    None => "",
                };
                println!(
                    "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {target}{verdict} |",
                    m.label,
                    s.len(),
                    percentile(&s, 50.0),
                    p95,
                    percentile(&s, 99.0),
                    ms(*s.last().expect("at least one request")),
                )
            }
            Err(e) => println!("| {} | — | — | — | — | — | {target} : {e} |", m.label),
        }
    }
    println!();
    println!("{throughput}");
    Ok(())
}

/// `clients` sessions, each calling the first page `requests` times, all
/// at once: requests per second and latency percentiles.
async fn throughput(o: &Options, org: &str) -> Result<String, BoxError> {
    let mut apis = vec![];
    for _ in 0..o.clients {
        let api = Api::login(o).await?;
        api.call("list_agents", &[("organisation_id", org.to_string())])
            .await?;
        apis.push(api);
    }
    let t = Instant::now();
    let mut tasks = vec![];
    for api in apis {
        let (n, org) = (o.requests, org.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let (d, _) = api
                    .timed("list_agents", &[("organisation_id", org.clone())])
                    .await
                    .map_err(|e| e.to_string())?;
                out.push(d);
            }
            Ok::<_, String>(out)
        }));
    }
    let mut all = vec![];
    for task in tasks {
        all.extend(task.await??);
    }
    let elapsed = t.elapsed().as_secs_f64();
    all.sort();
    Ok(format!(
        "Débit, {} clients simultanés sur la première page : **{:.0} requêtes/s** ({} requêtes en {:.2} s), p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        o.clients,
        all.len() as f64 / elapsed,
        all.len(),
        elapsed,
        percentile(&all, 50.0),
        percentile(&all, 95.0),
        percentile(&all, 99.0),
    ))
}
