-- Effective rights at scale (200 000 groups, 3 000 000 memberships, a
-- convention per structure listing the same roles): whether a convention
-- of the structure lists a role is found from the structure's conventions
-- (conventions_org) then one probe of (convention, role), instead of every
-- structure's row for that role (convention_roles_role); a group's right on
-- a role is one probe too. The exclusion constraints' GiST indexes hold the
-- same columns but serve equality probes poorly.
create index convention_roles_convention_role on convention_roles (convention_id, role_id);
create index group_grants_group_role on group_grants (group_id, role_id);

-- The organisation of a right through a group is read from the membership
-- (`group_memberships.organisation_id`, equal to the group's by its foreign
-- key). A reader that filters on a user and a structure then reaches the
-- user's few memberships first, whatever plan is cached for its prepared
-- statement: with the group's column, a generic plan started from the
-- structure's groups (20 000 in the big one) and probed each for the user.
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
