//! Who is calling: the session, the signed-in user, and the capabilities
//! (operator, organisation manager) that privileged queries require.
use crate::domain::{GroupId, OrganisationId, UserId};
use crate::error::{AppError, AppResult};
use crate::state::pool;
use tower_sessions::Session;

const USER_KEY: &str = "uid";
const GENERATION_KEY: &str = "gen";
const ORGANISATION_KEY: &str = "org";

/// A signed-in, open (not closed) user. Only `current_user` makes one.
#[derive(Debug, Clone)]
pub struct Authenticated {
    id: UserId,
    is_operator: bool,
}

/// Proof that the caller is an operator of the platform. Built only by
/// `require_operator` (or `Authenticated::operator`).
#[derive(Debug, Clone)]
pub struct Operator {
    id: UserId,
}

/// The caller's rank in an organisation: what they may do to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// An operator of the platform (belongs to no structure).
    Operator,
    /// The structure's gestionnaire principal.
    PrimaryManager,
    /// An administrator named by the operator.
    OrgAdmin,
}

/// Proof that the caller may administer one organisation (its primary
/// manager, one of its admins, or an operator), with their rank. Built
/// only by `Authenticated::manager_of`: its fields are private, so no
/// other code can forge one.
///
/// ```compile_fail
/// use app::domain::{OrganisationId, UserId};
/// use app::session::{OrgManager, Rank};
/// // Outside its module an OrgManager cannot be written down:
/// let forged = OrgManager { user_id: UserId(1), organisation_id: OrganisationId(2), rank: Rank::PrimaryManager };
/// ```
///
/// Only its check and its accessors are public:
///
/// ```
/// use app::session::{Authenticated, OrgManager};
/// async fn _reach(me: &Authenticated) -> app::error::AppResult<OrgManager> {
///     me.manager_of(app::domain::OrganisationId(2)).await
/// }
/// fn _read(m: &OrgManager) -> (i64, i64) {
///     (m.user_id().get(), m.organisation_id().get())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct OrgManager {
    user_id: UserId,
    organisation_id: OrganisationId,
    rank: Rank,
}

/// Proof that the caller is the responsable habilitations of an open
/// group of an active structure, or of one of its ancestors: they
/// administer that group's users within what it holds (CAF « dans la
/// limite de ce qui lui est confié par son N+1 »). Built only by
/// `Authenticated::group_manager_of`; the queries of a responsable's
/// actions require it.
///
/// ```compile_fail
/// use app::domain::{GroupId, OrganisationId, UserId};
/// use app::session::GroupManager;
/// let forged = GroupManager { user_id: UserId(1), organisation_id: OrganisationId(2), group_id: GroupId(3) };
/// ```
#[derive(Debug, Clone)]
pub struct GroupManager {
    user_id: UserId,
    organisation_id: OrganisationId,
    group_id: GroupId,
}

/// Who may act on a group's users: a manager of its structure (or the
/// operator), or a responsable habilitations whose reach holds the group.
#[derive(Debug, Clone)]
pub enum GroupActor {
    Manager(OrgManager),
    Responsable(GroupManager),
}

pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = ?e, "session layer missing");
        AppError::Internal
    })
}

/// Starts a fresh session for `user_id`: a new session id (no fixation).
pub async fn sign_in(user_id: UserId, generation: i32) -> AppResult<()> {
    let s = session().await?;
    s.cycle_id().await.map_err(session_err)?;
    s.insert(USER_KEY, user_id.get())
        .await
        .map_err(session_err)?;
    s.insert(GENERATION_KEY, generation)
        .await
        .map_err(session_err)?;
    Ok(())
}

/// Remembers the organisation the user works in (header switcher).
pub async fn set_current_organisation(organisation_id: i64) -> AppResult<()> {
    session()
        .await?
        .insert(ORGANISATION_KEY, organisation_id)
        .await
        .map_err(session_err)
}

pub async fn current_organisation() -> AppResult<Option<i64>> {
    session()
        .await?
        .get::<i64>(ORGANISATION_KEY)
        .await
        .map_err(session_err)
}

pub async fn sign_out() -> AppResult<()> {
    session().await?.flush().await.map_err(session_err)
}

fn session_err(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::Internal
}

