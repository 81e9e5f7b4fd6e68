//! Handing a job straight to an idle worker of this process. A job queued while one of them
//! waits is stored already leased to that worker (in the transaction that queues it) and passed
//! over in memory, so its first attempt costs no claim: one write fewer per ticket, which
//! SQLite's single writer feels. With no idle worker the job is queued for whichever worker,
//! here or in another process, claims it first. The store stays the record either way: a job
//! handed over and then lost with its process is taken over when its lease runs out.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::job::{Lease, NewTriageJob, TriageJob, time_span};

/// One worker's inbox: it holds at most one job, taken while the worker was idle.
struct Slot {
    owner: String,
    idle: Arc<AtomicBool>,
    sender: mpsc::Sender<TriageJob>,
}

/// The receiving side a worker keeps.
pub struct Inbox {
    idle: Arc<AtomicBool>,
    receiver: mpsc::Receiver<TriageJob>,
}

impl Inbox {
    /// Marks the worker idle: jobs may be handed to it until it takes one.
    pub fn set_idle(&self) {
        self.idle.store(true, Ordering::SeqCst);
    }

    pub fn set_busy(&self) {
        self.idle.store(false, Ordering::SeqCst);
    }

    /// A job handed over, if one waits.
    pub fn try_take(&mut self) -> Option<TriageJob> {
        self.receiver.try_recv().ok()
    }

    /// Waits for a job to be handed over; pending for ever once nobody can hand one.
    pub async fn take(&mut self) -> TriageJob {
        match self.receiver.recv().await {
            Some(job) => job,
            None => std::future::pending().await,
        }
    }
}

#[derive(Default)]
pub struct Handoffs {
    slots: Mutex<Vec<Slot>>,
    /// Where the next search for an idle worker starts, so work spreads over the workers.
    next: AtomicUsize,
}

impl Handoffs {
    /// Registers a worker named `owner` (the name its leases carry) and returns its inbox.
    pub fn register(&self, owner: &str) -> Inbox {
        let (sender, receiver) = mpsc::channel(1);
        let idle = Arc::new(AtomicBool::new(false));
        if let Ok(mut slots) = self.slots.lock() {
            slots.push(Slot {
                owner: owner.to_string(),
                idle: idle.clone(),
                sender,
            });
        }
        Inbox { idle, receiver }
    }

    /// Workers waiting for a job now.
    pub fn idle(&self) -> usize {
        self.slots.lock().map_or(0, |slots| {
            slots
                .iter()
                .filter(|s| s.idle.load(Ordering::SeqCst))
                .count()
        })
    }

    /// Takes an idle worker for `job`, about to be queued: the job is given a lease of
    /// `length` in the worker's name. `None` leaves the job to be queued as it is.
    pub fn reserve(&self, job: &mut NewTriageJob, length: Duration) -> Option<Reserved> {
        let slots = self.slots.lock().ok()?;
        let count = slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for n in 0..count {
            let slot = &slots[(start + n) % count];
            // Taking the idle mark makes the worker ours alone until it waits again.
            if slot
                .idle
                .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                continue;
            }
            match slot.sender.clone().try_reserve_owned() {
                Ok(permit) => {
                    job.lease = Some(Lease {
                        owner: slot.owner.clone(),
                        until: crate::domain::now() + time_span(length),
                    });
                    return Some(Reserved {
                        permit: Some(permit),
                        idle: slot.idle.clone(),
                    });
                }
                // Its inbox still holds a job: it is not idle after all.
                Err(_) => continue,
            }
        }
        None
    }
}

/// An idle worker taken for one job; dropped without `hand`, the worker is idle again.
pub struct Reserved {
    permit: Option<mpsc::OwnedPermit<TriageJob>>,
    idle: Arc<AtomicBool>,
}

impl Reserved {
    /// Passes the stored job to its worker.
    pub fn hand(mut self, job: TriageJob) {
        if let Some(permit) = self.permit.take() {
            permit.send(job);
        }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        // Not handed (the queueing failed): the worker still waits and may take another job.
        if self.permit.is_some() {
            self.idle.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::job::JobReason;
    use crate::domain::tenant::TenantId;
    use crate::domain::ticket::TicketId;
    use uuid::Uuid;

    fn new_job() -> NewTriageJob {
        NewTriageJob::new(
            TicketId(Uuid::now_v7()),
            TenantId(Uuid::now_v7()),
            JobReason::Created,
            "system:triage",
            5,
            "retrieval".into(),
        )
    }

    const LEASE: Duration = Duration::from_secs(30);

    #[test]
    fn only_an_idle_worker_is_handed_a_job_and_only_one() {
        let handoffs = Handoffs::default();
        let mut inbox = handoffs.register("p/0");
        let mut job = new_job();
        assert!(handoffs.reserve(&mut job, LEASE).is_none(), "busy worker");
        assert!(job.lease.is_none());

        inbox.set_idle();
        let reserved = handoffs.reserve(&mut job, LEASE).expect("idle worker");
        let lease = job.lease.clone().expect("leased");
        assert_eq!(lease.owner, "p/0");
        assert!(lease.until > job.created_at);
        let mut second = new_job();
        assert!(
            handoffs.reserve(&mut second, LEASE).is_none(),
            "one job per idle spell"
        );
        assert!(second.lease.is_none());

        reserved.hand(job.leased().expect("leased job"));
        let taken = inbox.try_take().expect("handed over");
        assert_eq!(taken.id, job.id);
        assert_eq!(taken.lease_owner.as_deref(), Some("p/0"));
        assert!(inbox.try_take().is_none());
    }

    #[test]
    fn a_reservation_dropped_unhanded_leaves_the_worker_idle() {
        let handoffs = Handoffs::default();
        let mut inbox = handoffs.register("p/0");
        inbox.set_idle();
        let mut job = new_job();
        drop(handoffs.reserve(&mut job, LEASE).expect("idle worker"));
        let mut again = new_job();
        assert!(handoffs.reserve(&mut again, LEASE).is_some());
        assert!(inbox.try_take().is_none(), "nothing was handed");
    }

    #[test]
    fn jobs_spread_over_idle_workers() {
        let handoffs = Handoffs::default();
        let inboxes: Vec<Inbox> = (0..3)
            .map(|n| handoffs.register(&format!("p/{n}")))
            .collect();
        for inbox in &inboxes {
            inbox.set_idle();
        }
        let mut held = Vec::new();
        let mut owners: Vec<String> = (0..3)
            .map(|_| {
                let mut job = new_job();
                held.push(handoffs.reserve(&mut job, LEASE).expect("an idle worker"));
                job.lease.expect("leased").owner
            })
            .collect();
        owners.sort();
        assert_eq!(owners, ["p/0", "p/1", "p/2"]);
        let mut job = new_job();
        assert!(handoffs.reserve(&mut job, LEASE).is_none(), "all taken");
    }
}
