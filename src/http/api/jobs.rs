//! Triage jobs for admins: `GET /api/v1/admin/jobs?status=dead`, `GET /api/v1/admin/jobs/{id}`
//! and `POST /api/v1/admin/jobs/{id}/retry`, which queues a new triage of a dead job's ticket
//! (the dead job and its failed suggestion stay as the record of what went wrong).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::triage::SuggestionView;
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::FieldError;
use crate::domain::job::{JobId, JobStatus, TriageJob};
use crate::domain::user::{Action, TenantAccess, User};
use crate::http::error::Error;
use crate::http::extract::{ApiQuery, Caller};

const MAX_LIMIT: u32 = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/jobs", get(list))
        .route("/admin/jobs/{id}", get(show))
        .route("/admin/jobs/{id}/retry", post(retry))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct JobList {
    jobs: Vec<TriageJob>,
}

/// `GET /api/v1/admin/jobs`: newest first, of the tenants the admin may see.
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<JobList>, Error> {
    caller.may(Action::ManageJobs)?;
    let status = params
        .status
        .as_deref()
        .map(|raw| {
            JobStatus::parse(raw)
                .ok_or_else(|| FieldError::new("status", "use queued, running, done or dead"))
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(FieldError::new("limit", format!("must be between 1 and {MAX_LIMIT}")).into());
    }
    // Filtered in the query, before the limit, so a page is full whatever the tenants.
    let jobs = match &caller.tenants {
        TenantAccess::All => state.store.jobs(status, None, limit).await?,
        TenantAccess::Only(tenants) => {
            let mut jobs = Vec::new();
            for tenant in tenants {
                jobs.extend(state.store.jobs(status, Some(*tenant), limit).await?);
            }
            jobs.sort_by_key(|j| std::cmp::Reverse((j.created_at, j.id.0)));
            jobs.truncate(limit as usize);
            jobs
        }
    };
    Ok(Json(JobList { jobs }))
}

async fn visible_job(state: &AppState, caller: &User, raw: &str) -> Result<TriageJob, Error> {
    let not_found = || Error::NotFound(format!("triage job {raw} not found"));
    let id = uuid::Uuid::parse_str(raw).map_err(|_| not_found())?;
    let job = state.store.job(JobId(id)).await?;
    if !caller.sees_tenant(job.tenant_id) {
        return Err(not_found());
    }
    Ok(job)
}

/// `GET /api/v1/admin/jobs/{id}`.
async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<TriageJob>, Error> {
    caller.may(Action::ManageJobs)?;
    Ok(Json(visible_job(&state, &caller, &id).await?))
}

/// `POST /api/v1/admin/jobs/{id}/retry`: 202 with the new pending suggestion; 409 unless the
/// job is dead (a queued or running job will still run; a done one needs a new triage instead).
async fn retry(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SuggestionView>), Error> {
    caller.may(Action::ManageJobs)?;
    let job = visible_job(&state, &caller, &id).await?;
    if job.status != JobStatus::Dead {
        return Err(Error::Conflict(format!(
            "triage job {id} is {}; only a dead job can be retried",
            job.status.as_str()
        )));
    }
    let pending = state
        .triage
        .request(job.ticket_id, job.tenant_id, &Actor::user(&caller.name))
        .await
        .map_err(super::triage::triage_error)?;
    Ok((StatusCode::ACCEPTED, Json(SuggestionView::from(pending))))
}
