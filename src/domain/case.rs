//! Past cases: resolved or closed tickets, the history that similar-case search and proposals
//! learn from. Most arrive by import from the MSP's previous tool, keyed by that tool's id.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::severity::Level;
use super::tenant::TenantId;
use super::ticket::{DESCRIPTION_MAX_CHARS, Priority, TITLE_MAX_CHARS, TicketId};
use super::{FieldError, check_text};

/// Longest external id, service group and resolution accepted on import.
pub const EXTERNAL_ID_MAX_CHARS: usize = 128;
pub const SERVICE_GROUP_MAX_CHARS: usize = 120;
pub const RESOLUTION_MAX_CHARS: usize = 65_536;

/// One past case as it is indexed and learnt from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRecord {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub resolution: String,
    pub service_group: Option<String>,
    pub priority: Option<Priority>,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// How many attachments the case has; their log digests are indexed with it.
    pub attachments: u32,
}

impl CaseRecord {
    /// The text a model learns from: what the requester wrote, not how it was solved, since a
    /// new ticket has no resolution yet.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.title, self.description)
    }
}

/// The raw cells of one import row, by target column.
#[derive(Debug, Clone, Default)]
pub struct CaseDraft {
    pub external_id: String,
    pub title: String,
    pub description: Option<String>,
    pub service_group: String,
    pub priority: Option<String>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
    pub resolution: Option<String>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
}

/// A validated past case, ready to be stored as a closed ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedCase {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub external_id: String,
    pub title: String,
    pub description: String,
    pub service_group: String,
    pub priority: Option<Priority>,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub resolution: String,
    pub created_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    /// Whether the row gave either time; without, a re-import keeps the stored times instead of
    /// counting "now" as a change.
    pub times_given: bool,
}

/// What an import did with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
}

