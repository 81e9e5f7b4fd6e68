//! Proposals with evidence: per-tenant text models calibrated on the tenant's own history
//! (`text_model.rs`, `calibration.rs`, `models.rs`), the severity matrix and its rules
//! (`proposer.rs`), and the service that ties them to the store, the index and the ticket's log
//! digests (`service.rs`). `eval_metrics.rs` scores proposals against human labels.

pub mod calibration;
pub mod combine;
pub mod eval_metrics;
pub mod handoff;
pub mod llm_input;
pub mod models;
pub mod proposer;
pub mod service;
pub mod text_model;
pub mod worker;

pub use service::{Similar, Triage, TriageError};
