//! What one triage call leaves behind. The types are plain data stored with each suggestion,
//! so they live in `domain::llm`; this module's callers name them from here too.

pub use crate::domain::llm::{LlmRecord, LlmStatus, PromptRef, TriageAnswer};
