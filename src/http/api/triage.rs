//! Similar cases and suggestions of a ticket: `GET .../similar`, `GET .../suggestions` and
//! `POST .../triage`. Staff only; a requester never sees other cases or the machine's view.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tickets::load_visible_ticket;
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::FieldError;
use crate::domain::llm::LlmRecord;
use crate::domain::suggestion::{Field, FieldProposal, Suggestion, SuggestionStatus};
use crate::domain::user::Action;
use crate::http::error::Error;
use crate::http::extract::{ApiQuery, Caller};
use crate::search::Hit;

const MAX_K: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/similar", get(similar))
        .route("/tickets/{id}/suggestions", get(suggestions))
        .route("/tickets/{id}/triage", post(triage))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimilarParams {
    k: Option<usize>,
}

#[derive(Serialize)]
struct SimilarPage {
    similar: Vec<SimilarCase>,
    /// Templates of the ticket's logs that went into the query.
    templates_used: usize,
}

#[derive(Serialize)]
struct SimilarCase {
    case_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    title: String,
    score: f32,
    matched_terms: Vec<String>,
    service_group: Option<String>,
    priority: Option<String>,
    resolution: String,
    url: String,
}

impl From<Hit> for SimilarCase {
    fn from(hit: Hit) -> Self {
        Self {
            url: format!("/api/v1/tickets/{}", hit.case_id),
            case_id: hit.case_id,
            external_id: hit.external_id,
            title: hit.title,
            score: hit.score,
            matched_terms: hit.matched_terms,
            service_group: hit.service_group,
            priority: hit.priority,
            resolution: hit.resolution,
        }
    }
}

/// `GET /api/v1/tickets/{id}/similar?k=10`: the closest past cases of the ticket's tenant (or of
/// the shared pool when the tenant joined it), best first. 503 while the index is rebuilt.
async fn similar(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<SimilarParams>,
) -> Result<Json<SimilarPage>, Error> {
    caller.may(Action::ReadSuggestions)?;
    let k = params.k.unwrap_or(state.config.triage.neighbours);
    if k == 0 || k > MAX_K {
        return Err(FieldError::new("k", format!("must be between 1 and {MAX_K}")).into());
    }
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    let found = state
        .triage
        .similar(&detail, k)
        .await
        .map_err(triage_error)?;
    if let Some(reason) = found.unavailable {
        return Err(Error::Unavailable(reason));
    }
    Ok(Json(SimilarPage {
        templates_used: found.templates.len(),
        similar: found.hits.into_iter().map(SimilarCase::from).collect(),
    }))
}

#[derive(Serialize)]
pub(crate) struct SuggestionView {
    id: uuid::Uuid,
    ticket_id: uuid::Uuid,
    status: &'static str,
    created_at: DateTime<Utc>,
    proposer: String,
    inputs_digest: String,
    fields: std::collections::BTreeMap<Field, FieldProposal>,
    inputs: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// What the model layer did; `skipped` with a reason when no model was asked (yet).
    llm: LlmRecord,
}

impl From<Suggestion> for SuggestionView {
    fn from(s: Suggestion) -> Self {
        let llm = s.llm.unwrap_or_else(|| {
            LlmRecord::skipped(match s.status {
                SuggestionStatus::Pending => "triage is queued",
                SuggestionStatus::Failed => "triage failed before the model was asked",
                SuggestionStatus::Done => "made before the model layer existed",
            })
        });
        Self {
            llm,
            id: s.id.0,
            ticket_id: s.ticket_id.0,
            status: s.status.as_str(),
            created_at: s.created_at,
            proposer: s.proposer,
            inputs_digest: s.inputs_digest,
            fields: s.fields,
            inputs: s.inputs,
            error: s.error,
        }
    }
}

#[derive(Serialize)]
struct SuggestionList {
    suggestions: Vec<SuggestionView>,
}

/// `GET /api/v1/tickets/{id}/suggestions`: newest first.
async fn suggestions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<SuggestionList>, Error> {
    caller.may(Action::ReadSuggestions)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    let list = state.store.suggestions_for(detail.ticket.id).await?;
    Ok(Json(SuggestionList {
        suggestions: list.into_iter().map(SuggestionView::from).collect(),
    }))
}

/// `POST /api/v1/tickets/{id}/triage`: runs (or queues) a new triage and waits for it up to
/// `triage.wait`: 201 with the finished suggestion, or 202 with the pending one, whose status
/// `GET .../suggestions` shows until a worker fills it in.
async fn triage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SuggestionView>), Error> {
    caller.may(Action::RunTriage)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    let suggestion = state
        .triage
        .request_and_wait(
            detail.ticket.id,
            detail.ticket.tenant_id,
            &Actor::user(&caller.name),
        )
        .await
        .map_err(triage_error)?;
    let status = match suggestion.status {
        SuggestionStatus::Pending => StatusCode::ACCEPTED,
        SuggestionStatus::Done | SuggestionStatus::Failed => StatusCode::CREATED,
    };
    Ok((status, Json(SuggestionView::from(suggestion))))
}

/// Store errors keep their meaning (404, 409); anything else is the service's fault.
pub(crate) fn triage_error(err: crate::triage::TriageError) -> Error {
    match err {
        crate::triage::TriageError::Store(e) => Error::from(e),
        other => Error::Internal(other.into()),
    }
}
