//! Triage jobs: queued with a pending suggestion, claimed with a lease, finished by filling the
//! suggestion in. A third trait beside `Store`, written once for both backends by
//! `impl_job_store!`; only the claim differs (`FOR UPDATE SKIP LOCKED` on PostgreSQL, where
//! several workers and processes claim at once; SQLite has one writer and one worker).
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
    /// Queues a triage of an existing ticket with its pending suggestion, in one transaction.
    async fn enqueue_triage(&self, job: &NewTriageJob, actor: &Actor) -> Result<Suggestion, Error>;
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
    /// Marks the job done and fills its pending suggestion in, once, then claims the next ready
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
    /// Gives up on the job: dead, and its suggestion failed with the error.
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

pub(super) const JOB_COLUMNS: &str = "job_id, suggestion_id, ticket_id, tenant_id, reason, \
    requested_by, status, attempts, max_attempts, run_after_ms, lease_owner, lease_until_ms, \
    last_error, created_at, updated_at";

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

/// A job's rows: its pending suggestion and the job itself, in one statement, so queueing a
/// triage costs one round trip to the database (each is felt inside SQLite's write lock).
/// Binds: $1 suggestion_id, $2 ticket_id, $3 tenant_id, $4 proposer, $5 inputs_digest,
/// $6 fields, $7 inputs, $8 created_at, $9 job_id, $10 reason, $11 requested_by, $12 status,
/// $13 attempts, $14 max_attempts, $15 run_after_ms, $16 lease_owner, $17 lease_until_ms; with
/// the ticket also $18 title, $19 description, $20 requester.
macro_rules! job_rows_sql {
    (suggestion) => {
        suggestion_insert!("($1, $2, $3, 'pending', $4, $5, $6, $7, null, null, $8)")
    };
    (job) => {
        "insert into triage_job (job_id, suggestion_id, ticket_id, tenant_id, reason, \
         requested_by, status, attempts, max_attempts, run_after_ms, lease_owner, \
         lease_until_ms, created_at, updated_at) \
         values ($9, $1, $2, $3, $10, $11, $12, $13, $14, $15, $16, $17, $8, $8)"
    };
    (ticket) => {
        super::sql::ticket_insert!("($2, $3, $18, $19, $20, 'new', $8, $8)")
    };
}

/// SQLite runs a statement list with shared numbered binds in one call.
pub(super) const SQLITE_JOB_ROWS: &str =
    concat!(job_rows_sql!(suggestion), "; ", job_rows_sql!(job));
