use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, spawn_app};

on_both_backends!(
    every_write_appends_an_audit_event_and_the_chain_verifies,
    the_audit_table_refuses_updates_and_deletes,
    an_audit_row_edited_behind_the_services_back_breaks_verification_there,
);

async fn verify(app: &crate::support::TestApp) -> Value {
    app.get_json(&app.seeded.tokens.qa, "/api/v1/audit/verify")
        .await
}

async fn every_write_appends_an_audit_event_and_the_chain_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.db.count("audit_event").await;
    let id = app.create_ticket("acme", "first").await;
    app.patch_ticket(&app.seeded.tokens.l1, &id, &json!({"description": "more"}))
        .await;
    // A refused write appends nothing.
    app.post_ticket(
        &app.seeded.tokens.l1,
        &json!({"tenant": "acme", "title": ""}),
    )
    .await;

    assert_eq!(app.db.count("audit_event").await, before + 2);
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events"], before + 2);
}

async fn the_audit_table_refuses_updates_and_deletes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_ticket("acme", "x").await;

    let update = app
        .db
        .execute_raw("update audit_event set actor = 'mallory' where seq = 1")
        .await;
    assert!(update.is_err(), "update allowed");
    assert!(format!("{update:?}").contains("append-only"), "{update:?}");
    let delete = app
        .db
        .execute_raw("delete from audit_event where seq = 1")
        .await;
    assert!(delete.is_err(), "delete allowed");

    assert_eq!(verify(&app).await["ok"], true);
}

async fn an_audit_row_edited_behind_the_services_back_breaks_verification_there(backend: Backend) {
    // Arrange: some history, then tamper with event 4 after removing the guard
    let app = spawn_app(backend).await;
    for n in 0..3 {
        app.create_ticket("acme", &format!("t{n}")).await;
    }
    let drop_guard = match backend {
        Backend::Sqlite => "drop trigger audit_event_no_update",
        Backend::Postgres => "drop trigger audit_event_no_update on audit_event",
    };
    app.db.execute_raw(drop_guard).await.expect("drop trigger");
    let changed = app
        .db
        .execute_raw("update audit_event set payload = '{\"title\":\"forged\"}' where seq = 4")
        .await
        .expect("tamper");
    assert_eq!(changed, 1);

    // Act
    let report = verify(&app).await;

    // Assert
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["broken"]["seq"], 4, "{report}");
    assert_eq!(report["events"], 3);
}
