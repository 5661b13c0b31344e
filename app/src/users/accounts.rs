//! The write paths on people's accounts, one per rule, used by the screens
//! and the CSV import alike: invite (create an account, or invite an
//! existing one to join), update a fiche (with its closing and reopening),
//! request and confirm a change of email, answer an invitation. Each
//! privileged path takes an `Acting` capability: a manager of the
//! structure (`OrgManager`), or a responsable habilitations (`GroupActor`)
//! whose reach is checked here, in the database, on every person touched.
use crate::domain::{Agent, GroupId, OrganisationId, UserId};
use crate::error::{AppError, AppResult};
use crate::session::{Acting, Authenticated};
use chrono::NaiveDate;
use sqlx::PgConnection;

/// The person must be attached to the manager's organisation: their unit
/// and admin role there (the membership row is locked).
pub async fn member(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
) -> AppResult<(Option<i64>, Option<String>)> {
    let row = sqlx::query!(
        "select unit_id, admin_role from memberships where organisation_id = $1 and user_id = $2 for update",
        m.organisation_id() as OrganisationId,
        user_id as UserId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| (r.unit_id, r.admin_role))
    .ok_or(AppError::NotFound)?;
    if let Some(r) = m.responsable() {
        if !r.reaches(conn, user_id).await? {
            return Err(AppError::Forbidden);
        }
    }
    Ok(row)
}

/// May the caller change the person's account itself (fiche, email,
/// dates), not only their attachment? Never an operator's account; the
/// operator may change any other; a structure's manager only an account
/// created by or through that structure, of a person who belongs to no
/// other structure, and within the ranks (an admin does not edit the
/// primary manager or another admin).
pub async fn may_edit_account(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
) -> AppResult<bool> {
    let row = sqlx::query!(
        r#"select u.is_operator, u.home_organisation_id,
                exists (select 1 from memberships o where o.user_id = u.id and o.organisation_id <> $2) as "elsewhere!",
                (select admin_role from memberships h where h.user_id = u.id and h.organisation_id = $2) as "role?"
           from users u where u.id = $1"#,
        user_id as UserId,
        m.organisation_id() as OrganisationId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| (r.is_operator, r.home_organisation_id, r.elsewhere, r.role));
    let Some((is_operator, home, elsewhere, role)) = row else {
        return Err(AppError::NotFound);
    };
    if is_operator {
        return Ok(false);
    }
    if m.is_operator() {
        return Ok(true);
    }
    if m.outranks(user_id, role.as_deref()).is_err() {
        return Ok(false);
    }
    // A responsable changes an account only when everything the person
    // holds lies within what they administer (else only the memberships
    // of their groups).
    if let Some(r) = m.responsable() {
        if !r.holds_only_within(conn, user_id).await? {
            return Ok(false);
        }
    }
    Ok(home == Some(m.organisation_id().get()) && !elsewhere)
}

/// Refuses a change of the account itself (email, closing, reopening, the
/// fiche) when the caller may not make it, with the reason.
pub async fn refuse_account_change(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
) -> AppResult<()> {
    if may_edit_account(conn, m, user_id).await? {
        return Ok(());
    }
    Err(AppError::Conflict(if m.responsable().is_some() {
        "Cette personne détient des droits hors de votre périmètre (d'autres groupes, des habilitations directes ou une responsabilité) : seule son appartenance à vos groupes peut être modifiée.".into()
    } else {
        "Cette personne a un compte qui n'a pas été créé par votre structure, ou appartient aussi à d'autres structures : seul son rattachement à la vôtre peut être modifié.".into()
    }))
}

/// A unit of the organisation (active), or the structure level (0).
pub async fn unit_of(
    conn: &mut PgConnection,
    m: &impl Acting,
    unit_id: i64,
) -> AppResult<Option<i64>> {
    if unit_id == 0 {
        return Ok(None);
    }
    let row = sqlx::query_scalar!(
        "select id from units where id = $1 and organisation_id = $2 and active",
        unit_id,
        m.organisation_id() as OrganisationId,
    )
    .fetch_optional(conn)
    .await?;
    row.map(Some)
        .ok_or_else(|| AppError::invalid("unit_id", "Choisissez un service actif de la structure."))
}

