//! The approvals page (`GET /approvals`, `POST /approvals/{id}`): priority changes waiting for
//! an approver, with approve and reject forms, and the latest verdicts. The server refuses an
//! approver's own request whatever the page shows.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::WebError;
use super::form::PostedForm;
use super::session::WebUser;
use super::ticket_page::{Flash, PageParams};
use super::view::{self, Nav};
use crate::app::AppState;
use crate::domain::decision::ChangeStatus;
use crate::domain::user::Action;
use crate::http::api::decisions::{VerdictBody, give_verdict};
use crate::store::{ChangeListing, ChangeQuery, Visibility};

const RECENT_SHOWN: u32 = 20;
const PENDING_SHOWN: u32 = 200;

pub struct ApprovalLine {
    pub id: String,
    pub ticket_id: String,
    pub ticket_title: String,
    pub tenant: String,
    pub from: String,
    pub to: String,
    pub to_class: String,
    pub requested_by: String,
    pub requested: String,
    pub stale: bool,
    pub own: bool,
    pub status: &'static str,
    pub verdict: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals.html")]
pub struct ApprovalsPage {
    pub nav: Nav,
    pub flash: Option<Flash>,
    pub pending: Vec<ApprovalLine>,
    pub recent: Vec<ApprovalLine>,
}

pub async fn show(
    State(state): State<AppState>,
    web: WebUser,
    Query(params): Query<PageParams>,
) -> Result<ApprovalsPage, WebError> {
    render(&state, &web, Flash::from_notice(&params.notice)).await
}

pub async fn verdict(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PostedForm,
) -> Result<Response, WebError> {
    let web = &form.web;
    let approve = match form.get("verdict") {
        "approve" => true,
        "reject" => false,
        _ => {
            let page = render(&state, web, Some(Flash::error("Choose approve or reject."))).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let body = VerdictBody {
        approve,
        reason: Some(form.get("reason").to_string()),
    };
    match give_verdict(&state, &web.user, &id, &body).await {
        Ok(_) => {
            let notice = if approve { "approved" } else { "rejected" };
            Ok(Redirect::to(&format!("/approvals?notice={notice}")).into_response())
        }
        Err(err) if matches!(err.status().as_u16(), 403 | 409 | 422) => {
            let status = err.status();
            let page = render(&state, web, Some(Flash::error(err.to_string()))).await?;
            Ok((status, page).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

async fn render(
    state: &AppState,
    web: &WebUser,
    flash: Option<Flash>,
) -> Result<ApprovalsPage, WebError> {
    web.user.may(Action::Approve)?;
    let query = |status, limit| ChangeQuery {
        visibility: Visibility::of(&web.user),
        tenant: None,
        status: Some(status),
        limit,
    };
    let pending = state
        .store
        .priority_changes(&query(ChangeStatus::Pending, PENDING_SHOWN))
        .await?;
    let mut recent = state
        .store
        .priority_changes(&query(ChangeStatus::Approved, RECENT_SHOWN))
        .await?;
    recent.extend(
        state
            .store
            .priority_changes(&query(ChangeStatus::Rejected, RECENT_SHOWN))
            .await?,
    );
    recent.sort_by_key(|c| std::cmp::Reverse(c.change.decided_at));
    recent.truncate(RECENT_SHOWN as usize);
    Ok(ApprovalsPage {
        nav: web.nav().at("approvals"),
        flash,
        pending: pending.into_iter().map(|c| line(c, web)).collect(),
        recent: recent.into_iter().map(|c| line(c, web)).collect(),
    })
}

fn line(listing: ChangeListing, web: &WebUser) -> ApprovalLine {
    let c = listing.change;
    let verdict = view::verdict(&c);
    ApprovalLine {
        id: c.id.to_string(),
        ticket_id: c.ticket_id.to_string(),
        ticket_title: listing.ticket_title,
        tenant: listing.tenant.to_string(),
        from: c.from.map_or("none".into(), |p| p.as_str().to_string()),
        to: c.to.as_str().to_string(),
        to_class: c.to.as_str().to_lowercase(),
        own: c.requested_by_id == web.user.id,
        requested_by: c.requested_by,
        requested: view::when(c.created_at),
        stale: listing.stale && c.status == ChangeStatus::Pending,
        status: c.status.as_str(),
        verdict,
    }
}
