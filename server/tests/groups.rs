//! Delegated administration (CAF): conventions, user groups, their rights,
//! dated memberships and the responsables habilitations, through the real
//! server functions; each rule with its refusal case.
mod common;
use common::*;
use reqwest::{Client, StatusCode};
use serde_json::Value;

/// A structure (AFDAS) with its manager, the operator, a second convention
/// (Parapheur, both roles) and three agents with accounts of their own.
struct World {
    app: TestApp,
    admin: Client,
    op: Client,
    org: String,
    /// The convention of the services activated by default (SOFFi).
    soffi_conv: String,
    parapheur_conv: String,
    soffi: String,
    consultation: String,
    saisie: String,
    /// Responsable of group G.
    resp: (i64, Client),
    /// Responsable of group H.
    other: (i64, Client),
    agent: (i64, Client),
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (admin, _, org_id) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let op = app.operator("operateur@exemple.fr").await;
    let org = org_id.to_string();
    let soffi_conv = app
        .count(&format!(
            "select id from conventions where organisation_id = {org_id}"
        ))
        .await
        .to_string();
    let parapheur_roles = format!(
        "{},{}",
        app.role_id("parapheur", "utilisateur").await,
        app.role_id("parapheur", "administrateur").await
    );
    let (s, body) = app
        .call(
            &op,
            "save_convention",
            &[
                ("siret", AFDAS),
                ("libelle", "Convention Parapheur"),
                ("role_ids", &parapheur_roles),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let parapheur_conv = body.as_i64().unwrap().to_string();
    let soffi = app
        .count("select id from applications where code = 'soffi'")
        .await
        .to_string();
    let resp = app
        .structure_account(&admin, org_id, "rh@exemple.fr", "Rose", "Responsable")
        .await;
    let other = app
        .structure_account(&admin, org_id, "autre.rh@exemple.fr", "Hugo", "Autre")
        .await;
    let agent = app
        .structure_account(&admin, org_id, "agent@exemple.fr", "Paul", "Agent")
        .await;
    World {
        consultation: app.role_id("soffi", "consultation").await.to_string(),
        saisie: app.role_id("soffi", "saisie").await.to_string(),
        app,
        admin,
        op,
        org,
        soffi_conv,
        parapheur_conv,
        soffi,
        resp,
        other,
        agent,
    }
}

impl World {
    async fn group(
        &self,
        code: &str,
        convention: &str,
        parent: &str,
        responsable: &str,
    ) -> (StatusCode, Value) {
        self.app
            .call(
                &self.admin,
                "save_group",
                &[
                    ("organisation_id", self.org.as_str()),
                    ("convention_id", convention),
                    ("code", code),
                    ("libelle", &format!("Groupe {code}")),
                    ("parent_id", parent),
                    ("responsable", responsable),
                ],
            )
            .await
    }

    async fn group_ok(&self, code: &str, parent: &str, responsable: &str) -> String {
        let (s, body) = self
            .group(code, &self.soffi_conv, parent, responsable)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.as_i64().unwrap().to_string()
    }

    async fn roles(&self, as_: &Client, group: &str, roles: &str) -> (StatusCode, Value) {
        self.app
            .call(
                as_,
                "set_group_roles",
                &[
                    ("organisation_id", self.org.as_str()),
                    ("group_id", group),
                    ("application_id", self.soffi.as_str()),
                    ("role_ids", roles),
                ],
            )
            .await
    }

    async fn add(
        &self,
        as_: &Client,
        group: &str,
        who: &str,
        cloture: &str,
    ) -> (StatusCode, Value) {
        self.app
            .call(
                as_,
                "add_to_group",
                &[
                    ("organisation_id", self.org.as_str()),
                    ("group_id", group),
                    ("utilisateur", who),
                    ("date_cloture", cloture),
                ],
            )
            .await
    }

    /// « Modifier l'appartenance »: a new closing date.
    async fn close_membership(
        &self,
        as_: &Client,
        membership: &str,
        cloture: &str,
    ) -> (StatusCode, Value) {
        self.app
            .call(
                as_,
                "update_membership",
                &[
                    ("organisation_id", self.org.as_str()),
                    ("membership_id", membership),
                    ("date_cloture", cloture),
                ],
            )
            .await
    }

    /// The operator modifies a convention.
    async fn modify_convention(
        &self,
        id: &str,
        libelle: &str,
        ouverture: &str,
        cloture: &str,
        roles: &str,
    ) -> (StatusCode, Value) {
        self.app
            .call(
                &self.op,
                "save_convention",
                &[
                    ("id", id),
                    ("libelle", libelle),
                    ("date_ouverture", ouverture),
                    ("date_cloture", cloture),
                    ("role_ids", roles),
                ],
            )
            .await
    }

    /// « Ajouter une nouvelle habilitation » (SOFFi Consultation) to the agent.
    async fn grant(&self, ouverture: String, cloture: String) -> (StatusCode, Value) {
        self.app
            .call(
                &self.admin,
                "add_grant",
                &[
                    ("organisation_id", self.org.as_str()),
                    ("user_id", &self.agent.0.to_string()),
                    ("role_id", self.consultation.as_str()),
                    ("date_ouverture", &ouverture),
                    ("date_cloture", &cloture),
                ],
            )
            .await
    }

    /// The roles a user effectively holds on a day (0 = today).
    async fn effective(&self, user: i64, in_days: i32) -> i64 {
        self.app
            .count(&format!(
                "select count(distinct role_id) from effective_rights(current_date + {in_days}) where user_id = {user}"
            ))
            .await
    }
}

fn day(in_days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(in_days)).to_string()
}

#[tokio::test]
async fn conventions_are_the_dated_ceiling_of_a_structure() {
    let w = world().await;
    let app = &w.app;
    // Only an operator formalises, modifies and closes; bad input is
    // reported on its field and writes nothing.
    let before = app.count("select count(*) from conventions").await;
    let (s, body) = app
        .call(
            &w.op,
            "save_convention",
            &[
                ("siret", "12345678901234"),
                ("libelle", ""),
                ("date_cloture", &day(-1)),
                ("role_ids", ""),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = invalid_fields(&body);
    fields.sort();
    assert_eq!(
        fields,
        vec!["date_cloture", "libelle", "role_ids", "siret"],
        "{body}"
    );
    let (s, body) = app
        .call(
            &w.op,
            "save_convention",
            &[
                ("siret", SAINT_MALO),
                ("libelle", "X"),
                ("role_ids", &w.saisie),
            ],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unregistered structure: {body}"
    );
    assert_eq!(app.count("select count(*) from conventions").await, before);
    let (s, _) = app
        .call(&w.admin, "close_convention", &[("id", &w.parapheur_conv)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The structure's manager reads its conventions; another structure's
    // manager reads neither the list nor one of them.
    let (s, list) = app
        .call(&w.admin, "list_conventions", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["rows"].as_array().unwrap().len(), 2, "{list}");
    assert_eq!(list["operator"], false);
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let (s, _) = app
        .call(&other, "get_convention", &[("id", &w.parapheur_conv)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = app.call(&other, "list_conventions", &[]).await;
    assert!(
        list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["siret"] == SAINT_MALO),
        "{list}"
    );
    // A direct right within the Parapheur convention.
    let (agent, _) = &w.agent;
    let utilisateur = app.role_id("parapheur", "utilisateur").await.to_string();
    let (s, body) = app
        .call(
            &w.admin,
            "add_grant",
            &[
                ("organisation_id", &w.org),
                ("user_id", &agent.to_string()),
                ("role_id", &utilisateur),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(*agent, 0).await, 1);
    // A convention that ends tomorrow: the right holds today, not tomorrow,
    // with nothing run in between.
    let (s, body) = w
        .modify_convention(
            &w.parapheur_conv,
            "Convention Parapheur",
            &day(3),
            &day(1),
            &utilisateur,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "its opening is a fact now: {body}"
    );
    let (_, detail) = app
        .call(&w.op, "get_convention", &[("id", &w.parapheur_conv)])
        .await;
    let opened = detail["date_ouverture"].as_str().unwrap().to_string();
    let (s, body) = w
        .modify_convention(
            &w.parapheur_conv,
            "Convention Parapheur",
            &opened,
            &day(1),
            &utilisateur,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(*agent, 0).await, 1);
    assert_eq!(w.effective(*agent, 1).await, 0);
    // Removing a role from a convention stops it at once; the right is
    // ended, never deleted.
    let admin_role = app.role_id("parapheur", "administrateur").await.to_string();
    let (s, body) = w
        .modify_convention(
            &w.parapheur_conv,
            "Convention Parapheur",
            &opened,
            &day(1),
            &admin_role,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(*agent, 0).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent}"
        ))
        .await,
        1,
        "history stays"
    );
    // The database refuses a direct right outside every open convention.
    let direct =
        sqlx::query("insert into grants (role_id, organisation_id, user_id) values ($1, $2, $3)")
            .bind(utilisateur.parse::<i64>().unwrap())
            .bind(w.org.parse::<i64>().unwrap())
            .bind(agent)
            .execute(&app.pool)
            .await;
    assert!(direct
        .unwrap_err()
        .to_string()
        .contains("conventions ouvertes"));
    // Closing: confirmed by the operator, journalled.
    let (s, _) = app
        .call(&w.op, "close_convention", &[("id", &w.parapheur_conv)])
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, detail) = app
        .call(&w.admin, "get_convention", &[("id", &w.parapheur_conv)])
        .await;
    assert_eq!(detail["statut"], "Clôturé");
    assert_eq!(detail["editable"], false);
    assert_eq!(
        app.count("select count(*) from audit_events where action like 'convention.%'")
            .await,
        4
    );
}

#[tokio::test]
async fn groups_have_one_responsable_a_unique_code_and_no_cycle() {
    let w = world().await;
    let app = &w.app;
    // The responsable is mandatory and must be an open agent of the
    // structure.
    let (s, body) = w.group("G1", &w.soffi_conv, "0", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["responsable"]);
    let outsider = app.signup_verified("dehors@exemple.fr", "Dé", "Hors").await;
    assert!(outsider > 0);
    let (s, body) = w.group("G1", &w.soffi_conv, "0", "dehors@exemple.fr").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["responsable"]);
    let (s, body) = w.group("G1", "0", "0", "rh@exemple.fr").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["convention_id"]);
    // Created; the code is unique in the structure, whatever its case.
    let g = w.group_ok("g1", "0", "rh@exemple.fr").await;
    let (s, body) = w.group("G1", &w.soffi_conv, "0", "rh@exemple.fr").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["code"]);
    // A subgroup takes its parent's convention, whatever is sent, and its
    // niveau follows.
    let (s, body) = w
        .group("S1", &w.parapheur_conv, &g, "autre.rh@exemple.fr")
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let sub = body.as_i64().unwrap().to_string();
    let (_, d) = app
        .call(
            &w.admin,
            "get_group",
            &[("organisation_id", &w.org), ("id", &sub)],
        )
        .await;
    assert_eq!(d["niveau"], 2);
    assert_eq!(d["convention_id"].to_string(), w.soffi_conv);
    let subsub = w.group_ok("S2", &sub, "rh@exemple.fr").await;
    let (_, d) = app
        .call(
            &w.admin,
            "get_group",
            &[("organisation_id", &w.org), ("id", &subsub)],
        )
        .await;
    assert_eq!(d["niveau"], 3);
    // No cycle: G cannot become a subgroup of its own subgroup.
    let (s, body) = app
        .call(
            &w.admin,
            "save_group",
            &[
                ("organisation_id", &w.org),
                ("id", &g),
                ("code", "G1"),
                ("libelle", "Groupe G1"),
                ("parent_id", &subsub),
                (
                    "date_ouverture",
                    &d["date_ouverture"].as_str().unwrap().to_string(),
                ),
                ("responsable", "rh@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["parent_id"]);
    // A responsable cannot create, modify or close a group.
    let (s, _) = app
        .call(
            &w.resp.1,
            "save_group",
            &[
                ("organisation_id", &w.org),
                ("convention_id", &w.soffi_conv),
                ("code", "R1"),
                ("libelle", "R"),
                ("responsable", "rh@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            &w.resp.1,
            "close_group",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The list: filters on code and on a member; a responsable sees the
    // groups they reach only.
    let (_, list) = app
        .call(
            &w.admin,
            "list_groups",
            &[("organisation_id", &w.org), ("code", "s")],
        )
        .await;
    assert_eq!(list["rows"].as_array().unwrap().len(), 2, "{list}");
    let (_, list) = app
        .call(&w.other.1, "list_groups", &[("organisation_id", &w.org)])
        .await;
    let codes: Vec<&str> = list["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["S1", "S2"],
        "H's responsable reaches S1 and its subgroup"
    );
    assert_eq!(list["manager"], false);
    // Closing a group closes its subgroups and its memberships, not its
    // users.
    let (s, body) = w.add(&w.admin, &subsub, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = app
        .call(
            &w.admin,
            "close_group",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.count(&format!(
            "select count(*) from user_groups where organisation_id = {} and (date_cloture is null or date_cloture > current_date)",
            w.org
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {} and (date_cloture is null or date_cloture > current_date)",
            w.agent.0
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where id = {} and date_cloture is null",
            w.agent.0
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn group_rights_stay_within_the_convention_and_the_parent() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let sub = w.group_ok("S1", &g, "autre.rh@exemple.fr").await;
    // Within the convention only: SOFFi is not in the Parapheur
    // convention (the database refuses it too).
    let (s, body) = w.group("P1", &w.parapheur_conv, "0", "rh@exemple.fr").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let p = body.as_i64().unwrap().to_string();
    let (s, body) = w.roles(&w.admin, &p, &w.consultation).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["role_ids"]);
    // A responsable cannot open nor change a group's rights.
    let (s, _) = app
        .call(
            &w.resp.1,
            "group_rights",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w.roles(&w.resp.1, &g, &w.consultation).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A subgroup holds only roles its parent holds.
    let (s, body) = w.roles(&w.admin, &sub, &w.consultation).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["role_ids"]);
    let (s, body) = w
        .roles(&w.admin, &g, &format!("{},{}", w.consultation, w.saisie))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, r) = app
        .call(
            &w.admin,
            "group_rights",
            &[("organisation_id", &w.org), ("group_id", &sub)],
        )
        .await;
    assert_eq!(r["available"].as_array().unwrap().len(), 2, "{r}");
    let (s, body) = w
        .roles(&w.admin, &sub, &format!("{},{}", w.consultation, w.saisie))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // One journal event per change.
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'groupe.role_assigne'")
            .await,
        4
    );
    // A member of the subgroup holds its rights (tile and all).
    let (s, body) = w.add(&w.admin, &sub, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 2);
    let (_, tiles) = app.call(&w.agent.1, "home_tiles", &[]).await;
    let soffi = tiles
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "soffi")
        .cloned();
    assert_eq!(soffi.expect("the SOFFi tile")["held"], true);
    // Removing a role from the parent removes it from its subgroups.
    let (s, _) = w.roles(&w.admin, &g, &w.consultation).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_grants where group_id = {sub} and (date_cloture is null or date_cloture > current_date)"
        ))
        .await,
        1
    );
    // Removing it from the convention ends the groups' rights at once
    // (after a refused attempt, which changes nothing).
    let (s, body) = w
        .modify_convention(
            &w.soffi_conv,
            "Services activés par défaut",
            "pas une date",
            "",
            &w.saisie,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    let (_, d) = app
        .call(&w.op, "get_convention", &[("id", &w.soffi_conv)])
        .await;
    let (s, body) = w
        .modify_convention(
            &w.soffi_conv,
            "Services activés par défaut",
            d["date_ouverture"].as_str().unwrap(),
            "",
            &w.saisie,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 0);
    assert_eq!(
        app.count("select count(*) from group_grants where date_cloture is null or date_cloture > current_date").await,
        0
    );
}

#[tokio::test]
async fn memberships_are_dated_and_responsables_act_within_their_groups() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let h = w.group_ok("H1", "0", "autre.rh@exemple.fr").await;
    let sub = w.group_ok("S1", &g, "rh@exemple.fr").await;
    w.roles(&w.admin, &g, &w.consultation).await;
    // A closing date in the past is refused; so is an opening in the past.
    let (s, body) = w.add(&w.admin, &g, "agent@exemple.fr", &day(-1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["date_cloture"]);
    // Nobody adds themselves, nor is a responsable able to add someone
    // outside their groups.
    let (s, _) = w.add(&w.resp.1, &g, "rh@exemple.fr", "").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = w.add(&w.resp.1, &g, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The manager adds the agent until tomorrow: the tile holds today, the
    // right is gone tomorrow.
    let (s, body) = w.add(&w.admin, &g, "agent@exemple.fr", &day(1)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let membership = body.as_i64().unwrap().to_string();
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    assert_eq!(w.effective(w.agent.0, 1).await, 0);
    // Two overlapping memberships of one user in one group: refused.
    let (s, body) = w.add(&w.admin, &g, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["date_ouverture"]);
    // G's responsable now reaches the agent: moves them into the subgroup
    // and changes their dates; H's responsable cannot.
    let (s, body) = w.add(&w.resp.1, &sub, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = w.add(&w.other.1, &h, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w.close_membership(&w.other.1, &membership, &day(0)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = w.close_membership(&w.resp.1, &membership, &day(-2)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = w.close_membership(&w.resp.1, &membership, &day(0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        w.effective(w.agent.0, 0).await,
        0,
        "closed today: no right today"
    );
    // Users of the group: G's responsable sees them, H's does not.
    let (s, m) = app
        .call(
            &w.resp.1,
            "list_memberships",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["rows"].as_array().unwrap().len(), 1);
    let (s, _) = app
        .call(
            &w.other.1,
            "list_memberships",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nobody changes their own membership, even in a group they reach.
    let (s, body) = w.add(&w.admin, &sub, "rh@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let own = body.as_i64().unwrap().to_string();
    let (s, _) = w.close_membership(&w.resp.1, &own, &day(0)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Another structure's manager reaches none of it.
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    let (s, _) = app
        .call(&other, "list_groups", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w.add(&other, &g, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_responsable_names_the_responsable_of_a_subgroup_of_their_own() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let sub = w.group_ok("S1", &g, "rh@exemple.fr").await;
    let name = |as_: &Client, group: &str, who: &str| {
        let (org, group, who) = (w.org.clone(), group.to_string(), who.to_string());
        let as_ = as_.clone();
        async move {
            app.call(
                &as_,
                "set_group_responsable",
                &[
                    ("organisation_id", org.as_str()),
                    ("group_id", &group),
                    ("responsable", &who),
                ],
            )
            .await
        }
    };
    // Not of their own top group.
    let (s, _) = name(&w.resp.1, &g, "agent@exemple.fr").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Only a user of their groups.
    let (s, body) = name(&w.resp.1, &sub, "agent@exemple.fr").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = w.add(&w.admin, &g, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = name(&w.resp.1, &sub, "agent@exemple.fr").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select responsable_id from user_groups where id = {sub}"
        ))
        .await,
        w.agent.0
    );
    // H's responsable, outside: refused.
    let (s, _) = name(&w.other.1, &sub, "autre.rh@exemple.fr").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'groupe.responsable'")
            .await,
        1
    );
}

#[tokio::test]
async fn liste_des_agents_by_group_and_for_a_responsable() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let h = w.group_ok("H1", "0", "autre.rh@exemple.fr").await;
    let (s, _) = w.add(&w.admin, &g, "agent@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w.add(&w.admin, &h, "rh@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK);
    let names = |v: &Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["nom"].as_str().unwrap().to_string())
            .collect()
    };
    // The manager: everyone, or one group's members.
    let (_, all) = app
        .call(&w.admin, "list_agents", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(names(&all).len(), 4, "{all}");
    assert_eq!(all["manager"], true);
    let (_, by_g) = app
        .call(
            &w.admin,
            "list_agents",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert_eq!(names(&by_g), vec!["Agent"]);
    // G's responsable sees G's users only; H's sees H's.
    let (s, mine) = app
        .call(&w.resp.1, "list_agents", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&mine), vec!["Agent"]);
    assert_eq!(mine["manager"], false);
    let (_, theirs) = app
        .call(&w.other.1, "list_agents", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(names(&theirs), vec!["Responsable"]);
    let (_, none) = app
        .call(
            &w.other.1,
            "list_agents",
            &[("organisation_id", &w.org), ("group_id", &g)],
        )
        .await;
    assert!(names(&none).is_empty());
    // A plain agent sees no list.
    let (s, _) = app
        .call(&w.agent.1, "list_agents", &[("organisation_id", &w.org)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn direct_rights_have_dates() {
    let w = world().await;
    let app = &w.app;
    let agent = w.agent.0.to_string();
    // Never from the past, never closed in the past.
    let (s, body) = w.grant(day(-1), String::new()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["date_ouverture"]);
    let (s, body) = w.grant(day(0), day(-1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid_fields(&body), vec!["date_cloture"]);
    // From the day after tomorrow, for two days.
    let (s, body) = w.grant(day(2), day(4)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 0);
    assert_eq!(w.effective(w.agent.0, 2).await, 1);
    assert_eq!(w.effective(w.agent.0, 3).await, 1);
    assert_eq!(w.effective(w.agent.0, 4).await, 0);
    // A second right of the same role over that period: refused.
    let (s, body) = w.grant(day(3), String::new()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Before it, it fits.
    let (s, body) = w.grant(day(0), day(2)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    assert_eq!(w.effective(w.agent.0, 1).await, 1);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent}"
        ))
        .await,
        2
    );
}

/// CAF's Afas rule: per-user AFAS profiles are administered only by
/// someone holding AFAS « Habiliter » (through a group), or an operator.
#[tokio::test]
async fn afas_profiles_need_the_habiliter_role() {
    let w = world().await;
    let app = &w.app;
    let mut afas = vec![];
    for r in ["consultation", "saisie", "habiliter"] {
        afas.push(app.role_id("afas", r).await.to_string());
    }
    let (s, body) = app
        .call(
            &w.op,
            "save_convention",
            &[
                ("siret", AFDAS),
                ("libelle", "Convention AFAS"),
                ("role_ids", &afas.join(",")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let conv = body.as_i64().unwrap().to_string();
    let give = |as_: &Client, role: &str| {
        let (org, agent, role, as_) = (
            w.org.clone(),
            w.agent.0.to_string(),
            role.to_string(),
            as_.clone(),
        );
        async move {
            app.call(
                &as_,
                "add_grant",
                &[
                    ("organisation_id", org.as_str()),
                    ("user_id", &agent),
                    ("role_id", &role),
                ],
            )
            .await
        }
    };
    // The structure's manager holds no business role: refused, nothing written.
    let (s, body) = give(&w.admin, &afas[0]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("Habiliter"), "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {}",
            w.agent.0
        ))
        .await,
        0
    );
    // Other applications are not concerned.
    let (s, body) = give(&w.admin, &w.consultation).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A group holding AFAS « Habiliter »; the operator adds the manager to it.
    let (s, body) = w.group("AFAS-HAB", &conv, "0", "rh@exemple.fr").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let g = body.as_i64().unwrap().to_string();
    let afas_app = app
        .count("select id from applications where code = 'afas'")
        .await
        .to_string();
    // « Habiliter » is itself an AFAS profile: only the operator hands it
    // out first (issue 17: the rule holds on group rights too).
    let (s, body) = app
        .call(
            &w.admin,
            "set_group_roles",
            &[
                ("organisation_id", w.org.as_str()),
                ("group_id", &g),
                ("application_id", &afas_app),
                ("role_ids", &afas[2]),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = app
        .call(
            &w.op,
            "set_group_roles",
            &[
                ("organisation_id", w.org.as_str()),
                ("group_id", &g),
                ("application_id", &afas_app),
                ("role_ids", &afas[2]),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = w.add(&w.op, &g, "marie@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = give(&w.admin, &afas[0]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Withdrawing it from the Rôles tab needs the role too: once the
    // manager leaves the group, the profile stays.
    let m = app
        .count(&format!(
            "select id from group_memberships where group_id = {g}"
        ))
        .await
        .to_string();
    let (s, body) = w.close_membership(&w.op, &m, &day(0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .call(
            &w.admin,
            "save_agent_roles",
            &[
                ("organisation_id", w.org.as_str()),
                ("user_id", &w.agent.0.to_string()),
                ("role_ids", &w.consultation),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {} and role_id = {} and (date_cloture is null or date_cloture > current_date)",
            w.agent.0, afas[0]
        ))
        .await,
        1
    );
}

/// « Modifier un utilisateur » with a complete fiche.
async fn update_fiche(
    app: &TestApp,
    as_: &Client,
    org: &str,
    user: i64,
    email: &str,
    nom: &str,
    cloture: &str,
) -> (StatusCode, Value) {
    app.call(
        as_,
        "update_agent",
        &[
            ("organisation_id", org),
            ("user_id", &user.to_string()),
            ("civilite", "M"),
            ("nom", nom),
            ("prenom", "Prénom"),
            ("email", email),
            ("email_confirmation", email),
            ("date_cloture", cloture),
        ],
    )
    .await
}

#[tokio::test]
async fn a_responsable_creates_modifies_and_closes_the_users_of_their_groups() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let h = w.group_ok("H1", "0", "autre.rh@exemple.fr").await;
    let (s, body) = w.roles(&w.admin, &g, &w.consultation).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let create = |as_: &Client, email: &str, group: &str, unit: &str| {
        let (org, email, group, unit, as_) = (
            w.org.clone(),
            email.to_string(),
            group.to_string(),
            unit.to_string(),
            as_.clone(),
        );
        async move {
            let mut form = agent_form(&org, &email, "Nina", "Nouvelle");
            form.push(("group_id", &group));
            form.push(("unit_id", &unit));
            app.call(&as_, "create_agent", &form).await
        }
    };
    // A responsable creates only into one of their groups, at structure level.
    let (s, body) = create(&w.resp.1, "nina@exemple.fr", "0", "0").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["group_id"]);
    let (s, _) = create(&w.resp.1, "nina@exemple.fr", &h, "0").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = create(&w.resp.1, "nina@exemple.fr", &g, "7").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["unit_id"]);
    // A plain agent creates nobody.
    let (s, _) = create(&w.agent.1, "nina@exemple.fr", &g, "0").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("select count(*) from users where email = 'nina@exemple.fr'")
            .await,
        0
    );
    // Into G: the account, its attachment and its membership, at once.
    let (s, body) = create(&w.resp.1, "nina@exemple.fr", &g, "0").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["groupe"], "G1 — Groupe G1");
    let nina = app.user_id("nina@exemple.fr").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {nina} and group_id = {g} and added_by = {}",
            w.resp.0
        ))
        .await,
        1
    );
    assert_eq!(
        w.effective(nina, 0).await,
        1,
        "the group's role counts at once"
    );
    // The fiche: G's responsable reads and modifies it, H's cannot, nor can
    // G's responsable reach someone outside their groups.
    let (s, body) = app
        .call(
            &w.resp.1,
            "get_agent",
            &[("organisation_id", &w.org), ("user_id", &nina.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["manager"], false);
    assert_eq!(body["editable"], true);
    assert_eq!(body["units"].as_array().unwrap().len(), 0);
    let (s, _) = app
        .call(
            &w.other.1,
            "get_agent",
            &[("organisation_id", &w.org), ("user_id", &nina.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = update_fiche(
        app,
        &w.resp.1,
        &w.org,
        nina,
        "nina@exemple.fr",
        "Nouvel-Nom",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from users where id = {nina} and nom = 'Nouvel-Nom'"
        ))
        .await,
        1
    );
    let (s, _) = update_fiche(
        app,
        &w.other.1,
        &w.org,
        nina,
        "nina@exemple.fr",
        "Autre",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = update_fiche(
        app,
        &w.resp.1,
        &w.org,
        w.agent.0,
        "agent@exemple.fr",
        "Autre",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // In G, the structure's manager and H's responsable stay out of reach.
    let (s, body) = w.add(&w.op, &g, "marie@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let marie = app.user_id("marie@exemple.fr").await;
    let (s, _) = update_fiche(
        app,
        &w.resp.1,
        &w.org,
        marie,
        "marie@exemple.fr",
        "Prise",
        &day(0),
    )
    .await;
    // A manager is out of every responsable's reach (issue 17: one reach).
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = w.add(&w.admin, &g, "autre.rh@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = update_fiche(
        app,
        &w.resp.1,
        &w.org,
        w.other.0,
        "autre.rh@exemple.fr",
        "Prise",
        &day(0),
    )
    .await;
    // Hugo is reached (a member of G, not Rose's N+1) but holds group H,
    // outside her reach: only his membership of G may change.
    assert_eq!(s, StatusCode::CONFLICT);
    // Nor themselves.
    let (s, body) = w.add(&w.admin, &g, "rh@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = update_fiche(app, &w.resp.1, &w.org, w.resp.0, "rh@exemple.fr", "Moi", "").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("select count(*) from users where date_cloture is not null")
            .await,
        0
    );
    // Closing today: no right today, the journal names the responsable.
    let (s, body) = update_fiche(
        app,
        &w.resp.1,
        &w.org,
        nina,
        "nina@exemple.fr",
        "Nouvel-Nom",
        &day(0),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(nina, 0).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from audit_events where action = 'utilisateur.cloture' and target_id = {nina} and actor_id = {}",
            w.resp.0
        ))
        .await,
        1
    );
    // An address that already has an account: the group waits in the
    // invitation and is joined when its owner accepts.
    let (elsewhere, _, _) = app.manager_of("ailleurs@exemple.fr", SAINT_MALO).await;
    let (s, body) = create(&w.resp.1, "ailleurs@exemple.fr", &g, "0").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let ailleurs = app.user_id("ailleurs@exemple.fr").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {ailleurs}"
        ))
        .await,
        0
    );
    app.accept_join(&elsewhere, w.org.parse().unwrap()).await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {ailleurs} and group_id = {g} and added_by = {}",
            w.resp.0
        ))
        .await,
        1
    );
    assert_eq!(w.effective(ailleurs, 0).await, 1);
    // Invited by a responsable who no longer reaches the group when the
    // owner accepts: attached, not in the group.
    let (tiers_c, _, _) = app.manager_of("tiers@exemple.fr", MEGALIS).await;
    let (s, body) = create(&w.resp.1, "tiers@exemple.fr", &g, "0").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .call(
            &w.admin,
            "set_group_responsable",
            &[
                ("organisation_id", w.org.as_str()),
                ("group_id", &g),
                ("responsable", "autre.rh@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    app.accept_join(&tiers_c, w.org.parse().unwrap()).await;
    let tiers = app.user_id("tiers@exemple.fr").await;
    assert_eq!(app.memberships(tiers, w.org.parse().unwrap()).await, 1);
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {tiers}"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_responsable_decides_requests_for_the_roles_of_their_groups() {
    let w = world().await;
    let app = &w.app;
    let g = w.group_ok("G1", "0", "rh@exemple.fr").await;
    let h = w.group_ok("H1", "0", "autre.rh@exemple.fr").await;
    let (s, body) = w.roles(&w.admin, &g, &w.consultation).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = w.roles(&w.admin, &h, &w.saisie).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A person with an account of their own asks for SOFFi Consultation.
    let asker = app
        .signup_verified("demandeur@exemple.fr", "Dora", "Demandeur")
        .await;
    let asker_c = app.login("demandeur@exemple.fr").await;
    let ask = |role: &str| {
        let (org, role, c) = (w.org.clone(), role.to_string(), asker_c.clone());
        async move {
            let (s, body) = app
                .call(
                    &c,
                    "request_access",
                    &[("organisation_id", org.as_str()), ("role_id", &role)],
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body.as_i64().unwrap().to_string()
        }
    };
    let h_mails = app.mail_count("autre.rh@exemple.fr").await;
    let req = ask(&w.consultation).await;
    // G's responsable is told, with the link to « Demandes à traiter ».
    let (_, mail) = app
        .last_mail("rh@exemple.fr")
        .await
        .expect("a mail to G's responsable");
    assert!(
        mail.contains(&format!("/structures/{}/demandes", w.org)),
        "{mail}"
    );
    assert_eq!(
        app.mail_count("autre.rh@exemple.fr").await,
        h_mails,
        "H does not hold the role"
    );
    // Who sees it: G's responsable and the manager, not H's responsable.
    let listed = |c: &Client| {
        let (org, c) = (w.org.clone(), c.clone());
        async move {
            let (s, body) = app
                .call(
                    &c,
                    "requests_to_decide",
                    &[("organisation_id", org.as_str())],
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{body}");
            body
        }
    };
    let page = listed(&w.resp.1).await;
    assert_eq!(page["manager"], false);
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["rows"][0]["groups"][0]["id"]
            .as_i64()
            .unwrap()
            .to_string(),
        g
    );
    assert_eq!(
        listed(&w.other.1).await["rows"].as_array().unwrap().len(),
        0
    );
    assert_eq!(listed(&w.admin).await["rows"].as_array().unwrap().len(), 1);
    let (s, _) = app
        .call(
            &w.agent.1,
            "requests_to_decide",
            &[("organisation_id", w.org.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let decide = |c: &Client, decision: &str, group: &str| {
        let (c, decision, group, req) = (
            c.clone(),
            decision.to_string(),
            group.to_string(),
            req.clone(),
        );
        async move {
            app.call(
                &c,
                "decide_request",
                &[
                    ("id", req.as_str()),
                    ("decision", &decision),
                    ("group_id", &group),
                ],
            )
            .await
        }
    };
    // H's responsable: neither through H (it does not hold the role) nor
    // without a group; nor through G, which is not theirs.
    let (s, _) = decide(&w.other.1, "accepter", &h).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = decide(&w.other.1, "refuser", "0").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = decide(&w.other.1, "accepter", &g).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // G's responsable accepts without a group: they must choose one.
    let (s, body) = decide(&w.resp.1, "accepter", "0").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["group_id"]);
    assert_eq!(
        app.count(&format!(
            "select count(*) from access_requests where id = {req} and status = 'pending'"
        ))
        .await,
        1
    );
    // Through G: the requester joins G, no direct grant is made.
    let (s, body) = decide(&w.resp.1, "accepter", &g).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {asker} and group_id = {g} and added_by = {}",
            w.resp.0
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {asker}"
        ))
        .await,
        0
    );
    assert_eq!(w.effective(asker, 0).await, 1);
    // Decided once: a second decision is refused.
    let (s, _) = decide(&w.admin, "refuser", "0").await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The manager accepts into a group only if it holds the role.
    let req2 = ask(&w.saisie).await;
    let (s, body) = app
        .call(
            &w.admin,
            "decide_request",
            &[
                ("id", req2.as_str()),
                ("decision", "accepter"),
                ("group_id", &g),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["group_id"]);
    // H's responsable refuses it (H holds Saisie).
    let (s, body) = app
        .call(
            &w.other.1,
            "decide_request",
            &[
                ("id", req2.as_str()),
                ("decision", "refuser"),
                ("comment", "Non"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!("select count(*) from access_requests where id = {req2} and status = 'refused' and decided_by = {}", w.other.0))
            .await,
        1
    );
}

#[tokio::test]
async fn the_roles_tab_gives_rights_with_dates_and_changes_them() {
    let w = world().await;
    let app = &w.app;
    let agent = w.agent.0.to_string();
    let save = |roles: &str, ouverture: String, cloture: String| {
        let (org, agent, roles, admin) = (
            w.org.clone(),
            agent.clone(),
            roles.to_string(),
            w.admin.clone(),
        );
        async move {
            app.call(
                &admin,
                "save_agent_roles",
                &[
                    ("organisation_id", org.as_str()),
                    ("user_id", &agent),
                    ("role_ids", &roles),
                    ("date_ouverture", &ouverture),
                    ("date_cloture", &cloture),
                ],
            )
            .await
        }
    };
    // Never from the past: refused, nothing written.
    let (s, body) = save(&w.consultation, day(-1), String::new()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["date_ouverture"]);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent}"
        ))
        .await,
        0
    );
    // From tomorrow, closing in five days.
    let (s, body) = save(&w.consultation, day(1), day(5)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 0);
    assert_eq!(w.effective(w.agent.0, 1).await, 1);
    assert_eq!(w.effective(w.agent.0, 5).await, 0);
    // The tab shows it, with its dates, as held.
    let (s, apps) = app
        .call(
            &w.admin,
            "get_agent_roles",
            &[("organisation_id", w.org.as_str()), ("user_id", &agent)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{apps}");
    let soffi = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "soffi")
        .unwrap();
    assert_eq!(
        soffi["current"].as_i64().unwrap().to_string(),
        w.consultation
    );
    assert_eq!(soffi["grant"][1], day(1));
    assert_eq!(soffi["grant"][2], day(5));
    let grant = soffi["grant"][0].as_i64().unwrap().to_string();
    // Saving it again changes nothing (a future right is held).
    let (s, body) = save(&w.consultation, String::new(), String::new()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent}"
        ))
        .await,
        1
    );
    let dates = |ouverture: String, cloture: String, as_: &Client| {
        let (org, grant, as_) = (w.org.clone(), grant.clone(), as_.clone());
        async move {
            app.call(
                &as_,
                "set_grant_dates",
                &[
                    ("organisation_id", org.as_str()),
                    ("grant_id", &grant),
                    ("date_ouverture", &ouverture),
                    ("date_cloture", &cloture),
                ],
            )
            .await
        }
    };
    // Not yet started: the opening moves to today; never to the past.
    let (s, body) = dates(day(-1), day(5), &w.admin).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = dates(day(0), day(5), &w.admin).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    // Started: the opening no longer moves; the closing is never in the past.
    let (s, body) = dates(day(1), day(5), &w.admin).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["date_ouverture"]);
    let (s, body) = dates(String::new(), day(-1), &w.admin).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["date_cloture"]);
    // Nobody else's: a responsable, an agent, another structure's manager.
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    for c in [&w.resp.1, &w.agent.1, &other] {
        let (s, _) = dates(String::new(), day(0), c).await;
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::CONFLICT,
            "{s}"
        );
    }
    assert_eq!(w.effective(w.agent.0, 0).await, 1);
    // Closed today: ended at once, kept in history, journalled.
    let (s, body) = dates(String::new(), day(0), &w.admin).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 0).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent}"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from audit_events where action = 'habilitation.dates'")
            .await,
        2
    );
    // A right past its end is history: its dates no longer change.
    let (s, _) = dates(String::new(), day(3), &w.admin).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_responsable_holding_habiliter_administers_the_afas_profiles_of_their_users() {
    let w = world().await;
    let app = &w.app;
    let mut afas = vec![];
    for r in ["consultation", "saisie", "habiliter"] {
        afas.push(app.role_id("afas", r).await.to_string());
    }
    let (s, body) = app
        .call(
            &w.op,
            "save_convention",
            &[
                ("siret", AFDAS),
                ("libelle", "Convention AFAS"),
                ("role_ids", &afas.join(",")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let conv = body.as_i64().unwrap().to_string();
    let (s, body) = w.group("AFAS-HAB", &conv, "0", "rh@exemple.fr").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let g = body.as_i64().unwrap().to_string();
    let afas_app = app
        .count("select id from applications where code = 'afas'")
        .await
        .to_string();
    // « Habiliter » is itself an AFAS profile: only the operator hands it
    // out first (issue 17: the rule holds on group rights too).
    let (s, body) = app
        .call(
            &w.admin,
            "set_group_roles",
            &[
                ("organisation_id", w.org.as_str()),
                ("group_id", &g),
                ("application_id", &afas_app),
                ("role_ids", &afas[2]),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body) = app
        .call(
            &w.op,
            "set_group_roles",
            &[
                ("organisation_id", w.org.as_str()),
                ("group_id", &g),
                ("application_id", &afas_app),
                ("role_ids", &afas[2]),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The responsable holds « Habiliter » through their group; the agent is
    // one of its users and holds a SOFFi right the manager gave.
    assert_eq!(
        w.add(&w.op, &g, "rh@exemple.fr", "").await.0,
        StatusCode::OK
    );
    // Putting someone in a group holding AFAS profiles needs « Habiliter »
    // (the administrator holds none): the operator does.
    assert_eq!(
        w.add(&w.admin, &g, "agent@exemple.fr", "").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        w.add(&w.op, &g, "agent@exemple.fr", "").await.0,
        StatusCode::OK
    );
    let (s, body) = w.grant(day(0), String::new()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let soffi_grant = body.as_i64().unwrap().to_string();
    let agent = w.agent.0.to_string();
    let roles_of = |c: &Client| {
        let (org, agent, c) = (w.org.clone(), agent.clone(), c.clone());
        async move {
            app.call(
                &c,
                "get_agent_roles",
                &[("organisation_id", org.as_str()), ("user_id", &agent)],
            )
            .await
        }
    };
    let save = |c: &Client, roles: &str| {
        let (org, agent, c, roles) = (w.org.clone(), agent.clone(), c.clone(), roles.to_string());
        async move {
            app.call(
                &c,
                "save_agent_roles",
                &[
                    ("organisation_id", org.as_str()),
                    ("user_id", &agent),
                    ("role_ids", &roles),
                ],
            )
            .await
        }
    };
    // The Rôles tab shows the responsable AFAS only.
    let (s, apps) = roles_of(&w.resp.1).await;
    assert_eq!(s, StatusCode::OK, "{apps}");
    let codes: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["afas"]);
    // An AFAS profile: given, by them; the SOFFi right stays.
    let (s, body) = save(&w.resp.1, &afas[0]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent} and role_id = {} and granted_by = {}",
            afas[0], w.resp.0
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where id = {soffi_grant} and date_cloture is null"
        ))
        .await,
        1,
        "the responsable's save leaves the other démarches alone"
    );
    // Not a SOFFi role, nor the dates of the SOFFi right.
    let (s, body) = save(&w.resp.1, &w.consultation).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = app
        .call(
            &w.resp.1,
            "set_grant_dates",
            &[
                ("organisation_id", w.org.as_str()),
                ("grant_id", &soffi_grant),
                ("date_cloture", &day(0)),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A responsable without « Habiliter » who reaches the agent sees no
    // démarche and gives nothing; one who does not reach them sees nothing.
    let (s, body) = w
        .group("SOFFI-2", &w.soffi_conv, "0", "autre.rh@exemple.fr")
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = roles_of(&w.other.1).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let g2 = body.as_i64().unwrap().to_string();
    assert_eq!(
        w.add(&w.admin, &g2, "agent@exemple.fr", "").await.0,
        StatusCode::OK
    );
    let (s, apps) = roles_of(&w.other.1).await;
    assert_eq!(s, StatusCode::OK, "{apps}");
    assert_eq!(apps.as_array().unwrap().len(), 0);
    let (s, body) = save(&w.other.1, &afas[1]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {agent} and role_id = {}",
            afas[1]
        ))
        .await,
        0
    );
}

/// One meaning of a date (issue 17, point 2): a closing date D is the first
/// day without the right. Given until D, a right holds on D−1 and not on
/// D, and every screen shows D as its closing date — for a direct right
/// (Rôles tab, the card of « Utilisateurs du service », the journal), for
/// a group's rights (the group closing on D) and for a membership ending
/// on D alike.
#[tokio::test]
async fn a_closing_date_is_the_first_day_without_the_right_on_every_path() {
    let w = world().await;
    let app = &w.app;
    let d = chrono::Local::now().date_naive() + chrono::Duration::days(3);
    let fr = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();

    // A direct right, from today until D.
    let (s, body) = w.grant(day(0), day(3)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(w.agent.0, 2).await, 1);
    assert_eq!(w.effective(w.agent.0, 3).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where user_id = {} and date_cloture = '{d}'",
            w.agent.0
        ))
        .await,
        1
    );
    let (s, apps) = app
        .call(
            &w.admin,
            "get_agent_roles",
            &[("organisation_id", w.org.as_str()), ("user_id", &w.agent.0.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{apps}");
    let soffi = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "soffi")
        .unwrap();
    assert_eq!(soffi["grant"][2], day(3), "Rôles tab: {soffi}");
    let (s, card) = app
        .call(
            &w.admin,
            "get_user_card",
            &[
                ("application", "soffi"),
                ("user_id", &w.agent.0.to_string()),
                ("organisation_id", w.org.as_str()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{card}");
    assert_eq!(card["grants"][0]["date_cloture"], fr(d), "card: {card}");
    assert_eq!(
        card["grants"][0]["dernier_jour"],
        fr(d - chrono::Duration::days(1)),
        "card: {card}"
    );
    let (journal,): (Option<String>,) = sqlx::query_as(
        "select after->>'date_cloture' from audit_events
          where action = 'habilitation.attribution' and (after->>'utilisateur')::bigint = $1",
    )
    .bind(w.agent.0)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(journal.as_deref(), Some(d.to_string().as_str()));

    // Through a group closing on D.
    let (marc, _) = app
        .structure_account(&w.admin, w.org.parse().unwrap(), "marc@exemple.fr", "Marc", "Groupe")
        .await;
    let g = w.group_ok("DATES", "0", "rh@exemple.fr").await;
    let (s, body) = w.roles(&w.admin, &g, &w.consultation).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = w.add(&w.admin, &g, "marc@exemple.fr", "").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = app
        .call(
            &w.admin,
            "save_group",
            &[
                ("organisation_id", w.org.as_str()),
                ("id", &g),
                ("convention_id", w.soffi_conv.as_str()),
                ("code", "DATES"),
                ("libelle", "Groupe DATES"),
                ("date_cloture", &day(3)),
                ("responsable", "rh@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(marc, 2).await, 1);
    assert_eq!(w.effective(marc, 3).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from user_groups where id = {g} and date_cloture = '{d}'"
        ))
        .await,
        1
    );

    // Through a membership ending on D.
    let (lea, _) = app
        .structure_account(&w.admin, w.org.parse().unwrap(), "lea@exemple.fr", "Léa", "Membre")
        .await;
    let h = w.group_ok("OUVERT", "0", "autre.rh@exemple.fr").await;
    let (s, body) = w.roles(&w.admin, &h, &w.consultation).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = w.add(&w.admin, &h, "lea@exemple.fr", &day(3)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(w.effective(lea, 2).await, 1);
    assert_eq!(w.effective(lea, 3).await, 0);
    assert_eq!(
        app.count(&format!(
            "select count(*) from group_memberships where user_id = {lea} and date_cloture = '{d}'"
        ))
        .await,
        1
    );
}
