//! Validation of the model's output. The model is never trusted: whatever the server claims to
//! have enforced, every answer goes through [`validate`], which either returns a clean
//! [`TriageAnswer`] or says precisely which field is wrong (the message is fed back to the
//! model in the repair prompt and stored as the failure reason).

use serde_json::{Map, Value};

use super::citations::{digest_refs, is_in_digest, parse_citation};
use super::record::TriageAnswer;
use super::schema::{
    CITATION_MAX_CHARS, CITATIONS_MAX, FIELDS, RATIONALE_MAX_CHARS, SUMMARY_MAX_CHARS,
    UNKNOWN_GROUP, allowed_groups,
};

/// Why an output is not a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the output is empty")]
    Empty,
    #[error("the output contains no JSON object")]
    NoJsonObject,
    #[error("invalid JSON at line {line} column {column}: {message}")]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("field {0:?} is not part of the schema")]
    UnknownField(String),
    #[error("field {0:?} is missing")]
    MissingField(&'static str),
    #[error("field {field:?} must be {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("field {field:?} is {length} characters long, over the limit of {max}")]
    TooLong {
        field: String,
        length: usize,
        max: usize,
    },
    #[error("field \"summary\" is empty")]
    EmptySummary,
    #[error("field \"citations\" has {count} items, over the limit of {max}")]
    TooManyCitations { count: usize, max: usize },
    #[error(
        "field \"citations\" item {index} ({value:?}) is not a line reference like \"L1043\" or \"L1043–L1890\""
    )]
    BadCitation { index: usize, value: String },
    #[error("service_group {0:?} is not in the catalogue")]
    NotInCatalogue(String),
    #[error("{field} {value:?} is not one of {allowed}")]
    NotALevel {
        field: &'static str,
        value: String,
        allowed: String,
    },
}

/// Checks a raw model output and returns the answer it holds.
///
/// Fences and prose around the object are tolerated (only the first `{` to the last `}` is
/// parsed); anything else that deviates from the schema is an error. `service_group` and the
/// levels are matched exactly after trimming, then case-insensitively, and returned in the
/// allowed spelling. Well-formed citations that the digest does not contain are dropped, not
/// failed: they are harmless to omit, and failing on them would waste a repair.
pub fn validate(
    raw: &str,
    catalogue: &[String],
    levels: &[String],
    digest: &str,
) -> Result<TriageAnswer, ValidationError> {
    if raw.trim().is_empty() {
        return Err(ValidationError::Empty);
    }
    let object_text = extract_object(raw).ok_or(ValidationError::NoJsonObject)?;
    let value: Value = serde_json::from_str(object_text).map_err(invalid_json)?;
    let Value::Object(fields) = value else {
        return Err(ValidationError::NoJsonObject);
    };
    if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(ValidationError::UnknownField(unknown.clone()));
    }
    if let Some(missing) = FIELDS.iter().find(|field| !fields.contains_key(**field)) {
        return Err(ValidationError::MissingField(missing));
    }

    let summary = bounded_string(&fields, "summary", SUMMARY_MAX_CHARS)?;
    if summary.is_empty() {
        return Err(ValidationError::EmptySummary);
    }
    let rationale = bounded_string(&fields, "rationale", RATIONALE_MAX_CHARS)?;
    let service_group = match_group(string_field(&fields, "service_group")?, catalogue)?;
    let impact = match_level("impact", string_field(&fields, "impact")?, levels)?;
    let urgency = match_level("urgency", string_field(&fields, "urgency")?, levels)?;
    let citations = citations(&fields, digest)?;

    Ok(TriageAnswer {
        summary,
        citations,
        service_group,
        impact,
        urgency,
        rationale,
    })
}

/// Returns the text from the first `{` to the last `}`: small models wrap JSON in ```json
/// fences or open with a sentence despite the instructions.
fn extract_object(raw: &str) -> Option<&str> {
    let start = raw.find('{')?;
    let end = raw.rfind('}')?;
    (start < end).then(|| &raw[start..=end])
}

