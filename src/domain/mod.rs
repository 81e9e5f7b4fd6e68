//! Plain types and rules of the service: tenants, users and roles, tickets, attachments and the
//! audit chain. Nothing here does I/O; the store and the HTTP layer build on these types.

pub mod attachment;
pub mod audit;
pub mod case;
pub mod decision;
pub mod job;
pub mod llm;
pub mod severity;
pub mod sla;
pub mod suggestion;
pub mod tenant;
pub mod ticket;
pub mod user;

/// A value a caller supplied that breaks a rule, named by the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Who did something, as written into the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// A signed-in user, by name.
    pub fn user(name: &str) -> Self {
        Self(format!("user:{name}"))
    }

    /// Work the service does on its own, such as triage after a ticket arrives.
    pub fn system(task: &str) -> Self {
        Self(format!("system:{task}"))
    }

    /// The command line run by the operator of the machine.
    pub fn cli() -> Self {
        Self("cli".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a free-text field: trimmed length within bounds, no control characters but newlines
/// and tabs (they break terminals and CSV exports downstream).
pub fn check_text(
    field: &str,
    value: &str,
    min_chars: usize,
    max_chars: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min_chars {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("is {chars} characters long; the limit is {max_chars}"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\r' || c == '\t'));
    if let Some(bad) = trimmed.chars().find(|c| !allowed(*c)) {
        return Err(FieldError::new(
            field,
            format!("contains the control character U+{:04X}", bad as u32),
        ));
    }
    Ok(trimmed.to_string())
}

/// The current time, cut to microseconds: PostgreSQL keeps no more, and the audit hash must
/// come out the same after a round trip through either database.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_to_micros(chrono::Utc::now())
}

pub fn truncate_to_micros(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::{DurationRound, TimeDelta};
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(check_text("title", "  hi  ", 1, 5, false), Ok("hi".into()));
        assert!(check_text("title", "   ", 1, 5, false).is_err());
        let err = check_text("title", &"x".repeat(10_000), 1, 200, false).expect_err("too long");
        assert!(err.message.contains("10000"), "{err}");
        assert!(check_text("title", "a\u{0}b", 1, 10, false).is_err());
        assert!(check_text("title", "a\nb", 1, 10, false).is_err());
        assert!(check_text("description", "a\nb", 1, 10, true).is_ok());
    }
}
