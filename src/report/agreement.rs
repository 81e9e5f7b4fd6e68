//! QA agreement: how often people agreed with the machine's proposals, per field.
//!
//! Pure computation over rows the caller has already read and joined; no I/O. The numbers
//! answer the auditor's questions in order: how much was decided, how much was accepted as
//! proposed, whether the proposed *values* held up (an override to the same value still counts
//! as agreement of values), whether confidence meant what it said (calibration), and which
//! proposer, prompt or source is responsible for the disagreements.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Key used when a grouping value or reason code is missing, so it still shows as a row.
pub const NONE_KEY: &str = "(none)";
/// Confusion label for a suggestion the machine abstained from.
pub const ABSTAINED_LABEL: &str = "(abstained)";
/// Calibration bins over confidence [0, 1]; ten keeps each bin readable with small samples.
pub const CALIBRATION_BINS: usize = 10;
/// Override reasons reported; the tail beyond this is noise for a QA review.
pub const TOP_REASONS: usize = 10;
/// Free-text examples kept per reason code: enough to see what the code hides.
pub const REASON_EXAMPLES: usize = 3;

/// What the person did with the machine's proposal for one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Override,
}

impl Action {
    /// The serialised spelling, for exports that do not go through serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Override => "override",
        }
    }
}

/// One decided field: the latest decision on a suggestion joined with what the machine proposed
/// for that field and, for priority changes, the approval. Superseded decisions are excluded by
/// the caller.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AgreementRow {
    pub suggestion_id: uuid::Uuid,
    pub ticket_id: uuid::Uuid,
    pub tenant: String,
    /// "service_group" | "impact" | "urgency" | "priority"
    pub field: String,
    /// None when the machine abstained or had nothing.
    pub suggested: Option<String>,
    /// Best candidate when it abstained (may be None).
    pub candidate: Option<String>,
    /// 0..=1
    pub confidence: f32,
    pub abstained: bool,
    /// "retrieval" | "matrix" | "rule" | "none" | "llm" ...
    pub source: String,
    /// Model version, e.g. "svm-knn/1".
    pub proposer: String,
    /// None offline.
    pub prompt_version: Option<String>,
    pub suggested_at: chrono::DateTime<chrono::Utc>,
    pub decision_id: uuid::Uuid,
    pub action: Action,
    /// The value the person chose.
    pub decided: Option<String>,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub decided_by: String,
    pub decided_at: chrono::DateTime<chrono::Utc>,
    /// "pending" | "approved" | "rejected" for priority changes.
    pub approval_status: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl AgreementRow {
    /// Whether the person's value equals the machine's; `None` when the machine proposed
    /// nothing, because there is no value to agree with.
    pub fn agrees(&self) -> Option<bool> {
        self.suggested
            .as_ref()
            .map(|s| self.decided.as_ref() == Some(s))
    }

    /// Whether the person's value differs from the machine's, counting a field the machine
    /// left empty and the person filled as a disagreement.
    pub fn disagrees(&self) -> bool {
        self.decided != self.suggested
    }
}

/// The whole report: one entry per field that occurs in the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Distinct decisions; one decision may cover several fields.
    pub decisions: usize,
    pub fields: BTreeMap<String, FieldAgreement>,
}

/// Agreement for one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldAgreement {
    pub decided: usize,
    pub accepted: usize,
    /// Overrides over all rows, abstained ones included: filling an abstained field overrides.
    pub overrides: usize,
    pub acceptance_rate: Option<f64>,
    pub override_rate: Option<f64>,
    pub abstained: usize,
    pub abstention_rate: Option<f64>,
    /// Rows with a suggestion whose decided value equals it.
    pub agreed: usize,
    /// `agreed` over rows with a suggestion.
    pub agreement_rate: Option<f64>,
    pub confusion: Confusion,
    pub calibration: Calibration,
    pub by_proposer: Vec<GroupAgreement>,
    pub by_prompt: Vec<GroupAgreement>,
    pub by_source: Vec<GroupAgreement>,
    pub top_override_reasons: Vec<OverrideReason>,
}

/// Suggested-versus-decided counts; only pairs that occur are listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    pub labels: Vec<String>,
    pub cells: Vec<ConfusionCell>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionCell {
    pub suggested: String,
    pub decided: String,
    pub count: usize,
}

