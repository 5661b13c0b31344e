-- The roles each open group holds on a date (its rights open that day),
-- with its structure and responsable: one definition for the readers that
-- ask « which groups give this role » (who decides an access request, who
-- is told of one, where a requester may be placed).
create function group_roles(d date)
returns table (group_id bigint, organisation_id bigint, role_id bigint, responsable_id bigint)
language sql stable as $$
    select g.id, g.organisation_id, gg.role_id, g.responsable_id
      from user_groups g
      join group_grants gg on gg.group_id = g.id
     where g.date_ouverture <= d and (g.date_cloture is null or g.date_cloture > d)
       and gg.date_ouverture <= d and (gg.date_cloture is null or gg.date_cloture > d)
$$;
