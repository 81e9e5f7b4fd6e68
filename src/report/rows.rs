//! Turns decided suggestions into the per-field rows the agreement figures and the CSV export
//! read: one row per field a person decided, beside what the machine had proposed for it.

use crate::domain::decision::{DecidedSuggestion, DecisionAction};
use crate::domain::suggestion::{Field, Source};

use super::agreement::{Action, AgreementRow};

/// One row per decided field, in the order the decisions came (newest first) and field order.
pub fn agreement_rows(decided: &[DecidedSuggestion]) -> Vec<AgreementRow> {
    let mut rows = Vec::new();
    for item in decided {
        let decision = &item.decision;
        for (field, verdict) in &decision.fields {
            let proposal = item.suggested.get(field);
            let approval = (*field == Field::Priority)
                .then_some(item.change_status)
                .flatten();
            rows.push(AgreementRow {
                suggestion_id: decision.suggestion_id.0,
                ticket_id: decision.ticket_id.0,
                tenant: item.tenant.clone(),
                field: field.as_str().to_string(),
                suggested: proposal.and_then(|p| p.value.clone()),
                candidate: proposal.and_then(|p| p.evidence.candidate.clone()),
                confidence: proposal.map_or(0.0, |p| p.confidence),
                abstained: proposal.is_none_or(|p| p.abstained),
                source: source_name(proposal.map_or(Source::None, |p| p.source)).to_string(),
                proposer: item.proposer.clone(),
                prompt_version: item.prompt_version.clone(),
                suggested_at: item.suggested_at,
                decision_id: decision.id.0,
                action: match verdict.action {
                    DecisionAction::Accept => Action::Accept,
                    DecisionAction::Override => Action::Override,
                },
                decided: Some(verdict.value.clone()),
                reason_code: verdict.reason_code.map(|c| c.as_str().to_string()),
                reason: verdict.reason.clone(),
                decided_by: decision.decided_by.clone(),
                decided_at: decision.created_at,
                approval_status: approval.map(|s| s.as_str().to_string()),
                approved_by: approval.and(item.change_decided_by.clone()),
                approved_at: approval.and(item.change_decided_at),
            });
        }
    }
    rows
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Retrieval => "retrieval",
        Source::Matrix => "matrix",
        Source::Rule => "rule",
        Source::Model => "model",
        Source::Agreement => "agreement",
        Source::None => "none",
    }
}
