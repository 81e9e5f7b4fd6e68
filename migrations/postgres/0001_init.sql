-- Foundation schema: tenants, users, tickets, attachments and the audit trail.
-- Suggestions, decisions and approvals get their own tables in later migrations; they will
-- reference ticket(ticket_id) and write through the same audit chain.

create table tenant (
    tenant_id   uuid primary key,
    slug        text not null unique check (length(slug) between 1 and 63),
    name        text not null,
    created_at  timestamptz not null
);

create table app_user (
    user_id          uuid primary key,
    name             text not null unique,
    role             text not null check (role in ('l1', 'approver', 'qa', 'admin', 'requester')),
    all_tenants      boolean not null default false,
    password_hash    text,
    token_hash       text not null unique,
    token_expires_at timestamptz,
    created_at       timestamptz not null
);

create table user_tenant (
    user_id   uuid not null references app_user (user_id),
    tenant_id uuid not null references tenant (tenant_id),
    primary key (user_id, tenant_id)
);

create table ticket (
    ticket_id        uuid primary key,
    tenant_id        uuid not null references tenant (tenant_id),
    title            text not null check (length(title) between 1 and 200),
    description      text not null default '',
    requester        text,
    stage            text not null default 'new'
                     check (stage in ('new', 'triaged', 'in_progress', 'escalated', 'resolved', 'closed')),
    priority         text check (priority in ('P1', 'P2', 'P3', 'P4')),
    service_group    text,
    owner            text,
    next_step_text   text,
    next_step_owner  text,
    next_step_due    timestamptz,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    acknowledged_at  timestamptz,
    resolved_at      timestamptz,
    closed_at        timestamptz,
    reopen_count     bigint not null default 0 check (reopen_count >= 0)
);
create index ticket_tenant_idx on ticket (tenant_id, ticket_id);

create table attachment (
    attachment_id uuid primary key,
    ticket_id     uuid not null references ticket (ticket_id),
    name          text not null,
    media_type    text not null,
    size_bytes    bigint not null check (size_bytes >= 0),
    sha256        text not null,
    content       bytea not null,
    created_at    timestamptz not null
);
create index attachment_ticket_idx on attachment (ticket_id);
-- Logs compress well; lz4 does it several times faster than the default pglz, which otherwise
-- dominates the cost of storing a ticket. Servers built without lz4 keep pglz.
do $$
begin
    execute 'alter table attachment alter column content set compression lz4';
exception when others then
    raise notice 'lz4 is not available; attachments use the default compression';
end
$$;

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical event), see src/domain/audit.rs.
-- The payload is kept as text, not jsonb, so the hashed bytes are the stored bytes.
create table audit_event (
    seq         bigint primary key,
    event_id    uuid not null unique,
    tenant_id   uuid references tenant (tenant_id),
    actor       text not null,
    action      text not null,
    entity_type text not null,
    entity_id   text not null,
    payload     text not null,
    created_at  timestamptz not null,
    prev_hash   text not null,
    hash        text not null
);
create index audit_event_entity_idx on audit_event (entity_type, entity_id, seq);

create function audit_event_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_event is append-only';
end
$$;

create trigger audit_event_no_update before update or delete on audit_event
    for each row execute function audit_event_append_only();
create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function audit_event_append_only();
