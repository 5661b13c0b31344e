-- Delegated administration (the CAF model): dated conventions, user groups
-- with one responsable habilitations each, dated group memberships and
-- group rights, and the effective rights of a user on a date computed from
-- those dates when read.
--
-- Dates. A "date de clôture" is the first day something no longer holds
-- (users already work this way): X is open on day d when
--     date_ouverture <= d and (date_cloture is null or d < date_cloture),
-- so closing "today" stops it today, and a closing date of tomorrow keeps
-- it for today. Direct grants keep their inclusive `ends_on` (last day held,
-- 0001/0004). Nothing in this model is ever deleted: ending is dating.

create extension if not exists btree_gist;

-- 1. Conventions: what an organisation may hand out, for a period. The
--    ceiling of a structure on a date is the set of roles of its conventions
--    open on that date (and still listed in them on that date).
create table conventions (
    id              bigint generated always as identity primary key,
    organisation_id bigint not null references organisations (id),
    libelle         text not null check (length(btrim(libelle)) between 1 and 200),
    date_ouverture  date not null default current_date,
    date_cloture    date,
    created_by      bigint references users (id),
    created_at      timestamptz not null default now(),
    check (date_cloture is null or date_cloture >= date_ouverture),
    unique (organisation_id, id)
);
create index conventions_org on conventions (organisation_id, id);
create index conventions_lower_libelle on conventions (lower(libelle) text_pattern_ops, id);

-- The roles a convention allows, each with its own dates: removing a role
-- closes its row (today), adding it back opens a new one; the history of
-- what the convention allowed when stays.
create table convention_roles (
    id              bigint generated always as identity primary key,
    convention_id   bigint not null references conventions (id),
    application_id  bigint not null,
    role_id         bigint not null,
    date_ouverture  date not null default current_date,
    date_cloture    date,
    foreign key (application_id, role_id) references roles (application_id, id),
    check (date_cloture is null or date_cloture >= date_ouverture),
    -- A role is listed once at a time in a convention.
    constraint convention_roles_no_overlap exclude using gist
        (convention_id with =, role_id with =, daterange(date_ouverture, date_cloture, '[)') with &&)
);
create index convention_roles_role on convention_roles (role_id, convention_id);

-- The activated services of earlier migrations become one convention per
-- structure, open since the structure (or its oldest right) existed, so
-- that every current and past right stays within a convention.
insert into conventions (organisation_id, libelle, date_ouverture)
select o.id, 'Démarches activées',
       least(o.created_at::date, coalesce((select min(g.starts_on) from grants g where g.organisation_id = o.id), o.created_at::date))
  from organisations o
 where exists (select 1 from organisation_applications oa where oa.organisation_id = o.id);
insert into convention_roles (convention_id, application_id, role_id, date_ouverture)
select c.id, orl.application_id, orl.role_id, c.date_ouverture
  from organisation_roles orl join conventions c on c.organisation_id = orl.organisation_id;

drop trigger grants_within_ceiling on grants;
drop trigger organisations_default_services on organisations;
drop function organisations_default_services();
drop table organisation_roles;
drop table organisation_applications;

-- Readers of the former tables keep their names: the ceiling today.
create view organisation_roles as
select distinct c.organisation_id, cr.application_id, cr.role_id
  from conventions c join convention_roles cr on cr.convention_id = c.id
 where c.date_ouverture <= current_date and (c.date_cloture is null or c.date_cloture > current_date)
   and cr.date_ouverture <= current_date and (cr.date_cloture is null or cr.date_cloture > current_date);
create view organisation_applications as
select distinct organisation_id, application_id from organisation_roles;

-- True when organisation `org` may hand out `role` on some day of
-- [from_day, until_day] (until_day null: open-ended). Used by the triggers.
create function convention_allows(org bigint, role bigint, from_day date, until_day date)
returns boolean language sql stable as $$
    select exists (
        select 1 from conventions c join convention_roles cr on cr.convention_id = c.id
         where c.organisation_id = org and cr.role_id = role
           and daterange(c.date_ouverture, c.date_cloture, '[)')
             * daterange(cr.date_ouverture, cr.date_cloture, '[)')
            && daterange(from_day, until_day, '[]'))
$$;

