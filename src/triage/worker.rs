//! The triage worker: claims a job, renews its lease while it works, and ends it done (the
//! suggestion stored), queued again with backoff, or dead. A worker that stops mid-job
//! (crash, kill) leaves the job running under a lease that runs out, and the next claim takes
//! it over; on SQLite, a restart queues such jobs again at once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::Actor;
use crate::domain::job::{Retry, TriageJob, time_span};
use crate::store::Error as StoreError;

use super::Triage;
use super::handoff::Inbox;

/// How often an idle worker looks for jobs it was not woken for: retries whose backoff ended,
/// expired leases, jobs queued by another process.
const POLL: Duration = Duration::from_secs(1);
/// The longest one attempt may take, model calls, retries and repair included; the lease is
/// renewed meanwhile, so without a bound a stuck attempt would hold its job for ever.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(600);

/// What a worker does after a job.
pub enum Then {
    /// Work on this job, claimed with the last one's completion.
    Next(Box<TriageJob>),
    /// The completion found nothing ready: wait to be woken.
    Wait,
    /// Claim the next job now.
    Claim,
}

pub struct Worker {
    triage: Arc<Triage>,
    owner: String,
    lease: Duration,
}

impl Worker {
    /// A worker named `owner` in the leases it takes (unique per process and worker).
    pub fn new(triage: Arc<Triage>, owner: String) -> Self {
        let lease = triage.config().triage.lease;
        Self {
            triage,
            owner,
            lease,
        }
    }

