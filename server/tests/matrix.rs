//! The authorisation matrix: every server function × every kind of caller,
//! with the outcome each must get. A server function registered by the
//! application but missing from the table makes the test fail.
//!
//! Every cell starts from the same fixture database (built once, then
//! copied), so calls never see each other's effects. A refused call must
//! leave the database exactly as it was, and no reply to an outsider may
//! contain the personal data of organisation A's agent.
mod common;
use common::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The seven callers, in the order of each row's outcomes.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Anonymous,
    /// An agent of organisation A, with no administration right.
    Agent,
    /// The primary manager of organisation A (whose objects are targeted).
    AdminA,
    /// The primary manager of organisation B.
    AdminB,
    Operator,
    /// An agent of A, responsable habilitations of group G (which holds
    /// the target agent and SOFFi « Consultation »).
    RespG,
    /// An agent of A, responsable of another group H of A.
    RespOther,
}
use Caller::*;
const CALLERS: [Caller; 7] = [Anonymous, Agent, AdminA, AdminB, Operator, RespG, RespOther];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Done (2xx).
    Ok,
    /// 401: must sign in.
    Unauth,
    /// 403: signed in, not allowed.
    Forbid,
    /// 404: the object does not exist for this caller.
    Hidden,
    /// 422: refused for its content: the endpoint is open to this caller,
    /// the data is not.
    Invalid,
    /// 409: refused for the state of things (e.g. a link no longer valid).
    Conflict,
}
use Outcome::*;

impl Outcome {
    fn of(status: StatusCode) -> Option<Outcome> {
        Some(match status.as_u16() {
            200..=299 => Ok,
            401 => Unauth,
            403 => Forbid,
            404 => Hidden,
            409 => Conflict,
            422 => Invalid,
            _ => return None,
        })
    }
}

/// What organisation A's manager and the operator may do; the others are
/// refused.
const ADMINS: [Outcome; 5] = [Unauth, Forbid, Ok, Forbid, Ok];
/// Operator only.
const OPERATOR: [Outcome; 5] = [Unauth, Forbid, Forbid, Forbid, Ok];
/// Any signed-in person.
const SIGNED_IN: [Outcome; 5] = [Unauth, Ok, Ok, Ok, Ok];
/// Anyone, signed in or not.
const ANYONE: [Outcome; 5] = [Ok, Ok, Ok, Ok, Ok];
/// Open to anyone, with a link (token) nobody was sent.
const BAD_TOKEN: [Outcome; 5] = [Conflict, Conflict, Conflict, Conflict, Conflict];

/// The objects of the fixture, as form values.
struct Ids {
    org_a: String,
    admin_a: String,
    agent: String,
    cible: String,
    unit: String,
    request: String,
    /// Organisation A's open invitation to organisation B's manager (an
    /// existing account): only its addressee may answer it.
    invitation: String,
    soffi: String,
    consultation: String,
    saisie: String,
    /// A's convention (the services activated by default).
    convention: String,
    group_g: String,
    group_h: String,
    /// The target agent's membership of G.
    membership: String,
    /// The target agent's direct right.
    grant: String,
    /// A second agent of the operator.
    staff: String,
}

enum Body {
    Form(Vec<(String, String)>),
    /// `import_agents`: a one-row CSV file for organisation A, confirmed.
    Import,
}

struct Row {
    endpoint: &'static str,
    body: Body,
    expected: [Outcome; 7],
}

/// The outcomes of the five first callers; both responsables get the
/// agent's (they are agents of A, with no rank in the structure).
fn as_agents(e: [Outcome; 5]) -> [Outcome; 7] {
    [e[0], e[1], e[2], e[3], e[4], e[1], e[1]]
}

fn row(endpoint: &'static str, form: &[(&str, &str)], expected: [Outcome; 5]) -> Row {
    row7(endpoint, form, as_agents(expected))
}

