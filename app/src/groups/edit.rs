//! « Créer un groupe », « Modifier », « Remplacer un responsable
//! habilitations », « Désactiver »: a group's own fields.
#[allow(unused_imports)]
use super::*;
use crate::error::AppResult;
#[cfg(feature = "ssr")]
use crate::session::Acting;
#[cfg(feature = "ssr")]
use chrono::NaiveDate;
use leptos::prelude::*;

/// « Créer un groupe » (`id` = 0) or modify one: the structure's managers
/// only. The responsable is an agent of the structure, given by identifiant
/// or email; a subgroup is in its parent's convention.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "save_group", output = crate::json::Json)]
pub async fn save_group(
    organisation_id: crate::domain::OrganisationId,
    #[server(default)] id: crate::domain::GroupId,
    #[server(default)] convention_id: crate::domain::ConventionId,
    code: String,
    libelle: String,
    #[server(default)] parent_id: crate::domain::GroupId,
    #[server(default)] date_ouverture: String,
    #[server(default)] date_cloture: String,
    #[server(default)] responsable: String,
) -> AppResult<i64> {
    use crate::error::{AppError, Errors};
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let org = manager.organisation_id();
    // 0 is "none" in the form (a new group, no parent, no convention).
    let (id, convention_id, parent_id) = (id.get(), convention_id.get(), parent_id.get());
    let today = chrono::Local::now().date_naive();
    let mut errs = Errors::default();
    let code = errs.check("code", parse_group_code(&code));
    let libelle = libelle.split_whitespace().collect::<Vec<_>>().join(" ");
    if libelle.is_empty() || libelle.chars().count() > 200 {
        errs.add(
            "libelle",
            "Saisissez le libellé du groupe (200 caractères au plus).",
        );
    }
    let period = if id == 0 {
        crate::domain::Period::parse_from_today(&mut errs, &date_ouverture, &date_cloture, today)
    } else {
        crate::domain::Period::parse(&mut errs, &date_ouverture, &date_cloture, today)
    };
    if responsable.trim().is_empty() {
        errs.add(
            "responsable",
            "Désignez le responsable habilitations du groupe (obligatoire).",
        );
    }
    errs.finish()?;
    let (code, period) = (code.unwrap(), period.unwrap());
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let responsable_id = ssr::agent_of(&mut tx, org, &responsable)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "responsable",
                "Aucun agent ouvert de la structure n'a cet identifiant ou cette adresse mail.",
            )
        })?;
    let (before, old_cloture): (Option<serde_json::Value>, Option<Option<NaiveDate>>) = if id == 0 {
        (None, None)
    } else {
        let row = sqlx::query!(
            r#"select jsonb_build_object('code', code, 'libelle', libelle, 'groupe_parent', parent_id,
                        'date_ouverture', date_ouverture, 'date_cloture', date_cloture, 'responsable', responsable_id) as "fields!",
                    date_ouverture as "date_ouverture: NaiveDate", date_cloture as "date_cloture?: NaiveDate"
               from user_groups where id = $1 and organisation_id = $2 for update"#,
            id,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (b, old_o, old_c) = row
            .map(|r| (r.fields, r.date_ouverture, r.date_cloture))
            .ok_or(AppError::NotFound)?;
        // A closed group stays closed (the database refuses it too).
        if old_c.is_some_and(|c| c <= today) {
            return Err(AppError::Conflict(
                "Ce groupe est clôturé : il ne se modifie plus. Pour continuer, créez un nouveau groupe.".into(),
            ));
        }
        if period.ouverture != old_o && (old_o <= today || period.ouverture < today) {
            return Err(AppError::invalid(
                "date_ouverture",
                "La date d'ouverture ne change plus une fois le groupe ouvert, et ne peut pas être dans le passé.",
            ));
        }
        (Some(b), Some(old_c))
    };
    // Nobody changes their own rank: a manager does not name themselves
    // responsable habilitations (one named before keeps the group).
    let old_responsable = before.as_ref().and_then(|b| b["responsable"].as_i64());
    if responsable_id == manager.user_id().get()
        && !manager.is_operator()
        && old_responsable != Some(responsable_id)
    {
        return Err(AppError::invalid(
            "responsable",
            "Vous ne pouvez pas vous désigner vous-même responsable habilitations : un autre administrateur de la structure ou l'opérateur doit le faire.",
        ));
    }
    // An earlier closing ends subgroups, memberships and rights with the
    // group (the database's cascade): each gets its event below.
    let watched = match old_cloture {
        Some(old) if period.cloture.is_some_and(|c| old.is_none_or(|o| c < o)) => Some(
            crate::rights::group_rights::Watched::read(
                &mut tx,
                crate::rights::group_rights::Cascading::Group(crate::domain::GroupId(id)),
            )
            .await?,
        ),
        _ => None,
    };
    if let Some(w) = &watched {
        w.not_ending_own(manager.user_id())?;
    }
    // The parent fixes the convention; else the one chosen (open, of this
    // structure).
    let parent = (parent_id != 0).then_some(parent_id);
    let convention_id: i64 = if let Some(p) = parent {
        let row = sqlx::query_scalar!(
            "select convention_id from user_groups where id = $1 and organisation_id = $2",
            p,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?;
        row.ok_or_else(|| {
            AppError::invalid(
                "parent_id",
                "Ce groupe parent n'existe pas dans la structure.",
            )
        })?
    } else if id != 0 {
        sqlx::query_scalar!("select convention_id from user_groups where id = $1", id)
            .fetch_one(&mut *tx)
            .await?
    } else {
        let row = sqlx::query_scalar!(
            "select id from conventions where id = $1 and organisation_id = $2
                and (date_cloture is null or date_cloture > current_date)",
            convention_id,
            org as crate::domain::OrganisationId,
        )
        .fetch_optional(&mut *tx)
        .await?;
        row.ok_or_else(|| {
            AppError::invalid(
                "convention_id",
                "Choisissez une convention ouverte de la structure.",
            )
        })?
    };
    let saved = if id == 0 {
        sqlx::query_scalar!(
            "insert into user_groups (organisation_id, convention_id, code, libelle, parent_id, date_ouverture,
                                      date_cloture, responsable_id, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
            org as crate::domain::OrganisationId,
            convention_id,
            &code,
            &libelle,
            parent,
            period.ouverture as NaiveDate,
            period.cloture as Option<NaiveDate>,
            responsable_id,
            manager.user_id() as crate::domain::UserId,
        )
        .fetch_one(&mut *tx)
        .await
    } else {
        sqlx::query_scalar!(
            "update user_groups set code = $3, libelle = $4, parent_id = $5, date_ouverture = $6,
                    date_cloture = $7, responsable_id = $8
              where id = $1 and organisation_id = $2 returning id",
            id,
            org as crate::domain::OrganisationId,
            &code,
            &libelle,
            parent,
            period.ouverture as NaiveDate,
            period.cloture as Option<NaiveDate>,
            responsable_id,
        )
        .fetch_one(&mut *tx)
        .await
    };
    let group_id = match saved {
        Ok(g) => g,
        Err(e) => return Err(ssr::group_error(e)),
    };
    crate::audit::ssr::record(
        &mut tx,
        manager.event(
            if id == 0 {
                "groupe.creation"
            } else {
                "groupe.modification"
            },
            "groupe",
            Some(group_id),
            before,
            Some(serde_json::json!({
                "code": code, "libelle": libelle, "groupe_parent": parent,
                "date_ouverture": period.ouverture, "date_cloture": period.cloture,
                "responsable": responsable_id,
            })),
        ),
    )
    .await?;
    if let Some(w) = watched {
        w.record(&mut tx, manager.user_id(), org).await?;
    }
    tx.commit().await?;
    Ok(group_id)
}

