//! The L1 queue (`GET /`): open tickets of the tenants the user may see, most urgent first and
//! newest first within a priority, with the SLA clock and the machine's proposal at a glance.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::error::WebError;
use super::session::WebUser;
use super::view::{self, Nav, Proposal, SlaView};
use crate::app::AppState;
use crate::domain::suggestion::Field;
use crate::domain::ticket::{Priority, Stage};
use crate::domain::user::Action;
use crate::store::{QueueItem, QueueQuery, Visibility};

/// Open tickets read for one queue page; older ones are reached by filtering.
const QUEUE_LIMIT: u32 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    group: String,
}

pub struct QueueLine {
    pub id: String,
    pub title: String,
    pub tenant: String,
    pub stage: &'static str,
    pub priority: Option<&'static str>,
    pub group: Option<String>,
    pub created: String,
    pub sla: Option<SlaView>,
    pub proposal: Vec<Proposal>,
    pub suggestion_status: Option<&'static str>,
    pub next_owner: Option<String>,
    rank: (u8, std::cmp::Reverse<uuid::Uuid>),
}

#[derive(Template, WebTemplate)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub nav: Nav,
    pub lines: Vec<QueueLine>,
    pub tenants: Vec<view::Choice>,
    pub priorities: Vec<view::Choice>,
    pub stages: Vec<view::Choice>,
    pub group: String,
    pub capped: bool,
}

pub async fn show(
    State(state): State<AppState>,
    web: WebUser,
    Query(params): Query<QueueParams>,
) -> Result<QueuePage, WebError> {
    web.user.may(Action::ReadSuggestions)?;
    let tenants = view::visible_tenants(&state, &web.user).await?;
    let tenant = tenants
        .iter()
        .find(|t| t.slug.as_str() == params.tenant)
        .map(|t| t.id);
    let priority = Priority::parse(&params.priority).ok();
    let stage = Stage::parse(&params.stage).ok().filter(|s| s.is_open());
    let group = params.group.trim().to_string();
    let items = state
        .store
        .queue(&QueueQuery {
            visibility: Visibility::of(&web.user),
            tenant,
            stage,
            priority,
            service_group: (!group.is_empty()).then(|| group.clone()),
            limit: QUEUE_LIMIT,
        })
        .await?;
    let capped = items.len() as u32 >= QUEUE_LIMIT;
    let now = crate::domain::now();
    let matrix = &state.config.triage.severity;
    let mut lines: Vec<QueueLine> = items
        .into_iter()
        .map(|item| line(item, matrix, now))
        .collect();
    lines.sort_by_key(|l| l.rank);
    Ok(QueuePage {
        nav: web.nav().at("queue"),
        lines,
        tenants: tenants
            .iter()
            .map(|t| view::Choice::new(t.slug.as_str(), t.slug.as_str(), params.tenant.as_str()))
            .collect(),
        priorities: Priority::ALL
            .iter()
            .map(|p| view::Choice::new(p.as_str(), p.as_str(), params.priority.as_str()))
            .collect(),
        stages: Stage::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| view::Choice::new(s.as_str(), s.as_str(), params.stage.as_str()))
            .collect(),
        group,
        capped,
    })
}

fn line(
    item: QueueItem,
    matrix: &crate::domain::severity::SeverityMatrix,
    now: chrono::DateTime<chrono::Utc>,
) -> QueueLine {
    let ticket = item.ticket;
    let proposed = item
        .suggestion
        .as_ref()
        .and_then(|s| s.fields.get(&Field::Priority))
        .and_then(|p| p.value.as_deref())
        .and_then(|v| Priority::parse(v).ok());
    let sla = crate::domain::sla::SlaClock::of(&ticket, proposed, matrix, now).map(SlaView::from);
    // Most urgent first: the ticket's priority, else the proposal's, else after P2 (unknown
    // urgency must not sink below the known minor work); newest first within a rank.
    let rank_priority = match ticket.priority.or(proposed) {
        Some(Priority::P1) => 0,
        Some(Priority::P2) => 1,
        None => 2,
        Some(Priority::P3) => 3,
        Some(Priority::P4) => 4,
    };
    QueueLine {
        id: ticket.id.to_string(),
        title: ticket.title,
        tenant: ticket.tenant.to_string(),
        stage: ticket.stage.as_str(),
        priority: ticket.priority.map(Priority::as_str),
        group: ticket.service_group,
        created: view::when(ticket.created_at),
        sla,
        proposal: item
            .suggestion
            .as_ref()
            .map(|s| {
                [Field::ServiceGroup, Field::Priority]
                    .into_iter()
                    .filter_map(|f| s.fields.get(&f).map(|p| Proposal::new(f, p)))
                    .collect()
            })
            .unwrap_or_default(),
        suggestion_status: item.suggestion.as_ref().map(|s| s.status.as_str()),
        next_owner: ticket.next_step.and_then(|n| n.owner),
        rank: (rank_priority, std::cmp::Reverse(ticket.id.0)),
    }
}
