//! What the model is shown for a ticket: its text, its logs' digests, its closest past cases
//! and the values it may choose from. Everything here is raw; the model layer redacts all of it
//! and cuts it to the prompt budget before it leaves the process.

use super::models::TenantModels;
use super::service::Similar;
use crate::domain::severity::Level;
use crate::domain::ticket::TicketDetail;
use crate::llm::{SimilarCase, TriageInput};

/// Past cases shown to the model.
pub const SIMILAR_SHOWN: usize = 5;
/// Tokens of digest rendered per attachment before the prompt budget cuts the whole; generous
/// because the budget, not this, decides what is sent.
const DIGEST_TOKENS: usize = 1_500;
/// Characters of a past case's resolution shown.
const RESOLUTION_CHARS: usize = 240;

pub fn build(detail: &TicketDetail, similar: &Similar, models: &TenantModels) -> TriageInput {
    let named: Vec<&str> = similar
        .logs
        .attachments
        .iter()
        .filter(|a| a.skipped.is_none())
        .map(|a| a.name.as_str())
        .collect();
    let digest = similar
        .logs
        .digests
        .iter()
        .enumerate()
        .map(|(i, digest)| {
            let name = named.get(i).copied().unwrap_or("log");
            format!("attachment {name}:\n{}", digest.render(DIGEST_TOKENS))
        })
        .collect::<Vec<_>>()
        .join("\n");
    TriageInput {
        ticket_id: detail.ticket.id.to_string(),
        title: detail.ticket.title.clone(),
        description: detail.ticket.description.clone(),
        digest,
        similar: similar
            .hits
            .iter()
            .take(SIMILAR_SHOWN)
            .map(|hit| SimilarCase {
                case_id: hit
                    .external_id
                    .clone()
                    .unwrap_or_else(|| hit.case_id.clone()),
                title: hit.title.clone(),
                service_group: hit.service_group.clone(),
                priority: hit.priority.clone(),
                resolution: Some(hit.resolution.chars().take(RESOLUTION_CHARS).collect())
                    .filter(|r: &String| !r.trim().is_empty()),
                score: hit.score,
            })
            .collect(),
        catalogue: models.catalogue.clone(),
        levels: Level::ALL.iter().map(|l| l.as_str().to_string()).collect(),
    }
}
