//! The `triagegate` binary as an operator runs it, on a temporary SQLite database.

use std::path::Path;
use std::process::{Command, Output};

fn triagegate(db_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triagegate"))
        .args(args)
        .env(
            "TRIAGEGATE_DATABASE_URL",
            format!("sqlite://{}", db_dir.join("data/tg.db").display()),
        )
        .env("RUST_LOG", "off")
        .env_remove("TRIAGEGATE_LISTEN")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn migrate_creates_the_database_and_its_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = triagegate(dir.path(), &["migrate"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("data/tg.db").exists());
}

#[test]
fn user_add_prints_the_token_alone_on_the_last_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        triagegate(dir.path(), &["tenant", "add", "acme"])
            .status
            .success()
    );
    assert!(
        triagegate(dir.path(), &["tenant", "add", "globex"])
            .status
            .success()
    );

    let output = triagegate(
        dir.path(),
        &[
            "user",
            "add",
            "--name",
            "ann",
            "--role",
            "l1",
            "--tenants",
            "acme,globex",
        ],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let last = out.lines().last().expect("a line");
    assert!(last.starts_with("tg_") && !last.contains(' '), "{out:?}");
    assert!(last.len() > 40);
}

/// Runs a command that must fail and checks that its error names the reason.
fn assert_refused(db_dir: &Path, args: &[&str], reason: &str) {
    let output = triagegate(db_dir, args);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(
        stderr(&output).contains(reason),
        "{args:?}: {}",
        stderr(&output)
    );
}

#[test]
fn bad_arguments_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        triagegate(dir.path(), &["tenant", "add", "acme"])
            .status
            .success()
    );
    let user = |role, tenants: &'static [&'static str]| {
        let mut args = vec!["user", "add", "--name", "x", "--role", role];
        args.extend_from_slice(tenants);
        args
    };

    assert_refused(dir.path(), &user("boss", &["--all-tenants"]), "not a role");
    assert_refused(
        dir.path(),
        &user("l1", &["--tenants", "nope"]),
        "tenant nope not found",
    );
    assert_refused(
        dir.path(),
        &user("requester", &["--all-tenants"]),
        "exactly one tenant",
    );
    assert_refused(dir.path(), &["tenant", "add", "acme"], "already exists");
    assert_refused(
        dir.path(),
        &["tenant", "add", "Not A Slug"],
        "not a tenant name",
    );
}

#[test]
fn a_bad_configuration_stops_start_up_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_triagegate"))
        .arg("migrate")
        .env("TRIAGEGATE_DATABASE_URL", "mysql://localhost/x")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("sqlite://PATH or postgres://"),
        "{}",
        stderr(&output)
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_triagegate"))
        .args([
            "--config",
            &dir.path().join("absent.toml").display().to_string(),
            "migrate",
        ])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("--config"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn audit_verify_passes_then_fails_at_an_edited_row() {
    // Arrange: history written through the CLI
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        vec!["tenant", "add", "acme"],
        vec!["tenant", "add", "globex"],
        vec![
            "user",
            "add",
            "--name",
            "qa1",
            "--role",
            "qa",
            "--all-tenants",
        ],
    ] {
        let output = triagegate(dir.path(), &args);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let intact = triagegate(dir.path(), &["audit", "verify"]);
    assert!(intact.status.success(), "{}", stdout(&intact));
    assert!(
        stdout(&intact).contains("intact: 3 events"),
        "{}",
        stdout(&intact)
    );

    // Act: edit event 2 behind the service's back
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", dir.path().join("data/tg.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        sqlx::query("drop trigger audit_event_no_update")
            .execute(&mut conn)
            .await
            .expect("drop trigger");
        sqlx::query("update audit_event set actor = 'mallory' where seq = 2")
            .execute(&mut conn)
            .await
            .expect("tamper");
    });
    let broken = triagegate(dir.path(), &["audit", "verify"]);

    // Assert
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("BROKEN at event 2"),
        "{}",
        stdout(&broken)
    );
}