/// The signed-in user, if the session is still valid: the account is open
/// and no reset has ended its sessions since.
pub async fn current_user() -> AppResult<Option<Authenticated>> {
    let s = session().await?;
    let Some(uid) = s.get::<i64>(USER_KEY).await.map_err(session_err)? else {
        return Ok(None);
    };
    let generation = s
        .get::<i32>(GENERATION_KEY)
        .await
        .map_err(session_err)?
        .unwrap_or(-1);
    let row = sqlx::query_scalar!(
        "select is_operator from users
          where id = $1 and session_generation = $2
            and (date_cloture is null or date_cloture > current_date)",
        uid,
        generation,
    )
    .fetch_optional(&pool())
    .await?;
    match row {
        Some(is_operator) => Ok(Some(Authenticated {
            id: UserId(uid),
            is_operator,
        })),
        None => {
            s.flush().await.map_err(session_err)?;
            Ok(None)
        }
    }
}

pub async fn require_user() -> AppResult<Authenticated> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

pub async fn require_operator() -> AppResult<Operator> {
    require_user().await?.operator().ok_or(AppError::Forbidden)
}

impl Authenticated {
    pub fn id(&self) -> UserId {
        self.id
    }

    pub fn is_operator(&self) -> bool {
        self.is_operator
    }

    /// The operator capability, when the caller is one.
    pub fn operator(&self) -> Option<Operator> {
        self.is_operator.then_some(Operator { id: self.id })
    }

    /// The capability to administer one organisation, checked in the
    /// database: a missing or foreign organisation gives `Forbidden`.
    pub async fn manager_of(
        &self,
        organisation_id: impl Into<OrganisationId>,
    ) -> AppResult<OrgManager> {
        let organisation_id = organisation_id.into();
        if self.is_operator {
            let exists = sqlx::query_scalar!(
                "select id from organisations where id = $1",
                organisation_id as OrganisationId
            )
            .fetch_optional(&pool())
            .await?;
            return match exists {
                Some(_) => Ok(OrgManager {
                    user_id: self.id,
                    organisation_id,
                    rank: Rank::Operator,
                }),
                None => Err(AppError::Forbidden),
            };
        }
        let row = sqlx::query_scalar!(
            r#"select m.admin_role as "admin_role!" from memberships m join organisations o on o.id = m.organisation_id
              where m.user_id = $1 and m.organisation_id = $2 and m.admin_role is not null and o.active"#,
            self.id as UserId,
            organisation_id as OrganisationId,
        )
        .fetch_optional(&pool())
        .await?;
        match row.as_deref() {
            Some("primary_manager") => Ok(OrgManager {
                user_id: self.id,
                organisation_id,
                rank: Rank::PrimaryManager,
            }),
            Some(_) => Ok(OrgManager {
                user_id: self.id,
                organisation_id,
                rank: Rank::OrgAdmin,
            }),
            None => Err(AppError::Forbidden),
        }
    }
}

impl Authenticated {
    /// The capability to administer one group's users: the caller is the
    /// responsable of the group or of one of its ancestors, each open
    /// today, in an active structure the caller is still attached to.
    /// Anything else (a foreign group, a closed one) gives `Forbidden`.
    pub async fn group_manager_of(&self, group_id: impl Into<GroupId>) -> AppResult<GroupManager> {
        let group_id = group_id.into();
        let row = sqlx::query_scalar!(
            r#"select r.organisation_id as "organisation_id!: OrganisationId" from responsable_reach($1, current_date) r
               join organisations o on o.id = r.organisation_id and o.active
               join memberships m on m.user_id = $1 and m.organisation_id = r.organisation_id
              where r.group_id = $2"#,
            self.id as UserId,
            group_id as GroupId,
        )
        .fetch_optional(&pool())
        .await?;
        match row {
            Some(org) => Ok(GroupManager {
                user_id: self.id,
                organisation_id: org,
                group_id,
            }),
            None => Err(AppError::Forbidden),
        }
    }

    /// A manager of the group's structure, else its responsable (or an
    /// ancestor's). The group must belong to `organisation_id`.
    pub async fn group_actor(
        &self,
        organisation_id: impl Into<OrganisationId>,
        group_id: impl Into<GroupId>,
    ) -> AppResult<GroupActor> {
        let (organisation_id, group_id) = (organisation_id.into(), group_id.into());
        let belongs = sqlx::query_scalar!(
            "select id from user_groups where id = $1 and organisation_id = $2",
            group_id as GroupId,
            organisation_id as OrganisationId,
        )
        .fetch_optional(&pool())
        .await?;
        if belongs.is_none() {
            return Err(AppError::Forbidden);
        }
        match self.manager_of(organisation_id).await {
            Ok(m) => Ok(GroupActor::Manager(m)),
            Err(AppError::Forbidden) => Ok(GroupActor::Responsable(
                self.group_manager_of(group_id).await?,
            )),
            Err(e) => Err(e),
        }
    }

