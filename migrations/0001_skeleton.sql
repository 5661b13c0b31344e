-- Walking skeleton: accounts, organisations, catalogue, grants, access
-- requests, the audit journal and the mail outbox.
-- Rules live here as constraints so that no code path can break them.

create extension if not exists pg_trgm;

-- People with a login. Status "Ouvert/Clôturé" follows date_cloture.
create table users (
    id              bigint generated always as identity primary key,
    identifier      text not null unique check (identifier ~ '^[A-Z0-9]{10}$'),
    civilite        text not null check (civilite in ('M', 'Mme')),
    nom             text not null check (length(nom) between 1 and 100),
    prenom          text not null check (length(prenom) between 1 and 100),
    email           text not null check (email = lower(email) and position('@' in email) > 1),
    email_verified_at timestamptz,
    telephone       text,
    password_hash   text,
    is_operator     boolean not null default false,
    -- Bumped to end every session of the user (password reset, closure).
    session_generation int not null default 0,
    poste           text not null default 'sedentaire' check (poste in ('sedentaire', 'itinerant')),
    date_ouverture  date not null default current_date,
    date_cloture    date,
    created_at      timestamptz not null default now(),
    check (date_cloture is null or date_cloture >= date_ouverture)
);
create unique index users_email_key on users (email);
-- Name searches ("Utilisateurs du service", later "Liste des agents").
create index users_nom_trgm on users using gin (nom gin_trgm_ops, prenom gin_trgm_ops);
create index users_sort_name on users (nom, prenom, id);

-- Single-use tokens sent by email (verification, password reset). Only the
-- SHA-256 of the token is stored, so a database leak gives no usable link.
create table email_tokens (
    token_hash  text primary key,
    user_id     bigint not null references users (id) on delete cascade,
    purpose     text not null check (purpose in ('verify', 'reset')),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    created_at  timestamptz not null default now()
);
create index email_tokens_user on email_tokens (user_id, purpose);

-- Login failures are rows (not process memory) so every instance sees them.
create table login_failures (
    id      bigint generated always as identity primary key,
    email   text not null,
    ip      text not null,
    at      timestamptz not null default now()
);
create index login_failures_email_at on login_failures (email, at);
create index login_failures_ip_at on login_failures (ip, at);

-- The SIRENE directory (local adapter), loaded from a stock CSV extract that
-- keeps INSEE's column names.
create table sirene_etablissements (
    siret           text primary key check (siret ~ '^[0-9]{14}$'),
    siren           text not null,
    denomination    text not null,
    enseigne        text,
    adresse         text not null default '',
    code_postal     text not null default '',
    commune         text not null default '',
    etat_administratif text not null check (etat_administratif in ('A', 'F'))
);

-- Organisations ("structures"), identified by SIRET.
create table organisations (
    id          bigint generated always as identity primary key,
    siret       text not null unique check (siret ~ '^[0-9]{14}$'),
    nom         text not null,
    adresse     text not null default '',
    active      boolean not null default true,
    created_by  bigint references users (id),
    created_at  timestamptz not null default now()
);
create index organisations_nom_trgm on organisations using gin (nom gin_trgm_ops);

-- A user attached to an organisation ("rattachement"). admin_role marks the
-- primary manager (exactly one per organisation) and organisation admins.
create table memberships (
    user_id         bigint not null references users (id),
    organisation_id bigint not null references organisations (id),
    admin_role      text check (admin_role in ('primary_manager', 'org_admin')),
    created_at      timestamptz not null default now(),
    primary key (user_id, organisation_id)
);
create index memberships_org on memberships (organisation_id);
create unique index memberships_one_primary_manager
    on memberships (organisation_id) where admin_role = 'primary_manager';

-- Catalogue: online services ("démarches") and their roles.
create table applications (
    id          bigint generated always as identity primary key,
    code        text not null unique check (code ~ '^[a-z0-9-]{2,40}$'),
    libelle     text not null,
    description text not null default '',
    position    int not null default 0
);

create table roles (
    id              bigint generated always as identity primary key,
    application_id  bigint not null references applications (id),
    code            text not null,
    libelle         text not null,
    position        int not null default 0,
    unique (application_id, code),
    unique (application_id, id)
);

-- A right held by a user inside one organisation, with dates. Later issues
-- add group holders (group_id) and unit scope: the holder check is the
-- only thing that widens.
create table grants (
    id              bigint generated always as identity primary key,
    role_id         bigint not null references roles (id),
    organisation_id bigint not null references organisations (id),
    user_id         bigint not null references users (id),
    starts_on       date not null default current_date,
    ends_on         date,
    granted_by      bigint references users (id),
    created_at      timestamptz not null default now(),
    check (ends_on is null or ends_on >= starts_on)
);
-- One open direct grant of a role per user and organisation.
create unique index grants_one_open on grants (user_id, organisation_id, role_id) where ends_on is null;
create index grants_org_role on grants (organisation_id, role_id);

-- Access requests: a role on an application for an organisation.
create table access_requests (
    id              bigint generated always as identity primary key,
    requester_id    bigint not null references users (id),
    organisation_id bigint not null references organisations (id),
    role_id         bigint not null references roles (id),
    message         text not null default '' check (length(message) <= 1000),
    status          text not null default 'pending'
                    check (status in ('pending', 'accepted', 'refused', 'cancelled', 'expired')),
    created_at      timestamptz not null default now(),
    decided_by      bigint references users (id),
    decided_at      timestamptz,
    decision_comment text not null default '',
    -- Nobody decides their own request.
    check (decided_by is null or decided_by <> requester_id),
    check ((status = 'pending') = (decided_at is null) or status in ('cancelled', 'expired'))
);
-- One pending request for the same role at a time.
create unique index access_requests_one_pending
    on access_requests (requester_id, organisation_id, role_id) where status = 'pending';
create index access_requests_org_pending on access_requests (organisation_id, role_id) where status = 'pending';
create index access_requests_requester on access_requests (requester_id, created_at desc);

-- The journal: append-only. Later issues chain each row to the previous hash.
create table audit_events (
    id              bigint generated always as identity primary key,
    at              timestamptz not null default now(),
    actor_id        bigint references users (id),
    organisation_id bigint references organisations (id),
    action          text not null,
    target_type     text not null,
    target_id       bigint,
    before          jsonb,
    after           jsonb,
    ip              text
);
create index audit_events_org_at on audit_events (organisation_id, id desc);

create function audit_events_refuse_change() returns trigger language plpgsql as $$
begin
    raise exception 'le journal est en ajout seul (append-only)';
end $$;
create trigger audit_events_append_only
    before update or delete or truncate on audit_events
    for each statement execute function audit_events_refuse_change();

-- Outgoing mail, written in the same transaction as the change that causes
-- it; workers deliver with FOR UPDATE SKIP LOCKED.
create table outbox (
    id          bigint generated always as identity primary key,
    to_email    text not null,
    subject     text not null,
    body        text not null,
    created_at  timestamptz not null default now(),
    sent_at     timestamptz,
    attempts    int not null default 0,
    last_error  text
);
create index outbox_unsent on outbox (id) where sent_at is null;
