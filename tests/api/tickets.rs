use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, error_code, spawn_app};

on_both_backends!(
    creating_a_ticket_answers_201_with_the_ticket,
    a_created_ticket_reads_back_with_its_attachments,
    multipart_uploads_are_stored_byte_for_byte,
    listing_filters_and_pages_with_a_cursor,
    editing_ungated_fields_updates_the_ticket_and_its_audit_trail,
    priority_service_group_and_stage_are_not_editable_here,
    a_requester_always_files_in_their_own_name,
);

async fn creating_a_ticket_answers_201_with_the_ticket(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let body = json!({
        "tenant": "acme",
        "title": "Mail server down",
        "description": "Nobody can send mail since 09:00",
        "attachments": [{"name": "smtp.log", "content": "ERROR 421 service not available\n"}]
    });

    // Act
    let response = app.post_ticket(&app.seeded.tokens.l1, &body).await;

    // Assert
    assert_eq!(response.status(), 201);
    let location = response
        .headers()
        .get("location")
        .expect("location")
        .to_str()
        .expect("ascii")
        .to_string();
    let ticket: Value = response.json().await.expect("json");
    assert_eq!(
        location,
        format!("/api/v1/tickets/{}", ticket["id"].as_str().expect("id"))
    );
    assert_eq!(ticket["tenant"], "acme");
    assert_eq!(ticket["title"], "Mail server down");
    assert_eq!(ticket["stage"], "new");
    assert_eq!(ticket["priority"], Value::Null);
    assert_eq!(ticket["service_group"], Value::Null);
    let id = uuid::Uuid::parse_str(ticket["id"].as_str().expect("id")).expect("uuid");
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7");
    assert_eq!(ticket["attachments"][0]["name"], "smtp.log");
    assert_eq!(ticket["attachments"][0]["size"], 32);
}

async fn a_created_ticket_reads_back_with_its_attachments(backend: Backend) {
    let app = spawn_app(backend).await;
    let log = "2026-11-01 10:00:00 ERROR disk /dev/sda1 full\n".repeat(100);
    let created: Value = app
        .post_ticket(
            &app.seeded.tokens.requester,
            &json!({"tenant": "acme", "title": "Disk full", "attachments": [{"name": "sys.log", "content": log}]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id");

    let fetched: Value = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;

    assert_eq!(fetched, created, "what create answers is what was stored");
    assert_eq!(fetched["title"], "Disk full");
    let attachment = &fetched["attachments"][0];
    assert_eq!(attachment["media_type"], "text/plain");
    let url = attachment["url"].as_str().expect("url");
    let bytes = app
        .get(&app.seeded.tokens.l1, url)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.as_ref(), log.as_bytes());
}

async fn multipart_uploads_are_stored_byte_for_byte(backend: Backend) {
    // Arrange: a binary file and a Latin-1 (not UTF-8) log
    let app = spawn_app(backend).await;
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let latin1 = b"caf\xe9 cr\xe8me ERROR\r\nsecond line\n".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("tenant", "acme")
        .text("title", "Uploads")
        .text("description", "two files")
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(binary.clone()).file_name("core.bin"),
        )
        .part(
            "attachments",
            reqwest::multipart::Part::bytes(latin1.clone()).file_name("legacy.log"),
        );

    // Act
    let response = app
        .client
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&app.seeded.tokens.l1)
        .multipart(form)
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.expect("json");
    let files = ticket["attachments"].as_array().expect("attachments");
    assert_eq!(files.len(), 2);
    let by_name = |name: &str| {
        files
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone()
    };
    let core = by_name("core.bin");
    assert_eq!(core["media_type"], "application/octet-stream");
    let url = core["url"].as_str().expect("url");
    let raw = app
        .get(&app.seeded.tokens.l1, url)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(raw.as_ref(), binary.as_slice());

    let legacy = by_name("legacy.log");
    let url = format!("{}?view=text", legacy["url"].as_str().expect("url"));
    let text = app
        .get(&app.seeded.tokens.l1, &url)
        .await
        .text()
        .await
        .expect("text");
    assert_eq!(text, "caf\u{FFFD} cr\u{FFFD}me ERROR\r\nsecond line\n");
}

