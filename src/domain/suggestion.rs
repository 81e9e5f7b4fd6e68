//! Suggestions: the machine's proposal for a ticket, field by field, with its confidence and
//! evidence. A suggestion never changes the ticket; people decide, and later decisions are
//! stored beside it. Suggestions are never edited: a new triage adds a new one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::severity::RuleMatch;
use super::tenant::TenantId;
use super::ticket::TicketId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SuggestionId(pub Uuid);

impl std::fmt::Display for SuggestionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuggestionStatus {
    Pending,
    Done,
    Failed,
}

impl SuggestionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// The fields a suggestion proposes, in the order people read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    ServiceGroup,
    Impact,
    Urgency,
    Priority,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::ServiceGroup,
        Field::Impact,
        Field::Urgency,
        Field::Priority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::ServiceGroup => "service_group",
            Field::Impact => "impact",
            Field::Urgency => "urgency",
            Field::Priority => "priority",
        }
    }
}

/// Where a field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Learnt from the tenant's past cases: a text model and the nearest neighbours.
    Retrieval,
    /// The severity matrix applied to the proposed impact and urgency.
    Matrix,
    /// A rule of the severity matrix that matched the ticket's text.
    Rule,
    /// The model, validated against the catalogue or the matrix; never alone above a threshold.
    Model,
    /// Retrieval (or the matrix) and the model proposed the same value.
    Agreement,
    /// Nothing could propose a value.
    None,
}

/// A past case that supports (or contradicts) a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NeighbourEvidence {
    pub case_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub title: String,
    pub score: f32,
    /// The neighbour's value of this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_terms: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<NeighbourEvidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_terms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleMatch>,
    /// The best candidate when the field abstained, so people see what was considered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Other values with their calibrated probability of being right.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<(String, f32)>,
    /// What the model proposed for this field, when it was asked and answered validly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the value is what it is, in a sentence.
    pub explanation: String,
}

/// One field of a suggestion. `value` is `None` when the proposer abstained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldProposal {
    pub value: Option<String>,
    pub confidence: f32,
    pub abstained: bool,
    pub source: Source,
    pub evidence: Evidence,
}

impl FieldProposal {
    /// A field nothing could propose.
    pub fn nothing(explanation: impl Into<String>) -> Self {
        Self {
            value: None,
            confidence: 0.0,
            abstained: true,
            source: Source::None,
            evidence: Evidence {
                explanation: explanation.into(),
                ..Evidence::default()
            },
        }
    }

    /// Keeps the value only when its confidence reaches the field's threshold.
    pub fn gated(mut self, threshold: f32) -> Self {
        if self.confidence < threshold && self.value.is_some() {
            self.evidence.candidate = self.value.take();
            self.abstained = true;
            self.evidence.explanation = format!(
                "{} Confidence {:.2} is below the threshold {:.2}: no suggestion.",
                self.evidence.explanation, self.confidence, threshold
            );
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub id: SuggestionId,
    pub ticket_id: TicketId,
    pub tenant_id: TenantId,
    pub status: SuggestionStatus,
    /// Name and version of what proposed it, e.g. `retrieval/1 matrix:ab12cd34`.
    pub proposer: String,
    /// SHA-256 over the inputs, so QA can tell whether two suggestions saw the same thing.
    pub inputs_digest: String,
    pub fields: BTreeMap<Field, FieldProposal>,
    /// What the proposer looked at: the digest summary, neighbours, model size.
    pub inputs: serde_json::Value,
    pub error: Option<String>,
    /// What the model layer did for this suggestion; `None` on suggestions made before it existed.
    pub llm: Option<super::llm::LlmRecord>,
    pub created_at: DateTime<Utc>,
}

impl Suggestion {
    pub fn new(
        ticket_id: TicketId,
        tenant_id: TenantId,
        proposer: String,
        inputs: serde_json::Value,
        fields: BTreeMap<Field, FieldProposal>,
    ) -> Self {
        let inputs_digest = {
            use sha2::{Digest, Sha256};
            let canonical = super::audit::canonical_json(&inputs);
            hex::encode(Sha256::digest(canonical.as_bytes()))
        };
        Self {
            id: SuggestionId(Uuid::now_v7()),
            ticket_id,
            tenant_id,
            status: SuggestionStatus::Done,
            proposer,
            inputs_digest,
            fields,
            inputs,
            error: None,
            llm: None,
            created_at: super::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_below_its_threshold_abstains_and_keeps_the_candidate() {
        let proposal = FieldProposal {
            value: Some("Network".into()),
            confidence: 0.42,
            abstained: false,
            source: Source::Retrieval,
            evidence: Evidence {
                explanation: "3 of 5 neighbours.".into(),
                ..Evidence::default()
            },
        };
        let kept = proposal.clone().gated(0.4);
        assert_eq!(kept.value.as_deref(), Some("Network"));
        assert!(!kept.abstained);
        let gated = proposal.gated(0.8);
        assert_eq!(gated.value, None);
        assert!(gated.abstained);
        assert_eq!(gated.evidence.candidate.as_deref(), Some("Network"));
        assert!(gated.evidence.explanation.contains("below the threshold"));
    }

    #[test]
    fn fields_serialise_by_their_contract_names() {
        let mut fields = BTreeMap::new();
        fields.insert(Field::ServiceGroup, FieldProposal::nothing("no history"));
        let json = serde_json::to_value(&fields).expect("serialises");
        let field = &json["service_group"];
        for key in ["value", "confidence", "abstained", "source", "evidence"] {
            assert!(field.get(key).is_some(), "{key} missing");
        }
        assert_eq!(field["source"], "none");
    }
}
