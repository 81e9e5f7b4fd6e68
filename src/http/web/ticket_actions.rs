//! The ticket page's forms: the decision (`POST /tickets/{id}/decision`) and a new proposal
//! (`POST /tickets/{id}/triage`). Both check the CSRF token, go through the same checks as the
//! JSON API, and answer with a redirect, or the page again with the reason it failed.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::WebError;
use super::form::PostedForm;
use super::ticket_page::{Flash, render};
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::decision::{ChangeStatus, DecisionDraft, FieldDraft, NextStepDraft};
use crate::domain::suggestion::{Field, SuggestionStatus};
use crate::domain::user::Action;
use crate::http::api::decisions::record;
use crate::http::api::tickets::load_visible_ticket;

pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PostedForm,
) -> Result<Response, WebError> {
    let web = &form.web;
    let suggestion = form.get("suggestion_id");
    let draft = match draft_from_form(form.fields()) {
        Ok(draft) => draft,
        Err(message) => {
            let page = render(&state, web, &id, Some(Flash::error(message))).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match record(&state, &web.user, suggestion, &draft, Some(id.as_str())).await {
        Ok(recorded) => {
            let waits = recorded
                .priority_change
                .is_some_and(|c| c.status == ChangeStatus::Pending);
            let notice = if waits { "approval" } else { "decided" };
            Ok(Redirect::to(&format!("/tickets/{id}?notice={notice}")).into_response())
        }
        // Bad input and stale pages show the page again with the reason; the rest are errors.
        Err(err) if matches!(err.status().as_u16(), 409 | 422) => {
            let status = err.status();
            let page = render(&state, web, &id, Some(Flash::error(err.to_string()))).await?;
            Ok((status, page).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

pub async fn triage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PostedForm,
) -> Result<Response, WebError> {
    let web = &form.web;
    web.user.may(Action::RunTriage)?;
    let detail = load_visible_ticket(&state, &web.user, &id).await?;
    let suggestion = state
        .triage
        .request_and_wait(
            detail.ticket.id,
            detail.ticket.tenant_id,
            &Actor::user(&web.user.name),
        )
        .await
        .map_err(crate::http::api::triage::triage_error)?;
    let notice = match suggestion.status {
        SuggestionStatus::Pending => "triage_queued",
        SuggestionStatus::Done | SuggestionStatus::Failed => "triaged",
    };
    Ok(Redirect::to(&format!("/tickets/{id}?notice={notice}")).into_response())
}

/// Reads `<field>_action` (`skip`, `accept`, `override`), `<field>_value`,
/// `<field>_reason_code`, `<field>_reason` and `next_text`, `next_owner`, `next_due`, and the
/// ticket version the page showed.
fn draft_from_form(form: &HashMap<String, String>) -> Result<DecisionDraft, String> {
    let get = |key: &str| form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut fields = std::collections::BTreeMap::new();
    for field in Field::ALL {
        let name = field.as_str();
        let action = get(&format!("{name}_action")).unwrap_or("skip");
        if action == "skip" {
            continue;
        }
        let overriding = action == "override";
        fields.insert(
            name.to_string(),
            FieldDraft {
                action: action.to_string(),
                // Accepting keeps the suggested value; a value picked beside it is ignored.
                value: get(&format!("{name}_value"))
                    .filter(|_| overriding)
                    .map(str::to_string),
                reason: get(&format!("{name}_reason")).map(str::to_string),
                reason_code: get(&format!("{name}_reason_code"))
                    .filter(|_| overriding)
                    .map(str::to_string),
            },
        );
    }
    let ticket_version = get("ticket_version")
        .map(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw)
                .map(|v| v.with_timezone(&chrono::Utc))
                .map_err(|_| "The form is damaged (ticket version); reload the page.".to_string())
        })
        .transpose()?;
    Ok(DecisionDraft {
        fields,
        next_step: Some(NextStepDraft {
            text: get("next_text").map(str::to_string),
            owner: get("next_owner").map(str::to_string),
            due: get("next_due").map(str::to_string),
        }),
        ticket_version,
    })
}
