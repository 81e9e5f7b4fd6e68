//! `triagegate user passwd` as an operator runs it, then signing in with the new password.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(user_passwd_sets_a_password_read_from_standard_input);

fn passwd(database_url: &str, name: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triagegate"))
        .args(["user", "passwd", name, "--password-stdin"])
        .env("TRIAGEGATE_DATABASE_URL", database_url)
        .env("RUST_LOG", "off")
        .env_remove("TRIAGEGATE_LISTEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("the binary finishes")
}

async fn user_passwd_sets_a_password_read_from_standard_input(backend: Backend) {
    let app = spawn_app(backend).await;

    let short = passwd(&app.db.url, "ann-l1", "short\n");
    let unknown = passwd(&app.db.url, "nobody", "long enough password\n");
    let set = passwd(&app.db.url, "ann-l1", "long enough password\n");

    assert!(!short.status.success(), "a short password is refused");
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let state = app
        .store
        .sign_in_state("ann-l1")
        .await
        .expect("store")
        .expect("user");
    let hash = state.password_hash.expect("a password");
    assert!(triagegate::auth::verify_password(
        "long enough password",
        &hash
    ));
    let response = crate::helpers::submit_login(&app, "ann-l1", "long enough password", "/").await;
    assert_eq!(response.status(), 303);
}
