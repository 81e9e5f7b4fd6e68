//! The HTTP layer under async-openai: one tower service that sends each attempt with our own
//! reqwest client (with a timeout; async-openai sets none) and retries transient failures
//! with the policy in `retry.rs`. It replaces async-openai's built-in retry, which does not
//! retry timeouts and honours `Retry-After` without a cap.
//!
//! Attempts are counted in a task-local [`CallStats`], so two triage calls running at the same
//! time on one client each see only their own attempts.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;

use super::retry::{honours_retry_after, is_retryable_status, parse_retry_after, retry_delay};

/// Per-call counters, scoped to one `triage` call by [`with_call_stats`].
#[derive(Default)]
pub struct CallStats {
    attempts: Cell<u32>,
    last_status: Cell<Option<u16>>,
}

tokio::task_local! {
    static CALL_STATS: CallStats;
}

/// Runs `future` with fresh call counters.
pub async fn with_call_stats<F: Future>(future: F) -> F::Output {
    CALL_STATS.scope(CallStats::default(), future).await
}

/// Returns the HTTP attempts made so far in the current scope (0 outside one).
pub fn attempts_so_far() -> u32 {
    CALL_STATS.try_with(|s| s.attempts.get()).unwrap_or(0)
}

/// Returns the status of the latest HTTP response in the current scope, if any.
pub fn last_status() -> Option<u16> {
    CALL_STATS.try_with(|s| s.last_status.get()).ok().flatten()
}

/// Forgets the latest status, so a new call does not inherit the previous call's.
pub fn clear_last_status() {
    let _ = CALL_STATS.try_with(|s| s.last_status.set(None));
}

fn note_attempt() {
    let _ = CALL_STATS.try_with(|s| s.attempts.set(s.attempts.get().saturating_add(1)));
}

fn note_status(status: Option<u16>) {
    let _ = CALL_STATS.try_with(|s| s.last_status.set(status));
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send + 'static>>;

/// Sends requests with retries; installed with `Client::with_http_service`.
#[derive(Clone, Debug)]
pub struct RetryingService {
    client: reqwest::Client,
    max_retries: u32,
}

impl RetryingService {
    /// `client` must carry the per-attempt timeout.
    pub fn new(client: reqwest::Client, max_retries: u32) -> Self {
        Self {
            client,
            max_retries,
        }
    }

    async fn send(self, factory: HttpRequestFactory) -> Result<reqwest::Response, OpenAIError> {
        let mut retries_done: u32 = 0;
        loop {
            note_attempt();
            // The factory rebuilds the request: a sent reqwest::Request cannot be replayed.
            let request = factory.build().await?;
            let outcome = self.client.execute(request).await;
            // Reaching the end of this match means the outcome is transient.
            let server_wait = match &outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    note_status(Some(status));
                    if !is_retryable_status(status) {
                        return outcome.map_err(OpenAIError::Reqwest);
                    }
                    server_retry_after(response, status)
                }
                Err(err) => {
                    note_status(None);
                    if !(err.is_timeout() || err.is_connect()) {
                        return outcome.map_err(OpenAIError::Reqwest);
                    }
                    None
                }
            };
            if retries_done >= self.max_retries {
                return outcome.map_err(OpenAIError::Reqwest);
            }
            let delay = retry_delay(retries_done, server_wait, rand::random::<f64>());
            tracing::warn!(
                attempt = retries_done + 1,
                status = last_status(),
                delay_ms = delay.as_millis() as u64,
                "llm request failed; retrying"
            );
            drop(outcome);
            tokio::time::sleep(delay).await;
            retries_done += 1;
        }
    }
}

fn server_retry_after(response: &reqwest::Response, status: u16) -> Option<std::time::Duration> {
    if !honours_retry_after(status) {
        return None;
    }
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value, SystemTime::now())
}

impl tower::Service<HttpRequestFactory> for RetryingService {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        Box::pin(self.clone().send(factory))
    }
}
