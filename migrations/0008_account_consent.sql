-- Consent and ownership of accounts ("Hold under attack").
-- 1. The structure an account belongs to: the one whose manager created it
--    (or through which it was created, e.g. its CSV import). Null for a
--    person who signed up themselves and for operators. A structure's
--    managers may edit a person's fiche only when the account is theirs
--    and the person belongs to no other structure.
alter table users add column home_organisation_id bigint references organisations (id);
update users u set home_organisation_id = (
        select m.organisation_id from memberships m
         where m.user_id = u.id order by m.created_at, m.organisation_id limit 1)
 where u.created_by is not null and not u.is_operator;

-- 2. Attaching a person who already has an account is an invitation they
--    accept (or decline) once signed in, never a silent attachment.
create table membership_invitations (
    id              bigint generated always as identity primary key,
    organisation_id bigint not null references organisations (id),
    user_id         bigint not null references users (id),
    unit_id         bigint references units (id),
    invited_by      bigint references users (id),
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    answered_at     timestamptz,
    accepted        boolean,
    check ((answered_at is null) = (accepted is null))
);
-- One open invitation per person and structure.
create unique index membership_invitations_one_open
    on membership_invitations (organisation_id, user_id) where answered_at is null;
create index membership_invitations_user on membership_invitations (user_id) where answered_at is null;

-- 3. A change of email made on someone else's fiche waits for a link sent
--    to the new address; the old address stays valid until then. Only the
--    SHA-256 of the token is stored.
create table email_changes (
    token_hash   text primary key,
    user_id      bigint not null references users (id),
    new_email    text not null check (new_email = lower(new_email) and position('@' in new_email) > 1),
    requested_by bigint references users (id),
    organisation_id bigint references organisations (id),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    confirmed_at timestamptz
);
create index email_changes_user on email_changes (user_id) where confirmed_at is null;

-- 4. Nobody grants a right to themselves, whatever path writes it (rows
--    written before this rule are kept as history: NOT VALID).
alter table grants add constraint grants_not_self
    check (granted_by is null or granted_by <> user_id) not valid;
