//! Evaluation of calibrated proposals: accuracy, macro-F1, coverage and precision at a
//! confidence threshold, expected calibration error, and a per-class table. Pure functions
//! over (gold, predicted, confidence) triples; no I/O.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// One evaluated proposal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored<'a> {
    pub gold: &'a str,
    pub predicted: &'a str,
    /// Calibrated P(correct); values outside [0, 1] are clamped when binned.
    pub confidence: f32,
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassStats {
    pub label: String,
    /// Number of test items whose gold label is this one.
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Summary of a test run at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub accuracy: f64,
    /// Mean F1 over the gold labels present in the test set.
    pub macro_f1: f64,
    /// Share of items with confidence >= threshold.
    pub coverage: f64,
    /// Accuracy among covered items; `None` when nothing is covered.
    pub precision_at_coverage: Option<f64>,
    /// Expected calibration error, 10 equal-width bins weighted by count.
    pub ece: f64,
    pub n_test: usize,
    pub threshold: f32,
    /// Gold and predicted labels, largest support first.
    pub per_class: Vec<ClassStats>,
}

/// Number of equal-width bins for the calibration error.
pub const ECE_BINS: usize = 10;

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Computes the full report for `items` at `threshold`.
pub fn evaluate(items: &[Scored<'_>], threshold: f32) -> EvalReport {
    let correct = items.iter().filter(|s| s.gold == s.predicted).count();
    let covered: Vec<&Scored<'_>> = items.iter().filter(|s| s.confidence >= threshold).collect();
    let covered_correct = covered.iter().filter(|s| s.gold == s.predicted).count();
    let per_class = per_class(items);
    let gold_classes: Vec<&ClassStats> = per_class.iter().filter(|c| c.support > 0).collect();
    let macro_f1 = if gold_classes.is_empty() {
        0.0
    } else {
        gold_classes.iter().map(|c| c.f1).sum::<f64>() / gold_classes.len() as f64
    };
    EvalReport {
        accuracy: ratio(correct, items.len()),
        macro_f1,
        coverage: ratio(covered.len(), items.len()),
        precision_at_coverage: (!covered.is_empty()).then(|| ratio(covered_correct, covered.len())),
        ece: expected_calibration_error(items, ECE_BINS),
        n_test: items.len(),
        threshold,
        per_class,
    }
}

/// Per-label table over every label that occurs as gold or as prediction.
pub fn per_class(items: &[Scored<'_>]) -> Vec<ClassStats> {
    // (support, predicted count, true positives) per label.
    let mut counts: FxHashMap<&str, (usize, usize, usize)> = FxHashMap::default();
    for s in items {
        counts.entry(s.gold).or_default().0 += 1;
        let pred = counts.entry(s.predicted).or_default();
        pred.1 += 1;
        if s.gold == s.predicted {
            pred.2 += 1;
        }
    }
    let mut table: Vec<ClassStats> = counts
        .into_iter()
        .map(|(label, (support, predicted, tp))| {
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassStats {
                label: label.to_owned(),
                support,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    table.sort_by(|a, b| {
        b.support
            .cmp(&a.support)
            .then_with(|| a.label.cmp(&b.label))
    });
    table
}

/// Sum over bins of (bin share) x |bin accuracy - bin mean confidence|.
pub fn expected_calibration_error(items: &[Scored<'_>], bins: usize) -> f64 {
    if items.is_empty() || bins == 0 {
        return 0.0;
    }
    // (count, correct, confidence sum) per bin.
    let mut acc = vec![(0usize, 0usize, 0f64); bins];
    for s in items {
        let c = if s.confidence.is_nan() {
            0.0
        } else {
            s.confidence.clamp(0.0, 1.0)
        };
        // Binned in f32, the caller's precision, so 0.9f32 lands in bin 9 and not bin 8.
        // Confidence 1.0 belongs to the last bin, not to a bin past the end.
        let b = ((c * bins as f32) as usize).min(bins - 1);
        let c = f64::from(c);
        acc[b].0 += 1;
        acc[b].1 += usize::from(s.gold == s.predicted);
        acc[b].2 += c;
    }
    let n = items.len() as f64;
    acc.iter()
        .filter(|b| b.0 > 0)
        .map(|&(count, correct, conf)| {
            let k = count as f64;
            (k / n) * (correct as f64 / k - conf / k).abs()
        })
        .sum()
}

/// The lowest confidence threshold whose covered set (confidence >= threshold) still has
/// precision >= `target_precision` and at least `min_covered` items — i.e. the largest
/// coverage meeting the target. Meant for out-of-fold training predictions, never test data.
/// `None` when no threshold qualifies.
pub fn pick_threshold(
    items: &[Scored<'_>],
    target_precision: f64,
    min_covered: usize,
) -> Option<f32> {
    let mut sorted: Vec<&Scored<'_>> = items.iter().filter(|s| !s.confidence.is_nan()).collect();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut best = None;
    let (mut seen, mut correct) = (0usize, 0usize);
    for (i, s) in sorted.iter().enumerate() {
        seen += 1;
        correct += usize::from(s.gold == s.predicted);
        // Only cut between distinct confidences: a threshold admits all ties at once.
        let boundary = sorted
            .get(i + 1)
            .is_none_or(|next| next.confidence < s.confidence);
        if boundary && seen >= min_covered && ratio(correct, seen) >= target_precision {
            best = Some(s.confidence);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s<'a>(gold: &'a str, predicted: &'a str, confidence: f32) -> Scored<'a> {
        Scored {
            gold,
            predicted,
            confidence,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn ece_hand_computed() {
        // Bin 9: conf 0.9 and 1.0 (mean 0.95), 1 of 2 right -> |0.5-0.95| * 2/4 = 0.225.
        // Bin 2: conf 0.25 twice, both wrong -> |0-0.25| * 2/4 = 0.125.
        let items = [
            s("a", "a", 0.9),
            s("a", "b", 1.0),
            s("b", "a", 0.25),
            s("b", "a", 0.25),
        ];
        assert!(close(expected_calibration_error(&items, 10), 0.35));
    }

    #[test]
    fn perfect_calibration_has_zero_ece() {
        let items = [s("a", "a", 1.0), s("a", "a", 1.0), s("a", "b", 0.0)];
        assert!(close(expected_calibration_error(&items, 10), 0.0));
    }

    #[test]
    fn report_figures() {
        let items = [
            s("a", "a", 0.95),
            s("a", "a", 0.9),
            s("a", "b", 0.4),
            s("b", "b", 0.85),
            s("b", "a", 0.3),
        ];
        let r = evaluate(&items, 0.8);
        assert!(close(r.accuracy, 0.6));
        assert!(close(r.coverage, 0.6));
        assert_eq!(r.precision_at_coverage, Some(1.0));
        assert_eq!(r.n_test, 5);
        // a: P 2/3, R 2/3, F1 2/3; b: P 1/2, R 1/2, F1 1/2.
        assert!(close(r.macro_f1, (2.0 / 3.0 + 0.5) / 2.0));
        assert_eq!(r.per_class[0].label, "a");
        assert_eq!(r.per_class[0].support, 3);
        let json = serde_json::to_value(&r).expect("serialises");
        for key in [
            "accuracy",
            "macro_f1",
            "coverage",
            "precision_at_coverage",
            "ece",
            "n_test",
            "threshold",
            "per_class",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn macro_f1_ignores_predicted_only_labels() {
        let items = [s("a", "a", 0.5), s("a", "z", 0.5)];
        let r = evaluate(&items, 0.9);
        // Only gold label a counts: P 1, R 1/2, F1 2/3.
        assert!(close(r.macro_f1, 2.0 / 3.0));
        assert_eq!(r.per_class.len(), 2);
        assert_eq!(r.precision_at_coverage, None);
    }

    #[test]
    fn empty_input() {
        let r = evaluate(&[], 0.5);
        assert_eq!(r.n_test, 0);
        assert!(close(r.accuracy, 0.0) && close(r.ece, 0.0));
        assert_eq!(pick_threshold(&[], 0.9, 1), None);
    }

    #[test]
    fn threshold_picks_largest_qualifying_coverage() {
        let items = [
            s("a", "a", 0.99),
            s("a", "a", 0.95),
            s("a", "b", 0.9),
            s("a", "a", 0.8),
            s("a", "a", 0.7),
            s("a", "b", 0.6),
            s("a", "b", 0.5),
        ];
        // Prefix precisions: 1, 1, 2/3, 3/4, 4/5, 4/6, 4/7.
        assert_eq!(pick_threshold(&items, 0.75, 1), Some(0.7));
        assert_eq!(pick_threshold(&items, 0.9, 1), Some(0.95));
        assert_eq!(pick_threshold(&items, 0.9, 3), None);
    }

    #[test]
    fn threshold_does_not_split_ties() {
        let items = [s("a", "a", 0.9), s("a", "b", 0.8), s("a", "a", 0.8)];
        // Admitting 0.8 admits both ties: precision 2/3.
        assert_eq!(pick_threshold(&items, 0.7, 1), Some(0.9));
    }
}
