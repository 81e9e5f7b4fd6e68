//! The model's part of a suggestion as the ticket page shows it: what it answered (summary,
//! citations opening the cited log lines, rationale) or why it has no valid answer, and what
//! the call cost. Everything here is text the model wrote, so the template escapes it like any
//! other user-supplied string, and the page labels it as the model's.

use crate::domain::llm::{LlmRecord, LlmStatus};

pub struct ModelView {
    pub status: &'static str,
    /// "ok", "repaired" or "failed": the badge's class.
    pub tone: &'static str,
    pub model: String,
    pub summary: Option<String>,
    pub rationale: Option<String>,
    pub citations: Vec<Citation>,
    /// Why it failed, or what was repaired.
    pub reason: Option<String>,
    /// Tokens, time and cost of the call.
    pub meta: String,
}

pub struct Citation {
    pub text: String,
    /// The cited lines of the ticket's log; `None` when it names none, or when the ticket has
    /// several digested logs (each numbered from L1, so a bare reference is ambiguous).
    pub href: Option<String>,
}

impl ModelView {
    /// `None` when no model was asked.
    pub fn of(
        record: Option<&LlmRecord>,
        ticket_id: &str,
        log: Option<&str>,
        max_lines: u64,
    ) -> Option<Self> {
        let record = record?;
        let (status, tone) = match record.status {
            LlmStatus::Skipped => return None,
            LlmStatus::Ok => ("answered", "ok"),
            LlmStatus::Repaired => ("answered after one repair", "repaired"),
            LlmStatus::Failed => ("no valid answer; the offline proposal stands", "failed"),
        };
        let answer = record.valid_answer();
        let mut meta = format!(
            "{} HTTP attempt(s), {} ms",
            record.attempts, record.latency_ms
        );
        if let (Some(p), Some(c)) = (record.prompt_tokens, record.completion_tokens) {
            meta.push_str(&format!(", {p} + {c} tokens"));
        }
        if let Some(cost) = record.cost_estimate_usd {
            meta.push_str(&format!(", about ${cost:.4}"));
        }
        if let Some(prompt) = &record.prompt {
            meta.push_str(&format!(", prompt {}", prompt.short()));
        }
        Some(Self {
            status,
            tone,
            model: record.model.clone().unwrap_or_default(),
            summary: answer.map(|a| a.summary.clone()),
            rationale: answer.map(|a| a.rationale.clone()),
            citations: answer
                .map(|a| {
                    a.citations
                        .iter()
                        .map(|text| Citation {
                            href: log.and_then(|attachment| {
                                lines_href(ticket_id, attachment, text, max_lines)
                            }),
                            text: text.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reason: record.reason.clone(),
            meta,
        })
    }
}

/// A citation (`L12`, `L12–L40`) as a link to those lines, at most `max_lines` of them.
fn lines_href(ticket_id: &str, attachment: &str, citation: &str, max_lines: u64) -> Option<String> {
    let range = crate::llm::parse_citation(citation).filter(|r| r.start > 0)?;
    let from = range.start;
    let to = range
        .end
        .min(from.saturating_add(max_lines.saturating_sub(1)));
    Some(format!(
        "/tickets/{ticket_id}/attachments/{attachment}/lines?from={from}&to={to}&mark={from}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::llm::TriageAnswer;

    fn record(status: LlmStatus) -> LlmRecord {
        let mut r = LlmRecord::skipped("x");
        r.status = status;
        r.model = Some("m".into());
        r.attempts = 1;
        r.answer = Some(TriageAnswer {
            summary: "VPN drops".into(),
            citations: vec![
                "L3".into(),
                "L10–L400".into(),
                "L9-L2".into(),
                "line 4".into(),
            ],
            service_group: "Network".into(),
            impact: "high".into(),
            urgency: "low".into(),
            rationale: "why".into(),
        });
        r
    }

    #[test]
    fn citations_open_the_cited_lines_within_the_cap() {
        let view = ModelView::of(Some(&record(LlmStatus::Ok)), "t", Some("a"), 50).expect("view");
        let hrefs: Vec<Option<&str>> = view.citations.iter().map(|c| c.href.as_deref()).collect();
        assert_eq!(
            hrefs,
            vec![
                Some("/tickets/t/attachments/a/lines?from=3&to=3&mark=3"),
                Some("/tickets/t/attachments/a/lines?from=10&to=59&mark=10"),
                None,
                None
            ]
        );
        assert_eq!(view.summary.as_deref(), Some("VPN drops"));
    }

    #[test]
    fn a_failed_call_shows_its_reason_and_no_answer() {
        let mut failed = record(LlmStatus::Failed);
        failed.reason = Some("timed out".into());
        let view = ModelView::of(Some(&failed), "t", None, 50).expect("view");
        assert_eq!(view.tone, "failed");
        assert!(view.summary.is_none() && view.citations.is_empty());
        assert_eq!(view.reason.as_deref(), Some("timed out"));
        assert!(ModelView::of(Some(&LlmRecord::skipped("none")), "t", None, 50).is_none());
        assert!(ModelView::of(None, "t", None, 50).is_none());
    }
}