async fn listing_filters_and_pages_with_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.create_ticket("acme", &format!("acme ticket {n}")).await);
    }
    app.create_ticket("globex", "globex ticket").await;
    let token = &app.seeded.tokens.l1;

    // Pages of two, newest first, until the cursor runs out
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?tenant=acme&limit=2&cursor={c}"),
            None => "/api/v1/tickets?tenant=acme&limit=2".to_string(),
        };
        let page: Value = app.get_json(token, &path).await;
        for t in page["tickets"].as_array().expect("tickets") {
            seen.push(t["id"].as_str().expect("id").to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);

    let new_only: Value = app.get_json(token, "/api/v1/tickets?stage=new").await;
    assert_eq!(new_only["tickets"].as_array().expect("tickets").len(), 5);
    let p1: Value = app
        .get_json(token, "/api/v1/tickets?priority=P1&service_group=network")
        .await;
    assert_eq!(p1["tickets"].as_array().expect("tickets").len(), 0);

    let admin_all: Value = app
        .get_json(&app.seeded.tokens.admin, "/api/v1/tickets")
        .await;
    assert_eq!(admin_all["tickets"].as_array().expect("tickets").len(), 6);

    let bad_stage = app.get(token, "/api/v1/tickets?stage=done").await;
    assert_eq!(bad_stage.status(), 422);
    let bad_limit = app.get(token, "/api/v1/tickets?limit=0").await;
    assert_eq!(bad_limit.status(), 422);
    let bad_cursor = app.get(token, "/api/v1/tickets?cursor=abc").await;
    assert_eq!(bad_cursor.status(), 400);
    let typo = app.get(token, "/api/v1/tickets?tennant=acme").await;
    assert_eq!(typo.status(), 400);
}

async fn editing_ungated_fields_updates_the_ticket_and_its_audit_trail(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ticket("acme", "Printer jam").await;

    let response = app
        .patch_ticket(
            &app.seeded.tokens.l1,
            &id,
            &json!({
                "title": "Printer jam on floor 2",
                "owner": "ann-l1",
                "next_step": {"text": "Call the vendor", "owner": "ann-l1", "due": "2026-12-01T09:00:00Z"}
            }),
        )
        .await;

    assert_eq!(response.status(), 200);
    let ticket: Value = response.json().await.expect("json");
    assert_eq!(ticket["title"], "Printer jam on floor 2");
    assert_eq!(ticket["owner"], "ann-l1");
    assert_eq!(ticket["next_step"]["text"], "Call the vendor");
    assert_eq!(ticket["next_step"]["due"], "2026-12-01T09:00:00Z");

    let cleared: Value = app
        .patch_ticket(&app.seeded.tokens.l1, &id, &json!({"owner": null}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(cleared["owner"], Value::Null);
    assert_eq!(cleared["next_step"]["text"], "Call the vendor");

    let audit: Value = app
        .get_json(
            &app.seeded.tokens.l1,
            &format!("/api/v1/tickets/{id}/audit"),
        )
        .await;
    let events = audit["events"].as_array().expect("events");
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        ["ticket.created", "ticket.updated", "ticket.updated"]
    );
    assert_eq!(events[1]["actor"], "user:ann-l1");
    assert_eq!(
        events[1]["payload"]["changes"]["title"]["from"],
        "Printer jam"
    );
    assert_eq!(
        events[1]["payload"]["changes"]["title"]["to"],
        "Printer jam on floor 2"
    );
    assert_eq!(events[2]["payload"]["changes"]["owner"]["to"], Value::Null);

    let empty = app
        .patch_ticket(&app.seeded.tokens.l1, &id, &json!({}))
        .await;
    assert_eq!(empty.status(), 422);
    assert_eq!(error_code(empty).await, "empty_edit");
}

async fn priority_service_group_and_stage_are_not_editable_here(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ticket("acme", "VPN down").await;

    for field in ["priority", "service_group", "stage"] {
        let response = app
            .patch_ticket(&app.seeded.tokens.admin, &id, &json!({ field: "P1" }))
            .await;
        assert_eq!(response.status(), 422, "{field}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "gated_field");
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains("decision"),
            "the error says where the field changes: {body}"
        );
    }
    let on_create = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({"tenant": "acme", "title": "x", "priority": "P1"}),
        )
        .await;
    assert_eq!(on_create.status(), 422);
    assert_eq!(error_code(on_create).await, "gated_field");

    let ticket: Value = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(ticket["priority"], Value::Null);
    assert_eq!(ticket["stage"], "new");
    assert_eq!(app.ticket_count().await, 1);
}

async fn a_requester_always_files_in_their_own_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_ticket(
            &app.seeded.tokens.requester,
            &json!({"tenant": "acme", "title": "Password reset", "requester": "somebody-else"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let ticket: Value = response.json().await.expect("json");
    assert_eq!(ticket["requester"], "eve-client");
}
