//! One chat-completion call through async-openai, with its failure described in our terms:
//! what went wrong, how many attempts it took, and whether it says the endpoint is unhealthy.

use std::error::Error as _;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CompletionUsage, CreateChatCompletionRequest, FinishReason};

use super::transport::{attempts_so_far, clear_last_status, last_status};
use super::usage::clip_bytes;

/// Longest server error message or body quoted in a reason.
const QUOTE_MAX_BYTES: usize = 300;

/// The first choice of a successful response.
#[derive(Clone, Debug, Default)]
pub struct Completion {
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<CompletionUsage>,
}

/// Why a call produced no completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("timed out after {timeout:?} ({})", attempts_text(*attempts))]
    Timeout { timeout: Duration, attempts: u32 },
    #[error("could not connect to the model endpoint: {detail} ({})", attempts_text(*attempts))]
    Connect { detail: String, attempts: u32 },
    #[error("HTTP {status}: {message} ({})", attempts_text(*attempts))]
    Http {
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error("unreadable response: {detail}")]
    Unreadable { detail: String, body: String },
    #[error("request failed: {detail} ({})", attempts_text(*attempts))]
    Transport { detail: String, attempts: u32 },
    #[error("request could not be built: {0}")]
    Other(String),
}

fn attempts_text(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    }
}

impl CallError {
    /// Returns whether this failure counts against the endpoint's health: it was unreachable,
    /// timed out, or kept rate-limiting or failing after every retry. A 4xx or an unreadable
    /// body means the endpoint is up and the problem is ours (or the model's).
    pub fn trips_breaker(&self) -> bool {
        match self {
            CallError::Timeout { .. } | CallError::Connect { .. } => true,
            CallError::Http { status, .. } => super::retry::is_retryable_status(*status),
            CallError::Unreadable { .. } | CallError::Transport { .. } | CallError::Other(_) => {
                false
            }
        }
    }

    /// Returns the response body worth keeping as `raw_output`, if any.
    pub fn body(&self) -> Option<&str> {
        match self {
            CallError::Unreadable { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// Sends `request` and returns its first choice. Must run inside `with_call_stats`.
pub async fn complete(
    client: &Client<OpenAIConfig>,
    request: CreateChatCompletionRequest,
    timeout: Duration,
) -> Result<Completion, CallError> {
    let attempts_before = attempts_so_far();
    clear_last_status();
    match client.chat().create(request).await {
        Ok(response) => {
            let choice = response.choices.into_iter().next();
            Ok(Completion {
                content: choice.as_ref().and_then(|c| c.message.content.clone()),
                refusal: choice.as_ref().and_then(|c| c.message.refusal.clone()),
                finish_reason: choice.and_then(|c| c.finish_reason),
                usage: response.usage,
            })
        }
        Err(err) => {
            let attempts = attempts_so_far().saturating_sub(attempts_before);
            Err(classify(err, attempts, last_status(), timeout))
        }
    }
}

/// Maps async-openai's error to ours. `status` is the last HTTP status our transport saw: it
/// keeps the status when an error body was not OpenAI-shaped JSON.
pub fn classify(
    err: OpenAIError,
    attempts: u32,
    status: Option<u16>,
    timeout: Duration,
) -> CallError {
    match err {
        OpenAIError::Reqwest(err) if err.is_timeout() => CallError::Timeout { timeout, attempts },
        OpenAIError::Reqwest(err) if err.is_connect() => CallError::Connect {
            detail: error_chain(&err.without_url()),
            attempts,
        },
        OpenAIError::Reqwest(err) => CallError::Transport {
            detail: error_chain(&err.without_url()),
            attempts,
        },
        OpenAIError::ApiError(api) => CallError::Http {
            status: api.status_code.as_u16(),
            message: quote(&api.api_error.message),
            attempts,
        },
        OpenAIError::JSONDeserialize(err, body) => match status {
            Some(status) if !(200..300).contains(&status) => CallError::Http {
                status,
                message: quote(&body),
                attempts,
            },
            _ => CallError::Unreadable {
                detail: err.to_string(),
                body,
            },
        },
        other => CallError::Other(other.to_string()),
    }
}

fn quote(text: &str) -> String {
    let text = text.trim();
    let kept = clip_bytes(text, QUOTE_MAX_BYTES);
    if kept.len() < text.len() {
        format!("{kept}…")
    } else {
        kept.to_owned()
    }
}

/// Joins an error and its sources ("error sending request: connection refused"), skipping
/// repeats: reqwest's top-level message alone says nothing about the cause.
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_counts_only_endpoint_health_failures() {
        let timeout = CallError::Timeout {
            timeout: Duration::from_millis(300),
            attempts: 2,
        };
        assert!(timeout.trips_breaker());
        assert_eq!(timeout.to_string(), "timed out after 300ms (2 attempts)");
        let http = |status| CallError::Http {
            status,
            message: "x".to_owned(),
            attempts: 1,
        };
        assert!(http(503).trips_breaker());
        assert!(http(429).trips_breaker());
        assert!(!http(400).trips_breaker());
        assert!(!http(401).trips_breaker());
        assert_eq!(http(401).to_string(), "HTTP 401: x (1 attempt)");
    }

    #[test]
    fn a_non_json_error_body_keeps_its_status() {
        let parse_error = serde_json::from_str::<serde_json::Value>("<html>").expect_err("bad");
        let err = OpenAIError::JSONDeserialize(parse_error, "<html>Bad Gateway</html>".to_owned());
        let call = classify(err, 1, Some(400), Duration::from_secs(1));
        assert_eq!(
            call.to_string(),
            "HTTP 400: <html>Bad Gateway</html> (1 attempt)"
        );
    }

    #[test]
    fn long_messages_are_quoted_briefly() {
        let long = "y".repeat(1000);
        assert!(quote(&long).len() < 310);
    }
}
