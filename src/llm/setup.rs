//! Start-up of the LLM layer: settings checks, the budget sanity check and the async-openai
//! client with our transport installed.

use std::sync::Arc;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use tiktoken_rs::CoreBPE;

use super::budget::{BudgetError, fit_prompt};
use super::error::LlmSetupError;
use super::input::TriageInput;
use super::prompts::Prompts;
use super::redact::{RedactFn, redact_input};
use super::settings::LlmSettings;
use super::transport::RetryingService;

/// Builds the async-openai client: our reqwest client (with the per-attempt timeout) under our
/// retrying service.
pub fn build_client(settings: &LlmSettings) -> Result<Client<OpenAIConfig>, LlmSetupError> {
    let http = reqwest::Client::builder()
        .timeout(settings.timeout)
        .build()
        .map_err(LlmSetupError::HttpClient)?;
    // Everything is set explicitly: `OpenAIConfig::new()` would otherwise pick up
    // OPENAI_* variables (key, org, project) meant for some other tool and send them to
    // whatever endpoint is configured here.
    let config = OpenAIConfig::new()
        .with_api_base(settings.base_url.trim_end_matches('/'))
        .with_api_key(settings.api_key.clone().unwrap_or_default())
        .with_org_id("")
        .with_project_id("");
    // `with_http_client` makes async-openai build requests with our client too; the
    // service then replaces its built-in retry with ours.
    let client = Client::with_config(config)
        .with_http_client(http.clone())
        .with_http_service(RetryingService::new(http, settings.max_retries));
    Ok(client)
}

/// Refuses settings that could only fail later, or panic inside async-openai.
pub fn check_settings(settings: &LlmSettings) -> Result<(), LlmSetupError> {
    let url_ok = reqwest::Url::parse(&settings.base_url)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
    if !url_ok {
        return Err(LlmSetupError::BaseUrl(settings.base_url.clone()));
    }
    if settings.model.trim().is_empty() {
        return Err(LlmSetupError::NoModel);
    }
    // async-openai builds the header with `.parse().unwrap()` on every request, so a bad key
    // would panic mid-triage; refuse it now instead.
    let key = settings.api_key.as_deref().unwrap_or_default();
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).is_err() {
        return Err(LlmSetupError::ApiKey);
    }
    Ok(())
}

/// Checks that a minimal ticket fits the budget, so a too-small `max_prompt_tokens` is a
/// start-up error rather than a failure on every ticket.
pub fn check_budget(bpe: &CoreBPE, prompts: &Prompts, budget: usize) -> Result<(), LlmSetupError> {
    let sample = TriageInput {
        ticket_id: "T-000000".to_owned(),
        title: "Sample ticket title of typical length for the budget check".to_owned(),
        levels: ["high", "medium", "low"].map(str::to_owned).to_vec(),
        ..TriageInput::default()
    };
    let identity: RedactFn = Arc::new(|text: &str| text.to_owned());
    match fit_prompt(bpe, prompts, &redact_input(&sample, &identity), budget) {
        Ok(_) => Ok(()),
        Err(BudgetError::TooSmall { base_tokens, .. }) => Err(LlmSetupError::Budget {
            budget,
            needed: base_tokens,
        }),
        Err(BudgetError::Prompt(err)) => Err(LlmSetupError::Prompt(err)),
    }
}

/// The model layer the configuration asks for: `None` with `provider = "none"`. The key is
/// read here from the variable `api_key_env` names, once, and kept only in the client.
pub fn from_config(
    config: &crate::config::Config,
) -> Result<Option<super::LlmTriager>, LlmSetupError> {
    use crate::config::Provider;
    let llm = &config.llm;
    if llm.provider == Provider::None {
        return Ok(None);
    }
    let api_key = if llm.api_key_env.is_empty() {
        None
    } else {
        match std::env::var(&llm.api_key_env) {
            Ok(key) if !key.is_empty() => Some(key),
            _ => return Err(LlmSetupError::MissingKey(llm.api_key_env.clone())),
        }
    };
    let settings = LlmSettings {
        base_url: llm.base_url.clone(),
        model: llm.model.clone(),
        api_key,
        timeout: llm.timeout,
        max_retries: llm.max_retries,
        temperature: llm.temperature,
        max_output_tokens: llm.max_output_tokens,
        max_prompt_tokens: llm.max_prompt_tokens,
        response_format: llm.response_format,
        breaker_failures: llm.breaker_failures,
        breaker_cooldown: llm.breaker_cooldown,
        prompts_dir: Some(llm.prompts_dir.clone()),
        cost_per_1k_prompt: llm.cost_per_1k_prompt,
        cost_per_1k_completion: llm.cost_per_1k_completion,
    };
    // The digest's redactor, so what a model sees is masked exactly as what people see.
    let redactor = crate::digest::redact::shared(crate::digest::redact::RedactionOptions {
        ips: config.digest.redact_ips,
    });
    let redact: RedactFn = Arc::new(move |text: &str| {
        redactor
            .redact(text, &mut crate::digest::redact::RedactionCounts::default())
            .into_owned()
    });
    super::LlmTriager::new(settings, redact).map(Some)
}
