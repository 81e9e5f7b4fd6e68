//! Merges the offline proposal with the model's validated answer. The model never sets a value
//! on its own and never one outside the tenant's catalogue or the matrix: agreement raises a
//! field's confidence, disagreement lowers it and is shown, a value only the model offers stays
//! a candidate for a person to confirm, and stop-the-line rules and the matrix's text rules keep
//! their values whatever the model says. Priority stays the matrix cell of the combined impact
//! and urgency, and abstains when either of them does. Pure: no I/O.

use std::collections::BTreeMap;

use crate::domain::llm::TriageAnswer;
use crate::domain::severity::{Level, SeverityMatrix};
use crate::domain::suggestion::{Field, FieldProposal, Source};

/// Share of the remaining doubt removed when the model agrees: 0.6 becomes 0.7, 0.9 becomes
/// 0.925. Kept small because the model saw the same similar cases, so it is not independent.
const AGREEMENT_GAIN: f32 = 0.25;
/// Factor on the confidence when the model disagrees.
const DISAGREEMENT_FACTOR: f32 = 0.8;
/// Confidence shown for a value only the model proposed. Nothing calibrates it, so the value is
/// always a candidate, whatever the threshold.
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
    for (field, model_value) in [
        (Field::ServiceGroup, group),
        (Field::Impact, impact.map(|l| l.as_str().to_string())),
        (Field::Urgency, urgency.map(|l| l.as_str().to_string())),
    ] {
        let current = offline
            .remove(&field)
            .unwrap_or_else(|| FieldProposal::nothing("Nothing proposed."));
        offline.insert(field, merge(current, model_value, threshold(field)));
    }
    let model_cell = impact
        .zip(urgency)
        .map(|(i, u)| matrix.priority(i, u).as_str().to_string());
    let priority = offline
        .remove(&Field::Priority)
        .unwrap_or_else(|| FieldProposal::nothing("Nothing proposed."));
    let priority = priority_cell(
        priority,
        offline.get(&Field::Impact),
        offline.get(&Field::Urgency),
        model_cell,
        matrix,
        threshold(Field::Priority),
    );
    offline.insert(Field::Priority, priority);
    offline
}

