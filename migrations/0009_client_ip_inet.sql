-- The caller's IP address is an `inet`, never free text: the application
-- writes only parsed addresses (`X-Forwarded-For` from trusted proxies
-- only), and a value can no longer carry a formula or 6 kB of text.
--
-- The journal is a hash chain over each event's text (0002), which used
-- `e.ip` as written. For an address, that text is `host(ip)` (PostgreSQL's
-- canonical form, without `/32`), so rows written with a canonical address
-- hash the same. Rows whose old text was not exactly `host(ip)` (not an
-- address, an empty string, a network, a non-canonical IPv6 spelling) keep
-- that text in `ip_hashed_text`, read by the hash instead of `ip`: the
-- chain keeps verifying for every existing row and the original value stays
-- as evidence, while `ip` holds the address (null when it was none). A
-- check ties `ip` to that text, so the pair cannot be edited apart.

-- The address in a text, or null (no exception).
create function inet_or_null(t text) returns inet
language plpgsql immutable as $$
declare
    a inet;
    host_len int;
begin
    a := t::inet;
    host_len := case when family(a) = 4 then 32 else 128 end;
    -- A network (10.0.0.0/8) is not a caller's address.
    if masklen(a) <> host_len then
        return null;
    end if;
    return a;
exception when others then
    return null;
end $$;

-- 1. The journal.
alter table audit_events add column ip_hashed_text text;

alter table audit_events disable trigger audit_events_append_only;
update audit_events set ip_hashed_text = ip
 where ip is not null and host(inet_or_null(ip)) is distinct from ip;
alter table audit_events enable trigger audit_events_append_only;

alter table audit_events
    alter column ip type inet using inet_or_null(ip),
    add constraint audit_events_ip_hashed_text
        check (ip_hashed_text is null or ip is not distinct from inet_or_null(ip_hashed_text));

-- Same text as 0002 for every row written before; `host(ip)` after.
create or replace function audit_event_content(e audit_events) returns text
language sql stable as $$
    select concat_ws(E'\x1f', e.seq, e.id, to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                     e.actor_id, e.organisation_id, e.action, e.target_type, e.target_id,
                     e.before::text, e.after::text, coalesce(e.ip_hashed_text, host(e.ip)))
$$;

-- New events never carry an old text: their hash covers `ip` itself. The
-- trigger's name orders it before `audit_events_chain` (alphabetical).
create function audit_events_blank_hashed_text() returns trigger language plpgsql as $$
begin
    new.ip_hashed_text := null;
    return new;
end $$;
create trigger audit_events_blank_hashed_text before insert on audit_events
    for each row execute function audit_events_blank_hashed_text();

-- 2. Login failures: short-lived counters, no history to keep. A value that
-- is not an address becomes null (it matches no later attempt).
alter table login_failures
    alter column ip drop not null,
    alter column ip type inet using inet_or_null(ip);