    /// Works until the task is dropped, on jobs handed to `inbox` as they are queued here and
    /// on jobs it claims from the store.
    pub async fn run(self, mut inbox: Inbox) {
        let worker = Arc::new(self);
        // Jobs already held: claimed together with a completion, or handed over while this
        // worker was between jobs. Each job adds at most one, so it stays short.
        let mut held: VecDeque<TriageJob> = VecDeque::new();
        loop {
            // Registered before the claim and kept through the job, so a job queued meanwhile
            // still wakes this worker.
            let woken = worker.triage.woken();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // A job handed over goes first: its lease has been running since it was queued.
            let claimed = match inbox.try_take() {
                Some(job) => Ok(worker.fresh(job).await),
                None => match held.pop_front() {
                    Some(job) => Ok(Some(job)),
                    None => worker.claim().await,
                },
            };
            match claimed {
                Ok(Some(job)) => {
                    // Its own task, so a panic in one job cannot end the worker: the job's lease
                    // runs out, and it is taken over or, after its attempts, buried.
                    let id = job.id;
                    let this = worker.clone();
                    match tokio::spawn(async move { this.process(job).await }).await {
                        Ok(Then::Next(job)) => {
                            held.push_back(*job);
                            continue;
                        }
                        Ok(Then::Claim) => continue,
                        // The completion found the queue empty: wait, rather than spend a
                        // write on asking again at once.
                        Ok(Then::Wait) => {}
                        Err(err) => {
                            tracing::error!(job.id = %id, error = %err, "triage job panicked");
                            worker.triage.metrics().job_outcome("panicked");
                            continue;
                        }
                    }
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "cannot claim a triage job"),
            }
            if !held.is_empty() {
                continue;
            }
            inbox.set_idle();
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep(POLL) => {}
                job = inbox.take() => held.extend(worker.fresh(job).await),
            }
            inbox.set_busy();
        }
    }

    /// A job handed over, if it is still this worker's: its lease began when it was queued,
    /// so one that waited a third of it is renewed first, and one taken over meanwhile (this
    /// worker was slow to come back) is left to its new holder.
    async fn fresh(&self, job: TriageJob) -> Option<TriageJob> {
        let now = crate::domain::now();
        let left = job
            .lease_until
            .map_or(chrono::TimeDelta::zero(), |until| until - now);
        if left > time_span(self.lease * 2 / 3) {
            return Some(job);
        }
        match self
            .triage
            .store()
            .renew_lease(job.id, &self.owner, now + time_span(self.lease))
            .await
        {
            Ok(true) => Some(job),
            Ok(false) => {
                tracing::info!(job.id = %job.id, "a job handed over was taken over before it began");
                None
            }
            Err(err) => {
                // Its lease runs out and it is claimed again: nothing is lost.
                tracing::warn!(job.id = %job.id, error = %err, "cannot renew a job handed over");
                None
            }
        }
    }

    async fn claim(&self) -> Result<Option<TriageJob>, StoreError> {
        let now = crate::domain::now();
        self.triage
            .store()
            .claim_job(&self.owner, now, now + time_span(self.lease))
            .await
    }

    /// Runs one claimed job to its end; never returns an error, since every outcome is stored.
    /// A completed job's transaction also claims the next ready job, returned here.
    #[tracing::instrument(skip_all, fields(job.id = %job.id, ticket.id = %job.ticket_id, attempt = job.attempts))]
    pub async fn process(&self, job: TriageJob) -> Then {
        let actor = Actor::system("triage");
        let store = self.triage.store().clone();
        if job.exhausted() {
            let error = format!(
                "{} attempts made; the last one never finished (its worker stopped)",
                job.max_attempts
            );
            let outcome = store.bury_job(&job, &self.owner, &error, &actor).await;
            if outcome.is_ok() {
                self.triage.metrics().observe_failed_triage();
            }
            self.end(outcome, "dead");
            return Then::Claim;
        }
        let started = std::time::Instant::now();
        let work = tokio::time::timeout(ATTEMPT_DEADLINE, self.triage.compute(&job));
        let result = tokio::select! {
            result = work => result.unwrap_or_else(|_| Err(super::TriageError::Task(format!(
                "the attempt took longer than {} s", ATTEMPT_DEADLINE.as_secs()
            )))),
            lost = self.keep_lease(&job) => {
                tracing::warn!(reason = %lost, "lease lost mid-job; another worker has it now");
                self.triage.metrics().job_outcome("lease_lost");
                return Then::Claim;
            }
        };
        match result {
            Ok(suggestion) => {
                let now = crate::domain::now();
                let outcome = store
                    .complete_and_claim(
                        &job,
                        &self.owner,
                        &suggestion,
                        &actor,
                        now,
                        now + time_span(self.lease),
                    )
                    .await;
                match outcome {
                    Ok(next) => {
                        self.triage
                            .metrics()
                            .observe_triage("done", started.elapsed().as_secs_f64());
                        self.end(Ok(()), "done");
                        next.map_or(Then::Wait, |job| Then::Next(Box::new(job)))
                    }
                    Err(err) => {
                        self.end(Err(err), "done");
                        Then::Claim
                    }
                }
            }
            Err(err) => {
                let error = err.to_string();
                tracing::warn!(error = %error, "triage attempt failed");
                match job.after_failure() {
                    Retry::After(delay) => {
                        let run_after = crate::domain::now() + time_span(delay);
                        let outcome = store
                            .reschedule_job(&job, &self.owner, &error, run_after, &actor)
                            .await;
                        self.end(outcome, "retried");
                    }
                    Retry::GiveUp => {
                        let outcome = store.bury_job(&job, &self.owner, &error, &actor).await;
                        if outcome.is_ok() {
                            self.triage.metrics().observe_failed_triage();
                        }
                        self.end(outcome, "dead");
                    }
                }
                Then::Claim
            }
        }
    }

    /// Records how the job ended and wakes whoever waits for its suggestion.
    fn end(&self, outcome: Result<(), StoreError>, what: &str) {
        match outcome {
            Ok(()) => {
                self.triage.metrics().job_outcome(what);
                self.triage.announce_finished();
            }
            Err(StoreError::LeaseLost(job)) => {
                tracing::warn!(%job, "lease lost before the result was stored; it is dropped");
                self.triage.metrics().job_outcome("lease_lost");
            }
            Err(err) => {
                // The lease runs out and the job is claimed again: nothing is lost.
                tracing::error!(error = %err, "cannot store the job's outcome; it will run again");
                self.triage.metrics().job_outcome("store_failed");
            }
        }
    }

    /// Renews the lease every third of its length; returns only when it was lost.
    async fn keep_lease(&self, job: &TriageJob) -> String {
        let every = self.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let until = crate::domain::now() + time_span(self.lease);
            match self
                .triage
                .store()
                .renew_lease(job.id, &self.owner, until)
                .await
            {
                Ok(true) => {}
                Ok(false) => return "the job is held by another worker".into(),
                // A blip: try again next time; the lease has two more thirds to go.
                Err(err) => tracing::warn!(error = %err, "cannot renew the lease"),
            }
        }
    }
}

/// Starts this process's workers: one on SQLite (one writer; a second would only wait), up to
/// `triage.workers` on PostgreSQL. Jobs a dead process left running are queued again first
/// where the store allows it.
pub async fn start(triage: Arc<Triage>) {
    match triage.store().resume_orphaned_jobs().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            jobs = n,
            "resumed triage jobs left running by a stopped process"
        ),
        Err(err) => tracing::error!(error = %err, "cannot resume orphaned triage jobs"),
    }
    let count = if triage.store().single_worker() {
        1
    } else {
        triage.config().triage.workers
    };
    let process = uuid::Uuid::now_v7();
    for n in 0..count {
        let owner = format!("{process}/{n}");
        let inbox = triage.inbox(&owner);
        let worker = Worker::new(triage.clone(), owner);
        tokio::spawn(worker.run(inbox));
    }
}
