//! Row structs as the databases return them, and their conversion into domain types. Text
//! columns holding enums are checked here: a value the domain does not know is `Corrupt`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ChangeListing, Error, QueueItem};
use crate::domain::attachment::{AttachmentContent, AttachmentId, AttachmentMeta};
use crate::domain::audit::AuditEvent;
use crate::domain::case::CaseRecord;
use crate::domain::decision::{
    ChangeId, ChangeStatus, DecidedSuggestion, Decision, DecisionId, PriorityChange,
};
use crate::domain::severity::Level;
use crate::domain::suggestion::{Suggestion, SuggestionId, SuggestionStatus};
use crate::domain::tenant::{Tenant, TenantId, TenantSlug};
use crate::domain::ticket::{NextStep, Priority, Stage, Ticket, TicketId};
use crate::domain::user::{Role, TenantAccess, User, UserId};

#[derive(Debug, sqlx::FromRow)]
pub struct TenantRow {
    pub tenant_id: Uuid,
    pub slug: String,
    pub name: String,
    pub shared_pool: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = Error;
    fn try_from(row: TenantRow) -> Result<Self, Error> {
        Ok(Tenant {
            id: TenantId(row.tenant_id),
            slug: TenantSlug::parse(&row.slug).map_err(|e| Error::Corrupt(e.to_string()))?,
            name: row.name,
            shared_pool: row.shared_pool,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: Uuid,
    pub name: String,
    pub role: String,
    pub all_tenants: bool,
    pub token_expires_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn into_user(self, tenant_ids: Vec<Uuid>) -> Result<User, Error> {
        Ok(User {
            id: UserId(self.user_id),
            name: self.name,
            role: Role::parse(&self.role).map_err(|e| Error::Corrupt(e.to_string()))?,
            tenants: if self.all_tenants {
                TenantAccess::All
            } else {
                TenantAccess::Only(tenant_ids.into_iter().map(TenantId).collect())
            },
            token_expires_at: self.token_expires_at,
        })
    }
}

/// A user joined with one of its granted tenants (`None` for all-tenant users).
#[derive(Debug, sqlx::FromRow)]
pub struct UserTenantRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub tenant_id: Option<Uuid>,
}

impl UserTenantRow {
    /// Folds the joined rows of one user back into a `User`; no rows means no user.
    pub fn into_user(rows: Vec<UserTenantRow>) -> Result<Option<User>, Error> {
        let tenant_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.tenant_id).collect();
        match rows.into_iter().next() {
            Some(first) => first.user.into_user(tenant_ids).map(Some),
            None => Ok(None),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct TicketRow {
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub title: String,
    pub description: String,
    pub requester: Option<String>,
    pub stage: String,
    pub priority: Option<String>,
    pub service_group: Option<String>,
    pub owner: Option<String>,
    pub next_step_text: Option<String>,
    pub next_step_owner: Option<String>,
    pub next_step_due: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub reopen_count: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;
    fn try_from(row: TicketRow) -> Result<Self, Error> {
        let corrupt = |e: crate::domain::FieldError| Error::Corrupt(e.to_string());
        Ok(Ticket {
            id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            tenant: TenantSlug::parse(&row.tenant_slug).map_err(corrupt)?,
            title: row.title,
            description: row.description,
            requester: row.requester,
            stage: Stage::parse(&row.stage).map_err(corrupt)?,
            priority: row
                .priority
                .as_deref()
                .map(Priority::parse)
                .transpose()
                .map_err(corrupt)?,
            service_group: row.service_group,
            owner: row.owner,
            next_step: row.next_step_text.map(|text| NextStep {
                text,
                owner: row.next_step_owner,
                due: row.next_step_due,
            }),
            created_at: row.created_at,
            updated_at: row.updated_at,
            acknowledged_at: row.acknowledged_at,
            resolved_at: row.resolved_at,
            closed_at: row.closed_at,
            reopen_count: row.reopen_count,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct AttachmentMetaRow {
    pub attachment_id: Uuid,
    pub name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<AttachmentMetaRow> for AttachmentMeta {
    fn from(row: AttachmentMetaRow) -> Self {
        AttachmentMeta {
            id: AttachmentId(row.attachment_id),
            name: row.name,
            media_type: row.media_type,
            size: row.size_bytes,
            sha256: row.sha256,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct AttachmentContentRow {
    #[sqlx(flatten)]
    pub meta: AttachmentMetaRow,
    pub content: Vec<u8>,
    pub encoding: String,
}

impl TryFrom<AttachmentContentRow> for AttachmentContent {
    type Error = Error;
    fn try_from(row: AttachmentContentRow) -> Result<Self, Error> {
        let content = super::blob::decode(
            &row.encoding,
            row.content,
            row.meta.size_bytes,
            &row.meta.attachment_id,
        )?;
        Ok(AttachmentContent {
            meta: row.meta.into(),
            content,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        AuditEvent {
            seq: row.seq,
            event_id: row.event_id,
            tenant_id: row.tenant_id.map(TenantId),
            actor: row.actor,
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            payload: row.payload,
            created_at: row.created_at,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct CaseRow {
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub resolution: Option<String>,
    pub service_group: Option<String>,
    pub priority: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub attachments: i64,
}

impl TryFrom<CaseRow> for CaseRecord {
    type Error = Error;
    fn try_from(row: CaseRow) -> Result<Self, Error> {
        let corrupt = |e: crate::domain::FieldError| Error::Corrupt(e.to_string());
        let level = |raw: Option<String>| {
            raw.as_deref()
                .map(Level::parse)
                .transpose()
                .map_err(corrupt)
        };
        Ok(CaseRecord {
            id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            external_id: row.external_id,
            title: row.title,
            description: row.description,
            resolution: row.resolution.unwrap_or_default(),
            service_group: row.service_group,
            priority: row
                .priority
                .as_deref()
                .map(Priority::parse)
                .transpose()
                .map_err(corrupt)?,
            impact: level(row.impact)?,
            urgency: level(row.urgency)?,
            created_at: row.created_at,
            closed_at: row.closed_at,
            attachments: u32::try_from(row.attachments).unwrap_or(0),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct SuggestionRow {
    pub suggestion_id: Uuid,
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub status: String,
    pub proposer: String,
    pub inputs_digest: String,
    pub fields: String,
    pub inputs: String,
    pub error: Option<String>,
    pub llm: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<SuggestionRow> for Suggestion {
    type Error = Error;
    fn try_from(row: SuggestionRow) -> Result<Self, Error> {
        let corrupt = |what: &str, e: serde_json::Error| {
            Error::Corrupt(format!("suggestion {} {what}: {e}", row.suggestion_id))
        };
        Ok(Suggestion {
            id: SuggestionId(row.suggestion_id),
            ticket_id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            status: SuggestionStatus::parse(&row.status)
                .ok_or_else(|| Error::Corrupt(format!("suggestion status {:?}", row.status)))?,
            proposer: row.proposer.clone(),
            inputs_digest: row.inputs_digest.clone(),
            fields: serde_json::from_str(&row.fields).map_err(|e| corrupt("fields", e))?,
            inputs: serde_json::from_str(&row.inputs).map_err(|e| corrupt("inputs", e))?,
            error: row.error.clone(),
            llm: row
                .llm
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| corrupt("llm", e))?,
            created_at: row.created_at,
        })
    }
}

/// A decision's columns, `d.` prefixed in the queries.
#[derive(Debug, sqlx::FromRow)]
pub struct DecisionRow {
    pub decision_id: Uuid,
    pub suggestion_id: Uuid,
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub decided_by: String,
    pub decided_by_id: Uuid,
    pub fields: String,
    pub next_step_text: Option<String>,
    pub next_step_owner: Option<String>,
    pub next_step_due: Option<DateTime<Utc>>,
    pub supersedes: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<DecisionRow> for Decision {
    type Error = Error;
    fn try_from(row: DecisionRow) -> Result<Self, Error> {
        Ok(Decision {
            id: DecisionId(row.decision_id),
            suggestion_id: SuggestionId(row.suggestion_id),
            ticket_id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            decided_by: row.decided_by,
            decided_by_id: UserId(row.decided_by_id),
            fields: serde_json::from_str(&row.fields)
                .map_err(|e| Error::Corrupt(format!("decision {} fields: {e}", row.decision_id)))?,
            next_step: row.next_step_text.map(|text| NextStep {
                text,
                owner: row.next_step_owner,
                due: row.next_step_due,
            }),
            supersedes: row.supersedes.map(DecisionId),
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChangeRow {
    pub change_id: Uuid,
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub decision_id: Uuid,
    pub from_priority: Option<String>,
    pub to_priority: String,
    pub requested_by: String,
    pub requested_by_id: Uuid,
    pub status: String,
    pub ticket_version: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ChangeRow> for PriorityChange {
    type Error = Error;
    fn try_from(row: ChangeRow) -> Result<Self, Error> {
        let corrupt = |e: crate::domain::FieldError| Error::Corrupt(e.to_string());
        Ok(PriorityChange {
            id: ChangeId(row.change_id),
            ticket_id: TicketId(row.ticket_id),
            tenant_id: TenantId(row.tenant_id),
            decision_id: DecisionId(row.decision_id),
            from: row
                .from_priority
                .as_deref()
                .map(Priority::parse)
                .transpose()
                .map_err(corrupt)?,
            to: Priority::parse(&row.to_priority).map_err(corrupt)?,
            requested_by: row.requested_by,
            requested_by_id: UserId(row.requested_by_id),
            status: ChangeStatus::parse(&row.status).map_err(corrupt)?,
            ticket_version: row.ticket_version,
            decided_by: row.decided_by,
            decided_at: row.decided_at,
            reason: row.reason,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChangeListingRow {
    #[sqlx(flatten)]
    pub change: ChangeRow,
    pub tenant_slug: String,
    pub ticket_title: String,
    pub ticket_updated_at: DateTime<Utc>,
}

impl TryFrom<ChangeListingRow> for ChangeListing {
    type Error = Error;
    fn try_from(row: ChangeListingRow) -> Result<Self, Error> {
        let stale = row.ticket_updated_at != row.change.ticket_version;
        Ok(ChangeListing {
            change: row.change.try_into()?,
            tenant: TenantSlug::parse(&row.tenant_slug)
                .map_err(|e| Error::Corrupt(e.to_string()))?,
            ticket_title: row.ticket_title,
            stale,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct DecidedRow {
    #[sqlx(flatten)]
    pub decision: DecisionRow,
    pub suggested_fields: String,
    pub proposer: String,
    pub suggested_llm: Option<String>,
    pub suggested_at: DateTime<Utc>,
    pub tenant_slug: String,
    pub change_status: Option<String>,
    pub change_decided_by: Option<String>,
    pub change_decided_at: Option<DateTime<Utc>>,
}

impl TryFrom<DecidedRow> for DecidedSuggestion {
    type Error = Error;
    fn try_from(row: DecidedRow) -> Result<Self, Error> {
        let id = row.decision.suggestion_id;
        let suggested = serde_json::from_str(&row.suggested_fields)
            .map_err(|e| Error::Corrupt(format!("suggestion {id} fields: {e}")))?;
        Ok(DecidedSuggestion {
            decision: row.decision.try_into()?,
            tenant: row.tenant_slug,
            suggested,
            proposer: row.proposer,
            prompt_version: prompt_version(row.suggested_llm.as_deref()),
            suggested_at: row.suggested_at,
            change_status: row
                .change_status
                .as_deref()
                .map(ChangeStatus::parse)
                .transpose()
                .map_err(|e| Error::Corrupt(e.to_string()))?,
            change_decided_by: row.change_decided_by,
            change_decided_at: row.change_decided_at,
        })
    }
}

/// The prompt a suggestion's model call used, as `name@sha256-prefix`; `None` when no model
/// was asked. An unreadable record only loses this label, not the QA row.
fn prompt_version(llm: Option<&str>) -> Option<String> {
    let record: crate::domain::llm::LlmRecord = serde_json::from_str(llm?).ok()?;
    Some(record.prompt?.short())
}

/// A queue line: a ticket, the columns of its latest suggestion row and of its newest job that
/// has not ended (each all null when there is none); the job, when newer, shows as pending.
#[derive(Debug, sqlx::FromRow)]
pub struct QueueRow {
    #[sqlx(flatten)]
    pub ticket: TicketRow,
    pub s_id: Option<Uuid>,
    pub s_status: Option<String>,
    pub s_proposer: Option<String>,
    pub s_inputs_digest: Option<String>,
    pub s_fields: Option<String>,
    pub s_error: Option<String>,
    pub s_created_at: Option<DateTime<Utc>>,
    pub j_id: Option<Uuid>,
    pub j_proposer: Option<String>,
    pub j_created_at: Option<DateTime<Utc>>,
}

impl TryFrom<QueueRow> for QueueItem {
    type Error = Error;
    fn try_from(row: QueueRow) -> Result<Self, Error> {
        let ticket: crate::domain::ticket::Ticket = row.ticket.try_into()?;
        if let (Some(id), Some(proposer), Some(created_at)) =
            (row.j_id, row.j_proposer, row.j_created_at)
            && row
                .s_created_at
                .is_none_or(|s| (created_at, id) > (s, row.s_id.unwrap_or_default()))
        {
            let pending = crate::domain::job::pending_suggestion(
                SuggestionId(id),
                ticket.id,
                ticket.tenant_id,
                &proposer,
                created_at,
            );
            return Ok(QueueItem {
                ticket,
                suggestion: Some(pending),
            });
        }
        let suggestion = match (row.s_id, row.s_status, row.s_fields, row.s_created_at) {
            (Some(id), Some(status), Some(fields), Some(created_at)) => Some(
                SuggestionRow {
                    suggestion_id: id,
                    ticket_id: ticket.id.0,
                    tenant_id: ticket.tenant_id.0,
                    status,
                    proposer: row.s_proposer.unwrap_or_default(),
                    inputs_digest: row.s_inputs_digest.unwrap_or_default(),
                    fields,
                    // The queue shows values and confidences; the inputs stay in the store.
                    inputs: "null".into(),
                    error: row.s_error,
                    llm: None,
                    created_at,
                }
                .try_into()?,
            ),
            _ => None,
        };
        Ok(QueueItem { ticket, suggestion })
    }
}
