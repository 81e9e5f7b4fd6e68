//! The human gate over JSON: `POST /suggestions/{id}/decision`, a ticket's decisions, and the
//! approvals of priority changes (`GET /approvals`, `POST /approvals/{id}`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ticket_view::TicketView;
use super::tickets::{load_visible_ticket, resolve_visible_tenant};
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::decision::{
    ApprovalError, ChangeId, ChangeStatus, Decision, DecisionDraft, DecisionError, NewDecision,
    PriorityChange, check_verdict,
};
use crate::domain::suggestion::SuggestionId;
use crate::domain::user::{Action, User};
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ApiQuery, Caller};
use crate::store::{self, ChangeListing, ChangeQuery, DecisionRecorded, Visibility};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/suggestions/{id}/decision", post(decide))
        .route("/tickets/{id}/decisions", get(ticket_decisions))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}", get(approval).post(verdict))
}

#[derive(Serialize)]
pub(crate) struct ApprovalView {
    id: Uuid,
    ticket_id: Uuid,
    tenant: String,
    ticket_title: String,
    decision_id: Uuid,
    from: Option<&'static str>,
    to: &'static str,
    requested_by: String,
    status: &'static str,
    /// The ticket changed after the request; approving is refused, rejecting still allowed.
    stale: bool,
    created_at: DateTime<Utc>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
}

impl From<ChangeListing> for ApprovalView {
    fn from(listing: ChangeListing) -> Self {
        let c = listing.change;
        Self {
            id: c.id.0,
            ticket_id: c.ticket_id.0,
            tenant: listing.tenant.to_string(),
            ticket_title: listing.ticket_title,
            decision_id: c.decision_id.0,
            from: c.from.map(|p| p.as_str()),
            to: c.to.as_str(),
            requested_by: c.requested_by,
            status: c.status.as_str(),
            stale: listing.stale && c.status == ChangeStatus::Pending,
            created_at: c.created_at,
            decided_by: c.decided_by,
            decided_at: c.decided_at,
            reason: c.reason,
        }
    }
}

#[derive(Serialize)]
struct ApprovalRef {
    id: Uuid,
    status: &'static str,
}

#[derive(Serialize)]
struct DecisionCreated {
    #[serde(flatten)]
    decision: Decision,
    /// The change the decision asked for, applied at once or waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    priority_change: Option<PriorityChange>,
    /// Present when the change waits for an approver.
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<ApprovalRef>,
    ticket: TicketView,
}

/// `POST /api/v1/suggestions/{id}/decision`: accept or override each field, with the next step.
async fn decide(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<DecisionDraft>,
) -> Result<(StatusCode, Json<DecisionCreated>), Error> {
    let recorded = record(&state, &caller, &id, &draft, None).await?;
    let approval = recorded
        .priority_change
        .as_ref()
        .filter(|c| c.status == ChangeStatus::Pending)
        .map(|c| ApprovalRef {
            id: c.id.0,
            status: c.status.as_str(),
        });
    Ok((
        StatusCode::CREATED,
        Json(DecisionCreated {
            decision: recorded.decision,
            priority_change: recorded.priority_change,
            approval,
            ticket: TicketView::summary(recorded.ticket),
        }),
    ))
}