fn row7(endpoint: &'static str, form: &[(&str, &str)], expected: [Outcome; 7]) -> Row {
    Row {
        endpoint,
        body: Body::Form(
            form.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        expected,
    }
}

/// Managers of A and the operator.
const ADMINS7: [Outcome; 7] = [Unauth, Forbid, Ok, Forbid, Ok, Forbid, Forbid];
/// Managers of A, the operator and G's responsable.
const REACH_G: [Outcome; 7] = [Unauth, Forbid, Ok, Forbid, Ok, Ok, Forbid];
/// Managers of A, the operator and any responsable of A.
const RESPONSABLES: [Outcome; 7] = [Unauth, Forbid, Ok, Forbid, Ok, Ok, Ok];
/// Operator only.
const OPERATOR7: [Outcome; 7] = [Unauth, Forbid, Forbid, Forbid, Ok, Forbid, Forbid];

/// The table. Outcomes are for [anonymous, agent of A, manager of A,
/// manager of B, operator, responsable of G, responsable of H]; every
/// target belongs to organisation A.
fn table(ids: &Ids) -> Vec<Row> {
    let a = ids.org_a.as_str();
    let agent_fiche = [
        ("organisation_id", a),
        ("user_id", ids.cible.as_str()),
        ("nom", "Secrète"),
        ("prenom", "Cible"),
        ("email", CIBLE),
        ("email_confirmation", CIBLE),
        ("telephone", "0102030405"),
        ("telephone_confirmation", "0102030405"),
    ];
    vec![
        // Public: account and password flows.
        row("me", &[], ANYONE),
        row("login", &[("email", AGENT), ("password", PASSWORD)], ANYONE),
        row("logout", &[], ANYONE),
        row(
            "signup",
            &signup_form("nouvelle@exemple.fr", "Nina", "Nouvelle"),
            ANYONE,
        ),
        row("verify_email", &[("jeton", &"0".repeat(64))], BAD_TOKEN),
        row("forgot_password", &[("email", AGENT)], ANYONE),
        row(
            "reset_password",
            &[
                ("jeton", &"0".repeat(64)),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
            BAD_TOKEN,
        ),
        row(
            "accept_invitation",
            &[
                ("jeton", &"0".repeat(64)),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
            BAD_TOKEN,
        ),
        // The development mailbox is on in tests (off by default), for the
        // operator only: it does not exist for anyone else.
        row(
            "dev_mailbox",
            &[("to", "personne@exemple.fr")],
            [Hidden, Hidden, Hidden, Hidden, Ok],
        ),
        // Organisations.
        row("my_organisations", &[], SIGNED_IN),
        row("search_organisations", &[("q", "AFDAS")], SIGNED_IN),
        row("register_organisation", &[("siret", MEGALIS)], SIGNED_IN),
        row("get_organisation", &[("id", a)], SIGNED_IN),
        row(
            "switch_organisation",
            &[("organisation_id", a)],
            [Unauth, Ok, Ok, Hidden, Hidden],
        ),
        row("home_tiles", &[], SIGNED_IN),
        // Invitations to join a structure, answered by the invited person.
        row("my_invitations", &[], SIGNED_IN),
        row(
            "answer_join_invitation",
            &[("invitation_id", &ids.invitation), ("reponse", "accepter")],
            [Unauth, Hidden, Hidden, Ok, Hidden],
        ),
        // A change of address is confirmed from the new address's link.
        row(
            "confirm_email_change",
            &[("jeton", &"0".repeat(64))],
            BAD_TOKEN,
        ),
        // Requests and rights.
        row("list_roles", &[("organisation_id", a)], SIGNED_IN),
        row(
            "request_access",
            &[("organisation_id", a), ("role_id", &ids.saisie)],
            SIGNED_IN,
        ),
        row("my_requests", &[], SIGNED_IN),
        row7(
            "cancel_request",
            &[("id", &ids.request)],
            [Unauth, Ok, Hidden, Hidden, Hidden, Hidden, Hidden],
        ),
        // The request is for a role G holds: G's responsable decides it,
        // accepting only into one of their groups.
        row7(
            "decide_request",
            &[("id", &ids.request), ("decision", "accepter")],
            [Unauth, Hidden, Ok, Hidden, Ok, Invalid, Hidden],
        ),
        row7(
            "decide_request",
            &[
                ("id", &ids.request),
                ("decision", "accepter"),
                ("group_id", &ids.group_g),
            ],
            [Unauth, Hidden, Ok, Hidden, Ok, Ok, Hidden],
        ),
        row7(
            "decide_request",
            &[("id", &ids.request), ("decision", "refuser")],
            [Unauth, Hidden, Ok, Hidden, Ok, Ok, Hidden],
        ),
        row7(
            "requests_to_decide",
            &[("organisation_id", a)],
            RESPONSABLES,
        ),
        row("list_service_users", &[("application", "soffi")], SIGNED_IN),
        row(
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &ids.cible),
                ("organisation_id", a),
            ],
            [Unauth, Hidden, Ok, Hidden, Ok],
        ),
        row(
            "add_grant",
            &[
                ("user_id", &ids.agent),
                ("organisation_id", a),
                ("role_id", &ids.saisie),
            ],
            ADMINS,
        ),
        // Services activated for an organisation (the ceiling).
        row("org_services", &[("organisation_id", a)], ADMINS),
        // Conventions (operator), read by the structure's managers.
        row("list_conventions", &[], SIGNED_IN),
        row7("list_conventions", &[("organisation_id", a)], ADMINS7),
        row7("get_convention", &[("id", &ids.convention)], ADMINS7),
        row7(
            "save_convention",
            &[
                ("id", &ids.convention),
                ("libelle", "Convention modifiée"),
                ("role_ids", &ids.consultation),
            ],
            OPERATOR7,
        ),
        row7("close_convention", &[("id", &ids.convention)], OPERATOR7),
        // Groups: the structure's managers administer them; a responsable
        // reads the groups they reach and manages their users.
        row7("list_groups", &[("organisation_id", a)], RESPONSABLES),
        row7("group_choices", &[("organisation_id", a)], RESPONSABLES),
        row7(
            "get_group",
            &[("organisation_id", a), ("id", &ids.group_g)],
            REACH_G,
        ),
        row7(
            "get_group",
            &[("organisation_id", a), ("id", &ids.group_h)],
            [Unauth, Forbid, Ok, Forbid, Ok, Forbid, Ok],
        ),
        row7(
            "save_group",
            &[
                ("organisation_id", a),
                ("id", &ids.group_g),
                ("code", "G1"),
                ("libelle", "Groupe renommé"),
                ("responsable", RESP_G),
            ],
            ADMINS7,
        ),
        row7(
            "set_group_responsable",
            &[
                ("organisation_id", a),
                ("group_id", &ids.group_g),
                ("responsable", AGENT),
            ],
            ADMINS7,
        ),
        row7(
            "close_group",
            &[("organisation_id", a), ("group_id", &ids.group_g)],
            ADMINS7,
        ),
        row7(
            "group_rights",
            &[("organisation_id", a), ("group_id", &ids.group_g)],
            ADMINS7,
        ),
        row7(
            "set_group_roles",
            &[
                ("organisation_id", a),
                ("group_id", &ids.group_g),
                ("application_id", &ids.soffi),
                ("role_ids", &format!("{},{}", ids.consultation, ids.saisie)),
            ],
            ADMINS7,
        ),
        row7(
            "list_memberships",
            &[("organisation_id", a), ("group_id", &ids.group_g)],
            REACH_G,
        ),
        row7(
            "list_memberships",
            &[("organisation_id", a), ("user_id", &ids.cible)],
            REACH_G,
        ),
        // The agent is in none of G's groups: only a manager adds them.
        row7(
            "add_to_group",
            &[
                ("organisation_id", a),
                ("group_id", &ids.group_g),
                ("utilisateur", AGENT),
            ],
            ADMINS7,
        ),
        row7(
            "update_membership",
            &[
                ("organisation_id", a),
                ("membership_id", &ids.membership),
                ("date_cloture", "2099-12-31"),
            ],
            REACH_G,
        ),
        // Units.
        row("list_units", &[("organisation_id", a)], ADMINS),
        row(
            "save_unit",
            &[("organisation_id", a), ("code", "U2"), ("libelle", "Paie")],
            ADMINS,
        ),
        row(
            "set_unit_active",
            &[
                ("organisation_id", a),
                ("id", &ids.unit),
                ("active", "false"),
            ],
            ADMINS,
        ),
        // Agents.
        // A responsable sees the users of the groups they reach.
        row7("list_agents", &[("organisation_id", a)], RESPONSABLES),
        row7(
            "list_agents",
            &[("organisation_id", a), ("group_id", &ids.group_g)],
            RESPONSABLES,
        ),
        row(
            "resend_identifier",
            &[("organisation_id", a), ("user_id", &ids.cible)],
            ADMINS,
        ),
        // The target is in G: its responsable reads and changes the fiche.
        row7(
            "get_agent",
            &[("organisation_id", a), ("user_id", &ids.cible)],
            REACH_G,
        ),
        // A responsable creates people only into one of their groups.
        row7(
            "create_agent",
            &[
                ("organisation_id", a),
                ("nom", "Neuf"),
                ("prenom", "Nathan"),
                ("email", "nathan.neuf@exemple.fr"),
                ("email_confirmation", "nathan.neuf@exemple.fr"),
            ],
            [Unauth, Forbid, Ok, Forbid, Ok, Invalid, Invalid],
        ),
        row7(
            "create_agent",
            &[
                ("organisation_id", a),
                ("nom", "Neuf"),
                ("prenom", "Nathan"),
                ("email", "nathan.neuf@exemple.fr"),
                ("email_confirmation", "nathan.neuf@exemple.fr"),
                ("group_id", &ids.group_g),
            ],
            REACH_G,
        ),
        // The target holds a direct right (SOFFi Consultation): outside
        // G's responsable's reach, only their membership of G may change
        // (issue 17), the account itself not.
        row7(
            "update_agent",
            &agent_fiche,
            [Unauth, Forbid, Ok, Forbid, Ok, Conflict, Forbid],
        ),
        row(
            "set_agent_unit",
            &[
                ("organisation_id", a),
                ("user_id", &ids.cible),
                ("unit_id", &ids.unit),
            ],
            ADMINS,
        ),
        row(
            "detach_agent",
            &[
                ("organisation_id", a),
                ("user_id", &ids.cible),
                ("niveau", "structure"),
                ("commentaire", "Départ"),
            ],
            ADMINS,
        ),
        // G's responsable holds no « Habiliter »: no démarche to administer.
        row7(
            "get_agent_roles",
            &[("organisation_id", a), ("user_id", &ids.cible)],
            REACH_G,
        ),
        row7(
            "get_effective_rights",
            &[("organisation_id", a), ("user_id", &ids.cible)],
            REACH_G,
        ),
        row(
            "set_grant_dates",
            &[
                ("organisation_id", a),
                ("grant_id", &ids.grant),
                ("date_cloture", "2099-12-31"),
            ],
            ADMINS,
        ),
        row7(
            "save_agent_roles",
            &[
                ("organisation_id", a),
                ("user_id", &ids.cible),
                ("role_ids", &ids.saisie),
            ],
            [Unauth, Forbid, Ok, Forbid, Ok, Invalid, Forbid],
        ),
        Row {
            endpoint: "import_agents",
            body: Body::Import,
            expected: as_agents(ADMINS),
        },
        // Organisation administrators.
        row("operator_organisations", &[("q", "")], OPERATOR),
        row("list_org_admins", &[("organisation_id", a)], OPERATOR),
        row(
            "set_org_admin",
            &[
                ("organisation_id", a),
                ("user_id", &ids.agent),
                ("admin", "true"),
            ],
            OPERATOR,
        ),
        row(
            "set_max_admins",
            &[("organisation_id", a), ("max_admins", "3")],
            OPERATOR,
        ),
        row("transfer_choices", &[], SIGNED_IN),
        row(
            "transfer_primary_manager",
            &[
                ("mode", "partie"),
                ("depuis", &ids.admin_a),
                (&format!("structures[{a}]"), "oui"),
                ("user_id", &ids.agent),
            ],
            [Unauth, Forbid, Ok, Forbid, Ok],
        ),
        // The operator's own staff (« Agents Caf »).
        row("list_staff", &[("q", "")], OPERATOR),
        row(
            "create_staff",
            &[
                ("nom", "Neuf"),
                ("prenom", "Nora"),
                ("email", "nora.neuf@exemple.fr"),
                ("email_confirmation", "nora.neuf@exemple.fr"),
            ],
            OPERATOR,
        ),
        row("close_staff", &[("user_id", &ids.staff)], OPERATOR),
        // The journal: one organisation's, then the global one.
        row("list_journal", &[("organisation_id", a)], ADMINS),
        row("list_journal", &[], OPERATOR),
    ]
}

const AGENT: &str = "agent@exemple.fr";
const CIBLE: &str = "cible.secrete@exemple.fr";
const ADMIN_A: &str = "admin-a@exemple.fr";
const ADMIN_B: &str = "admin-b@exemple.fr";
const RESP_G: &str = "resp-g@exemple.fr";
const RESP_H: &str = "resp-h@exemple.fr";
const OPERATEUR: &str = "operateur@exemple.fr";

/// Builds organisation A (manager, an agent with a pending request, an
/// invited agent holding a right, a unit, an open invitation to B's
/// manager) and organisation B (its manager).
async fn fixture(app: &TestApp) -> Ids {
    app.operator(OPERATEUR).await;
    let (admin_a, admin_a_id, org_a) = app.manager_of(ADMIN_A, AFDAS).await;
    let _ = app.manager_of(ADMIN_B, SAINT_MALO).await;
    let agent = app.signup_verified(AGENT, "Paul", "Agent").await;
    let org = org_a.to_string();
    let ok = |what: &str, (s, body): (StatusCode, serde_json::Value)| {
        assert!(s.is_success(), "{what}: {s} {body}");
        body
    };
    for (email, nom, prenom) in [(AGENT, "Agent", "Paul"), (CIBLE, "Secrète", "Cible")] {
        ok(
            "create_agent",
            app.call(
                &admin_a,
                "create_agent",
                &[
                    ("organisation_id", &org),
                    ("nom", nom),
                    ("prenom", prenom),
                    ("email", email),
                    ("email_confirmation", email),
                ],
            )
            .await,
        );
    }
    let cible = app.user_id(CIBLE).await;
    // The agent had an account: attached once they accept the invitation.
    let agent_client = app.login(AGENT).await;
    app.accept_join(&agent_client, org_a).await;
    // B's manager has an account too: invited, never answered.
    ok(
        "create_agent",
        app.call(
            &admin_a,
            "create_agent",
            &agent_form(&org, ADMIN_B, "Marie", "Gestionnaire"),
        )
        .await,
    );
    let admin_b = app.user_id(ADMIN_B).await;
    let (invitation,): (i64,) = sqlx::query_as(
        "select id from membership_invitations where user_id = $1 and organisation_id = $2 and answered_at is null",
    )
    .bind(admin_b)
    .bind(org_a)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let unit = ok(
        "save_unit",
        app.call(
            &admin_a,
            "save_unit",
            &[
                ("organisation_id", &org),
                ("code", "U1"),
                ("libelle", "Comptabilité"),
            ],
        )
        .await,
    );
    let consultation = app.role_id("soffi", "consultation").await;
    let saisie = app.role_id("soffi", "saisie").await;
    ok(
        "add_grant",
        app.call(
            &admin_a,
            "add_grant",
            &[
                ("user_id", &cible.to_string()),
                ("organisation_id", &org),
                ("role_id", &consultation.to_string()),
            ],
        )
        .await,
    );
    let request = ok(
        "request_access",
        app.call(
            &agent_client,
            "request_access",
            &[
                ("organisation_id", &org),
                ("role_id", &consultation.to_string()),
            ],
        )
        .await,
    );
    let soffi = app
        .count("select id from applications where code = 'soffi'")
        .await;
    // Two responsables habilitations, agents of A with accounts of their own.
    for (email, nom) in [(RESP_G, "Gé"), (RESP_H, "Hache")] {
        app.signup_verified(email, "Resp", nom).await;
        ok(
            "create_agent",
            app.call(
                &admin_a,
                "create_agent",
                &agent_form(&org, email, "Resp", nom),
            )
            .await,
        );
        let c = app.login(email).await;
        app.accept_join(&c, org_a).await;
    }
    let convention = app
        .count(&format!(
            "select id from conventions where organisation_id = {org_a}"
        ))
        .await
        .to_string();
    let mut groups = vec![];
    for (code, resp) in [("G1", RESP_G), ("H1", RESP_H)] {
        let g = ok(
            "save_group",
            app.call(
                &admin_a,
                "save_group",
                &[
                    ("organisation_id", org.as_str()),
                    ("convention_id", &convention),
                    ("code", code),
                    ("libelle", code),
                    ("responsable", resp),
                ],
            )
            .await,
        );
        groups.push(g.to_string());
    }
    ok(
        "set_group_roles",
        app.call(
            &admin_a,
            "set_group_roles",
            &[
                ("organisation_id", org.as_str()),
                ("group_id", &groups[0]),
                ("application_id", &soffi.to_string()),
                ("role_ids", &consultation.to_string()),
            ],
        )
        .await,
    );
    let membership = ok(
        "add_to_group",
        app.call(
            &admin_a,
            "add_to_group",
            &[
                ("organisation_id", org.as_str()),
                ("group_id", &groups[0]),
                ("utilisateur", CIBLE),
            ],
        )
        .await,
    );
    Ids {
        org_a: org,
        admin_a: admin_a_id.to_string(),
        agent: agent.to_string(),
        cible: cible.to_string(),
        unit: unit.to_string(),
        request: request.to_string(),
        invitation: invitation.to_string(),
        soffi: soffi.to_string(),
        consultation: consultation.to_string(),
        saisie: saisie.to_string(),
        convention,
        group_g: groups[0].clone(),
        group_h: groups[1].clone(),
        membership: membership.to_string(),
        grant: app
            .count(&format!(
                "select id from grants where user_id = {cible} limit 1"
            ))
            .await
            .to_string(),
        staff: {
            app.operator("second.operateur@exemple.fr").await;
            app.user_id("second.operateur@exemple.fr").await.to_string()
        },
    }
}

/// Signs in and returns the session cookie ("name=value").
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let resp = Client::new()
        .post(format!("{}/api/login", app.url))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "login of {email}");
    let cookie = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("hab_session="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// Every table's row count and content digest (sessions live elsewhere).
async fn state(app: &TestApp) -> Vec<(String, String)> {
    let tables: Vec<(String,)> = sqlx::query_as(
        "select table_name::text from information_schema.tables
          where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (t,) in tables {
        let (digest,): (String,) = sqlx::query_as(&format!(
            "select count(*)::text || ' ' || coalesce(md5(string_agg(md5(x::text), '' order by md5(x::text))), '')
               from \"{t}\" x"
        ))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        out.push((t, digest));
    }
    out
}

async fn send(
    app: &TestApp,
    cookie: Option<&str>,
    endpoint: &str,
    body: &Body,
    org_a: &str,
) -> (StatusCode, String) {
    let mut req = Client::new()
        .post(format!("{}/api/{endpoint}", app.url))
        .header("accept", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req = match body {
        Body::Form(form) => req.form(form),
        Body::Import => req.multipart(
            Form::new()
                .text("organisation_id", org_a.to_string())
                .text("confirmer", "1")
                .part(
                    "fichier",
                    Part::bytes(
                        "Civilité;Nom;Prénom;Adresse mail\nM;Importé;Ivan;ivan.importe@exemple.fr\n"
                            .as_bytes()
                            .to_vec(),
                    )
                    .file_name("agents.csv")
                    .mime_str("text/csv")
                    .unwrap(),
                ),
        ),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn every_server_function_checks_who_calls_and_whose_object_it_is() {
    // The fixture, built once on its own database.
    let base = TestApp::spawn().await;
    let ids = fixture(&base).await;
    let mut cookies: HashMap<&'static str, String> = HashMap::new();
    for (name, email) in [
        ("agent", AGENT),
        ("admin_a", ADMIN_A),
        ("admin_b", ADMIN_B),
        ("operator", OPERATEUR),
        ("resp_g", RESP_G),
        ("resp_h", RESP_H),
    ] {
        cookies.insert(name, session_cookie(&base, email).await);
    }
    let fixture_db = base.database.clone();
    base.pool.close().await;

    let rows = table(&ids);

    // Every registered server function is in the table.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.trim_start_matches("/api/").to_string())
        .collect();
    let listed: BTreeSet<String> = rows.iter().map(|r| r.endpoint.to_string()).collect();
    let missing: Vec<_> = registered.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "server functions missing from the matrix: {missing:?}"
    );
    let unknown: Vec<_> = listed.difference(&registered).collect();
    assert!(
        unknown.is_empty(),
        "rows for unknown server functions: {unknown:?}"
    );

    let cookies = Arc::new(cookies);
    let ids = Arc::new(ids);
    let rows = Arc::new(rows);
    // One task per row; its cells run one after another on a copy of the
    // fixture, replaced by a fresh copy whenever a call changed something,
    // so that every cell starts from the fixture exactly.
    let gate = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..rows.len() {
        let (cookies, ids, rows, gate, fixture_db) = (
            cookies.clone(),
            ids.clone(),
            rows.clone(),
            gate.clone(),
            fixture_db.clone(),
        );
        tasks.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let row = &rows[r];
            let mut faults = Vec::new();
            let mut app = TestApp::spawn_copy_of(&fixture_db, |_| {}).await;
            let mut pristine = state(&app).await;
            for (c, caller) in CALLERS.into_iter().enumerate() {
                let cookie = match caller {
                    Anonymous => None,
                    Agent => Some(cookies["agent"].as_str()),
                    AdminA => Some(cookies["admin_a"].as_str()),
                    AdminB => Some(cookies["admin_b"].as_str()),
                    Operator => Some(cookies["operator"].as_str()),
                    RespG => Some(cookies["resp_g"].as_str()),
                    RespOther => Some(cookies["resp_h"].as_str()),
                };
                let expected = row.expected[c];
                let (status, body) = send(&app, cookie, row.endpoint, &row.body, &ids.org_a).await;
                let short: String = body.chars().take(300).collect();
                if Outcome::of(status) != Some(expected) {
                    faults.push(format!(
                        "{} as {caller:?}: expected {expected:?}, got {status} {short}",
                        row.endpoint
                    ));
                }
                let changed = state(&app).await != pristine;
                if changed && expected != Ok {
                    faults.push(format!(
                        "{} as {caller:?}: refused ({status}) but the database changed",
                        row.endpoint
                    ));
                }
                let outsider = matches!(caller, Anonymous | Agent | AdminB | RespOther);
                if outsider
                    && row.endpoint != "dev_mailbox"
                    && (body.contains(CIBLE) || body.contains("Secrète"))
                {
                    faults.push(format!(
                        "{} as {caller:?}: the reply shows organisation A's agent: {short}",
                        row.endpoint
                    ));
                }
                if changed {
                    drop(app);
                    app = TestApp::spawn_copy_of(&fixture_db, |_| {}).await;
                    pristine = state(&app).await;
                }
            }
            drop(app);
            faults
        });
    }
    let mut faults = Vec::new();
    let mut rows_run = 0;
    while let Some(done) = tasks.join_next().await {
        faults.extend(done.unwrap());
        rows_run += 1;
    }
    assert_eq!(rows_run, rows.len());
    faults.sort();
    assert!(
        faults.is_empty(),
        "{} faults:\n{}",
        faults.len(),
        faults.join("\n")
    );
}