-- New organisations get, in a convention of their own, the applications
-- activated by default (all their roles).
create function organisations_default_services() returns trigger language plpgsql as $$
declare
    cid bigint;
begin
    if exists (select 1 from applications where activation_par_defaut) then
        insert into conventions (organisation_id, libelle) values (new.id, 'Services activés par défaut')
        returning id into cid;
        insert into convention_roles (convention_id, application_id, role_id)
        select cid, r.application_id, r.id
          from roles r join applications a on a.id = r.application_id
         where a.activation_par_defaut;
    end if;
    return new;
end $$;
create trigger organisations_default_services
    after insert on organisations
    for each row execute function organisations_default_services();

-- 2. The ceiling of direct grants, whatever path writes them: the role is
--    allowed by a convention of the structure on some day of the right that
--    is not already past.
create or replace function grants_within_ceiling() returns trigger language plpgsql as $$
begin
    -- A right already over before today gives nothing: history as written.
    if new.ends_on is not null and new.ends_on < greatest(new.starts_on, current_date) then
        return new;
    end if;
    if not convention_allows(new.organisation_id, new.role_id,
                             greatest(new.starts_on, current_date), new.ends_on) then
        raise exception using
            errcode = 'check_violation',
            constraint = 'grants_within_ceiling',
            message = 'rôle hors des conventions ouvertes de la structure';
    end if;
    return new;
end $$;
create trigger grants_within_ceiling
    before insert or update of role_id, organisation_id, starts_on on grants
    for each row execute function grants_within_ceiling();

-- 3. User groups. A group lives in one convention of its structure (its
--    roles come from there); a subgroup is in its parent's convention and
--    structure (composite foreign key), without cycles; niveau is its depth
--    (1 at the top), kept by the triggers below.
create table user_groups (
    id              bigint generated always as identity primary key,
    organisation_id bigint not null references organisations (id),
    convention_id   bigint not null,
    code            text not null check (code ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,29}$'),
    libelle         text not null check (length(btrim(libelle)) between 1 and 200),
    parent_id       bigint,
    niveau          int not null default 1 check (niveau >= 1),
    date_ouverture  date not null default current_date,
    date_cloture    date,
    -- The responsable habilitations: exactly one per group.
    responsable_id  bigint not null references users (id),
    created_by      bigint references users (id),
    created_at      timestamptz not null default now(),
    check (date_cloture is null or date_cloture >= date_ouverture),
    check (parent_id is null or parent_id <> id),
    unique (organisation_id, id),
    unique (organisation_id, convention_id, id),
    foreign key (organisation_id, convention_id) references conventions (organisation_id, id),
    foreign key (organisation_id, convention_id, parent_id)
        references user_groups (organisation_id, convention_id, id)
);
-- The code is unique among the structure's groups (closed ones included).
create unique index user_groups_code_key on user_groups (organisation_id, upper(code));
create index user_groups_org_lower_libelle on user_groups (organisation_id, lower(libelle) text_pattern_ops);
create index user_groups_parent on user_groups (parent_id) where parent_id is not null;
create index user_groups_responsable on user_groups (responsable_id);
create index user_groups_convention on user_groups (convention_id);

-- Rights of a group, dated like everything else.
create table group_grants (
    id              bigint generated always as identity primary key,
    group_id        bigint not null references user_groups (id),
    role_id         bigint not null references roles (id),
    date_ouverture  date not null default current_date,
    date_cloture    date,
    granted_by      bigint references users (id),
    created_at      timestamptz not null default now(),
    check (date_cloture is null or date_cloture >= date_ouverture),
    constraint group_grants_no_overlap exclude using gist
        (group_id with =, role_id with =, daterange(date_ouverture, date_cloture, '[)') with &&)
);
create index group_grants_role on group_grants (role_id);

-- A user in a group, with dates. Two memberships of one user in one group
-- never overlap; nobody adds themselves to a group.
create table group_memberships (
    id              bigint generated always as identity primary key,
    group_id        bigint not null,
    organisation_id bigint not null,
    user_id         bigint not null references users (id),
    date_ouverture  date not null default current_date,
    date_cloture    date,
    added_by        bigint references users (id),
    created_at      timestamptz not null default now(),
    foreign key (organisation_id, group_id) references user_groups (organisation_id, id),
    check (date_cloture is null or date_cloture >= date_ouverture),
    constraint group_memberships_not_self check (added_by is null or added_by <> user_id),
    constraint group_memberships_no_overlap exclude using gist
        (group_id with =, user_id with =, daterange(date_ouverture, date_cloture, '[)') with &&)
);
-- A user's groups (effective rights), a group's users (Liste des agents
-- filtered by group, Utilisateurs du groupe).
create index group_memberships_user on group_memberships (user_id, group_id);
create index group_memberships_group on group_memberships (group_id, user_id);

