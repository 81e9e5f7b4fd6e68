//! Durable triage jobs in the store, on both backends: queued with the ticket in one
//! transaction, claimed once, reclaimed after a lease runs out, retried, buried, and the
//! suggestion stored exactly once (shown as pending until then).

mod support;

use std::sync::Arc;

use chrono::TimeDelta;
use support::{Backend, TestDb, test_config};
use triagegate::domain::Actor;
use triagegate::domain::job::{JobReason, JobStatus, Lease, NewTriageJob, TriageJob};
use triagegate::domain::suggestion::{Field, FieldProposal, Suggestion, SuggestionStatus};
use triagegate::domain::tenant::{NewTenant, Tenant, TenantSlug};
use triagegate::domain::ticket::{AttachmentLimits, NewTicket, TicketDraft, TicketId};
use triagegate::store::{self, Store};

on_both_backends!(
    a_ticket_and_its_triage_are_stored_together,
    a_job_is_claimed_once_and_its_suggestion_filled_in_once,
    a_job_whose_lease_ran_out_is_taken_over,
    a_failed_attempt_waits_for_its_backoff,
    a_buried_job_marks_its_suggestion_failed,
    concurrent_workers_never_claim_the_same_job,
    completing_a_job_claims_the_next_in_the_same_write,
    orphaned_jobs_resume_at_start_only_where_one_process_owns_the_store,
    a_job_queued_under_a_lease_needs_no_claim,
    jobs_are_claimed_oldest_first_from_either_way_in,
    a_ticket_created_while_a_worker_waits_is_handed_to_it,
    jobs_queued_before_the_lean_table_end_through_their_pending_rows,
);

async fn open(backend: Backend) -> (TestDb, Arc<dyn Store>, Tenant) {
    let db = TestDb::new(backend).await;
    let config = test_config(&db, &[]);
    let store = store::connect(&config.database).await.expect("store");
    let new = NewTenant::new(TenantSlug::parse("acme").expect("slug"), None).expect("tenant");
    let tenant = store
        .create_tenant(&new, &Actor::cli())
        .await
        .expect("tenant");
    (db, store, tenant)
}

/// A new ticket titled `title`, not stored yet and with no triage.
fn new_ticket(tenant: &Tenant, title: &str) -> NewTicket {
    let draft = TicketDraft {
        title: title.into(),
        ..TicketDraft::default()
    };
    let limits = AttachmentLimits {
        max_attachment: 1 << 20,
        max_total: 1 << 20,
    };
    NewTicket::from_draft(tenant, draft, limits).expect("ticket")
}

/// Stores a ticket with its triage queued; returns what was stored.
async fn queued_ticket(store: &dyn Store, tenant: &Tenant, title: &str) -> NewTicket {
    let new = new_ticket(tenant, title).with_triage("system:triage", 3, "test/1".into());
    store
        .create_ticket(&new, &Actor::cli())
        .await
        .expect("created");
    new
}

fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    triagegate::domain::now() + TimeDelta::seconds(seconds)
}

async fn claim(store: &dyn Store, owner: &str, now_s: i64, lease_s: i64) -> Option<TriageJob> {
    store
        .claim_job(owner, at(now_s), at(now_s + lease_s))
        .await
        .expect("claim")
}

fn result_for(job: &TriageJob) -> Suggestion {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(Field::ServiceGroup, FieldProposal::nothing("no history"));
    let mut s = Suggestion::new(
        job.ticket_id,
        job.tenant_id,
        "test/1".into(),
        serde_json::json!({"job": job.id}),
        fields,
    );
    s.id = job.suggestion_id;
    s.created_at = job.created_at;
    s
}

/// The suggestion the work queue shows beside `ticket`.
async fn queue_shows(store: &dyn Store, ticket: TicketId) -> Option<Suggestion> {
    let items = store
        .queue(&store::QueueQuery {
            visibility: store::Visibility::AllTenants,
            tenant: None,
            stage: None,
            priority: None,
            service_group: None,
            limit: 100,
        })
        .await
        .expect("queue");
    items
        .into_iter()
        .find(|item| item.ticket.id == ticket)
        .expect("listed")
        .suggestion
}