    /// Who acts on one person's account (« Modifier un utilisateur »,
    /// closing it): a manager of the structure, else a responsable
    /// habilitations, through a group of theirs the person is an open or
    /// future member of. `users::ssr` checks the rest of the reach (ranks,
    /// the person's own responsabilities). Anyone else: `Forbidden`.
    pub async fn account_actor(
        &self,
        organisation_id: impl Into<OrganisationId>,
        user_id: UserId,
    ) -> AppResult<GroupActor> {
        let organisation_id = organisation_id.into();
        match self.manager_of(organisation_id).await {
            Ok(m) => return Ok(GroupActor::Manager(m)),
            Err(AppError::Forbidden) => {}
            Err(e) => return Err(e),
        }
        let row = sqlx::query_scalar!(
            r#"select gm.group_id as "group_id: GroupId" from group_memberships gm
              where gm.user_id = $3 and gm.organisation_id = $2
                and (gm.date_cloture is null or gm.date_cloture > current_date)
                and gm.group_id in (select group_id from responsable_reach($1, current_date) where organisation_id = $2)
                and exists (select 1 from reached_users($1, current_date) r
                             where r.user_id = $3 and r.organisation_id = $2)
              order by gm.group_id limit 1"#,
            self.id as UserId,
            organisation_id as OrganisationId,
            user_id as UserId,
        )
        .fetch_optional(&pool())
        .await?;
        let group = row.ok_or(AppError::Forbidden)?;
        Ok(GroupActor::Responsable(
            self.group_manager_of(group).await?,
        ))
    }

