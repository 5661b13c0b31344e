//! Property-based test of delegated administration: random sequences of
//! operations (conventions, groups, group rights, dated memberships,
//! direct rights, access requests, responsables, time passing) by random
//! actors, through the real server functions. After every step, on several
//! dates:
//! - the effective rights the database computes (`effective_rights(d)`)
//!   are exactly those an independent model computes from the raw rows with
//!   the SPEC's definition (so no right counts after its end date, and every
//!   right lies within a convention of its structure open on that date);
//! - a subgroup holds only roles its parent holds;
//! - nobody holds a right, a membership or a decision they gave themselves;
//! - an operation the delegation matrix refuses to its actor changed
//!   nothing, and one it allows was within the actor's reach.
//!
//! `HAB_PROPERTY_CASES` × `HAB_PROPERTY_STEPS` operations per run (25 × 400
//! by default: 10 000). A failing sequence is shrunk by proptest and printed.
mod common;
use chrono::NaiveDate;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Client, StatusCode};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Who acts. `User(i)` is one of the structure's agents (any of them may
/// become a responsable habilitations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Operator,
    AdminA,
    AdminB,
    User(usize),
}

const USERS: usize = 5;

#[derive(Clone, Debug)]
enum Op {
    CreateConvention {
        actor: Actor,
        roles: u8,
        cloture: Option<u8>,
    },
    ModifyConvention {
        actor: Actor,
        conv: usize,
        roles: u8,
    },
    CloseConvention {
        actor: Actor,
        conv: usize,
    },
    CreateGroup {
        actor: Actor,
        conv: usize,
        parent: Option<usize>,
        resp: usize,
    },
    CloseGroup {
        actor: Actor,
        group: usize,
    },
    SetGroupRoles {
        actor: Actor,
        group: usize,
        roles: u8,
    },
    SetResponsable {
        actor: Actor,
        group: usize,
        user: usize,
    },
    AddMember {
        actor: Actor,
        group: usize,
        user: usize,
        start: u8,
        cloture: Option<u8>,
    },
    CloseMember {
        actor: Actor,
        membership: usize,
        in_days: u8,
    },
    DirectGrant {
        actor: Actor,
        user: usize,
        role: usize,
        start: u8,
        cloture: Option<u8>,
    },
    Request {
        user: usize,
        role: usize,
        decider: Actor,
        accept: bool,
        /// The group the decider chooses (accepting puts the requester in it).
        group: Option<usize>,
    },
    Advance {
        days: u8,
    },
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        2 => Just(Actor::Operator),
        3 => Just(Actor::AdminA),
        1 => Just(Actor::AdminB),
        4 => (0..USERS).prop_map(Actor::User),
    ]
}

/// Mostly someone entitled (the operator for conventions, a manager of the
/// structure for groups), sometimes anyone: sequences build something to
/// act on, and still try forbidden paths.
fn usually(entitled: Actor) -> impl Strategy<Value = Actor> {
    prop_oneof![3 => Just(entitled), 2 => actor()]
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..8;
    prop_oneof![
        2 => (usually(Actor::Operator), any::<u8>(), proptest::option::of(1u8..40))
            .prop_map(|(actor, roles, cloture)| Op::CreateConvention { actor, roles, cloture }),
        1 => (actor(), idx.clone(), any::<u8>())
            .prop_map(|(actor, conv, roles)| Op::ModifyConvention { actor, conv, roles }),
        1 => (actor(), idx.clone()).prop_map(|(actor, conv)| Op::CloseConvention { actor, conv }),
        3 => (usually(Actor::AdminA), idx.clone(), proptest::option::of(idx.clone()), 0..USERS)
            .prop_map(|(actor, conv, parent, resp)| Op::CreateGroup { actor, conv, parent, resp }),
        1 => (actor(), idx.clone()).prop_map(|(actor, group)| Op::CloseGroup { actor, group }),
        4 => (usually(Actor::AdminA), idx.clone(), any::<u8>())
            .prop_map(|(actor, group, roles)| Op::SetGroupRoles { actor, group, roles }),
        1 => (actor(), idx.clone(), 0..USERS)
            .prop_map(|(actor, group, user)| Op::SetResponsable { actor, group, user }),
        5 => (actor(), idx.clone(), 0..USERS, 0u8..3, proptest::option::of(0u8..20))
            .prop_map(|(actor, group, user, start, cloture)| Op::AddMember { actor, group, user, start, cloture }),
        2 => (actor(), 0usize..16, 0u8..10)
            .prop_map(|(actor, membership, in_days)| Op::CloseMember { actor, membership, in_days }),
        3 => (actor(), 0..USERS, 0usize..ROLES, 0u8..3, proptest::option::of(1u8..20))
            .prop_map(|(actor, user, role, start, cloture)| Op::DirectGrant { actor, user, role, start, cloture }),
        // Deciders: often an agent (a responsable, perhaps), mostly choosing a group.
        3 => (0..USERS, 0usize..ROLES, prop_oneof![1 => actor(), 1 => (0..USERS).prop_map(Actor::User)],
              any::<bool>(), proptest::option::weighted(0.8, idx.clone()))
            .prop_map(|(user, role, decider, accept, group)| Op::Request { user, role, decider, accept, group }),
        1 => (1u8..10).prop_map(|days| Op::Advance { days }),
    ]
}

