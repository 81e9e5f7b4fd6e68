//! Settings of the LLM layer. The caller reads them from its config; the API key arrives
//! already read from its environment variable and never leaves this struct except as an
//! `Authorization` header.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::config::ResponseMode;

/// Connection, budget and resilience settings of [`crate::llm::LlmTriager`].
#[derive(Clone)]
pub struct LlmSettings {
    /// OpenAI-compatible base URL ending in `/v1`, e.g. `http://127.0.0.1:8088/v1`.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer`; never logged, never printed by `Debug`.
    pub api_key: Option<String>,
    /// Limit of one HTTP attempt.
    pub timeout: Duration,
    /// Retries after the first attempt of each call.
    pub max_retries: u32,
    pub temperature: f32,
    pub max_output_tokens: u32,
    /// Budget of the rendered system + user messages, in cl100k tokens.
    pub max_prompt_tokens: usize,
    pub response_format: ResponseMode,
    /// Consecutive failed calls that open the circuit; 0 disables the breaker.
    pub breaker_failures: u32,
    /// How long the circuit stays open before one trial call is let through.
    pub breaker_cooldown: Duration,
    /// Directory that may override the built-in `prompts/*.md.j2` files.
    pub prompts_dir: Option<PathBuf>,
    /// USD per 1000 prompt tokens; 0 means unknown (no cost estimate is recorded).
    pub cost_per_1k_prompt: f64,
    /// USD per 1000 completion tokens; 0 means unknown.
    pub cost_per_1k_completion: f64,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8088/v1".to_owned(),
            model: "local".to_owned(),
            api_key: None,
            timeout: Duration::from_secs(30),
            max_retries: 2,
            temperature: 0.0,
            max_output_tokens: 400,
            max_prompt_tokens: 2000,
            response_format: ResponseMode::JsonSchema,
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(30),
            prompts_dir: None,
            cost_per_1k_prompt: 0.0,
            cost_per_1k_completion: 0.0,
        }
    }
}

// Hand-written so the API key can never reach a log line through `{:?}`.
impl fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("temperature", &self.temperature)
            .field("max_output_tokens", &self.max_output_tokens)
            .field("max_prompt_tokens", &self.max_prompt_tokens)
            .field("response_format", &self.response_format)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("prompts_dir", &self.prompts_dir)
            .field("cost_per_1k_prompt", &self.cost_per_1k_prompt)
            .field("cost_per_1k_completion", &self.cost_per_1k_completion)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_api_key() {
        let settings = LlmSettings {
            api_key: Some("sk-very-secret".to_owned()),
            ..LlmSettings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("sk-very-secret"));
        assert!(printed.contains("<redacted>"));
    }
}
