//! One meaning of a date (issue 17, point 2): direct rights hold
//! [date_ouverture, date_cloture) like every dated row (migration 0016),
//! and two rights of one role never overlap.
mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use sqlx::PgPool;
use std::collections::BTreeSet;

/// (user, structure, application, role, group, held directly)
type Held = BTreeSet<(i64, i64, i64, i64, Option<i64>, bool)>;

async fn held_on(pool: &PgPool, d: NaiveDate) -> Held {
    let rows: Vec<(i64, i64, i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "select user_id, organisation_id, application_id, role_id, group_id, grant_id
           from effective_rights($1)",
    )
    .bind(d)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(u, o, a, r, g, grant)| (u, o, a, r, g, grant.is_some()))
        .collect()
}

/// A small deterministic generator (no shrinking needed: the dataset is
/// compared whole, every day).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The structures, people, roles and conventions of the dataset, written
/// on the schema before 0016: a closed account, a future one, an inactive
/// structure, a convention role that ends in three weeks.
const WORLD: &str = "
insert into applications (code, libelle) values ('app-a', 'A'), ('app-b', 'B');
insert into roles (application_id, code, libelle)
     select a.id, r.code, a.libelle || ' ' || r.code
       from applications a cross join (values ('lecture'), ('gestion')) r(code);
insert into organisations (siret, nom) values
    ('10000000000001', 'Un'), ('10000000000002', 'Deux'), ('10000000000003', 'Trois');
update organisations set active = false where siret = '10000000000003';
insert into users (identifier, civilite, nom, prenom, email, date_ouverture, date_cloture)
     select 'U' || lpad(i::text, 9, '0'), 'Mme', 'Nom' || i, 'Prénom', 'u' || i || '@exemple.fr',
            case when i = 5 then current_date + 15 else current_date - 500 end,
            case when i = 4 then current_date - 10 end
       from generate_series(1, 6) i;
insert into conventions (organisation_id, libelle, date_ouverture)
     select id, 'Convention', current_date - 400 from organisations;
insert into convention_roles (convention_id, application_id, role_id, date_ouverture, date_cloture)
     select c.id, r.application_id, r.id, current_date - 400,
            case when r.code = 'gestion' and o.siret = '10000000000002' then current_date + 20 end
       from conventions c join organisations o on o.id = c.organisation_id cross join roles r;
";

/// The migration moves every direct right from its last day to its
/// closing date and merges the overlapping ones, and nobody holds anything
/// else on any day of the dataset's span: effective rights are compared
/// on each of 330 days, before and after, for three datasets of 500
/// random rights (open-ended, ended, ended the day they opened, future,
/// overlapping, adjacent).
#[tokio::test]
async fn direct_rights_move_to_closing_dates_and_nobody_holds_anything_else_on_any_day() {
    for seed in [7_u64, 42, 2026] {
        let db = EmptyDatabase::create().await;
        let pool = &db.pool;
        let mut before = sqlx::migrate!("../migrations");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version <= 15)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(pool).await.unwrap();
        sqlx::raw_sql(WORLD).execute(pool).await.unwrap();
        let users: Vec<(i64,)> = sqlx::query_as("select id from users order by id")
            .fetch_all(pool)
            .await
            .unwrap();
        let orgs: Vec<(i64,)> = sqlx::query_as("select id from organisations order by id")
            .fetch_all(pool)
            .await
            .unwrap();
        let roles: Vec<(i64,)> = sqlx::query_as("select id from roles order by id")
            .fetch_all(pool)
            .await
            .unwrap();
        let today = chrono::Local::now().date_naive();
        let mut rng = Lcg(seed);
        let mut written = 0;
        for _ in 0..500 {
            let user = users[rng.below(users.len() as u64) as usize].0;
            let org = orgs[rng.below(orgs.len() as u64) as usize].0;
            let role = roles[rng.below(roles.len() as u64) as usize].0;
            let starts = today + Duration::days(rng.below(180) as i64 - 120);
            let ends = match rng.below(10) {
                0..=2 => None,
                3 => Some(starts - Duration::days(1)),
                _ => Some(starts + Duration::days(rng.below(90) as i64)),
            };
            // The rules of the day refuse some (a second open-ended right,
            // a role past the ceiling): the dataset is what they let in.
            let ok = sqlx::query(
                "insert into grants (role_id, organisation_id, user_id, starts_on, ends_on)
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(role)
            .bind(org)
            .bind(user)
            .bind(starts)
            .bind(ends)
            .execute(pool)
            .await
            .is_ok();
            written += ok as i64;
        }
        assert!(written > 300, "seed {seed}: only {written} rights written");
        let overlapping: (i64,) = sqlx::query_as(
            "select count(*) from grants a join grants b
                on (a.user_id, a.organisation_id, a.role_id) = (b.user_id, b.organisation_id, b.role_id)
               and a.id < b.id
               and daterange(a.starts_on, a.ends_on, '[]') && daterange(b.starts_on, b.ends_on, '[]')
             where a.ends_on is distinct from a.starts_on - 1 and b.ends_on is distinct from b.starts_on - 1",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert!(overlapping.0 > 0, "seed {seed}: the dataset has overlaps to merge");
        let old: Vec<(i64, NaiveDate, Option<NaiveDate>)> =
            sqlx::query_as("select id, starts_on, ends_on from grants")
                .fetch_all(pool)
                .await
                .unwrap();
        let days: Vec<NaiveDate> = (-140..190).map(|k| today + Duration::days(k)).collect();
        let mut held_before = vec![];
        for &d in &days {
            held_before.push(held_on(pool, d).await);
        }
        assert!(
            held_before.iter().any(|h| !h.is_empty()),
            "seed {seed}: somebody holds something"
        );

        sqlx::migrate!("../migrations").run(pool).await.unwrap();

        for (d, was) in days.iter().zip(&held_before) {
            assert_eq!(&held_on(pool, *d).await, was, "seed {seed}, day {d}");
        }
        // A right kept as it was now closes the day after its last day; a
        // merged one covers at least what it covered.
        let new: std::collections::HashMap<i64, (NaiveDate, Option<NaiveDate>)> =
            sqlx::query_as::<_, (i64, NaiveDate, Option<NaiveDate>)>(
                "select id, date_ouverture, date_cloture from grants",
            )
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, o, c)| (id, (o, c)))
            .collect();
        assert!(new.len() < old.len(), "seed {seed}: overlapping rights merged");
        for (id, starts, ends) in old {
            if let Some(&(o, c)) = new.get(&id) {
                let closing = ends.map(|e| e + Duration::days(1));
                assert!(o <= starts, "seed {seed}: right {id} opens later");
                assert!(
                    c.is_none() || closing.is_some_and(|old| old <= c.unwrap()),
                    "seed {seed}: right {id} closes earlier ({closing:?} → {c:?})"
                );
            }
        }
        let left: (i64,) = sqlx::query_as(
            "select count(*) from grants a join grants b
                on (a.user_id, a.organisation_id, a.role_id) = (b.user_id, b.organisation_id, b.role_id)
               and a.id < b.id
               and daterange(a.date_ouverture, a.date_cloture) && daterange(b.date_ouverture, b.date_cloture)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(left.0, 0, "seed {seed}");
    }
}