fn invalid_json(err: serde_json::Error) -> ValidationError {
    let full = err.to_string();
    // serde_json appends " at line L column C"; the position is reported separately.
    let message = full
        .split(" at line ")
        .next()
        .unwrap_or(full.as_str())
        .to_owned();
    ValidationError::InvalidJson {
        line: err.line(),
        column: err.column(),
        message,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_field<'a>(
    fields: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, ValidationError> {
    match fields.get(field) {
        Some(Value::String(text)) => Ok(text),
        Some(other) => Err(ValidationError::WrongType {
            field: field.to_owned(),
            expected: "a string",
            found: type_name(other),
        }),
        None => Err(ValidationError::WrongType {
            field: field.to_owned(),
            expected: "a string",
            found: "nothing",
        }),
    }
}

fn check_length(field: &str, text: &str, max: usize) -> Result<(), ValidationError> {
    let length = text.chars().count();
    if length > max {
        return Err(ValidationError::TooLong {
            field: field.to_owned(),
            length,
            max,
        });
    }
    Ok(())
}

fn bounded_string(
    fields: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<String, ValidationError> {
    let text = string_field(fields, field)?.trim();
    check_length(field, text, max)?;
    Ok(text.to_owned())
}

/// Returns the allowed spelling of `value`: exact match first, so a catalogue holding both
/// "DB" and "db" keeps them apart, then the first case-insensitive match.
fn canonical<'a>(value: &str, allowed: &'a [String]) -> Option<&'a String> {
    allowed.iter().find(|a| a.as_str() == value).or_else(|| {
        allowed
            .iter()
            .find(|a| a.to_lowercase() == value.to_lowercase())
    })
}

fn match_group(value: &str, catalogue: &[String]) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.eq_ignore_ascii_case(UNKNOWN_GROUP) {
        return Ok(UNKNOWN_GROUP.to_owned());
    }
    canonical(value, &allowed_groups(catalogue))
        .cloned()
        .ok_or_else(|| ValidationError::NotInCatalogue(value.to_owned()))
}

fn match_level(
    field: &'static str,
    value: &str,
    levels: &[String],
) -> Result<String, ValidationError> {
    canonical(value.trim(), levels)
        .cloned()
        .ok_or_else(|| ValidationError::NotALevel {
            field,
            value: value.to_owned(),
            allowed: levels.join(", "),
        })
}

