-- Effective rights at scale (200 000 groups, 3 000 000 memberships, a
-- convention per structure listing the same roles): whether a convention
-- of the structure lists a role is found from the structure's conventions
-- (conventions_org) then one probe of (convention, role), instead of every
-- structure's row for that role (convention_roles_role); a group's right on
-- a role is one probe too. The exclusion constraints' GiST indexes hold the
-- same columns but serve equality probes poorly.
create index convention_roles_convention_role on convention_roles (convention_id, role_id);
create index group_grants_group_role on group_grants (group_id, role_id);

