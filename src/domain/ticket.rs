//! Tickets: what was reported, where it stands, and who does what next. Priority and service
//! group are set only through the decision gate (a later part), never by an edit.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::FieldError;
use super::attachment::{AttachmentMeta, NewAttachment};
use super::tenant::{Tenant, TenantId, TenantSlug};

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 65_536;
pub const PERSON_MAX_CHARS: usize = 200;
pub const NEXT_STEP_MAX_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TicketId(pub Uuid);

impl std::fmt::Display for TicketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The named stages of the escalation standard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    New,
    Triaged,
    InProgress,
    Escalated,
    Resolved,
    Closed,
}

impl Stage {
    pub const ALL: [Stage; 6] = [
        Stage::New,
        Stage::Triaged,
        Stage::InProgress,
        Stage::Escalated,
        Stage::Resolved,
        Stage::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Triaged => "triaged",
            Stage::InProgress => "in_progress",
            Stage::Escalated => "escalated",
            Stage::Resolved => "resolved",
            Stage::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    "stage",
                    "use one of new, triaged, in_progress, escalated, resolved, closed",
                )
            })
    }

    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Resolved | Stage::Closed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(raw))
            .ok_or_else(|| FieldError::new("priority", "use one of P1, P2, P3, P4"))
    }
}

/// What happens next on a ticket, by whom and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextStep {
    pub text: String,
    pub owner: Option<String>,
    pub due: Option<DateTime<Utc>>,
}

impl NextStep {
    pub fn new(
        text: &str,
        owner: Option<&str>,
        due: Option<DateTime<Utc>>,
    ) -> Result<Self, FieldError> {
        Ok(Self {
            text: super::check_text("next_step.text", text, 1, NEXT_STEP_MAX_CHARS, true)?,
            owner: owner
                .map(|o| super::check_text("next_step.owner", o, 1, PERSON_MAX_CHARS, false))
                .transpose()?,
            due: due.map(super::truncate_to_micros),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub tenant: TenantSlug,
    pub title: String,
    pub description: String,
    pub requester: Option<String>,
    pub stage: Stage,
    pub priority: Option<Priority>,
    pub service_group: Option<String>,
    pub owner: Option<String>,
    pub next_step: Option<NextStep>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
}

/// A ticket with the metadata of its attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub attachments: Vec<AttachmentMeta>,
}

/// A validated ticket, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub tenant: TenantSlug,
    pub title: String,
    pub description: String,
    pub requester: Option<String>,
    pub attachments: Vec<NewAttachment>,
    pub created_at: DateTime<Utc>,
    /// The triage to queue with the ticket, in the same transaction.
    pub triage: Option<super::job::NewTriageJob>,
}

/// The caller's input for a new ticket, before checks.
#[derive(Debug, Clone, Default)]
pub struct TicketDraft {
    pub title: String,
    pub description: Option<String>,
    pub requester: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

/// Size limits applied to a ticket's attachments.
#[derive(Debug, Clone, Copy)]
pub struct AttachmentLimits {
    pub max_attachment: u64,
    pub max_total: u64,
}

/// Why a draft cannot become a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("{0}")]
    TooLarge(String),
}

impl NewTicket {
    pub fn from_draft(
        tenant: &Tenant,
        draft: TicketDraft,
        limits: AttachmentLimits,
    ) -> Result<Self, DraftError> {
        let title = super::check_text("title", &draft.title, 1, TITLE_MAX_CHARS, false)?;
        let description = match draft.description.as_deref() {
            Some(text) => super::check_text("description", text, 0, DESCRIPTION_MAX_CHARS, true)?,
            None => String::new(),
        };
        let requester = draft
            .requester
            .as_deref()
            .map(|r| super::check_text("requester", r, 1, PERSON_MAX_CHARS, false))
            .transpose()?;
        check_attachment_sizes(&draft.attachments, limits)?;
        Ok(Self {
            id: TicketId(Uuid::now_v7()),
            tenant_id: tenant.id,
            tenant: tenant.slug.clone(),
            title,
            description,
            requester,
            attachments: draft.attachments,
            created_at: super::now(),
            triage: None,
        })
    }

