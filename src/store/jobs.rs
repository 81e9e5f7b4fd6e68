//! Triage jobs: queued as one row, claimed with a lease, finished by inserting the suggestion
//! (readers show a queued or running job as its pending suggestion meanwhile). A third trait
//! beside `Store`, written once for both backends by `impl_job_store!`; only the claim differs
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, where several workers and processes claim at once;
//! SQLite has one writer and one worker).
//!
//! Claims, lease renewals and releases are not audited: they are bookkeeping about who is
//! working, repeated every few seconds. What the audit trail records is what a job did: queued,
//! retry scheduled, buried, and the suggestion it produced.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Error;
use crate::domain::Actor;
use crate::domain::audit::NewAuditEvent;
use crate::domain::job::{JobId, JobReason, JobStatus, NewTriageJob, TriageJob, from_epoch_ms};
use crate::domain::suggestion::{Suggestion, SuggestionId};
use crate::domain::tenant::TenantId;
use crate::domain::ticket::TicketId;

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Queues a triage of an existing ticket; returns the pending suggestion readers now show.
    async fn enqueue_triage(&self, job: &NewTriageJob, actor: &Actor) -> Result<Suggestion, Error>;
    /// Stores a triage that ran at once, in the request that asked for it: its job row, already
    /// done, and its suggestion, in one transaction with one audit event. A crash before this
    /// loses only a request that was never answered.
    async fn record_triage(
        &self,
        job: &NewTriageJob,
        suggestion: &Suggestion,
        actor: &Actor,
    ) -> Result<(), Error>;
    /// Claims the next ready job (or one whose lease ran out) for `owner` until `lease_until`.
    async fn claim_job(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<TriageJob>, Error>;
    /// Extends the lease; `false` when the job is no longer this owner's.
    async fn renew_lease(
        &self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, Error>;
    /// Marks the job done and stores its suggestion, once, then claims the next ready
    /// job in the same transaction: a busy worker takes one write per job instead of two, which
    /// SQLite's single writer feels. `LeaseLost` when another worker holds the job now (its
    /// result wins; this one is dropped).
    async fn complete_and_claim(
        &self,
        job: &TriageJob,
        owner: &str,
        suggestion: &Suggestion,
        actor: &Actor,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<TriageJob>, Error>;
    /// Puts the job back in the queue after a failed attempt, to run again after `run_after`.
    async fn reschedule_job(
        &self,
        job: &TriageJob,
        owner: &str,
        error: &str,
        run_after: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<(), Error>;
    /// Gives up on the job: dead, and its suggestion stored as failed with the error.
    async fn bury_job(
        &self,
        job: &TriageJob,
        owner: &str,
        error: &str,
        actor: &Actor,
    ) -> Result<(), Error>;
    /// At start-up of a single-process store (SQLite): jobs left running by a process that
    /// died are queued again at once. PostgreSQL waits for their leases instead, since another
    /// process may still hold them; there it returns 0.
    async fn resume_orphaned_jobs(&self) -> Result<u64, Error>;
    /// Whether one worker per process is all the store supports (SQLite: one writer).
    fn single_worker(&self) -> bool;
    async fn job(&self, id: JobId) -> Result<TriageJob, Error>;
    /// Jobs, newest first, optionally of one status and of one tenant.
    async fn jobs(
        &self,
        status: Option<JobStatus>,
        tenant: Option<TenantId>,
        limit: u32,
    ) -> Result<Vec<TriageJob>, Error>;
    /// A ticket's jobs, newest first.
    async fn jobs_for_ticket(&self, ticket: TicketId) -> Result<Vec<TriageJob>, Error>;
}

/// The columns of a job row (`JobRow`), in the one order every read of them uses.
macro_rules! job_columns {
    () => {
        "job_id, suggestion_id, ticket_id, tenant_id, reason, requested_by, proposer, status, \
         attempts, max_attempts, run_after_ms, lease_owner, lease_until_ms, last_error, \
         created_at, updated_at"
    };
}

/// A read of job rows: every column, from `triage_job`, then `rest` (its where and order).
macro_rules! select_jobs {
    ($rest:literal) => {
        concat!("select ", job_columns!(), " from triage_job ", $rest)
    };
}

pub(super) const JOB_BY_ID: &str = select_jobs!("where job_id = $1");
/// Newest first: job ids are UUIDv7, in the order the jobs were made.
pub(super) const JOBS: &str = select_jobs!(
    "where ($1 is null or status = $1) and ($2 is null or tenant_id = $2) \
     order by job_id desc limit $3"
);
pub(super) const JOBS_FOR_TICKET: &str = select_jobs!("where ticket_id = $1 order by job_id desc");
/// A ticket's jobs that have not ended: each may show as its pending suggestion.
pub(super) const LIVE_JOBS_FOR: &str =
    select_jobs!("where ticket_id = $1 and status in ('queued', 'running')");

/// The one insert of a suggestion row, with `values` for its columns.
macro_rules! suggestion_insert {
    ($values:literal) => {
        concat!(
            "insert into suggestion (suggestion_id, ticket_id, tenant_id, status, proposer, \
             inputs_digest, fields, inputs, error, llm, created_at) values ",
            $values
        )
    };
}

/// A job's row, and a new ticket's with it in one statement, so queueing a triage costs no
/// round trip of its own (each is felt inside SQLite's write lock). The job's suggestion takes
/// the job's id ($1 fills both columns). Binds: $1 job_id, $2 ticket_id, $3 tenant_id,
/// $4 reason, $5 requested_by, $6 proposer, $7 status, $8 attempts, $9 max_attempts,
/// $10 run_after_ms, $11 lease_owner, $12 lease_until_ms, $13 created_at; with the ticket also
/// $14 title, $15 description, $16 requester.
macro_rules! job_rows_sql {
    (job) => {
        "insert into triage_job (job_id, suggestion_id, ticket_id, tenant_id, reason, \
         requested_by, proposer, status, attempts, max_attempts, run_after_ms, lease_owner, \
         lease_until_ms, created_at, updated_at) \
         values ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)"
    };
    (ticket) => {
        super::sql::ticket_insert!("($2, $3, $14, $15, $16, 'new', $13, $13)")
    };
}

pub(super) const JOB_ROW: &str = job_rows_sql!(job);

/// A suggestion row.
pub(super) const SUGGESTION_ROW: &str =
    suggestion_insert!("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)");
/// A job's result: inserted once; a pending row of a job queued before migration 0007 is filled
/// in instead. Nothing is written (0 rows) when the result is already there.
pub(super) const JOB_SUGGESTION_ROW: &str = concat!(
    suggestion_insert!("($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
    " on conflict (suggestion_id) do update set status = excluded.status, \
     proposer = excluded.proposer, inputs_digest = excluded.inputs_digest, \
     fields = excluded.fields, inputs = excluded.inputs, error = excluded.error, \
     llm = excluded.llm where suggestion.status = 'pending'"
);
/// SQLite runs a statement list with shared numbered binds in one call.
pub(super) const SQLITE_TICKET_JOB_ROWS: &str =
    concat!(job_rows_sql!(ticket), "; ", job_rows_sql!(job));
/// PostgreSQL takes one statement per call: the ticket rides in a data-modifying CTE (foreign
/// keys are checked at the statement's end, when both rows are in).
pub(super) const POSTGRES_TICKET_JOB_ROWS: &str = concat!(
    "with new_ticket as (",
    job_rows_sql!(ticket),
    ") ",
    job_rows_sql!(job)
);

#[derive(Debug, sqlx::FromRow)]
pub(super) struct JobRow {
    job_id: Uuid,
    suggestion_id: Uuid,
    ticket_id: Uuid,
    tenant_id: Uuid,
    reason: String,
    requested_by: String,
    proposer: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    run_after_ms: i64,
    lease_owner: Option<String>,
    lease_until_ms: Option<i64>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<JobRow> for TriageJob {
    type Error = Error;
    fn try_from(row: JobRow) -> Result<Self, Error> {
        let corrupt = |what: &str, value: &str| {
            Error::Corrupt(format!("triage job {} {what} {value:?}", row.job_id))
        };
        Ok(TriageJob {
            id: JobId(row.job_id),
            suggestion_id: SuggestionId(row.suggestion_id),
            ticket_id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            reason: JobReason::parse(&row.reason).ok_or_else(|| corrupt("reason", &row.reason))?,
            requested_by: row.requested_by.clone(),
            proposer: row.proposer.clone(),
            status: JobStatus::parse(&row.status).ok_or_else(|| corrupt("status", &row.status))?,
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(row.max_attempts).unwrap_or(1),
            run_after: from_epoch_ms(row.run_after_ms),
            lease_owner: row.lease_owner.clone(),
            lease_until: row.lease_until_ms.map(from_epoch_ms),
            last_error: row.last_error.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The audit event of a finished suggestion: each field's value and confidence, so the chain
/// alone shows what the machine proposed; the evidence stays in the suggestion row.
pub(super) fn suggestion_event(suggestion: &Suggestion, actor: &Actor) -> NewAuditEvent {
    suggestion_event_with(suggestion, actor, serde_json::Map::new())
}

/// The audit event of a finished suggestion with `extra` keys in its payload.
pub(super) fn suggestion_event_with(
    suggestion: &Suggestion,
    actor: &Actor,
    extra: serde_json::Map<String, serde_json::Value>,
) -> NewAuditEvent {
    let summary: serde_json::Map<String, serde_json::Value> = suggestion
        .fields
        .iter()
        .map(|(field, p)| {
            (
                field.as_str().to_string(),
                serde_json::json!({
                    "value": p.value,
                    "confidence": p.confidence,
                    "abstained": p.abstained,
                    "source": p.source,
                }),
            )
        })
        .collect();
    let mut payload = serde_json::json!({
        "ticket_id": suggestion.ticket_id,
        "status": suggestion.status.as_str(),
        "proposer": suggestion.proposer,
        "inputs_digest": suggestion.inputs_digest,
        "fields": summary,
    });
    if let Some(llm) = &suggestion.llm {
        payload["llm"] = serde_json::json!({
            "status": llm.status,
            "model": llm.model,
            "prompt_sha256": llm.prompt.as_ref().map(|p| p.sha256.as_str()),
        });
    }
    if let Some(error) = &suggestion.error {
        payload["error"] = serde_json::json!(error);
    }
    for (key, value) in extra {
        payload[key] = value;
    }
    NewAuditEvent::new(
        Some(suggestion.tenant_id),
        actor,
        "suggestion.created",
        "suggestion",
        suggestion.id.0,
        payload,
    )
}

/// What the audit trail records of a queued job.
pub(super) fn queued_payload(job: &crate::domain::job::NewTriageJob) -> serde_json::Value {
    serde_json::json!({
        "job_id": job.id,
        "ticket_id": job.ticket_id,
        "suggestion_id": job.suggestion_id,
        "reason": job.reason.as_str(),
        "max_attempts": job.max_attempts,
        "leased_to": job.lease.as_ref().map(|l| l.owner.as_str()),
    })
}

pub(super) fn json_text<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt(e.to_string()))
}

pub(super) fn lease_lost(job: &TriageJob) -> Error {
    Error::LeaseLost(format!("triage job {}", job.id))
}

/// `impl_job_store!(Store, Db, "row lock clause", resume_at_start, ticket and job rows SQL)`.
macro_rules! impl_job_store {
    ($store:ident, $db:ty, $claim_lock:literal, $resume_at_start:literal,
     $ticket_job_rows:path) => {
        impl $store {
            /// Claims the next ready job, or one whose lease ran out, oldest first. Each way in
            /// reads one row from its own index, in order (`0006_job_claim_indexes`): one OR
            /// over both would sort every ready job on each claim.
            /// Binds: owner, lease_until_ms, updated_at, now_ms.
            const CLAIM_SQL: &'static str = concat!(
                "update triage_job set status = 'running', attempts = attempts + 1, \
                 lease_owner = $1, lease_until_ms = $2, updated_at = $3 \
                 where job_id = (select job_id from ( \
                   select * from (select job_id, run_after_ms from triage_job \
                     where status = 'queued' and run_after_ms <= $4 \
                     order by run_after_ms, job_id limit 1 ",
                $claim_lock,
                ") ready union all \
                   select * from (select job_id, run_after_ms from triage_job \
                     where status = 'running' and lease_until_ms < $4 \
                     order by lease_until_ms limit 1 ",
                $claim_lock,
                ") expired \
                 ) next order by run_after_ms limit 1) returning ",
                $crate::store::jobs::job_columns!()
            );

            /// Inserts the job in `tx`, with its audit event; returns its pending suggestion.
            async fn queue_job_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::NewTriageJob,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::suggestion::Suggestion, $crate::store::Error> {
                Self::bind_job_row(
                    sqlx::query($crate::store::jobs::JOB_ROW),
                    job,
                    job.initial_state(),
                )?
                .execute(&mut **tx)
                    .await?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(job.tenant_id),
                    actor,
                    "triage_job.queued",
                    "triage_job",
                    job.id.0,
                    $crate::store::jobs::queued_payload(job),
                );
                Self::append_audit(tx, event).await?;
                Ok(job.pending_suggestion())
            }

            /// Inserts a new ticket with its job in `tx`, in one statement; attachments and the
            /// audit event (which records the job too, so the audit lock is taken once, last)
            /// follow.
            async fn insert_ticket_with_job_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                new: &$crate::domain::ticket::NewTicket,
                job: &$crate::domain::job::NewTriageJob,
            ) -> Result<(), $crate::store::Error> {
                if job.ticket_id != new.id
                    || job.tenant_id != new.tenant_id
                    || job.created_at != new.created_at
                {
                    return Err($crate::store::Error::Corrupt(format!(
                        "triage job {} does not belong to ticket {}",
                        job.id, new.id
                    )));
                }
                Self::bind_job_row(sqlx::query($ticket_job_rows), job, job.initial_state())?
                    .bind(&new.title)
                    .bind(&new.description)
                    .bind(new.requester.as_deref())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Binds $1–$13 of the job row's statement, the job stored as `state` (its status
            /// and attempts).
            fn bind_job_row<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                job: &'q $crate::domain::job::NewTriageJob,
                state: ($crate::domain::job::JobStatus, u32),
            ) -> Result<
                sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                $crate::store::Error,
            > {
                if job.suggestion_id.0 != job.id.0 {
                    // Readers find a pending suggestion by its job's id.
                    return Err($crate::store::Error::Corrupt(format!(
                        "triage job {} names another suggestion id {}",
                        job.id, job.suggestion_id
                    )));
                }
                let (status, attempts) = state;
                Ok(query
                    .bind(job.id.0)
                    .bind(job.ticket_id.0)
                    .bind(job.tenant_id.0)
                    .bind(job.reason.as_str())
                    .bind(&job.requested_by)
                    .bind(&job.proposer)
                    .bind(status.as_str())
                    .bind(i64::from(attempts))
                    .bind(i64::from(job.max_attempts))
                    .bind($crate::domain::job::epoch_ms(job.created_at))
                    .bind(job.lease.as_ref().map(|l| l.owner.as_str()))
                    .bind(job.lease.as_ref().map(|l| $crate::domain::job::epoch_ms(l.until)))
                    .bind(job.created_at))
            }

            /// Inserts a suggestion row in `tx`; the caller audits it.
            async fn insert_suggestion_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                suggestion: &$crate::domain::suggestion::Suggestion,
            ) -> Result<(), $crate::store::Error> {
                Self::store_suggestion_in(tx, suggestion, $crate::store::jobs::SUGGESTION_ROW)
                    .await
                    .map(|_| ())
            }

            /// Runs `sql`, an insert of one suggestion row, with its 11 binds; returns the rows
            /// it wrote.
            async fn store_suggestion_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                suggestion: &$crate::domain::suggestion::Suggestion,
                sql: &'static str,
            ) -> Result<u64, $crate::store::Error> {
                let llm = suggestion
                    .llm
                    .as_ref()
                    .map($crate::store::jobs::json_text)
                    .transpose()?;
                let done = sqlx::query(sql)
                    .bind(suggestion.id.0)
                    .bind(suggestion.ticket_id.0)
                    .bind(suggestion.tenant_id.0)
                    .bind(suggestion.status.as_str())
                    .bind(&suggestion.proposer)
                    .bind(&suggestion.inputs_digest)
                    .bind($crate::store::jobs::json_text(&suggestion.fields)?)
                    .bind($crate::store::jobs::json_text(&suggestion.inputs)?)
                    .bind(suggestion.error.as_deref())
                    .bind(llm)
                    .bind(suggestion.created_at)
                    .execute(&mut **tx)
                    .await?;
                Ok(done.rows_affected())
            }

            /// Marks the job done and fills its suggestion in, in `tx`; `LeaseLost` if not held.
            async fn complete_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::TriageJob,
                owner: &str,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                Self::release_job_in(
                    tx,
                    job,
                    owner,
                    $crate::domain::job::JobStatus::Done,
                    None,
                    $crate::domain::job::epoch_ms(job.run_after),
                )
                .await?;
                Self::finish_suggestion_in(tx, job, suggestion, actor).await
            }

            /// Ends the running job held by `owner` with `status`; `LeaseLost` if not held.
            async fn release_job_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::TriageJob,
                owner: &str,
                status: $crate::domain::job::JobStatus,
                error: Option<&str>,
                run_after_ms: i64,
            ) -> Result<(), $crate::store::Error> {
                let updated = sqlx::query(
                    "update triage_job set status = $1, lease_owner = null, lease_until_ms = null, \
                     last_error = $2, run_after_ms = $3, updated_at = $4 \
                     where job_id = $5 and status = 'running' and lease_owner = $6",
                )
                .bind(status.as_str())
                .bind(error)
                .bind(run_after_ms)
                .bind($crate::domain::now())
                .bind(job.id.0)
                .bind(owner)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Err($crate::store::jobs::lease_lost(job));
                }
                Ok(())
            }

            /// Stores the job's suggestion, with its audit event; `LeaseLost` if it is already
            /// stored with a result (a pending row, left by a job queued before migration 0007,
            /// is filled in).
            async fn finish_suggestion_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::TriageJob,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                if suggestion.id != job.suggestion_id || suggestion.ticket_id != job.ticket_id {
                    return Err($crate::store::Error::Corrupt(format!(
                        "suggestion {} is not the result of triage job {}",
                        suggestion.id, job.id
                    )));
                }
                let stored = Self::store_suggestion_in(
                    tx,
                    suggestion,
                    $crate::store::jobs::JOB_SUGGESTION_ROW,
                )
                .await?;
                if stored == 0 {
                    return Err($crate::store::jobs::lease_lost(job));
                }
                let event = $crate::store::jobs::suggestion_event(suggestion, actor);
                Self::append_audit(tx, event).await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::JobStore for $store {
            async fn enqueue_triage(
                &self,
                job: &$crate::domain::job::NewTriageJob,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::suggestion::Suggestion, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let pending = Self::queue_job_in(&mut tx, job, actor).await?;
                tx.commit().await?;
                Ok(pending)
            }

            #[tracing::instrument(skip_all, fields(job.id = %job.id))]
            async fn record_triage(
                &self,
                job: &$crate::domain::job::NewTriageJob,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                if suggestion.id != job.suggestion_id || suggestion.ticket_id != job.ticket_id {
                    return Err($crate::store::Error::Corrupt(format!(
                        "suggestion {} is not the result of triage job {}",
                        suggestion.id, job.id
                    )));
                }
                let (_writer, mut tx) = self.begin_write().await?;
                Self::bind_job_row(
                    sqlx::query($crate::store::jobs::JOB_ROW),
                    job,
                    ($crate::domain::job::JobStatus::Done, 1),
                )?
                .execute(&mut *tx)
                .await?;
                Self::insert_suggestion_in(&mut tx, suggestion).await?;
                // One event for both rows: the job was never queued, so it has no event of its
                // own; its record rides in the suggestion's.
                let mut ran = $crate::store::jobs::queued_payload(job);
                ran["ran_in_request"] = serde_json::json!(true);
                let extra = serde_json::Map::from_iter([("triage_job".to_string(), ran)]);
                let event = $crate::store::jobs::suggestion_event_with(suggestion, actor, extra);
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn claim_job(
                &self,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::job::TriageJob>, $crate::store::Error> {
                let claim = sqlx::query_as(Self::CLAIM_SQL)
                .bind(owner)
                .bind($crate::domain::job::epoch_ms(lease_until))
                .bind(now)
                .bind($crate::domain::job::epoch_ms(now));
                // One statement: on PostgreSQL it runs on its own, with no BEGIN/COMMIT round
                // trips; SQLite queues it behind this process's other writers.
                let row: Option<$crate::store::jobs::JobRow> = if $resume_at_start {
                    let (_writer, mut tx) = self.begin_write().await?;
                    let row = claim.fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    row
                } else {
                    claim.fetch_optional(self.pool()).await?
                };
                row.map(TryInto::try_into).transpose()
            }

            async fn renew_lease(
                &self,
                job: $crate::domain::job::JobId,
                owner: &str,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::Error> {
                let renew = sqlx::query(
                    "update triage_job set lease_until_ms = $1 \
                     where job_id = $2 and status = 'running' and lease_owner = $3",
                )
                .bind($crate::domain::job::epoch_ms(lease_until))
                .bind(job.0)
                .bind(owner);
                let done = if $resume_at_start {
                    let (_writer, mut tx) = self.begin_write().await?;
                    let done = renew.execute(&mut *tx).await?;
                    tx.commit().await?;
                    done
                } else {
                    renew.execute(self.pool()).await?
                };
                Ok(done.rows_affected() > 0)
            }

            #[tracing::instrument(skip_all, fields(job.id = %job.id))]
            async fn complete_and_claim(
                &self,
                job: &$crate::domain::job::TriageJob,
                owner: &str,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::job::TriageJob>, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                Self::complete_in(&mut tx, job, owner, suggestion, actor).await?;
                let next: Option<$crate::store::jobs::JobRow> = sqlx::query_as(Self::CLAIM_SQL)
                    .bind(owner)
                    .bind($crate::domain::job::epoch_ms(lease_until))
                    .bind(now)
                    .bind($crate::domain::job::epoch_ms(now))
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                next.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(skip_all, fields(job.id = %job.id))]
            async fn reschedule_job(
                &self,
                job: &$crate::domain::job::TriageJob,
                owner: &str,
                error: &str,
                run_after: chrono::DateTime<chrono::Utc>,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                Self::release_job_in(
                    &mut tx,
                    job,
                    owner,
                    $crate::domain::job::JobStatus::Queued,
                    Some(error),
                    $crate::domain::job::epoch_ms(run_after),
                )
                .await?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(job.tenant_id),
                    actor,
                    "triage_job.retry_scheduled",
                    "triage_job",
                    job.id.0,
                    serde_json::json!({
                        "attempt": job.attempts,
                        "max_attempts": job.max_attempts,
                        "error": error,
                        "run_after": run_after,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all, fields(job.id = %job.id))]
            async fn bury_job(
                &self,
                job: &$crate::domain::job::TriageJob,
                owner: &str,
                error: &str,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                Self::release_job_in(
                    &mut tx,
                    job,
                    owner,
                    $crate::domain::job::JobStatus::Dead,
                    Some(error),
                    $crate::domain::job::epoch_ms(job.run_after),
                )
                .await?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(job.tenant_id),
                    actor,
                    "triage_job.dead",
                    "triage_job",
                    job.id.0,
                    serde_json::json!({
                        "ticket_id": job.ticket_id,
                        "attempts": job.attempts,
                        "error": error,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                let failed = job.failed_suggestion(error);
                Self::finish_suggestion_in(&mut tx, job, &failed, actor).await?;
                tx.commit().await?;
                Ok(())
            }

            fn single_worker(&self) -> bool {
                $resume_at_start
            }

            async fn resume_orphaned_jobs(&self) -> Result<u64, $crate::store::Error> {
                if !$resume_at_start {
                    return Ok(0);
                }
                let (_writer, mut tx) = self.begin_write().await?;
                let resumed = sqlx::query(
                    "update triage_job set status = 'queued', lease_owner = null, \
                     lease_until_ms = null, updated_at = $1 where status = 'running'",
                )
                .bind($crate::domain::now())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(resumed)
            }

            async fn job(
                &self,
                id: $crate::domain::job::JobId,
            ) -> Result<$crate::domain::job::TriageJob, $crate::store::Error> {
                let row: Option<$crate::store::jobs::JobRow> = sqlx::query_as($crate::store::jobs::JOB_BY_ID)
                .bind(id.0)
                .fetch_optional(self.pool())
                .await?;
                row.ok_or_else(|| $crate::store::Error::NotFound {
                    entity: "triage job",
                    id: id.to_string(),
                })?
                .try_into()
            }

            async fn jobs(
                &self,
                status: Option<$crate::domain::job::JobStatus>,
                tenant: Option<$crate::domain::tenant::TenantId>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::job::TriageJob>, $crate::store::Error> {
                let rows: Vec<$crate::store::jobs::JobRow> = sqlx::query_as($crate::store::jobs::JOBS)
                .bind(status.map(|s| s.as_str()))
                .bind(tenant.map(|t| t.0))
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn jobs_for_ticket(
                &self,
                ticket: $crate::domain::ticket::TicketId,
            ) -> Result<Vec<$crate::domain::job::TriageJob>, $crate::store::Error> {
                let rows: Vec<$crate::store::jobs::JobRow> = sqlx::query_as($crate::store::jobs::JOBS_FOR_TICKET)
                .bind(ticket.0)
                .fetch_all(self.pool())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(super) use impl_job_store;
pub(super) use job_columns;