/// Checks and stores a decision for the caller; shared with the ticket page's form, which also
/// names the ticket it was posted on (a suggestion of another ticket is then not found).
pub(crate) async fn record(
    state: &AppState,
    caller: &User,
    raw_suggestion: &str,
    draft: &DecisionDraft,
    on_ticket: Option<&str>,
) -> Result<DecisionRecorded, Error> {
    caller.may(Action::Decide)?;
    let not_found = || Error::NotFound(format!("suggestion {raw_suggestion} not found"));
    let id = Uuid::parse_str(raw_suggestion)
        .map(SuggestionId)
        .map_err(|_| not_found())?;
    let suggestion = match state.store.suggestion(id).await {
        Ok(s) => s,
        Err(store::Error::NotFound { .. }) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    let other_ticket = on_ticket.is_some_and(|t| t != suggestion.ticket_id.to_string());
    if !caller.sees_tenant(suggestion.tenant_id) || other_ticket {
        return Err(not_found());
    }
    let detail = load_visible_ticket(state, caller, &suggestion.ticket_id.to_string()).await?;
    let new = NewDecision::check(
        draft,
        &suggestion,
        &detail.ticket,
        caller,
        state.config.approvals,
        crate::domain::now(),
    )
    .map_err(|err| match err {
        DecisionError::Field(field) => Error::from(field),
        DecisionError::State(message) => Error::Conflict(message),
    })?;
    Ok(state
        .store
        .record_decision(&new, &Actor::user(&caller.name))
        .await?)
}

#[derive(Serialize)]
struct DecisionList {
    decisions: Vec<Decision>,
    priority_changes: Vec<PriorityChange>,
}

/// `GET /api/v1/tickets/{id}/decisions`: every decision, newest first, superseded ones too.
async fn ticket_decisions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<DecisionList>, Error> {
    caller.may(Action::ReadSuggestions)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    Ok(Json(DecisionList {
        decisions: state.store.decisions_for(detail.ticket.id).await?,
        priority_changes: state.store.priority_changes_for(detail.ticket.id).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalParams {
    status: Option<String>,
    tenant: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct ApprovalList {
    approvals: Vec<ApprovalView>,
}

/// `GET /api/v1/approvals?status=pending&tenant=&limit=`: newest first.
async fn approvals(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ApprovalParams>,
) -> Result<Json<ApprovalList>, Error> {
    caller.may(Action::Approve)?;
    let status = params
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(ChangeStatus::parse)
        .transpose()?;
    let tenant = match params.tenant.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(resolve_visible_tenant(&state, &caller, raw).await?.id),
        None => None,
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(crate::domain::FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )
        .into());
    }
    let listed = state
        .store
        .priority_changes(&ChangeQuery {
            visibility: Visibility::of(&caller),
            tenant,
            status,
            limit,
        })
        .await?;
    Ok(Json(ApprovalList {
        approvals: listed.into_iter().map(ApprovalView::from).collect(),
    }))
}

/// `GET /api/v1/approvals/{id}`.
async fn approval(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<ApprovalView>, Error> {
    caller.may(Action::Approve)?;
    Ok(Json(
        load_visible_change(&state, &caller, &id).await?.into(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerdictBody {
    pub approve: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/approvals/{id}` with `{"approve": bool, "reason"}`.
async fn verdict(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerdictBody>,
) -> Result<Json<ApprovalView>, Error> {
    Ok(Json(give_verdict(&state, &caller, &id, &body).await?))
}

/// Checks and records an approver's verdict; shared with the approvals page.
pub(crate) async fn give_verdict(
    state: &AppState,
    caller: &User,
    raw_id: &str,
    body: &VerdictBody,
) -> Result<ApprovalView, Error> {
    caller.may(Action::Approve)?;
    let listing = load_visible_change(state, caller, raw_id).await?;
    let reason = check_verdict(
        &listing.change,
        caller,
        body.approve,
        body.reason.as_deref(),
    )
    .map_err(|err| match err {
        ApprovalError::OwnRequest => Error::Forbidden(err.to_string()),
        ApprovalError::Field(field) => Error::from(field),
    })?;
    state
        .store
        .decide_priority_change(
            listing.change.id,
            body.approve,
            reason.as_deref(),
            caller,
            &Actor::user(&caller.name),
        )
        .await?;
    Ok(load_visible_change(state, caller, raw_id).await?.into())
}

/// Loads a priority change the caller may see; others' and unknown ones answer the same 404.
pub(crate) async fn load_visible_change(
    state: &AppState,
    caller: &User,
    raw_id: &str,
) -> Result<ChangeListing, Error> {
    let not_found = || Error::NotFound(format!("approval {raw_id} not found"));
    let id = Uuid::parse_str(raw_id)
        .map(ChangeId)
        .map_err(|_| not_found())?;
    let listing = match state.store.priority_change(id).await {
        Ok(listing) => listing,
        Err(store::Error::NotFound { .. }) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    if !caller.sees_tenant(listing.change.tenant_id) {
        return Err(not_found());
    }
    Ok(listing)
}
