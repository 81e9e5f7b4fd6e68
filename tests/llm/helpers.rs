//! Shared fixtures: settings pointing at the mock server, a realistic ticket, and
//! chat.completion responses shaped like llama-server's and OpenAI's.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use triagegate::llm::{LlmSettings, LlmTriager, RedactFn, SimilarCase, TriageInput};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CHAT_PATH: &str = "/v1/chat/completions";

pub fn settings(server: &MockServer) -> LlmSettings {
    LlmSettings {
        base_url: format!("{}/v1", server.uri()),
        model: "test-model".to_owned(),
        timeout: Duration::from_secs(5),
        max_retries: 2,
        breaker_failures: 3,
        breaker_cooldown: Duration::from_secs(60),
        ..LlmSettings::default()
    }
}

pub fn identity() -> RedactFn {
    Arc::new(|text: &str| text.to_owned())
}

pub fn triager(settings: LlmSettings) -> LlmTriager {
    LlmTriager::new(settings, identity()).expect("triager builds")
}

pub fn ticket() -> TriageInput {
    TriageInput {
        ticket_id: "T-1001".to_owned(),
        title: "VPN refuses connections for the whole Berlin office".to_owned(),
        description: "Since 08:00 nobody in Berlin can connect to the VPN.".to_owned(),
        digest: "ERROR L1043–L1890 ×412 Connection to <*> refused\n\
                 WARN L7 certificate for <*> expires in <*> days"
            .to_owned(),
        similar: vec![SimilarCase {
            case_id: "C-77".to_owned(),
            title: "VPN gateway down".to_owned(),
            service_group: Some("Network".to_owned()),
            priority: Some("P2".to_owned()),
            resolution: Some("Restarted the gateway.".to_owned()),
            score: 0.87,
        }],
        catalogue: vec![
            "Network".to_owned(),
            "Email".to_owned(),
            "Identity".to_owned(),
        ],
        levels: vec!["high".to_owned(), "medium".to_owned(), "low".to_owned()],
    }
}

pub fn answer_json() -> Value {
    json!({
        "summary": "The VPN gateway refuses every connection since 08:00.",
        "citations": ["L1043–L1890"],
        "service_group": "Network",
        "impact": "high",
        "urgency": "high",
        "rationale": "A whole office cannot work; similar case C-77 was a Network issue."
    })
}

/// A chat.completion body with `content` as the assistant message.
pub fn completion_body(content: &str, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "test-model",
        "system_fingerprint": "b6000-test",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": content },
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": { "prompt_tokens": 812, "completion_tokens": 96, "total_tokens": 908 }
    })
}

pub fn completion(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion_body(content, "stop"))
}

pub fn error_body(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "message": message, "type": "invalid_request_error", "param": null, "code": null }
    }))
}

/// Mounts `response` for the next `times` chat requests, ahead of mocks mounted later.
pub async fn respond_times(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(response)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

/// Mounts `response` for every chat request not taken by an earlier mock.
pub async fn respond_always(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Returns the JSON bodies of the chat requests received so far.
pub async fn request_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|request| request.body_json().expect("JSON request body"))
        .collect()
}

/// Returns the content of message `index` of a request body.
pub fn message(body: &Value, index: usize) -> &str {
    body["messages"][index]["content"]
        .as_str()
        .expect("string message content")
}