/// The roles the operations use: SOFFi's three, Parapheur's two, CDAP's.
const ROLES: usize = 6;
const ROLE_CODES: [(&str, &str); ROLES] = [
    ("soffi", "consultation"),
    ("soffi", "saisie"),
    ("soffi", "administrateur"),
    ("parapheur", "utilisateur"),
    ("parapheur", "administrateur"),
    ("cdap", "consultation"),
];

const ADMIN_A: &str = "admin-a@exemple.fr";
const ADMIN_B: &str = "admin-b@exemple.fr";
const OPERATEUR: &str = "operateur@exemple.fr";

fn user_email(i: usize) -> String {
    format!("agent{i}@exemple.fr")
}

/// The fixture: structure A (AFDAS) with its manager and five agents with
/// accounts; structure B with its manager; the operator.
struct Fixture {
    /// The fixture's own server and database (the runs' template), kept
    /// until the test ends.
    _base: TestApp,
    database: String,
    org: i64,
    roles: Vec<(i64, i64)>,
    users: Vec<i64>,
    cookies: HashMap<String, String>,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    app.operator(OPERATEUR).await;
    let (admin, _, org) = app.manager_of(ADMIN_A, AFDAS).await;
    app.manager_of(ADMIN_B, SAINT_MALO).await;
    let mut users = vec![];
    for i in 0..USERS {
        let (id, _) = app
            .structure_account(&admin, org, &user_email(i), "Agent", &format!("Numéro{i}"))
            .await;
        users.push(id);
    }
    let mut roles = vec![];
    for (a, r) in ROLE_CODES {
        let role = app.role_id(a, r).await;
        let app_id = app
            .count(&format!(
                "select application_id from roles where id = {role}"
            ))
            .await;
        roles.push((role, app_id));
    }
    let mut cookies = HashMap::new();
    let mut who: Vec<String> = vec![ADMIN_A.into(), ADMIN_B.into(), OPERATEUR.into()];
    who.extend((0..USERS).map(user_email));
    for email in who {
        let resp = Client::new()
            .post(format!("{}/api/login", app.url))
            .form(&[("email", email.as_str()), ("password", PASSWORD)])
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
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        cookies.insert(email, cookie);
    }
    let database = app.database.clone();
    app.pool.close().await;
    Fixture {
        _base: app,
        database,
        org,
        roles,
        users,
        cookies,
    }
}

/// One run of a sequence, on a fresh copy of the fixture.
struct Run<'f> {
    f: &'f Fixture,
    app: TestApp,
    client: Client,
    conventions: Vec<i64>,
    groups: Vec<i64>,
    memberships: Vec<i64>,
    stats: &'f Stats,
}

/// What the runs did, so that a run where everything was refused (and
/// nothing could fail) is itself a failure.
#[derive(Default)]
struct Stats {
    done: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
    /// Steps after which someone held a right through a group.
    group_rights_seen: AtomicUsize,
    /// Requests decided by a responsable habilitations.
    decided_by_responsables: AtomicUsize,
}