    /// Queues a triage with the ticket when it is stored.
    pub fn with_triage(mut self, requested_by: &str, max_attempts: u32, proposer: String) -> Self {
        let mut job = super::job::NewTriageJob::new(
            self.id,
            self.tenant_id,
            super::job::JobReason::Created,
            requested_by,
            max_attempts,
            proposer,
        );
        job.created_at = self.created_at;
        self.triage = Some(job);
        self
    }
}

#[cfg(test)]
impl Ticket {
    /// A new ticket of tenant `acme` opened at `created`, for unit tests.
    pub(crate) fn sample(priority: Option<Priority>, created: DateTime<Utc>) -> Self {
        Self {
            id: TicketId(Uuid::now_v7()),
            tenant_id: TenantId(Uuid::now_v7()),
            tenant: TenantSlug::parse("acme").expect("slug"),
            title: "VPN down".into(),
            description: String::new(),
            requester: None,
            stage: Stage::New,
            priority,
            service_group: None,
            owner: None,
            next_step: None,
            created_at: created,
            updated_at: created,
            acknowledged_at: None,
            resolved_at: None,
            closed_at: None,
            reopen_count: 0,
        }
    }
}

impl NewTicket {
    /// The ticket as it stands once stored.
    pub fn stored(&self) -> TicketDetail {
        TicketDetail {
            ticket: Ticket {
                id: self.id,
                tenant_id: self.tenant_id,
                tenant: self.tenant.clone(),
                title: self.title.clone(),
                description: self.description.clone(),
                requester: self.requester.clone(),
                stage: Stage::New,
                priority: None,
                service_group: None,
                owner: None,
                next_step: None,
                created_at: self.created_at,
                updated_at: self.created_at,
                acknowledged_at: None,
                resolved_at: None,
                closed_at: None,
                reopen_count: 0,
            },
            attachments: self
                .attachments
                .iter()
                .map(|a| a.meta(self.created_at))
                .collect(),
        }
    }
}

/// Checks each attachment and their sum against the limits.
pub fn check_attachment_sizes(
    attachments: &[NewAttachment],
    limits: AttachmentLimits,
) -> Result<(), DraftError> {
    let mut total: u64 = 0;
    for attachment in attachments {
        let size = attachment.content.len() as u64;
        if size > limits.max_attachment {
            return Err(DraftError::TooLarge(format!(
                "attachment {:?} is {size} bytes; the limit per file is {} bytes",
                attachment.name, limits.max_attachment
            )));
        }
        total += size;
    }
    if total > limits.max_total {
        return Err(DraftError::TooLarge(format!(
            "attachments add up to {total} bytes; the limit per ticket is {} bytes",
            limits.max_total
        )));
    }
    Ok(())
}

/// A change to the fields anyone working a ticket may edit. `None` leaves a field alone;
/// `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<Option<String>>,
    pub next_step: Option<Option<NextStep>>,
}

impl TicketEdit {
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.owner.is_none()
            && self.next_step.is_none()
    }

    /// Applies the edit to a copy of `ticket` and lists what changed, for the audit trail.
    pub fn apply(&self, ticket: &Ticket, at: DateTime<Utc>) -> (Ticket, serde_json::Value) {
        let mut updated = ticket.clone();
        let mut changes = serde_json::Map::new();
        let mut note = |name: &str, from: serde_json::Value, to: serde_json::Value| {
            if from != to {
                changes.insert(name.into(), serde_json::json!({ "from": from, "to": to }));
            }
        };
        if let Some(title) = &self.title {
            note("title", ticket.title.clone().into(), title.clone().into());
            updated.title = title.clone();
        }
        if let Some(description) = &self.description {
            note(
                "description",
                ticket.description.clone().into(),
                description.clone().into(),
            );
            updated.description = description.clone();
        }
        if let Some(owner) = &self.owner {
            note("owner", json_of(&ticket.owner), json_of(owner));
            updated.owner = owner.clone();
        }
        if let Some(next_step) = &self.next_step {
            note("next_step", json_of(&ticket.next_step), json_of(next_step));
            updated.next_step = next_step.clone();
        }
        if !changes.is_empty() {
            updated.updated_at = at;
        }
        (updated, serde_json::Value::Object(changes))
    }
}

fn json_of<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AttachmentLimits {
        AttachmentLimits {
            max_attachment: 10,
            max_total: 15,
        }
    }

    fn draft(title: &str) -> TicketDraft {
        TicketDraft {
            title: title.into(),
            ..TicketDraft::default()
        }
    }

    #[test]
    fn a_draft_needs_a_short_title() {
        let new =
            crate::domain::tenant::NewTenant::new(TenantSlug::parse("acme").expect("slug"), None)
                .expect("tenant");
        let tenant = &Tenant {
            id: new.id,
            slug: new.slug,
            name: new.name,
            shared_pool: false,
            created_at: new.created_at,
        };
        assert!(NewTicket::from_draft(tenant, draft("Disk full"), limits()).is_ok());
        let empty = NewTicket::from_draft(tenant, draft("  "), limits());
        assert!(matches!(empty, Err(DraftError::Field(e)) if e.field == "title"));
        let long = NewTicket::from_draft(tenant, draft(&"x".repeat(10_000)), limits());
        assert!(matches!(long, Err(DraftError::Field(e)) if e.message.contains("10000")));
    }

    #[test]
    fn attachments_are_held_to_both_limits() {
        let file = |n: usize| NewAttachment::new("a.log", None, vec![b'x'; n]).expect("valid");
        assert!(check_attachment_sizes(&[file(10)], limits()).is_ok());
        assert!(matches!(
            check_attachment_sizes(&[file(11)], limits()),
            Err(DraftError::TooLarge(_))
        ));
        assert!(matches!(
            check_attachment_sizes(&[file(8), file(8)], limits()),
            Err(DraftError::TooLarge(_))
        ));
    }

    #[test]
    fn priorities_and_stages_round_trip_through_text() {
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Ok(p));
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Ok(s));
        }
        assert!(Priority::parse("P5").is_err());
        assert!(Stage::parse("done").is_err());
    }
}
