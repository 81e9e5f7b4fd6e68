//! The severity matrix: priority = matrix[impact][urgency], the targets and leading role of each
//! priority, and the text rules that propose impact and urgency or stop the line (force P1).
//! Loaded once from `config/severity.toml` and validated here, so the proposer can trust it.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::ticket::Priority;

/// Impact or urgency: the two inputs of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    /// Accepts the words, their initials, 1-3, and ServiceNow's "1 - High" form.
    pub fn parse(raw: &str) -> Result<Self, super::FieldError> {
        let lower = raw.trim().to_ascii_lowercase();
        let word = lower.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-');
        let word = if word.is_empty() {
            lower.as_str()
        } else {
            word
        };
        match word {
            "high" | "h" | "1" => Ok(Level::High),
            "medium" | "m" | "2" => Ok(Level::Medium),
            "low" | "l" | "3" => Ok(Level::Low),
            _ => Err(super::FieldError::new(
                "level",
                format!("{raw:?} is not a level; use high, medium or low"),
            )),
        }
    }

    fn index(self) -> usize {
        match self {
            Level::High => 0,
            Level::Medium => 1,
            Level::Low => 2,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("severity matrix: {0}")]
pub struct MatrixError(String);

/// What one priority means and promises.
#[derive(Debug, Clone, Serialize)]
pub struct PriorityLevel {
    pub priority: Priority,
    pub name: String,
    pub business_impact: String,
    pub users_affected: String,
    pub data_sensitivity: String,
    pub regulatory_exposure: String,
    #[serde(with = "duration_secs")]
    pub acknowledge: Duration,
    #[serde(with = "duration_secs")]
    pub resolve: Duration,
    pub lead_role: String,
    pub typical_impact: Level,
    pub typical_urgency: Level,
}

/// A named set of patterns; the first pattern that matches is the evidence.
#[derive(Debug, Clone)]
pub struct TextRule {
    pub name: String,
    pub reason: String,
    pub patterns: Vec<Regex>,
    /// For impact and urgency rules: the level proposed.
    pub level: Option<Level>,
    /// For stop-the-line rules: the service group that takes it, if the rule names one.
    pub service_group: Option<String>,
}

/// A rule that fired, with the text that made it fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule: String,
    pub reason: String,
    pub matched: String,
}

impl TextRule {
    pub fn find(&self, text: &str) -> Option<RuleMatch> {
        self.patterns.iter().find_map(|pattern| {
            pattern.find(text).map(|m| RuleMatch {
                rule: self.name.clone(),
                reason: self.reason.clone(),
                matched: m.as_str().chars().take(120).collect(),
            })
        })
    }
}

#[derive(Debug, Clone)]
pub struct SeverityMatrix {
    cells: [[Priority; 3]; 3],
    pub levels: Vec<PriorityLevel>,
    pub stop_the_line: Vec<TextRule>,
    pub impact_rules: Vec<TextRule>,
    pub urgency_rules: Vec<TextRule>,
}

impl SeverityMatrix {
    pub fn priority(&self, impact: Level, urgency: Level) -> Priority {
        self.cells[impact.index()][urgency.index()]
    }

    pub fn level(&self, priority: Priority) -> Option<&PriorityLevel> {
        self.levels.iter().find(|l| l.priority == priority)
    }

    /// The first stop-the-line rule that fires on the text.
    pub fn stop_the_line(&self, text: &str) -> Option<(&TextRule, RuleMatch)> {
        self.stop_the_line
            .iter()
            .find_map(|rule| rule.find(text).map(|m| (rule, m)))
    }

    /// The highest level any impact rule gives the text, with its evidence.
    pub fn impact_from_rules(&self, text: &str) -> Option<(Level, RuleMatch)> {
        highest_rule(&self.impact_rules, text)
    }

    pub fn urgency_from_rules(&self, text: &str) -> Option<(Level, RuleMatch)> {
        highest_rule(&self.urgency_rules, text)
    }

