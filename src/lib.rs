//! triagegate: evidence-first ticket triage for managed service providers.
//! The module list below is the architecture; each module's header says what it owns.

/// The process: state, router and listener, built from a `Config`.
pub mod app;
/// API tokens and passwords.
pub mod auth;
/// Command-line interface: the subcommands of the `triagegate` binary.
pub mod cli;
/// Configuration from `config/default.toml`, a `--config` file and `TRIAGEGATE_*` variables.
pub mod config;
/// Log digest: template mining, redaction, token-budgeted summary.
pub mod digest;
/// Plain types and rules; no I/O.
pub mod domain;
/// HTTP adapter: JSON API, web pages, health, metrics, auth and errors.
pub mod http;
/// The optional model layer: an OpenAI-compatible client with retries and a circuit breaker,
/// prompts, redaction, structured output and its validation.
pub mod llm;
/// Prometheus metrics: requests, triages, index rebuilds.
pub mod metrics;
/// QA reports: AI-vs-human agreement, its CSV export and charts.
pub mod report;
/// Similar past cases: the tantivy index on disk and how it follows the store.
pub mod search;
/// The database: SQLite or PostgreSQL behind one trait, with the audit chain.
pub mod store;
/// Tracing subscriber set-up.
pub mod telemetry;
/// Proposals: calibrated per-tenant models, the severity matrix, combining with the model, and
/// the triage service with its durable jobs and workers.
pub mod triage;