async fn chain_ok(store: &dyn Store) {
    let report = store::verify_audit_chain(store).await.expect("verify");
    assert!(report.ok, "audit chain: {report:?}");
}

async fn a_ticket_and_its_triage_are_stored_together(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    let ticket = queued_ticket(store.as_ref(), &tenant, "VPN down").await;
    let job = ticket.triage.as_ref().expect("job");
    assert_eq!(db.count("ticket").await, 1);
    assert_eq!(db.count("triage_job where status = 'queued'").await, 1);
    let listed = store.suggestions_for(ticket.id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, job.suggestion_id);
    assert_eq!(listed[0].status, SuggestionStatus::Pending);
    let events = store
        .audit_events_for("ticket", &ticket.id.to_string())
        .await
        .expect("events");
    assert_eq!(
        events.len(),
        1,
        "one event records the ticket and its queued triage"
    );
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).expect("json");
    assert_eq!(
        payload["triage_job"]["suggestion_id"],
        serde_json::json!(job.suggestion_id)
    );
    // No suggestion row until the job ends: readers show the job as its pending suggestion.
    assert_eq!(db.count("suggestion").await, 0);
    let shown = store.suggestion(job.suggestion_id).await.expect("shown");
    assert_eq!(shown.status, SuggestionStatus::Pending);
    assert_eq!(shown.created_at, job.created_at);
    // A ticket whose job cannot be written (its id is taken) leaves nothing behind, not even
    // the ticket: the two are one transaction.
    let mut again = new_ticket(&tenant, "Second ticket");
    let mut clash = NewTriageJob::new(
        again.id,
        tenant.id,
        JobReason::Created,
        "system:triage",
        3,
        "test/1".into(),
    );
    clash.id = job.id;
    clash.suggestion_id = job.suggestion_id;
    clash.created_at = again.created_at;
    again.triage = Some(clash);
    store
        .create_ticket(&again, &Actor::cli())
        .await
        .expect_err("the job id is taken");
    assert_eq!(
        db.count("ticket").await,
        1,
        "the ticket was rolled back too"
    );
    assert_eq!(db.count("triage_job").await, 1);
    assert_eq!(db.count("suggestion").await, 0);
    chain_ok(store.as_ref()).await;
}

async fn a_job_is_claimed_once_and_its_suggestion_filled_in_once(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    let ticket = queued_ticket(store.as_ref(), &tenant, "Mail bounces").await;
    let shown = queue_shows(store.as_ref(), ticket.id)
        .await
        .expect("pending");
    assert_eq!(
        (shown.id, shown.status),
        (
            ticket.triage.as_ref().expect("job").suggestion_id,
            SuggestionStatus::Pending
        )
    );
    let job = claim(store.as_ref(), "w1", 0, 30).await.expect("claimed");
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.attempts, 1);
    assert_eq!(job.ticket_id, ticket.id);
    assert!(claim(store.as_ref(), "w2", 0, 30).await.is_none(), "held");
    assert!(
        store
            .renew_lease(job.id, "w1", at(60))
            .await
            .expect("renew")
    );
    assert!(
        !store
            .renew_lease(job.id, "w2", at(60))
            .await
            .expect("renew")
    );
    let result = result_for(&job);
    let actor = Actor::system("triage");
    store
        .complete_and_claim(&job, "w1", &result, &actor, at(0), at(30))
        .await
        .expect("completed");
    let stored = store.suggestion(job.suggestion_id).await.expect("stored");
    assert_eq!(stored.status, SuggestionStatus::Done);
    let shown = queue_shows(store.as_ref(), ticket.id).await.expect("done");
    assert_eq!(
        (shown.id, shown.status),
        (stored.id, SuggestionStatus::Done)
    );
    assert_eq!(stored.inputs["job"], serde_json::json!(job.id));
    assert_eq!(
        store.job(job.id).await.expect("job").status,
        JobStatus::Done
    );
    // Never stored twice, not even by the same worker.
    let err = store
        .complete_and_claim(&job, "w1", &result, &actor, at(0), at(30))
        .await
        .expect_err("done already");
    assert!(matches!(err, store::Error::LeaseLost(_)), "{err:?}");
    assert!(claim(store.as_ref(), "w2", 3_600, 30).await.is_none());
    assert_eq!(
        db.count("audit_event where action = 'suggestion.created'")
            .await,
        1
    );
    chain_ok(store.as_ref()).await;
}

