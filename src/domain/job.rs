//! Durable triage jobs: a ticket's triage is a row in the store, queued in the same transaction
//! as the ticket (or the request), so a crash between "stored" and "triaged" loses nothing. While
//! the job is queued or running, readers show it as its pending suggestion; the suggestion row is
//! written once, when the job ends. Workers claim a job with a lease and renew it while they work; a
//! job whose worker died is claimed again once its lease runs out. Failures retry with backoff,
//! then the job is buried (dead) and its suggestion marked failed, both visible to admins.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::suggestion::{Suggestion, SuggestionId, SuggestionStatus};
use super::tenant::TenantId;
use super::ticket::TicketId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub Uuid);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting for a worker, possibly until `run_after` (a retry's backoff).
    Queued,
    /// Claimed by a worker that holds the lease.
    Running,
    Done,
    /// Gave up after its attempts; the suggestion is marked failed.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// Why the job exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobReason {
    /// The ticket was created.
    Created,
    /// Someone asked for a (new) triage.
    Requested,
}

impl JobReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Requested => "requested",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "created" => Some(Self::Created),
            "requested" => Some(Self::Requested),
            _ => None,
        }
    }
}

/// A job about to be queued; the suggestion it will produce takes the job's id.
#[derive(Debug, Clone)]
pub struct NewTriageJob {
    pub id: JobId,
    pub suggestion_id: SuggestionId,
    pub ticket_id: TicketId,
    pub tenant_id: TenantId,
    pub reason: JobReason,
    pub requested_by: String,
    pub max_attempts: u32,
    /// The proposer named on the pending suggestion until the result replaces it.
    pub proposer: String,
    pub created_at: DateTime<Utc>,
    /// Set when an idle worker of this process takes the job as it is queued: stored already
    /// running under this lease, its first attempt needs no claim of its own.
    pub lease: Option<Lease>,
}

/// Who holds a job, and until when unless renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
}

impl NewTriageJob {
    pub fn new(
        ticket_id: TicketId,
        tenant_id: TenantId,
        reason: JobReason,
        requested_by: &str,
        max_attempts: u32,
        proposer: String,
    ) -> Self {
        let id = Uuid::now_v7();
        Self {
            id: JobId(id),
            // One key for both: a pending suggestion is read from its job's row, found by id.
            suggestion_id: SuggestionId(id),
            ticket_id,
            tenant_id,
            reason,
            requested_by: requested_by.to_string(),
            max_attempts: max_attempts.max(1),
            proposer,
            created_at: super::now(),
            lease: None,
        }
    }

    /// The job as stored when it was queued under a lease: running, its first attempt begun.
    pub fn leased(&self) -> Option<TriageJob> {
        let lease = self.lease.as_ref()?;
        Some(self.started(Some(lease)))
    }

