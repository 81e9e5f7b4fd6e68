//! Audit trail endpoints: a ticket's events, and verification of the whole chain.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::tickets::load_visible_ticket;
use crate::app::AppState;
use crate::domain::audit::AuditEvent;
use crate::domain::user::Action;
use crate::http::error::Error;
use crate::http::extract::Caller;
use crate::store::{self, ChainReport};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/audit", get(ticket_events))
        .route("/audit/verify", get(verify))
}

#[derive(Serialize)]
struct EventView {
    seq: i64,
    event_id: uuid::Uuid,
    actor: String,
    action: String,
    entity_type: String,
    entity_id: String,
    payload: Value,
    created_at: chrono::DateTime<chrono::Utc>,
    prev_hash: String,
    hash: String,
}

impl From<AuditEvent> for EventView {
    fn from(event: AuditEvent) -> Self {
        let payload = serde_json::from_str(&event.payload)
            .unwrap_or_else(|_| Value::String(event.payload.clone()));
        Self {
            seq: event.seq,
            event_id: event.event_id,
            actor: event.actor,
            action: event.action,
            entity_type: event.entity_type,
            entity_id: event.entity_id,
            payload,
            created_at: event.created_at,
            prev_hash: event.prev_hash,
            hash: event.hash,
        }
    }
}

#[derive(Serialize)]
struct EventList {
    events: Vec<EventView>,
}

/// `GET /api/v1/tickets/{id}/audit`: the ticket's events, oldest first.
async fn ticket_events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<EventList>, Error> {
    caller.may(Action::ReadTicketAudit)?;
    let detail = load_visible_ticket(&state, &caller, &id).await?;
    let events = state
        .store
        .audit_events_for("ticket", &detail.ticket.id.to_string())
        .await?;
    Ok(Json(EventList {
        events: events.into_iter().map(EventView::from).collect(),
    }))
}

/// `GET /api/v1/audit/verify`: recomputes the chain and names the first broken event.
async fn verify(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ChainReport>, Error> {
    caller.may(Action::VerifyAudit)?;
    Ok(Json(store::verify_audit_chain(state.store.as_ref()).await?))
}
