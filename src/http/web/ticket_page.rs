//! The ticket page (`GET /tickets/{id}`): what was reported, the log digest with citations, the
//! similar past cases, the machine's proposal per field with its evidence, the decision form,
//! the decisions and priority changes so far, and the audit history.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::error::WebError;
use super::session::WebUser;
use super::view::{self, Choice, Nav, Proposal, SlaView};
use crate::app::AppState;
use crate::digest::Digest;
use crate::digest::attachments::LogEvidence;
use crate::domain::decision::ReasonCode;
use crate::domain::severity::Level;
use crate::domain::suggestion::{Field, Suggestion, SuggestionStatus};
use crate::domain::ticket::{Priority, TicketDetail};
use crate::domain::user::Action;
use crate::http::api::tickets::load_visible_ticket;

/// Similar past cases shown on the page.
pub const SIMILAR_SHOWN: usize = 20;
/// Lines of a log shown by one citation link.
const CITATION_LINES: u64 = 40;

#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    #[serde(default)]
    pub notice: String,
}

pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
        }
    }

    /// The message a redirect after a successful form names in `?notice=`.
    pub fn from_notice(notice: &str) -> Option<Self> {
        let text = match notice {
            "decided" => "Decision recorded.",
            "approval" => "Decision recorded. The priority change waits for an approver.",
            "triaged" => "A new suggestion was made.",
            "triage_queued" => {
                "Triage is queued; the suggestion appears here when a worker has made it."
            }
            "approved" => "Approved: the ticket's priority changed.",
            "rejected" => "Rejected: the ticket's priority stays.",
            _ => return None,
        };
        Some(Self::ok(text))
    }
}

pub struct AttachmentLine {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size: String,
}

pub struct DigestBlock {
    pub attachment_id: String,
    pub name: String,
    pub lines: u64,
    pub skipped: Option<String>,
    pub templates: Vec<TemplateLine>,
    pub warnings: Vec<String>,
}

pub struct TemplateLine {
    pub severity: &'static str,
    pub count: u64,
    pub lines: String,
    pub href: String,
    pub template: String,
    pub example: String,
    pub times: String,
    pub burst: bool,
}

pub struct SimilarLine {
    pub case_id: String,
    pub label: String,
    pub title: String,
    pub score: String,
    pub group: String,
    pub priority: Option<String>,
    pub resolution: String,
    pub terms: String,
}

/// One field of the decision form.
pub struct FormField {
    pub field: &'static str,
    pub label: &'static str,
    /// The suggested value, when there is one to accept.
    pub suggested: Option<String>,
    /// Values to pick from; empty means free text (the service group).
    pub options: Vec<String>,
    /// Groups seen in the proposal's evidence, offered as suggestions for the free text.
    pub known: Vec<String>,
}

pub struct DecisionLine {
    pub when: String,
    pub by: String,
    pub superseded: bool,
    pub fields: Vec<(String, String)>,
    pub next_step: String,
}

pub struct ChangeLine {
    pub from: String,
    pub to: String,
    pub status: &'static str,
    pub requested_by: String,
    pub decided: String,
}

