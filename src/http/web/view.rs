//! Small display types the pages share: choices of a select, the SLA clock, a field's proposal,
//! times. Strings are prepared here so templates stay free of logic.

use chrono::{DateTime, Utc};

use crate::app::AppState;
use crate::domain::decision::PriorityChange;
use crate::domain::sla::SlaClock;
use crate::domain::suggestion::{Field, FieldProposal, Source};
use crate::domain::tenant::Tenant;
use crate::domain::ticket::NextStep;
use crate::domain::user::User;

pub use super::layout::Nav;

/// One option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(value: &str, label: &str, current: &str) -> Self {
        Self {
            value: value.to_string(),
            label: label.to_string(),
            selected: value == current,
        }
    }
}

pub struct SlaView {
    pub text: String,
    /// `ok`, `soon` or `breached`: the CSS class.
    pub state: &'static str,
    pub due: String,
    pub due_at: DateTime<Utc>,
    pub proposed: bool,
}

impl From<SlaClock> for SlaView {
    fn from(clock: SlaClock) -> Self {
        Self {
            text: clock.describe(),
            state: clock.state.as_str(),
            due: when(clock.due),
            due_at: clock.due,
            proposed: clock.proposed,
        }
    }
}

/// A field's proposal as shown: value or "no suggestion", confidence, source, evidence.
pub struct Proposal {
    pub field: &'static str,
    pub label: &'static str,
    pub value: Option<String>,
    pub candidate: Option<String>,
    pub confidence: f32,
    pub confidence_text: String,
    pub source: &'static str,
    pub explanation: String,
    pub rule: Option<String>,
    pub neighbours: Vec<NeighbourLine>,
    pub alternatives: Vec<(String, String)>,
    /// What the model proposed for this field, when it answered validly.
    pub model: Option<String>,
}

pub struct NeighbourLine {
    pub case_id: String,
    pub label: String,
    pub title: String,
    pub score: String,
    pub value: String,
}

impl Proposal {
    pub fn new(field: Field, proposal: &FieldProposal) -> Self {
        let evidence = &proposal.evidence;
        Self {
            field: field.as_str(),
            label: field_label(field),
            value: proposal.value.clone().filter(|_| !proposal.abstained),
            candidate: evidence.candidate.clone(),
            confidence: proposal.confidence.clamp(0.0, 1.0),
            confidence_text: format!("{:.0} %", proposal.confidence.clamp(0.0, 1.0) * 100.0),
            source: source_label(proposal.source),
            explanation: evidence.explanation.clone(),
            model: evidence.model.clone(),
            rule: evidence.rule.as_ref().map(|r| {
                format!(
                    "{}: {} (matched \u{201c}{}\u{201d})",
                    r.rule, r.reason, r.matched
                )
            }),
            neighbours: evidence
                .neighbours
                .iter()
                .map(|n| NeighbourLine {
                    case_id: n.case_id.clone(),
                    label: n
                        .external_id
                        .clone()
                        .unwrap_or_else(|| short_id(&n.case_id)),
                    title: n.title.clone(),
                    score: format!("{:.2}", n.score),
                    value: n.value.clone().unwrap_or_else(|| "—".into()),
                })
                .collect(),
            alternatives: evidence
                .alternatives
                .iter()
                .map(|(value, p)| (value.clone(), format!("{:.0} %", p * 100.0)))
                .collect(),
        }
    }
}

pub fn field_label(field: Field) -> &'static str {
    match field {
        Field::ServiceGroup => "Service group",
        Field::Impact => "Impact",
        Field::Urgency => "Urgency",
        Field::Priority => "Priority",
    }
}

fn source_label(source: Source) -> &'static str {
    match source {
        Source::Retrieval => "similar cases",
        Source::Matrix => "severity matrix",
        Source::Rule => "rule",
        Source::Model => "model",
        Source::Agreement => "similar cases and model",
        Source::None => "none",
    }
}

/// A time as people read it in the queue and on the ticket page.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "Call the site — ann by 2026-12-01 17:00 UTC".
pub fn next_step(step: &NextStep) -> String {
    format!(
        "{} — {} by {}",
        step.text,
        step.owner.as_deref().unwrap_or("?"),
        step.due.map(when).unwrap_or_default()
    )
}

/// Who decided a priority change, when, and why; empty while it waits.
pub fn verdict(change: &PriorityChange) -> String {
    match (&change.decided_by, change.decided_at) {
        (Some(by), Some(at)) => format!(
            "{by}, {}{}",
            when(at),
            change
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    }
}

/// The first block of a UUID: enough to tell cases apart on a page.
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// The tenants a user may see, by slug.
pub async fn visible_tenants(
    state: &AppState,
    user: &User,
) -> Result<Vec<Tenant>, crate::store::Error> {
    let all = state.store.tenants().await?;
    Ok(all.into_iter().filter(|t| user.sees_tenant(t.id)).collect())
}
