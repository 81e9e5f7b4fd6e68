-- A queued job no longer writes a pending suggestion row: readers show a job that is still
-- queued or running as its pending suggestion, and the worker inserts the suggestion once, when
-- the job ends. A new job's suggestion takes the job's id, so both are found by one key. Rows
-- queued before this migration keep their pending suggestion (and its other id) until they end.
--
-- Every index a ticket's transaction enters is work inside it, so the claim's and the dead
-- letter's indexes hold only the jobs in those states, and the suggestion id is no longer
-- indexed (nor a foreign key: the suggestion row comes when the job ends).
alter table triage_job add column proposer text not null default '';
update triage_job j set proposer = s.proposer from suggestion s
    where s.suggestion_id = j.suggestion_id;
alter table triage_job alter column proposer drop default;
alter table triage_job drop constraint triage_job_suggestion_id_fkey;
alter table triage_job drop constraint triage_job_suggestion_id_key;

drop index triage_job_status_idx;
drop index triage_job_ready_idx;
drop index triage_job_lease_idx;
-- The claim's two ways in, each read in claim order: ready queued jobs, expired leases.
create index triage_job_ready_idx on triage_job (run_after_ms, job_id) where status = 'queued';
create index triage_job_lease_idx on triage_job (lease_until_ms) where status = 'running';
-- The dead letter, newest first, for admins.
create index triage_job_dead_idx on triage_job (job_id) where status = 'dead';