/// Whether confidence matched accuracy, over rows with a suggestion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub bins: Vec<CalibrationBin>,
    /// Expected calibration error: the n-weighted mean of |accuracy - mean confidence|.
    pub ece: Option<f64>,
}

/// One equal-width confidence bin; `mean_confidence` and `accuracy` are null when `n` is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
    pub mean_confidence: Option<f64>,
    pub accuracy: Option<f64>,
}

/// Agreement for the rows sharing one proposer, prompt version or source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupAgreement {
    pub key: String,
    pub decided: usize,
    pub accepted: usize,
    pub overrides: usize,
    pub acceptance_rate: Option<f64>,
    pub agreement_rate: Option<f64>,
}

/// Why people overrode, with a few of their own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideReason {
    pub code: String,
    pub count: usize,
    /// Up to three distinct free-text reasons, newest first.
    pub examples: Vec<String>,
}

/// Computes the agreement report for all fields present in `rows`.
pub fn agreement(rows: &[AgreementRow]) -> Agreement {
    let decisions = rows
        .iter()
        .map(|r| r.decision_id)
        .collect::<BTreeSet<_>>()
        .len();
    let fields = rows_by(rows, |r| r.field.clone())
        .into_iter()
        .map(|(field, rows)| (field, field_agreement(&rows)))
        .collect();
    Agreement { decisions, fields }
}

/// Rows whose decided value differs from the suggestion (abstained-and-filled included),
/// newest decision first, at most `limit`. Ties keep a stable order by decision and field so
/// repeated exports list the same rows.
pub fn disagreements(rows: &[AgreementRow], limit: usize) -> Vec<&AgreementRow> {
    let mut found: Vec<&AgreementRow> = rows.iter().filter(|r| r.disagrees()).collect();
    found.sort_by(|a, b| {
        b.decided_at
            .cmp(&a.decided_at)
            .then_with(|| a.decision_id.cmp(&b.decision_id))
            .then_with(|| a.field.cmp(&b.field))
    });
    found.truncate(limit);
    found
}

/// Groups rows by a key, in key order, so every grouped list comes out sorted.
fn rows_by<'a>(
    rows: impl IntoIterator<Item = &'a AgreementRow>,
    key: impl Fn(&AgreementRow) -> String,
) -> BTreeMap<String, Vec<&'a AgreementRow>> {
    let mut groups: BTreeMap<String, Vec<&AgreementRow>> = BTreeMap::new();
    for row in rows {
        groups.entry(key(row)).or_default().push(row);
    }
    groups
}

fn field_agreement(rows: &[&AgreementRow]) -> FieldAgreement {
    let t = Tally::of(rows);
    FieldAgreement {
        decided: t.decided,
        accepted: t.accepted,
        overrides: t.overrides,
        acceptance_rate: rate(t.accepted, t.decided),
        override_rate: rate(t.overrides, t.decided),
        abstained: t.abstained,
        abstention_rate: rate(t.abstained, t.decided),
        agreed: t.agreed,
        agreement_rate: rate(t.agreed, t.suggested),
        confusion: confusion(rows),
        calibration: calibration(rows),
        by_proposer: grouped(rows, |r| r.proposer.clone()),
        by_prompt: grouped(rows, |r| {
            r.prompt_version.clone().unwrap_or_else(|| NONE_KEY.into())
        }),
        by_source: grouped(rows, |r| r.source.clone()),
        top_override_reasons: top_override_reasons(rows),
    }
}

/// The counts every rate is built from.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    decided: usize,
    accepted: usize,
    overrides: usize,
    abstained: usize,
    /// Rows with a suggestion: the denominator of agreement.
    suggested: usize,
    agreed: usize,
}

impl Tally {
    fn of(rows: &[&AgreementRow]) -> Self {
        let mut t = Tally::default();
        for row in rows {
            t.add(row);
        }
        t
    }

    fn add(&mut self, row: &AgreementRow) {
        self.decided += 1;
        match row.action {
            Action::Accept => self.accepted += 1,
            Action::Override => self.overrides += 1,
        }
        self.abstained += usize::from(row.abstained);
        if let Some(agrees) = row.agrees() {
            self.suggested += 1;
            self.agreed += usize::from(agrees);
        }
    }
}

