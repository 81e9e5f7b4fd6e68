//! The `[llm]` section: which OpenAI-compatible endpoint (if any) the model layer calls, and
//! how patiently. `provider = "none"` keeps everything offline; the other keys are then only
//! checked for shape, so a file can hold a ready endpoint that is switched on later.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    None,
    /// Any endpoint that speaks OpenAI's chat-completions API: OpenAI, Azure OpenAI's
    /// OpenAI-compatible route, Ollama, vLLM, llama.cpp's server.
    OpenAi,
}

/// How the answer's shape is asked for; it is validated in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// `response_format: json_schema` (strict): the endpoint constrains the answer.
    #[default]
    JsonSchema,
    /// `response_format: json_object`: valid JSON, shape by the prompt alone.
    JsonObject,
    /// No `response_format`: for endpoints that reject it.
    Text,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: Provider,
    pub base_url: String,
    pub model: String,
    /// The name of the variable that holds the key; empty for endpoints without one.
    pub api_key_env: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub temperature: f32,
    pub max_output_tokens: u32,
    pub max_prompt_tokens: usize,
    pub response_format: ResponseMode,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    pub prompts_dir: PathBuf,
    pub cost_per_1k_prompt: f64,
    pub cost_per_1k_completion: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLlm {
    provider: String,
    base_url: String,
    model: String,
    api_key_env: String,
    timeout: String,
    max_retries: u32,
    temperature: f32,
    max_output_tokens: u32,
    max_prompt_tokens: usize,
    response_format: String,
    breaker_failures: u32,
    breaker_cooldown: String,
    prompts_dir: PathBuf,
    cost_per_1k_prompt: f64,
    cost_per_1k_completion: f64,
}

pub(super) fn load_llm(raw: RawLlm) -> Result<LlmConfig, Error> {
    let invalid = |message: String| Error::Invalid(format!("llm.{message}"));
    let provider = match raw.provider.trim() {
        "none" | "" => Provider::None,
        "openai" => Provider::OpenAi,
        other => {
            return Err(invalid(format!(
                "provider {other:?} is unknown; use \"none\" or \"openai\" (any OpenAI-compatible endpoint)"
            )));
        }
    };
    let base_url = raw.base_url.trim().trim_end_matches('/').to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(invalid(format!(
            "base_url {base_url:?} must be an http(s) URL ending in /v1, e.g. http://127.0.0.1:8088/v1"
        )));
    }
    if provider == Provider::OpenAi && raw.model.trim().is_empty() {
        return Err(invalid("model is empty; name the endpoint's model".into()));
    }
    let timeout = parse_duration("llm.timeout", &raw.timeout)?;
    if timeout.is_zero() || timeout > Duration::from_secs(600) {
        return Err(invalid("timeout must lie between 1ms and 10m".into()));
    }
    if raw.max_retries > 10 {
        return Err(invalid("max_retries must be at most 10".into()));
    }
    if !(0.0..=2.0).contains(&raw.temperature) {
        return Err(invalid("temperature must lie in 0..=2".into()));
    }
    if !(16..=8_192).contains(&raw.max_output_tokens) {
        return Err(invalid("max_output_tokens must lie in 16..=8192".into()));
    }
    if !(500..=32_000).contains(&raw.max_prompt_tokens) {
        return Err(invalid("max_prompt_tokens must lie in 500..=32000".into()));
    }
    let response_format = match raw.response_format.trim() {
        "json_schema" => ResponseMode::JsonSchema,
        "json_object" => ResponseMode::JsonObject,
        "text" => ResponseMode::Text,
        other => {
            return Err(invalid(format!(
                "response_format {other:?} is unknown; use json_schema, json_object or text"
            )));
        }
    };
    let breaker_cooldown = parse_duration("llm.breaker_cooldown", &raw.breaker_cooldown)?;
    for (name, price) in [
        ("cost_per_1k_prompt", raw.cost_per_1k_prompt),
        ("cost_per_1k_completion", raw.cost_per_1k_completion),
    ] {
        if !(price >= 0.0 && price.is_finite()) {
            return Err(invalid(format!("{name} must be 0 or more (USD)")));
        }
    }
    Ok(LlmConfig {
        provider,
        base_url,
        model: raw.model.trim().to_string(),
        api_key_env: raw.api_key_env.trim().to_string(),
        timeout,
        max_retries: raw.max_retries,
        temperature: raw.temperature,
        max_output_tokens: raw.max_output_tokens,
        max_prompt_tokens: raw.max_prompt_tokens,
        response_format,
        breaker_failures: raw.breaker_failures,
        breaker_cooldown,
        prompts_dir: raw.prompts_dir,
        cost_per_1k_prompt: raw.cost_per_1k_prompt,
        cost_per_1k_completion: raw.cost_per_1k_completion,
    })
}

/// Parses `"3s"`, `"500ms"`, `"2m"` or `"1h"`.
pub fn parse_duration(key: &str, text: &str) -> Result<Duration, Error> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        Error::Invalid(format!(
            "{key} {text:?} is not a duration; write e.g. \"3s\", \"500ms\" or \"2m\""
        ))
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "ms" => n / 1_000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3_600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_the_endpoint() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("triagegate.toml");
        std::fs::write(
            &file,
            "[llm]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:8088/v1/\"\n\
             model = \"smollm2-135m\"\napi_key_env = \"\"\ntimeout = \"3s\"\nmax_retries = 4\n",
        )
        .expect("write");
        let config =
            crate::config::Config::load_with_env(Some(&file), Vec::<(String, String)>::new())
                .expect("loads");
        let llm = config.llm;
        assert_eq!(llm.provider, Provider::OpenAi);
        assert_eq!(llm.base_url, "http://127.0.0.1:8088/v1");
        assert_eq!(llm.model, "smollm2-135m");
        assert_eq!(llm.api_key_env, "");
        assert_eq!(llm.timeout, Duration::from_secs(3));
        assert_eq!(llm.max_retries, 4);
        let defaults = crate::config::Config::load_with_env(None, Vec::<(String, String)>::new())
            .expect("defaults");
        assert_eq!(defaults.llm.provider, Provider::None, "offline by default");
        for (key, value) in [
            ("TRIAGEGATE_LLM__PROVIDER", "anthropic"),
            ("TRIAGEGATE_LLM__BASE_URL", "ftp://x/v1"),
            ("TRIAGEGATE_LLM__TIMEOUT", "soon"),
            ("TRIAGEGATE_LLM__RESPONSE_FORMAT", "yaml"),
        ] {
            let err = crate::config::Config::load_with_env(
                None,
                vec![(key.to_string(), value.to_string())],
            )
            .expect_err(key)
            .to_string();
            assert!(err.contains("llm."), "{key}: {err}");
        }
    }

    #[test]
    fn durations_read_the_usual_units() {
        let d = |t| parse_duration("k", t).expect(t);
        assert_eq!(d("3s"), Duration::from_secs(3));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("2m"), Duration::from_secs(120));
        assert_eq!(d("1.5s"), Duration::from_millis(1_500));
        assert_eq!(d("7"), Duration::from_secs(7));
        for bad in ["", "s", "3 fortnights", "-1s"] {
            let err = parse_duration("llm.timeout", bad)
                .expect_err(bad)
                .to_string();
            assert!(err.contains("llm.timeout"), "{err}");
        }
    }
}
