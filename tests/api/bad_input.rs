use futures_util::stream;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, error_code, spawn_app, spawn_app_with};

on_both_backends!(
    malformed_and_mistyped_bodies_get_their_precise_status,
    invalid_fields_are_422_and_write_nothing,
    oversized_attachments_are_413_and_write_nothing,
    sql_and_html_metacharacters_are_stored_verbatim,
);

async fn post_raw(
    app: &crate::support::TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&app.seeded.tokens.l1)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn malformed_and_mistyped_bodies_get_their_precise_status(backend: Backend) {
    let app = spawn_app(backend).await;

    let cases: [(&str, &str, u16, &str); 6] = [
        (
            "application/json",
            "{\"tenant\": \"acme\", ",
            400,
            "malformed_json",
        ),
        ("application/json", "not json at all", 400, "malformed_json"),
        (
            "text/plain",
            "{\"tenant\":\"acme\",\"title\":\"x\"}",
            415,
            "unsupported_media_type",
        ),
        (
            "application/json",
            "{\"tenant\":\"acme\",\"title\":5}",
            422,
            "invalid_field",
        ),
        (
            "application/json",
            "{\"tenant\":\"acme\",\"title\":\"x\",\"colour\":\"red\"}",
            422,
            "invalid_field",
        ),
        (
            "multipart/form-data; boundary=XYZ",
            "--XYZ\r\nbroken",
            400,
            "malformed_multipart",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let response = post_raw(&app, content_type, body).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(error_code(response).await, code, "{body}");
    }
    let bad_base64 = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({"tenant": "acme", "title": "x",
                    "attachments": [{"name": "a.bin", "content": "!!!", "encoding": "base64"}]}),
        )
        .await;
    assert_eq!(bad_base64.status(), 422);

    assert_eq!(app.ticket_count().await, 0);
    app.assert_still_serving().await;
}

async fn invalid_fields_are_422_and_write_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = "x".repeat(10_000);
    let cases = [
        (json!({"tenant": "acme", "title": ""}), "title"),
        (json!({"tenant": "acme", "title": "   "}), "title"),
        (json!({"tenant": "acme", "title": long}), "title"),
        (json!({"tenant": "acme", "title": "a\u{0}b"}), "title"),
        (
            json!({"tenant": "acme", "title": "ok", "attachments": [{"name": "../../etc/passwd", "content": "x"}]}),
            "attachments.name",
        ),
        (
            json!({"tenant": "acme", "title": "ok", "attachments": [{"name": "a.log", "content": "x", "media_type": "bogus"}]}),
            "attachments.media_type",
        ),
    ];
    for (body, field) in cases {
        let response = app.post_ticket(&app.seeded.tokens.l1, &body).await;
        assert_eq!(response.status(), 422, "{body}");
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let long_title = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({"tenant": "acme", "title": long}),
        )
        .await;
    let message = long_title.json::<Value>().await.expect("json")["error"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(
        message.contains("10000") && message.contains("200"),
        "{message}"
    );

    let unknown_tenant = app
        .post_ticket(
            &app.seeded.tokens.admin,
            &json!({"tenant": "nope", "title": "x"}),
        )
        .await;
    assert_eq!(unknown_tenant.status(), 404);

    assert_eq!(app.ticket_count().await, 0);
    assert_eq!(app.db.count("attachment").await, 0);
}

async fn oversized_attachments_are_413_and_write_nothing(backend: Backend) {
    // Arrange: small limits so the test stays quick; the code paths are the same
    let app = spawn_app_with(
        backend,
        &[
            ("TRIAGEGATE_LIMITS__MAX_ATTACHMENT", "64 KiB"),
            ("TRIAGEGATE_LIMITS__MAX_TICKET_ATTACHMENTS", "100 KiB"),
        ],
    )
    .await;
    let big = "y".repeat(65 * 1024);
    let half = "z".repeat(60 * 1024);

    // One file over the per-file limit, inline JSON
    let one = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({"tenant": "acme", "title": "big", "attachments": [{"name": "a.log", "content": big}]}),
        )
        .await;
    assert_eq!(one.status(), 413);
    assert_eq!(error_code(one).await, "too_large");

    // Two files that fit alone but not together, multipart
    let form = reqwest::multipart::Form::new()
        .text("tenant", "acme")
        .text("title", "two halves")
        .part(
            "attachments",
            reqwest::multipart::Part::text(half.clone()).file_name("a.log"),
        )
        .part(
            "attachments",
            reqwest::multipart::Part::text(half).file_name("b.log"),
        );
    let both = app
        .client
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&app.seeded.tokens.l1)
        .multipart(form)
        .send()
        .await
        .expect("request");
    assert_eq!(both.status(), 413);

    // A streamed 200 MB body, far past the request limit: refused before it is read
    let chunk = bytes_of(1 << 20);
    let chunks = stream::iter((0..200).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let huge = app
        .client
        .post(app.url("/api/v1/tickets"))
        .bearer_auth(&app.seeded.tokens.l1)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await;
    // The server may answer before the client finishes sending and then close the connection;
    // either way nothing is written and the service goes on.
    if let Ok(response) = huge {
        assert_eq!(response.status(), 413);
    }

    assert_eq!(app.ticket_count().await, 0);
    assert_eq!(app.db.count("attachment").await, 0);
    app.assert_still_serving().await;
}

fn bytes_of(n: usize) -> bytes::Bytes {
    bytes::Bytes::from(vec![b'a'; n])
}

async fn sql_and_html_metacharacters_are_stored_verbatim(backend: Backend) {
    let app = spawn_app(backend).await;
    let nasty = "Robert'); DROP TABLE ticket;-- <script>alert(\"x\")</script> & \\ % _ ${x}";
    let response = app
        .post_ticket(
            &app.seeded.tokens.l1,
            &json!({
                "tenant": "acme",
                "title": nasty,
                "description": format!("{nasty}\nline two"),
                "requester": nasty,
                "attachments": [{"name": "x'<b>.log", "content": nasty}]
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    app.patch_ticket(
        &app.seeded.tokens.l1,
        &id,
        &json!({"owner": nasty, "next_step": {"text": nasty, "owner": nasty}}),
    )
    .await;

    let ticket: Value = app
        .get_json(&app.seeded.tokens.l1, &format!("/api/v1/tickets/{id}"))
        .await;
    assert_eq!(ticket["title"], nasty);
    assert_eq!(ticket["description"], format!("{nasty}\nline two"));
    assert_eq!(ticket["requester"], nasty);
    assert_eq!(ticket["owner"], nasty);
    assert_eq!(ticket["next_step"]["text"], nasty);
    assert_eq!(ticket["attachments"][0]["name"], "x'<b>.log");

    let filtered = app
        .get(
            &app.seeded.tokens.l1,
            "/api/v1/tickets?service_group=x%27%20or%201%3D1%20--",
        )
        .await;
    assert_eq!(filtered.status(), 200);
    assert_eq!(
        filtered.json::<Value>().await.expect("json")["tickets"],
        json!([])
    );
    assert_eq!(app.ticket_count().await, 1);
}
