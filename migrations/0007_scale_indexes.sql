-- Scale: at 1 000 000 users, 100 000 organisations and 2 000 000 grants,
-- the agents list, the searches, a user's rights and the journal's appends
-- must each cost a few index probes, whatever the size of the organisation.

-- 1. The journal's chain trigger reads the last event with
-- `order by seq desc nulls last`, an order the unique index on seq
-- (ascending, nulls last) cannot give: every insert scanned and sorted the
-- whole journal (40 ms per event at 100 000 events). An index in exactly
-- that order makes it one probe.
create index audit_events_chain_tail on audit_events (seq desc nulls last);

-- 2. "Liste des agents" is sorted by the agent's name inside one
-- organisation. The sort key is copied onto the membership, so that a page
-- (first, 50 000 rows deep, or filtered on a name prefix) walks one index
-- range of its organisation instead of joining and sorting all its members.
-- Triggers keep the copy equal to users.nom / users.prenom.
alter table memberships
    add column agent_nom text,
    add column agent_prenom text;

update memberships m set agent_nom = u.nom, agent_prenom = u.prenom
  from users u where u.id = m.user_id;

alter table memberships
    alter column agent_nom set not null,
    alter column agent_prenom set not null;

create function memberships_agent_name() returns trigger language plpgsql as $$
begin
    select nom, prenom into new.agent_nom, new.agent_prenom from users where id = new.user_id;
    return new;
end $$;

create trigger memberships_agent_name before insert or update of user_id, agent_nom, agent_prenom on memberships
    for each row execute function memberships_agent_name();

create function users_name_to_memberships() returns trigger language plpgsql as $$
begin
    update memberships set agent_nom = new.nom, agent_prenom = new.prenom where user_id = new.id;
    return null;
end $$;

create trigger users_name_to_memberships after update of nom, prenom on users
    for each row when (old.nom is distinct from new.nom or old.prenom is distinct from new.prenom)
    execute function users_name_to_memberships();

-- Keyset order of the agents list; its leading column also serves every
-- lookup by organisation, so the former single-column index goes.
create index memberships_org_agents on memberships (organisation_id, agent_nom, agent_prenom, user_id);
drop index memberships_org;
-- Name-prefix filter (case-insensitive) inside one organisation; the sort
-- key rides along so that the matches are sorted without a table visit.
create index memberships_org_agent_nom_prefix
    on memberships (organisation_id, lower(agent_nom) text_pattern_ops, agent_nom, agent_prenom, user_id);

-- 3. A user's rights in one organisation, ended grants included (the
-- partial unique index only holds open grants).
create index grants_holder on grants (user_id, organisation_id);