pub fn fiche_json(a: &Agent) -> serde_json::Value {
    serde_json::json!({
        "civilite": a.civilite.code(),
        "nom": a.nom.as_str(),
        "prenom": a.prenom.as_str(),
        "email": a.email.as_str(),
        "telephone": a.telephone.as_ref().map(|t| t.as_str()).unwrap_or(""),
        "poste": a.poste.code(),
        "date_ouverture": a.date_ouverture.to_string(),
        "date_cloture": a.date_cloture.map(|d| d.to_string()).unwrap_or_default(),
    })
}

pub async fn organisation_name(conn: &mut PgConnection, m: &impl Acting) -> AppResult<String> {
    Ok(sqlx::query_scalar!(
        "select nom from organisations where id = $1",
        m.organisation_id() as OrganisationId
    )
    .fetch_one(conn)
    .await?)
}

/// What `invite` did. Never shown as such to the manager: a structure must
/// not learn whether an address already has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invited {
    /// A new account, created by the structure and attached to it; its
    /// owner is invited to choose a password.
    NewAccount(UserId),
    /// An existing account: its owner is invited to join the structure
    /// and decides once signed in.
    ExistingAccount,
}

/// "Créer un utilisateur" (screen and import): the person with this
/// address is invited to the structure. Without an account, one is created
/// from the fiche (owned by the structure) and attached; with one, nothing
/// is attached until its owner accepts.
/// `org_nom` is the manager's organisation's name (read once by the caller,
/// not once per row of an import).
pub async fn invite(
    conn: &mut PgConnection,
    m: &impl Acting,
    org_nom: &str,
    a: &Agent,
    unit: Option<i64>,
    group: Option<GroupId>,
) -> AppResult<Invited> {
    let known = sqlx::query!(
        r#"select u.id, exists (select 1 from memberships m where m.user_id = u.id and m.organisation_id = $2) as "member!"
           from users u where u.email = $1"#,
        a.email.as_str(),
        m.organisation_id() as OrganisationId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|k| (k.id, k.member));
    match known {
        Some((_, true)) => Err(AppError::invalid(
            "email",
            "Cette personne est déjà rattachée à la structure.",
        )),
        Some((id, false)) => {
            invite_existing(conn, m, org_nom, UserId(id), unit, group).await?;
            Ok(Invited::ExistingAccount)
        }
        None => {
            let user = create_account(conn, m, org_nom, a, unit).await?;
            if let Some(g) = group {
                // In the same transaction: the new account is in the group
                // from its opening (never before today) to its closing.
                let today = chrono::Local::now().date_naive();
                crate::rights::memberships::join(
                    conn,
                    m,
                    g,
                    user,
                    a.date_ouverture.max(today),
                    a.date_cloture,
                    crate::rights::memberships::Joining::Newcomer,
                )
                .await?;
            }
            Ok(Invited::NewAccount(user))
        }
    }
}

/// Creates the account of an invited person (no password yet), owned by
/// the manager's structure, attaches it and queues the invitation to set a
/// password.
async fn create_account(
    conn: &mut PgConnection,
    m: &impl Acting,
    org_nom: &str,
    a: &Agent,
    unit: Option<i64>,
) -> AppResult<UserId> {
    let (user_id, _) = match insert_account(conn, a, m.user_id(), Some(m.organisation_id())).await {
        Err(AppError::Invalid(_)) => {
            return Err(AppError::Conflict(
                "Un compte vient d'être créé avec cette adresse : recommencez.".into(),
            ))
        }
        r => r?,
    };
    send_password_invitation(conn, user_id, a.email.as_str(), org_nom).await?;
    crate::audit::ssr::record(
        conn,
        m.event(
            "utilisateur.creation",
            "utilisateur",
            Some(user_id.get()),
            None,
            Some({
                // The fiche and where the person is attached.
                let mut after = fiche_json(a);
                after["service"] = serde_json::json!(unit);
                after
            }),
        ),
    )
    .await?;
    attach(conn, m.user_id(), m.organisation_id(), user_id, unit).await?;
    Ok(user_id)
}

