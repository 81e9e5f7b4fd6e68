//! Similar-case search at scale, and offline triage end to end.
//!
//! Run: `cargo bench --bench similar`. It reports:
//! - indexing: synthetic cases (Zipf vocabulary of 50,000 words, 20-80 words each, 20 tenants)
//!   bulk-indexed the way a rebuild does it, cases/s including the final commit;
//! - query: a 50-word ticket, k = 10, filtered to one tenant, p50/p99 over `BENCH_QUERIES`;
//! - triage: one ticket with a 1 MB log as `POST /tickets/{id}/triage` runs it with no model
//!   configured (digest, search, proposal, then the job, done, and its suggestion written in one
//!   transaction) on SQLite, p50/p99 over `BENCH_TRIAGES`, the tenant holding 5,000 past cases.
//!
//! `BENCH_CASES` (default 1,000,000), `BENCH_QUERIES` (1,000), `BENCH_TRIAGES` (100) vary it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Backend, TestDb, seed, test_config};
use triagegate::domain::Actor;
use triagegate::domain::attachment::NewAttachment;
use triagegate::domain::case::{CaseDraft, ImportedCase};
use triagegate::domain::suggestion::SuggestionStatus;
use triagegate::domain::ticket::{AttachmentLimits, NewTicket, TicketDraft};
use triagegate::search::{CaseIndex, IndexedCase, QueryConfig, SimilarQuery};
use triagegate::store;
use triagegate::triage::Triage;
use triagegate::triage::text_model::SplitMix64;

const VOCABULARY: usize = 50_000;
const TENANTS: usize = 20;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Words drawn with Zipf frequencies (s = 1), as natural text has them.
struct Words {
    cumulative: Vec<f64>,
    rng: SplitMix64,
}

impl Words {
    fn new(seed: u64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self {
            cumulative,
            rng: SplitMix64::new(seed),
        }
    }

    fn word(&mut self) -> String {
        let total = self.cumulative[VOCABULARY - 1];
        let x = (self.rng.next_u64() as f64 / u64::MAX as f64) * total;
        let rank = self.cumulative.partition_point(|&c| c < x);
        format!("w{rank}")
    }