    /// The job in its first attempt, run by `lease`'s holder or, without one, by the request
    /// that made it (a triage that runs at once and is stored only with its result).
    pub fn started(&self, lease: Option<&Lease>) -> TriageJob {
        TriageJob {
            id: self.id,
            suggestion_id: self.suggestion_id,
            ticket_id: self.ticket_id,
            tenant_id: self.tenant_id,
            reason: self.reason,
            requested_by: self.requested_by.clone(),
            proposer: self.proposer.clone(),
            status: JobStatus::Running,
            attempts: 1,
            max_attempts: self.max_attempts,
            run_after: self.created_at,
            lease_owner: lease.map(|l| l.owner.clone()),
            lease_until: lease.map(|l| l.until),
            last_error: None,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }

    /// Status and attempts the row starts with.
    pub fn initial_state(&self) -> (JobStatus, u32) {
        match self.lease {
            Some(_) => (JobStatus::Running, 1),
            None => (JobStatus::Queued, 0),
        }
    }

    /// The suggestion shown while the job waits: no fields yet, status pending.
    pub fn pending_suggestion(&self) -> Suggestion {
        self.started(None).pending_suggestion()
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageJob {
    pub id: JobId,
    pub suggestion_id: SuggestionId,
    pub ticket_id: TicketId,
    pub tenant_id: TenantId,
    pub reason: JobReason,
    pub requested_by: String,
    /// Named on the pending suggestion until the result replaces it.
    pub proposer: String,
    pub status: JobStatus,
    /// Claims so far, the current one included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TriageJob {
    /// Whether readers see this job as its suggestion: it has not ended yet, and it has no row
    /// of its own (jobs queued before migration 0007 wrote one, under another id).
    pub fn shows_pending(&self) -> bool {
        matches!(self.status, JobStatus::Queued | JobStatus::Running)
            && self.suggestion_id.0 == self.id.0
    }

    /// The suggestion shown while the job waits: no fields yet, status pending.
    pub fn pending_suggestion(&self) -> Suggestion {
        pending_suggestion(
            self.suggestion_id,
            self.ticket_id,
            self.tenant_id,
            &self.proposer,
            self.created_at,
        )
    }

    /// The suggestion of a job given up on: no fields, failed with `error`.
    pub fn failed_suggestion(&self, error: &str) -> Suggestion {
        let mut failed = self.pending_suggestion();
        failed.status = SuggestionStatus::Failed;
        failed.error = Some(format!(
            "triage gave up after {} attempt(s): {error}",
            self.attempts
        ));
        failed
    }

    /// Whether this claim is one too many: earlier claims all ended with their worker gone, so
    /// the job itself is the likely cause and must not take the next worker down too.
    pub fn exhausted(&self) -> bool {
        self.attempts > self.max_attempts
    }

    /// What to do after a failed attempt.
    pub fn after_failure(&self) -> Retry {
        if self.attempts >= self.max_attempts {
            Retry::GiveUp
        } else {
            Retry::After(backoff(self.attempts))
        }
    }
}

/// A job's suggestion before it has a result, as readers show it.
pub fn pending_suggestion(
    id: SuggestionId,
    ticket_id: TicketId,
    tenant_id: TenantId,
    proposer: &str,
    created_at: DateTime<Utc>,
) -> Suggestion {
    let mut pending = Suggestion::new(
        ticket_id,
        tenant_id,
        proposer.to_string(),
        serde_json::json!({}),
        Default::default(),
    );
    pending.id = id;
    pending.status = SuggestionStatus::Pending;
    pending.created_at = created_at;
    pending
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    After(Duration),
    GiveUp,
}

/// Wait before the next attempt: 2, 4, 8 … seconds after the 1st, 2nd, 3rd failure, at most
/// five minutes, so a store that is down for a while is not hammered and a blip costs seconds.
pub fn backoff(failed_attempts: u32) -> Duration {
    let exponent = failed_attempts.clamp(1, 16);
    Duration::from_secs((1u64 << exponent).min(300))
}

/// A lease's length or a backoff as a span to add to a time; one beyond chrono's range (never
/// configured: leases are at most a minute, backoffs five) falls back to 30 s.
pub fn time_span(length: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(length).unwrap_or(chrono::TimeDelta::seconds(30))
}

/// Milliseconds since the epoch: the unit leases and schedules are stored in on both backends,
/// because SQLite keeps timestamps as text that does not sort by time.
pub fn epoch_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub fn from_epoch_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(attempts: u32, max_attempts: u32) -> TriageJob {
        let now = crate::domain::now();
        TriageJob {
            id: JobId(Uuid::now_v7()),
            suggestion_id: SuggestionId(Uuid::now_v7()),
            ticket_id: TicketId(Uuid::now_v7()),
            tenant_id: TenantId(Uuid::now_v7()),
            reason: JobReason::Created,
            requested_by: "system".into(),
            proposer: "retrieval".into(),
            status: JobStatus::Running,
            attempts,
            max_attempts,
            run_after: now,
            lease_owner: Some("w".into()),
            lease_until: Some(now),
            last_error: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(9), Duration::from_secs(300));
        assert_eq!(backoff(60), Duration::from_secs(300));
        assert_eq!(backoff(0), Duration::from_secs(2));
    }

    #[test]
    fn a_job_retries_until_its_last_attempt() {
        assert_eq!(
            job(1, 3).after_failure(),
            Retry::After(Duration::from_secs(2))
        );
        assert_eq!(
            job(2, 3).after_failure(),
            Retry::After(Duration::from_secs(4))
        );
        assert_eq!(job(3, 3).after_failure(), Retry::GiveUp);
        assert!(!job(3, 3).exhausted());
        assert!(job(4, 3).exhausted());
    }

    #[test]
    fn the_pending_suggestion_carries_the_jobs_ids() {
        let new = NewTriageJob::new(
            TicketId(Uuid::now_v7()),
            TenantId(Uuid::now_v7()),
            JobReason::Requested,
            "alice",
            0,
            "retrieval".into(),
        );
        assert_eq!(new.max_attempts, 1, "at least one attempt");
        let pending = new.pending_suggestion();
        assert_eq!(pending.id, new.suggestion_id);
        assert_eq!(
            pending.id.0, new.id.0,
            "one key for the job and its suggestion"
        );
        assert_eq!(pending.ticket_id, new.ticket_id);
        assert_eq!(pending.status, SuggestionStatus::Pending);
        assert_eq!(pending.created_at, new.created_at);
        assert!(pending.fields.is_empty());
    }

    #[test]
    fn only_a_live_job_of_the_new_kind_shows_as_its_pending_suggestion() {
        let mut live = job(1, 3);
        live.suggestion_id = SuggestionId(live.id.0);
        assert!(live.shows_pending());
        let mut queued = live.clone();
        queued.status = JobStatus::Queued;
        assert!(queued.shows_pending());
        for status in [JobStatus::Done, JobStatus::Dead] {
            let mut ended = live.clone();
            ended.status = status;
            assert!(!ended.shows_pending(), "{status:?}");
        }
        // Queued before migration 0007: its pending suggestion is a row of its own.
        assert!(!job(1, 3).shows_pending());
        let failed = live.failed_suggestion("disk full");
        assert_eq!(failed.id, live.suggestion_id);
        assert_eq!(failed.status, SuggestionStatus::Failed);
        assert_eq!(
            failed.error.as_deref(),
            Some("triage gave up after 1 attempt(s): disk full")
        );
    }

    #[test]
    fn a_leased_job_starts_running_with_its_first_attempt() {
        let mut new = NewTriageJob::new(
            TicketId(Uuid::now_v7()),
            TenantId(Uuid::now_v7()),
            JobReason::Created,
            "system:triage",
            5,
            "retrieval".into(),
        );
        assert_eq!(new.initial_state(), (JobStatus::Queued, 0));
        assert_eq!(new.leased(), None);
        let until = new.created_at + chrono::TimeDelta::seconds(30);
        new.lease = Some(Lease {
            owner: "p/0".into(),
            until,
        });
        assert_eq!(new.initial_state(), (JobStatus::Running, 1));
        let job = new.leased().expect("leased");
        assert_eq!((job.id, job.suggestion_id), (new.id, new.suggestion_id));
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.attempts, 1);
        assert_eq!(job.lease_owner.as_deref(), Some("p/0"));
        assert_eq!(job.lease_until, Some(until));
        assert!(!job.exhausted());
    }

    #[test]
    fn statuses_and_reasons_round_trip() {
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Dead,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        for r in [JobReason::Created, JobReason::Requested] {
            assert_eq!(JobReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(JobStatus::parse("zombie"), None);
    }

    #[test]
    fn epoch_milliseconds_round_trip() {
        let at = DateTime::from_timestamp_millis(1_795_000_000_123).expect("valid");
        assert_eq!(from_epoch_ms(epoch_ms(at)), at);
    }
}
