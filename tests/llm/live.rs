//! Against a real OpenAI-compatible server (e.g. llama-server with SmolLM2, see STACK.md).
//! Ignored by default: run with
//! `LLM_LIVE_BASE_URL=http://127.0.0.1:8088/v1 cargo test live -- --ignored --nocapture`.

use std::time::Duration;

use triagegate::llm::{LlmSettings, LlmStatus};

use crate::helpers::{ticket, triager};

#[tokio::test]
#[ignore = "needs a running server: set LLM_LIVE_BASE_URL"]
async fn a_real_server_accepts_the_request_and_its_answer_is_validated() {
    let Ok(base_url) = std::env::var("LLM_LIVE_BASE_URL") else {
        eprintln!("LLM_LIVE_BASE_URL is not set; nothing to do");
        return;
    };
    let settings = LlmSettings {
        base_url,
        model: std::env::var("LLM_LIVE_MODEL").unwrap_or_else(|_| "local".to_owned()),
        timeout: Duration::from_secs(60),
        max_retries: 0,
        ..LlmSettings::default()
    };
    let record = triager(settings).triage(&ticket()).await;
    println!(
        "{}",
        serde_json::to_string_pretty(&record).expect("serialises")
    );
    // The server must accept the request (schema included); the small model may still answer
    // badly, which must then be a recorded validation failure.
    let reason = record.reason.clone().unwrap_or_default();
    assert!(!reason.starts_with("HTTP "), "{reason}");
    assert!(!reason.starts_with("could not connect"), "{reason}");
    assert!(record.prompt_tokens.is_some(), "usage recorded");
    if record.status != LlmStatus::Failed {
        assert!(record.answer.is_some());
    }
}
