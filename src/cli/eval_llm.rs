//! `triagegate eval tickets ... --llm`: the same evaluation with the configured model asked for
//! each test row and its answer combined with the offline group proposal the way the service
//! combines them (the rows have no logs, and only the group is labelled). Reports
//! the combined figures beside the offline ones on the same rows, the model's own accuracy, its
//! token use, and the shares of repaired and failed answers.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Config;
use crate::domain::llm::LlmStatus;
use crate::domain::severity::Level;
use crate::domain::suggestion::{Evidence, Field, FieldProposal, Source};
use crate::llm::{LlmTriager, SimilarCase, TriageInput};
use crate::search::Hit;
use crate::triage::calibration::Proposal;
use crate::triage::combine::{CombineInput, combine};
use crate::triage::eval_metrics::{EvalReport, Scored, evaluate};

/// One test row as the model sees it.
pub struct LlmRow<'a> {
    pub index: usize,
    pub title: &'a str,
    pub description: &'a str,
    pub gold: &'a str,
    pub hits: &'a [Hit],
    pub offline: &'a Proposal,
}

#[derive(Serialize, Default)]
pub struct LlmReport {
    pub model: String,
    /// The prompt as `name@sha256-prefix`.
    pub prompt: String,
    /// Test rows sent to the model (`--llm-limit` of them, evenly spaced).
    pub asked: usize,
    pub ok: usize,
    pub repaired: usize,
    pub failed: usize,
    pub repaired_share: f64,
    pub failed_share: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub tokens_per_ticket: f64,
    pub latency_ms_mean: f64,
    /// The model's own group against the gold label, over the rows it answered validly.
    pub model_accuracy: Option<f64>,
    /// The offline proposal alone on the same rows.
    pub offline: Option<EvalReport>,
    /// Offline and model combined: what the service would show.
    pub combined: Option<EvalReport>,
    /// The most frequent failure reasons, with counts.
    pub failure_reasons: Vec<(String, usize)>,
}

pub fn triager(config: &Config) -> anyhow::Result<LlmTriager> {
    crate::llm::from_config(config)?.ok_or_else(|| {
        anyhow::anyhow!(
            "--llm needs a model: set [llm] provider = \"openai\", base_url and model in a file \
             given with --config (or TRIAGEGATE_LLM__PROVIDER and friends)"
        )
    })
}

