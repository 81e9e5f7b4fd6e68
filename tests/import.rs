//! `triagegate import`, `reindex` and the retrieval evals, run as an operator runs them.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

fn triagegate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triagegate"))
        .args(args)
        .env(
            "TRIAGEGATE_DATABASE_URL",
            format!("sqlite://{}", dir.join("data/tg.db").display()),
        )
        .env("TRIAGEGATE_INDEX_DIR", dir.join("index"))
        .env("RUST_LOG", "off")
        .env_remove("TRIAGEGATE_LISTEN")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn with_tenant() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let added = triagegate(dir.path(), &["tenant", "add", "acme"]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    dir
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write file");
    path.display().to_string()
}

const DEMO_CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/cases.csv");

#[test]
fn an_import_runs_twice_without_duplicating_and_the_audit_chain_holds() {
    let dir = with_tenant();
    let first = triagegate(
        dir.path(),
        &["import", "--tenant", "acme", "--quiet", DEMO_CASES],
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(
        text(&first.stdout).trim(),
        "122 rows: 122 created, 0 updated, 0 unchanged, 0 failed"
    );
    let again = triagegate(
        dir.path(),
        &["import", "--tenant", "acme", "--quiet", DEMO_CASES],
    );
    assert_eq!(
        text(&again.stdout).trim(),
        "122 rows: 0 created, 0 updated, 122 unchanged, 0 failed"
    );
    let reindex = triagegate(dir.path(), &["reindex"]);
    assert!(reindex.status.success(), "{}", text(&reindex.stderr));
    assert!(
        text(&reindex.stdout).starts_with("indexed 122 cases"),
        "{}",
        text(&reindex.stdout)
    );
    let verify = triagegate(dir.path(), &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn bad_rows_are_reported_by_line_and_the_rest_import() {
    let dir = with_tenant();
    let mut csv = b"id,title,description,service_group,priority,closed_at\n".to_vec();
    csv.extend_from_slice(
        b"A-1,Disk full on SQL01,\"quoted, with comma\",Servers & Cloud,P2,2026-03-01\n",
    );
    csv.extend_from_slice(b"A-2,,no title,Service Desk,P3,\n");
    csv.extend_from_slice(b"A-3,Bad bytes,caf\xe9 latin-1,Service Desk,P3,\n");
    csv.extend_from_slice(b"A-1,Same id again,dup,Network,P3,\n");
    csv.extend_from_slice(format!("A-4,Huge,{},Network,P3,\n", "x".repeat(1_048_576)).as_bytes());
    csv.extend_from_slice(b"A-5,Odd priority,text,Network,whenever,\n");
    csv.extend_from_slice(b"A-6,Printer offline,spooler stuck,Service Desk,P4,\n");
    csv.extend_from_slice(b"A-8,Too few fields\n");
    csv.extend_from_slice(b"A-7,Truncated row,\"this quote never clo");
    let file = write(dir.path(), "cases.csv", &csv);

    let output = triagegate(
        dir.path(),
        &["import", "--tenant", "acme", "--quiet", &file],
    );

    assert_eq!(output.status.code(), Some(2), "some rows failed");
    assert_eq!(
        text(&output.stdout).trim(),
        "9 rows: 2 created, 0 updated, 0 unchanged, 7 failed"
    );
    let errors = text(&output.stderr);
    for expected in [
        "line 3: title: must not be empty",
        "line 4: column \"description\" is not valid UTF-8",
        "line 5: id \"A-1\" was already imported from line 2",
        "line 6: description: is 1048576 characters long",
        "line 7: priority:",
        "line 9: has 2 fields where the header has 6",
        "line 10: a quote opened in this row is never closed",
    ] {
        assert!(
            errors.contains(expected),
            "missing {expected:?} in:\n{errors}"
        );
    }
    let reindex = triagegate(dir.path(), &["reindex"]);
    assert!(
        text(&reindex.stdout).starts_with("indexed 2 cases"),
        "{}",
        text(&reindex.stdout)
    );
}

#[test]
fn line_numbers_hold_for_crlf_files_with_blank_lines() {
    let dir = with_tenant();
    let csv = b"id,title,description,service_group\r\nB-1,VPN down,,Network\r\n\r\nB-2,,x,Network\r\nB-3,Printer,\"two\r\nlines\",Network\r\nB-1,again,,Network\r\n";
    let file = write(dir.path(), "excel.csv", csv);
    let output = triagegate(
        dir.path(),
        &["import", "--tenant", "acme", "--quiet", &file],
    );
    let errors = text(&output.stderr);
    assert!(
        errors.contains("line 4: title: must not be empty"),
        "{errors}"
    );
    assert!(
        errors.contains("line 7: id \"B-1\" was already imported from line 2"),
        "{errors}"
    );
    assert_eq!(
        text(&output.stdout).trim(),
        "4 rows: 2 created, 0 updated, 0 unchanged, 2 failed"
    );
}

#[test]
fn a_file_cut_off_inside_its_last_field_does_not_import_that_row() {
    let dir = with_tenant();
    let csv = b"id,title,service_group,resolution\nC-1,VPN down,Network,\"Restarted the gateway\"\nC-2,Disk full,Servers,\"Extended the vol";
    let file = write(dir.path(), "cut.csv", csv);
    let output = triagegate(
        dir.path(),
        &["import", "--tenant", "acme", "--quiet", &file],
    );
    assert_eq!(output.status.code(), Some(2));
    let errors = text(&output.stderr);
    assert!(
        errors.contains("line 3: a quote opened in this row is never closed"),
        "{errors}"
    );
    assert_eq!(
        text(&output.stdout).trim(),
        "2 rows: 1 created, 0 updated, 0 unchanged, 1 failed"
    );
}

#[test]
fn missing_columns_wrong_encoding_and_unknown_tenants_stop_before_any_row() {
    let dir = with_tenant();
    let no_group = write(dir.path(), "a.csv", b"id,title\n1,Printer\n");
    let output = triagegate(dir.path(), &["import", "--tenant", "acme", &no_group]);
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(message.contains("no \"service_group\" column"), "{message}");
    assert!(message.contains("--group-col"), "{message}");

    let utf16 = write(dir.path(), "b.csv", &[0xFF, 0xFE, b'i', 0, b'd', 0]);
    let output = triagegate(dir.path(), &["import", "--tenant", "acme", &utf16]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("UTF-16"),
        "{}",
        text(&output.stderr)
    );

    let good = write(
        dir.path(),
        "c.csv",
        b"id,title,service_group\n1,Printer,Service Desk\n",
    );
    let output = triagegate(dir.path(), &["import", "--tenant", "nobody", &good]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("tenant nobody"),
        "{}",
        text(&output.stderr)
    );
    let reindex = triagegate(dir.path(), &["reindex"]);
    assert!(
        text(&reindex.stdout).starts_with("indexed 0 cases"),
        "nothing was imported"
    );
}

#[test]
fn other_header_names_are_mapped_with_options() {
    let dir = with_tenant();
    let file = write(
        dir.path(),
        "export.csv",
        "\u{feff}Number;Short description;Assignment group;Prio\nINC1;VPN down;Network;High\n"
            .as_bytes(),
    );
    let output = triagegate(
        dir.path(),
        &[
            "import",
            "--tenant",
            "acme",
            "--quiet",
            "--delimiter",
            ";",
            "--id-col",
            "Number",
            "--title-col",
            "Short description",
            "--group-col",
            "Assignment group",
            "--priority-col",
            "Prio",
            &file,
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout).trim(),
        "1 rows: 1 created, 0 updated, 0 unchanged, 0 failed"
    );
}

#[test]
fn eval_tickets_reports_the_contract_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = triagegate(
        dir.path(),
        &[
            "eval",
            "tickets",
            "--data",
            DEMO_CASES,
            "--text-cols",
            "title,description",
            "--label-col",
            "service_group",
            "--split",
            "0.3",
            "--seed",
            "7",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    for key in [
        "accuracy",
        "macro_f1",
        "coverage",
        "precision_at_coverage",
        "ece",
        "n_test",
    ] {
        assert!(report.get(key).is_some(), "{key} missing: {report}");
    }
    assert!(
        report["n_test"].as_u64().is_some_and(|n| n >= 30),
        "{report}"
    );
    // The demo's groups are separable by their words; a broken pipeline would not get here.
    assert!(
        report["accuracy"].as_f64().is_some_and(|a| a > 0.6),
        "{report}"
    );
}

#[test]
fn eval_similar_finds_an_obvious_duplicate_first() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bugs = write(
        dir.path(),
        "bugs.csv",
        b"Summary,Issue id,Created,Description,Priority\n\
          NameNode crashes on startup with NullPointerException,1,01/Jan/21 10:00,FSImage loader NPE,Major\n\
          Typo in the documentation index,2,02/Jan/21 10:00,A word is misspelt,Trivial\n\
          YARN web UI shows wrong memory totals,3,03/Jan/21 10:00,Cluster metrics page,Minor\n\
          NPE in NameNode startup while loading FSImage,4,04/Jan/21 10:00,NullPointerException in the loader,Major\n\
          S3A connector times out on large uploads,5,05/Jan/21 10:00,multipart upload timeout,Major\n\
          Large uploads through S3A time out,6,06/Jan/21 10:00,S3A multipart upload times out,Major\n",
    );
    let pairs = write(
        dir.path(),
        "pairs.csv",
        b"Issue id,Duplicate id,both_in_corpus,split\n4,1,True,test\n1,4,True,test\n6,5,True,train\n",
    );
    let output = triagegate(
        dir.path(),
        &[
            "eval", "similar", "--bugs", &bugs, "--pairs", &pairs, "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["n_queries"], 2, "{report}");
    assert_eq!(report["recall_at_1"], 1.0, "{report}");
    assert_eq!(report["mrr"], 1.0, "{report}");
    for key in ["recall_at_5", "recall_at_10", "recall_at_20"] {
        assert_eq!(report[key], 1.0, "{key}: {report}");
    }
}

/// Random bytes shaped like CSV (quotes, separators, line breaks, invalid UTF-8): the import
/// never panics, accounts for every row, and what it stored verifies in the audit chain.
#[tokio::test]
async fn garbage_csv_is_accounted_for_row_by_row() {
    let db = support::TestDb::new(support::Backend::Sqlite).await;
    let config = support::test_config(&db, &[]);
    let store = triagegate::store::connect(&config.database)
        .await
        .expect("store");
    let seeded = support::seed(store.as_ref()).await;
    // Cells that are valid somewhere, and cells that are wrong everywhere.
    let cells: [&[u8]; 16] = [
        b"VPN down",
        b"Network",
        b"P2",
        b"high",
        b"2026-03-01",
        b"",
        b"\"quoted, with comma\"",
        b"\"two\nlines\"",
        b"\xff\xfe",
        b"\0",
        b"\"unclosed",
        b"x;y",
        b"\"\"\"\"",
        b"   ",
        b"\r",
        b"yesterday",
    ];
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let args = triagegate::cli::import::ImportArgs::defaults("acme", "random.csv".into());
    let (mut stored, mut refused) = (0, 0);
    for round in 0..60 {
        let mut csv = b"id,title,service_group,priority,closed_at\n".to_vec();
        for row in 0..next(30) {
            csv.extend_from_slice(format!("R{}", next(20)).as_bytes());
            // Mostly five fields, sometimes one too few or too many.
            for _ in 0..(3 + next(4)) {
                csv.push(b',');
                let cell = if next(3) == 0 {
                    cells[next(cells.len())]
                } else {
                    cells[row % 5]
                };
                csv.extend_from_slice(cell);
            }
            csv.extend_from_slice(if next(2) == 0 { b"\n" } else { b"\r\n" });
        }
        let summary = triagegate::cli::import::import_bytes(
            &csv,
            &args,
            seeded.acme.id,
            store.as_ref(),
            &triagegate::domain::Actor::cli(),
        )
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(
            summary.rows,
            summary.created + summary.updated + summary.unchanged + summary.failed,
            "round {round}: every row is accounted for"
        );
        stored += summary.created + summary.updated + summary.unchanged;
        refused += summary.failed;
    }
    assert!(
        stored > 0 && refused > 0,
        "both paths ran: {stored} stored, {refused} refused"
    );
    let report = triagegate::store::verify_audit_chain(store.as_ref())
        .await
        .expect("verify");
    assert!(report.ok);
}
