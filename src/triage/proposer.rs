//! The offline proposer: from a ticket's text, its similar past cases, the tenant's calibrated
//! models and the severity matrix, a proposal per field with confidence, source and evidence.
//! Stop-the-line rules win over everything; priority is always matrix(impact, urgency); a field
//! whose confidence is below its threshold abstains. Pure: no I/O, no clock.

use std::collections::BTreeMap;

use super::calibration::Neighbour;
use super::models::TenantModels;
use crate::config::Thresholds;
use crate::domain::severity::{Level, RuleMatch, SeverityMatrix};
use crate::domain::suggestion::{Evidence, Field, FieldProposal, NeighbourEvidence, Source};
use crate::domain::ticket::Priority;
use crate::search::Hit;

/// Neighbours shown as evidence per field.
const EVIDENCE_NEIGHBOURS: usize = 5;

pub struct ProposalInput<'a> {
    /// Title and description: what the models read.
    pub text: &'a str,
    /// The text plus the logs' templates: what the rules read.
    pub rule_text: &'a str,
    pub neighbours: &'a [Hit],
    pub models: &'a TenantModels,
    pub matrix: &'a SeverityMatrix,
    pub thresholds: &'a Thresholds,
    pub min_history: usize,
}

pub fn propose(input: &ProposalInput) -> BTreeMap<Field, FieldProposal> {
    let mut fields = BTreeMap::new();
    if let Some((rule, hit)) = input.matrix.stop_the_line(input.rule_text) {
        let forced = |value: &str, what: &str| FieldProposal {
            value: Some(value.to_string()),
            confidence: 1.0,
            abstained: false,
            source: Source::Rule,
            evidence: Evidence {
                rule: Some(hit.clone()),
                explanation: format!(
                    "Stop-the-line rule {:?} matched {:?}: {} ({what}).",
                    hit.rule, hit.matched, hit.reason
                ),
                ..Evidence::default()
            },
        };
        fields.insert(Field::Impact, forced(Level::High.as_str(), "impact high"));
        fields.insert(Field::Urgency, forced(Level::High.as_str(), "urgency high"));
        fields.insert(Field::Priority, forced(Priority::P1.as_str(), "forces P1"));
        let group = match &rule.service_group {
            Some(group) => forced(group, "its service group"),
            None => learnt(input, Field::ServiceGroup),
        };
        fields.insert(Field::ServiceGroup, group);
        return fields;
    }
    fields.insert(Field::ServiceGroup, learnt(input, Field::ServiceGroup));
    let impact = with_rule(
        input,
        Field::Impact,
        input.matrix.impact_from_rules(input.rule_text),
    );
    let urgency = with_rule(
        input,
        Field::Urgency,
        input.matrix.urgency_from_rules(input.rule_text),
    );
    let priority = from_matrix(input, &impact, &urgency);
    fields.insert(Field::Impact, impact);
    fields.insert(Field::Urgency, urgency);
    fields.insert(Field::Priority, priority);
    fields
}

/// A neighbour's value of a field; impact and urgency come from its priority's typical pair.
fn neighbour_value(hit: &Hit, field: Field, matrix: &SeverityMatrix) -> Option<String> {
    let level = || {
        hit.priority
            .as_deref()
            .and_then(|p| Priority::parse(p).ok())
            .and_then(|p| matrix.level(p))
    };
    match field {
        Field::ServiceGroup => hit.service_group.clone(),
        Field::Priority => hit.priority.clone(),
        Field::Impact => level().map(|l| l.typical_impact.as_str().to_string()),
        Field::Urgency => level().map(|l| l.typical_urgency.as_str().to_string()),
    }
}

fn neighbour_evidence(input: &ProposalInput, field: Field) -> Vec<NeighbourEvidence> {
    input
        .neighbours
        .iter()
        .take(EVIDENCE_NEIGHBOURS)
        .map(|hit| NeighbourEvidence {
            case_id: hit.case_id.clone(),
            external_id: hit.external_id.clone(),
            title: hit.title.clone(),
            score: hit.score,
            value: neighbour_value(hit, field, input.matrix),
            matched_terms: hit.matched_terms.clone(),
        })
        .collect()
}

fn matched_terms(input: &ProposalInput) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for hit in input.neighbours.iter().take(EVIDENCE_NEIGHBOURS) {
        for term in &hit.matched_terms {
            if !terms.contains(term) {
                terms.push(term.clone());
            }
        }
    }
    terms.truncate(12);
    terms
}

