//! Decisions: a person's verdict on a suggestion, field by field, and what it does to the
//! ticket. The machine's suggestion is never edited; a decision is stored beside it, and a later
//! decision on the same suggestion is a new row that supersedes the earlier one.
//!
//! The decided service group, impact and urgency apply to the ticket at once (the human
//! assignment). A priority that differs from the ticket's becomes a [`PriorityChange`], which
//! waits for an approver when the [`ApprovalPolicy`] says so.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::FieldError;
use super::severity::Level;
use super::suggestion::{Field, Suggestion, SuggestionId, SuggestionStatus};
use super::tenant::TenantId;
use super::ticket::{NextStep, Priority, Ticket, TicketId};
use super::user::{User, UserId};

pub const REASON_MAX_CHARS: usize = 1_000;
pub const GROUP_MAX_CHARS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DecisionId(pub Uuid);

impl std::fmt::Display for DecisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(pub Uuid);

impl std::fmt::Display for ChangeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionAction {
    Accept,
    Override,
}

impl DecisionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Override => "override",
        }
    }
}

/// Why a person overrode the machine: a short fixed list QA can count, plus free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The logs or the description point elsewhere than the machine read them.
    EvidenceMisread,
    /// The machine lacks context: a VIP, a contract term, a business event.
    CustomerContext,
    /// The business impact or urgency is other than the text suggests.
    ImpactDiffers,
    /// A known problem or an open change already explains it.
    KnownIssue,
    /// A policy or contract rule of the MSP decides it.
    Policy,
    /// The machine had no suggestion; the person supplied the value.
    NoSuggestion,
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 7] = [
        ReasonCode::EvidenceMisread,
        ReasonCode::CustomerContext,
        ReasonCode::ImpactDiffers,
        ReasonCode::KnownIssue,
        ReasonCode::Policy,
        ReasonCode::NoSuggestion,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EvidenceMisread => "evidence_misread",
            Self::CustomerContext => "customer_context",
            Self::ImpactDiffers => "impact_differs",
            Self::KnownIssue => "known_issue",
            Self::Policy => "policy",
            Self::NoSuggestion => "no_suggestion",
            Self::Other => "other",
        }
    }

    /// The words a person reads in the decision form.
    pub fn label(self) -> &'static str {
        match self {
            Self::EvidenceMisread => "Evidence points elsewhere",
            Self::CustomerContext => "Customer context the machine lacks",
            Self::ImpactDiffers => "Business impact or urgency differs",
            Self::KnownIssue => "Known issue or open change",
            Self::Policy => "MSP policy or contract rule",
            Self::NoSuggestion => "No suggestion to accept",
            Self::Other => "Other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == raw)
    }
}

/// Which priority changes wait for an approver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalPolicy {
    /// Every change of priority.
    All,
    /// Changes into or out of P1 or P2; the rest apply at once.
    MajorOnly,
}

impl ApprovalPolicy {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "all" => Ok(Self::All),
            "p1_p2" => Ok(Self::MajorOnly),
            _ => Err(FieldError::new(
                "approvals.priority_changes",
                "use \"all\" or \"p1_p2\"",
            )),
        }
    }

    pub fn needs_approval(self, from: Option<Priority>, to: Priority) -> bool {
        let major = |p: Priority| matches!(p, Priority::P1 | Priority::P2);
        match self {
            Self::All => true,
            Self::MajorOnly => major(to) || from.is_some_and(major),
        }
    }
}

/// One field as the caller sent it, before any check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDraft {
    pub action: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub reason_code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStepDraft {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due: Option<String>,
}

/// A decision as the caller sent it: field name to verdict, and the next step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionDraft {
    pub fields: BTreeMap<String, FieldDraft>,
    #[serde(default)]
    pub next_step: Option<NextStepDraft>,
    /// The ticket's `updated_at` as the person saw it; a decision on a ticket that changed
    /// since is refused, so nobody decides on an out-of-date page.
    #[serde(default)]
    pub ticket_version: Option<DateTime<Utc>>,
}

