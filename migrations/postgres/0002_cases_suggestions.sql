-- Past cases and machine suggestions.
-- A past case is a ticket: imported ones carry the id of the system they came from, unique per
-- tenant, so an import can run again without duplicating rows. Impact and urgency are the
-- severity matrix's inputs; priority stays the matrix's output.
alter table ticket add column external_id text;
alter table ticket add column resolution text;
alter table ticket add column impact text check (impact in ('high', 'medium', 'low'));
alter table ticket add column urgency text check (urgency in ('high', 'medium', 'low'));
-- When the ticket last changed as a past case (imported, re-imported, resolved or closed): what
-- the similar-case index follows. Edits that do not touch the case (owner, next step) leave it.
alter table ticket add column case_changed_at timestamptz;
create unique index ticket_external_idx on ticket (tenant_id, external_id) where external_id is not null;
-- Cases the similar-case index and the proposer learn from: resolved or closed tickets.
create index ticket_case_idx on ticket (tenant_id, stage, ticket_id);

-- Whether a tenant's cases join an MSP-wide pool that other pooled tenants may search.
alter table tenant add column shared_pool boolean not null default false;

-- A suggestion is the machine's proposal for one ticket; it is never edited, a new one is added.
create table suggestion (
    suggestion_id  uuid primary key,
    ticket_id      uuid not null references ticket (ticket_id),
    tenant_id      uuid not null references tenant (tenant_id),
    status         text not null check (status in ('pending', 'done', 'failed')),
    proposer       text not null,
    inputs_digest  text not null,
    fields         text not null,
    inputs         text not null,
    error          text,
    created_at     timestamptz not null
);
create index suggestion_ticket_idx on suggestion (ticket_id, created_at);
