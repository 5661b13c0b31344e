-- One meaning of a date (issue 17). Every dated row holds the half-open
-- period [date_ouverture, date_cloture): open on day d when
--     date_ouverture <= d and (date_cloture is null or d < date_cloture).
-- Direct rights kept their last day held (`ends_on`, inclusive) since 0001;
-- they now store their closing date, the first day without the right, like
-- users, conventions, groups, group rights and memberships. Nobody holds
-- anything different on any date: date_cloture = ends_on + 1.

alter table grants drop constraint grants_dates;
drop index grants_one_open;
alter table grants rename column starts_on to date_ouverture;
-- A new column rather than ends_on renamed and shifted in place: the row
-- versions an update leaves behind in this transaction are indexed by the
-- exclusion constraint below, and must hold valid periods too.
alter table grants add column date_cloture date;
update grants set date_cloture = ends_on + 1 where ends_on is not null;
alter table grants drop column ends_on;
-- A right ended the day it opened holds no day (date_cloture = date_ouverture):
-- closing a user or a service ends rights "from today".
alter table grants add constraint grants_dates
    check (date_cloture is null or date_cloture >= date_ouverture);

-- The ceiling trigger reads the renamed columns (0010's function, same rule).
create or replace function grants_within_ceiling() returns trigger language plpgsql as $$
begin
    -- A right already over before today gives nothing: history as written.
    if new.date_cloture is not null and new.date_cloture <= greatest(new.date_ouverture, current_date) then
        return new;
    end if;
    if not convention_allows(new.organisation_id, new.role_id,
                             greatest(new.date_ouverture, current_date), new.date_cloture - 1) then
        raise exception using
            errcode = 'check_violation',
            constraint = 'grants_within_ceiling',
            message = 'rôle hors des conventions ouvertes de la structure';
    end if;
    return new;
end $$;

-- Two direct rights of the same role for the same person in the same
-- structure never overlap. Rows written before one writer checked it
-- (save_agent_roles had no overlap check) are merged into their union
-- first: on every date the person holds the role exactly when they did.
-- Adjacent periods ([a, b) then [b, c)) do not overlap and stay apart;
-- empty ones (a closing on the opening day) overlap nothing.
create temporary table grants_islands on commit drop as
with held as (
    select id, user_id, organisation_id, role_id, date_ouverture o, date_cloture c
      from grants
     where date_cloture is null or date_cloture > date_ouverture
), ordered as (
    select h.*,
           max(coalesce(c, 'infinity'::date)) over (
               partition by user_id, organisation_id, role_id order by o, id
               rows between unbounded preceding and 1 preceding) as before_end
      from held h
), numbered as (
    select o2.*,
           sum(case when before_end is null or o >= before_end then 1 else 0 end) over (
               partition by user_id, organisation_id, role_id order by o, id) as island
      from ordered o2
)
select id, user_id, organisation_id, role_id, island,
       min(id) over w as keep_id,
       min(o) over w as new_o,
       case when bool_or(c is null) over w then null else max(c) over w end as new_c,
       count(*) over w as n
  from numbered
window w as (partition by user_id, organisation_id, role_id, island);

delete from grants g using grants_islands i where i.id = g.id and i.n > 1 and g.id <> i.keep_id;
update grants g set date_ouverture = i.new_o, date_cloture = i.new_c
  from grants_islands i where i.id = g.id and i.n > 1 and g.id = i.keep_id;

alter table grants add constraint grants_no_overlap exclude using gist (
    user_id with =, organisation_id with =, role_id with =,
    daterange(date_ouverture, date_cloture, '[)') with &&);

-- Effective rights on a date: the direct part reads the one predicate.
create or replace function effective_rights(d date)
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
       and g.date_ouverture <= d and (g.date_cloture is null or g.date_cloture > d)
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