async fn a_job_whose_lease_ran_out_is_taken_over(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    queued_ticket(store.as_ref(), &tenant, "Disk full").await;
    let first = claim(store.as_ref(), "dead-worker", 0, 30)
        .await
        .expect("claimed");
    assert!(
        claim(store.as_ref(), "w2", 10, 30).await.is_none(),
        "lease still runs"
    );
    let second = claim(store.as_ref(), "w2", 31, 30)
        .await
        .expect("taken over");
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.lease_owner.as_deref(), Some("w2"));
    // The first worker comes back late: its result is refused, the second's stands.
    let actor = Actor::system("triage");
    let err = store
        .complete_and_claim(
            &first,
            "dead-worker",
            &result_for(&first),
            &actor,
            at(40),
            at(70),
        )
        .await
        .expect_err("lease lost");
    assert!(matches!(err, store::Error::LeaseLost(_)), "{err:?}");
    store
        .complete_and_claim(&second, "w2", &result_for(&second), &actor, at(40), at(70))
        .await
        .expect("completed");
    assert_eq!(db.count("suggestion where status = 'done'").await, 1);
    chain_ok(store.as_ref()).await;
}

async fn a_failed_attempt_waits_for_its_backoff(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    queued_ticket(store.as_ref(), &tenant, "Printer jam").await;
    let job = claim(store.as_ref(), "w1", 0, 30).await.expect("claimed");
    let actor = Actor::system("triage");
    store
        .reschedule_job(&job, "w1", "database went away", at(60), &actor)
        .await
        .expect("rescheduled");
    let stored = store.job(job.id).await.expect("job");
    assert_eq!(stored.status, JobStatus::Queued);
    assert_eq!(stored.last_error.as_deref(), Some("database went away"));
    assert!(
        claim(store.as_ref(), "w1", 30, 30).await.is_none(),
        "backoff"
    );
    let again = claim(store.as_ref(), "w1", 61, 30)
        .await
        .expect("after backoff");
    assert_eq!(again.attempts, 2);
    assert_eq!(
        db.count("audit_event where action = 'triage_job.retry_scheduled'")
            .await,
        1
    );
    chain_ok(store.as_ref()).await;
}

async fn a_buried_job_marks_its_suggestion_failed(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    let ticket = queued_ticket(store.as_ref(), &tenant, "Laptop stolen").await;
    let job = claim(store.as_ref(), "w1", 0, 30).await.expect("claimed");
    store
        .bury_job(&job, "w1", "index unreadable", &Actor::system("triage"))
        .await
        .expect("buried");
    let dead = store
        .jobs(Some(JobStatus::Dead), None, 10)
        .await
        .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("index unreadable"));
    let listed = store.suggestions_for(ticket.id).await.expect("list");
    assert_eq!(listed[0].status, SuggestionStatus::Failed);
    let error = listed[0].error.as_deref().expect("error");
    assert!(error.contains("index unreadable"), "{error}");
    assert_eq!(
        store.jobs_for_ticket(ticket.id).await.expect("jobs")[0].status,
        JobStatus::Dead
    );
    assert!(claim(store.as_ref(), "w1", 3_600, 30).await.is_none());
    assert_eq!(
        db.count("audit_event where action = 'triage_job.dead'")
            .await,
        1
    );
    chain_ok(store.as_ref()).await;
}

