//! Log digest throughput and memory.
//!
//! Run: `cargo bench --bench digest`. Reports, on one core, lines/s mining HDFS 2k's `Content`
//! column and digesting its raw lines (from `../shared/data/loghub-2k/`), each repeated to
//! 1,000,000 lines, and the peak resident memory of `triagegate digest` on a generated 1 GB log
//! (`BENCH_DIGEST_GB` to change the size).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use triagegate::digest::logs_eval::read_structured;
use triagegate::digest::miner::{Miner, MinerConfig};
use triagegate::digest::{DigestOptions, digest_bytes};

const HDFS_2K: &str = "../shared/data/loghub-2k/HDFS/HDFS_2k.log";
const HDFS_2K_STRUCTURED: &str = "../shared/data/loghub-2k/HDFS/HDFS_2k.log_structured.csv";

/// Mining alone on the `Content` column, as the drain3 anchor (40–98 k lines/s) was measured.
fn mine_hdfs_content() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(HDFS_2K_STRUCTURED);
    let Ok(lines) = read_structured(&path) else {
        eprintln!("{HDFS_2K_STRUCTURED} not found beside the checkout; skipping");
        return;
    };
    let contents: Vec<&str> = (0..TARGET_LINES)
        .map(|n| lines[n % lines.len()].content.as_str())
        .collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut miner = Miner::new(MinerConfig::default());
        for content in &contents {
            miner.add(content);
        }
        miner.merge_variants();
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "mine HDFS 2k Content x500 ({TARGET_LINES} lines): {:.0} lines/s",
        TARGET_LINES as f64 / best
    );
}
const TARGET_LINES: usize = 1_000_000;

fn hdfs_million() -> Option<Vec<u8>> {
    let sample =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(HDFS_2K)).ok()?;
    let lines: Vec<&str> = sample.lines().collect();
    let mut out = Vec::with_capacity(TARGET_LINES * 140);
    for n in 0..TARGET_LINES {
        out.extend_from_slice(lines[n % lines.len()].as_bytes());
        out.push(b'\n');
    }
    Some(out)
}

/// A log of mixed services with timestamps, numbers that vary, and some errors.
fn generate_log(path: &Path, bytes: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut written, mut lines) = (0u64, 0u64);
    while written < bytes {
        let r = next();
        let seconds = lines / 50;
        let line = match r % 10 {
            0..=3 => format!(
                "2026-11-28T{:02}:{:02}:{:02}.{:03}Z INFO  api[{}]: GET /v1/orders/{} 200 {} ms user=u{}\n",
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
                r % 1000,
                r % 97,
                r % 100_000,
                r % 900,
                r % 5000
            ),
            4..=6 => format!(
                "2026-11-28T{:02}:{:02}:{:02}.{:03}Z DEBUG db[{}]: query took {} ms rows={} table=orders_{}\n",
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
                r % 1000,
                r % 13,
                r % 300,
                r % 10_000,
                r % 4
            ),
            7 => format!(
                "2026-11-28T{:02}:{:02}:{:02}.{:03}Z WARN  cache: eviction of {} keys from shard {} at {:.1}% memory\n",
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
                r % 1000,
                r % 4096,
                r % 16,
                (r % 1000) as f64 / 10.0
            ),
            8 => format!(
                "2026-11-28T{:02}:{:02}:{:02}.{:03}Z ERROR payment: charge {} failed for card ending {} after {} retries: upstream 502 from 10.0.{}.{}\n",
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
                r % 1000,
                r,
                r % 10_000,
                r % 5,
                r % 256,
                r % 251
            ),
            _ => format!(
                "2026-11-28T{:02}:{:02}:{:02}.{:03}Z INFO  worker-{}: job {:x} finished in {}s\n",
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
                r % 1000,
                r % 8,
                r,
                r % 120
            ),
        };
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        lines += 1;
    }
    out.flush()?;
    Ok(lines)
}

fn main() {
    mine_hdfs_content();
    match hdfs_million() {
        Some(log) => {
            // Warm-up once, then the best of three, as one core runs it.
            let options = DigestOptions::default();
            let _ = digest_bytes(&log[..log.len() / 10], options);
            let mut best = f64::MAX;
            let mut templates = 0;
            for _ in 0..3 {
                let started = Instant::now();
                let digest = digest_bytes(&log, options).expect("digest");
                best = best.min(started.elapsed().as_secs_f64());
                templates = digest.templates.len();
            }
            println!(
                "digest HDFS 2k x500 ({TARGET_LINES} lines, {:.0} MB): {:.0} lines/s, {:.0} MB/s, {templates} templates",
                log.len() as f64 / 1e6,
                TARGET_LINES as f64 / best,
                log.len() as f64 / best / 1e6
            );
        }
        None => eprintln!("{HDFS_2K} not found beside the checkout; skipping the HDFS figure"),
    }

    let gigabytes: f64 = std::env::var("BENCH_DIGEST_GB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("generated.log");
    let lines = generate_log(&path, (gigabytes * 1e9) as u64).expect("generate");
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_triagegate"))
        .args(["digest", "--budget", "500"])
        .arg(&path)
        .env("TRIAGEGATE_DATABASE_URL", "sqlite::memory:")
        .output();
    let elapsed = started.elapsed().as_secs_f64();
    match output {
        Ok(output) if output.status.success() => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let peak_kib: u64 = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            println!(
                "digest generated {gigabytes} GB log ({lines} lines): peak RSS {:.0} MB, {:.1} s, {:.0} lines/s",
                peak_kib as f64 / 1024.0,
                elapsed,
                lines as f64 / elapsed
            );
        }
        Ok(output) => eprintln!(
            "triagegate digest failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => eprintln!("cannot run /usr/bin/time (apt-get install time): {err}"),
    }
}
