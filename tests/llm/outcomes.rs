//! What a triage call records for good, malformed and schema-violating answers.

use serde_json::json;
use sha2::{Digest, Sha256};
use triagegate::llm::LlmStatus;
use wiremock::MockServer;

use crate::helpers::*;

#[tokio::test]
async fn a_valid_answer_is_recorded_as_ok_with_usage_prompt_hash_and_cost() {
    // Arrange
    let server = MockServer::start().await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let mut settings = settings(&server);
    settings.cost_per_1k_prompt = 0.5;
    settings.cost_per_1k_completion = 1.5;
    let triager = triager(settings);

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Ok, "{record:?}");
    let answer = record.answer.as_ref().expect("answer");
    assert_eq!(answer.service_group, "Network");
    assert_eq!(answer.citations, vec!["L1043–L1890"]);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.prompt_tokens, Some(812));
    assert_eq!(record.completion_tokens, Some(96));
    assert!(record.prompt_tokens_estimate > 0);
    let cost = record.cost_estimate_usd.expect("priced");
    assert!((cost - (0.812 * 0.5 + 0.096 * 1.5)).abs() < 1e-9);
    assert_eq!(record.model.as_deref(), Some("test-model"));
    assert!(
        record.reason.is_none() && record.raw_output.is_none() && record.repair_prompt.is_none()
    );

    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/triage.md.j2"))
        .expect("prompt file");
    let prompt = record.prompt.as_ref().expect("prompt ref");
    assert_eq!(prompt.name, "triage");
    assert_eq!(prompt.sha256, hex::encode(Sha256::digest(&file)));
    assert_eq!(prompt, triager.prompt());

    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["max_tokens"], 400);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["properties"]["service_group"]["enum"],
        json!(["Network", "Email", "Identity", "unknown"])
    );
    assert!(message(body, 1).contains("ERROR L1043–L1890 ×412"));

    let stored = serde_json::to_value(&record).expect("serialises");
    assert_eq!(stored["status"], "ok");
    assert_eq!(stored["prompt"]["sha256"], prompt.sha256);
}

#[tokio::test]
async fn malformed_json_is_repaired_once_and_the_bad_output_kept() {
    // Arrange
    let server = MockServer::start().await;
    let cut_off = "```json\n{\"summary\": \"The VPN gateway refuses\", \"citations\": [\"L10";
    respond_times(
        &server,
        wiremock::ResponseTemplate::new(200).set_body_json(completion_body(cut_off, "length")),
        1,
    )
    .await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Repaired, "{record:?}");
    assert_eq!(record.raw_output.as_deref(), Some(cut_off));
    let reason = record.reason.as_deref().expect("reason");
    assert!(
        reason.contains("no JSON object") || reason.contains("invalid JSON"),
        "{reason}"
    );
    assert!(
        reason.contains("cut off at the 400-token limit"),
        "{reason}"
    );
    assert_eq!(
        record.repair_prompt.as_ref().map(|p| p.name.as_str()),
        Some("repair")
    );
    assert_eq!(record.attempts, 2);
    assert_eq!(record.prompt_tokens, Some(812 * 2));
    assert_eq!(
        record.answer.as_ref().map(|a| a.impact.as_str()),
        Some("high")
    );

    let bodies = request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    let repair = message(&bodies[1], 2);
    assert!(repair.contains("could not be used"), "{repair}");
    assert!(repair.contains("\"citations\": [\"L10"), "{repair}");
    assert_eq!(message(&bodies[1], 1), message(&bodies[0], 1));
    assert_eq!(bodies[1]["response_format"], bodies[0]["response_format"]);
}

#[tokio::test]
async fn schema_violations_twice_fail_with_the_field_named() {
    // Arrange
    let server = MockServer::start().await;
    let mut bad = answer_json();
    bad["impact"] = json!("critical");
    respond_always(&server, completion(&bad.to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Failed);
    assert_eq!(
        record.reason.as_deref(),
        Some("impact \"critical\" is not one of high, medium, low")
    );
    assert_eq!(record.raw_output, Some(bad.to_string()));
    assert!(record.answer.is_none());
    assert_eq!(record.attempts, 2);
    assert!(record.repair_prompt.is_some());
}

#[tokio::test]
async fn an_empty_answer_with_a_refusal_goes_to_repair() {
    // Arrange
    let server = MockServer::start().await;
    let refusal = json!({
        "id": "chatcmpl-r", "object": "chat.completion", "created": 1_760_000_000, "model": "test-model",
        "choices": [{ "index": 0, "finish_reason": "stop",
            "message": { "role": "assistant", "content": null, "refusal": "I can't help with that." } }]
    });
    respond_times(
        &server,
        wiremock::ResponseTemplate::new(200).set_body_json(refusal),
        1,
    )
    .await;
    respond_always(&server, completion(&answer_json().to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Repaired);
    assert_eq!(
        record.reason.as_deref(),
        Some("the model refused: I can't help with that.")
    );
    // The first response reported no usage; the second did.
    assert_eq!(record.prompt_tokens, Some(812));
}

#[tokio::test]
async fn citations_not_in_the_digest_are_dropped_without_failing() {
    // Arrange
    let server = MockServer::start().await;
    let mut answer = answer_json();
    answer["citations"] = json!(["L7", "L99999"]);
    respond_always(&server, completion(&answer.to_string())).await;
    let triager = triager(settings(&server));

    // Act
    let record = triager.triage(&ticket()).await;

    // Assert
    assert_eq!(record.status, LlmStatus::Ok);
    assert_eq!(
        record.answer.map(|a| a.citations),
        Some(vec!["L7".to_owned()])
    );
}
