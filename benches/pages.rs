//! Server-side render time of the ticket page, through a real socket with a signed-in session.
//!
//! Run: `cargo bench --bench pages`. The ticket has a log of 2,000 distinct templates (4,000
//! lines) and its tenant 500 past cases that share its words, so the page shows 20 similar
//! cases, the full digest, the proposal with evidence and the decision form. Reports p50/p99
//! over `BENCH_RENDERS` (default 200) page loads on SQLite, and the page's size.

#[path = "../tests/web/client.rs"]
mod client;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Backend, spawn_app};

const TEMPLATES: usize = 2_000;
const CASES: usize = 500;

/// A lowercase word for `n`, so every template has its own constant tokens (digits would be
/// masked as variables and merge the templates).
fn word(mut n: usize) -> String {
    let mut out = String::new();
    loop {
        out.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out
}

fn log() -> String {
    // Five words that differ on every line: no two lines share a template but their repeat.
    let words = |i: usize| -> Vec<String> {
        [
            (7, 11, "ia"),
            (13, 5, "or"),
            (3, 1, "en"),
            (17, 3, "um"),
            (19, 7, "et"),
        ]
        .iter()
        .map(|(k, o, suffix)| format!("{}{suffix}", word(i * k + o)))
        .collect()
    };
    let mut text = String::new();
    for repeat in 0..2 {
        for i in 0..TEMPLATES {
            text.push_str(&format!(
                "2026-11-28T08:{:02}:{:02}Z gw01 ERROR {} session {} failed\n",
                (i / 60) % 60,
                i % 60,
                words(i).join(" "),
                repeat * 100 + i
            ));
        }
    }
    text
}

fn cases_csv() -> String {
    let mut csv = String::from("id,title,description,service_group,priority,resolution\n");
    for i in 0..CASES {
        csv.push_str(&format!(
            "C-{i},VPN tunnel drops {w},Gateway session failed for {w} users,Network,P{p},Rekeyed the gateway\n",
            w = word(i),
            p = 1 + i % 4
        ));
    }
    csv
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let renders: usize = std::env::var("BENCH_RENDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let app = spawn_app(Backend::Sqlite).await;
    app.import_cases("acme", cases_csv().as_bytes()).await;
    let created = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({
                "tenant": "acme",
                "title": "VPN tunnel drops for remote users",
                "description": "Gateway sessions failed all morning.",
                "attachments": [{"name": "gw01.log", "content": log()}],
            }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let ticket: Value = created.json().await.expect("json");
    let id = ticket["id"].as_str().expect("id").to_string();
    let triaged = app
        .post_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{id}/triage"),
            &json!({}),
        )
        .await;
    assert_eq!(triaged.status(), 201);

    let mut web = client::WebClient::sign_in(&app, "ann-l1").await;
    let path = format!("/tickets/{id}");
    let (status, page) = web.get(&path).await;
    assert_eq!(status, 200);
    let templates_shown = page.matches("<tr class=\"sev-").count();
    // Body rows of the similar-cases table; its header row is in <thead>.
    let similar_shown = page
        .split("id=\"similar\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .and_then(|s| s.split("<tbody>").nth(1))
        .map_or(0, |s| s.matches("<tr>").count());
    for _ in 0..5 {
        web.get(&path).await;
    }
    let mut times = Vec::with_capacity(renders);
    for _ in 0..renders {
        let start = Instant::now();
        let (status, _) = web.get(&path).await;
        times.push(start.elapsed());
        assert_eq!(status, 200);
    }
    times.sort();
    let mut api_times = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let r = app
            .get(
                &app.seeded.tokens.l1,
                &format!("/api/v1/tickets/{id}/similar?k=20"),
            )
            .await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("json");
        api_times.push(start.elapsed());
        assert_eq!(body["similar"].as_array().map(Vec::len), Some(20));
    }
    api_times.sort();
    println!(
        "similar API p50 {:.1} ms",
        percentile(&api_times, 0.5).as_secs_f64() * 1e3
    );
    println!(
        "ticket page: {templates_shown} templates, {similar_shown} similar cases, {} KiB; \
         {renders} renders p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        page.len() / 1024,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().map_or(0.0, |t| t.as_secs_f64() * 1e3),
    );
}
