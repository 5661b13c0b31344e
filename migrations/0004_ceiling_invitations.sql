-- Services activated for an organisation ("démarches activées", the seed of
-- conventions) and the roles each may hand out: the ceiling. No grant can
-- fall outside it, whatever path writes it.

alter table applications
    -- Activated, with all its roles, for every new organisation.
    add column activation_par_defaut boolean not null default false;

create table organisation_applications (
    organisation_id bigint not null references organisations (id),
    application_id  bigint not null references applications (id),
    activated_by    bigint references users (id),
    activated_at    timestamptz not null default now(),
    primary key (organisation_id, application_id)
);

create table organisation_roles (
    organisation_id bigint not null,
    application_id  bigint not null,
    role_id         bigint not null,
    primary key (organisation_id, role_id),
    foreign key (organisation_id, application_id)
        references organisation_applications (organisation_id, application_id) on delete cascade,
    foreign key (application_id, role_id) references roles (application_id, id)
);
create index organisation_roles_app on organisation_roles (organisation_id, application_id);

create function grants_within_ceiling() returns trigger language plpgsql as $$
begin
    if not exists (select 1 from organisation_roles
                    where organisation_id = new.organisation_id and role_id = new.role_id) then
        raise exception using
            errcode = 'check_violation',
            constraint = 'grants_within_ceiling',
            message = 'rôle hors des démarches activées pour la structure';
    end if;
    return new;
end $$;
create trigger grants_within_ceiling
    before insert or update of role_id, organisation_id on grants
    for each row execute function grants_within_ceiling();

-- New organisations get the applications activated by default.
create function organisations_default_services() returns trigger language plpgsql as $$
begin
    insert into organisation_applications (organisation_id, application_id)
        select new.id, a.id from applications a where a.activation_par_defaut;
    insert into organisation_roles (organisation_id, application_id, role_id)
        select new.id, r.application_id, r.id
          from roles r join applications a on a.id = r.application_id
         where a.activation_par_defaut;
    return new;
end $$;
create trigger organisations_default_services
    after insert on organisations
    for each row execute function organisations_default_services();

-- Existing data stays valid: what is already granted is activated.
insert into organisation_applications (organisation_id, application_id)
    select distinct g.organisation_id, r.application_id from grants g join roles r on r.id = g.role_id
    on conflict do nothing;
insert into organisation_roles (organisation_id, application_id, role_id)
    select distinct g.organisation_id, r.application_id, r.id from grants g join roles r on r.id = g.role_id
    on conflict do nothing;

-- A right ended the day it started holds for no day: ends_on may be the
-- day before starts_on (closing a user or a service ends rights "from
-- today", i.e. ends_on = yesterday).
alter table grants drop constraint grants_check;
alter table grants add constraint grants_dates check (ends_on is null or ends_on >= starts_on - 1);
create index grants_user on grants (user_id, organisation_id);

-- Invitations: an account created by an administrator has no password
-- until its owner follows the emailed link.
alter table email_tokens drop constraint email_tokens_purpose_check;
alter table email_tokens add constraint email_tokens_purpose_check
    check (purpose in ('verify', 'reset', 'invite'));

-- Who created an account (null: the person signed up).
alter table users add column created_by bigint references users (id);