    /// Validates the file's layout: every cell and every priority present, every pattern valid.
    pub fn from_raw(raw: RawSeverity) -> Result<Self, MatrixError> {
        let mut cells = [[Priority::P4; 3]; 3];
        for impact in Level::ALL {
            let row = raw.matrix.get(&impact).ok_or_else(|| {
                MatrixError(format!("matrix has no row for impact {}", impact.as_str()))
            })?;
            for urgency in Level::ALL {
                let cell = row.get(&urgency).ok_or_else(|| {
                    MatrixError(format!(
                        "matrix.{} has no cell for urgency {}",
                        impact.as_str(),
                        urgency.as_str()
                    ))
                })?;
                cells[impact.index()][urgency.index()] = Priority::parse(cell)
                    .map_err(|e| MatrixError(format!("matrix.{}: {e}", impact.as_str())))?;
            }
        }
        let mut levels = Vec::new();
        for level in raw.priority {
            let priority = Priority::parse(&level.id).map_err(|e| MatrixError(e.to_string()))?;
            if levels
                .iter()
                .any(|l: &PriorityLevel| l.priority == priority)
            {
                return Err(MatrixError(format!(
                    "priority {} is defined twice",
                    level.id
                )));
            }
            levels.push(PriorityLevel {
                priority,
                name: level.name,
                business_impact: level.business_impact,
                users_affected: level.users_affected,
                data_sensitivity: level.data_sensitivity,
                regulatory_exposure: level.regulatory_exposure,
                acknowledge: parse_duration(&level.acknowledge)?,
                resolve: parse_duration(&level.resolve)?,
                lead_role: level.lead_role,
                typical_impact: level.typical.impact,
                typical_urgency: level.typical.urgency,
            });
        }
        for priority in Priority::ALL {
            if !levels.iter().any(|l| l.priority == priority) {
                return Err(MatrixError(format!(
                    "priority {} is not defined",
                    priority.as_str()
                )));
            }
        }
        levels.sort_by_key(|l| l.priority);
        Ok(Self {
            cells,
            levels,
            stop_the_line: compile_rules(raw.stop_the_line, false)?,
            impact_rules: compile_rules(raw.impact_rule, true)?,
            urgency_rules: compile_rules(raw.urgency_rule, true)?,
        })
    }
}

fn highest_rule(rules: &[TextRule], text: &str) -> Option<(Level, RuleMatch)> {
    rules
        .iter()
        .filter_map(|rule| Some((rule.level?, rule.find(text)?)))
        .min_by_key(|(level, _)| *level)
}

fn compile_rules(raw: Vec<RawRule>, needs_level: bool) -> Result<Vec<TextRule>, MatrixError> {
    raw.into_iter()
        .map(|rule| {
            if needs_level && rule.level.is_none() {
                return Err(MatrixError(format!("rule {} has no level", rule.name)));
            }
            if rule.patterns.is_empty() {
                return Err(MatrixError(format!("rule {} has no patterns", rule.name)));
            }
            let patterns = rule
                .patterns
                .iter()
                .map(|p| {
                    Regex::new(p)
                        .map_err(|e| MatrixError(format!("rule {}: pattern {p:?}: {e}", rule.name)))
                })
                .collect::<Result<_, _>>()?;
            Ok(TextRule {
                name: rule.name,
                reason: rule.reason,
                patterns,
                level: rule.level,
                service_group: rule.service_group,
            })
        })
        .collect()
}

/// Parses `"15m"`, `"4h"`, `"3d"` or `"90s"`.
fn parse_duration(text: &str) -> Result<Duration, MatrixError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| MatrixError(format!("{text:?} is not a duration like 15m, 4h or 3d")))?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(MatrixError(format!(
                "{text:?}: the unit must be s, m, h or d"
            )));
        }
    };
    Ok(Duration::from_secs(n * seconds))
}