/// One decided field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDecision {
    pub action: DecisionAction,
    /// The value the person chose (for `accept`, the suggestion's value).
    pub value: String,
    /// What the machine proposed, kept beside the verdict so the row reads on its own.
    pub suggested: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a decision does to the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TicketChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Level>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<NextStep>,
    /// The ticket leaves `new` once a person has looked at it.
    pub to_triaged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    /// Waits for an approver.
    Pending,
    Approved,
    Rejected,
    /// Applied at once: the policy needed no approval.
    Applied,
    /// A later decision on the ticket asked for another change before this one was decided.
    Superseded,
}

impl ChangeStatus {
    pub const ALL: [ChangeStatus; 5] = [
        ChangeStatus::Pending,
        ChangeStatus::Approved,
        ChangeStatus::Rejected,
        ChangeStatus::Applied,
        ChangeStatus::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Applied => "applied",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    "status",
                    "use one of pending, approved, rejected, applied, superseded",
                )
            })
    }
}

/// A request to change a ticket's priority, born of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriorityChange {
    pub id: ChangeId,
    pub ticket_id: TicketId,
    pub tenant_id: TenantId,
    pub decision_id: DecisionId,
    pub from: Option<Priority>,
    pub to: Priority,
    pub requested_by: String,
    pub requested_by_id: UserId,
    pub status: ChangeStatus,
    /// The ticket's `updated_at` right after the decision: an approval is refused once the
    /// ticket has changed since, because the approver would be approving something else.
    pub ticket_version: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A checked decision, ready to be stored with its effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: DecisionId,
    pub suggestion_id: SuggestionId,
    pub ticket_id: TicketId,
    pub tenant_id: TenantId,
    pub decided_by: String,
    pub decided_by_id: UserId,
    pub fields: BTreeMap<Field, FieldDecision>,
    pub next_step: Option<NextStep>,
    /// The decision on the same suggestion that this one replaces, if any.
    pub supersedes: Option<DecisionId>,
    pub created_at: DateTime<Utc>,
}

/// A decision with what it does: the ticket's changes and, maybe, a priority change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    pub decision: Decision,
    pub changes: TicketChanges,
    pub priority_change: Option<PriorityChange>,
    /// The ticket's `updated_at` the decision was made against; the store refuses the write if
    /// the ticket changed in between, so nobody decides on a page that is out of date.
    pub expected_version: DateTime<Utc>,
}

/// A suggestion's latest decision with what the machine had proposed: one audited verdict, the
/// raw material of the QA agreement figures.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedSuggestion {
    pub decision: Decision,
    pub tenant: String,
    pub suggested: BTreeMap<Field, super::suggestion::FieldProposal>,
    pub proposer: String,
    /// The prompt's version when a model proposed (recorded by the LLM layer), else `None`.
    pub prompt_version: Option<String>,
    pub suggested_at: DateTime<Utc>,
    /// The priority change the decision asked for, if any, and its approver's verdict.
    pub change_status: Option<ChangeStatus>,
    pub change_decided_by: Option<String>,
    pub change_decided_at: Option<DateTime<Utc>>,
}

/// Why a decision cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The request is well-formed but not possible in the ticket's state.
    #[error("{0}")]
    State(String),
}

