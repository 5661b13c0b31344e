//! « Habilitations du groupe »: the roles a group holds.
#[allow(unused_imports)]
use super::*;
use crate::error::AppResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRights {
    pub organisation: String,
    pub convention: String,
    pub code: String,
    pub libelle: String,
    pub parent: String,
    /// The services (applications) of the convention.
    pub services: Vec<Choice>,
    pub application_id: i64,
    /// Roles of the chosen service the group may receive (within the
    /// convention, and for a subgroup held by its parent), not assigned.
    pub available: Vec<Choice>,
    pub assigned: Vec<Choice>,
    pub open: bool,
}

/// « Habilitations du groupe »: managers of the structure only (a
/// responsable cannot open a group's rights).
#[server(endpoint = "group_rights", output = crate::json::Json)]
pub async fn load_group_rights(
    organisation_id: crate::domain::OrganisationId,
    group_id: crate::domain::GroupId,
    #[server(default)] application_id: crate::domain::ApplicationId,
) -> AppResult<GroupRights> {
    use crate::error::AppError;
    // 0: the first service of the group's convention.
    let application_id = application_id.get();
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let pool = crate::state::pool();
    let head = sqlx::query!(
        r#"select o.nom, c.libelle as convention, g.code, g.libelle, g.convention_id, g.parent_id,
                (g.date_cloture is null or g.date_cloture > current_date) as "open!"
           from user_groups g join conventions c on c.id = g.convention_id
           join organisations o on o.id = g.organisation_id
          where g.id = $1 and g.organisation_id = $2"#,
        group_id as crate::domain::GroupId,
        manager.organisation_id() as crate::domain::OrganisationId,
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let (organisation, convention, code, libelle, cid, parent_id, open) = (
        head.nom,
        head.convention,
        head.code,
        head.libelle,
        head.convention_id,
        head.parent_id,
        head.open,
    );
    let parent: String = match parent_id {
        Some(p) => {
            sqlx::query_scalar!(
                r#"select code || ' — ' || libelle as "label!" from user_groups where id = $1"#,
                p
            )
            .fetch_one(&pool)
            .await?
        }
        None => String::new(),
    };
    let services: Vec<(i64, String)> = sqlx::query!(
        "select a.id, a.libelle from applications a
          where exists (select 1 from convention_roles cr where cr.convention_id = $1 and cr.application_id = a.id
                           and (cr.date_cloture is null or cr.date_cloture > current_date))
          order by a.position, a.libelle",
        cid,
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|s| (s.id, s.libelle))
    .collect();
    let application_id = if services.iter().any(|s| s.0 == application_id) {
        application_id
    } else {
        services.first().map(|s| s.0).unwrap_or(0)
    };
    let roles: Vec<(i64, String, bool, bool)> = sqlx::query!(
        r#"select r.id, r.libelle,
                exists (select 1 from group_grants gg where gg.group_id = $1 and gg.role_id = r.id
                           and (gg.date_cloture is null or gg.date_cloture > current_date)) as "held!",
                exists (select 1 from convention_roles cr where cr.convention_id = $2 and cr.role_id = r.id
                           and (cr.date_cloture is null or cr.date_cloture > current_date))
                and ($4::bigint is null or exists (
                        select 1 from group_grants pg where pg.group_id = $4 and pg.role_id = r.id
                           and (pg.date_cloture is null or pg.date_cloture > current_date))) as "allowed!"
           from roles r where r.application_id = $3 order by r.position, r.libelle"#,
        group_id as crate::domain::GroupId,
        cid,
        application_id,
        parent_id,
    )
    .fetch_all(&pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.libelle, r.held, r.allowed))
    .collect();
    let choice = |(id, label, ..): &(i64, String, bool, bool)| Choice {
        id: *id,
        label: label.clone(),
    };
    Ok(GroupRights {
        organisation,
        convention,
        code,
        libelle,
        parent,
        services: services
            .into_iter()
            .map(|(id, label)| Choice { id, label })
            .collect(),
        application_id,
        assigned: roles.iter().filter(|r| r.2).map(choice).collect(),
        available: roles.iter().filter(|r| !r.2 && r.3).map(choice).collect(),
        open,
    })
}

/// « Enregistrer les modifications » of « Habilitations du groupe »: the
/// roles of one service the group holds from now on. One transaction, one
/// journal event per role assigned or withdrawn; a role withdrawn ends
/// today in the group and its subgroups.
#[server(endpoint = "set_group_roles", output = crate::json::Json)]
pub async fn set_group_roles(
    organisation_id: crate::domain::OrganisationId,
    group_id: crate::domain::GroupId,
    application_id: crate::domain::ApplicationId,
    #[server(default)] role_ids: String,
) -> AppResult<()> {
    use crate::error::AppError;
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let wanted =
        crate::conventions::parse_ids(&role_ids).map_err(|m| AppError::invalid("role_ids", m))?;
    let mut tx = crate::state::pool().begin().await?;
    crate::rights::group_rights::set_roles(
        &mut tx,
        &manager,
        group_id,
        application_id.get(),
        &wanted,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