fn citations(fields: &Map<String, Value>, digest: &str) -> Result<Vec<String>, ValidationError> {
    let items = match fields.get("citations") {
        Some(Value::Array(items)) => items,
        other => {
            return Err(ValidationError::WrongType {
                field: "citations".to_owned(),
                expected: "an array of strings",
                found: other.map_or("nothing", type_name),
            });
        }
    };
    if items.len() > CITATIONS_MAX {
        return Err(ValidationError::TooManyCitations {
            count: items.len(),
            max: CITATIONS_MAX,
        });
    }
    let known = digest_refs(digest);
    let mut kept: Vec<String> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = format!("citations[{index}]");
        let Value::String(text) = item else {
            return Err(ValidationError::WrongType {
                field,
                expected: "a string",
                found: type_name(item),
            });
        };
        let text = text.trim();
        check_length(&field, text, CITATION_MAX_CHARS)?;
        let range = parse_citation(text).ok_or_else(|| ValidationError::BadCitation {
            index,
            value: text.to_owned(),
        })?;
        if is_in_digest(range, &known) && !kept.iter().any(|k| k == text) {
            kept.push(text.to_owned());
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "ERROR L1043–L1890 ×412 Connection to <*> refused\nWARN L7 disk at 91%";

    fn catalogue() -> Vec<String> {
        vec!["Network".to_owned(), "Email & Collaboration".to_owned()]
    }

    fn levels() -> Vec<String> {
        vec!["high".to_owned(), "medium".to_owned(), "low".to_owned()]
    }

    fn good() -> Value {
        json!({
            "summary": "The VPN gateway refuses connections.",
            "citations": ["L1043–L1890"],
            "service_group": "Network",
            "impact": "high",
            "urgency": "medium",
            "rationale": "Many users cannot connect."
        })
    }

    fn with(field: &str, value: Value) -> String {
        let mut answer = good();
        answer[field] = value;
        answer.to_string()
    }

    fn check(raw: &str) -> Result<TriageAnswer, ValidationError> {
        validate(raw, &catalogue(), &levels(), DIGEST)
    }

    fn error_of(raw: &str) -> String {
        match check(raw) {
            Ok(answer) => panic!("expected an error for {raw}, got {answer:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn a_good_answer_passes_unchanged() {
        let answer = check(&good().to_string()).expect("valid");
        assert_eq!(answer.service_group, "Network");
        assert_eq!(answer.citations, vec!["L1043–L1890"]);
        assert_eq!(answer.impact, "high");
    }

    #[test]
    fn fences_and_leading_prose_are_stripped() {
        let raw = format!(
            "Sure! Here is the JSON:\n```json\n{}\n```\nHope it helps.",
            good()
        );
        assert!(check(&raw).is_ok());
    }

    #[test]
    fn empty_and_non_json_outputs_are_rejected() {
        assert_eq!(error_of("   "), "the output is empty");
        assert_eq!(
            error_of("I cannot help."),
            "the output contains no JSON object"
        );
        assert_eq!(error_of("} nope {"), "the output contains no JSON object");
        assert_eq!(error_of("[1, 2]"), "the output contains no JSON object");
    }

    #[test]
    fn broken_json_reports_line_and_column() {
        let message = error_of("{\"summary\": }");
        assert!(
            message.starts_with("invalid JSON at line 1 column 13"),
            "{message}"
        );
        let cut_off = error_of("{\"summary\": \"The VPN gat}");
        assert!(cut_off.starts_with("invalid JSON at line 1"), "{cut_off}");
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let mut extra = good();
        extra["priority"] = json!("P1");
        assert_eq!(
            error_of(&extra.to_string()),
            "field \"priority\" is not part of the schema"
        );
        let mut missing = good();
        missing.as_object_mut().map(|m| m.remove("urgency"));
        assert_eq!(
            error_of(&missing.to_string()),
            "field \"urgency\" is missing"
        );
    }

    #[test]
    fn wrong_types_are_named() {
        assert_eq!(
            error_of(&with("impact", json!(3))),
            "field \"impact\" must be a string, found a number"
        );
        assert_eq!(
            error_of(&with("citations", json!("L7"))),
            "field \"citations\" must be an array of strings, found a string"
        );
        assert_eq!(
            error_of(&with("citations", json!([7]))),
            "field \"citations[0]\" must be a string, found a number"
        );
        assert_eq!(
            error_of(&with("summary", Value::Null)),
            "field \"summary\" must be a string, found null"
        );
    }

    #[test]
    fn service_group_must_come_from_the_catalogue() {
        assert_eq!(
            error_of(&with("service_group", json!("X"))),
            "service_group \"X\" is not in the catalogue"
        );
        let answer = check(&with("service_group", json!("  email & collaboration "))).expect("ok");
        assert_eq!(answer.service_group, "Email & Collaboration");
        let answer = check(&with("service_group", json!("Unknown"))).expect("ok");
        assert_eq!(answer.service_group, "unknown");
    }

    #[test]
    fn an_empty_catalogue_allows_only_unknown() {
        let raw = with("service_group", json!("Network"));
        assert!(validate(&raw, &[], &levels(), DIGEST).is_err());
        let raw = with("service_group", json!("unknown"));
        assert!(validate(&raw, &[], &levels(), DIGEST).is_ok());
    }

    #[test]
    fn levels_must_be_allowed_values() {
        assert_eq!(
            error_of(&with("urgency", json!("critical"))),
            "urgency \"critical\" is not one of high, medium, low"
        );
        let answer = check(&with("impact", json!("HIGH"))).expect("ok");
        assert_eq!(answer.impact, "high");
    }

    #[test]
    fn empty_summary_and_over_long_strings_are_rejected() {
        assert_eq!(
            error_of(&with("summary", json!("  "))),
            "field \"summary\" is empty"
        );
        assert_eq!(
            error_of(&with("summary", json!("x".repeat(601)))),
            "field \"summary\" is 601 characters long, over the limit of 600"
        );
        assert!(error_of(&with("rationale", json!("é".repeat(401)))).contains("\"rationale\""));
        assert!(check(&with("summary", json!("é".repeat(600)))).is_ok());
    }

    #[test]
    fn citations_are_bounded_and_well_formed() {
        let nine: Vec<String> = (1..=9).map(|n| format!("L{n}")).collect();
        assert_eq!(
            error_of(&with("citations", json!(nine))),
            "field \"citations\" has 9 items, over the limit of 8"
        );
        assert!(error_of(&with("citations", json!(["line 7"]))).contains("citations\" item 0"));
        assert!(
            error_of(&with("citations", json!([format!("L{}", "1".repeat(30))])))
                .contains("citations[0]")
        );
    }

    #[test]
    fn citations_missing_from_the_digest_are_dropped_and_duplicates_merged() {
        let answer = check(&with(
            "citations",
            json!(["L7", "L9999", "L1500", "L7", "L1043-L1890"]),
        ))
        .expect("ok");
        assert_eq!(answer.citations, vec!["L7", "L1500", "L1043-L1890"]);
        let answer = validate(
            &with("citations", json!(["L7"])),
            &catalogue(),
            &levels(),
            "",
        )
        .expect("ok");
        assert!(answer.citations.is_empty());
    }
}
