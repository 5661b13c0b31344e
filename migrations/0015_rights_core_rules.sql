-- Issue 17, « one rights core »: the rules that leaked through the group
-- paths, held by the database whatever path writes.

-- 1. One reach. The people a responsable habilitations reaches on date d:
--    the open or future members (on d) of the groups they reach (theirs and
--    their subgroups, `responsable_reach`), never themselves, never a
--    manager or administrator of the structure, never their N+1 (the
--    responsable of a group above one of theirs, at any height). A future
--    member is reached: the responsable who added someone from next month
--    may change or end that membership before it starts.
create function reached_users(responsable bigint, d date)
returns table (user_id bigint, organisation_id bigint)
language sql stable as $$
    with recursive above as (
        select g.parent_id as id from user_groups g
         where g.responsable_id = responsable and g.parent_id is not null
           and g.date_ouverture <= d and (g.date_cloture is null or g.date_cloture > d)
        union
        select p.parent_id from user_groups p join above a on p.id = a.id
         where p.parent_id is not null
    )
    select distinct gm.user_id, gm.organisation_id
      from responsable_reach(responsable, d) r
      join group_memberships gm on gm.group_id = r.group_id
     where (gm.date_cloture is null or gm.date_cloture > d)
       and gm.user_id <> responsable
       and not exists (select 1 from memberships m
                        where m.user_id = gm.user_id and m.organisation_id = gm.organisation_id
                          and m.admin_role is not null)
       and gm.user_id not in (select g.responsable_id from user_groups g where g.id in (select id from above))
$$;

-- 2. What is closed stays closed: a group, a membership or a convention
--    whose closing date has come is never reopened nor re-dated (to go on,
--    create a new one). Cascades only touch rows still open after their
--    new date, so they never meet this.
create function closed_stays_closed() returns trigger language plpgsql as $$
begin
    if old.date_cloture is not null and old.date_cloture <= current_date
       and new.date_cloture is distinct from old.date_cloture then
        raise exception '% est clôturé : il ne se rouvre pas', tg_table_name
            using errcode = 'check_violation', constraint = tg_table_name || '_closed';
    end if;
    return new;
end $$;
create trigger user_groups_closed before update of date_cloture on user_groups
    for each row execute function closed_stays_closed();
create trigger group_memberships_closed before update of date_cloture on group_memberships
    for each row execute function closed_stays_closed();
create trigger conventions_closed before update of date_cloture on conventions
    for each row execute function closed_stays_closed();

-- 3. A subgroup never outlives its parent: when the parent has a closing
--    date, the subgroup closes on or before it (the parent's closing
--    already cascades to its subgroups when it comes earlier).
create function user_groups_within_parent() returns trigger language plpgsql as $$
declare
    parent_end date;
    parent_found boolean;
begin
    if new.parent_id is null then
        return new;
    end if;
    if tg_op = 'UPDATE' and new.date_cloture is not distinct from old.date_cloture
       and new.parent_id is not distinct from old.parent_id then
        return new;
    end if;
    select date_cloture, true into parent_end, parent_found from user_groups where id = new.parent_id;
    if parent_found and parent_end is not null
       and (new.date_cloture is null or new.date_cloture > greatest(parent_end, new.date_ouverture)) then
        raise exception 'un sous-groupe ne survit pas à son groupe parent'
            using errcode = 'check_violation', constraint = 'user_groups_within_parent';
    end if;
    return new;
end $$;
create trigger user_groups_within_parent before insert or update on user_groups
    for each row execute function user_groups_within_parent();

-- 4. An account's closing: who closed it (their rank), so that only that
--    rank or a higher one reopens it. 4 operator, 3 primary manager,
--    2 administrator, 1 responsable habilitations.
alter table users add column cloture_rang smallint check (cloture_rang between 1 and 4);
