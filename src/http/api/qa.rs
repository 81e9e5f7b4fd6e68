//! QA over JSON and CSV: `GET /qa/agreement` (figures per field) and `GET /qa/agreement.csv`
//! (the underlying rows for auditors). Only `qa` and `admin` read them.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::tickets::resolve_visible_tenant;
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::suggestion::Field;
use crate::domain::user::{Action, User};
use crate::http::error::Error;
use crate::http::extract::{ApiQuery, Caller};
use crate::report::agreement::{Agreement, AgreementRow, agreement, disagreements};
use crate::store::{DecidedQuery, Visibility};

/// Decisions read for one report at most; the answer says when it was cut.
pub(crate) const MAX_DECISIONS: u32 = 50_000;
const DISAGREEMENTS_SHOWN: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/qa/agreement", get(show))
        .route("/qa/agreement.csv", get(export))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementParams {
    pub tenant: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub field: Option<String>,
}

/// The rows of a report and the filters they were read with.
pub(crate) struct Loaded {
    pub rows: Vec<AgreementRow>,
    pub tenant: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub field: Option<Field>,
    pub truncated: bool,
}

#[derive(Serialize)]
struct AgreementPage<'a> {
    tenant: Option<&'a str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    field: Option<&'static str>,
    /// More decisions matched than one report reads; narrow the range.
    truncated: bool,
    #[serde(flatten)]
    figures: Agreement,
    disagreements: Vec<&'a AgreementRow>,
}

async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AgreementParams>,
) -> Result<Json<serde_json::Value>, Error> {
    let loaded = load(&state, &caller, &params).await?;
    let page = AgreementPage {
        tenant: loaded.tenant.as_deref(),
        from: loaded.from,
        to: loaded.to,
        field: loaded.field.map(Field::as_str),
        truncated: loaded.truncated,
        figures: agreement(&loaded.rows),
        disagreements: disagreements(&loaded.rows, DISAGREEMENTS_SHOWN),
    };
    let value = serde_json::to_value(&page).map_err(|e| Error::Internal(e.into()))?;
    Ok(Json(value))
}

async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AgreementParams>,
) -> Result<Response, Error> {
    let loaded = load(&state, &caller, &params).await?;
    csv_response(&loaded.rows)
}

/// The rows as a CSV download.
pub(crate) fn csv_response(rows: &[AgreementRow]) -> Result<Response, Error> {
    let mut body = Vec::new();
    crate::report::csv_export::write_csv(rows, &mut body)
        .map_err(|e| Error::Internal(anyhow::anyhow!(e.to_string())))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"triagegate-agreement.csv\""),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Checks the caller and the filters, then reads the decided suggestions as rows.
pub(crate) async fn load(
    state: &AppState,
    caller: &User,
    params: &AgreementParams,
) -> Result<Loaded, Error> {
    caller.may(Action::ReadQa)?;
    let tenant = match params.tenant.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(resolve_visible_tenant(state, caller, raw).await?),
        None => None,
    };
    let from = params
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|raw| parse_bound("from", raw, false))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|raw| parse_bound("to", raw, true))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(FieldError::new("to", "must be after from").into());
    }
    let field = params
        .field
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|raw| {
            Field::ALL
                .into_iter()
                .find(|f| f.as_str() == raw)
                .ok_or_else(|| {
                    FieldError::new("field", "use service_group, impact, urgency or priority")
                })
        })
        .transpose()?;
    let decided = state
        .store
        .decided_suggestions(&DecidedQuery {
            visibility: Visibility::of(caller),
            tenant: tenant.as_ref().map(|t| t.id),
            from,
            to,
            limit: MAX_DECISIONS + 1,
        })
        .await?;
    let truncated = decided.len() > MAX_DECISIONS as usize;
    let decided = &decided[..decided.len().min(MAX_DECISIONS as usize)];
    let mut rows = crate::report::rows::agreement_rows(decided);
    if let Some(field) = field {
        rows.retain(|row| row.field == field.as_str());
    }
    Ok(Loaded {
        rows,
        tenant: tenant.map(|t| t.slug.to_string()),
        from,
        to,
        field,
        truncated,
    })
}

/// A date (`2026-11-01`, the whole day; `to` is inclusive) or an RFC 3339 time.
fn parse_bound(name: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(name, "use a date such as 2026-11-01 or an RFC 3339 time"))?;
    let day = if end {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}