async fn concurrent_workers_never_claim_the_same_job(backend: Backend) {
    let (_db, store, tenant) = open(backend).await;
    for n in 0..12 {
        queued_ticket(store.as_ref(), &tenant, &format!("ticket {n}")).await;
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = claim(store.as_ref(), &format!("w{w}"), 0, 30).await {
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let claimed = all.len();
    all.sort_by_key(|id| id.0);
    all.dedup();
    assert_eq!(claimed, 12, "every job claimed");
    assert_eq!(all.len(), 12, "none twice");
}

async fn orphaned_jobs_resume_at_start_only_where_one_process_owns_the_store(backend: Backend) {
    let (_db, store, tenant) = open(backend).await;
    queued_ticket(store.as_ref(), &tenant, "Wi-Fi drops").await;
    let job = claim(store.as_ref(), "gone", 0, 30).await.expect("claimed");
    let resumed = store.resume_orphaned_jobs().await.expect("resume");
    match backend {
        Backend::Sqlite => {
            assert!(store.single_worker());
            assert_eq!(resumed, 1);
            let again = claim(store.as_ref(), "w1", 0, 30).await.expect("at once");
            assert_eq!(again.id, job.id);
        }
        Backend::Postgres => {
            assert!(!store.single_worker());
            assert_eq!(resumed, 0, "another process may hold it");
            assert!(claim(store.as_ref(), "w1", 0, 30).await.is_none());
        }
    }
}

async fn completing_a_job_claims_the_next_in_the_same_write(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    queued_ticket(store.as_ref(), &tenant, "first").await;
    queued_ticket(store.as_ref(), &tenant, "second").await;
    let first = claim(store.as_ref(), "w1", 0, 30).await.expect("claimed");
    let actor = Actor::system("triage");
    let second = store
        .complete_and_claim(&first, "w1", &result_for(&first), &actor, at(0), at(30))
        .await
        .expect("completed")
        .expect("the next job came with it");
    assert_ne!(second.id, first.id);
    assert_eq!(second.status, JobStatus::Running);
    assert_eq!(second.lease_owner.as_deref(), Some("w1"));
    let none = store
        .complete_and_claim(&second, "w1", &result_for(&second), &actor, at(0), at(30))
        .await
        .expect("completed");
    assert!(none.is_none(), "nothing left to claim");
    assert_eq!(db.count("triage_job where status = 'done'").await, 2);
    assert_eq!(db.count("suggestion where status = 'done'").await, 2);
    // A late worker cannot complete-and-claim a job it no longer holds.
    let err = store
        .complete_and_claim(&first, "w1", &result_for(&first), &actor, at(0), at(30))
        .await
        .expect_err("done already");
    assert!(matches!(err, store::Error::LeaseLost(_)), "{err:?}");
    chain_ok(store.as_ref()).await;
}

async fn a_job_queued_under_a_lease_needs_no_claim(backend: Backend) {
    let (db, store, tenant) = open(backend).await;
    let mut new =
        new_ticket(&tenant, "Handed over").with_triage("system:triage", 3, "test/1".into());
    if let Some(job) = new.triage.as_mut() {
        job.lease = Some(Lease {
            owner: "w1".into(),
            until: at(30),
        });
    }
    store
        .create_ticket(&new, &Actor::cli())
        .await
        .expect("created");
    let queued = new.triage.as_ref().expect("job");
    let job = queued.leased().expect("leased");
    let stored = store.job(job.id).await.expect("stored");
    assert_eq!(stored.status, JobStatus::Running);
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.lease_owner.as_deref(), Some("w1"));
    assert_eq!(
        stored.lease_until.map(|t| t.timestamp_millis()),
        job.lease_until.map(|t| t.timestamp_millis())
    );
    assert!(
        claim(store.as_ref(), "w2", 0, 30).await.is_none(),
        "held by its worker from the start"
    );
    let events = store
        .audit_events_for("ticket", &new.id.to_string())
        .await
        .expect("events");
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).expect("json");
    assert_eq!(payload["triage_job"]["leased_to"], "w1");
    // Its worker completes it with no claim of its own.
    let actor = Actor::system("triage");
    store
        .complete_and_claim(&job, "w1", &result_for(&job), &actor, at(0), at(30))
        .await
        .expect("completed");
    assert_eq!(db.count("suggestion where status = 'done'").await, 1);
    assert_eq!(store.job(job.id).await.expect("job").attempts, 1);

    // One whose worker vanished before it began is taken over once the lease runs out.
    let lost = queued_ticket(store.as_ref(), &tenant, "Lost with its process").await;
    let lost_job = lost.triage.as_ref().expect("job");
    let taken = claim(store.as_ref(), "w3", 0, 30).await.expect("claimed");
    assert_eq!(taken.id, lost_job.id);
    store
        .complete_and_claim(&taken, "w3", &result_for(&taken), &actor, at(0), at(30))
        .await
        .expect("completed");
    chain_ok(store.as_ref()).await;
}

