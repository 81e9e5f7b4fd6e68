//! The optional LLM layer: asks an OpenAI-compatible endpoint (OpenAI, Azure, Ollama, vLLM,
//! llama-server) for a log summary with citations and a triage proposal.
//!
//! The model is never trusted. Everything sent passes the caller's redactor first; every
//! answer is validated against the tenant's catalogue and levels; every failure (network,
//! timeout, rate limit, bad JSON, out-of-catalogue values, open circuit) ends as a `Failed`
//! [`LlmRecord`] with a precise reason, never a panic or an error. This module does not decide
//! anything: the offline proposal and the human gate live in `triage`.

mod breaker;
mod budget;
mod call;
mod citations;
mod error;
mod input;
mod prompts;
mod record;
mod redact;
mod request;
mod retry;
mod schema;
mod settings;
mod setup;
mod tokens;
mod transport;
mod triager;
mod usage;
mod validate;

pub use citations::{LineRange, parse_citation};
pub use error::LlmSetupError;
pub use input::{SimilarCase, TriageInput};
pub use prompts::{PromptError, PromptId};
pub use record::{LlmRecord, LlmStatus, PromptRef, TriageAnswer};
pub use redact::RedactFn;
pub use retry::retry_delay;
pub use schema::answer_schema;
pub use settings::{LlmSettings, ResponseMode};
pub use setup::from_config;
pub use triager::LlmTriager;
pub use validate::{ValidationError, validate};
