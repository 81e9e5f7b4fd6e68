//! Merges the offline proposal with the model's validated answer. The model never sets a value
//! on its own above a threshold and never one outside the tenant's catalogue or the matrix:
//! agreement raises a field's confidence, disagreement lowers it and is shown, a value only the
//! model offers gets a modest, uncalibrated confidence (so it usually stays a candidate), and
//! stop-the-line rules and the matrix's text rules keep their values whatever the model says.
//! Pure: no I/O.

use std::collections::BTreeMap;

use crate::domain::llm::TriageAnswer;
use crate::domain::severity::{Level, SeverityMatrix};
use crate::domain::suggestion::{Field, FieldProposal, Source};

/// Share of the remaining doubt removed when the model agrees: 0.6 becomes 0.7, 0.9 becomes
/// 0.925. Kept small because the model saw the same similar cases, so it is not independent.
const AGREEMENT_GAIN: f32 = 0.25;
/// Factor on the confidence when the model disagrees.
const DISAGREEMENT_FACTOR: f32 = 0.8;
/// Confidence of a value only the model proposed: nothing calibrates it, so it stays below
/// every usual threshold and shows as a candidate for a person to confirm.
const MODEL_ONLY_CONFIDENCE: f32 = 0.5;

pub struct CombineInput<'a> {
    pub offline: BTreeMap<Field, FieldProposal>,
    pub answer: Option<&'a TriageAnswer>,
    pub matrix: &'a SeverityMatrix,
    /// The service groups the tenant's history knows: the only groups a field may carry.
    pub catalogue: &'a [String],
    /// The threshold each field's confidence must reach.
    pub thresholds: BTreeMap<Field, f32>,
}

pub fn combine(input: CombineInput) -> BTreeMap<Field, FieldProposal> {
    let CombineInput {
        mut offline,
        answer,
        matrix,
        catalogue,
        thresholds,
    } = input;
    let Some(answer) = answer else {
        return offline;
    };
    let threshold = |field: Field| thresholds.get(&field).copied().unwrap_or(1.0);
    let group = allowed_group(&answer.service_group, catalogue);
    let impact = Level::parse(&answer.impact).ok();
    let urgency = Level::parse(&answer.urgency).ok();
    let model_priority = impact
        .zip(urgency)
        .map(|(i, u)| matrix.priority(i, u).as_str().to_string());
    let model_values = [
        (Field::ServiceGroup, group),
        (Field::Impact, impact.map(|l| l.as_str().to_string())),
        (Field::Urgency, urgency.map(|l| l.as_str().to_string())),
        (Field::Priority, model_priority),
    ];
    for (field, model_value) in model_values {
        let current = offline
            .remove(&field)
            .unwrap_or_else(|| FieldProposal::nothing("Nothing proposed."));
        let merged = merge(current, model_value, threshold(field));
        offline.insert(field, merged);
    }
    offline
}

/// The catalogue's spelling of the model's group, if it is one; "unknown" and anything else
/// outside the catalogue count as no opinion.
fn allowed_group(value: &str, catalogue: &[String]) -> Option<String> {
    let value = value.trim();
    catalogue
        .iter()
        .find(|g| g.as_str() == value)
        .or_else(|| catalogue.iter().find(|g| g.eq_ignore_ascii_case(value)))
        .cloned()
}

fn merge(mut field: FieldProposal, model: Option<String>, threshold: f32) -> FieldProposal {
    let Some(model) = model else {
        return field;
    };
    field.evidence.model = Some(model.clone());
    let ours = field
        .value
        .clone()
        .or_else(|| field.evidence.candidate.clone());
    match (field.source, ours) {
        // Policy wins: a rule's value stands; the model's view is only shown beside it.
        (Source::Rule, Some(ours)) => {
            let note = if ours == model {
                " The model agrees."
            } else {
                " The model proposed another value; the rule stands."
            };
            field.evidence.explanation.push_str(note);
            field
        }
        (_, Some(ours)) if ours == model => {
            field.confidence += (1.0 - field.confidence) * AGREEMENT_GAIN;
            field.source = Source::Agreement;
            field
                .evidence
                .explanation
                .push_str(" The model proposed the same value; confidence raised.");
            regate(field, ours, threshold)
        }
        (_, Some(ours)) => {
            field.confidence *= DISAGREEMENT_FACTOR;
            field.evidence.explanation.push_str(&format!(
                " The model proposed {model:?} instead; confidence lowered."
            ));
            regate(field, ours, threshold)
        }
        (_, None) => {
            field.confidence = MODEL_ONLY_CONFIDENCE;
            field.source = Source::Model;
            field.evidence.explanation.push_str(&format!(
                " Only the model proposed {model:?}; its confidence is not calibrated, so a \
                 person must confirm it."
            ));
            regate(field, model, threshold)
        }
    }
}

