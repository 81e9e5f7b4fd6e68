-- Foundation schema: tenants, users, tickets, attachments and the audit trail.
-- Suggestions, decisions and approvals get their own tables in later migrations; they will
-- reference ticket(ticket_id) and write through the same audit chain.
-- Ids are UUIDs (v7, time-ordered) stored as 16-byte blobs; times are RFC 3339 text in UTC.

create table tenant (
    tenant_id   blob primary key not null,
    slug        text not null unique check (length(slug) between 1 and 63),
    name        text not null,
    created_at  text not null
);

create table app_user (
    user_id          blob primary key not null,
    name             text not null unique,
    role             text not null check (role in ('l1', 'approver', 'qa', 'admin', 'requester')),
    all_tenants      integer not null default 0 check (all_tenants in (0, 1)),
    password_hash    text,
    token_hash       text not null unique,
    token_expires_at text,
    created_at       text not null
);

create table user_tenant (
    user_id   blob not null references app_user (user_id),
    tenant_id blob not null references tenant (tenant_id),
    primary key (user_id, tenant_id)
);

create table ticket (
    ticket_id        blob primary key not null,
    tenant_id        blob not null references tenant (tenant_id),
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
    next_step_due    text,
    created_at       text not null,
    updated_at       text not null,
    acknowledged_at  text,
    resolved_at      text,
    closed_at        text,
    reopen_count     integer not null default 0 check (reopen_count >= 0)
);
create index ticket_tenant_idx on ticket (tenant_id, ticket_id);

create table attachment (
    attachment_id blob primary key not null,
    ticket_id     blob not null references ticket (ticket_id),
    name          text not null,
    media_type    text not null,
    size_bytes    integer not null check (size_bytes >= 0),
    sha256        text not null,
    content       blob not null,
    created_at    text not null
);
create index attachment_ticket_idx on attachment (ticket_id);

-- Append-only and hash-chained: hash = sha256(prev_hash || canonical event), see src/domain/audit.rs.
create table audit_event (
    seq         integer primary key not null,
    event_id    blob not null unique,
    tenant_id   blob references tenant (tenant_id),
    actor       text not null,
    action      text not null,
    entity_type text not null,
    entity_id   text not null,
    payload     text not null,
    created_at  text not null,
    prev_hash   text not null,
    hash        text not null
);
create index audit_event_entity_idx on audit_event (entity_type, entity_id, seq);

create trigger audit_event_no_update before update on audit_event
begin
    select raise(abort, 'audit_event is append-only');
end;

create trigger audit_event_no_delete before delete on audit_event
begin
    select raise(abort, 'audit_event is append-only');
end;