impl Run<'_> {
    fn email(&self, a: Actor) -> String {
        match a {
            Actor::Operator => OPERATEUR.into(),
            Actor::AdminA => ADMIN_A.into(),
            Actor::AdminB => ADMIN_B.into(),
            Actor::User(i) => user_email(i),
        }
    }

    fn user_id(&self, a: Actor) -> Option<i64> {
        match a {
            Actor::User(i) => Some(self.f.users[i]),
            _ => None,
        }
    }

    async fn call(
        &self,
        a: Actor,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let cookie = &self.f.cookies[&self.email(a)];
        let resp = self
            .client
            .post(format!("{}/api/{endpoint}", self.app.url))
            .header("accept", "application/json")
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        let s = resp.status();
        let text = resp.text().await.unwrap();
        (
            s,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    async fn today(&self) -> NaiveDate {
        let (d,): (NaiveDate,) = sqlx::query_as("select current_date")
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
        d
    }

    /// A digest of every table the operations write.
    async fn digest(&self) -> String {
        let mut out = String::new();
        for t in [
            "conventions",
            "convention_roles",
            "user_groups",
            "group_grants",
            "group_memberships",
            "grants",
            "access_requests",
            "memberships",
        ] {
            let (d,): (String,) = sqlx::query_as(&format!(
                "select count(*)::text || coalesce(md5(string_agg(md5(x::text), '' order by md5(x::text))), '') from {t} x"
            ))
            .fetch_one(&self.app.pool)
            .await
            .unwrap();
            out.push_str(&d);
        }
        out
    }

    /// The groups an agent reaches as responsable today.
    async fn reach(&self, a: Actor) -> BTreeSet<i64> {
        let Some(uid) = self.user_id(a) else {
            return BTreeSet::new();
        };
        let rows: Vec<(i64,)> =
            sqlx::query_as("select group_id from responsable_reach($1, current_date)")
                .bind(uid)
                .fetch_all(&self.app.pool)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.0).collect()
    }

    /// An agent is an open or future member of a group in `groups`.
    async fn member_of_any(&self, user: i64, groups: &BTreeSet<i64>) -> bool {
        let ids: Vec<i64> = groups.iter().copied().collect();
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from group_memberships where user_id = $1 and group_id = any($2)
                and (date_cloture is null or date_cloture > current_date)",
        )
        .bind(user)
        .bind(&ids)
        .fetch_one(&self.app.pool)
        .await
        .unwrap();
        n > 0
    }

    /// The group is open today and holds the role today.
    async fn group_holds(&self, group: i64, role: i64) -> bool {
        let (n,): (i64,) = sqlx::query_as(
            "select count(*) from user_groups g join group_grants gg on gg.group_id = g.id
              where g.id = $1 and gg.role_id = $2
                and g.date_ouverture <= current_date and (g.date_cloture is null or g.date_cloture > current_date)
                and gg.date_ouverture <= current_date and (gg.date_cloture is null or gg.date_cloture > current_date)",
        )
        .bind(group)
        .bind(role)
        .fetch_one(&self.app.pool)
        .await
        .unwrap();
        n > 0
    }

    fn pick(list: &[i64], i: usize) -> Option<i64> {
        (!list.is_empty()).then(|| list[i % list.len()])
    }

    fn roles_of(&self, mask: u8, only_app: Option<i64>) -> String {
        (0..ROLES)
            .filter(|i| mask & (1 << i) != 0)
            .filter(|i| only_app.is_none_or(|a| self.f.roles[*i].1 == a))
            .map(|i| self.f.roles[i].0.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn day(&self, today: NaiveDate, n: i64) -> String {
        (today + chrono::Duration::days(n)).to_string()
    }

    /// Runs one operation; returns a description of what the delegation
    /// rules say of it if it went through although they forbid it.
    async fn step(&mut self, op: &Op) -> Result<(), String> {
        let org = self.f.org.to_string();
        let today = self.today().await;
        let manager = |a: Actor| matches!(a, Actor::Operator | Actor::AdminA);
        let before = self.digest().await;
        // (status, allowed by the rules, description)
        let (status, allowed, body): (StatusCode, bool, serde_json::Value) = match op.clone() {
            Op::Advance { days } => {
                self.advance(days as i64).await;
                return Ok(());
            }
            Op::CreateConvention {
                actor,
                roles,
                cloture,
            } => {
                let r = self.roles_of(roles, None);
                let c = cloture
                    .map(|c| self.day(today, c as i64))
                    .unwrap_or_default();
                let (s, b) = self
                    .call(
                        actor,
                        "save_convention",
                        &[
                            ("siret", AFDAS),
                            ("libelle", "Convention"),
                            ("role_ids", &r),
                            ("date_cloture", &c),
                        ],
                    )
                    .await;
                if s.is_success() {
                    self.conventions.push(b.as_i64().unwrap());
                }
                (s, actor == Actor::Operator, b)
            }
            Op::ModifyConvention { actor, conv, roles } => {
                let Some(c) = Self::pick(&self.conventions, conv) else {
                    return Ok(());
                };
                let (o,): (NaiveDate,) =
                    sqlx::query_as("select date_ouverture from conventions where id = $1")
                        .bind(c)
                        .fetch_one(&self.app.pool)
                        .await
                        .unwrap();
                let r = self.roles_of(roles, None);
                let (s, b) = self
                    .call(
                        actor,
                        "save_convention",
                        &[
                            ("id", &c.to_string()),
                            ("libelle", "Convention"),
                            ("date_ouverture", &o.to_string()),
                            ("role_ids", &r),
                        ],
                    )
                    .await;
                (s, actor == Actor::Operator, b)
            }
            Op::CloseConvention { actor, conv } => {
                let Some(c) = Self::pick(&self.conventions, conv) else {
                    return Ok(());
                };
                let (s, b) = self
                    .call(actor, "close_convention", &[("id", &c.to_string())])
                    .await;
                (s, actor == Actor::Operator, b)
            }
            Op::CreateGroup {
                actor,
                conv,
                parent,
                resp,
            } => {
                let Some(c) = Self::pick(&self.conventions, conv) else {
                    return Ok(());
                };
                let p = parent
                    .and_then(|p| Self::pick(&self.groups, p))
                    .unwrap_or(0);
                let code = format!("G{}", self.groups.len() + 1);
                let (s, b) = self
                    .call(
                        actor,
                        "save_group",
                        &[
                            ("organisation_id", &org),
                            ("convention_id", &c.to_string()),
                            ("code", &code),
                            ("libelle", &code),
                            ("parent_id", &p.to_string()),
                            ("responsable", &user_email(resp)),
                        ],
                    )
                    .await;
                if s.is_success() {
                    self.groups.push(b.as_i64().unwrap());
                }
                (s, manager(actor), b)
            }
            Op::CloseGroup { actor, group } => {
                let Some(g) = Self::pick(&self.groups, group) else {
                    return Ok(());
                };
                let (s, b) = self
                    .call(
                        actor,
                        "close_group",
                        &[("organisation_id", &org), ("group_id", &g.to_string())],
                    )
                    .await;
                (s, manager(actor), b)
            }
            Op::SetGroupRoles {
                actor,
                group,
                roles,
            } => {
                let Some(g) = Self::pick(&self.groups, group) else {
                    return Ok(());
                };
                let app_id = self.f.roles[(roles as usize) % ROLES].1;
                let r = self.roles_of(roles, Some(app_id));
                let (s, b) = self
                    .call(
                        actor,
                        "set_group_roles",
                        &[
                            ("organisation_id", &org),
                            ("group_id", &g.to_string()),
                            ("application_id", &app_id.to_string()),
                            ("role_ids", &r),
                        ],
                    )
                    .await;
                (s, manager(actor), b)
            }
            Op::SetResponsable { actor, group, user } => {
                let Some(g) = Self::pick(&self.groups, group) else {
                    return Ok(());
                };
                let (parent,): (Option<i64>,) =
                    sqlx::query_as("select parent_id from user_groups where id = $1")
                        .bind(g)
                        .fetch_one(&self.app.pool)
                        .await
                        .unwrap();
                let reach = self.reach(actor).await;
                let may = manager(actor)
                    || (parent.is_some_and(|p| reach.contains(&p))
                        && Some(self.f.users[user]) != self.user_id(actor));
                let (s, b) = self
                    .call(
                        actor,
                        "set_group_responsable",
                        &[
                            ("organisation_id", &org),
                            ("group_id", &g.to_string()),
                            ("responsable", &user_email(user)),
                        ],
                    )
                    .await;
                (s, may, b)
            }
            Op::AddMember {
                actor,
                group,
                user,
                start,
                cloture,
            } => {
                let Some(g) = Self::pick(&self.groups, group) else {
                    return Ok(());
                };
                let target = self.f.users[user];
                let reach = self.reach(actor).await;
                let may = Some(target) != self.user_id(actor)
                    && (manager(actor)
                        || (reach.contains(&g) && self.member_of_any(target, &reach).await));
                let c = cloture
                    .map(|c| self.day(today, start as i64 + c as i64))
                    .unwrap_or_default();
                let (s, b) = self
                    .call(
                        actor,
                        "add_to_group",
                        &[
                            ("organisation_id", &org),
                            ("group_id", &g.to_string()),
                            ("utilisateur", &user_email(user)),
                            ("date_ouverture", &self.day(today, start as i64)),
                            ("date_cloture", &c),
                        ],
                    )
                    .await;
                if s.is_success() {
                    self.memberships.push(b.as_i64().unwrap());
                }
                (s, may, b)
            }
            Op::CloseMember {
                actor,
                membership,
                in_days,
            } => {
                let Some(m) = Self::pick(&self.memberships, membership) else {
                    return Ok(());
                };
                let (g, u): (i64, i64) =
                    sqlx::query_as("select group_id, user_id from group_memberships where id = $1")
                        .bind(m)
                        .fetch_one(&self.app.pool)
                        .await
                        .unwrap();
                let reach = self.reach(actor).await;
                let may = Some(u) != self.user_id(actor) && (manager(actor) || reach.contains(&g));
                let (s, b) = self
                    .call(
                        actor,
                        "update_membership",
                        &[
                            ("organisation_id", &org),
                            ("membership_id", &m.to_string()),
                            ("date_cloture", &self.day(today, in_days as i64)),
                        ],
                    )
                    .await;
                (s, may, b)
            }
            Op::DirectGrant {
                actor,
                user,
                role,
                start,
                cloture,
            } => {
                let target = self.f.users[user];
                let c = cloture
                    .map(|c| self.day(today, start as i64 + c as i64))
                    .unwrap_or_default();
                let (s, b) = self
                    .call(
                        actor,
                        "add_grant",
                        &[
                            ("organisation_id", &org),
                            ("user_id", &target.to_string()),
                            ("role_id", &self.f.roles[role].0.to_string()),
                            ("date_ouverture", &self.day(today, start as i64)),
                            ("date_cloture", &c),
                        ],
                    )
                    .await;
                (s, manager(actor) && Some(target) != self.user_id(actor), b)
            }
            Op::Request {
                user,
                role,
                decider,
                accept,
                group,
            } => {
                let requester = Actor::User(user);
                // A responsable's requests are mostly for a role one of
                // their groups holds (else they would decide none).
                let reach = self.reach(decider).await;
                let mut held = vec![];
                for (r, _) in &self.f.roles {
                    for g in &reach {
                        if self.group_holds(*g, *r).await {
                            held.push(*r);
                            break;
                        }
                    }
                }
                let role_id = match role % 3 {
                    0 => self.f.roles[role].0,
                    _ => Self::pick(&held, role).unwrap_or(self.f.roles[role].0),
                };
                let (s, b) = self
                    .call(
                        requester,
                        "request_access",
                        &[("organisation_id", &org), ("role_id", &role_id.to_string())],
                    )
                    .await;
                if !s.is_success() {
                    // Refused for its content (not in the ceiling, held
                    // already, pending already): nothing written.
                    if self.digest().await != before {
                        return Err(format!(
                            "{op:?}: the request was refused ({s}) but the database changed"
                        ));
                    }
                    return Ok(());
                }
                let id = b.as_i64().unwrap().to_string();
                let before = self.digest().await;
                let decision = if accept { "accepter" } else { "refuser" };
                // A responsable mostly picks one of their own groups.
                let own: Vec<i64> = reach.iter().copied().collect();
                let group =
                    group.and_then(|g| match manager(decider) || g % 4 == 0 || own.is_empty() {
                        true => Self::pick(&self.groups, g),
                        false => Self::pick(&own, g),
                    });
                let (s, b) = self
                    .call(
                        decider,
                        "decide_request",
                        &[
                            ("id", &id),
                            ("decision", decision),
                            ("group_id", &group.unwrap_or(0).to_string()),
                        ],
                    )
                    .await;
                // A manager decides any request, accepting into a group
                // only if it holds the role today; a responsable decides
                // those of a role one of their groups holds, accepting
                // only into such a group.
                let mut holders = BTreeSet::new();
                for g in reach.iter().copied().chain(group) {
                    if self.group_holds(g, role_id).await {
                        holders.insert(g);
                    }
                }
                let may = decider != requester
                    && match group {
                        _ if manager(decider) => group.is_none_or(|g| holders.contains(&g)),
                        Some(g) => reach.contains(&g) && holders.contains(&g),
                        None => !accept && !holders.is_empty(),
                    };
                if s.is_success() && !manager(decider) {
                    self.stats
                        .decided_by_responsables
                        .fetch_add(1, Ordering::Relaxed);
                }
                return self.judge(op, s, may, b, &before).await;
            }
        };
        self.judge(op, status, allowed, body, &before).await
    }

    async fn judge(
        &self,
        op: &Op,
        s: StatusCode,
        allowed: bool,
        body: serde_json::Value,
        before: &str,
    ) -> Result<(), String> {
        let counter = if s.is_success() {
            &self.stats.accepted
        } else {
            &self.stats.refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if s.is_success() && !allowed {
            return Err(format!(
                "{op:?} went through although the rules refuse it to its actor: {body}"
            ));
        }
        if s.is_server_error() {
            return Err(format!("{op:?}: server error {s} {body}"));
        }
        if !s.is_success() && self.digest().await != before {
            return Err(format!(
                "{op:?} was refused ({s} {body}) but the database changed"
            ));
        }
        Ok(())
    }

    /// The clock moves forward `days`: every date of the model moves back
    /// as much (triggers off: no rule looks at a uniform shift).
    async fn advance(&mut self, days: i64) {
        let mut tx = self.app.pool.begin().await.unwrap();
        sqlx::query("set local session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
        for (table, cols) in [
            ("users", &["date_ouverture", "date_cloture"][..]),
            ("conventions", &["date_ouverture", "date_cloture"]),
            ("convention_roles", &["date_ouverture", "date_cloture"]),
            ("user_groups", &["date_ouverture", "date_cloture"]),
            ("group_grants", &["date_ouverture", "date_cloture"]),
            ("group_memberships", &["date_ouverture", "date_cloture"]),
            ("grants", &["date_ouverture", "date_cloture"]),
        ] {
            let set = cols
                .iter()
                .map(|c| format!("{c} = {c} - {days}"))
                .collect::<Vec<_>>()
                .join(", ");
            // The exclusion constraints are checked row by row: the
            // earliest period first moves away from the next one, never
            // onto it.
            sqlx::query(&format!(
                "do $$ declare r record; begin
                     for r in select id from {table} order by {first} loop
                         update {table} set {set} where id = r.id;
                     end loop;
                 end $$",
                first = cols[0]
            ))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// The invariants, on today and a few days ahead.
    async fn check(&self, after: &Op) -> Result<(), String> {
        let today = self.today().await;
        let snap = Snapshot::read(&self.app.pool).await;
        for ahead in [0i64, 1, 7, 30] {
            let d = today + chrono::Duration::days(ahead);
            let expected = snap.effective(d);
            let rows: Vec<(i64, i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                "select user_id, organisation_id, role_id, group_id, grant_id from effective_rights($1)",
            )
            .bind(d)
            .fetch_all(&self.app.pool)
            .await
            .unwrap();
            let got: BTreeSet<_> = rows.iter().copied().collect();
            if ahead == 0 && got.iter().any(|r| r.3.is_some()) {
                self.stats.group_rights_seen.fetch_add(1, Ordering::Relaxed);
            }
            if got.len() != rows.len() {
                return Err(format!(
                    "after {after:?}: effective_rights({d}) has duplicates"
                ));
            }
            if got != expected {
                let extra: Vec<_> = got.difference(&expected).collect();
                let missing: Vec<_> = expected.difference(&got).collect();
                return Err(format!(
                    "after {after:?}: effective_rights({d}) differs from the model: extra {extra:?}, missing {missing:?}"
                ));
            }
            // A subgroup's rights are within its parent's, on every date.
            for gg in &snap.group_grants {
                if !open(gg.2, gg.3, d) {
                    continue;
                }
                let Some(parent) = snap.groups.get(&gg.0).and_then(|g| g.parent) else {
                    continue;
                };
                let held = snap
                    .group_grants
                    .iter()
                    .any(|p| p.0 == parent && p.1 == gg.1 && open(p.2, p.3, d));
                if !held {
                    return Err(format!("after {after:?}: on {d}, group {} holds role {} that its parent {parent} does not", gg.0, gg.1));
                }
            }
        }
        // Nobody gave themselves anything.
        let (own,): (i64,) = sqlx::query_as(
            "select (select count(*) from grants where granted_by = user_id)
                  + (select count(*) from group_memberships where added_by = user_id)
                  + (select count(*) from access_requests where decided_by = requester_id)",
        )
        .fetch_one(&self.app.pool)
        .await
        .unwrap();
        if own > 0 {
            return Err(format!(
                "after {after:?}: someone gave themselves a right, a group or a decision"
            ));
        }
        Ok(())
    }
}

fn open(o: NaiveDate, c: Option<NaiveDate>, d: NaiveDate) -> bool {
    o <= d && c.is_none_or(|c| d < c)
}

struct Group {
    org: i64,
    convention: i64,
    parent: Option<i64>,
    o: NaiveDate,
    c: Option<NaiveDate>,
}

/// The raw rows, read once per check.
struct Snapshot {
    /// id → (organisation, active)
    orgs: HashMap<i64, bool>,
    /// id → (ouverture, clôture)
    users: HashMap<i64, (NaiveDate, Option<NaiveDate>)>,
    /// (convention, organisation, ouverture, clôture)
    conventions: HashMap<i64, (i64, NaiveDate, Option<NaiveDate>)>,
    /// (convention, role, ouverture, clôture)
    convention_roles: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)>,
    groups: HashMap<i64, Group>,
    /// (group, role, ouverture, clôture)
    group_grants: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)>,
    /// (group, user, ouverture, clôture)
    memberships: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)>,
    /// (id, user, organisation, role, date_ouverture, date_cloture)
    grants: Vec<(i64, i64, i64, i64, NaiveDate, Option<NaiveDate>)>,
}

type Dated = (NaiveDate, Option<NaiveDate>);

impl Snapshot {
    async fn read(pool: &sqlx::PgPool) -> Snapshot {
        let orgs: Vec<(i64, bool)> = sqlx::query_as("select id, active from organisations")
            .fetch_all(pool)
            .await
            .unwrap();
        let users: Vec<(i64, NaiveDate, Option<NaiveDate>)> =
            sqlx::query_as("select id, date_ouverture, date_cloture from users")
                .fetch_all(pool)
                .await
                .unwrap();
        let conventions: Vec<(i64, i64, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
            "select id, organisation_id, date_ouverture, date_cloture from conventions",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let groups: Vec<(i64, i64, i64, Option<i64>, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
            "select id, organisation_id, convention_id, parent_id, date_ouverture, date_cloture from user_groups",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        Snapshot {
            orgs: orgs.into_iter().collect(),
            users: users.into_iter().map(|(id, o, c)| (id, (o, c))).collect(),
            conventions: conventions
                .into_iter()
                .map(|(id, org, o, c)| (id, (org, o, c)))
                .collect(),
            convention_roles: sqlx::query_as(
                "select convention_id, role_id, date_ouverture, date_cloture from convention_roles",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            groups: groups
                .into_iter()
                .map(|(id, org, convention, parent, o, c)| {
                    (
                        id,
                        Group {
                            org,
                            convention,
                            parent,
                            o,
                            c,
                        },
                    )
                })
                .collect(),
            group_grants: sqlx::query_as(
                "select group_id, role_id, date_ouverture, date_cloture from group_grants",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            memberships: sqlx::query_as(
                "select group_id, user_id, date_ouverture, date_cloture from group_memberships",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            grants: sqlx::query_as(
                "select id, user_id, organisation_id, role_id, date_ouverture, date_cloture from grants",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        }
    }

    fn user_open(&self, user: i64, d: NaiveDate) -> bool {
        self.users
            .get(&user)
            .is_some_and(|(o, c): &Dated| open(*o, *c, d))
    }

    /// The role is listed, on `d`, by convention `conv`, itself open on `d`.
    fn convention_lists(&self, conv: i64, role: i64, d: NaiveDate) -> bool {
        self.conventions
            .get(&conv)
            .is_some_and(|(_, o, c)| open(*o, *c, d))
            && self
                .convention_roles
                .iter()
                .any(|cr| cr.0 == conv && cr.1 == role && open(cr.2, cr.3, d))
    }

    /// SPEC "Rights": direct grants ∪ grants of the groups the user is a
    /// member of, each open on the date, within a convention of the
    /// structure open on the date, of an active structure, for an open user.
    fn effective(&self, d: NaiveDate) -> BTreeSet<(i64, i64, i64, Option<i64>, Option<i64>)> {
        let mut out = BTreeSet::new();
        for &(id, user, org, role, s, e) in &self.grants {
            let held = open(s, e, d);
            let within = self
                .conventions
                .iter()
                .any(|(cid, (corg, ..))| *corg == org && self.convention_lists(*cid, role, d));
            if held && within && self.orgs[&org] && self.user_open(user, d) {
                out.insert((user, org, role, None, Some(id)));
            }
        }
        for &(group, user, mo, mc) in &self.memberships {
            let g = &self.groups[&group];
            if !open(mo, mc, d)
                || !open(g.o, g.c, d)
                || !self.orgs[&g.org]
                || !self.user_open(user, d)
            {
                continue;
            }
            for &(gg, role, o, c) in &self.group_grants {
                if gg == group && open(o, c, d) && self.convention_lists(g.convention, role, d) {
                    out.insert((user, g.org, role, Some(group), None));
                }
            }
        }
        out
    }
}

#[test]
fn delegation_keeps_its_rules_under_random_operations() {
    let cases: u32 = std::env::var("HAB_PROPERTY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let steps: usize = std::env::var("HAB_PROPERTY_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());
    let stats = Stats::default();
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), steps..=steps), |ops| {
        rt.block_on(async {
            let app = TestApp::spawn_copy_of(&f.database, |_| {}).await;
            let mut run = Run {
                f: &f,
                app,
                client: Client::new(),
                conventions: vec![],
                groups: vec![],
                memberships: vec![],
                stats: &stats,
            };
            let outcome = async {
                for (n, op) in ops.iter().enumerate() {
                    let at = |e: String| format!("step {n}: {e}");
                    run.step(op).await.map_err(at)?;
                    run.check(op).await.map_err(at)?;
                    stats.done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), String>(())
            }
            .await;
            drop(run);
            outcome.map_err(TestCaseError::fail)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let done = stats.done.load(Ordering::Relaxed);
    let accepted = stats.accepted.load(Ordering::Relaxed);
    let refused = stats.refused.load(Ordering::Relaxed);
    let seen = stats.group_rights_seen.load(Ordering::Relaxed);
    let by_responsables = stats.decided_by_responsables.load(Ordering::Relaxed);
    eprintln!(
        "{done} opérations aléatoires vérifiées ({cases} suites de {steps}) : {accepted} acceptées, {refused} refusées ; \
         des droits par groupe comptaient après {seen} d'entre elles ; {by_responsables} demandes décidées par un responsable"
    );
    assert!(
        done >= cases as usize * steps,
        "{done} operations run, fewer than {cases} × {steps}"
    );
    // The sequences exercise the rules both ways.
    assert!(
        accepted * 6 >= done,
        "too few operations went through: {accepted} of {done}"
    );
    assert!(
        refused * 6 >= done,
        "too few operations were refused: {refused} of {done}"
    );
    assert!(
        seen * 20 >= done,
        "rights through groups rarely existed: {seen} of {done}"
    );
}
