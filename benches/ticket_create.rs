//! Tickets created per second through the HTTP API, each with one 100 KiB log attached, on
//! SQLite and (when `TRIAGEGATE_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! Run: `cargo bench --bench ticket_create` (env `BENCH_TICKETS`, `BENCH_CONCURRENCY` to vary;
//! `BENCH_TRIAGE_ON_CREATE=false` leaves out the background triage of each new ticket).
//! Client and server share this process and the machine's cores, as they would on one host.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::{Backend, TestDb, seed, test_config};
use triagegate::app::App;
use triagegate::store;

const LOG_BYTES: usize = 100 * 1024;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A realistic 100 KiB log: timestamped lines with varying numbers, so nothing compresses away.
fn log_for(n: usize) -> String {
    let mut log = String::with_capacity(LOG_BYTES + 200);
    let mut line = 0usize;
    while log.len() < LOG_BYTES {
        log.push_str(&format!(
            "2026-11-28T10:{:02}:{:02}.{:03}Z host-{n} app[{}]: WARN request {} took {} ms\n",
            (line / 60) % 60,
            line % 60,
            line % 1000,
            1000 + n,
            line * 7919 % 100_000,
            line % 997
        ));
        line += 1;
    }
    log.truncate(LOG_BYTES);
    log
}

struct Outcome {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    failures: usize,
    triaged: i64,
}

async fn run(backend: Backend, tickets: usize, concurrency: usize) -> Outcome {
    let db = TestDb::new(backend).await;
    // As shipped: each new ticket is also triaged in the background (digest, search, proposal,
    // suggestion write), competing with the creates for the same cores.
    let on_create = std::env::var("BENCH_TRIAGE_ON_CREATE").unwrap_or_else(|_| "true".into());
    let config = test_config(&db, &[("TRIAGEGATE_TRIAGE__ON_CREATE", on_create.as_str())]);
    let store = store::connect(&config.database).await.expect("store");
    let seeded = seed(store.as_ref()).await;
    let app = App::build_with_store(config, store).await.expect("app");
    let url = format!("http://{}/api/v1/tickets", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::new();
    let token = seeded.tokens.l1.clone();
    let bodies: Vec<String> = (0..tickets + 50)
        .map(|n| {
            serde_json::json!({
                "tenant": "acme",
                "title": format!("Bench ticket {n}"),
                "description": "Created by the ticket_create benchmark",
                "attachments": [{"name": "app.log", "content": log_for(n)}]
            })
            .to_string()
        })
        .collect();
    let send = |body: String| {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        async move {
            let started = Instant::now();
            let ok = client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 201);
            (ok, started.elapsed())
        }
    };
    // Warm-up: connections, caches, SQLite pages.
    let mut bodies = bodies.into_iter();
    let warm: Vec<String> = bodies.by_ref().take(50).collect();
    futures_util::stream::iter(warm.into_iter().map(send))
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;

    let started = Instant::now();
    let results: Vec<(bool, Duration)> = futures_util::stream::iter(bodies.map(send))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let triaged = db.count("suggestion where status = 'done'").await;
    let failures = results.iter().filter(|(ok, _)| !ok).count();
    let mut latencies: Vec<Duration> = results.iter().map(|(_, d)| *d).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Outcome {
        per_second: results.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        failures,
        triaged,
    }
}

fn main() {
    let tickets = env_number("BENCH_TICKETS", 3_000);
    let concurrency = env_number("BENCH_CONCURRENCY", 16);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut backends = vec![Backend::Sqlite];
    if std::env::var(support::POSTGRES_ENV).is_ok_and(|v| !v.is_empty()) {
        backends.push(Backend::Postgres);
    } else {
        eprintln!("set {} to also measure PostgreSQL", support::POSTGRES_ENV);
    }
    println!(
        "ticket_create: {tickets} tickets, one {} KiB log each, {concurrency} concurrent clients",
        LOG_BYTES / 1024
    );
    println!(
        "{:<10} {:>12} {:>10} {:>10} {:>9} {:>9}",
        "backend", "tickets/s", "p50 ms", "p99 ms", "failed", "triaged"
    );
    for backend in backends {
        let outcome = runtime.block_on(run(backend, tickets, concurrency));
        println!(
            "{:<10} {:>12.0} {:>10.1} {:>10.1} {:>9} {:>9}",
            format!("{backend:?}"),
            outcome.per_second,
            outcome.p50.as_secs_f64() * 1e3,
            outcome.p99.as_secs_f64() * 1e3,
            outcome.failures,
            outcome.triaged
        );
    }
}
