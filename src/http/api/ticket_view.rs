//! The JSON shape of a ticket. Kept apart from the domain type so the API stays stable when the
//! domain grows.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::attachment::AttachmentMeta;
use crate::domain::ticket::{NextStep, Ticket, TicketDetail};

#[derive(Debug, Serialize)]
pub struct TicketView {
    pub id: uuid::Uuid,
    pub tenant: String,
    pub title: String,
    pub description: String,
    pub requester: Option<String>,
    pub stage: &'static str,
    pub priority: Option<&'static str>,
    pub service_group: Option<String>,
    pub owner: Option<String>,
    pub next_step: Option<NextStep>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentView>>,
}

#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub id: uuid::Uuid,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub url: String,
}

impl TicketView {
    /// The listing form: no attachments.
    pub fn summary(ticket: Ticket) -> Self {
        Self {
            id: ticket.id.0,
            tenant: ticket.tenant.to_string(),
            title: ticket.title,
            description: ticket.description,
            requester: ticket.requester,
            stage: ticket.stage.as_str(),
            priority: ticket.priority.map(|p| p.as_str()),
            service_group: ticket.service_group,
            owner: ticket.owner,
            next_step: ticket.next_step,
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
            acknowledged_at: ticket.acknowledged_at,
            resolved_at: ticket.resolved_at,
            closed_at: ticket.closed_at,
            reopen_count: ticket.reopen_count,
            attachments: None,
        }
    }

    /// The full form, with attachment metadata and download links.
    pub fn detail(detail: TicketDetail) -> Self {
        let id = detail.ticket.id.0;
        let attachments = detail
            .attachments
            .into_iter()
            .map(|meta| AttachmentView::new(id, meta))
            .collect();
        Self {
            attachments: Some(attachments),
            ..Self::summary(detail.ticket)
        }
    }
}

impl AttachmentView {
    fn new(ticket: uuid::Uuid, meta: AttachmentMeta) -> Self {
        Self {
            url: format!("/api/v1/tickets/{ticket}/attachments/{}", meta.id.0),
            id: meta.id.0,
            name: meta.name,
            media_type: meta.media_type,
            size: meta.size,
            sha256: meta.sha256,
        }
    }
}