impl NewDecision {
    /// Checks `draft` against the suggestion and the ticket and works out its effects.
    pub fn check(
        draft: &DecisionDraft,
        suggestion: &Suggestion,
        ticket: &Ticket,
        by: &User,
        policy: ApprovalPolicy,
        now: DateTime<Utc>,
    ) -> Result<Self, DecisionError> {
        if suggestion.ticket_id != ticket.id {
            return Err(DecisionError::State(
                "the suggestion belongs to another ticket".into(),
            ));
        }
        if suggestion.status != SuggestionStatus::Done {
            return Err(DecisionError::State(format!(
                "the suggestion is {}; decide on a finished suggestion",
                suggestion.status.as_str()
            )));
        }
        if !ticket.stage.is_open() {
            return Err(DecisionError::State(format!(
                "the ticket is {}; reopen it before deciding",
                ticket.stage.as_str()
            )));
        }
        if draft
            .ticket_version
            .is_some_and(|seen| seen != ticket.updated_at)
        {
            return Err(DecisionError::State(
                "the ticket changed since you opened it; reload it and decide again".into(),
            ));
        }
        if draft.fields.is_empty() {
            return Err(FieldError::new("fields", "decide at least one field").into());
        }
        let mut fields = BTreeMap::new();
        for (name, field_draft) in &draft.fields {
            let field = Field::ALL
                .into_iter()
                .find(|f| f.as_str() == name)
                .ok_or_else(|| {
                    FieldError::new(
                        format!("fields.{}", super::tenant::truncate_for_message(name)),
                        "not a field; use service_group, impact, urgency or priority",
                    )
                })?;
            fields.insert(field, check_field(field, field_draft, suggestion)?);
        }
        let next_step = check_next_step(draft.next_step.as_ref())?;
        let decision = Decision {
            id: DecisionId(Uuid::now_v7()),
            suggestion_id: suggestion.id,
            ticket_id: ticket.id,
            tenant_id: ticket.tenant_id,
            decided_by: by.name.clone(),
            decided_by_id: by.id,
            fields,
            next_step: Some(next_step),
            supersedes: None,
            created_at: now,
        };
        let value = |field: Field| decision.fields.get(&field).map(|d| d.value.as_str());
        let level = |field: Field| value(field).map(Level::parse).transpose();
        let changes = TicketChanges {
            service_group: value(Field::ServiceGroup).map(str::to_string),
            impact: level(Field::Impact)?,
            urgency: level(Field::Urgency)?,
            next_step: decision.next_step.clone(),
            to_triaged: ticket.stage == super::ticket::Stage::New,
        };
        let priority_change = match value(Field::Priority).map(Priority::parse).transpose()? {
            Some(to) if Some(to) != ticket.priority => Some(PriorityChange {
                id: ChangeId(Uuid::now_v7()),
                ticket_id: ticket.id,
                tenant_id: ticket.tenant_id,
                decision_id: decision.id,
                from: ticket.priority,
                to,
                requested_by: by.name.clone(),
                requested_by_id: by.id,
                status: if policy.needs_approval(ticket.priority, to) {
                    ChangeStatus::Pending
                } else {
                    ChangeStatus::Applied
                },
                // Set by the store once it knows the ticket's new `updated_at`.
                ticket_version: now,
                decided_by: None,
                decided_at: None,
                reason: None,
                created_at: now,
            }),
            _ => None,
        };
        Ok(Self {
            decision,
            changes,
            priority_change,
            expected_version: ticket.updated_at,
        })
    }
}

fn check_field(
    field: Field,
    draft: &FieldDraft,
    suggestion: &Suggestion,
) -> Result<FieldDecision, FieldError> {
    let name = |part: &str| format!("fields.{}.{part}", field.as_str());
    let suggested = suggestion.fields.get(&field).and_then(|p| p.value.clone());
    let reason = draft
        .reason
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| super::check_text(&name("reason"), r, 1, REASON_MAX_CHARS, true))
        .transpose()?;
    let reason_code = draft
        .reason_code
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|raw| {
            ReasonCode::parse(raw).ok_or_else(|| {
                let codes: Vec<_> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
                FieldError::new(
                    name("reason_code"),
                    format!("use one of {}", codes.join(", ")),
                )
            })
        })
        .transpose()?;
    match draft.action.as_str() {
        "accept" => {
            let Some(value) = suggested.clone() else {
                return Err(FieldError::new(
                    name("action"),
                    "the machine abstained on this field, so there is nothing to accept; \
                     override it with a value and a reason",
                ));
            };
            if let Some(sent) = draft.value.as_deref()
                && normalise(field, sent)? != value
            {
                return Err(FieldError::new(
                    name("value"),
                    format!(
                        "accepting keeps the suggested value {value:?}; use override to change it"
                    ),
                ));
            }
            Ok(FieldDecision {
                action: DecisionAction::Accept,
                value,
                suggested,
                reason_code,
                reason,
            })
        }
        "override" => {
            let raw = draft
                .value
                .as_deref()
                .ok_or_else(|| FieldError::new(name("value"), "an override needs a value"))?;
            let value = normalise(field, raw)?;
            let Some(reason) = reason else {
                return Err(FieldError::new(
                    name("reason"),
                    "an override needs a reason, so QA can learn where the machine was wrong",
                ));
            };
            let default_code = if suggested.is_none() {
                ReasonCode::NoSuggestion
            } else {
                ReasonCode::Other
            };
            Ok(FieldDecision {
                action: DecisionAction::Override,
                value,
                suggested,
                reason_code: Some(reason_code.unwrap_or(default_code)),
                reason: Some(reason),
            })
        }
        other => Err(FieldError::new(
            name("action"),
            format!(
                "{:?} is not an action; use accept or override",
                super::tenant::truncate_for_message(other)
            ),
        )),
    }
}

