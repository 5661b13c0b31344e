-- Organisation administrators, named by the operator, and the transfer of
-- the primary manager.
-- 1. An active organisation never loses its primary manager: the partial
--    unique index (0001) says "at most one"; this deferred check says "not
--    none" once a transaction that demoted or detached one commits. A
--    transfer demotes the old manager then promotes the new one in the same
--    transaction, so it passes; a bare demotion or detachment is refused.
-- 2. The operator's organisation list: name prefix and keyset order on the
--    lower-cased name (the database collation is C.UTF-8, so the btree
--    also serves `like 'prefix%'`); each row shows the primary manager and
--    the number of admins, found through a partial index of role holders.

create function memberships_primary_manager_kept() returns trigger language plpgsql as $$
begin
    if old.admin_role = 'primary_manager'
       and exists (select 1 from organisations o where o.id = old.organisation_id and o.active)
       and not exists (select 1 from memberships m
                        where m.organisation_id = old.organisation_id and m.admin_role = 'primary_manager') then
        raise exception 'la structure % doit garder un gestionnaire principal', old.organisation_id
            using errcode = 'check_violation', constraint = 'memberships_primary_manager_kept';
    end if;
    return null;
end $$;

create constraint trigger memberships_primary_manager_kept
    after update of admin_role or delete on memberships
    deferrable initially deferred
    for each row execute function memberships_primary_manager_kept();

create index organisations_lower_nom on organisations (lower(nom), id);
create index memberships_admins on memberships (organisation_id) where admin_role is not null;
