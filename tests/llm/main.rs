//! The model layer against a wiremock stand-in for an OpenAI-compatible
//! `POST /v1/chat/completions`: the client alone (outcomes, resilience, safety, set-up), the
//! running service with it (service), and a real local model when one is running (live).

#[path = "../support/mod.rs"]
mod support;

mod helpers;
mod live;
mod outcomes;
mod resilience;
mod safety;
mod service;
mod setup;