-- 4. Rules on groups, in the database.
create function user_groups_rules() returns trigger language plpgsql as $$
declare
    p user_groups;
begin
    -- The responsable belongs to the structure and is an open account.
    if tg_op = 'INSERT' or new.responsable_id is distinct from old.responsable_id then
        if not exists (select 1 from memberships m join users u on u.id = m.user_id
                        where m.user_id = new.responsable_id and m.organisation_id = new.organisation_id
                          and (u.date_cloture is null or u.date_cloture > current_date)) then
            raise exception 'le responsable habilitations doit être un utilisateur ouvert de la structure'
                using errcode = 'check_violation', constraint = 'user_groups_responsable_member';
        end if;
    end if;
    if tg_op = 'INSERT' or new.parent_id is distinct from old.parent_id then
        if new.parent_id is null then
            new.niveau := 1;
        else
            select * into p from user_groups where id = new.parent_id;
            -- No cycle: the new parent is not the group itself nor one of its subgroups.
            if tg_op = 'UPDATE' and exists (
                with recursive anc as (
                    select id, parent_id from user_groups where id = new.parent_id
                    union all
                    select g.id, g.parent_id from user_groups g join anc on g.id = anc.parent_id)
                select 1 from anc where anc.id = new.id) then
                raise exception 'un groupe ne peut pas être sous-groupe de lui-même ni de ses sous-groupes'
                    using errcode = 'check_violation', constraint = 'user_groups_no_cycle';
            end if;
            if p.date_cloture is not null and p.date_cloture <= greatest(new.date_ouverture, current_date) then
                raise exception 'le groupe parent est clôturé'
                    using errcode = 'check_violation', constraint = 'user_groups_parent_open';
            end if;
            -- A subgroup holds only roles its (new) parent holds.
            if tg_op = 'UPDATE' and exists (
                select 1 from group_grants gg
                 where gg.group_id = new.id and (gg.date_cloture is null or gg.date_cloture > current_date)
                   and not exists (select 1 from group_grants pg
                                    where pg.group_id = new.parent_id and pg.role_id = gg.role_id
                                      and daterange(pg.date_ouverture, pg.date_cloture, '[)')
                                          @> daterange(greatest(gg.date_ouverture, current_date), gg.date_cloture, '[)'))) then
                raise exception 'le nouveau groupe parent ne détient pas tous les rôles du groupe'
                    using errcode = 'check_violation', constraint = 'group_grants_within_parent';
            end if;
            new.niveau := p.niveau + 1;
        end if;
    end if;
    return new;
end $$;
create trigger user_groups_rules before insert or update on user_groups
    for each row execute function user_groups_rules();

-- Depth follows the parent; closing a group closes its subgroups, its
-- memberships and its rights from the same date (its users stay open).
create function user_groups_cascade() returns trigger language plpgsql as $$
begin
    if new.niveau is distinct from old.niveau then
        update user_groups set niveau = new.niveau + 1 where parent_id = new.id;
    end if;
    if new.date_cloture is not null and new.date_cloture is distinct from old.date_cloture then
        update user_groups set date_cloture = greatest(date_ouverture, new.date_cloture)
         where parent_id = new.id and (date_cloture is null or date_cloture > new.date_cloture);
        update group_memberships set date_cloture = greatest(date_ouverture, new.date_cloture)
         where group_id = new.id and (date_cloture is null or date_cloture > new.date_cloture);
        update group_grants set date_cloture = greatest(date_ouverture, new.date_cloture)
         where group_id = new.id and (date_cloture is null or date_cloture > new.date_cloture);
    end if;
    return null;
end $$;
create trigger user_groups_cascade after update on user_groups
    for each row execute function user_groups_cascade();

-- A group's right: within its convention (the role listed and the
-- convention open, not already ended), the group open, and for a subgroup
-- held by the parent over the whole period.
create function group_grants_rules() returns trigger language plpgsql as $$
declare
    g user_groups;
