use crate::on_both_backends;
use crate::support::{Backend, error_code, spawn_app};

on_both_backends!(probes_and_metrics_answer);

async fn probes_and_metrics_answer(backend: Backend) {
    let app = spawn_app(backend).await;

    let live = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["index"], "ready", "{body}");
    assert_eq!(body["llm"], "none", "no model by default: {body}");

    app.create_ticket("acme", "for the metrics").await;
    let missing = app.get(&app.seeded.tokens.l1, "/api/v1/nothing-here").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "not_found");

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(
            r#"triagegate_http_requests_total{method="POST",route="/api/v1/tickets",status="201"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("triagegate_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
}