/// Writes a new account from the fiche, with a fresh identifier (drawn
/// again on a collision): a structure's (`home`), or an operator's (none).
/// An address already taken is an `email` field error.
pub async fn insert_account(
    conn: &mut PgConnection,
    a: &Agent,
    created_by: UserId,
    home: Option<OrganisationId>,
) -> AppResult<(UserId, String)> {
    for _ in 0..5 {
        let r = sqlx::query!(
            r#"insert into users (identifier, civilite, nom, prenom, email, telephone, poste,
                                date_ouverture, date_cloture, created_by, home_organisation_id, is_operator)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11::bigint is null)
             on conflict (identifier) do nothing returning id as "id: UserId", identifier"#,
            crate::auth::ssr::generate_identifier(),
            a.civilite.code(),
            a.nom.as_str(),
            a.prenom.as_str(),
            a.email.as_str(),
            a.telephone.as_ref().map(|t| t.as_str()),
            a.poste.code(),
            a.date_ouverture as NaiveDate,
            a.date_cloture as Option<NaiveDate>,
            created_by as UserId,
            home as Option<OrganisationId>,
        )
        .fetch_optional(&mut *conn)
        .await;
        match r {
            Ok(Some(row)) => return Ok((row.id, row.identifier)),
            Ok(None) => continue,
            Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
                return Err(AppError::invalid(
                    "email",
                    "Cette adresse est déjà celle d'un compte Habilitations.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal)
}

/// Queues an invitation link (valid 7 days) to set a password.
pub async fn send_password_invitation(
    conn: &mut PgConnection,
    user_id: UserId,
    email: &str,
    organisation: &str,
) -> AppResult<()> {
    use crate::mail::ssr::{enqueue, link};
    let token = crate::auth::ssr::create_token(conn, user_id.get(), "invite", 7 * 24 * 60).await?;
    enqueue(
        conn,
        email,
        "Votre compte Habilitations a été créé",
        &format!(
            "L'administrateur de la structure {organisation} vous a créé un compte Habilitations.\n\nPour choisir votre mot de passe et activer votre compte, ouvrez ce lien (valable 7 jours) : {}",
            link(&format!("/invitation?jeton={token}"))
        ),
    )
    .await?;
    Ok(())
}

/// An existing account is invited to join: an open invitation (valid 30
/// days, renewed if one is open) and a mail to its owner, who accepts or
/// declines in "Mes structures".
async fn invite_existing(
    conn: &mut PgConnection,
    m: &impl Acting,
    org_nom: &str,
    user_id: UserId,
    unit: Option<i64>,
    group: Option<GroupId>,
) -> AppResult<()> {
    let id = sqlx::query_scalar!(
        "insert into membership_invitations (organisation_id, user_id, unit_id, invited_by, expires_at, group_id)
         values ($1, $2, $3, $4, now() + interval '30 days', $5)
         on conflict (organisation_id, user_id) where answered_at is null
         do update set unit_id = excluded.unit_id, invited_by = excluded.invited_by,
                       expires_at = excluded.expires_at, group_id = excluded.group_id
         returning id",
        m.organisation_id() as OrganisationId,
        user_id as UserId,
        unit,
        m.user_id() as UserId,
        group as Option<GroupId>,
    )
    .fetch_one(&mut *conn)
    .await?;
    let to = sqlx::query_scalar!("select email from users where id = $1", user_id as UserId)
        .fetch_one(&mut *conn)
        .await?;
    crate::mail::ssr::enqueue(
        conn,
        &to,
        &format!("La structure {org_nom} vous invite à la rejoindre"),
        &format!(
            "Un administrateur de la structure {org_nom} souhaite vous y rattacher sur Habilitations.\n\nRien n'est fait sans votre accord : connectez-vous et acceptez ou refusez l'invitation dans « Mes structures » (valable 30 jours) : {}\n\nSi vous ne connaissez pas cette structure, refusez l'invitation ou ignorez ce message.",
            crate::mail::ssr::link("/structures")
        ),
    )
    .await?;
    crate::audit::ssr::record(
        conn,
        m.event(
            "rattachement.invitation",
            "utilisateur",
            Some(user_id.get()),
            None,
            Some(serde_json::json!({"invitation": id, "service": unit, "groupe": group})),
        ),
    )
    .await?;
    Ok(())
}

/// Attaches an account to the organisation (at structure level or one
/// unit). Private: reached only through a manager creating the account or
/// the account's owner accepting an invitation.
async fn attach(
    conn: &mut PgConnection,
    actor: UserId,
    organisation_id: OrganisationId,
    user_id: UserId,
    unit_id: Option<i64>,
) -> AppResult<()> {
    let done = sqlx::query!(
        "insert into memberships (user_id, organisation_id, unit_id) values ($1, $2, $3) on conflict do nothing",
        user_id as UserId,
        organisation_id as OrganisationId,
        unit_id,
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::invalid(
            "email",
            "Cette personne est déjà rattachée à la structure.",
        ));
    }
    crate::audit::ssr::record(
        conn,
        crate::audit::ssr::Event {
            actor_id: Some(actor.get()),
            organisation_id: Some(organisation_id.get()),
            action: "rattachement.creation",
            target_type: "utilisateur",
            target_id: Some(user_id.get()),
            before: None,
            after: Some(serde_json::json!({"service": unit_id})),
        },
    )
    .await?;
    Ok(())
}

/// The owner of an account answers an invitation to join a structure.
pub async fn answer_invitation(
    conn: &mut PgConnection,
    me: &Authenticated,
    invitation_id: i64,
    accept: bool,
) -> AppResult<()> {
    #[allow(clippy::type_complexity)]
    let row = sqlx::query!(
        r#"update membership_invitations i set answered_at = now(), accepted = $3
          where i.id = $1 and i.user_id = $2 and i.answered_at is null
          returning i.organisation_id, i.unit_id, i.expires_at > now() as "valid!", i.group_id, i.invited_by"#,
        invitation_id,
        me.id() as UserId,
        accept,
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| (r.organisation_id, r.unit_id, r.valid, r.group_id, r.invited_by));
    let Some((org, unit, valid, group, invited_by)) = row else {
        return Err(AppError::NotFound);
    };
    if !valid {
        return Err(AppError::Conflict(
            "Cette invitation a expiré : demandez à la structure de vous inviter à nouveau.".into(),
        ));
    }
    let organisation = OrganisationId(org);
    let active = sqlx::query_scalar!(
        "select active from organisations where id = $1",
        organisation as OrganisationId
    )
    .fetch_one(&mut *conn)
    .await?;
    if accept {
        if !active {
            return Err(AppError::Conflict(
                "Cette structure n'est plus active.".into(),
            ));
        }
        // The unit may have been closed since the invitation.
        let unit: Option<i64> = match unit {
            Some(u) => sqlx::query_scalar!(
                "select id from units where id = $1 and organisation_id = $2 and active",
                u,
                organisation as OrganisationId,
            )
            .fetch_optional(&mut *conn)
            .await?,
            None => None,
        };
        attach(conn, me.id(), organisation, me.id(), unit).await?;
        // The group chosen by whoever invited, if it is still open and
        // they may still add people to it (a manager of the structure, an
        // operator, or a responsable who still reaches it): joined from
        // today, added by them (nobody adds themselves to a group).
        if let (Some(g), Some(by)) = (group, invited_by) {
            crate::rights::memberships::join_invited(
                conn,
                UserId(by),
                organisation,
                GroupId(g),
                me.id(),
            )
            .await?;
        }
    } else {
        crate::audit::ssr::record(
            conn,
            crate::audit::ssr::Event {
                actor_id: Some(me.id().get()),
                organisation_id: Some(org),
                action: "rattachement.invitation_refusee",
                target_type: "utilisateur",
                target_id: Some(me.id().get()),
                before: None,
                after: None,
            },
        )
        .await?;
    }
    Ok(())
}

/// What `update_fiche` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FicheUpdate {
    pub changed: bool,
    /// A change of email waits for the new address's confirmation.
    pub email_pending: bool,
}