impl ImportedCase {
    /// Checks every cell and reports all problems of the row at once, so a user fixes a row in
    /// one go. A case without a closing time is taken as closed when it was opened.
    pub fn from_draft(tenant: TenantId, draft: &CaseDraft) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut keep = |result: Result<String, FieldError>| match result {
            Ok(value) => value,
            Err(err) => {
                errors.push(err);
                String::new()
            }
        };
        let external_id = keep(check_text(
            "id",
            &draft.external_id,
            1,
            EXTERNAL_ID_MAX_CHARS,
            false,
        ));
        let title = keep(check_text("title", &draft.title, 1, TITLE_MAX_CHARS, false));
        let description = keep(check_text(
            "description",
            draft.description.as_deref().unwrap_or(""),
            0,
            DESCRIPTION_MAX_CHARS,
            true,
        ));
        let service_group = keep(check_text(
            "service_group",
            &draft.service_group,
            1,
            SERVICE_GROUP_MAX_CHARS,
            false,
        ));
        let resolution = keep(check_text(
            "resolution",
            draft.resolution.as_deref().unwrap_or(""),
            0,
            RESOLUTION_MAX_CHARS,
            true,
        ));
        let priority = optional(&draft.priority, parse_priority, &mut errors);
        let impact = optional(
            &draft.impact,
            |raw| named("impact", Level::parse(raw)),
            &mut errors,
        );
        let urgency = optional(
            &draft.urgency,
            |raw| named("urgency", Level::parse(raw)),
            &mut errors,
        );
        let created_at = optional(
            &draft.created_at,
            |raw| parse_time("created_at", raw),
            &mut errors,
        );
        let closed_at = optional(
            &draft.closed_at,
            |raw| parse_time("closed_at", raw),
            &mut errors,
        );
        if let (Some(created), Some(closed)) = (created_at, closed_at)
            && closed < created
        {
            errors.push(FieldError::new("closed_at", "is before created_at"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let times_given = created_at.is_some() || closed_at.is_some();
        let created_at = created_at.or(closed_at).unwrap_or_else(super::now);
        Ok(Self {
            id: TicketId(Uuid::now_v7()),
            tenant_id: tenant,
            external_id,
            title,
            description,
            service_group,
            priority,
            impact,
            urgency,
            resolution,
            created_at,
            closed_at: closed_at.unwrap_or(created_at),
            times_given,
        })
    }

    /// Takes the stored times when the row gave none.
    pub fn keeping_times_of(&self, stored: &CaseRecord) -> Self {
        let mut case = self.clone();
        if !self.times_given {
            case.created_at = stored.created_at;
            case.closed_at = stored.closed_at.unwrap_or(stored.created_at);
        }
        case
    }

    /// Whether a stored case already holds exactly this content (a re-import changes nothing).
    pub fn same_content(&self, stored: &CaseRecord) -> bool {
        let times_match = !self.times_given
            || (stored.created_at == self.created_at && stored.closed_at == Some(self.closed_at));
        times_match
            && stored.title == self.title
            && stored.description == self.description
            && stored.service_group.as_deref() == Some(self.service_group.as_str())
            && stored.priority == self.priority
            && stored.impact == self.impact
            && stored.urgency == self.urgency
            && stored.resolution == self.resolution
    }

    pub fn record(&self) -> CaseRecord {
        CaseRecord {
            id: self.id,
            tenant_id: self.tenant_id,
            external_id: Some(self.external_id.clone()),
            title: self.title.clone(),
            description: self.description.clone(),
            resolution: self.resolution.clone(),
            service_group: Some(self.service_group.clone()),
            priority: self.priority,
            impact: self.impact,
            urgency: self.urgency,
            created_at: self.created_at,
            closed_at: Some(self.closed_at),
            attachments: 0,
        }
    }
}

fn optional<T>(
    raw: &Option<String>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let raw = raw.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match parse(raw) {
        Ok(value) => Some(value),
        Err(err) => {
            errors.push(err);
            None
        }
    }
}

fn named<T>(field: &str, result: Result<T, FieldError>) -> Result<T, FieldError> {
    result.map_err(|e| FieldError::new(field, e.message))
}

/// Accepts P1-P4 and the common words other tools export for them.
fn parse_priority(raw: &str) -> Result<Priority, FieldError> {
    let lower = raw.trim().to_ascii_lowercase();
    let word = lower.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-');
    match (lower.as_str(), word) {
        ("p1" | "1", _) | (_, "critical" | "blocker" | "urgent") => Ok(Priority::P1),
        ("p2" | "2", _) | (_, "high" | "major") => Ok(Priority::P2),
        ("p3" | "3", _) | (_, "medium" | "moderate" | "normal") => Ok(Priority::P3),
        ("p4" | "4" | "p5" | "5", _) | (_, "low" | "minor" | "trivial" | "planning") => {
            Ok(Priority::P4)
        }
        _ => Err(FieldError::new(
            "priority",
            format!("{raw:?} is not a priority; use P1-P4 or critical, high, medium, low"),
        )),
    }
}

/// Accepts RFC 3339, `YYYY-MM-DD HH:MM[:SS[.fff]]` and Jira's `30/Sep/21 17:20` (both taken as
/// UTC), and `YYYY-MM-DD`. Day/month orders that read differently in the US and Europe are
/// refused rather than guessed.
pub fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, FieldError> {
    use chrono::{NaiveDate, NaiveDateTime};
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%d/%b/%y %H:%M",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
            .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        });
    parsed.map(super::truncate_to_micros).ok_or_else(|| {
        FieldError::new(
            field,
            format!(
                "{:?} is not a time; use RFC 3339 (2026-03-01T09:30:00Z) or YYYY-MM-DD HH:MM",
                super::tenant::truncate_for_message(raw)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> CaseDraft {
        CaseDraft {
            external_id: "INC-1".into(),
            title: "VPN drops".into(),
            description: Some("Every 10 minutes".into()),
            service_group: "Network".into(),
            priority: Some("P2".into()),
            created_at: Some("2026-03-01T09:30:00Z".into()),
            closed_at: Some("2026-03-01 12:00".into()),
            ..CaseDraft::default()
        }
    }

    #[test]
    fn a_valid_row_becomes_a_closed_case() {
        let case = ImportedCase::from_draft(TenantId(Uuid::nil()), &draft()).expect("valid");
        assert_eq!(case.priority, Some(Priority::P2));
        assert!(case.closed_at > case.created_at);
        assert!(case.same_content(&case.record()));
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let bad = CaseDraft {
            external_id: String::new(),
            title: "x".repeat(300),
            priority: Some("urgent-ish".into()),
            impact: Some("huge".into()),
            created_at: Some("yesterday".into()),
            ..draft()
        };
        let errors = ImportedCase::from_draft(TenantId(Uuid::nil()), &bad).expect_err("invalid");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "title", "priority", "impact", "created_at"]);
        let reversed = CaseDraft {
            closed_at: Some("2026-02-01".into()),
            ..draft()
        };
        let errors = ImportedCase::from_draft(TenantId(Uuid::nil()), &reversed).expect_err("order");
        assert_eq!(errors[0].field, "closed_at");
    }

    #[test]
    fn a_row_without_times_compares_equal_to_its_stored_self() {
        let undated = CaseDraft {
            created_at: None,
            closed_at: None,
            ..draft()
        };
        let case = ImportedCase::from_draft(TenantId(Uuid::nil()), &undated).expect("valid");
        let mut stored = case.record();
        stored.created_at -= chrono::Duration::days(30);
        assert!(
            case.same_content(&stored),
            "no times given: stored times stand"
        );
        assert_eq!(case.keeping_times_of(&stored).created_at, stored.created_at);
        let dated = ImportedCase::from_draft(TenantId(Uuid::nil()), &draft()).expect("valid");
        assert!(!dated.same_content(&stored));
        assert!(
            parse_time("created_at", "03/04/2026 10:00").is_err(),
            "ambiguous order"
        );
        assert!(parse_time("created_at", "2026-03-04 10:00:00.123").is_ok());
    }

    #[test]
    fn priorities_from_other_tools_map_onto_p1_to_p4() {
        for (raw, want) in [
            ("Blocker", Priority::P1),
            ("1 - Critical", Priority::P1),
            ("Major", Priority::P2),
            ("3", Priority::P3),
            ("Trivial", Priority::P4),
        ] {
            assert_eq!(parse_priority(raw), Ok(want), "{raw}");
        }
    }
}