/// Through the running service: a ticket filed while the worker waits is stored already leased
/// to it and triaged with one attempt; its `ticket.created` event names the worker.
async fn a_ticket_created_while_a_worker_waits_is_handed_to_it(backend: Backend) {
    let app = support::spawn_app_with(backend, &[("TRIAGEGATE_TRIAGE__ON_CREATE", "true")]).await;
    for round in 0..3 {
        // The worker goes back to waiting once it has finished the last ticket.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while app.triage.idle_workers() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the worker never waited"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let id = app
            .ticket_with_log(&format!("Handed over {round}"), "VPN drops", None)
            .await;
        let events = app
            .store
            .audit_events_for("ticket", &id)
            .await
            .expect("events");
        let payload: serde_json::Value = serde_json::from_str(&events[0].payload).expect("json");
        let owner = payload["triage_job"]["leased_to"]
            .as_str()
            .expect("leased to the waiting worker")
            .to_string();
        let ticket_id = triagegate::domain::ticket::TicketId(id.parse().expect("uuid"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let job = loop {
            let jobs = app.store.jobs_for_ticket(ticket_id).await.expect("jobs");
            let job = jobs.into_iter().next().expect("a job");
            if job.status == JobStatus::Done {
                break job;
            }
            assert!(std::time::Instant::now() < deadline, "never done: {job:?}");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        assert_eq!(job.attempts, 1, "one attempt, begun as it was queued");
        assert!(owner.contains('/'), "a worker's name: {owner}");
        let suggestions = app
            .store
            .suggestions_for(ticket_id)
            .await
            .expect("suggestions");
        assert_eq!(suggestions.len(), 1);
        assert_eq!(suggestions[0].status, SuggestionStatus::Done);
    }
}

async fn jobs_are_claimed_oldest_first_from_either_way_in(backend: Backend) {
    let (_db, store, tenant) = open(backend).await;
    let mut queued = Vec::new();
    for n in 0..3 {
        let ticket = queued_ticket(store.as_ref(), &tenant, &format!("ticket {n}")).await;
        queued.push(ticket.triage.expect("job").id);
        // Distinct milliseconds, so the order is the queue's and not the tie-break's.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    // The oldest job's worker dies: once its lease runs out it comes first again, ahead of the
    // younger jobs still queued.
    let first = claim(store.as_ref(), "dead", 0, 30).await.expect("claimed");
    assert_eq!(first.id, queued[0]);
    let second = claim(store.as_ref(), "w1", 0, 120).await.expect("claimed");
    assert_eq!(second.id, queued[1]);
    let again = claim(store.as_ref(), "w2", 31, 30).await.expect("claimed");
    assert_eq!(again.id, queued[0], "the expired lease, oldest");
    assert_eq!(again.attempts, 2);
    let third = claim(store.as_ref(), "w3", 31, 30).await.expect("claimed");
    assert_eq!(third.id, queued[2]);
    assert!(claim(store.as_ref(), "w4", 31, 30).await.is_none());
}

/// Runs the migrations before `0007_lean_triage_jobs` on `db`, as an older release left it.
async fn migrate_before_lean_jobs(db: &TestDb) {
    let folder = match db.backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let old = tempfile::tempdir().expect("dir");
    for entry in std::fs::read_dir(folder).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if name.as_str() < "0007" {
            std::fs::copy(&path, old.path().join(&name)).expect("copy");
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path())
        .await
        .expect("migrator");
    match db.backend {
        Backend::Sqlite => {
            use std::str::FromStr;
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url)
                .expect("url")
                .create_if_missing(true);
            std::fs::create_dir_all(db.dir().join("data")).expect("folder");
            let pool = sqlx::SqlitePool::connect_with(options)
                .await
                .expect("sqlite");
            migrator.run(&pool).await.expect("old migrations");
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            migrator.run(&pool).await.expect("old migrations");
            pool.close().await;
        }
    }
}

/// Upgrading keeps what an older release queued: a job that wrote a pending suggestion row
/// under its own id shows that row, is claimed with its proposer, and fills the row in once.
async fn jobs_queued_before_the_lean_table_end_through_their_pending_rows(backend: Backend) {
    let db = TestDb::new(backend).await;
    migrate_before_lean_jobs(&db).await;
    let id = |hex: &str| match backend {
        Backend::Sqlite => format!("x'{hex}'"),
        Backend::Postgres => format!("'{hex}'::uuid"),
    };
    let (tenant, ticket) = (id(&"1".repeat(32)), id(&"2".repeat(32)));
    let (pending, job) = (id(&"3".repeat(32)), id(&"4".repeat(32)));
    let when = "'2026-12-01T10:00:00Z'";
    db.execute_raw(&format!(
        "insert into tenant (tenant_id, slug, name, created_at) values ({tenant}, 'acme', 'Acme', {when}); \
         insert into ticket (ticket_id, tenant_id, title, description, stage, created_at, updated_at) \
         values ({ticket}, {tenant}, 'Old VPN outage', '', 'new', {when}, {when}); \
         insert into suggestion (suggestion_id, ticket_id, tenant_id, status, proposer, inputs_digest, \
         fields, inputs, created_at) values ({pending}, {ticket}, {tenant}, 'pending', 'old/1', '', \
         '{{}}', '{{}}', {when}); \
         insert into triage_job (job_id, suggestion_id, ticket_id, tenant_id, reason, requested_by, \
         status, attempts, max_attempts, run_after_ms, created_at, updated_at) values ({job}, \
         {pending}, {ticket}, {tenant}, 'created', 'system:triage', 'queued', 0, 3, 0, {when}, {when})"
    ))
    .await
    .expect("rows of the older release");
    let config = test_config(&db, &[]);
    let store = store::connect(&config.database).await.expect("upgraded");
    let ticket_id = triagegate::domain::ticket::TicketId(uuid::Uuid::from_u128(
        0x2222_2222_2222_2222_2222_2222_2222_2222,
    ));
    let pending_id = uuid::Uuid::from_u128(0x3333_3333_3333_3333_3333_3333_3333_3333);
    let listed = store.suggestions_for(ticket_id).await.expect("list");
    assert_eq!(listed.len(), 1, "the row, not the job as well: {listed:?}");
    assert_eq!(listed[0].id.0, pending_id);
    assert_eq!(listed[0].status, SuggestionStatus::Pending);
    let shown = queue_shows(store.as_ref(), ticket_id).await.expect("shown");
    assert_eq!(
        (shown.id.0, shown.status),
        (pending_id, SuggestionStatus::Pending)
    );
    let claimed = claim(store.as_ref(), "w1", 0, 30).await.expect("claimed");
    assert_eq!(claimed.suggestion_id.0, pending_id);
    assert_eq!(claimed.proposer, "old/1", "copied from its pending row");
    assert!(!claimed.shows_pending());
    store
        .complete_and_claim(
            &claimed,
            "w1",
            &result_for(&claimed),
            &Actor::system("triage"),
            at(0),
            at(30),
        )
        .await
        .expect("completed");
    let listed = store.suggestions_for(ticket_id).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, SuggestionStatus::Done);
    assert_eq!(db.count("suggestion").await, 1, "filled in, not added");
    // A new triage of the same ticket is a job of the new kind, shown before the old result.
    let new = NewTriageJob::new(
        ticket_id,
        claimed.tenant_id,
        JobReason::Requested,
        "alice",
        3,
        "test/1".into(),
    );
    store
        .enqueue_triage(&new, &Actor::cli())
        .await
        .expect("queued");
    let listed = store.suggestions_for(ticket_id).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, new.suggestion_id);
    assert_eq!(listed[0].status, SuggestionStatus::Pending);
    assert_eq!(listed[1].id.0, pending_id);
    let shown = queue_shows(store.as_ref(), ticket_id).await.expect("shown");
    assert_eq!(
        (shown.id, shown.status),
        (new.suggestion_id, SuggestionStatus::Pending)
    );
    chain_ok(store.as_ref()).await;
}