/// The database refuses a second direct right of a role that overlaps the
/// first (whoever writes it), accepts the adjacent one, and the Rôles tab's
/// date change says it in French next to the dates.
#[tokio::test]
async fn two_direct_rights_of_one_role_never_overlap() {
    let app = TestApp::spawn().await;
    let (admin, _, org) = app.manager_of("marie@exemple.fr", AFDAS).await;
    let (agent, _) = app
        .structure_account(&admin, org, "paul@exemple.fr", "Paul", "Agent")
        .await;
    let role = app.role_id("soffi", "consultation").await;
    let insert = |from: i64, to: Option<i64>| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(
                "insert into grants (role_id, organisation_id, user_id, date_ouverture, date_cloture)
                 values ($1, $2, $3, current_date + $4::int, current_date + $5::int) returning id",
            )
            .bind(role)
            .bind(org)
            .bind(agent)
            .bind(from as i32)
            .bind(to.map(|t| t as i32))
            .fetch_one(&pool)
            .await
            .map(|r| sqlx::Row::get::<i64, _>(&r, 0))
        }
    };
    let first = insert(0, Some(10)).await.expect("[today, +10)");
    // Adjacent: [+10, …) does not overlap [today, +10).
    insert(10, None).await.expect("[+10, …)");
    for (from, to) in [(5, Some(6)), (9, Some(11)), (-1, Some(1)), (20, None)] {
        let err = insert(from, to).await.expect_err("an overlapping right");
        let constraint = err.as_database_error().and_then(|d| d.constraint().map(String::from));
        assert_eq!(constraint.as_deref(), Some("grants_no_overlap"), "{from}..{to:?}: {err}");
    }
    assert_eq!(
        app.count(&format!("select count(*) from grants where user_id = {agent}")).await,
        2
    );
    // Stretching the first into the second, through the Rôles tab.
    let day = |k: i64| (chrono::Local::now().date_naive() + Duration::days(k)).to_string();
    let (s, body) = app
        .call(
            &admin,
            "set_grant_dates",
            &[
                ("organisation_id", &org.to_string()),
                ("grant_id", &first.to_string()),
                ("date_ouverture", ""),
                ("date_cloture", &day(12)),
            ],
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(invalid_fields(&body), vec!["date_ouverture"]);
    assert!(body.to_string().contains("couvre déjà"), "{body}");
    assert_eq!(
        app.count(&format!(
            "select count(*) from grants where id = {first} and date_cloture = current_date + 10"
        ))
        .await,
        1
    );
}