begin
    -- A right that holds no day from today on gives nothing.
    if new.date_cloture is not null and new.date_cloture <= greatest(new.date_ouverture, current_date) then
        return new;
    end if;
    select * into g from user_groups where id = new.group_id;
    if g.date_cloture is not null and g.date_cloture <= greatest(new.date_ouverture, current_date) then
        raise exception 'le groupe est clôturé'
            using errcode = 'check_violation', constraint = 'group_grants_group_open';
    end if;
    if not exists (
        select 1 from conventions c join convention_roles cr on cr.convention_id = c.id
         where c.id = g.convention_id and cr.role_id = new.role_id
           and (c.date_cloture is null or c.date_cloture > current_date)
           and (cr.date_cloture is null or cr.date_cloture > current_date)) then
        raise exception 'rôle hors de la convention du groupe'
            using errcode = 'check_violation', constraint = 'group_grants_within_convention';
    end if;
    if g.parent_id is not null and not exists (
        select 1 from group_grants pg
         where pg.group_id = g.parent_id and pg.role_id = new.role_id
           and daterange(pg.date_ouverture, pg.date_cloture, '[)')
               @> daterange(greatest(new.date_ouverture, current_date), new.date_cloture, '[)')) then
        raise exception 'un sous-groupe ne détient que des rôles de son groupe parent'
            using errcode = 'check_violation', constraint = 'group_grants_within_parent';
    end if;
    return new;
end $$;
create trigger group_grants_rules before insert or update of group_id, role_id, date_ouverture on group_grants
    for each row execute function group_grants_rules();

-- Ending a parent's right ends it in the subgroups from the same date.
create function group_grants_cascade() returns trigger language plpgsql as $$
begin
    if new.date_cloture is not null and new.date_cloture is distinct from old.date_cloture then
        update group_grants set date_cloture = greatest(date_ouverture, new.date_cloture)
         where role_id = new.role_id
           and group_id in (select id from user_groups where parent_id = new.group_id)
           and (date_cloture is null or date_cloture > new.date_cloture);
    end if;
    return null;
end $$;
create trigger group_grants_cascade after update of date_cloture on group_grants
    for each row execute function group_grants_cascade();

-- A role removed from a convention (or the convention closed) ends the
-- groups' rights on it from the same date.
create function convention_roles_cascade() returns trigger language plpgsql as $$
begin
    if new.date_cloture is not null and new.date_cloture is distinct from old.date_cloture then
        update group_grants gg set date_cloture = greatest(gg.date_ouverture, new.date_cloture)
          from user_groups g
         where g.id = gg.group_id and g.convention_id = new.convention_id and gg.role_id = new.role_id
           and (gg.date_cloture is null or gg.date_cloture > new.date_cloture);
    end if;
    return null;
end $$;
create trigger convention_roles_cascade after update of date_cloture on convention_roles
    for each row execute function convention_roles_cascade();

create function conventions_cascade() returns trigger language plpgsql as $$
begin
    if new.date_cloture is not null and new.date_cloture is distinct from old.date_cloture then
        update convention_roles set date_cloture = greatest(date_ouverture, new.date_cloture)
         where convention_id = new.id and (date_cloture is null or date_cloture > new.date_cloture);
    end if;
    return null;
end $$;
create trigger conventions_cascade after update of date_cloture on conventions
    for each row execute function conventions_cascade();

-- A member is attached to the group's structure, and the group is not
-- closed before the membership opens.
create function group_memberships_rules() returns trigger language plpgsql as $$
begin
    if not exists (select 1 from memberships m
                    where m.user_id = new.user_id and m.organisation_id = new.organisation_id) then
        raise exception 'l''utilisateur n''est pas rattaché à la structure du groupe'
            using errcode = 'check_violation', constraint = 'group_memberships_member';
    end if;
    if exists (select 1 from user_groups g where g.id = new.group_id
                  and g.date_cloture is not null and g.date_cloture <= new.date_ouverture) then
        raise exception 'le groupe est clôturé'
            using errcode = 'check_violation', constraint = 'group_memberships_group_open';
    end if;
    return new;
end $$;
create trigger group_memberships_rules before insert or update of group_id, user_id, date_ouverture on group_memberships
    for each row execute function group_memberships_rules();

