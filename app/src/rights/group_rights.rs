//! A group's rights (« Habilitations du groupe ») and its closing: the
//! only code that writes `group_grants`, and the one that closes groups
//! with what hangs on them (subgroups, memberships, rights), one journal
//! event per object changed.
use super::checks;
use crate::domain::{ConventionId, GroupId, OrganisationId, UserId};
use crate::error::{AppError, AppResult};
use crate::session::{Acting, OrgManager};
use chrono::NaiveDate;
use sqlx::PgConnection;

/// « Enregistrer les modifications » of « Habilitations du groupe »: the
/// roles of one application the group holds from now on. Checks, in
/// order: the group open in the manager's structure, the manager not one
/// of its members (they would give themselves the rights), the roles of
/// the application, « Habiliter » for the profiles given or withdrawn;
/// the database holds the ceiling (the group's convention) and, for a
/// subgroup, its parent's roles. A role withdrawn ends today in the group
/// and in its subgroups, each with its event.
pub async fn set_roles(
    conn: &mut PgConnection,
    manager: &OrgManager,
    group: GroupId,
    application_id: i64,
    wanted: &[i64],
) -> AppResult<()> {
    let row = sqlx::query_scalar!(
        "select id from user_groups where id = $1 and organisation_id = $2
            and (date_cloture is null or date_cloture > current_date) for update",
        group as GroupId,
        manager.organisation_id() as OrganisationId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        return Err(AppError::NotFound);
    }
    let app_roles = sqlx::query!(
        "select id, libelle from roles where application_id = $1",
        application_id
    )
    .fetch_all(&mut *conn)
    .await?;
    if wanted
        .iter()
        .any(|w| !app_roles.iter().any(|r| r.id == *w))
    {
        return Err(AppError::invalid(
            "role_ids",
            "Un des rôles choisis n'appartient pas à ce service.",
        ));
    }
    let held: Vec<(i64, i64)> = sqlx::query!(
        "select gg.id, gg.role_id from group_grants gg join roles r on r.id = gg.role_id
          where gg.group_id = $1 and r.application_id = $2
            and (gg.date_cloture is null or gg.date_cloture > current_date)",
        group as GroupId,
        application_id,
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.role_id))
    .collect();
    let withdrawn: Vec<(i64, i64)> = held
        .iter()
        .copied()
        .filter(|(_, r)| !wanted.contains(r))
        .collect();
    let added: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|r| !held.iter().any(|(_, h)| h == r))
        .collect();
    if withdrawn.is_empty() && added.is_empty() {
        return Ok(());
    }
    checks::not_member_of(conn, manager, group).await?;
    let changed: Vec<i64> = withdrawn
        .iter()
        .map(|w| w.1)
        .chain(added.iter().copied())
        .collect();
    if let Some(m) = checks::habiliter(conn, manager, &changed).await? {
        return Err(AppError::invalid("role_ids", m));
    }
    let libelle = |rid: i64| {
        app_roles
            .iter()
            .find(|r| r.id == rid)
            .map(|r| r.libelle.clone())
            .unwrap_or_default()
    };
    let mut events = vec![];
    for (gid, rid) in &withdrawn {
        let cascaded = end_group_grant(conn, *gid, *rid, group).await?;
        for g in std::iter::once(group.get()).chain(cascaded) {
            events.push(manager.event(
                "groupe.role_retire",
                "groupe",
                Some(g),
                Some(serde_json::json!({"role": libelle(*rid), "role_id": rid})),
                (g != group.get())
                    .then(|| serde_json::json!({"par_le_groupe_parent": group.get()})),
            ));
        }
    }
    crate::audit::ssr::record_all(conn, events).await?;
    for rid in &added {
        // A subgroup's right ends no later than its parent's.
        sqlx::query!(
            "insert into group_grants (group_id, role_id, date_cloture, granted_by)
             select $1, $2, (select pg.date_cloture from user_groups g join group_grants pg on pg.group_id = g.parent_id
                              where g.id = $1 and pg.role_id = $2
                                and (pg.date_cloture is null or pg.date_cloture > current_date) limit 1), $3",
            group as GroupId,
            rid,
            manager.user_id() as UserId,
        )
        .execute(&mut *conn)
        .await
        .map_err(super::errors::group_error)?;
        crate::audit::ssr::record(
            conn,
            manager.event(
                "groupe.role_assigne",
                "groupe",
                Some(group.get()),
                None,
                Some(serde_json::json!({"role": libelle(*rid), "role_id": rid})),
            ),
        )
        .await?;
    }
    Ok(())
}

/// Ends one group right today; the database's cascade ends it in the
/// subgroups. Returns the subgroups whose right ended with it.
async fn end_group_grant(
    conn: &mut PgConnection,
    grant: i64,
    role: i64,
    group: GroupId,
) -> Result<Vec<i64>, sqlx::Error> {
    let below = subgroups_holding(conn, group, role, chrono::Local::now().date_naive()).await?;
    sqlx::query!(
        "update group_grants set date_cloture = greatest(date_ouverture, current_date) where id = $1",
        grant
    )
    .execute(&mut *conn)
    .await?;
    Ok(below)
}