/// The canonical spelling of a field's value, or why it is not one.
fn normalise(field: Field, raw: &str) -> Result<String, FieldError> {
    let name = format!("fields.{}.value", field.as_str());
    let value = match field {
        Field::ServiceGroup => super::check_text(&name, raw, 1, GROUP_MAX_CHARS, false)?,
        Field::Impact | Field::Urgency => Level::parse(raw.trim().to_ascii_lowercase().as_str())
            .map_err(|e| FieldError::new(&name, e.message))?
            .as_str()
            .to_string(),
        Field::Priority => Priority::parse(raw.trim())
            .map_err(|e| FieldError::new(&name, e.message))?
            .as_str()
            .to_string(),
    };
    Ok(value)
}

/// The next step is required while the ticket is open: what happens, who does it, by when.
fn check_next_step(draft: Option<&NextStepDraft>) -> Result<NextStep, FieldError> {
    let missing = |part: &str| {
        FieldError::new(
            format!("next_step.{part}"),
            "is required while the ticket is open",
        )
    };
    let draft = draft.ok_or_else(|| {
        FieldError::new(
            "next_step",
            "is required while the ticket is open: text, owner and due",
        )
    })?;
    let text = draft
        .text
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| missing("text"))?;
    let owner = draft
        .owner
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| missing("owner"))?;
    let due_raw = draft
        .due
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| missing("due"))?;
    let due = parse_due(due_raw)?;
    NextStep::new(text, Some(owner), Some(due))
}

/// Accepts RFC 3339, and the `YYYY-MM-DDTHH:MM` a browser's datetime-local input sends (UTC).
pub fn parse_due(raw: &str) -> Result<DateTime<Utc>, FieldError> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(raw, format) {
            return Ok(naive.and_utc());
        }
    }
    Err(FieldError::new(
        "next_step.due",
        "use a date and time such as 2026-12-01T17:00:00Z",
    ))
}

/// Why an approver's verdict cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("nobody approves a change they asked for")]
    OwnRequest,
    #[error("{0}")]
    Field(#[from] FieldError),
}