    fn text(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.word())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.rng.below(high - low + 1)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn index_and_query(cases: usize, queries: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (index, _) = CaseIndex::open(dir.path(), QueryConfig::default()).expect("open");
    index.reset().await.expect("reset");
    let mut words = Words::new(1);
    eprintln!("generating {cases} synthetic cases ...");
    let mut batches = Vec::new();
    let mut batch = Vec::with_capacity(10_000);
    for n in 0..cases {
        let title_words = words.between(4, 10);
        let body_words = words.between(20, 80);
        batch.push(IndexedCase {
            tenant: format!("tenant-{}", n % TENANTS),
            case_id: n.to_string(),
            external_id: Some(format!("INC{n}")),
            title: words.text(title_words),
            description: words.text(body_words),
            templates: Vec::new(),
            resolution: words.text(12),
            service_group: Some(format!("group-{}", n % 37)),
            priority: Some(format!("P{}", 1 + n % 4)),
            closed_at: Some(1_700_000_000 + n as i64),
            created_at: 1_700_000_000 + n as i64,
        });
        if batch.len() == 10_000 {
            batches.push(std::mem::take(&mut batch));
        }
    }
    batches.push(batch);

    let started = Instant::now();
    for batch in batches {
        index.add_for_rebuild(batch).await.expect("add");
    }
    index.mark_ready("bench".into()).await.expect("commit");
    let elapsed = started.elapsed();
    println!(
        "indexing: {cases} cases in {:.1} s = {:.0} cases/s (bulk, one commit)",
        elapsed.as_secs_f64(),
        cases as f64 / elapsed.as_secs_f64()
    );

    let mut latencies = Vec::with_capacity(queries);
    let warm_up = queries / 5;
    for n in 0..queries + warm_up {
        let query = SimilarQuery {
            tenants: vec![format!("tenant-{}", n % TENANTS)],
            title: words.text(8),
            description: words.text(42),
            ..SimilarQuery::default()
        };
        let started = Instant::now();
        let hits = index.search_now(&query, 10).expect("search");
        let took = started.elapsed();
        assert!(hits.len() <= 10);
        if n >= warm_up {
            latencies.push(took);
        }
    }
    latencies.sort();
    println!(
        "query: k=10, one tenant of {TENANTS}, {cases} cases: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({queries} queries)",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
    );
    index.close().await;
}

/// A 1 MB log of a failing backup job: a handful of templates with varying values.
fn megabyte_log() -> String {
    let mut log = String::with_capacity(1_100_000);
    let mut n = 0usize;
    while log.len() < 1_000_000 {
        let line = match n % 5 {
            0 => format!(
                "2026-11-03 01:{:02}:{:02} INFO  job nightly-sql copying block {} of 90000\n",
                n / 60 % 60,
                n % 60,
                n
            ),
            1 => format!(
                "2026-11-03 01:{:02}:{:02} WARN  repository \\\\nas02\\backups at {}% capacity\n",
                n / 60 % 60,
                n % 60,
                90 + n % 9
            ),
            2 => format!(
                "2026-11-03 01:{:02}:{:02} INFO  throughput {} MB/s, queue {}\n",
                n / 60 % 60,
                n % 60,
                n % 400,
                n % 17
            ),
            3 => format!(
                "2026-11-03 01:{:02}:{:02} ERROR write failed: not enough space on the disk (0x80070070) file {}.vbk\n",
                n / 60 % 60,
                n % 60,
                n
            ),
            _ => format!(
                "2026-11-03 01:{:02}:{:02} INFO  retry {} of 3 for session {}\n",
                n / 60 % 60,
                n % 60,
                n % 3 + 1,
                n * 7919 % 100_000
            ),
        };
        log.push_str(&line);
        n += 1;
    }
    log
}

async fn triage_end_to_end(runs: usize) {
    let db = TestDb::new(Backend::Sqlite).await;
    let config = test_config(&db, &[]);
    let store = store::connect(&config.database).await.expect("store");
    let seeded = seed(store.as_ref()).await;
    let mut words = Words::new(2);
    eprintln!("storing 5,000 past cases ...");
    for n in 0..5_000 {
        let group = n % 12;
        // Each group has its own few marker words, so the models have something to learn.
        let draft = CaseDraft {
            external_id: format!("H-{n}"),
            title: format!("g{group}a g{group}b {}", words.text(6)),
            description: Some(format!("g{group}c {}", words.text(40))),
            service_group: format!("Group {group}"),
            priority: Some(format!("P{}", 1 + (n / 7) % 4)),
            ..CaseDraft::default()
        };
        let case = ImportedCase::from_draft(seeded.acme.id, &draft).expect("case");
        store
            .upsert_case(&case, &Actor::cli())
            .await
            .expect("stored");
    }
    let (index, _) =
        CaseIndex::open(&db.dir().join("index"), QueryConfig::default()).expect("index");
    let metrics = Arc::new(triagegate::metrics::Metrics::new());
    let triage = Arc::new(Triage::new(
        store.clone(),
        index,
        Arc::new(config),
        metrics,
        None,
    ));
    triage.resync().await.expect("indexed");
    let draft = TicketDraft {
        title: "Nightly backup failed for SQL01: not enough space".into(),
        description: Some("g3a g3c the nightly job failed again, see the log".into()),
        requester: None,
        attachments: vec![
            NewAttachment::new("backup.log", None, megabyte_log().into_bytes())
                .expect("attachment"),
        ],
    };
    let limits = AttachmentLimits {
        max_attachment: u64::MAX,
        max_total: u64::MAX,
    };
    let ticket = NewTicket::from_draft(&seeded.acme, draft, limits).expect("ticket");
    store
        .create_ticket(&ticket, &Actor::cli())
        .await
        .expect("created");
    let started = Instant::now();
    triage.models_for(seeded.acme.id).await.expect("models");
    println!(
        "training: 4 fields on 5,000 past cases with neighbours in {:.1} s (once per history change)",
        started.elapsed().as_secs_f64()
    );
    // As `POST /tickets/{id}/triage` does it, with the service's worker waiting beside it (it
    // takes the request only if running it in the request fails).
    triagegate::triage::worker::start(triage.clone()).await;
    let mut latencies = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let suggestion = triage
            .request_and_wait(ticket.id, ticket.tenant_id, &Actor::cli())
            .await
            .expect("triaged");
        latencies.push(started.elapsed());
        assert_eq!(suggestion.status, SuggestionStatus::Done);
        assert!(!suggestion.fields.is_empty());
    }
    latencies.sort();
    println!(
        "triage: 1 MB log, digest + search + proposal + job and suggestion write on SQLite: p50 {:.1} ms, p99 {:.1} ms ({runs} runs)",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        triage_end_to_end(env_number("BENCH_TRIAGES", 100)).await;
        index_and_query(
            env_number("BENCH_CASES", 1_000_000),
            env_number("BENCH_QUERIES", 1_000),
        )
        .await;
    });
}
