-- A queued job no longer writes a pending suggestion row: readers show a job that is still
-- queued or running as its pending suggestion, and the worker inserts the suggestion once, when
-- the job ends. A new job's suggestion takes the job's id, so both are found by one key. Rows
-- queued before this migration keep their pending suggestion (and its other id) until they end.
--
-- Each row a ticket's transaction writes dirties a page of every b-tree it enters, and SQLite
-- logs each such page as a 4 KiB WAL frame inside its one write lock. So the table is lean: keyed
-- by its (time-ordered) id without a separate rowid tree, one index for a ticket's jobs, and the
-- claim's and the dead letter's indexes hold only the jobs in those states.
create table triage_job_lean (
    job_id          blob primary key not null,
    -- Equal to job_id for jobs queued from now on; older jobs name their pending row.
    suggestion_id   blob not null,
    ticket_id       blob not null references ticket (ticket_id),
    tenant_id       blob not null references tenant (tenant_id),
    reason          text not null check (reason in ('created', 'requested')),
    requested_by    text not null,
    -- Named on the pending suggestion shown until the job ends.
    proposer        text not null,
    status          text not null check (status in ('queued', 'running', 'done', 'dead')),
    attempts        integer not null default 0,
    max_attempts    integer not null check (max_attempts > 0),
    run_after_ms    integer not null,
    lease_owner     text,
    lease_until_ms  integer,
    last_error      text,
    created_at      text not null,
    updated_at      text not null
) without rowid;

insert into triage_job_lean (job_id, suggestion_id, ticket_id, tenant_id, reason, requested_by,
    proposer, status, attempts, max_attempts, run_after_ms, lease_owner, lease_until_ms,
    last_error, created_at, updated_at)
select j.job_id, j.suggestion_id, j.ticket_id, j.tenant_id, j.reason, j.requested_by,
    coalesce((select s.proposer from suggestion s where s.suggestion_id = j.suggestion_id), ''),
    j.status, j.attempts, j.max_attempts, j.run_after_ms, j.lease_owner, j.lease_until_ms,
    j.last_error, j.created_at, j.updated_at
from triage_job j;

drop table triage_job;
alter table triage_job_lean rename to triage_job;

create index triage_job_ticket_idx on triage_job (ticket_id);
-- The claim's two ways in, each read in claim order: ready queued jobs, expired leases.
create index triage_job_ready_idx on triage_job (run_after_ms, job_id) where status = 'queued';
create index triage_job_lease_idx on triage_job (lease_until_ms) where status = 'running';
-- The dead letter, newest first, for admins.
create index triage_job_dead_idx on triage_job (job_id) where status = 'dead';
