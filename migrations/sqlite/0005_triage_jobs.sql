-- Durable triage jobs and the model layer's record on each suggestion.
-- A job is queued in the transaction that stores its ticket (or the triage request) together
-- with a pending suggestion; the worker fills that suggestion in once and never again.
-- Schedules and leases are epoch milliseconds: SQLite's text timestamps do not sort by time.
alter table suggestion add column llm text;

create table triage_job (
    job_id          blob primary key not null,
    suggestion_id   blob not null unique references suggestion (suggestion_id),
    ticket_id       blob not null references ticket (ticket_id),
    tenant_id       blob not null references tenant (tenant_id),
    reason          text not null check (reason in ('created', 'requested')),
    requested_by    text not null,
    status          text not null check (status in ('queued', 'running', 'done', 'dead')),
    attempts        integer not null default 0,
    max_attempts    integer not null check (max_attempts > 0),
    run_after_ms    integer not null,
    lease_owner     text,
    lease_until_ms  integer,
    last_error      text,
    created_at      text not null,
    updated_at      text not null
);
-- The claim query's two ways in: ready queued jobs, and running jobs whose lease ran out.
create index triage_job_queued_idx on triage_job (run_after_ms) where status = 'queued';
create index triage_job_running_idx on triage_job (lease_until_ms) where status = 'running';
create index triage_job_ticket_idx on triage_job (ticket_id);
create index triage_job_status_idx on triage_job (status, created_at);
