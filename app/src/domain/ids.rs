//! Ids of the objects a mix-up would confuse: a function taking a
//! `UserId` and an `OrganisationId` cannot be called with them swapped.
//! Ids are not proofs of anything (they come from the wire); the
//! capabilities in `session` are. Server functions take them (they cross
//! the wire as plain numbers); `Default` is 0, "none" in a form.
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A person's account (`users.id`).
    UserId
);
id_type!(
    /// A structure (`organisations.id`).
    OrganisationId
);
id_type!(
    /// A role of an application (`roles.id`).
    RoleId
);
id_type!(
    /// A convention of a structure (`conventions.id`).
    ConventionId
);
id_type!(
    /// A user group of a structure (`user_groups.id`).
    GroupId
);
id_type!(
    /// An application, a démarche (`applications.id`).
    ApplicationId
);
id_type!(
    /// One dated membership of a group (`group_memberships.id`).
    MembershipId
);
id_type!(
    /// A right held directly (`grants.id`).
    GrantId
);
id_type!(
    /// A unit (service) of a structure (`units.id`).
    UnitId
);
id_type!(
    /// An invitation to join a structure (`membership_invitations.id`).
    InvitationId
);
id_type!(
    /// An access request (`access_requests.id`).
    RequestId
);