/// "Modifier un utilisateur" (screen and import): the fiche and its dates.
/// From a closing date the person holds no right and every session ends;
/// emptying it reopens the account. A new address is not written: a link
/// is sent to it (and a notice to the old one); it takes effect when
/// followed. `saved` is the account's current fiche (for the journal).
pub async fn update_fiche(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
    a: &Agent,
    unit: Option<Option<i64>>,
) -> AppResult<FicheUpdate> {
    let (_, role) = member(conn, m, user_id).await?;
    m.outranks(user_id, role.as_deref())?;
    let (before, saved_email, saved_cloture, unit_before): (
        serde_json::Value,
        String,
        Option<chrono::NaiveDate>,
        Option<i64>,
    ) = sqlx::query!(
        r#"select jsonb_build_object('civilite', civilite, 'nom', nom, 'prenom', prenom, 'email', email,
                'telephone', coalesce(telephone, ''), 'poste', poste,
                'date_ouverture', date_ouverture::text, 'date_cloture', coalesce(date_cloture::text, '')) as "fiche!",
                email, date_cloture as "date_cloture?: NaiveDate",
                (select unit_id from memberships where user_id = u.id and organisation_id = $2) as "unit_id?"
           from users u where id = $1 for update"#,
        user_id as UserId,
        m.organisation_id() as OrganisationId,
    )
    .fetch_one(&mut *conn)
    .await
    .map(|r| (r.fiche, r.email, r.date_cloture, r.unit_id))?;
    let after = fiche_json(a);
    let unit_changes = unit.is_some_and(|u| u != unit_before);
    if after == before && !unit_changes {
        return Ok(FicheUpdate::default());
    }
    let mut result = FicheUpdate {
        changed: true,
        email_pending: false,
    };
    if after != before {
        refuse_account_change(conn, m, user_id).await?;
        // A closing is undone (or moved) only by the rank that made it or
        // a higher one.
        if saved_cloture.is_some() && a.date_cloture != saved_cloture {
            let rang = sqlx::query_scalar!(
                "select cloture_rang from users where id = $1",
                user_id as UserId
            )
            .fetch_one(&mut *conn)
            .await?;
            if rang.is_some_and(|r| r > m.rank_number()) {
                return Err(AppError::Conflict(
                    "Ce compte a été clôturé par un rang supérieur au vôtre (gestionnaire principal ou opérateur) : vous ne pouvez ni le rouvrir ni changer sa date de clôture.".into(),
                ));
            }
        }
        let email_changes = a.email.as_str() != saved_email;
        sqlx::query!(
            "update users set civilite = $2, nom = $3, prenom = $4, telephone = $5, poste = $6,
                    date_ouverture = $7, date_cloture = $8,
                    cloture_rang = case when $8::date is null then null
                                        when $8::date is distinct from date_cloture then $9 else cloture_rang end,
                    session_generation = session_generation + case when $8::date is not null and $8::date <= current_date
                                                                   and $8::date is distinct from date_cloture then 1 else 0 end
              where id = $1",
            user_id as UserId,
            a.civilite.code(),
            a.nom.as_str(),
            a.prenom.as_str(),
            a.telephone.as_ref().map(|t| t.as_str()),
            a.poste.code(),
            a.date_ouverture as NaiveDate,
            a.date_cloture as Option<NaiveDate>,
            m.rank_number(),
        )
        .execute(&mut *conn)
        .await?;
        if email_changes {
            request_email_change(conn, m, user_id, &saved_email, a.email.as_str()).await?;
            result.email_pending = true;
        }
        // From the closing date the person holds no right and belongs to
        // no group: both end in this transaction (one event each), and a
        // reopening revives neither.
        let mut ended = 0;
        if let Some(c) = a.date_cloture.filter(|c| Some(*c) != saved_cloture) {
            let rights = crate::rights::direct::end_all_of(conn, user_id, c).await?;
            crate::rights::direct::record_ended(conn, m.user_id(), &rights, "Compte clôturé").await?;
            ended = rights.len();
            crate::rights::memberships::end_all_of(
                conn,
                m,
                user_id,
                c,
                crate::rights::memberships::Scope::Account,
            )
            .await?;
        }
        let reopened = saved_cloture.is_some() && a.date_cloture.is_none();
        let mut written = after.clone();
        written["email"] = saved_email.clone().into();
        if email_changes {
            written["email_en_attente"] = a.email.as_str().into();
        }
        if ended > 0 {
            written["habilitations_closes"] = ended.into();
        }
        crate::audit::ssr::record(
            conn,
            m.event(
                if a.date_cloture.is_some() && a.date_cloture != saved_cloture {
                    "utilisateur.cloture"
                } else if reopened {
                    "utilisateur.reouverture"
                } else {
                    "utilisateur.modification"
                },
                "utilisateur",
                Some(user_id.get()),
                Some(before),
                Some(written),
            ),
        )
        .await?;
    }
    if let (true, Some(unit)) = (unit_changes, unit) {
        set_unit(conn, m, user_id, unit_before, unit).await?;
    }
    Ok(result)
}