/// A share, or `None` rather than a made-up 0 or NaN when nothing was counted.
fn rate(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn grouped(rows: &[&AgreementRow], key: impl Fn(&AgreementRow) -> String) -> Vec<GroupAgreement> {
    rows_by(rows.iter().copied(), key)
        .into_iter()
        .map(|(key, rows)| {
            let t = Tally::of(&rows);
            GroupAgreement {
                key,
                decided: t.decided,
                accepted: t.accepted,
                overrides: t.overrides,
                acceptance_rate: rate(t.accepted, t.decided),
                agreement_rate: rate(t.agreed, t.suggested),
            }
        })
        .collect()
}

/// The confusion label of the machine's side. A missing suggestion that was not an abstention
/// (the machine had nothing) is told apart from an abstention, since they have different fixes.
fn suggested_label(row: &AgreementRow) -> String {
    match (&row.suggested, row.abstained) {
        (Some(value), _) => value.clone(),
        (None, true) => ABSTAINED_LABEL.into(),
        (None, false) => NONE_KEY.into(),
    }
}

fn decided_label(row: &AgreementRow) -> String {
    row.decided.clone().unwrap_or_else(|| NONE_KEY.into())
}

fn confusion(rows: &[&AgreementRow]) -> Confusion {
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for row in rows {
        *counts
            .entry((suggested_label(row), decided_label(row)))
            .or_default() += 1;
    }
    let labels: BTreeSet<&String> = counts.keys().flat_map(|(s, d)| [s, d]).collect();
    let labels = labels.into_iter().cloned().collect();
    let mut cells: Vec<ConfusionCell> = counts
        .into_iter()
        .map(|((suggested, decided), count)| ConfusionCell {
            suggested,
            decided,
            count,
        })
        .collect();
    // The map already yields label order, so a stable sort by count keeps it for ties.
    cells.sort_by_key(|c| Reverse(c.count));
    Confusion { labels, cells }
}

/// The bin a confidence falls in; `None` for NaN, which has no place on the axis. Out-of-range
/// values are clamped (a proposer bug should not drop the row). The product is taken in `f32`
/// so that a stored 0.7 (really 0.69999999 as f32) lands in the 0.7 bin, not the 0.6 one.
fn bin_index(confidence: f32) -> Option<usize> {
    if confidence.is_nan() {
        return None;
    }
    let scaled = (confidence.clamp(0.0, 1.0) * CALIBRATION_BINS as f32).floor();
    Some((scaled as usize).min(CALIBRATION_BINS - 1))
}

/// Running sums for one bin.
#[derive(Debug, Default, Clone, Copy)]
struct BinSums {
    n: usize,
    confidence: f64,
    correct: usize,
}

fn calibration(rows: &[&AgreementRow]) -> Calibration {
    let mut sums = [BinSums::default(); CALIBRATION_BINS];
    for row in rows {
        let (Some(correct), Some(i)) = (row.agrees(), bin_index(row.confidence)) else {
            continue;
        };
        sums[i].n += 1;
        sums[i].confidence += f64::from(row.confidence.clamp(0.0, 1.0));
        sums[i].correct += usize::from(correct);
    }
    let bins: Vec<CalibrationBin> = sums.iter().enumerate().map(|(i, s)| bin(i, s)).collect();
    let ece = expected_calibration_error(&bins);
    Calibration { bins, ece }
}

fn bin(i: usize, s: &BinSums) -> CalibrationBin {
    CalibrationBin {
        // Divide rather than multiply by 0.1 so edges print as 0.3, not 0.30000000000000004.
        lower: i as f64 / CALIBRATION_BINS as f64,
        upper: (i + 1) as f64 / CALIBRATION_BINS as f64,
        n: s.n,
        mean_confidence: (s.n > 0).then(|| s.confidence / s.n as f64),
        accuracy: rate(s.correct, s.n),
    }
}

fn expected_calibration_error(bins: &[CalibrationBin]) -> Option<f64> {
    let total: usize = bins.iter().map(|b| b.n).sum();
    let weighted: f64 = bins
        .iter()
        .filter_map(|b| Some(b.n as f64 * (b.accuracy? - b.mean_confidence?).abs()))
        .sum();
    (total > 0).then(|| weighted / total as f64)
}

/// A reason code, or `NONE_KEY` when it is missing or blank.
fn reason_code(row: &AgreementRow) -> String {
    non_blank(row.reason_code.as_deref())
        .unwrap_or(NONE_KEY)
        .to_string()
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn top_override_reasons(rows: &[&AgreementRow]) -> Vec<OverrideReason> {
    let overrides = rows
        .iter()
        .copied()
        .filter(|r| r.action == Action::Override);
    let mut reasons: Vec<OverrideReason> = rows_by(overrides, reason_code)
        .into_iter()
        .map(|(code, rows)| OverrideReason {
            code,
            count: rows.len(),
            examples: newest_examples(rows),
        })
        .collect();
    // Stable: ties stay in code order from the map.
    reasons.sort_by_key(|r| Reverse(r.count));
    reasons.truncate(TOP_REASONS);
    reasons
}

/// Distinct non-blank free-text reasons, newest decision first, trimmed.
fn newest_examples(mut rows: Vec<&AgreementRow>) -> Vec<String> {
    rows.sort_by_key(|r| Reverse(r.decided_at));
    let mut examples: Vec<String> = Vec::new();
    for text in rows.iter().filter_map(|r| non_blank(r.reason.as_deref())) {
        if examples.len() == REASON_EXAMPLES {
            break;
        }
        if !examples.iter().any(|e| e == text) {
            examples.push(text.to_string());
        }
    }
    examples
}

/// Shared test fixtures: a row builder with plausible defaults.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use uuid::Uuid;

    /// A time on a fixed day, `minute` minutes after 10:00 UTC.
    pub fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 10, minute, 0)
            .single()
            .expect("valid fixture time")
    }

    /// A deterministic id, so tests can name rows.
    pub fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// A service-group row for decision `n`, decided `n` minutes after 10:00; accepted when
    /// the person's value equals the machine's, overridden otherwise.
    pub fn row(n: u128, suggested: Option<&str>, decided: Option<&str>) -> AgreementRow {
        AgreementRow {
            suggestion_id: id(1000 + n),
            ticket_id: id(2000 + n),
            tenant: "acme".into(),
            field: "service_group".into(),
            suggested: suggested.map(String::from),
            candidate: None,
            confidence: 0.5,
            abstained: suggested.is_none(),
            source: "retrieval".into(),
            proposer: "svm-knn/1".into(),
            prompt_version: None,
            suggested_at: at(0),
            decision_id: id(n),
            action: if suggested == decided {
                Action::Accept
            } else {
                Action::Override
            },
            decided: decided.map(String::from),
            reason_code: None,
            reason: None,
            decided_by: "alice".into(),
            decided_at: at(n as u32 % 60),
            approval_status: None,
            approved_by: None,
            approved_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{at, id, row};
    use super::*;
    use uuid::Uuid;

    const EPS: f64 = 1e-6;

    fn close(actual: Option<f64>, expected: f64) -> bool {
        actual.is_some_and(|a| (a - expected).abs() < EPS)
    }

    /// Five service-group rows and one impact row; expectations below are worked by hand.
    fn sample() -> Vec<AgreementRow> {
        let r1 = AgreementRow {
            confidence: 0.95,
            ..row(1, Some("Network"), Some("Network"))
        };
        let r2 = AgreementRow {
            confidence: 0.65,
            reason_code: Some("wrong_group".into()),
            reason: Some("user said mailbox".into()),
            ..row(2, Some("Network"), Some("Email"))
        };
        let r3 = AgreementRow {
            confidence: 0.30,
            candidate: Some("Email".into()),
            source: "none".into(),
            reason: Some("filled in".into()),
            ..row(3, None, Some("Email"))
        };
        let r4 = AgreementRow {
            confidence: 0.62,
            action: Action::Override,
            proposer: "svm-knn/2".into(),
            prompt_version: Some("p3".into()),
            source: "llm".into(),
            reason_code: Some("wrong_group".into()),
            reason: Some(" user said mailbox ".into()),
            ..row(4, Some("Email"), Some("Email"))
        };
        let r5 = AgreementRow {
            confidence: 1.0,
            proposer: "svm-knn/2".into(),
            prompt_version: Some("p3".into()),
            source: "llm".into(),
            reason_code: Some("wrong_group".into()),
            reason: Some("cable fault".into()),
            ..row(5, Some("Printing"), Some("Network"))
        };
        let impact = AgreementRow {
            field: "impact".into(),
            source: "matrix".into(),
            confidence: 0.8,
            decision_id: id(1), // same decision as r1: two fields, one decision
            ..row(6, Some("high"), Some("high"))
        };
        vec![r1, r2, r3, r4, r5, impact]
    }

    fn service_group() -> FieldAgreement {
        let report = agreement(&sample());
        report.fields["service_group"].clone()
    }

    #[test]
    fn counts_distinct_decisions_and_fields_present() {
        let report = agreement(&sample());
        assert_eq!(report.decisions, 5);
        let fields: Vec<&str> = report.fields.keys().map(String::as_str).collect();
        assert_eq!(fields, ["impact", "service_group"]);
    }

    #[test]
    fn headline_counts_and_rates() {
        let f = service_group();
        assert_eq!(
            (f.decided, f.accepted, f.overrides, f.abstained, f.agreed),
            (5, 1, 4, 1, 2)
        );
        assert!(close(f.acceptance_rate, 0.2));
        assert!(close(f.override_rate, 0.8));
        assert!(close(f.abstention_rate, 0.2));
        // 4 rows had a suggestion; r1 and r4 (override to the same value) agree.
        assert!(close(f.agreement_rate, 0.5));
    }

    #[test]
    fn confusion_labels_abstentions_and_sorts_cells() {
        let mut rows = sample();
        rows.push(AgreementRow {
            confidence: 0.9,
            ..row(7, Some("Network"), Some("Email"))
        });
        let c = agreement(&rows).fields["service_group"].confusion.clone();
        assert_eq!(c.labels, ["(abstained)", "Email", "Network", "Printing"]);
        let cells: Vec<(&str, &str, usize)> = c
            .cells
            .iter()
            .map(|c| (c.suggested.as_str(), c.decided.as_str(), c.count))
            .collect();
        assert_eq!(
            cells,
            [
                ("Network", "Email", 2),
                ("(abstained)", "Email", 1),
                ("Email", "Email", 1),
                ("Network", "Network", 1),
                ("Printing", "Network", 1),
            ]
        );
    }

    #[test]
    fn confusion_tells_nothing_apart_from_abstained() {
        let r = AgreementRow {
            abstained: false,
            ..row(1, None, None)
        };
        let c = agreement(&[r]).fields["service_group"].confusion.clone();
        assert_eq!(c.labels, ["(none)"]);
        assert_eq!(c.cells[0].suggested, "(none)");
    }

    #[test]
    fn calibration_bins_and_ece() {
        let cal = service_group().calibration;
        assert_eq!(cal.bins.len(), 10);
        let n: Vec<usize> = cal.bins.iter().map(|b| b.n).collect();
        assert_eq!(n, [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]);
        let b6 = &cal.bins[6];
        assert!(close(Some(b6.lower), 0.6) && close(Some(b6.upper), 0.7));
        assert!(close(b6.mean_confidence, 0.635));
        assert!(close(b6.accuracy, 0.5));
        assert!(close(cal.bins[9].mean_confidence, 0.975));
        assert!(close(cal.bins[9].accuracy, 0.5));
        assert_eq!(cal.bins[0].mean_confidence, None);
        assert_eq!(cal.bins[0].accuracy, None);
        // 0.5 * |0.5 - 0.635| + 0.5 * |0.5 - 0.975|
        assert!(close(cal.ece, 0.305));
    }

    #[test]
    fn bin_edges_follow_decimal_intent() {
        for j in 0..=100u16 {
            let c = f32::from(j) / 100.0;
            let expected = (usize::from(j) / 10).min(9);
            assert_eq!(bin_index(c), Some(expected), "confidence {c}");
        }
        assert_eq!(bin_index(-0.2), Some(0));
        assert_eq!(bin_index(1.5), Some(9));
        assert_eq!(bin_index(f32::INFINITY), Some(9));
        assert_eq!(bin_index(f32::NAN), None);
    }

    #[test]
    fn nan_confidence_is_left_out_of_calibration_only() {
        let r = AgreementRow {
            confidence: f32::NAN,
            ..row(1, Some("A"), Some("A"))
        };
        let f = agreement(&[r]).fields["service_group"].clone();
        assert_eq!(f.decided, 1);
        assert!(close(f.agreement_rate, 1.0));
        assert_eq!(f.calibration.ece, None);
        assert!(f.calibration.bins.iter().all(|b| b.n == 0));
    }

    #[test]
    fn groups_are_sorted_by_key() {
        let f = service_group();
        let by_source: Vec<(&str, usize, usize, usize)> = f
            .by_source
            .iter()
            .map(|g| (g.key.as_str(), g.decided, g.accepted, g.overrides))
            .collect();
        assert_eq!(
            by_source,
            [("llm", 2, 0, 2), ("none", 1, 0, 1), ("retrieval", 2, 1, 1)]
        );
        let none = &f.by_source[1];
        assert!(close(none.acceptance_rate, 0.0));
        assert_eq!(none.agreement_rate, None);

        let keys: Vec<&str> = f.by_prompt.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["(none)", "p3"]);
        let v1 = &f.by_proposer[0];
        assert_eq!((v1.key.as_str(), v1.decided), ("svm-knn/1", 3));
        assert!(close(v1.acceptance_rate, 1.0 / 3.0));
        assert!(close(v1.agreement_rate, 0.5));
        let v2 = &f.by_proposer[1];
        assert!(close(v2.acceptance_rate, 0.0));
        assert!(close(v2.agreement_rate, 0.5));
    }

    #[test]
    fn override_reasons_with_newest_distinct_examples() {
        let reasons = service_group().top_override_reasons;
        assert_eq!(
            reasons,
            [
                OverrideReason {
                    code: "wrong_group".into(),
                    count: 3,
                    examples: vec!["cable fault".into(), "user said mailbox".into()],
                },
                OverrideReason {
                    code: "(none)".into(),
                    count: 1,
                    examples: vec!["filled in".into()],
                },
            ]
        );
    }

    #[test]
    fn override_reasons_cap_examples_and_codes() {
        let mut rows = Vec::new();
        for n in 1..=12u128 {
            rows.push(AgreementRow {
                reason_code: Some(format!("code{n:02}")),
                reason: Some(format!("text {n}")),
                ..row(n, Some("A"), Some("B"))
            });
        }
        for n in 20..25u128 {
            rows.push(AgreementRow {
                reason_code: Some("  ".into()),
                reason: Some(format!("blank code {n}")),
                ..row(n, Some("A"), Some("B"))
            });
        }
        let reasons = agreement(&rows).fields["service_group"]
            .top_override_reasons
            .clone();
        assert_eq!(reasons.len(), 10);
        assert_eq!(reasons[0].code, "(none)");
        assert_eq!(reasons[0].count, 5);
        assert_eq!(
            reasons[0].examples,
            ["blank code 24", "blank code 23", "blank code 22"]
        );
        assert_eq!(reasons[1].code, "code01");
        assert_eq!(reasons[9].code, "code09");
    }

    #[test]
    fn empty_denominators_serialise_as_null() {
        let r = AgreementRow {
            action: Action::Accept,
            ..row(1, None, None)
        };
        let json = serde_json::to_value(agreement(&[r])).expect("serialises");
        let f = &json["fields"]["service_group"];
        assert_eq!(f["agreement_rate"], serde_json::Value::Null);
        assert_eq!(f["acceptance_rate"], 1.0);
        assert_eq!(f["calibration"]["ece"], serde_json::Value::Null);
        assert_eq!(
            f["calibration"]["bins"][3]["accuracy"],
            serde_json::Value::Null
        );
        assert_eq!(f["calibration"]["bins"][3]["lower"], 0.3);
        assert!(
            f["top_override_reasons"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );
    }

    #[test]
    fn empty_input_gives_empty_report() {
        let report = agreement(&[]);
        assert_eq!(report.decisions, 0);
        assert!(report.fields.is_empty());
        assert!(disagreements(&[], 5).is_empty());
    }

    #[test]
    fn action_serialises_lowercase() {
        let json = serde_json::to_string(&[Action::Accept, Action::Override]).expect("json");
        assert_eq!(json, r#"["accept","override"]"#);
        assert_eq!(Action::Override.as_str(), "override");
    }

    #[test]
    fn disagreements_newest_first_with_limit() {
        let rows = sample();
        let all: Vec<Uuid> = disagreements(&rows, 10)
            .iter()
            .map(|r| r.decision_id)
            .collect();
        // r2 (Network -> Email), r3 (abstained, filled), r5 (Printing -> Network).
        assert_eq!(all, [id(5), id(3), id(2)]);
        let limited = disagreements(&rows, 2);
        assert_eq!(limited.len(), 2);
        assert_eq!(limited[0].decided_at, at(5));
    }

    #[test]
    fn abstained_and_left_empty_is_not_a_disagreement() {
        let rows = [row(1, None, None)];
        assert!(disagreements(&rows, 10).is_empty());
    }
}