-- Detaching a person from a structure ends their groups there (today).
create function memberships_detach_groups() returns trigger language plpgsql as $$
begin
    update group_memberships set date_cloture = greatest(date_ouverture, current_date)
     where user_id = old.user_id and organisation_id = old.organisation_id
       and (date_cloture is null or date_cloture > current_date);
    return old;
end $$;
create trigger memberships_detach_groups after delete on memberships
    for each row execute function memberships_detach_groups();

-- 5. The catalogue marks, per application, the role whose holders may
--    administer that application's per-user profiles (Afas' « Habiliter »).
alter table applications add column habiliter_role_id bigint,
    add constraint applications_habiliter_role_fk foreign key (id, habiliter_role_id) references roles (application_id, id);

-- 6. Effective rights on a date: the one definition every reader uses
--    (tiles, Utilisateurs du service, Rôles tab, fiche, exports, the API).
--    Direct grants and the rights of the groups the user is a member of,
--    each open on the date, within a convention of the structure open on
--    the date and still listing the role, of an active structure, for an
--    open user. Nothing ends rows for this to hold: a date past its end can
--    never pass. A plain SQL function, so the planner inlines it and pushes
--    a `where user_id = …` down into both branches. A group right's
--    structure is read from the membership (equal to the group's by its
--    foreign key): a reader filtering on a user and a structure then starts
--    from the user's few memberships, whatever plan a prepared statement
--    caches (from the group's column, a generic plan started from the
--    structure's 20 000 groups in the benchmark).
create function effective_rights(d date)
returns table (user_id bigint, organisation_id bigint, application_id bigint, role_id bigint,
               group_id bigint, grant_id bigint)
language sql stable as $$
    select g.user_id, g.organisation_id, r.application_id, g.role_id, null::bigint, g.id
      from grants g
      join roles r on r.id = g.role_id
      join organisations o on o.id = g.organisation_id
      join users u on u.id = g.user_id
     where o.active
       and u.date_ouverture <= d and (u.date_cloture is null or u.date_cloture > d)
       and g.starts_on <= d and (g.ends_on is null or g.ends_on >= d)
       and exists (select 1 from conventions c join convention_roles cr on cr.convention_id = c.id
                    where c.organisation_id = g.organisation_id and cr.role_id = g.role_id
                      and c.date_ouverture <= d and (c.date_cloture is null or c.date_cloture > d)
                      and cr.date_ouverture <= d and (cr.date_cloture is null or cr.date_cloture > d))
    union all
    select m.user_id, m.organisation_id, r.application_id, gg.role_id, ug.id, null::bigint
      from group_memberships m
      join user_groups ug on ug.id = m.group_id
      join group_grants gg on gg.group_id = ug.id
      join roles r on r.id = gg.role_id
      join conventions c on c.id = ug.convention_id
      join convention_roles cr on cr.convention_id = c.id and cr.role_id = gg.role_id
      join organisations o on o.id = ug.organisation_id
      join users u on u.id = m.user_id
     where o.active
       and u.date_ouverture <= d and (u.date_cloture is null or u.date_cloture > d)
       and m.date_ouverture <= d and (m.date_cloture is null or m.date_cloture > d)
       and ug.date_ouverture <= d and (ug.date_cloture is null or ug.date_cloture > d)
       and gg.date_ouverture <= d and (gg.date_cloture is null or gg.date_cloture > d)
       and c.date_ouverture <= d and (c.date_cloture is null or c.date_cloture > d)
       and cr.date_ouverture <= d and (cr.date_cloture is null or cr.date_cloture > d)
$$;

-- The groups a responsable habilitations reaches on a date: the open groups
-- they are responsable of, and all their open subgroups.
create function responsable_reach(responsable bigint, d date)
returns table (group_id bigint, organisation_id bigint)
language sql stable as $$
    with recursive reach as (
        select g.id, g.organisation_id from user_groups g
         where g.responsable_id = responsable
           and g.date_ouverture <= d and (g.date_cloture is null or g.date_cloture > d)
        union
        select c.id, c.organisation_id from user_groups c join reach r on c.parent_id = r.id
         where c.date_ouverture <= d and (c.date_cloture is null or c.date_cloture > d)
    )
    select id, organisation_id from reach
$$;
