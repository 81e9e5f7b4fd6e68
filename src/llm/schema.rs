//! The answer's JSON schema and its limits. One source for the request's `response_format`,
//! the validator and the prompts, so the three cannot disagree.

use serde_json::{Value, json};

/// Longest `summary`, in characters.
pub const SUMMARY_MAX_CHARS: usize = 600;
/// Longest `rationale`, in characters.
pub const RATIONALE_MAX_CHARS: usize = 400;
/// Longest single citation, in characters.
pub const CITATION_MAX_CHARS: usize = 24;
/// Shape of a citation, for servers that constrain decoding by the schema (llama-server turns
/// it into grammar): without it, small models fill `citations` with free text.
pub const CITATION_PATTERN: &str = "^L[0-9]+([–-]L[0-9]+)?$";
/// Most citations in one answer.
pub const CITATIONS_MAX: usize = 8;
/// The service group that means "none of the catalogue fits".
pub const UNKNOWN_GROUP: &str = "unknown";
/// The answer's keys, in the order the prompt lists them.
pub const FIELDS: [&str; 6] = [
    "summary",
    "citations",
    "service_group",
    "impact",
    "urgency",
    "rationale",
];

/// Returns the allowed `service_group` values: the catalogue (trimmed, blanks and duplicates
/// removed, order kept) followed by "unknown".
pub fn allowed_groups(catalogue: &[String]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::with_capacity(catalogue.len() + 1);
    for group in catalogue {
        let group = group.trim();
        if !group.is_empty() && group != UNKNOWN_GROUP && !groups.iter().any(|g| g == group) {
            groups.push(group.to_owned());
        }
    }
    groups.push(UNKNOWN_GROUP.to_owned());
    groups
}

/// Returns the JSON schema of the answer for this tenant's catalogue and levels.
///
/// Every string and array is bounded: small local models otherwise ramble until `max_tokens`
/// and return cut-off JSON.
pub fn answer_schema(catalogue: &[String], levels: &[String]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": FIELDS,
        "properties": {
            "summary": { "type": "string", "maxLength": SUMMARY_MAX_CHARS },
            "citations": {
                "type": "array",
                "maxItems": CITATIONS_MAX,
                "items": {
                    "type": "string",
                    "maxLength": CITATION_MAX_CHARS,
                    "pattern": CITATION_PATTERN
                }
            },
            "service_group": { "type": "string", "enum": allowed_groups(catalogue) },
            "impact": { "type": "string", "enum": levels },
            "urgency": { "type": "string", "enum": levels },
            "rationale": { "type": "string", "maxLength": RATIONALE_MAX_CHARS }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn schema_enumerates_the_catalogue_plus_unknown_and_the_levels() {
        let schema = answer_schema(
            &strings(&["Network", "Email", "Network", " "]),
            &strings(&["high", "medium", "low"]),
        );
        assert_eq!(
            schema["properties"]["service_group"]["enum"],
            json!(["Network", "Email", "unknown"])
        );
        assert_eq!(
            schema["properties"]["impact"]["enum"],
            json!(["high", "medium", "low"])
        );
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(schema["required"].as_array().map(Vec::len), Some(6));
    }

    #[test]
    fn an_empty_catalogue_allows_only_unknown() {
        let schema = answer_schema(&[], &strings(&["high"]));
        assert_eq!(
            schema["properties"]["service_group"]["enum"],
            json!(["unknown"])
        );
    }

    #[test]
    fn every_string_and_array_is_bounded() {
        let schema = answer_schema(&[], &strings(&["high"]));
        let props = &schema["properties"];
        assert_eq!(props["summary"]["maxLength"], 600);
        assert_eq!(props["rationale"]["maxLength"], 400);
        assert_eq!(props["citations"]["maxItems"], 8);
        assert_eq!(props["citations"]["items"]["maxLength"], 24);
        assert_eq!(props["citations"]["items"]["pattern"], CITATION_PATTERN);
    }
}
