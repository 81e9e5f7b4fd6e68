//! Ticket endpoints: create, show, list, edit, and attachment download. A ticket of a tenant the
//! caller may not see answers 404, exactly like one that does not exist.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ticket_input::{EditBody, read_ticket_input};
use super::ticket_view::TicketView;
use crate::app::AppState;
use crate::domain::attachment::{AttachmentContent, AttachmentId};
use crate::domain::tenant::{Tenant, TenantSlug};
use crate::domain::ticket::{NewTicket, Priority, Stage, TicketDetail, TicketId};
use crate::domain::user::{Action, Role, User};
use crate::domain::{Actor, FieldError};
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ApiQuery, Caller};
use crate::store::{self, TicketQuery, Visibility};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list).post(create))
        .route("/tickets/{id}", get(show).patch(edit))
        .route("/tickets/{id}/attachments/{attachment_id}", get(attachment))
}

/// `POST /api/v1/tickets`: JSON with inline attachments, or multipart with files.
async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    request: Request,
) -> Result<Response, Error> {
    caller.may(Action::CreateTicket)?;
    let input = read_ticket_input(request, state.attachment_limits()).await?;
    let tenant = resolve_visible_tenant(&state, &caller, &input.tenant).await?;
    let mut draft = input.draft;
    if caller.role == Role::Requester {
        // A client's user always files in their own name.
        draft.requester = Some(caller.name.clone());
    }
    let mut new = NewTicket::from_draft(&tenant, draft, state.attachment_limits())?;
    if state.config.triage.on_create {
        // Queued in the ticket's own transaction; a worker proposes once it is stored, and the
        // answer does not wait for it.
        new = new.with_triage(
            "system:triage",
            state.config.triage.job_attempts,
            state.triage.proposer(),
        );
    }
    let worker = new.triage.as_mut().and_then(|job| state.triage.assign(job));
    let detail = state
        .store
        .create_ticket(&new, &Actor::user(&caller.name))
        .await?;
    if let Some(job) = &new.triage {
        state.triage.dispatch(job, worker);
    }
    let location = format!("/api/v1/tickets/{}", detail.ticket.id);
    let mut response = (StatusCode::CREATED, Json(TicketView::detail(detail))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /api/v1/tickets/{id}`.
async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketView>, Error> {
    caller.may(Action::ReadTicket)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    Ok(Json(TicketView::detail(detail)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    tenant: Option<String>,
    stage: Option<String>,
    priority: Option<String>,
    service_group: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct TicketPage {
    tickets: Vec<TicketView>,
    next_cursor: Option<String>,
}

/// `GET /api/v1/tickets`: newest first, filtered, one page at a time.
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<TicketPage>, Error> {
    caller.may(Action::ReadTicket)?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(FieldError::new("limit", format!("must be between 1 and {MAX_PAGE}")).into());
    }
    let tenant = match params.tenant.as_deref() {
        Some(slug) => Some(resolve_visible_tenant(&state, &caller, slug).await?.id),
        None => None,
    };
    let before = params
        .cursor
        .as_deref()
        .map(|raw| {
            Uuid::parse_str(raw).map(TicketId).map_err(|_| {
                Error::bad_request("invalid_cursor", "cursor is not one this API gave out")
            })
        })
        .transpose()?;
    let query = TicketQuery {
        visibility: Visibility::of(&caller),
        tenant,
        stage: params.stage.as_deref().map(Stage::parse).transpose()?,
        priority: params
            .priority
            .as_deref()
            .map(Priority::parse)
            .transpose()?,
        service_group: params.service_group,
        before,
        // One more than asked tells whether another page follows.
        limit: limit + 1,
    };
    let mut tickets = state.store.list_tickets(&query).await?;
    let next_cursor = if tickets.len() > limit as usize {
        tickets.truncate(limit as usize);
        tickets.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(Json(TicketPage {
        tickets: tickets.into_iter().map(TicketView::summary).collect(),
        next_cursor,
    }))
}

/// `PATCH /api/v1/tickets/{id}`: title, description, owner and next step only.
async fn edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Json<TicketView>, Error> {
    caller.may(Action::EditTicket)?;
    let current = load_visible_ticket(&state, &caller, &id).await?;
    let edit = body.into_edit()?;
    let detail = state
        .store
        .edit_ticket(current.ticket.id, &edit, &Actor::user(&caller.name))
        .await?;
    Ok(Json(TicketView::detail(detail)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentParams {
    /// `text` shows the content as UTF-8 text, invalid bytes replaced; default is the raw bytes.
    view: Option<String>,
}

/// `GET /api/v1/tickets/{id}/attachments/{attachment_id}`: the stored bytes, or `?view=text`.
async fn attachment(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, attachment_id)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<AttachmentParams>,
) -> Result<Response, Error> {
    caller.may(Action::ReadTicket)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    let attachment_id = Uuid::parse_str(&attachment_id)
        .map(AttachmentId)
        .map_err(|_| Error::NotFound(format!("attachment {attachment_id} not found")))?;
    let file = state
        .store
        .attachment(detail.ticket.id, attachment_id)
        .await?;
    match params.view.as_deref() {
        None | Some("raw") => Ok(raw_response(file)),
        Some("text") => Ok(text_response(&file)),
        Some(other) => Err(FieldError::new("view", format!("{other:?} is not raw or text")).into()),
    }
}

fn raw_response(file: AttachmentContent) -> Response {
    // Served as opaque bytes for download, never rendered inline, whatever type it claims.
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.meta.name.replace(
            |c: char| !c.is_ascii_graphic() || c == '"' || c == '\\',
            "_"
        )
    );
    let mut response = file.content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn text_response(file: &AttachmentContent) -> Response {
    let mut response = file.lossy_text().into_owned().into_response();
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Loads a ticket by its id as given in the path; unknown, malformed and other tenants' ids
/// all answer the same 404.
pub(crate) async fn load_visible_ticket(
    state: &AppState,
    caller: &User,
    raw_id: &str,
) -> Result<TicketDetail, Error> {
    let not_found = || Error::NotFound(format!("ticket {raw_id} not found"));
    let id = Uuid::parse_str(raw_id)
        .map(TicketId)
        .map_err(|_| not_found())?;
    let detail = match state.store.ticket(id).await {
        Ok(detail) => detail,
        Err(store::Error::NotFound { .. }) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    if !caller.sees_tenant(detail.ticket.tenant_id) {
        return Err(not_found());
    }
    Ok(detail)
}

/// Resolves a tenant slug the caller may act on; unknown and forbidden tenants look the same.
pub(super) async fn resolve_visible_tenant(
    state: &AppState,
    caller: &User,
    raw: &str,
) -> Result<Tenant, Error> {
    let not_found = || {
        Error::NotFound(format!(
            "tenant {:?} not found",
            crate::domain::tenant::truncate_for_message(raw)
        ))
    };
    let slug = TenantSlug::parse(raw).map_err(|_| not_found())?;
    let tenant = match state.store.tenant_by_slug(&slug).await {
        Ok(tenant) => tenant,
        Err(store::Error::NotFound { .. }) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    if !caller.sees_tenant(tenant.id) {
        return Err(not_found());
    }
    Ok(tenant)
}
