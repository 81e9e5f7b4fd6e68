//! A citation's lines (`GET /tickets/{id}/attachments/{aid}/lines?from=&to=&mark=`): the raw
//! lines of an attached log, numbered as the digest numbers them, so a template's line range
//! opens on the lines it came from. Plain or gzip, read through the digest's own line reader.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use uuid::Uuid;

use super::error::WebError;
use super::session::WebUser;
use super::view::Nav;
use crate::app::AppState;
use crate::domain::attachment::AttachmentId;
use crate::domain::user::Action;
use crate::http::api::tickets::load_visible_ticket;

/// Lines shown on one page at most.
const MAX_LINES: u64 = 500;
/// Characters of one line shown; longer lines are cut and say so.
const MAX_LINE_CHARS: usize = 2_000;

#[derive(Debug, Deserialize)]
pub struct LinesParams {
    from: Option<u64>,
    to: Option<u64>,
    mark: Option<u64>,
}

pub struct NumberedLine {
    pub number: u64,
    pub text: String,
    pub marked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "lines.html")]
pub struct LinesPage {
    pub nav: Nav,
    pub ticket_id: String,
    pub ticket_title: String,
    pub name: String,
    pub from: u64,
    pub to: u64,
    pub lines: Vec<NumberedLine>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    web: WebUser,
    Path((id, attachment)): Path<(String, String)>,
    Query(params): Query<LinesParams>,
) -> Result<LinesPage, WebError> {
    web.user.may(Action::ReadTicket)?;
    let detail = load_visible_ticket(&state, &web.user, &id).await?;
    let attachment_id = Uuid::parse_str(&attachment)
        .map(AttachmentId)
        .map_err(|_| WebError::NotFound("no such attachment".into()))?;
    let file = state
        .store
        .attachment(detail.ticket.id, attachment_id)
        .await?;
    // Any number may come in the query; nothing here may overflow.
    let from = params.from.unwrap_or(1).clamp(1, u64::MAX - 2 * MAX_LINES);
    let last = from + MAX_LINES - 1;
    let to = params.to.unwrap_or(last).clamp(from, last);
    let limits = crate::digest::DigestOptions::from_config(&state.config.digest).input;
    let content = file.content;
    let mark = params.mark;
    let lines = tokio::task::spawn_blocking(move || read_lines(&content, limits, from, to, mark))
        .await
        .map_err(WebError::internal)?
        .map_err(|e| WebError::Unprocessable(format!("the log cannot be read: {e}")))?;
    let base = format!("/tickets/{id}/attachments/{attachment}/lines");
    let span = to - from + 1;
    Ok(LinesPage {
        nav: web.nav().at("queue"),
        ticket_id: detail.ticket.id.to_string(),
        ticket_title: detail.ticket.title,
        name: file.meta.name,
        previous: (from > 1).then(|| {
            let start = from.saturating_sub(span).max(1);
            format!("{base}?from={start}&to={}", from - 1)
        }),
        next: (lines.len() as u64 == span)
            .then(|| format!("{base}?from={}&to={}", to + 1, to + span)),
        from,
        to,
        lines,
    })
}

fn read_lines(
    content: &[u8],
    limits: crate::digest::input::InputLimits,
    from: u64,
    to: u64,
    mark: Option<u64>,
) -> Result<Vec<NumberedLine>, crate::digest::InputError> {
    let mut number = 0u64;
    let mut lines = Vec::new();
    crate::digest::input::for_each_line(content, limits, |raw| {
        number += 1;
        if (from..=to).contains(&number) {
            let text = String::from_utf8_lossy(raw);
            let mut shown: String = text.chars().take(MAX_LINE_CHARS).collect();
            if shown.len() < text.len() {
                shown.push_str(" …");
            }
            lines.push(NumberedLine {
                number,
                text: shown,
                marked: mark == Some(number),
            });
        }
    })?;
    Ok(lines)
}
