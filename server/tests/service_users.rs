//! « Utilisateurs du service » walks a structure's members in name order
//! and reads the rights of those walked only: its pages must be exactly the
//! set-based answer (every holder or requester, in the list's order), for
//! the whole list, a role, « En attente » and a search.
mod common;
use common::*;
use reqwest::Client;
use reqwest::StatusCode;

/// Every page of the list, followed by its cursors.
async fn all_pages(app: &TestApp, c: &Client, filters: &[(&str, &str)]) -> Vec<(i64, i64, String)> {
    let mut out = vec![];
    let mut after = String::new();
    loop {
        let mut form: Vec<(&str, &str)> = vec![("application", "soffi"), ("after", &after)];
        form.extend_from_slice(filters);
        let (s, page) = app.call(c, "list_service_users", &form).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for r in page["rows"].as_array().unwrap() {
            out.push((
                r["user_id"].as_i64().unwrap(),
                r["organisation_id"].as_i64().unwrap(),
                r["roles"].as_str().unwrap().to_string(),
            ));
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
        assert!(out.len() < 10_000, "the cursor loops");
    }
    out
}

#[tokio::test]
async fn the_walk_in_name_order_gives_exactly_the_holders_and_requesters() {
    let app = TestApp::spawn().await;
    let (manager, manager_id, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    // 160 agents whose names sort in French (accents, case), a third with
    // a direct SOFFi right, a third in a group holding SOFFi Saisie, the
    // rest with nothing; two people outside ask to join.
    let consultation = app.role_id("soffi", "consultation").await;
    let saisie = app.role_id("soffi", "saisie").await;
    sqlx::query(
        "insert into users (identifier, civilite, nom, prenom, email, created_by, home_organisation_id)
         select 'T' || lpad(i::text, 9, '0'), 'M',
                (array['Élie', 'eloi', 'Zoé', 'Émile', 'Abel', 'abel', 'Çà', 'Dupont'])[1 + i % 8] || (i / 8),
                'P' || i, 'agent' || i || '@exemple.fr', $1, $2
           from generate_series(1, 160) i",
    )
    .bind(manager_id)
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into memberships (user_id, organisation_id)
         select id, $1 from users where email like 'agent%@exemple.fr'",
    )
    .bind(org)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into grants (role_id, organisation_id, user_id, granted_by)
         select $1, $2, id, $3 from users where email like 'agent%@exemple.fr' and id % 3 = 0",
    )
    .bind(consultation)
    .bind(org)
    .bind(manager_id)
    .execute(&app.pool)
    .await
    .unwrap();
    let o = org.to_string();
    let convention = app
        .count(&format!(
            "select id from conventions where organisation_id = {org}"
        ))
        .await
        .to_string();
    let (s, body) = app
        .call(
            &manager,
            "save_group",
            &[
                ("organisation_id", o.as_str()),
                ("convention_id", &convention),
                ("code", "SAISIE"),
                ("libelle", "Saisie"),
                ("responsable", "agent1@exemple.fr"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let group = body.as_i64().unwrap();
    let soffi = app
        .count("select id from applications where code = 'soffi'")
        .await
        .to_string();
    let (s, body) = app
        .call(
            &manager,
            "set_group_roles",
            &[
                ("organisation_id", o.as_str()),
                ("group_id", &group.to_string()),
                ("application_id", &soffi),
                ("role_ids", &saisie.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    sqlx::query(
        "insert into group_memberships (group_id, organisation_id, user_id, added_by)
         select $1, $2, id, $3 from users where email like 'agent%@exemple.fr' and id % 3 = 1",
    )
    .bind(group)
    .bind(org)
    .bind(manager_id)
    .execute(&app.pool)
    .await
    .unwrap();
    for (email, nom) in [
        ("dehors1@exemple.fr", "Éloi"),
        ("dehors2@exemple.fr", "Abelard"),
    ] {
        app.signup_verified(email, "Vient", nom).await;
        let c = app.login(email).await;
        let (s, body) = app
            .call(
                &c,
                "request_access",
                &[
                    ("organisation_id", o.as_str()),
                    ("role_id", &consultation.to_string()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    // One member with a right asks for another role: listed once.
    let member = app
        .count("select min(id) from users where email like 'agent%@exemple.fr' and id % 3 = 0")
        .await;
    sqlx::query(
        "insert into access_requests (requester_id, organisation_id, role_id) values ($1, $2, $3)",
    )
    .bind(member)
    .bind(org)
    .bind(saisie)
    .execute(&app.pool)
    .await
    .unwrap();

    // The set-based answer, in the list's order.
    let soffi_id: i64 = soffi.parse().unwrap();
    let expected = |role_filter: &'static str, q: &'static str| {
        let pool = app.pool.clone();
        async move {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "with held as (select distinct user_id, organisation_id, role_id from effective_rights(current_date)
                                where application_id = $1 and organisation_id = $2),
                      waiting as (select distinct requester_id as user_id, organisation_id from access_requests a
                                   join roles r on r.id = a.role_id
                                  where r.application_id = $1 and a.organisation_id = $2 and a.status = 'pending'),
                      pairs as (select user_id, organisation_id from held
                                 where $3 = '' or role_id = (select id from roles where application_id = $1 and code = $3)
                                union select user_id, organisation_id from waiting where $3 in ('', 'en-attente'))
                 select p.user_id, p.organisation_id from pairs p join users u on u.id = p.user_id
                  where ($3 <> 'en-attente' or (p.user_id, p.organisation_id) in (select * from waiting))
                    and ($4 = '' or lower(u.nom) like $4 || '%' or lower(u.prenom) like $4 || '%' or u.email like $4 || '%')
                  order by u.nom, u.prenom, p.user_id, p.organisation_id",
            )
            .bind(soffi_id)
            .bind(org)
            .bind(role_filter)
            .bind(q)
            .fetch_all(&pool)
            .await
            .unwrap();
            rows
        }
    };
    for (role, q) in [
        ("", ""),
        ("saisie", ""),
        ("consultation", ""),
        ("en-attente", ""),
        ("", "él"),
        ("", "abel"),
    ] {
        let got: Vec<(i64, i64)> = all_pages(&app, &manager, &[("role", role), ("q", q)])
            .await
            .into_iter()
            .map(|r| (r.0, r.1))
            .collect();
        let want = expected(role, q).await;
        assert!(
            want.len() > 1 || role == "en-attente" || !q.is_empty(),
            "the fixture holds rows for {role:?}"
        );
        assert_eq!(got, want, "role {role:?}, search {q:?}");
    }
    // The whole list spans several pages (50 a page) and shows the roles.
    let all = all_pages(&app, &manager, &[]).await;
    assert!(all.len() > 100, "{}", all.len());
    let row = all.iter().find(|r| r.0 == member).unwrap();
    assert_eq!(row.2, "Consultation");
    // Another structure's manager sees none of them.
    let (other, _, _) = app.manager_of("autre@exemple.fr", SAINT_MALO).await;
    assert!(all_pages(&app, &other, &[]).await.is_empty());
}
