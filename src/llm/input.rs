//! What the caller hands to [`crate::llm::LlmTriager::triage`]: raw, unredacted ticket text.
//! Nothing here is sent anywhere before `redact` has run over it.

/// One ticket to triage, as raw text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TriageInput {
    pub ticket_id: String,
    pub title: String,
    pub description: String,
    /// Rendered log digest (opaque text, one entry per line), or "" when there are no logs.
    pub digest: String,
    /// Past cases from retrieval, most similar first.
    pub similar: Vec<SimilarCase>,
    /// The tenant's service groups: the only allowed `service_group` values besides "unknown".
    pub catalogue: Vec<String>,
    /// Allowed impact and urgency values, e.g. `["high", "medium", "low"]`.
    pub levels: Vec<String>,
}

/// A past case found by retrieval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimilarCase {
    pub case_id: String,
    pub title: String,
    pub service_group: Option<String>,
    pub priority: Option<String>,
    pub resolution: Option<String>,
    pub score: f32,
}
