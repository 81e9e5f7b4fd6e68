//! Start-up errors: a misconfigured LLM layer stops the service with a message that says what
//! to fix. Run-time failures never surface as errors; they become `Failed` records.

use super::prompts::PromptError;

#[derive(Debug, thiserror::Error)]
pub enum LlmSetupError {
    #[error("llm base_url {0:?} is not an http(s) URL (expected e.g. http://127.0.0.1:8088/v1)")]
    BaseUrl(String),
    #[error("llm model is empty: set the model name the endpoint serves")]
    NoModel,
    #[error(
        "the LLM API key cannot be sent in an HTTP header: it contains control or non-ASCII characters"
    )]
    ApiKey,
    #[error(
        "llm max_prompt_tokens = {budget} is too small: the triage prompt alone needs about {needed} tokens"
    )]
    Budget { budget: usize, needed: usize },
    #[error(
        "llm.api_key_env names {0}, which is not set; export the key in it, or set api_key_env = \"\" for an endpoint without keys"
    )]
    MissingKey(String),
    #[error("loading the LLM prompts: {0}")]
    Prompt(#[from] PromptError),
    #[error("loading the cl100k tokenizer: {0}")]
    Tokenizer(String),
    #[error("building the LLM HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}