pub struct EventLine {
    pub seq: i64,
    pub when: String,
    pub actor: String,
    pub action: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ticket.html")]
pub struct TicketPage {
    pub nav: Nav,
    pub flash: Option<Flash>,
    pub id: String,
    /// The ticket's `updated_at`, sent back with the decision so a stale page is refused.
    pub version: String,
    pub title: String,
    pub description: String,
    pub tenant: String,
    pub stage: &'static str,
    pub open: bool,
    pub priority: Option<&'static str>,
    /// A priority change waiting for an approver, or out of date because the ticket changed.
    pub pending_priority: Option<String>,
    pub group: Option<String>,
    pub requester: Option<String>,
    pub next_step: Option<String>,
    pub created: String,
    pub sla: Option<SlaView>,
    pub attachments: Vec<AttachmentLine>,
    pub digests: Vec<DigestBlock>,
    pub similar: Vec<SimilarLine>,
    pub similar_note: Option<String>,
    pub suggestion_id: Option<String>,
    pub suggestion_status: Option<&'static str>,
    pub suggestion_error: Option<String>,
    pub suggestion_meta: String,
    /// What the model answered for the latest suggestion, when one was asked.
    pub model: Option<super::model_view::ModelView>,
    pub proposals: Vec<Proposal>,
    pub can_decide: bool,
    pub can_triage: bool,
    pub form: Vec<FormField>,
    pub reasons: Vec<Choice>,
    pub owner_default: String,
    /// A next-step due time to start from: the SLA due time, else four hours from now.
    pub due_default: String,
    pub decisions: Vec<DecisionLine>,
    pub changes: Vec<ChangeLine>,
    pub events: Vec<EventLine>,
}

pub async fn show(
    State(state): State<AppState>,
    web: WebUser,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<TicketPage, WebError> {
    render(&state, &web, &id, Flash::from_notice(&params.notice)).await
}

/// Builds the page; the decision and triage forms render it again with their outcome.
pub async fn render(
    state: &AppState,
    web: &WebUser,
    raw_id: &str,
    flash: Option<Flash>,
) -> Result<TicketPage, WebError> {
    let user = &web.user;
    user.may(Action::ReadSuggestions)?;
    let detail = load_visible_ticket(state, user, raw_id).await?;
    let ticket_id = detail.ticket.id;
    let similar = state
        .triage
        .similar(&detail, SIMILAR_SHOWN)
        .await
        .map_err(crate::http::api::triage::triage_error)?;
    let suggestions = state.store.suggestions_for(ticket_id).await?;
    let latest = suggestions.first();
    let decisions = state.store.decisions_for(ticket_id).await?;
    let changes = state.store.priority_changes_for(ticket_id).await?;
    let events = if user.role.allows(Action::ReadTicketAudit) {
        state
            .store
            .audit_events_for("ticket", &ticket_id.to_string())
            .await?
    } else {
        Vec::new()
    };
    let now = crate::domain::now();
    let proposed = latest
        .and_then(|s| s.fields.get(&Field::Priority))
        .and_then(|p| p.value.as_deref())
        .and_then(|v| Priority::parse(v).ok());
    let TicketDetail {
        ticket,
        attachments,
    } = detail;
    let sla =
        crate::domain::sla::SlaClock::of(&ticket, proposed, &state.config.triage.severity, now)
            .map(SlaView::from);
    let open = ticket.stage.is_open();
    let can_decide = open
        && user.role.allows(Action::Decide)
        && latest.is_some_and(|s| s.status == SuggestionStatus::Done);
    let superseded: std::collections::HashSet<_> =
        decisions.iter().filter_map(|d| d.supersedes).collect();
    Ok(TicketPage {
        nav: web.nav().at("queue"),
        flash,
        id: ticket_id.to_string(),
        digests: digest_blocks(&ticket_id.to_string(), &similar.logs),
        attachments: attachments
            .iter()
            .map(|a| AttachmentLine {
                id: a.id.0.to_string(),
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                size: human_size(a.size),
            })
            .collect(),
        similar: similar.hits.iter().map(similar_line).collect(),
        similar_note: similar.unavailable.clone(),
        suggestion_id: latest.map(|s| s.id.to_string()),
        suggestion_status: latest.map(|s| s.status.as_str()),
        suggestion_error: latest.and_then(|s| s.error.clone()),
        suggestion_meta: latest.map(suggestion_meta).unwrap_or_default(),
        model: super::model_view::ModelView::of(
            latest.and_then(|s| s.llm.as_ref()),
            &ticket_id.to_string(),
            only_log(&similar.logs).as_deref(),
            CITATION_LINES,
        ),
        proposals: latest
            .map(|s| {
                s.fields
                    .iter()
                    .map(|(field, p)| Proposal::new(*field, p))
                    .collect()
            })
            .unwrap_or_default(),
        can_decide,
        can_triage: open && user.role.allows(Action::RunTriage),
        form: latest.map(form_fields).unwrap_or_default(),
        reasons: ReasonCode::ALL
            .iter()
            .map(|c| Choice::new(c.as_str(), c.label(), ""))
            .collect(),
        owner_default: user.name.clone(),
        due_default: sla
            .as_ref()
            .map(|s| s.due_at)
            .unwrap_or(now + chrono::TimeDelta::hours(4))
            .format("%Y-%m-%dT%H:%M")
            .to_string(),
        decisions: decisions
            .iter()
            .map(|d| DecisionLine {
                when: view::when(d.created_at),
                by: d.decided_by.clone(),
                superseded: superseded.contains(&d.id),
                fields: d
                    .fields
                    .iter()
                    .map(|(field, f)| {
                        let mut text = format!("{} {}", f.action.as_str(), f.value);
                        if let Some(reason) = &f.reason {
                            let code = f.reason_code.map(|c| c.label()).unwrap_or("Other");
                            text.push_str(&format!(" — {code}: {reason}"));
                        }
                        (view::field_label(*field).to_string(), text)
                    })
                    .collect(),
                next_step: d
                    .next_step
                    .as_ref()
                    .map(view::next_step)
                    .unwrap_or_default(),
            })
            .collect(),
        changes: changes
            .iter()
            .map(|c| ChangeLine {
                from: c
                    .from
                    .map(|p| p.as_str().to_string())
                    .unwrap_or("none".into()),
                to: c.to.as_str().to_string(),
                status: c.status.as_str(),
                requested_by: c.requested_by.clone(),
                decided: view::verdict(c),
            })
            .collect(),
        events: events
            .iter()
            .rev()
            .map(|e| EventLine {
                seq: e.seq,
                when: view::when(e.created_at),
                actor: e.actor.clone(),
                action: e.action.clone(),
            })
            .collect(),
        version: ticket
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        title: ticket.title,
        description: ticket.description,
        tenant: ticket.tenant.to_string(),
        stage: ticket.stage.as_str(),
        open,
        priority: ticket.priority.map(Priority::as_str),
        pending_priority: changes
            .iter()
            .find(|c| c.status == crate::domain::decision::ChangeStatus::Pending)
            .map(|c| {
                if c.ticket_version == ticket.updated_at {
                    format!("{} waits for approval", c.to.as_str())
                } else {
                    format!("{} request is out of date: decide again", c.to.as_str())
                }
            }),
        group: ticket.service_group,
        requester: ticket.requester,
        next_step: ticket.next_step.as_ref().map(view::next_step),
        created: view::when(ticket.created_at),
        sla,
    })
}

/// The one digested log of the ticket, when it has exactly one: the log a citation points into.
fn only_log(logs: &LogEvidence) -> Option<String> {
    let mut digested = logs.attachments.iter().filter(|a| a.skipped.is_none());
    match (digested.next(), digested.next()) {
        (Some(only), None) => Some(only.attachment_id.to_string()),
        _ => None,
    }
}

fn digest_blocks(ticket_id: &str, logs: &LogEvidence) -> Vec<DigestBlock> {
    // Digests exist only for the attachments that were digested, in the same order.
    let mut digests = logs.digests.iter();
    logs.attachments
        .iter()
        .map(|a| {
            let digest: Option<&Digest> = if a.skipped.is_none() {
                digests.next().map(|d| &**d)
            } else {
                None
            };
            let attachment_id = a.attachment_id.to_string();
            DigestBlock {
                templates: digest
                    .map(|d| {
                        d.templates
                            .iter()
                            .map(|t| template_line(ticket_id, &attachment_id, t))
                            .collect()
                    })
                    .unwrap_or_default(),
                warnings: digest.map(|d| d.warnings.clone()).unwrap_or_default(),
                attachment_id,
                name: a.name.clone(),
                lines: a.lines,
                skipped: a.skipped.clone(),
            }
        })
        .collect()
}

fn template_line(
    ticket_id: &str,
    attachment_id: &str,
    t: &crate::digest::Template,
) -> TemplateLine {
    let to = t.last_line.min(t.first_line + CITATION_LINES - 1);
    TemplateLine {
        severity: t.severity.as_str(),
        count: t.count,
        lines: if t.first_line == t.last_line {
            format!("L{}", t.first_line)
        } else {
            format!("L{}–L{}", t.first_line, t.last_line)
        },
        href: format!(
            "/tickets/{ticket_id}/attachments/{attachment_id}/lines?from={}&to={to}&mark={}",
            t.first_line, t.first_line
        ),
        template: t.template.clone(),
        example: t.example.clone(),
        times: match (&t.first_time, &t.last_time) {
            (Some(first), Some(last)) if first != last => format!("{first} … {last}"),
            (Some(first), _) => first.clone(),
            _ => String::new(),
        },
        burst: t.burst,
    }
}

fn similar_line(hit: &crate::search::Hit) -> SimilarLine {
    SimilarLine {
        label: hit
            .external_id
            .clone()
            .unwrap_or_else(|| view::short_id(&hit.case_id)),
        case_id: hit.case_id.clone(),
        title: hit.title.clone(),
        score: format!("{:.2}", hit.score),
        group: hit.service_group.clone().unwrap_or_else(|| "—".into()),
        priority: hit.priority.clone(),
        resolution: hit.resolution.clone(),
        terms: hit.matched_terms.join(", "),
    }
}

fn suggestion_meta(s: &Suggestion) -> String {
    format!(
        "{} · {} · inputs {}",
        s.proposer,
        view::when(s.created_at),
        view::short_id(&s.inputs_digest)
    )
}

fn form_fields(s: &Suggestion) -> Vec<FormField> {
    let levels: Vec<String> = [Level::High, Level::Medium, Level::Low]
        .iter()
        .map(|l| l.as_str().to_string())
        .collect();
    Field::ALL
        .into_iter()
        .map(|field| {
            let proposal = s.fields.get(&field);
            let suggested = proposal
                .filter(|p| !p.abstained)
                .and_then(|p| p.value.clone());
            let options = match field {
                Field::ServiceGroup => Vec::new(),
                Field::Impact | Field::Urgency => levels.clone(),
                Field::Priority => Priority::ALL
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
            };
            let mut known: Vec<String> = if field == Field::ServiceGroup {
                proposal
                    .map(|p| {
                        p.evidence
                            .neighbours
                            .iter()
                            .filter_map(|n| n.value.clone())
                            .chain(p.evidence.candidate.clone())
                            .chain(p.evidence.alternatives.iter().map(|(v, _)| v.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            known.sort();
            known.dedup();
            FormField {
                field: field.as_str(),
                label: view::field_label(field),
                suggested,
                options,
                known,
            }
        })
        .collect()
}

fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1_048_576.0 {
        format!("{:.1} MiB", bytes / 1_048_576.0)
    } else if bytes >= 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
