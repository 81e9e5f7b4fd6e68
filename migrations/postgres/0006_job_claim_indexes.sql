-- The claim takes the oldest ready queued job or the oldest expired lease, each straight from an
-- index in its claim order: with partial indexes and an OR, the store sorted every ready job on
-- each claim, inside the write lock, and a backlog of a few thousand jobs cost ~0.7 ms a claim.
drop index triage_job_queued_idx;
drop index triage_job_running_idx;
create index triage_job_ready_idx on triage_job (status, run_after_ms, job_id);
create index triage_job_lease_idx on triage_job (status, lease_until_ms);