mod duration_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// The file layout of `severity.toml`, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeverity {
    matrix: BTreeMap<Level, BTreeMap<Level, String>>,
    priority: Vec<RawPriority>,
    #[serde(default)]
    stop_the_line: Vec<RawRule>,
    #[serde(default)]
    impact_rule: Vec<RawRule>,
    #[serde(default)]
    urgency_rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    id: String,
    name: String,
    business_impact: String,
    users_affected: String,
    data_sensitivity: String,
    regulatory_exposure: String,
    acknowledge: String,
    resolve: String,
    lead_role: String,
    typical: RawTypical,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTypical {
    impact: Level,
    urgency: Level,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    reason: String,
    patterns: Vec<String>,
    #[serde(default)]
    level: Option<Level>,
    #[serde(default)]
    service_group: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> SeverityMatrix {
        let raw: RawSeverity = figment::Figment::new()
            .merge(
                <figment::providers::Toml as figment::providers::Format>::string(include_str!(
                    "../../config/severity.toml"
                )),
            )
            .extract()
            .expect("shipped severity.toml parses");
        SeverityMatrix::from_raw(raw).expect("shipped severity.toml is valid")
    }

    #[test]
    fn shipped_matrix_maps_impact_and_urgency() {
        let m = shipped();
        assert_eq!(m.priority(Level::High, Level::High), Priority::P1);
        assert_eq!(m.priority(Level::Low, Level::Low), Priority::P4);
        assert_eq!(m.priority(Level::Medium, Level::High), Priority::P2);
        let p1 = m.level(Priority::P1).expect("P1 defined");
        assert_eq!(p1.acknowledge, Duration::from_secs(15 * 60));
        // Each priority's typical pair maps back onto that priority.
        for level in &m.levels {
            assert_eq!(
                m.priority(level.typical_impact, level.typical_urgency),
                level.priority
            );
        }
    }

    #[test]
    fn rules_fire_with_their_evidence() {
        let m = shipped();
        let (rule, hit) = m
            .stop_the_line("Our files were encrypted overnight, a ransom note on every share")
            .expect("ransomware stops the line");
        assert_eq!(rule.name, "ransomware");
        assert_eq!(rule.service_group.as_deref(), Some("Security Operations"));
        assert!(!hit.matched.is_empty());
        assert!(m.stop_the_line("Printer out of toner").is_none());
        let (level, hit) = m
            .impact_from_rules("All users in the Leeds office cannot print")
            .expect("impact");
        assert_eq!(level, Level::High);
        assert_eq!(hit.rule, "many-users");
        // High beats low when both fire.
        let (level, _) = m
            .impact_from_rules("One user reports, then all staff report it")
            .expect("impact");
        assert_eq!(level, Level::High);
        let (level, _) = m
            .urgency_from_rules("Request: please create a new account for J.")
            .expect("urgency");
        assert_eq!(level, Level::Low);
    }

    #[test]
    fn invalid_files_are_refused_with_the_reason() {
        let bad = |toml: &str| {
            let raw: RawSeverity = figment::Figment::new()
                .merge(<figment::providers::Toml as figment::providers::Format>::string(toml))
                .extract()
                .expect("layout parses");
            SeverityMatrix::from_raw(raw)
                .expect_err("refused")
                .to_string()
        };
        let rows = "priority = []\n[matrix]\nhigh = { high = \"P1\", medium = \"P2\", low = \"P3\" }\n\
            medium = { high = \"P2\", medium = \"P3\", low = \"P4\" }\n\
            low = { high = \"P3\", medium = \"P4\", low = \"P4\" }\n";
        let missing_cell = "priority = []\n[matrix]\nhigh = { high = \"P1\" }\n\
            medium = { high = \"P2\", medium = \"P3\", low = \"P4\" }\n\
            low = { high = \"P3\", medium = \"P4\", low = \"P4\" }\n";
        assert!(bad(missing_cell).contains("no cell for urgency medium"));
        assert!(bad(rows).contains("priority P1 is not defined"));
        let broken = RawRule {
            name: "x".into(),
            reason: "r".into(),
            patterns: vec!["(".into()],
            level: Some(Level::High),
            service_group: None,
        };
        let err = compile_rules(vec![broken], true).expect_err("bad regex refused");
        assert!(err.to_string().contains("rule x: pattern"), "{err}");
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("4 weeks").is_err());
    }
}
