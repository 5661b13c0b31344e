-- « Utilisateurs du service » for the operator walks every structure's
-- members in name order (a manager's walk uses memberships_org_agents).
create index memberships_agents_by_name on memberships (agent_nom, agent_prenom, user_id, organisation_id);