/// The tenant's calibrated model for the field, with the neighbours as its evidence.
fn learnt(input: &ProposalInput, field: Field) -> FieldProposal {
    let Some(trained) = input.models.get(field) else {
        return FieldProposal::nothing(format!(
            "Not enough history: a {} is learnt from at least {} past cases with two or more \
             values, and this tenant has {} past cases.",
            field.as_str(),
            input.min_history,
            input.models.cases
        ));
    };
    let neighbours: Vec<Neighbour> = input
        .neighbours
        .iter()
        .filter_map(|hit| {
            neighbour_value(hit, field, input.matrix).map(|label| Neighbour {
                label,
                score: hit.score,
            })
        })
        .collect();
    let proposal = trained.model.propose(input.text, &neighbours);
    let agreeing = neighbours
        .iter()
        .take(EVIDENCE_NEIGHBOURS)
        .filter(|n| n.label == proposal.label)
        .count();
    let shown = neighbours.len().min(EVIDENCE_NEIGHBOURS);
    let threshold = trained
        .threshold
        .unwrap_or_else(|| input.thresholds.get(field));
    // A history of n cases cannot show certainty: cap at Laplace's (n + 1) / (n + 2), so a small
    // tenant whose every past case was right reads 0.99, not 1.00.
    let n = trained.examples as f32;
    let confidence = proposal.confidence.min((n + 1.0) / (n + 2.0));
    FieldProposal {
        value: Some(proposal.label.clone()),
        confidence,
        abstained: false,
        source: Source::Retrieval,
        evidence: Evidence {
            neighbours: neighbour_evidence(input, field),
            matched_terms: matched_terms(input),
            rule: None,
            candidate: None,
            alternatives: proposal.alternatives.clone(),
            model: None,
            explanation: format!(
                "Learnt from {} past cases of this tenant; {agreeing} of the {shown} most similar \
                 cases have {:?}. Confidence is calibrated on this tenant's history.",
                trained.examples, proposal.label
            ),
        },
    }
    .gated(threshold)
}

/// Impact or urgency: a matching rule of the matrix is the MSP's own policy and wins; the
/// learnt value stays as the evidence it overruled or confirmed.
fn with_rule(
    input: &ProposalInput,
    field: Field,
    rule: Option<(Level, RuleMatch)>,
) -> FieldProposal {
    let model = learnt(input, field);
    let Some((level, hit)) = rule else {
        return model;
    };
    let value = level.as_str().to_string();
    let learnt_value = model
        .value
        .clone()
        .or_else(|| model.evidence.candidate.clone());
    let agrees = learnt_value.as_deref() == Some(value.as_str());
    let explanation = match (&learnt_value, agrees) {
        (Some(_), true) => format!(
            "Rule {:?} matched {:?} ({}), and the past cases agree.",
            hit.rule, hit.matched, hit.reason
        ),
        (Some(other), false) => format!(
            "Rule {:?} matched {:?} ({}); the past cases suggested {other}.",
            hit.rule, hit.matched, hit.reason
        ),
        (None, _) => format!(
            "Rule {:?} matched {:?} ({}).",
            hit.rule, hit.matched, hit.reason
        ),
    };
    FieldProposal {
        value: Some(value),
        // A rule is policy, not an estimate; when the history agrees, its calibrated confidence
        // is kept if higher, and a disagreement is shown rather than averaged away.
        confidence: if agrees {
            model.confidence.max(RULE_CONFIDENCE)
        } else {
            RULE_CONFIDENCE
        },
        abstained: false,
        source: Source::Rule,
        evidence: Evidence {
            rule: Some(hit),
            explanation,
            ..model.evidence
        },
    }
    .gated(field_threshold(input, field))
}

/// The tenant's own threshold for the field when its history could tell, else the configured one.
fn field_threshold(input: &ProposalInput, field: Field) -> f32 {
    threshold_for(input.models, input.thresholds, field)
}

/// The threshold a field's confidence must reach: the tenant's own, else the configured one.
pub fn threshold_for(models: &TenantModels, thresholds: &Thresholds, field: Field) -> f32 {
    models
        .get(field)
        .and_then(|m| m.threshold)
        .unwrap_or_else(|| thresholds.get(field))
}

/// The confidence given to a value set by an impact or urgency rule of the matrix file.
const RULE_CONFIDENCE: f32 = 0.9;

