//! What the model layer leaves on a suggestion: whether a model was asked, what it answered
//! once validated, and what it cost. QA reads this to audit the model; it is stored with the
//! suggestion and never trusted for a value the catalogue or the matrix does not allow.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmStatus {
    /// The first answer validated.
    Ok,
    /// The first answer was invalid and the one repair attempt fixed it.
    Repaired,
    /// No valid answer: the offline proposal stands alone.
    Failed,
    /// No model was asked (`provider = "none"`, or nothing to ask about).
    Skipped,
}

impl LlmStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Repaired => "repaired",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

/// A prompt file by name and the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptRef {
    pub name: String,
    pub sha256: String,
}

impl PromptRef {
    /// `name@` and the hash's first 12 hex digits: how QA and the pages label a prompt version.
    pub fn short(&self) -> String {
        let prefix: String = self.sha256.chars().take(12).collect();
        format!("{}@{prefix}", self.name)
    }
}

/// The model's answer after validation: every value is one the tenant's catalogue or the
/// severity matrix allows ("unknown" for a group it could not place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageAnswer {
    pub summary: String,
    /// Digest line references such as `L1043` or `L1043–L1890`.
    pub citations: Vec<String>,
    pub service_group: String,
    pub impact: String,
    pub urgency: String,
    pub rationale: String,
}

/// The record of one triage's model call(s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmRecord {
    pub status: LlmStatus,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub prompt: Option<PromptRef>,
    #[serde(default)]
    pub repair_prompt: Option<PromptRef>,
    /// HTTP attempts in all, retries and the repair included.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub prompt_tokens: Option<u32>,
    #[serde(default)]
    pub completion_tokens: Option<u32>,
    /// Our own count (cl100k_base) of the first prompt sent.
    #[serde(default)]
    pub prompt_tokens_estimate: u32,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub cost_estimate_usd: Option<f64>,
    /// Why it failed or what was repaired.
    #[serde(default)]
    pub reason: Option<String>,
    /// The first invalid output, kept for QA when repaired or failed.
    #[serde(default)]
    pub raw_output: Option<String>,
    #[serde(default)]
    pub answer: Option<TriageAnswer>,
}

impl LlmRecord {
    /// No model was asked, and why.
    pub fn skipped(reason: &str) -> Self {
        Self {
            status: LlmStatus::Skipped,
            model: None,
            prompt: None,
            repair_prompt: None,
            attempts: 0,
            prompt_tokens: None,
            completion_tokens: None,
            prompt_tokens_estimate: 0,
            latency_ms: 0,
            cost_estimate_usd: None,
            reason: Some(reason.to_string()),
            raw_output: None,
            answer: None,
        }
    }

    /// The answer, when there is a valid one.
    pub fn valid_answer(&self) -> Option<&TriageAnswer> {
        match self.status {
            LlmStatus::Ok | LlmStatus::Repaired => self.answer.as_ref(),
            LlmStatus::Failed | LlmStatus::Skipped => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_record_serialises_with_its_status_and_reason() {
        let json = serde_json::to_value(LlmRecord::skipped("provider is none")).expect("json");
        assert_eq!(json["status"], "skipped");
        assert_eq!(json["reason"], "provider is none");
        assert!(LlmRecord::skipped("x").valid_answer().is_none());
    }

    #[test]
    fn only_ok_and_repaired_records_offer_their_answer() {
        let answer = TriageAnswer {
            summary: "s".into(),
            citations: vec![],
            service_group: "Network".into(),
            impact: "high".into(),
            urgency: "low".into(),
            rationale: "r".into(),
        };
        let mut record = LlmRecord::skipped("x");
        record.answer = Some(answer);
        for (status, offered) in [
            (LlmStatus::Ok, true),
            (LlmStatus::Repaired, true),
            (LlmStatus::Failed, false),
            (LlmStatus::Skipped, false),
        ] {
            record.status = status;
            assert_eq!(record.valid_answer().is_some(), offered, "{status:?}");
        }
    }
}