/// Asks the model for each row, combines, and scores both ways at `threshold`.
pub async fn evaluate_with_model(
    llm: &LlmTriager,
    rows: &[LlmRow<'_>],
    catalogue: &[String],
    config: &Config,
    threshold: f32,
) -> LlmReport {
    let mut report = LlmReport {
        model: llm.model().to_string(),
        prompt: llm.prompt().short(),
        asked: rows.len(),
        ..LlmReport::default()
    };
    let mut combined: Vec<(String, f32)> = Vec::with_capacity(rows.len());
    let mut model_right = 0;
    let mut latency = 0u64;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (n, row) in rows.iter().enumerate() {
        let input = TriageInput {
            ticket_id: format!("row-{}", row.index),
            title: row.title.to_string(),
            description: row.description.to_string(),
            digest: String::new(),
            similar: row
                .hits
                .iter()
                .take(crate::triage::llm_input::SIMILAR_SHOWN)
                .map(|h| SimilarCase {
                    case_id: h.case_id.clone(),
                    title: h.title.clone(),
                    service_group: h.service_group.clone(),
                    priority: None,
                    resolution: None,
                    score: h.score,
                })
                .collect(),
            catalogue: catalogue.to_vec(),
            levels: Level::ALL.iter().map(|l| l.as_str().to_string()).collect(),
        };
        let record = llm.triage(&input).await;
        latency += record.latency_ms;
        report.prompt_tokens += u64::from(record.prompt_tokens.unwrap_or(0));
        report.completion_tokens += u64::from(record.completion_tokens.unwrap_or(0));
        match record.status {
            LlmStatus::Ok => report.ok += 1,
            LlmStatus::Repaired => report.repaired += 1,
            LlmStatus::Failed | LlmStatus::Skipped => {
                report.failed += 1;
                let reason = record.reason.clone().unwrap_or_default();
                *reasons.entry(reason_kind(&reason)).or_default() += 1;
            }
        }
        if let Some(answer) = record.valid_answer()
            && answer.service_group == row.gold
        {
            model_right += 1;
        }
        let offline = offline_field(row.offline, threshold);
        let mut fields = BTreeMap::new();
        fields.insert(Field::ServiceGroup, offline);
        let merged = combine(CombineInput {
            offline: fields,
            answer: record.valid_answer(),
            matrix: &config.triage.severity,
            catalogue,
            thresholds: [(Field::ServiceGroup, threshold)].into_iter().collect(),
        });
        let group = &merged[&Field::ServiceGroup];
        let label = group
            .value
            .clone()
            .or_else(|| group.evidence.candidate.clone())
            .unwrap_or_default();
        combined.push((label, group.confidence));
        if (n + 1) % 25 == 0 {
            eprintln!("asked the model for {} of {} rows", n + 1, rows.len());
        }
    }
    let asked = rows.len().max(1) as f64;
    report.repaired_share = report.repaired as f64 / asked;
    report.failed_share = report.failed as f64 / asked;
    report.tokens_per_ticket = (report.prompt_tokens + report.completion_tokens) as f64 / asked;
    report.latency_ms_mean = latency as f64 / asked;
    let valid = report.ok + report.repaired;
    report.model_accuracy = (valid > 0).then(|| f64::from(model_right) / valid as f64);
    let offline: Vec<Scored> = rows
        .iter()
        .map(|r| Scored {
            gold: r.gold,
            predicted: &r.offline.label,
            confidence: r.offline.confidence,
        })
        .collect();
    let merged: Vec<Scored> = rows
        .iter()
        .zip(&combined)
        .map(|(r, (label, confidence))| Scored {
            gold: r.gold,
            predicted: label,
            confidence: *confidence,
        })
        .collect();
    if !rows.is_empty() {
        report.offline = Some(evaluate(&offline, threshold));
        report.combined = Some(evaluate(&merged, threshold));
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    reasons.truncate(5);
    report.failure_reasons = reasons;
    report
}

/// The offline proposal as the service stores it: a value at or above the threshold, else a
/// candidate.
fn offline_field(proposal: &Proposal, threshold: f32) -> FieldProposal {
    FieldProposal {
        value: Some(proposal.label.clone()),
        confidence: proposal.confidence,
        abstained: false,
        source: Source::Retrieval,
        evidence: Evidence {
            explanation: String::new(),
            ..Evidence::default()
        },
    }
    .gated(threshold)
}

/// A failure reason without its particulars, so like failures count together.
fn reason_kind(reason: &str) -> String {
    let cut = reason
        .find(|c: char| c == '"' || c == '(' || c.is_ascii_digit())
        .unwrap_or(reason.len());
    reason[..cut].trim().to_string()
}

pub fn print(report: &LlmReport) {
    println!(
        "\nmodel {} (prompt {}): {} rows asked",
        report.model, report.prompt, report.asked
    );
    println!(
        "answers             {} ok, {} repaired ({:.1} %), {} failed ({:.1} %)",
        report.ok,
        report.repaired,
        report.repaired_share * 100.0,
        report.failed,
        report.failed_share * 100.0
    );
    println!(
        "tokens              {} prompt + {} completion, {:.0} per ticket; {:.0} ms per ticket",
        report.prompt_tokens,
        report.completion_tokens,
        report.tokens_per_ticket,
        report.latency_ms_mean
    );
    if let Some(accuracy) = report.model_accuracy {
        println!("model alone         accuracy {accuracy:.3} over its valid answers");
    }
    for (name, figures) in [("offline", &report.offline), ("combined", &report.combined)] {
        if let Some(m) = figures {
            println!(
                "{name:<19} accuracy {:.3}, macro-F1 {:.3}, coverage {:.3}, precision@coverage {}, ECE {:.3}",
                m.accuracy,
                m.macro_f1,
                m.coverage,
                m.precision_at_coverage
                    .map_or("-".to_string(), |p| format!("{p:.3}")),
                m.ece
            );
        }
    }
    for (reason, n) in &report.failure_reasons {
        println!("  failed {n}×: {reason}");
    }
}
