//! The log digest as a user meets it: the `triagegate digest` command on awkward inputs, and the
//! miner on real Loghub samples (read from `../shared/data` beside the checkout when present).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use triagegate::digest::header::split_header;
use triagegate::digest::logs_eval::find_systems;
use triagegate::digest::miner::{Miner, MinerConfig};

fn digest_command(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triagegate"))
        // A small cap keeps the gzip-bomb case quick; the code path is the same as at 4 GiB.
        .env("TRIAGEGATE_DIGEST__MAX_INPUT", "64 MiB")
        .arg("digest")
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("finishes")
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("finish")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn awkward_inputs_give_a_digest_that_says_what_was_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut mixed = b"first line\r\nsecond line\nthird\rstill third\n".to_vec();
    mixed.extend_from_slice(&[0xff, 0xfe, b'x', 0, b'\n']);
    mixed.extend_from_slice(&vec![b'y'; 50 * 1024 * 1024]); // one 50 MB line
    mixed.extend_from_slice(b"\nlast line\n");
    let file = write(dir.path(), "mixed.log", &mixed);

    let output = digest_command(&["--json", file.to_str().expect("utf-8 path")], None);

    let digest = &json_of(&output)["files"][0]["digest"];
    assert_eq!(digest["lines"], 6);
    assert_eq!(digest["skipped"]["invalid_utf8_lines"], 1);
    assert_eq!(digest["skipped"]["truncated_lines"], 1);
    let total: u64 = digest["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| t["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(total, 6, "every line is counted in a template");
}

#[test]
fn empty_input_and_stdin_work() {
    let output = digest_command(&["--json", "-"], Some(b""));
    let digest = &json_of(&output)["files"][0]["digest"];
    assert_eq!(digest["lines"], 0);
    assert_eq!(digest["templates"], serde_json::json!([]));

    let text = digest_command(&["-"], Some(b"2026-11-28 10:00:00 ERROR disk full\n"));
    assert!(text.status.success());
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.contains("L1 ×1 ERROR disk full"), "{shown}");
}

#[test]
fn gzip_is_read_and_a_bomb_or_a_truncated_stream_is_handled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = "2026-11-28 10:00:00 INFO job 1 done\n".repeat(1000);
    let plain = write(dir.path(), "a.log.gz", &gzip(log.as_bytes()));
    let digest = &json_of(&digest_command(
        &["--json", plain.to_str().expect("path")],
        None,
    ))["files"][0]["digest"];
    assert_eq!(digest["lines"], 1000);
    assert_eq!(digest["gzip"], true);

    let whole = gzip(log.repeat(20).as_bytes());
    let cut = write(dir.path(), "cut.log.gz", &whole[..whole.len() / 2]);
    let digest = &json_of(&digest_command(
        &["--json", cut.to_str().expect("path")],
        None,
    ))["files"][0]["digest"];
    assert!(digest["lines"].as_u64().expect("lines") > 0);
    let warnings = digest["warnings"].to_string();
    assert!(warnings.contains("damaged"), "{warnings}");

    // 256 MiB of zeros compresses to about 250 KB; the reader stops at its cap (64 MiB here)
    // with a clear error instead of filling memory.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..256 {
        encoder.write_all(&zeros).expect("compress");
    }
    let bomb = write(dir.path(), "bomb.gz", &encoder.finish().expect("finish"));
    let output = digest_command(&[bomb.to_str().expect("path")], None);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("larger than"), "{error}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let output = digest_command(&["/nonexistent/app.log"], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("opening /nonexistent/app.log"));
}

/// Raw Loghub 2k logs beside the checkout, mixed into one stream.
fn loghub_lines() -> Option<Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/loghub-2k");
    let mut lines = Vec::new();
    for system in find_systems(&dir).ok()? {
        let raw = dir
            .join(&system.name)
            .join(format!("{}_2k.log", system.name));
        if let Ok(text) = std::fs::read_to_string(raw) {
            lines.extend(text.lines().map(|l| split_header(l).message.to_string()));
        }
    }
    (!lines.is_empty()).then_some(lines)
}

#[test]
fn feeding_the_same_lines_again_creates_no_new_templates() {
    let Some(lines) = loghub_lines() else {
        eprintln!("skipped: ../shared/data/loghub-2k is not beside the checkout");
        return;
    };
    // A tiny cache sends every repeat down the slow path, where drain3 drifts.
    let mut miner = Miner::new(MinerConfig {
        max_cached_lines: 16,
        ..MinerConfig::default()
    });
    let mut counts = Vec::new();
    for _ in 0..4 {
        for line in &lines {
            miner.add(line);
        }
        counts.push(miner.clusters().count());
    }
    assert!(counts[0] > 100, "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
}
