//! "Importer des utilisateurs": dry run, all or nothing, encodings.
mod common;
use common::*;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

async fn import(
    app: &TestApp,
    c: &reqwest::Client,
    org: i64,
    bytes: Vec<u8>,
    confirm: bool,
) -> (StatusCode, Value) {
    app.import_agents(c, org, bytes, confirm).await
}

fn outcomes(report: &Value) -> Vec<(u64, String)> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const HEADER: &str = "Civilité;Nom;Prénom;Adresse mail;Téléphone;Poste;Date d'ouverture;Date de clôture;Code service\n";

#[tokio::test]
async fn a_file_with_one_bad_row_writes_nothing_and_names_the_line() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    app.signup_verified("paul@exemple.fr", "Paul", "Agent")
        .await;
    let users = app.count("select count(*) from users").await;
    let events = app.count("select count(*) from audit_events").await;
    let bad = format!(
        "{HEADER}Mme;Lefèvre;Hélène;helene@exemple.fr;;;;;\nMme;Agent;Paul;paul@exemple.fr;;;;;\nM;;Sans nom;pas-une-adresse;;;;;\n"
    );
    for confirm in [false, true] {
        let (s, report) = import(&app, &admin, org, bad.clone().into_bytes(), confirm).await;
        assert_eq!(s, StatusCode::OK, "{report}");
        assert_eq!(report["applied"], false);
        assert_eq!(report["errors"], 1);
        // A new account and an existing one both read "invitation" (the
        // report no longer tells whether an address has an account).
        assert_eq!(
            outcomes(&report),
            vec![
                (2, "invitation".into()),
                (3, "invitation".into()),
                (4, "erreur".into())
            ]
        );
        assert!(report["lines"][2]["message"].as_str().unwrap().len() > 5);
        assert_eq!(app.count("select count(*) from users").await, users);
        assert_eq!(app.count("select count(*) from audit_events").await, events);
        assert_eq!(
            app.count("select count(*) from outbox where to_email = 'helene@exemple.fr'")
                .await,
            0
        );
    }
    // Fixed (and saved by Excel in Windows-1252): dry run, then confirm.
    let fixed = bad.replace("M;;Sans nom;pas-une-adresse", "M;Nom;Jean;jean@exemple.fr");
    let bytes = encoding_rs::WINDOWS_1252.encode(&fixed).0.into_owned();
    let (_, dry) = import(&app, &admin, org, bytes.clone(), false).await;
    assert_eq!(dry["errors"], 0);
    assert_eq!(dry["applied"], false);
    assert_eq!(app.count("select count(*) from users").await, users);
    let (s, report) = import(&app, &admin, org, bytes.clone(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], true);
    assert_eq!(app.count("select count(*) from users").await, users + 2);
    assert_eq!(
        app.count(&format!(
            "select count(*) from memberships where organisation_id = {org}"
        ))
        .await,
        3,
        "Paul (an existing account) is invited, not attached, until he accepts"
    );
    let (nom,): (String,) =
        sqlx::query_as("select nom from users where email = 'helene@exemple.fr'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(nom, "Lefèvre");
    let (subject, _) = app.last_mail("helene@exemple.fr").await.unwrap();
    assert!(subject.contains("créé"));
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'utilisateurs.import'")
            .await,
        1
    );
    // The same file again: nothing changes for the members (Paul, not yet
    // attached, is invited again); a changed row is an update.
    let (_, again) = import(&app, &admin, org, bytes, false).await;
    assert_eq!(
        outcomes(&again)
            .into_iter()
            .map(|o| o.1)
            .collect::<Vec<_>>(),
        vec!["inchangé", "invitation", "inchangé"]
    );
    let changed = fixed.replace(
        "Mme;Lefèvre;Hélène;helene@exemple.fr;;",
        "Mme;Lefèvre;Hélène;helene@exemple.fr;0123456789;itinérant",
    );
    let (_, upd) = import(&app, &admin, org, changed.into_bytes(), true).await;
    assert_eq!(upd["lines"][0]["outcome"], "mise à jour");
    assert_eq!(upd["applied"], true);
}

