//! Liveness and readiness probes for orchestrators and load balancers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::error::Error;
use crate::app::AppState;

/// `GET /healthz`: the process is up.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers. The index and the model endpoint are reported but do not
/// make the service unready: while the index is rebuilt or the model's circuit is open,
/// triage goes on offline.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let index = if state.triage.index().is_ready() {
        "ready"
    } else {
        "rebuilding"
    };
    let llm = match state.triage.llm() {
        None => "none",
        Some(llm) if llm.breaker_open() => "circuit_open",
        Some(_) => "ok",
    };
    match state.store.ping().await {
        Ok(()) => Ok(Json(
            json!({ "status": "ready", "index": index, "llm": llm }),
        )),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(Error::Unavailable("the database is not reachable".into()))
        }
    }
}