/// The subgroups (at any depth) holding `role` after `from`.
async fn subgroups_holding(
    conn: &mut PgConnection,
    group: GroupId,
    role: i64,
    from: NaiveDate,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"with recursive sub as (
             select id from user_groups where parent_id = $1
             union
             select g.id from user_groups g join sub on g.parent_id = sub.id)
         select distinct gg.group_id as "group_id!" from group_grants gg join sub on sub.id = gg.group_id
          where gg.role_id = $2 and (gg.date_cloture is null or gg.date_cloture > $3)
          order by 1"#,
        group as GroupId,
        role,
        from as NaiveDate,
    )
    .fetch_all(conn)
    .await
}

/// « Désactiver un groupe »: its closing date becomes today; its
/// subgroups, memberships and rights end with it (the database's
/// cascade), each with a journal event; its users stay open. Returns
/// false when it was closed already.
pub async fn close_group(
    conn: &mut PgConnection,
    manager: &OrgManager,
    group: GroupId,
) -> AppResult<bool> {
    let before = sqlx::query_scalar!(
        r#"select date_cloture as "date_cloture?: NaiveDate" from user_groups where id = $1 and organisation_id = $2 for update"#,
        group as GroupId,
        manager.organisation_id() as OrganisationId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let today = chrono::Local::now().date_naive();
    if before.is_some_and(|c| c <= today) {
        return Ok(false);
    }
    // What the cascade will end, read before it runs.
    let watched = Watched::read(conn, Cascading::Group(group)).await?;
    watched.not_ending_own(manager.user_id())?;
    let members = watched.memberships.len();
    sqlx::query!(
        "update user_groups set date_cloture = greatest(date_ouverture, current_date) where id = $1",
        group as GroupId,
    )
    .execute(&mut *conn)
    .await
    .map_err(super::errors::group_error)?;
    crate::audit::ssr::record(
        conn,
        manager.event(
            "groupe.cloture",
            "groupe",
            Some(group.get()),
            Some(serde_json::json!({"date_cloture": before})),
            Some(serde_json::json!({"date_cloture": today, "appartenances_closes": members})),
        ),
    )
    .await?;
    watched
        .record(conn, manager.user_id(), manager.organisation_id())
        .await?;
    Ok(true)
}

/// Where a change may end groups, memberships and group rights through the
/// database's cascades (migration 0010's triggers).
pub enum Cascading {
    /// A group (and its subgroups) given an earlier closing date.
    Group(GroupId),
    /// A convention closed, or roles taken out of it: its groups' rights.
    Convention(ConventionId),
}

/// What a cascade may end, read before the change: every object still open
/// after today, with its closing date. `record` then writes one journal
/// event per object whose closing date the change moved — whatever path
/// made it (a group's closing in « Modifier », a convention closed or a
/// role taken out of it).
pub struct Watched {
    scope: Cascading,
    groups: Vec<(i64, Option<NaiveDate>)>,
    memberships: Vec<(i64, i64, i64, Option<NaiveDate>)>,
    rights: Vec<(i64, i64, i64, String, Option<NaiveDate>)>,
}

impl Watched {
    /// Nobody ends their own rights: the change would end a membership of
    /// `actor` (in the group or one of its subgroups).
    pub fn not_ending_own(&self, actor: UserId) -> AppResult<()> {
        if self.memberships.iter().any(|m| m.2 == actor.get()) {
            return Err(AppError::Conflict(
                "Vous appartenez à ce groupe ou à un de ses sous-groupes : le clôturer mettrait fin à vos propres habilitations. Un autre administrateur de la structure doit le faire.".into(),
            ));
        }
        Ok(())
    }

    pub async fn read(conn: &mut PgConnection, scope: Cascading) -> Result<Watched, sqlx::Error> {
        let groups: Vec<(i64, Option<NaiveDate>)> = match scope {
            Cascading::Group(g) => sqlx::query!(
                r#"with recursive tree as (
                       select id, date_cloture from user_groups where id = $1
                       union
                       select g.id, g.date_cloture from user_groups g join tree on g.parent_id = tree.id)
                   select id as "id!", date_cloture as "date_cloture?: NaiveDate" from tree
                    where date_cloture is null or date_cloture > current_date order by id"#,
                g as GroupId,
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.date_cloture))
            .collect(),
            Cascading::Convention(c) => sqlx::query!(
                r#"select id, date_cloture as "date_cloture?: NaiveDate" from user_groups where convention_id = $1
                    and (date_cloture is null or date_cloture > current_date) order by id"#,
                c as ConventionId,
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.date_cloture))
            .collect(),
        };
        let ids: Vec<i64> = groups.iter().map(|g| g.0).collect();
        // A convention's change ends rights, not memberships.
        let memberships = match scope {
            Cascading::Group(_) => sqlx::query!(
                r#"select id, group_id, user_id, date_cloture as "date_cloture?: NaiveDate" from group_memberships
                  where group_id = any($1) and (date_cloture is null or date_cloture > current_date) order by id"#,
                &ids,
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.id, r.group_id, r.user_id, r.date_cloture))
            .collect(),
            Cascading::Convention(_) => vec![],
        };
        let rights = sqlx::query!(
            r#"select gg.id, gg.group_id, gg.role_id, r.libelle, gg.date_cloture as "date_cloture?: NaiveDate"
               from group_grants gg join roles r on r.id = gg.role_id
              where gg.group_id = any($1) and (gg.date_cloture is null or gg.date_cloture > current_date)
              order by gg.id"#,
            &ids,
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.id, r.group_id, r.role_id, r.libelle, r.date_cloture))
        .collect();
        Ok(Watched {
            scope,
            groups,
            memberships,
            rights,
        })
    }

    /// One event per object whose closing date the change moved (ended,
    /// ended earlier, or extended with its convention), by `actor` in
    /// `organisation`, written in one statement; the group the change was
    /// made on has its own event from the caller. Returns how many were
    /// written.
    pub async fn record(
        self,
        conn: &mut PgConnection,
        actor: crate::domain::UserId,
        organisation: crate::domain::OrganisationId,
    ) -> Result<usize, sqlx::Error> {
        use crate::audit::ssr::{record_all, Event};
        use std::collections::HashMap;
        // Every watched object's closing date now, in one query.
        let now = sqlx::query!(
            r#"select 'groupe' as "kind!", id as "id!", date_cloture as "date_cloture?: NaiveDate" from user_groups where id = any($1)
               union all select 'appartenance', id, date_cloture from group_memberships where id = any($2)
               union all select 'droit', id, date_cloture from group_grants where id = any($3)"#,
            &self.groups.iter().map(|g| g.0).collect::<Vec<_>>(),
            &self.memberships.iter().map(|m| m.0).collect::<Vec<_>>(),
            &self.rights.iter().map(|r| r.0).collect::<Vec<_>>(),
        )
        .fetch_all(&mut *conn)
        .await?;
        let now: HashMap<(&str, i64), Option<NaiveDate>> = now
            .iter()
            .map(|r| ((r.kind.as_str(), r.id), r.date_cloture))
            .collect();
        let after = |kind: &str, id: i64| now.get(&(kind, id)).copied().flatten();
        let (root, cause) = match self.scope {
            Cascading::Group(g) => (Some(g.get()), serde_json::json!({"par_le_groupe": g.get()})),
            Cascading::Convention(c) => (None, serde_json::json!({"par_la_convention": c.get()})),
        };
        let caused = |c: Option<NaiveDate>| {
            let mut a = cause.clone();
            a["date_cloture"] = serde_json::json!(c);
            a
        };
        let event = |action: &'static str,
                     target_type: &'static str,
                     target: i64,
                     before: serde_json::Value,
                     after: serde_json::Value| {
            Event::by(
                actor,
                Some(organisation),
                action,
                target_type,
                Some(target),
                Some(before),
                Some(after),
            )
        };
        let mut events = vec![];
        for &(g, before) in &self.groups {
            let c = after("groupe", g);
            if Some(g) != root && c != before {
                events.push(event("groupe.cloture", "groupe", g, serde_json::json!({"date_cloture": before}), caused(c)));
            }
        }
        for &(id, g, user, before) in &self.memberships {
            let c = after("appartenance", id);
            if c != before {
                events.push(event(
                    "groupe.appartenance_modifiee",
                    "utilisateur",
                    user,
                    serde_json::json!({"groupe": g, "date_cloture": before}),
                    serde_json::json!({"groupe": g, "date_cloture": c}),
                ));
            }
        }
        for (id, g, role, libelle, before) in &self.rights {
            let c = after("droit", *id);
            if c == *before {
                continue;
            }
            // Later than before (or no end): extended with its convention.
            let extended = match (c, before) {
                (None, _) => true,
                (Some(c), Some(b)) => c > *b,
                (Some(_), None) => false,
            };
            events.push(event(
                if extended { "groupe.role_prolonge" } else { "groupe.role_retire" },
                "groupe",
                *g,
                serde_json::json!({"role": libelle, "role_id": role, "date_cloture": before}),
                caused(c),
            ));
        }
        let written = events.len();
        record_all(conn, events).await?;
        Ok(written)
    }
}

/// A convention extended (its closing date later, or none): the group
/// rights its earlier closing had cut, those ending on that very day, go
/// on with it, within their group's own period. `Watched::record` writes
/// their events (« groupe.role_prolonge »).
pub async fn follow_convention(
    conn: &mut PgConnection,
    convention: crate::domain::ConventionId,
    old_cloture: NaiveDate,
    new_cloture: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update group_grants gg
            set date_cloture = case when g.date_cloture is null then $3::date
                                    when $3::date is null then g.date_cloture
                                    else least(g.date_cloture, $3::date) end
           from user_groups g
          where g.id = gg.group_id and g.convention_id = $1 and gg.date_cloture = $2
            and (g.date_cloture is null or g.date_cloture > $2)",
        convention as ConventionId,
        old_cloture as NaiveDate,
        new_cloture as Option<NaiveDate>,
    )
    .execute(conn)
    .await?;
    Ok(())
}