#[tokio::test]
async fn import_is_for_the_organisation_admins_only() {
    let app = TestApp::spawn().await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let file = format!("{HEADER}M;X;Y;x@exemple.fr;;;;;\n").into_bytes();
    let (s, _) = import(&app, &other, org, file.clone(), true).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = import(&app, &app.client(), org, file, true).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count("select count(*) from users where email = 'x@exemple.fr'")
            .await,
        0
    );
}

#[tokio::test]
async fn unreadable_files_are_refused_next_to_the_file_field() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (s, body) = import(&app, &admin, org, b"Nom;Prenom\nA;B\n".to_vec(), false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["fichier"]);
    let (s, body) = import(&app, &admin, org, vec![], false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Serves the application on a runtime like the production server's (two
/// async workers) and runs `body`, the visitors, on a runtime of its own:
/// a server worker kept busy by a handler cannot delay the visitors' clocks.
/// Gives up after `limit` without waiting for such a worker (dropping its
/// runtime would): a stall fails the test, never hangs it.
fn against_a_two_worker_server<T, F>(
    limit: std::time::Duration,
    body: impl FnOnce(TestApp) -> F,
) -> Option<T>
where
    F: std::future::Future<Output = T>,
{
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = server.block_on(TestApp::spawn());
    let visitors = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = visitors.block_on(async move { tokio::time::timeout(limit, body(app)).await });
    visitors.shutdown_background();
    server.shutdown_background();
    out.ok()
}

/// The field error on `fichier`, if the body is one.
/// The message about the file: a field error on `fichier`, or the 413
/// answered before the form is read.
fn fichier_message(body: &Value) -> String {
    body["Invalid"][0]["message"]
        .as_str()
        .or(body["TooLarge"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_2_mb_file_of_200_000_short_lines_is_refused_at_once_and_the_server_keeps_answering() {
    use std::time::{Duration, Instant};
    let outcome = against_a_two_worker_server(Duration::from_secs(60), |app| async move {
        let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
        let mut file = HEADER.to_string();
        for _ in 0..200_000 {
            file.push_str("M;Nom;P;x\n");
        }
        assert!(file.len() >= 2_000_000 && file.len() <= app::import::MAX_BYTES);
        let base = app.url.clone();
        let upload = tokio::spawn(async move {
            let start = Instant::now();
            let answer = tokio::time::timeout(
                Duration::from_secs(20),
                import(&app, &admin, org, file.into_bytes(), false),
            )
            .await;
            (start.elapsed(), answer.ok(), app)
        });
        // Meanwhile, other visitors load the login page.
        let getter = reqwest::Client::new();
        let mut gets = vec![];
        for i in 0..20u64 {
            let getter = getter.clone();
            let url = format!("{base}/connexion");
            gets.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(25 * i)).await;
                let start = Instant::now();
                // A liveness bound, not a speed budget (scripts/bench.sh
                // measures speed): a page unanswered after 10 s has hung.
                let status = tokio::time::timeout(Duration::from_secs(10), getter.get(url).send())
                    .await
                    .ok()
                    .and_then(|r| r.ok())
                    .map(|r| r.status());
                (start.elapsed(), status)
            }));
        }
        let mut pages = vec![];
        for g in gets {
            pages.push(g.await.unwrap());
        }
        let (took, answer, _app) = upload.await.unwrap();
        (took, answer, pages)
    });
    let (took, answer, pages) = outcome.expect("the test did not finish within 60 s");
    eprintln!(
        "upload answered in {took:?}; pages: {:?}",
        pages.iter().map(|p| p.0).collect::<Vec<_>>()
    );
    let unanswered = pages.iter().filter(|p| p.1 != Some(StatusCode::OK)).count();
    let (status, body) = answer.unwrap_or_else(|| {
        panic!("no answer to the upload after {took:?}; {unanswered} of 20 pages unanswered within 10 s")
    });
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["fichier"]);
    assert!(fichier_message(&body).contains("5 000"), "{body}");
    assert!(took < Duration::from_secs(10), "the upload hung: {took:?}");
    for (i, (t, status)) in pages.iter().enumerate() {
        assert_eq!(
            *status,
            Some(StatusCode::OK),
            "GET /connexion #{i} during the upload: no answer within 10 s ({t:?})"
        );
    }
}