/// Moves a member to structure level (`None`) or one unit.
pub async fn set_unit(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
    before: Option<i64>,
    unit: Option<i64>,
) -> AppResult<()> {
    sqlx::query!(
        "update memberships set unit_id = $3 where organisation_id = $1 and user_id = $2",
        m.organisation_id() as OrganisationId,
        user_id as UserId,
        unit,
    )
    .execute(&mut *conn)
    .await?;
    crate::audit::ssr::record(
        conn,
        m.event(
            "rattachement.modification",
            "utilisateur",
            Some(user_id.get()),
            Some(serde_json::json!({"service": before})),
            Some(serde_json::json!({"service": unit})),
        ),
    )
    .await?;
    Ok(())
}

/// A change of address asked by a manager: a single-use link (valid 48 h)
/// to the new address, a notice to the old one, which stays valid until
/// the link is followed. Whether the new address is taken is not told
/// here (that would reveal an account): the confirmation refuses it.
async fn request_email_change(
    conn: &mut PgConnection,
    m: &impl Acting,
    user_id: UserId,
    old: &str,
    new: &str,
) -> AppResult<()> {
    use crate::mail::ssr::{enqueue, link};
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    // A newer request replaces the pending ones.
    sqlx::query!(
        "update email_changes set expires_at = now() where user_id = $1 and confirmed_at is null",
        user_id as UserId
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into email_changes (token_hash, user_id, new_email, requested_by, organisation_id, expires_at)
         values ($1, $2, $3, $4, $5, now() + interval '48 hours')",
        crate::auth::ssr::sha256_hex(&token),
        user_id as UserId,
        new,
        m.user_id() as UserId,
        m.organisation_id() as OrganisationId,
    )
    .execute(&mut *conn)
    .await?;
    let org_nom = organisation_name(conn, m).await?;
    enqueue(
        conn,
        new,
        "Confirmez votre nouvelle adresse mail",
        &format!(
            "La structure {org_nom} a indiqué cette adresse pour votre compte Habilitations.\n\nPour la confirmer, ouvrez ce lien (valable 48 heures) : {}\n\nSi vous n'êtes pas concerné(e), ignorez ce message : rien ne change.",
            link(&format!("/compte/confirmer-adresse?jeton={token}"))
        ),
    )
    .await?;
    enqueue(
        conn,
        old,
        "Changement d'adresse mail demandé",
        &format!(
            "La structure {org_nom} a demandé que l'adresse de votre compte Habilitations devienne {new}.\n\nVotre adresse actuelle reste valable tant que la nouvelle n'est pas confirmée. Si vous n'êtes pas à l'origine de cette demande, contactez l'administrateur de la structure."
        ),
    )
    .await?;
    Ok(())
}