    /// For the lists a responsable habilitations reads too (« Liste des
    /// agents », « Groupes »): true for a manager of the structure (or the
    /// operator), false for the responsable of one of its open groups,
    /// `Forbidden` for anyone else.
    pub async fn manages_or_reaches(&self, organisation_id: OrganisationId) -> AppResult<bool> {
        match self.manager_of(organisation_id).await {
            Ok(_) => Ok(true),
            Err(AppError::Forbidden) if self.is_responsable_in(organisation_id).await? => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// True when the caller is the responsable of an open group of the
    /// structure.
    pub async fn is_responsable_in(&self, organisation_id: OrganisationId) -> AppResult<bool> {
        let row = sqlx::query_scalar!(
            "select r.group_id from responsable_reach($1, current_date) r
               join memberships m on m.user_id = $1 and m.organisation_id = r.organisation_id
              where r.organisation_id = $2 limit 1",
            self.id as UserId,
            organisation_id as OrganisationId,
        )
        .fetch_optional(&pool())
        .await?;
        Ok(row.is_some())
    }
}

impl GroupManager {
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn organisation_id(&self) -> OrganisationId {
        self.organisation_id
    }
    pub fn group_id(&self) -> GroupId {
        self.group_id
    }
}

impl GroupActor {
    pub fn user_id(&self) -> UserId {
        match self {
            GroupActor::Manager(m) => m.user_id(),
            GroupActor::Responsable(r) => r.user_id(),
        }
    }
    pub fn organisation_id(&self) -> OrganisationId {
        match self {
            GroupActor::Manager(m) => m.organisation_id(),
            GroupActor::Responsable(r) => r.organisation_id(),
        }
    }
    /// Nobody changes their own groups.
    pub fn not_self(&self, target: UserId) -> AppResult<()> {
        if target == self.user_id() {
            Err(AppError::Conflict(
                "Vous ne pouvez pas modifier vos propres groupes : un autre administrateur ou responsable doit le faire.".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// `Acting` is sealed: only the capabilities of this module implement it,
/// so no other type can stand in for a checked caller.
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::OrgManager {}
    impl Sealed for super::GroupActor {}
}

/// Who changes people's accounts and rights and writes in the journal: a
/// manager of the structure (or the operator) or a responsable
/// habilitations. The write paths on accounts (`users::ssr`) and on rights
/// (`rights`) take one, so both go through the same rules; a responsable's
/// reach is checked in the database by them. Sealed: implemented by
/// `OrgManager` and `GroupActor` only.
///
/// ```compile_fail
/// use app::session::Acting;
/// struct Forged;
/// impl Acting for Forged {
///     fn user_id(&self) -> app::domain::UserId { app::domain::UserId(1) }
///     fn organisation_id(&self) -> app::domain::OrganisationId { app::domain::OrganisationId(1) }
///     fn rank_number(&self) -> i16 { 4 }
///     fn outranks(&self, _: app::domain::UserId, _: Option<&str>) -> app::error::AppResult<()> { Ok(()) }
/// }
/// ```
pub trait Acting: sealed::Sealed {
    fn user_id(&self) -> UserId;
    fn organisation_id(&self) -> OrganisationId;
    /// The operator of the platform (who may change any non-operator account).
    fn is_operator(&self) -> bool {
        false
    }
    /// The responsable's capability, when the actor is one.
    fn responsable(&self) -> Option<&GroupManager> {
        None
    }
    /// 4 operator, 3 primary manager, 2 administrator, 1 responsable
    /// habilitations: kept with an account's closing, which only that rank
    /// or a higher one undoes.
    fn rank_number(&self) -> i16;
    /// Ranks are respected (see `OrgManager::outranks`); a responsable
    /// never acts on an administrator of the structure.
    fn outranks(&self, target: UserId, target_role: Option<&str>) -> AppResult<()>;
    /// An event made by this actor in their structure.
    fn event<'a>(
        &self,
        action: &'a str,
        target_type: &'a str,
        target_id: Option<i64>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> crate::audit::ssr::Event<'a> {
        crate::audit::ssr::Event::by(
            self.user_id(),
            Some(self.organisation_id()),
            action,
            target_type,
            target_id,
            before,
            after,
        )
    }
}

impl Acting for OrgManager {
    fn user_id(&self) -> UserId {
        self.user_id
    }
    fn organisation_id(&self) -> OrganisationId {
        self.organisation_id
    }
    fn is_operator(&self) -> bool {
        self.rank == Rank::Operator
    }
    fn rank_number(&self) -> i16 {
        match self.rank {
            Rank::Operator => 4,
            Rank::PrimaryManager => 3,
            Rank::OrgAdmin => 2,
        }
    }
    fn outranks(&self, target: UserId, target_role: Option<&str>) -> AppResult<()> {
        OrgManager::outranks(self, target, target_role)
    }
}

impl Acting for GroupActor {
    fn user_id(&self) -> UserId {
        GroupActor::user_id(self)
    }
    fn organisation_id(&self) -> OrganisationId {
        GroupActor::organisation_id(self)
    }
    fn is_operator(&self) -> bool {
        matches!(self, GroupActor::Manager(m) if m.is_operator())
    }
    fn responsable(&self) -> Option<&GroupManager> {
        match self {
            GroupActor::Manager(_) => None,
            GroupActor::Responsable(r) => Some(r),
        }
    }
    fn rank_number(&self) -> i16 {
        match self {
            GroupActor::Manager(m) => m.rank_number(),
            GroupActor::Responsable(_) => 1,
        }
    }
    fn outranks(&self, target: UserId, target_role: Option<&str>) -> AppResult<()> {
        match self {
            GroupActor::Manager(m) => m.outranks(target, target_role),
            GroupActor::Responsable(_) if target_role.is_some() => Err(AppError::Conflict(
                "Un responsable habilitations ne modifie ni ne clôture le compte d'un administrateur de la structure.".into(),
            )),
            GroupActor::Responsable(_) => Ok(()),
        }
    }
}

impl Operator {
    pub fn id(&self) -> UserId {
        self.id
    }
}

impl OrgManager {
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    pub fn organisation_id(&self) -> OrganisationId {
        self.organisation_id
    }

    pub fn rank(&self) -> Rank {
        self.rank
    }

    pub fn is_operator(&self) -> bool {
        self.rank == Rank::Operator
    }

    /// Nobody acts on their own rights: grants, Rôles, decisions, admin
    /// changes whose target is the caller are refused (the operator
    /// included).
    pub fn not_self(&self, target: UserId) -> AppResult<()> {
        if target == self.user_id {
            Err(AppError::Conflict(
                "Vous ne pouvez pas agir sur vos propres droits : un autre administrateur de la structure doit le faire.".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Ranks are respected: an organisation admin may not modify, close,
    /// detach or change the rights of the primary manager or of another
    /// admin (`target_role` is the target's `memberships.admin_role`).
    pub fn outranks(&self, target: UserId, target_role: Option<&str>) -> AppResult<()> {
        if self.rank == Rank::OrgAdmin && target != self.user_id && target_role.is_some() {
            return Err(AppError::Conflict(
                if target_role == Some("primary_manager") {
                    "Un administrateur ne peut pas modifier, clôturer ni détacher le gestionnaire principal de la structure."
                } else {
                    "Un administrateur ne peut pas modifier, clôturer ni détacher un autre administrateur : adressez-vous au gestionnaire principal ou à l'opérateur."
                }
                .into(),
            ));
        }
        Ok(())
    }
}