/// The session cookie of a fresh login (for a hand-written request).
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/login", app.url))
        .header("accept", "application/json")
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Posts an import whose file is `file_bytes` long (chunked, as a browser
/// streaming a big file) and then never ends the body: the answer must not
/// wait for the rest. Gives (status, body) or None after 10 s.
async fn endless_upload(
    app: &TestApp,
    cookie: &str,
    org: i64,
    file_bytes: usize,
) -> Option<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.url.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/import_agents HTTP/1.1\r\nHost: {addr}\r\nOrigin: {}\r\nAccept: application/json\r\n\
         Cookie: {cookie}\r\nContent-Type: multipart/form-data; boundary=XBOUNDARYX\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        app.url
    );
    let preamble = format!(
        "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"organisation_id\"\r\n\r\n{org}\r\n\
         --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"confirmer\"\r\n\r\n0\r\n\
         --XBOUNDARYX\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"agents.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{HEADER}"
    );
    let writer = tokio::spawn(async move {
        let chunk = |data: &[u8]| {
            let mut c = format!("{:x}\r\n", data.len()).into_bytes();
            c.extend_from_slice(data);
            c.extend_from_slice(b"\r\n");
            c
        };
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(&chunk(preamble.as_bytes())).await?;
        let line = b"M;Nom;P;x\n".repeat(6_400);
        let mut sent = 0;
        while sent < file_bytes {
            wr.write_all(&chunk(&line)).await?;
            sent += line.len();
        }
        // The rest never comes.
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        Ok::<_, std::io::Error>(wr)
    });
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut buf = vec![];
        let mut tmp = [0u8; 8192];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
                let length = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                });
                if let Some(length) = length {
                    if buf.len() >= end + 4 + length {
                        let body =
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                        return (
                            status,
                            serde_json::from_str(&body).unwrap_or(Value::String(body)),
                        );
                    }
                }
            }
            let n = rd.read(&mut tmp).await.unwrap_or(0);
            if n == 0 {
                let text = String::from_utf8_lossy(&buf).to_string();
                let status = text
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let body = text
                    .split_once("\r\n\r\n")
                    .map(|b| b.1.to_string())
                    .unwrap_or_default();
                return (
                    status,
                    serde_json::from_str(&body).unwrap_or(Value::String(body)),
                );
            }
            buf.extend_from_slice(&tmp[..n]);
        }
    })
    .await
    .ok();
    writer.abort();
    answer
}