pub(super) const SQLITE_TICKET_JOB_ROWS: &str = concat!(
    job_rows_sql!(ticket),
    "; ",
    job_rows_sql!(suggestion),
    "; ",
    job_rows_sql!(job)
);
/// PostgreSQL takes one statement per call: the other inserts ride in data-modifying CTEs
/// (foreign keys are checked at the statement's end, when all rows are in).
pub(super) const POSTGRES_JOB_ROWS: &str = concat!(
    "with pending as (",
    job_rows_sql!(suggestion),
    ") ",
    job_rows_sql!(job)
);
pub(super) const POSTGRES_TICKET_JOB_ROWS: &str = concat!(
    "with new_ticket as (",
    job_rows_sql!(ticket),
    "), pending as (",
    job_rows_sql!(suggestion),
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

/// `impl_job_store!(Store, Db, "row lock clause", resume_at_start, job rows SQL, ticket and
/// job rows SQL)`.
macro_rules! impl_job_store {
    ($store:ident, $db:ty, $claim_lock:literal, $resume_at_start:literal,
     $job_rows:path, $ticket_job_rows:path) => {
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
                 ) next order by run_after_ms limit 1) \
                 returning job_id, suggestion_id, ticket_id, tenant_id, reason, \
                 requested_by, status, attempts, max_attempts, run_after_ms, lease_owner, \
                 lease_until_ms, last_error, created_at, updated_at"
            );

            /// Inserts the job and its pending suggestion in `tx`, with the job's audit event.
            async fn queue_job_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::NewTriageJob,
                actor: &$crate::domain::Actor,
            ) -> Result<$crate::domain::suggestion::Suggestion, $crate::store::Error> {
                let pending = Self::insert_job_rows_in(tx, job).await?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    Some(job.tenant_id),
                    actor,
                    "triage_job.queued",
                    "triage_job",
                    job.id.0,
                    $crate::store::jobs::queued_payload(job),
                );
                Self::append_audit(tx, event).await?;
                Ok(pending)
            }

            /// Inserts the job and its pending suggestion in `tx`; the caller audits them. A
            /// ticket's create does so in its own event, so its transaction takes the audit
            /// lock once, last, and holds it for as short a time as before.
            async fn insert_job_rows_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::NewTriageJob,
            ) -> Result<$crate::domain::suggestion::Suggestion, $crate::store::Error> {
                let pending = job.pending_suggestion();
                Self::bind_job_rows(sqlx::query($job_rows), job, &pending)?
                    .execute(&mut **tx)
                    .await?;
                Ok(pending)
            }

            /// Inserts a new ticket with its job and pending suggestion in `tx`, in one
            /// statement; attachments and the audit event follow.
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
                let pending = job.pending_suggestion();
                Self::bind_job_rows(sqlx::query($ticket_job_rows), job, &pending)?
                    .bind(&new.title)
                    .bind(&new.description)
                    .bind(new.requester.as_deref())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Binds $1–$17 of the job rows' statement.
            fn bind_job_rows<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                job: &'q $crate::domain::job::NewTriageJob,
                pending: &$crate::domain::suggestion::Suggestion,
            ) -> Result<
                sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                $crate::store::Error,
            > {
                let (status, attempts) = job.initial_state();
                Ok(query
                    .bind(pending.id.0)
                    .bind(pending.ticket_id.0)
                    .bind(pending.tenant_id.0)
                    .bind(pending.proposer.clone())
                    .bind(pending.inputs_digest.clone())
                    .bind($crate::store::jobs::json_text(&pending.fields)?)
                    .bind($crate::store::jobs::json_text(&pending.inputs)?)
                    .bind(pending.created_at)
                    .bind(job.id.0)
                    .bind(job.reason.as_str())
                    .bind(&job.requested_by)
                    .bind(status.as_str())
                    .bind(i64::from(attempts))
                    .bind(i64::from(job.max_attempts))
                    .bind($crate::domain::job::epoch_ms(job.created_at))
                    .bind(job.lease.as_ref().map(|l| l.owner.as_str()))
                    .bind(job.lease.as_ref().map(|l| $crate::domain::job::epoch_ms(l.until))))
            }

            /// Inserts a suggestion row in `tx`; the caller audits it.
            async fn insert_suggestion_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                suggestion: &$crate::domain::suggestion::Suggestion,
            ) -> Result<(), $crate::store::Error> {
                let llm = suggestion
                    .llm
                    .as_ref()
                    .map($crate::store::jobs::json_text)
                    .transpose()?;
                sqlx::query($crate::store::jobs::suggestion_insert!(
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                ))
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
                Ok(())
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

            /// Fills the pending suggestion in; `LeaseLost` if it is no longer pending.
            async fn finish_suggestion_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                job: &$crate::domain::job::TriageJob,
                suggestion: &$crate::domain::suggestion::Suggestion,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                let llm = suggestion
                    .llm
                    .as_ref()
                    .map($crate::store::jobs::json_text)
                    .transpose()?;
                let updated = sqlx::query(
                    "update suggestion set status = $1, proposer = $2, inputs_digest = $3, \
                     fields = $4, inputs = $5, error = $6, llm = $7 \
                     where suggestion_id = $8 and status = 'pending'",
                )
                .bind(suggestion.status.as_str())
                .bind(&suggestion.proposer)
                .bind(&suggestion.inputs_digest)
                .bind($crate::store::jobs::json_text(&suggestion.fields)?)
                .bind($crate::store::jobs::json_text(&suggestion.inputs)?)
                .bind(suggestion.error.as_deref())
                .bind(llm)
                .bind(job.suggestion_id.0)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if updated == 0 {
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
                let pending: Option<$crate::store::rows::SuggestionRow> =
                    sqlx::query_as($crate::store::sql::SUGGESTION_BY_ID)
                        .bind(job.suggestion_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let mut failed: $crate::domain::suggestion::Suggestion = pending
                    .ok_or_else(|| $crate::store::jobs::lease_lost(job))?
                    .try_into()?;
                failed.status = $crate::domain::suggestion::SuggestionStatus::Failed;
                failed.error = Some(format!(
                    "triage gave up after {} attempt(s): {error}",
                    job.attempts
                ));
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
                let row: Option<$crate::store::jobs::JobRow> = sqlx::query_as(
                    sqlx::AssertSqlSafe(format!(
                        "select {} from triage_job where job_id = $1",
                        $crate::store::jobs::JOB_COLUMNS
                    )),
                )
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
                let rows: Vec<$crate::store::jobs::JobRow> = sqlx::query_as(
                    sqlx::AssertSqlSafe(format!(
                        "select {} from triage_job where ($1 is null or status = $1) \
                         and ($2 is null or tenant_id = $2) \
                         order by created_at desc, job_id desc limit $3",
                        $crate::store::jobs::JOB_COLUMNS
                    )),
                )
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
                let rows: Vec<$crate::store::jobs::JobRow> = sqlx::query_as(
                    sqlx::AssertSqlSafe(format!(
                        "select {} from triage_job where ticket_id = $1 \
                         order by created_at desc, job_id desc",
                        $crate::store::jobs::JOB_COLUMNS
                    )),
                )
                .bind(ticket.0)
                .fetch_all(self.pool())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }
    };
}

pub(super) use impl_job_store;
pub(super) use suggestion_insert;
