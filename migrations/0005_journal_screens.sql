-- Journal screens: each filter keeps the keyset order (id desc), so a page
-- reads about 51 index entries whatever the size of the journal.
-- (organisation_id, id desc) exists since 0001 (audit_events_org_at).

-- "Acteur": the events of the users whose name or email starts with the text.
create index audit_events_actor on audit_events (actor_id, id desc);

-- "Action", over the whole journal (operator) and within one organisation.
create index audit_events_action on audit_events (action, id desc);
create index audit_events_org_action on audit_events (organisation_id, action, id desc);

-- "Cible": the events of the objects whose name starts with the text (and the
-- history of one object).
create index audit_events_target on audit_events (target_type, target_id, id desc);

-- "Période": a day range far back is found by date, then sorted (a few
-- thousand rows at most), instead of walking the newer events.
create index audit_events_at on audit_events (at);

-- Email prefix searches (actor, target). The database collation is not "C",
-- so the unique index on email cannot serve `like 'prefix%'`.
create index users_email_pattern on users (email text_pattern_ops);