#[tokio::test]
async fn a_file_over_2_mb_is_refused_while_it_arrives() {
    let app = TestApp::spawn().await;
    let (_, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let cookie = session_cookie(&app, "marie@exemple.fr").await;
    // 3 MB sent, the end never: refused on the way, in French.
    let (status, body) = endless_upload(&app, &cookie, org, 3 * 1024 * 1024)
        .await
        .expect("no answer while the body was still arriving");
    assert!(
        status == 413 || (status == 422 && invalid_fields(&body) == vec!["fichier"]),
        "{status} {body}"
    );
    let message = fichier_message(&body);
    assert!(message.contains("2 Mo"), "{body}");
    // The limit holds for the whole form, not field by field.
    let admin = app.login("marie@exemple.fr").await;
    let filler = "x".repeat(1024 * 1024);
    let form = Form::new()
        .text("organisation_id", org.to_string())
        .text("confirmer", "0")
        .text("note1", filler.clone())
        .text("note2", filler.clone())
        .text("note3", filler)
        .part(
            "fichier",
            Part::bytes(format!("{HEADER}M;X;Y;x@exemple.fr;;;;;\n").into_bytes())
                .file_name("agents.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let resp = admin
        .post(format!("{}/api/import_agents", app.url))
        .header("Origin", &app.url)
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or_default();
    assert!(
        status == StatusCode::PAYLOAD_TOO_LARGE
            || (status == StatusCode::UNPROCESSABLE_ENTITY
                && invalid_fields(&body) == vec!["fichier"]),
        "{status} {body}"
    );
    assert!(fichier_message(&body).contains("2 Mo"), "{body}");
}

/// Finding 11: the import closes an account through the fiche's own write
/// path (rights and sessions end), and the operator's updates go through.
#[tokio::test]
async fn closing_by_import_ends_rights_and_sessions_like_the_fiche() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (paul, paul_c) = app
        .structure_account(&admin, org, "paul@exemple.fr", "Paul", "Durand")
        .await;
    let role = app.role_id("soffi", "consultation").await;
    let (s, body) = app
        .call(
            &admin,
            "add_grant",
            &[
                ("user_id", &paul.to_string()),
                ("organisation_id", &org.to_string()),
                ("role_id", &role.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, me) = app.call(&paul_c, "me", &[]).await;
    assert!(me.is_object(), "Paul is signed in: {me}");
    let today = chrono::Local::now().date_naive().format("%d/%m/%Y");
    let file = format!("{HEADER}M;Durand;Paul;paul@exemple.fr;;;;{today};\n");
    let (s, report) = import(&app, &admin, org, file.into_bytes(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(outcomes(&report), vec![(2, "mise à jour".into())]);
    let open = format!(
        "select count(*) from grants where user_id = {paul} and (date_cloture is null or date_cloture > current_date)"
    );
    assert_eq!(
        app.count(&open).await,
        0,
        "the right ended with the account"
    );
    let (_, me) = app.call(&paul_c, "me", &[]).await;
    assert_eq!(me, Value::Null, "the session ended with the account");
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where action = 'utilisateur.cloture' and target_id = {paul}"
        ))
        .await,
        1
    );

    // A person of two structures: the structure's import cannot change the
    // fiche, the operator's can.
    let (other, _, other_org) = app.manager_of("yann@exemple.fr", SAINT_MALO).await;
    let (lea, lea_c) = app
        .structure_account(&other, other_org, "lea@exemple.fr", "Léa", "Martin")
        .await;
    app.create_agent(
        &admin,
        &agent_form(&org.to_string(), "lea@exemple.fr", "Léa", "Martin"),
    )
    .await;
    app.accept_join(&lea_c, org).await;
    let file = format!("{HEADER}Mme;Martin;Léa;lea@exemple.fr;01 23 45 67 89;;;;\n");
    let (s, report) = import(&app, &admin, org, file.clone().into_bytes(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], false, "{report}");
    assert_eq!(outcomes(&report), vec![(2, "erreur".into())]);
    let op = app.operator("operateur@exemple.fr").await;
    let (s, report) = import(&app, &op, org, file.into_bytes(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(outcomes(&report), vec![(2, "mise à jour".into())]);
    let (tel,): (Option<String>,) = sqlx::query_as("select telephone from users where id = $1")
        .bind(lea)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        tel.is_some_and(|t| t.contains("23")),
        "the operator's update is written"
    );
}

/// Issue 10, point 9: an import line gives a right only by joining an open
/// group of the structure (« Code groupe »), whose roles lie within its
/// convention; nothing else in a line gives a right, and the database
/// refuses a right outside the conventions whatever writes it.
#[tokio::test]
async fn an_import_line_gives_rights_only_through_an_open_group_within_the_conventions() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let o = org.to_string();
    let (paul, _) = app
        .structure_account(&admin, org, "paul@exemple.fr", "Paul", "Durand")
        .await;
    app.structure_account(&admin, org, "rh@exemple.fr", "Rose", "Responsable")
        .await;
    let convention = app
        .count(&format!(
            "select id from conventions where organisation_id = {org}"
        ))
        .await
        .to_string();
    let (s, body) = app
        .call(
            &admin,
            "save_group",
            &[
                ("organisation_id", o.as_str()),
                ("convention_id", &convention),
                ("code", "SOFFI-DEC"),
                ("libelle", "Déclarants"),
                ("responsable", "rh@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let group = body.as_i64().unwrap();
    let consultation = app.role_id("soffi", "consultation").await;
    let soffi = app
        .count("select id from applications where code = 'soffi'")
        .await;
    let (s, body) = app
        .call(
            &admin,
            "set_group_roles",
            &[
                ("organisation_id", o.as_str()),
                ("group_id", &group.to_string()),
                ("application_id", &soffi.to_string()),
                ("role_ids", &consultation.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let header = HEADER.trim_end().to_string() + ";Code groupe\n";
    // An unknown (or closed) group: the line is refused, nothing is written.
    let file = format!(
        "{header}Mme;Neuve;Nina;nina@exemple.fr;;;;;;soffi-dec\nM;Durand;Paul;paul@exemple.fr;;;;;;INCONNU\n"
    );
    let (s, report) = import(&app, &admin, org, file.into_bytes(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], false, "{report}");
    assert_eq!(
        outcomes(&report),
        vec![(2, "invitation".into()), (3, "erreur".into())]
    );
    assert!(
        report["lines"][1]["message"]
            .as_str()
            .unwrap()
            .contains("INCONNU"),
        "{report}"
    );
    assert_eq!(app.count("select count(*) from group_memberships").await, 0);
    assert_eq!(
        app.count("select count(*) from users where email = 'nina@exemple.fr'")
            .await,
        0
    );
    // Both in the group: the new account and the existing agent.
    let file = format!(
        "{header}Mme;Neuve;Nina;nina@exemple.fr;;;;;;soffi-dec\nM;Durand;Paul;paul@exemple.fr;;;;;;SOFFI-DEC\n"
    );
    let (s, report) = import(&app, &admin, org, file.clone().into_bytes(), true).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(
        outcomes(&report),
        vec![(2, "invitation".into()), (3, "mise à jour".into())]
    );
    let nina = app.user_id("nina@exemple.fr").await;
    for user in [nina, paul] {
        assert_eq!(
            app.count(&format!(
                "select count(*) from effective_rights(current_date) where user_id = {user} and role_id = {consultation} and group_id = {group}"
            ))
            .await,
            1
        );
    }
    // Again: already in the group, nothing changes.
    let (_, report) = import(&app, &admin, org, file.into_bytes(), true).await;
    assert_eq!(outcomes(&report)[1], (3, "inchangé".into()), "{report}");
    assert_eq!(app.count("select count(*) from group_memberships").await, 2);
    // Every right of the structure lies within its open conventions.
    assert_eq!(
        app.count(&format!(
            "select count(*) from effective_rights(current_date) e where e.organisation_id = {org}
                and not exists (select 1 from organisation_roles r where r.organisation_id = e.organisation_id and r.role_id = e.role_id)"
        ))
        .await,
        0
    );
    // The database refuses a right outside them, whatever path writes it.
    let parapheur = app.role_id("parapheur", "utilisateur").await;
    let refused =
        sqlx::query("insert into grants (role_id, organisation_id, user_id) values ($1, $2, $3)")
            .bind(parapheur)
            .bind(org)
            .bind(paul)
            .execute(&app.pool)
            .await
            .expect_err("a right outside the conventions");
    assert!(refused.to_string().contains("conventions"), "{refused}");
}