/// The owner of the new address follows the link: the address becomes the
/// account's (if no other account took it meanwhile). Returns the user.
pub async fn confirm_email_change(conn: &mut PgConnection, token: &str) -> AppResult<UserId> {
    let row = sqlx::query!(
        "update email_changes set confirmed_at = now()
          where token_hash = $1 and confirmed_at is null and expires_at > now()
          returning user_id, new_email, requested_by, organisation_id",
        crate::auth::ssr::sha256_hex(token.trim()),
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|r| (r.user_id, r.new_email, r.requested_by, r.organisation_id));
    let Some((uid, new_email, requested_by, org)) = row else {
        return Err(AppError::Conflict(
            "Ce lien de confirmation n'est plus valable (déjà utilisé, remplacé ou expiré).".into(),
        ));
    };
    let old = sqlx::query_scalar!("select email from users where id = $1 for update", uid)
        .fetch_one(&mut *conn)
        .await?;
    let updated = sqlx::query!(
        "update users set email = $2, email_verified_at = now() where id = $1",
        uid,
        &new_email,
    )
    .execute(&mut *conn)
    .await;
    match updated {
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("users_email_key") => {
            return Err(AppError::Conflict(
                "Cette adresse est déjà celle d'un autre compte : elle ne peut pas être reprise."
                    .into(),
            ));
        }
        r => {
            r?;
        }
    }
    crate::audit::ssr::record(
        conn,
        crate::audit::ssr::Event {
            actor_id: requested_by,
            organisation_id: org,
            action: "utilisateur.email_confirme",
            target_type: "utilisateur",
            target_id: Some(uid),
            before: Some(serde_json::json!({"email": old})),
            after: Some(serde_json::json!({"email": new_email})),
        },
    )
    .await?;
    Ok(UserId(uid))
}