/// Priority is the matrix cell of the proposed impact and urgency. Its confidence is the
/// calibrated probability of the tenant's priority model when that model picks the same
/// priority, else the product of the two inputs' confidences (a conservative bound).
fn from_matrix(
    input: &ProposalInput,
    impact: &FieldProposal,
    urgency: &FieldProposal,
) -> FieldProposal {
    let level = |p: &FieldProposal| {
        p.value
            .as_deref()
            .or(p.evidence.candidate.as_deref())
            .and_then(|v| Level::parse(v).ok())
    };
    let (Some(i), Some(u)) = (level(impact), level(urgency)) else {
        return FieldProposal::nothing(
            "No priority: impact and urgency could not both be estimated.",
        );
    };
    let priority = input.matrix.priority(i, u);
    let value = priority.as_str().to_string();
    let history = learnt(input, Field::Priority);
    let history_value = history
        .value
        .clone()
        .or_else(|| history.evidence.candidate.clone());
    let confidence = if history_value.as_deref() == Some(value.as_str()) {
        history.confidence
    } else {
        impact.confidence * urgency.confidence
    };
    let mut explanation = format!(
        "Severity matrix: impact {} × urgency {} = {}.",
        i.as_str(),
        u.as_str(),
        value
    );
    match history_value {
        Some(other) if other != value => explanation.push_str(&format!(
            " The priority model on past cases suggested {other}."
        )),
        Some(_) => explanation.push_str(" The priority model on past cases agrees."),
        None => {}
    }
    let both_set = !impact.abstained && !urgency.abstained;
    let proposal = FieldProposal {
        value: Some(value),
        confidence,
        abstained: false,
        source: Source::Matrix,
        evidence: Evidence {
            neighbours: neighbour_evidence(input, Field::Priority),
            matched_terms: matched_terms(input),
            rule: impact
                .evidence
                .rule
                .clone()
                .or_else(|| urgency.evidence.rule.clone()),
            candidate: None,
            alternatives: history.evidence.alternatives,
            model: None,
            explanation,
        },
    };
    if both_set {
        return proposal.gated(field_threshold(input, Field::Priority));
    }
    // An abstained input makes the cell a guess, whatever the confidence says.
    let mut guess = proposal;
    guess.evidence.candidate = guess.value.take();
    guess.abstained = true;
    guess
        .evidence
        .explanation
        .push_str(" Impact or urgency abstained, so this is no suggestion.");
    guess
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> SeverityMatrix {
        let raw = figment::Figment::new()
            .merge(
                <figment::providers::Toml as figment::providers::Format>::string(include_str!(
                    "../../config/severity.toml"
                )),
            )
            .extract()
            .expect("shipped severity.toml parses");
        SeverityMatrix::from_raw(raw).expect("valid")
    }

    const THRESHOLDS: Thresholds = Thresholds {
        service_group: 0.8,
        impact: 0.7,
        urgency: 0.7,
        priority: 0.6,
    };

    fn run(text: &str) -> BTreeMap<Field, FieldProposal> {
        let matrix = matrix();
        let models = TenantModels::empty();
        propose(&ProposalInput {
            text,
            rule_text: text,
            neighbours: &[],
            models: &models,
            matrix: &matrix,
            thresholds: &THRESHOLDS,
            min_history: 20,
        })
    }

    #[test]
    fn rules_set_impact_and_urgency_and_the_matrix_sets_priority() {
        let fields = run("All users in Leeds cannot work: the ERP is down");
        assert_eq!(fields[&Field::Impact].value.as_deref(), Some("high"));
        assert_eq!(fields[&Field::Impact].source, Source::Rule);
        assert_eq!(fields[&Field::Urgency].value.as_deref(), Some("high"));
        let priority = &fields[&Field::Priority];
        assert_eq!(priority.value.as_deref(), Some("P1"));
        assert_eq!(priority.source, Source::Matrix);
        assert!(
            priority
                .evidence
                .explanation
                .contains("impact high × urgency high")
        );
        // Without history there is no group to learn.
        assert!(fields[&Field::ServiceGroup].abstained);
    }

    #[test]
    fn a_request_for_one_user_is_low_and_p4() {
        let fields = run("Request: please create a new account for a new starter");
        assert_eq!(fields[&Field::Impact].value.as_deref(), Some("low"));
        assert_eq!(fields[&Field::Urgency].value.as_deref(), Some("low"));
        assert_eq!(fields[&Field::Priority].value.as_deref(), Some("P4"));
    }

    #[test]
    fn stop_the_line_wins_over_everything() {
        let fields = run("Request: one user sees a ransom note and files were encrypted");
        for field in Field::ALL {
            let proposal = &fields[&field];
            assert_eq!(proposal.source, Source::Rule, "{field:?}");
            assert_eq!(proposal.confidence, 1.0);
            assert_eq!(
                proposal.evidence.rule.as_ref().map(|r| r.rule.as_str()),
                Some("ransomware")
            );
        }
        assert_eq!(fields[&Field::Priority].value.as_deref(), Some("P1"));
    }

    #[test]
    fn without_rules_or_history_every_field_abstains() {
        let fields = run("Mouse pointer jumps");
        for field in Field::ALL {
            assert!(fields[&field].abstained, "{field:?}");
            assert_eq!(fields[&field].value, None);
        }
    }
}
