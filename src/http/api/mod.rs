//! The JSON API under `/api/v1`. One file per resource; each exposes a `router()`.

mod audit;
pub(crate) mod decisions;
mod jobs;
pub mod qa;
mod ticket_input;
mod ticket_view;
pub(crate) mod tickets;
pub(crate) mod triage;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(tickets::router())
        .merge(audit::router())
        .merge(triage::router())
        .merge(decisions::router())
        .merge(qa::router())
        .merge(jobs::router())
}
