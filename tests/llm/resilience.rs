//! Timeouts, retries, non-retryable errors and the circuit breaker.

use std::time::Duration;

use triagegate::llm::LlmStatus;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_slow_endpoint_times_out_after_one_retry() {
    // Arrange
    let server = MockServer::start().await;
    respond_always(
        &server,
        completion(&answer_json().to_string()).set_delay(Duration::from_secs(3)),
    )
    .await;
    let mut settings = settings(&server);
    settings.timeout = Duration::from_millis(300);
    settings.max_retries = 1;
    let triager = triager(settings);

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Failed);
    assert_eq!(record.attempts, 2);
    assert_eq!(
        record.reason.as_deref(),
        Some("timed out after 300ms (2 attempts)")
    );
    assert!(record.answer.is_none() && record.raw_output.is_none());
    assert_eq!(request_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_succeeds() {
    // Arrange
    let server = MockServer::start().await;
    respond_times(
        &server,
        error_body(429, "Rate limit reached").insert_header("Retry-After", "1"),
        1,
    )
    .await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Ok, "{record:?}");
    assert_eq!(record.attempts, 2);
    assert_eq!(request_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn a_500_is_retried_and_succeeds() {
    // Arrange
    let server = MockServer::start().await;
    respond_times(
        &server,
        ResponseTemplate::new(500).set_body_string("upstream crashed"),
        1,
    )
    .await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Ok, "{record:?}");
    assert_eq!(record.attempts, 2);
}

#[tokio::test]
async fn retries_stop_at_max_retries_and_name_the_status() {
    // Arrange
    let server = MockServer::start().await;
    respond_always(
        &server,
        ResponseTemplate::new(503).set_body_string("overloaded"),
    )
    .await;
    let mut settings = settings(&server);
    settings.max_retries = 2;
    let triager = triager(settings);

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Failed);
    assert_eq!(record.attempts, 3);
    assert_eq!(
        record.reason.as_deref(),
        Some("HTTP 503: overloaded (3 attempts)")
    );
}

#[tokio::test]
async fn a_400_is_not_retried() {
    // Arrange
    let server = MockServer::start().await;
    respond_always(&server, error_body(400, "response_format is not supported")).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert_eq!(
        record.reason.as_deref(),
        Some("HTTP 400: response_format is not supported (1 attempt)")
    );
    assert_eq!(request_bodies(&server).await.len(), 1);
    assert!(
        !triager.breaker_open(),
        "a 4xx says nothing about the endpoint's health"
    );
}

#[tokio::test]
async fn a_dead_endpoint_opens_the_circuit_and_later_calls_send_nothing() {
    // Arrange: a port that was free a moment ago refuses connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let server = MockServer::start().await; // only for the settings' shape
    let mut settings = settings(&server);
    settings.base_url = format!("http://127.0.0.1:{port}/v1");
    settings.max_retries = 1;
    settings.breaker_failures = 2;
    let triager = triager(settings);

    // Act
    let first = triager.triage(&ticket()).await;
    let second = triager.triage(&ticket()).await;
    let third = triager.triage(&ticket()).await;

    // Assert
    for record in [&first, &second] {
        assert_eq!(record.status, LlmStatus::Failed);
        assert_eq!(record.attempts, 2);
        let reason = record.reason.as_deref().expect("reason");
        assert!(reason.starts_with("could not connect"), "{reason}");
    }
    assert!(triager.breaker_open());
    assert_eq!(third.status, LlmStatus::Failed);
    assert_eq!(third.attempts, 0);
    let reason = third.reason.as_deref().expect("reason");
    assert!(reason.starts_with("circuit open after 2"), "{reason}");
}

#[tokio::test]
async fn after_the_cooldown_a_successful_trial_closes_the_circuit() {
    // Arrange
    let server = MockServer::start().await;
    respond_times(&server, ResponseTemplate::new(502), 1).await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let mut settings = settings(&server);
    settings.max_retries = 0;
    settings.breaker_failures = 1;
    settings.breaker_cooldown = Duration::from_millis(200);
    let triager = triager(settings);

    // Act
    let failed = triager.triage(&ticket()).await;
    let refused = triager.triage(&ticket()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let trial = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(failed.status, LlmStatus::Failed);
    assert!(
        refused
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("circuit"))
    );
    assert_eq!(refused.attempts, 0);
    assert_eq!(trial.status, LlmStatus::Ok, "{trial:?}");
    assert!(!triager.breaker_open());
    assert_eq!(request_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn concurrent_calls_count_only_their_own_attempts() {
    // Arrange: ticket A meets one 500 before succeeding; ticket B succeeds at once.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .and(body_string_contains("Ticket: T-A"))
        .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_millis(100)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    respond_always(
        &server,
        completion(&answer_json().to_string()).set_delay(Duration::from_millis(100)),
    )
    .await;
    let triager = triager(settings(&server));
    let ticket_a = triagegate::llm::TriageInput {
        ticket_id: "T-A".to_owned(),
        ..ticket()
    };
    let ticket_b = triagegate::llm::TriageInput {
        ticket_id: "T-B".to_owned(),
        ..ticket()
    };

    // Act
    let (a, b) = tokio::join!(triager.triage(&ticket_a), triager.triage(&ticket_b));

    // Assert
    assert_eq!((a.status, a.attempts), (LlmStatus::Ok, 2));
    assert_eq!((b.status, b.attempts), (LlmStatus::Ok, 1));
}

#[tokio::test]
async fn triage_futures_can_be_spawned() {
    let server = MockServer::start().await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let triager = std::sync::Arc::new(triager(settings(&server)));
    let handle = tokio::spawn({
        let triager = triager.clone();
        async move { triager.triage(&ticket()).await }
    });
    let record = handle.await.expect("task completes");
    assert_eq!(record.status, LlmStatus::Ok);
}