/// Priority after combining: a stop-the-line rule's value stands; otherwise the matrix cell of
/// the combined impact and urgency (their values, or their candidates), kept as a candidate when
/// either of them abstains. Its confidence is the offline one when the cell is unchanged, moved
/// by the model's own cell agreeing or not; a changed cell takes the product of its inputs'.
fn priority_cell(
    mut priority: FieldProposal,
    impact: Option<&FieldProposal>,
    urgency: Option<&FieldProposal>,
    model_cell: Option<String>,
    matrix: &SeverityMatrix,
    threshold: f32,
) -> FieldProposal {
    if priority.source == Source::Rule {
        return merge(priority, model_cell, threshold);
    }
    let level = |p: Option<&FieldProposal>| {
        p.and_then(|p| p.value.as_deref().or(p.evidence.candidate.as_deref()))
            .and_then(|v| Level::parse(v).ok())
    };
    let (Some(i), Some(u)) = (level(impact), level(urgency)) else {
        priority.evidence.model = model_cell;
        return priority;
    };
    let cell = matrix.priority(i, u).as_str().to_string();
    let ours = priority
        .value
        .clone()
        .or_else(|| priority.evidence.candidate.clone());
    if ours.is_none() {
        priority.source = Source::Matrix;
    }
    if ours.as_deref() != Some(cell.as_str()) {
        let confidence = |p: Option<&FieldProposal>| p.map_or(0.0, |p| p.confidence);
        priority.confidence = confidence(impact) * confidence(urgency);
        priority.evidence.explanation = format!(
            "Severity matrix: impact {} × urgency {} = {cell}, after combining with the model.",
            i.as_str(),
            u.as_str()
        );
    }
    match &model_cell {
        Some(m) if *m == cell => {
            priority.confidence += (1.0 - priority.confidence) * AGREEMENT_GAIN;
            priority
                .evidence
                .explanation
                .push_str(" The model's impact and urgency give the same cell.");
        }
        Some(m) => {
            priority.confidence *= DISAGREEMENT_FACTOR;
            priority.evidence.explanation.push_str(&format!(
                " The model's impact and urgency give {m}; confidence lowered."
            ));
        }
        None => {}
    }
    priority.evidence.model = model_cell;
    let inputs_set = [impact, urgency]
        .iter()
        .all(|p| p.is_some_and(|p| !p.abstained && p.value.is_some()));
    let mut priority = regate(priority, cell.clone(), threshold);
    if !inputs_set && !priority.abstained {
        // A cell of guessed inputs is a guess too, whatever its confidence.
        priority.value = None;
        priority.evidence.candidate = Some(cell);
        priority.abstained = true;
    }
    priority
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
            field.value = None;
            field.evidence.candidate = Some(model);
            field.abstained = true;
            field
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
        ] {
            let p = &out[&field];
            assert_eq!(p.value, None, "{field:?}");
            assert!(p.abstained);
            assert_eq!(p.evidence.candidate.as_deref(), Some(value), "{field:?}");
            assert_eq!(p.source, Source::Model);
            assert_eq!(p.confidence, MODEL_ONLY_CONFIDENCE);
        }
        let priority = &out[&Field::Priority];
        assert_eq!(priority.value, None);
        assert!(priority.abstained, "a cell of candidates is a candidate");
        assert_eq!(priority.evidence.candidate.as_deref(), Some("P2"));
        assert_eq!(priority.source, Source::Matrix);
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
    fn a_model_only_value_stays_a_candidate_even_under_a_low_threshold() {
        let matrix = matrix();
        let catalogue = vec!["Email".to_string()];
        let a = answer("Email", "high", "high");
        let out = combine(CombineInput {
            offline: BTreeMap::new(),
            answer: Some(&a),
            matrix: &matrix,
            catalogue: &catalogue,
            thresholds: Field::ALL.iter().map(|f| (*f, 0.3)).collect(),
        });
        for field in Field::ALL {
            assert_eq!(out[&field].value, None, "{field:?}");
            assert!(out[&field].abstained);
        }
    }

    #[test]
    fn priority_follows_the_combined_impact_and_urgency() {
        // Offline: impact high 0.8, urgency high 0.8, priority P1 0.9 (all set at 0.6).
        let mut offline = BTreeMap::new();
        offline.insert(Field::Impact, proposal(Some("high"), None, 0.8));
        offline.insert(Field::Urgency, proposal(Some("high"), None, 0.8));
        let mut p1 = proposal(Some("P1"), None, 0.9);
        p1.source = Source::Matrix;
        offline.insert(Field::Priority, p1);
        let matrix = matrix();
        let catalogue = vec!["Network".to_string()];
        let run_with = |a: &TriageAnswer| {
            combine(CombineInput {
                offline: offline.clone(),
                answer: Some(a),
                matrix: &matrix,
                catalogue: &catalogue,
                thresholds: Field::ALL.iter().map(|f| (*f, 0.7)).collect(),
            })
        };
        // The model disagrees on impact: impact drops to 0.64 and abstains, so the priority
        // cell becomes a guess and abstains too, though its own confidence stays above 0.6.
        let out = run_with(&answer("Network", "medium", "high"));
        assert!(out[&Field::Impact].abstained);
        let priority = &out[&Field::Priority];
        assert_eq!(priority.value, None);
        assert_eq!(priority.evidence.candidate.as_deref(), Some("P1"));
        assert_eq!(priority.evidence.model.as_deref(), Some("P2"));
        assert_eq!(priority.source, Source::Matrix);
        // The model agrees: everything stays set and priority's confidence rises.
        let out = run_with(&answer("Network", "high", "high"));
        let priority = &out[&Field::Priority];
        assert_eq!(priority.value.as_deref(), Some("P1"));
        assert!(priority.confidence > 0.9);
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