/// Checks an approver's verdict: never on one's own request; a rejection needs a reason.
pub fn check_verdict(
    change: &PriorityChange,
    approver: &User,
    approve: bool,
    reason: Option<&str>,
) -> Result<Option<String>, ApprovalError> {
    if change.requested_by_id == approver.id {
        return Err(ApprovalError::OwnRequest);
    }
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .map(|r| super::check_text("reason", r, 1, REASON_MAX_CHARS, true))
        .transpose()?;
    if !approve && reason.is_none() {
        return Err(FieldError::new("reason", "a rejection needs a reason").into());
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::suggestion::{Evidence, FieldProposal, Source};
    use crate::domain::ticket::Stage;
    use crate::domain::user::{Role, TenantAccess};

    fn ticket(priority: Option<Priority>) -> Ticket {
        Ticket::sample(priority, crate::domain::now())
    }

    fn proposal(value: Option<&str>) -> FieldProposal {
        FieldProposal {
            value: value.map(str::to_string),
            confidence: 0.9,
            abstained: value.is_none(),
            source: Source::Retrieval,
            evidence: Evidence::default(),
        }
    }

    fn suggestion(ticket: &Ticket) -> Suggestion {
        let mut fields = BTreeMap::new();
        fields.insert(Field::ServiceGroup, proposal(Some("Network")));
        fields.insert(Field::Impact, proposal(None));
        fields.insert(Field::Priority, proposal(Some("P3")));
        Suggestion::new(
            ticket.id,
            ticket.tenant_id,
            "test/1".into(),
            serde_json::json!({}),
            fields,
        )
    }

    fn user() -> User {
        User {
            id: UserId(Uuid::now_v7()),
            name: "ann".into(),
            role: Role::L1,
            tenants: TenantAccess::All,
            token_expires_at: None,
        }
    }

    fn next_step() -> Option<NextStepDraft> {
        Some(NextStepDraft {
            text: Some("Call the site".into()),
            owner: Some("ann".into()),
            due: Some("2026-12-01T17:00:00Z".into()),
        })
    }

    fn draft(fields: &[(&str, &str, Option<&str>, Option<&str>)]) -> DecisionDraft {
        DecisionDraft {
            fields: fields
                .iter()
                .map(|(name, action, value, reason)| {
                    (
                        name.to_string(),
                        FieldDraft {
                            action: action.to_string(),
                            value: value.map(str::to_string),
                            reason: reason.map(str::to_string),
                            reason_code: None,
                        },
                    )
                })
                .collect(),
            next_step: next_step(),
            ticket_version: None,
        }
    }

    fn check(draft: &DecisionDraft, ticket: &Ticket) -> Result<NewDecision, DecisionError> {
        let suggestion = suggestion(ticket);
        NewDecision::check(
            draft,
            &suggestion,
            ticket,
            &user(),
            ApprovalPolicy::MajorOnly,
            crate::domain::now(),
        )
    }

    #[test]
    fn accepting_applies_the_suggested_group_and_a_minor_priority_at_once() {
        let t = ticket(None);
        let new = check(
            &draft(&[
                ("service_group", "accept", None, None),
                ("priority", "accept", None, None),
            ]),
            &t,
        )
        .expect("valid");
        assert_eq!(new.changes.service_group.as_deref(), Some("Network"));
        assert!(new.changes.to_triaged);
        let change = new.priority_change.expect("a change");
        assert_eq!((change.from, change.to), (None, Priority::P3));
        assert_eq!(change.status, ChangeStatus::Applied);
    }

    #[test]
    fn an_override_into_p1_waits_for_an_approver_and_needs_a_reason() {
        let t = ticket(Some(Priority::P3));
        let err = check(&draft(&[("priority", "override", Some("P1"), None)]), &t)
            .expect_err("no reason");
        assert!(err.to_string().contains("reason"), "{err}");
        let new = check(
            &draft(&[("priority", "override", Some("p1"), Some("CEO cannot work"))]),
            &t,
        )
        .expect("valid");
        let change = new.priority_change.expect("a change");
        assert_eq!(change.to, Priority::P1);
        assert_eq!(change.status, ChangeStatus::Pending);
        let field = &new.decision.fields[&Field::Priority];
        assert_eq!(field.suggested.as_deref(), Some("P3"));
        assert_eq!(field.reason_code, Some(ReasonCode::Other));
    }

    #[test]
    fn the_same_priority_makes_no_change_request() {
        let t = ticket(Some(Priority::P3));
        let new = check(&draft(&[("priority", "accept", None, None)]), &t).expect("valid");
        assert_eq!(new.priority_change, None);
    }

    #[test]
    fn nothing_to_accept_when_the_machine_abstained() {
        let t = ticket(None);
        let err = check(&draft(&[("impact", "accept", None, None)]), &t).expect_err("abstained");
        assert!(err.to_string().contains("nothing to accept"), "{err}");
        let new = check(
            &draft(&[("impact", "override", Some("HIGH"), Some("whole site"))]),
            &t,
        )
        .expect("valid");
        assert_eq!(new.changes.impact, Some(Level::High));
        assert_eq!(
            new.decision.fields[&Field::Impact].reason_code,
            Some(ReasonCode::NoSuggestion)
        );
    }

    #[test]
    fn bad_values_and_fields_are_named() {
        let t = ticket(None);
        for (fields, expected) in [
            (
                vec![("priority", "override", Some("P9"), Some("x"))],
                "fields.priority.value",
            ),
            (vec![("colour", "accept", None, None)], "fields.colour"),
            (
                vec![("priority", "maybe", None, None)],
                "fields.priority.action",
            ),
            (
                vec![("service_group", "accept", Some("Desktop"), None)],
                "fields.service_group.value",
            ),
        ] {
            let err = check(&draft(&fields), &t).expect_err("invalid");
            assert!(err.to_string().starts_with(expected), "{err} vs {expected}");
        }
        let mut no_step = draft(&[("priority", "accept", None, None)]);
        no_step.next_step = None;
        assert!(check(&no_step, &t).is_err());
        let mut no_owner = draft(&[("priority", "accept", None, None)]);
        no_owner.next_step = Some(NextStepDraft {
            owner: None,
            ..next_step().expect("step")
        });
        let err = check(&no_owner, &t).expect_err("owner");
        assert!(err.to_string().contains("next_step.owner"), "{err}");
    }

    #[test]
    fn a_decision_on_an_out_of_date_view_is_refused() {
        let t = ticket(None);
        let mut stale = draft(&[("priority", "override", Some("P2"), Some("x"))]);
        stale.ticket_version = Some(t.updated_at - chrono::TimeDelta::seconds(1));
        let err = check(&stale, &t).expect_err("stale");
        assert!(matches!(err, DecisionError::State(_)), "{err}");
        stale.ticket_version = Some(t.updated_at);
        assert!(check(&stale, &t).is_ok());
    }

    #[test]
    fn closed_tickets_take_no_decisions() {
        let mut t = ticket(None);
        t.stage = Stage::Closed;
        let err = check(&draft(&[("priority", "accept", None, None)]), &t).expect_err("closed");
        assert!(matches!(err, DecisionError::State(_)));
    }

    #[test]
    fn the_policy_decides_which_changes_wait() {
        use Priority::*;
        let major = ApprovalPolicy::MajorOnly;
        assert!(major.needs_approval(None, P1));
        assert!(major.needs_approval(Some(P2), P4));
        assert!(!major.needs_approval(Some(P3), P4));
        assert!(!major.needs_approval(None, P3));
        assert!(ApprovalPolicy::All.needs_approval(Some(P3), P4));
    }

    #[test]
    fn nobody_approves_their_own_request_and_rejections_need_a_reason() {
        let t = ticket(None);
        let by = user();
        let new = NewDecision::check(
            &draft(&[("priority", "override", Some("P1"), Some("outage"))]),
            &suggestion(&t),
            &t,
            &by,
            ApprovalPolicy::MajorOnly,
            crate::domain::now(),
        )
        .expect("valid");
        let change = new.priority_change.expect("change");
        assert_eq!(
            check_verdict(&change, &by, true, None),
            Err(ApprovalError::OwnRequest)
        );
        let other = user();
        assert!(check_verdict(&change, &other, true, None).is_ok());
        assert!(check_verdict(&change, &other, false, Some("  ")).is_err());
        assert_eq!(
            check_verdict(&change, &other, false, Some("not an outage")),
            Ok(Some("not an outage".into()))
        );
    }

    #[test]
    fn due_times_from_forms_and_apis_parse() {
        assert!(parse_due("2026-12-01T17:00:00Z").is_ok());
        assert!(parse_due("2026-12-01T17:00:00+02:00").is_ok());
        assert!(parse_due("2026-12-01T17:00").is_ok());
        assert!(parse_due("tomorrow").is_err());
    }
}