/// « Remplacer un responsable habilitations »: a manager of the structure,
/// or the responsable of the parent group for a subgroup of their own. The
/// new responsable is an agent of the structure; a responsable may only
/// name one of the users of the groups they reach, and never themselves.
#[server(endpoint = "set_group_responsable", output = crate::json::Json)]
pub async fn set_group_responsable(
    organisation_id: crate::domain::OrganisationId,
    group_id: crate::domain::GroupId,
    responsable: String,
) -> AppResult<()> {
    use crate::domain::GroupId;
    use crate::error::AppError;
    use crate::session::GroupActor;
    let me = crate::session::require_user().await?;
    let org = organisation_id;
    let actor = me.group_actor(org, group_id).await?;
    let pool = crate::state::pool();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "select parent_id, responsable_id from user_groups where id = $1 and organisation_id = $2 for update",
        group_id as GroupId,
        org as crate::domain::OrganisationId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (parent, old) = row.map(|r| (r.parent_id, r.responsable_id)).ok_or(AppError::NotFound)?;
    let new = ssr::agent_of(&mut tx, org, &responsable)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "responsable",
                "Aucun agent ouvert de la structure n'a cet identifiant ou cette adresse mail.",
            )
        })?;
    // Nobody changes their own rank: a manager names someone else too.
    if new == me.id().get() && matches!(actor, GroupActor::Manager(_)) && !me.is_operator() {
        return Err(AppError::invalid(
            "responsable",
            "Vous ne pouvez pas vous désigner vous-même responsable habilitations : un autre administrateur de la structure ou l'opérateur doit le faire.",
        ));
    }
    if let GroupActor::Responsable(_) = &actor {
        // Only for a subgroup of a group they reach (not their own top group).
        let Some(parent) = parent else {
            return Err(AppError::Forbidden);
        };
        let reach_parent = me.group_manager_of(GroupId(parent)).await?;
        if new == me.id().get() {
            return Err(AppError::Conflict(
                "Vous ne pouvez pas vous désigner vous-même : un administrateur de la structure doit le faire.".into(),
            ));
        }
        if !reach_parent
            .reaches(&mut tx, crate::domain::UserId(new))
            .await?
        {
            return Err(AppError::invalid(
                "responsable",
                "Désignez un utilisateur des groupes dont vous êtes responsable.",
            ));
        }
    }
    if new == old {
        return Ok(());
    }
    sqlx::query!(
        "update user_groups set responsable_id = $2 where id = $1",
        group_id as GroupId,
        new,
    )
    .execute(&mut *tx)
    .await
    .map_err(ssr::group_error)?;
    crate::audit::ssr::record(
        &mut tx,
        actor.event(
            "groupe.responsable",
            "groupe",
            Some(group_id.get()),
            Some(serde_json::json!({"responsable": old})),
            Some(serde_json::json!({"responsable": new})),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// « Désactiver un groupe » (managers; the screen asks for confirmation):
/// its closing date becomes today. Its subgroups, memberships and rights
/// end with it (database triggers); its users stay open.
#[server(endpoint = "close_group", output = crate::json::Json)]
pub async fn close_group(
    organisation_id: crate::domain::OrganisationId,
    group_id: crate::domain::GroupId,
) -> AppResult<()> {
    let me = crate::session::require_user().await?;
    let manager = me.manager_of(organisation_id).await?;
    let mut tx = crate::state::pool().begin().await?;
    if crate::rights::group_rights::close_group(&mut tx, &manager, group_id)
        .await?
    {
        tx.commit().await?;
    }
    Ok(())
}
