-- Organisation administration, first rules in the database:
-- 1. the journal is a hash chain, so an edited or missing row is detectable;
-- 2. at most `max_admins` organisation admins per organisation (2 by
--    default), also under concurrent promotions.

create extension if not exists pgcrypto;

-- 1. Hash chain. Each event stores the hash of the previous one and its own
-- hash over (previous hash, its content). `seq` is the chain order, given
-- under a transaction-level advisory lock so that concurrent transactions
-- append one after the other; identity ids may commit out of order.
alter table audit_events
    add column seq bigint,
    add column prev_hash bytea,
    add column hash bytea;

-- The canonical text of an event's content, the input of its hash. The
-- `server check-journal` command recomputes it with this same function.
create function audit_event_content(e audit_events) returns text
language sql stable as $$
    select concat_ws(E'\x1f', e.seq, e.id, to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
                     e.actor_id, e.organisation_id, e.action, e.target_type, e.target_id,
                     e.before::text, e.after::text, e.ip)
$$;

create function audit_events_chain() returns trigger language plpgsql as $$
declare
    last_seq bigint;
    last_hash bytea;
begin
    -- Serialises appends until commit: the chain has one order.
    perform pg_advisory_xact_lock(hashtext('audit_events_chain'));
    select seq, hash into last_seq, last_hash from audit_events order by seq desc nulls last limit 1;
    new.seq := coalesce(last_seq, 0) + 1;
    new.prev_hash := coalesce(last_hash, '\x'::bytea);
    new.hash := digest(new.prev_hash || convert_to(audit_event_content(new), 'UTF8'), 'sha256');
    return new;
end $$;

-- Chain the events written before this migration, in id order.
do $$
declare
    r audit_events;
    prev bytea := '\x'::bytea;
    n bigint := 0;
begin
    alter table audit_events disable trigger audit_events_append_only;
    for r in select * from audit_events order by id loop
        n := n + 1;
        r.seq := n;
        r.prev_hash := prev;
        r.hash := digest(prev || convert_to(audit_event_content(r), 'UTF8'), 'sha256');
        update audit_events set seq = r.seq, prev_hash = r.prev_hash, hash = r.hash where id = r.id;
        prev := r.hash;
    end loop;
    alter table audit_events enable trigger audit_events_append_only;
end $$;

alter table audit_events
    alter column seq set not null,
    alter column prev_hash set not null,
    alter column hash set not null,
    add constraint audit_events_seq_key unique (seq);

create trigger audit_events_chain before insert on audit_events
    for each row execute function audit_events_chain();

-- 2. Organisation admins: a per-organisation limit, checked under a lock on
-- the organisation's row so that two concurrent promotions cannot both pass.
alter table organisations
    add column max_admins int not null default 2 check (max_admins between 1 and 20);

create function memberships_admin_limit() returns trigger language plpgsql as $$
declare
    lim int;
    n int;
begin
    if new.admin_role is distinct from 'org_admin' then
        return new;
    end if;
    select max_admins into lim from organisations where id = new.organisation_id for update;
    select count(*) into n from memberships
     where organisation_id = new.organisation_id and admin_role = 'org_admin' and user_id <> new.user_id;
    if n >= lim then
        raise exception 'au plus % administrateurs pour cette structure', lim
            using errcode = 'check_violation', constraint = 'memberships_admin_limit';
    end if;
    return new;
end $$;

create trigger memberships_admin_limit before insert or update of admin_role on memberships
    for each row execute function memberships_admin_limit();
