//! Integration tests of `crate::llm` against a wiremock stand-in for an OpenAI-compatible
//! `POST /v1/chat/completions`. One binary; this file only declares the modules.

mod helpers;
mod live;
mod outcomes;
mod resilience;
mod safety;
mod setup;
