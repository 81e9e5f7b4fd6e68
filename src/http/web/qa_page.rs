//! The QA page (`GET /qa`) and its CSV export (`GET /qa/export.csv`): the AI-vs-human agreement
//! figures per field as tables and SVG charts, the disagreements, and the rows for auditors.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::Response;

use super::error::WebError;
use super::session::WebUser;
use super::view::{self, Choice, Nav};
use crate::app::AppState;
use crate::domain::suggestion::Field;
use crate::http::api::qa::{AgreementParams, csv_response, load};
use crate::report::agreement::{FieldAgreement, GroupAgreement, agreement, disagreements};
use crate::report::svg;

const DISAGREEMENTS_SHOWN: usize = 100;

pub struct FieldSummary {
    pub field: String,
    pub label: &'static str,
    pub decided: usize,
    pub accepted: usize,
    pub overrides: usize,
    pub acceptance: String,
    pub override_rate: String,
    pub abstained: usize,
    pub abstention: String,
    pub agreement: String,
    pub ece: String,
    /// Inline SVG built by `report::svg`, which escapes every text it draws.
    pub reliability_svg: String,
    pub groups: Vec<(&'static str, Vec<GroupLine>)>,
    pub reasons: Vec<(String, usize, String)>,
    pub confusion: Vec<(String, String, usize)>,
}

pub struct GroupLine {
    pub key: String,
    pub decided: usize,
    pub overrides: usize,
    pub acceptance: String,
    pub agreement: String,
}

pub struct DisagreementLine {
    pub ticket_id: String,
    pub tenant: String,
    pub field: String,
    pub suggested: String,
    pub decided: String,
    pub confidence: String,
    pub reason: String,
    pub by: String,
    pub when: String,
    pub approval: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "qa.html")]
pub struct QaPage {
    pub nav: Nav,
    pub tenants: Vec<Choice>,
    pub fields_choice: Vec<Choice>,
    pub from: String,
    pub to: String,
    pub decisions: usize,
    pub truncated: bool,
    pub summaries: Vec<FieldSummary>,
    /// Inline SVG of the override rate per field.
    pub overrides_svg: String,
    pub disagreements: Vec<DisagreementLine>,
    pub export_href: String,
}

pub async fn show(
    State(state): State<AppState>,
    web: WebUser,
    Query(params): Query<AgreementParams>,
) -> Result<QaPage, WebError> {
    let loaded = load(&state, &web.user, &params).await?;
    let figures = agreement(&loaded.rows);
    let summaries: Vec<FieldSummary> = figures
        .fields
        .iter()
        .map(|(field, f)| summary(field, f))
        .collect();
    let bars: Vec<(String, f64)> = summaries
        .iter()
        .filter_map(|s| {
            figures.fields[&s.field]
                .override_rate
                .map(|r| (s.label.to_string(), r * 100.0))
        })
        .collect();
    let tenants = view::visible_tenants(&state, &web.user).await?;
    let current_tenant = params.tenant.clone().unwrap_or_default();
    let current_field = params.field.clone().unwrap_or_default();
    Ok(QaPage {
        nav: web.nav().at("qa"),
        tenants: tenants
            .iter()
            .map(|t| Choice::new(t.slug.as_str(), t.slug.as_str(), &current_tenant))
            .collect(),
        fields_choice: Field::ALL
            .iter()
            .map(|f| Choice::new(f.as_str(), view::field_label(*f), &current_field))
            .collect(),
        from: params.from.clone().unwrap_or_default(),
        to: params.to.clone().unwrap_or_default(),
        decisions: figures.decisions,
        truncated: loaded.truncated,
        overrides_svg: svg::bar_chart("Override rate by field", &bars, 100.0, " %"),
        disagreements: disagreements(&loaded.rows, DISAGREEMENTS_SHOWN)
            .into_iter()
            .map(|r| DisagreementLine {
                ticket_id: r.ticket_id.to_string(),
                tenant: r.tenant.clone(),
                field: r.field.clone(),
                suggested: r
                    .suggested
                    .clone()
                    .unwrap_or_else(|| "no suggestion".into()),
                decided: r.decided.clone().unwrap_or_default(),
                confidence: format!("{:.0} %", r.confidence * 100.0),
                reason: match (&r.reason_code, &r.reason) {
                    (Some(code), Some(text)) => format!("{code}: {text}"),
                    (None, Some(text)) => text.clone(),
                    (Some(code), None) => code.clone(),
                    (None, None) => String::new(),
                },
                by: r.decided_by.clone(),
                when: view::when(r.decided_at),
                approval: r.approval_status.clone().unwrap_or_default(),
            })
            .collect(),
        export_href: export_href(&params),
        summaries,
    })
}

pub async fn export(
    State(state): State<AppState>,
    web: WebUser,
    Query(params): Query<AgreementParams>,
) -> Result<Response, WebError> {
    let loaded = load(&state, &web.user, &params).await?;
    Ok(csv_response(&loaded.rows)?)
}

fn summary(field: &str, f: &FieldAgreement) -> FieldSummary {
    let label = Field::ALL
        .into_iter()
        .find(|x| x.as_str() == field)
        .map_or("Other", view::field_label);
    let groups = |lines: &[GroupAgreement]| -> Vec<GroupLine> {
        lines
            .iter()
            .map(|g| GroupLine {
                key: g.key.clone(),
                decided: g.decided,
                overrides: g.overrides,
                acceptance: percent(g.acceptance_rate),
                agreement: percent(g.agreement_rate),
            })
            .collect()
    };
    FieldSummary {
        field: field.to_string(),
        label,
        decided: f.decided,
        accepted: f.accepted,
        overrides: f.overrides,
        acceptance: percent(f.acceptance_rate),
        override_rate: percent(f.override_rate),
        abstained: f.abstained,
        abstention: percent(f.abstention_rate),
        agreement: percent(f.agreement_rate),
        ece: f.calibration.ece.map_or("—".into(), |e| format!("{e:.3}")),
        reliability_svg: svg::reliability_diagram(&f.calibration.bins),
        groups: vec![
            ("Source", groups(&f.by_source)),
            ("Model", groups(&f.by_proposer)),
            ("Prompt", groups(&f.by_prompt)),
        ],
        reasons: f
            .top_override_reasons
            .iter()
            .map(|r| (r.code.clone(), r.count, r.examples.join(" · ")))
            .collect(),
        confusion: f
            .confusion
            .cells
            .iter()
            .map(|c| (c.suggested.clone(), c.decided.clone(), c.count))
            .collect(),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or("—".into(), |r| format!("{:.0} %", r * 100.0))
}

/// The export link with the page's filters, URL-encoded.
fn export_href(params: &AgreementParams) -> String {
    let pairs = [
        ("tenant", &params.tenant),
        ("from", &params.from),
        ("to", &params.to),
        ("field", &params.field),
    ];
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", url_encode(v)))
        })
        .collect();
    if query.is_empty() {
        "/qa/export.csv".into()
    } else {
        format!("/qa/export.csv?{}", query.join("&"))
    }
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
