-- Units ("services" of a structure): a code unique within the
-- organisation, a libellé, an active flag and the "numéro d'engagement
-- obligatoire" flag. A membership may be at one unit of its organisation.
create table units (
    id              bigint generated always as identity primary key,
    organisation_id bigint not null references organisations (id),
    code            text not null check (code ~ '^[A-Z0-9_-]{1,30}$'),
    libelle         text not null check (length(libelle) between 1 and 200),
    active          boolean not null default true,
    numero_engagement_obligatoire boolean not null default false,
    created_at      timestamptz not null default now(),
    constraint units_code_key unique (organisation_id, code),
    unique (organisation_id, id)
);

alter table memberships
    add column unit_id bigint,
    -- The unit belongs to the membership's own organisation.
    add constraint memberships_unit_fk foreign key (organisation_id, unit_id) references units (organisation_id, id);