/// Sets the value (or the candidate, when below the threshold) after a confidence change.
fn regate(mut field: FieldProposal, value: String, threshold: f32) -> FieldProposal {
    field.confidence = field.confidence.clamp(0.0, 1.0);
    if field.confidence >= threshold {
        field.value = Some(value);
        field.evidence.candidate = None;
        field.abstained = false;
    } else {
        field.value = None;
        field.evidence.candidate = Some(value);
        field.abstained = true;
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::suggestion::Evidence;

    fn matrix() -> SeverityMatrix {
        crate::config::Config::load_with_env(None, Vec::<(String, String)>::new())
            .expect("defaults")
            .triage
            .severity
            .as_ref()
            .clone()
    }

    fn proposal(value: Option<&str>, candidate: Option<&str>, confidence: f32) -> FieldProposal {
        FieldProposal {
            value: value.map(str::to_string),
            confidence,
            abstained: value.is_none(),
            source: Source::Retrieval,
            evidence: Evidence {
                candidate: candidate.map(str::to_string),
                explanation: "Learnt.".into(),
                ..Evidence::default()
            },
        }
    }

    fn answer(group: &str, impact: &str, urgency: &str) -> TriageAnswer {
        TriageAnswer {
            summary: "s".into(),
            citations: vec![],
            service_group: group.into(),
            impact: impact.into(),
            urgency: urgency.into(),
            rationale: "r".into(),
        }
    }

    fn run(
        offline: BTreeMap<Field, FieldProposal>,
        answer: Option<&TriageAnswer>,
    ) -> BTreeMap<Field, FieldProposal> {
        let matrix = matrix();
        let catalogue = vec!["Network".to_string(), "Email".to_string()];
        combine(CombineInput {
            offline,
            answer,
            matrix: &matrix,
            catalogue: &catalogue,
            thresholds: Field::ALL.iter().map(|f| (*f, 0.8)).collect(),
        })
    }

    #[test]
    fn without_an_answer_the_offline_proposal_stands() {
        let mut offline = BTreeMap::new();
        offline.insert(Field::ServiceGroup, proposal(Some("Network"), None, 0.9));
        assert_eq!(run(offline.clone(), None), offline);
    }

    #[test]
    fn agreement_raises_confidence_and_can_lift_an_abstention() {
        let mut offline = BTreeMap::new();
        offline.insert(Field::ServiceGroup, proposal(None, Some("Network"), 0.75));
        let a = answer("network", "low", "low");
        let out = run(offline, Some(&a));
        let group = &out[&Field::ServiceGroup];
        assert_eq!(
            group.value.as_deref(),
            Some("Network"),
            "catalogue spelling"
        );
        assert!((group.confidence - 0.8125).abs() < 1e-6);
        assert!(!group.abstained);
        assert_eq!(group.source, Source::Agreement);
        assert_eq!(group.evidence.model.as_deref(), Some("Network"));
    }

    #[test]
    fn disagreement_lowers_confidence_and_is_shown() {
        let mut offline = BTreeMap::new();
        offline.insert(Field::ServiceGroup, proposal(Some("Network"), None, 0.9));
        let a = answer("Email", "low", "low");
        let out = run(offline, Some(&a));
        let group = &out[&Field::ServiceGroup];
        assert_eq!(group.value, None, "0.72 is below 0.8");
        assert_eq!(group.evidence.candidate.as_deref(), Some("Network"));
        assert!(group.abstained);
        assert_eq!(group.evidence.model.as_deref(), Some("Email"));
        assert!(group.evidence.explanation.contains("\"Email\" instead"));
    }

    #[test]
    fn a_group_outside_the_catalogue_is_no_opinion() {
        let mut offline = BTreeMap::new();
        offline.insert(Field::ServiceGroup, proposal(Some("Network"), None, 0.9));
        for bad in ["X", "unknown", "Network; drop table", ""] {
            let a = answer(bad, "high", "high");
            let out = run(offline.clone(), Some(&a));
            let group = &out[&Field::ServiceGroup];
            assert_eq!(group.value.as_deref(), Some("Network"), "{bad}");
            assert_eq!(group.confidence, 0.9, "{bad}");
            assert_eq!(group.evidence.model, None, "{bad}");
        }
    }

    #[test]
    fn a_value_only_the_model_offers_stays_a_candidate() {
        let a = answer("Email", "high", "medium");
        let out = run(BTreeMap::new(), Some(&a));
        for (field, value) in [
            (Field::ServiceGroup, "Email"),
            (Field::Impact, "high"),
            (Field::Urgency, "medium"),
            (Field::Priority, "P2"),
        ] {
            let p = &out[&field];
            assert_eq!(p.value, None, "{field:?}");
            assert!(p.abstained);
            assert_eq!(p.evidence.candidate.as_deref(), Some(value), "{field:?}");
            assert_eq!(p.source, Source::Model);
            assert_eq!(p.confidence, MODEL_ONLY_CONFIDENCE);
        }
    }

    #[test]
    fn rules_keep_their_values_whatever_the_model_says() {
        let mut forced = proposal(Some("P1"), None, 1.0);
        forced.source = Source::Rule;
        forced.abstained = false;
        let mut offline = BTreeMap::new();
        offline.insert(Field::Priority, forced);
        let a = answer("Email", "low", "low");
        let out = run(offline, Some(&a));
        let priority = &out[&Field::Priority];
        assert_eq!(priority.value.as_deref(), Some("P1"));
        assert_eq!(priority.confidence, 1.0);
        assert_eq!(priority.source, Source::Rule);
        assert_eq!(priority.evidence.model.as_deref(), Some("P4"));
        assert!(priority.evidence.explanation.contains("the rule stands"));
    }

    #[test]
    fn levels_outside_the_matrix_are_ignored() {
        let mut offline = BTreeMap::new();
        offline.insert(Field::Impact, proposal(Some("low"), None, 0.9));
        let a = answer("Network", "catastrophic", "P0");
        let out = run(offline, Some(&a));
        assert_eq!(out[&Field::Impact].value.as_deref(), Some("low"));
        assert_eq!(out[&Field::Impact].confidence, 0.9);
        assert_eq!(out[&Field::Priority].value, None);
    }
}
