//! Calibrated label proposals.
//!
//! Training runs k-fold cross-validation on the history to get out-of-fold (OOF) predictions
//! (one set per candidate SVM cost in `svm_c_grid`; the C with the most correct OOF
//! predictions is kept, a procedure that is the same for every tenant), fits an isotonic
//! regression (pool-adjacent-violators) from the raw score — the margin
//! between the best and second-best blended score — to P(correct), and then trains the final
//! model on all data. Optional neighbour evidence (similar past cases from the BM25 index)
//! adds a similarity-weighted vote to the linear scores; when it is used, the OOF neighbours
//! come from a source that excludes the held-out fold, so the calibration sees the same kind
//! of evidence as production.

use super::text_model::{
    HashedDoc, ModelConfig, SplitMix64, TextModel, TrainError, hash_text, rank,
};
use serde::{Deserialize, Serialize};

/// A similar past case, best first; `score` is the retrieval score (e.g. BM25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    pub label: String,
    pub score: f32,
}

/// A proposed label with its calibrated probability of being right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub label: String,
    /// Calibrated P(label is correct), in [0, 1].
    pub confidence: f32,
    /// The uncalibrated margin that `confidence` was mapped from.
    pub raw_score: f32,
    /// Runner-up labels with their blended (uncalibrated) scores, best first.
    pub alternatives: Vec<(String, f32)>,
}

/// Supplies neighbours of training examples during calibration.
pub trait NeighbourSource {
    /// Neighbours of `examples[query]`, best first, drawn only from examples `i` for which
    /// `excluded(i)` is false (the held-out fold, which always contains `query`).
    fn neighbours(&self, query: usize, excluded: &dyn Fn(usize) -> bool) -> Vec<Neighbour>;
}

/// Monotone non-decreasing map from a raw score to a probability, fitted by PAV.
/// Stored as knots joined by straight lines (flat outside the fitted range), as scikit-learn does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    xs: Vec<f32>,
    ys: Vec<f32>,
}

/// One pooled block during PAV: total outcome, count, and x extent.
struct Block {
    sum: f64,
    weight: f64,
    x_lo: f32,
    x_hi: f32,
}

impl Block {
    fn mean(&self) -> f64 {
        self.sum / self.weight
    }
}

impl Isotonic {
    /// Fits on `(raw score, outcome)` pairs; outcomes are 0/1 (or any value in [0, 1]).
    /// Non-finite scores are skipped because they cannot be ordered.
    pub fn fit(points: &[(f32, f32)]) -> Self {
        let mut pts: Vec<(f32, f32)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut blocks: Vec<Block> = Vec::new();
        for (x, y) in pts {
            let mut block = Block {
                sum: f64::from(y.clamp(0.0, 1.0)),
                weight: 1.0,
                x_lo: x,
                x_hi: x,
            };
            // Equal scores must get equal outputs, so ties always pool.
            while let Some(last) = blocks.last() {
                if last.mean() >= block.mean() || last.x_hi == block.x_lo {
                    block = merge(blocks.pop(), block);
                } else {
                    break;
                }
            }
            blocks.push(block);
        }
        let mut xs = Vec::with_capacity(blocks.len() * 2);
        let mut ys = Vec::with_capacity(blocks.len() * 2);
        for b in &blocks {
            let y = b.mean() as f32;
            xs.push(b.x_lo);
            ys.push(y);
            if b.x_hi > b.x_lo {
                xs.push(b.x_hi);
                ys.push(y);
            }
        }
        Self { xs, ys }
    }

    /// Calibrated value for `x`; 0 when nothing was fitted (no evidence of being right).
    pub fn predict(&self, x: f32) -> f32 {
        let (Some(&first), Some(&last)) = (self.xs.first(), self.xs.last()) else {
            return 0.0;
        };
        if x.is_nan() {
            return self.ys[0];
        }
        if x <= first {
            return self.ys[0];
        }
        if x >= last {
            return self.ys[self.ys.len() - 1];
        }
        // First knot strictly greater than x; x > first guarantees hi >= 1.
        let hi = self.xs.partition_point(|&k| k <= x);
        let lo = hi - 1;
        let span = self.xs[hi] - self.xs[lo];
        let t = if span > 0.0 {
            (x - self.xs[lo]) / span
        } else {
            1.0
        };
        (self.ys[lo] + t * (self.ys[hi] - self.ys[lo])).clamp(0.0, 1.0)
    }
}

fn merge(left: Option<Block>, right: Block) -> Block {
    match left {
        Some(l) => Block {
            sum: l.sum + right.sum,
            weight: l.weight + right.weight,
            x_lo: l.x_lo,
            x_hi: right.x_hi,
        },
        None => right,
    }
}

/// One out-of-fold prediction kept from training, for threshold picking and reporting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OofPrediction {
    pub gold: String,
    pub predicted: String,
    pub confidence: f32,
}

/// Final model plus the calibration learned from its out-of-fold behaviour.
#[derive(Debug, Clone)]
pub struct CalibratedModel {
    model: TextModel,
    isotonic: Isotonic,
    /// Zero when trained without neighbours: then neighbours passed to `propose` are ignored,
    /// because the calibration never saw them.
    knn_weight: f32,
    knn_k: usize,
    oof: Vec<OofPrediction>,
}

/// Out-of-fold evidence for one training example, in the final model's label space.
#[derive(Clone)]
struct OofItem {
    gold: usize,
    /// Fold-model decision values; labels unknown to the fold model are -inf.
    svm: Vec<f32>,
    knn: Vec<(usize, f32)>,
}

/// How many runner-up labels a proposal carries.
const ALTERNATIVES: usize = 4;

impl CalibratedModel {
    /// Trains without neighbour evidence (`propose` will ignore neighbours).
    pub fn train(examples: &[(&str, &str)], config: &ModelConfig) -> Result<Self, TrainError> {
        Self::train_inner(examples, config, None)
    }

    /// Trains with neighbour evidence; `source` must index exactly `examples` (same order).
    pub fn train_with_neighbours(
        examples: &[(&str, &str)],
        config: &ModelConfig,
        source: &dyn NeighbourSource,
    ) -> Result<Self, TrainError> {
        Self::train_inner(examples, config, Some(source))
    }

    fn train_inner(
        examples: &[(&str, &str)],
        config: &ModelConfig,
        source: Option<&dyn NeighbourSource>,
    ) -> Result<Self, TrainError> {
        let docs: Vec<HashedDoc> = examples.iter().map(|(t, _)| hash_text(t, config)).collect();
        let labels: Vec<&str> = examples.iter().map(|&(_, l)| l).collect();
        let mut names: Vec<&str> = labels.clone();
        names.sort_unstable();
        names.dedup();
        if names.len() < 2 {
            return Err(TrainError::TooFewLabels { found: names.len() });
        }
        let n_labels = names.len();
        let global = |l: &str| names.binary_search(&l).ok();
        let gold: Vec<usize> = labels.iter().map(|l| global(l).unwrap_or(0)).collect();
        let c_grid: Vec<f32> = if config.svm_c_grid.is_empty() {
            vec![config.svm_c]
        } else {
            config.svm_c_grid.clone()
        };
        let folds = assign_folds(&labels, config.folds, config.seed);
        let fold_count = folds.iter().max().map_or(0, |m| m + 1);
        // One entry per candidate C: the out-of-fold items it produced.
        let mut per_c: Vec<Vec<OofItem>> = vec![Vec::new(); c_grid.len()];
        for f in 0..fold_count {
            let train_idx: Vec<usize> = (0..docs.len()).filter(|&i| folds[i] != f).collect();
            let fold_docs: Vec<&HashedDoc> = train_idx.iter().map(|&i| &docs[i]).collect();
            let fold_labels: Vec<&str> = train_idx.iter().map(|&i| labels[i]).collect();
            let test_idx: Vec<usize> = (0..docs.len()).filter(|&i| folds[i] == f).collect();
            // Neighbour evidence does not depend on C: gather it once per fold.
            let evidence: Vec<Vec<(usize, f32)>> = test_idx
                .iter()
                .map(|&i| match source {
                    Some(s) => {
                        let nb = s.neighbours(i, &|j| folds[j] == f);
                        neighbour_votes(&nb, config.knn_k, global)
                    }
                    None => Vec::new(),
                })
                .collect();
            for (ci, &c) in c_grid.iter().enumerate() {
                let fold_config = ModelConfig {
                    svm_c: c,
                    ..config.clone()
                };
                // A fold whose training part has one label cannot be scored; its examples
                // just contribute no calibration points.
                let Ok(fold_model) =
                    TextModel::train_hashed(&fold_docs, &fold_labels, &fold_config)
                else {
                    continue;
                };
                // Fold label k -> global label index (fold labels are a subset, both sorted).
                let to_global: Vec<usize> = fold_model
                    .labels()
                    .iter()
                    .map(|l| global(l).unwrap_or(0))
                    .collect();
                for (&i, knn) in test_idx.iter().zip(&evidence) {
                    let mut svm = vec![f32::NEG_INFINITY; n_labels];
                    let values = fold_model.decision_values_hashed(&docs[i]);
                    for (k, s) in values.into_iter().enumerate() {
                        svm[to_global[k]] = s;
                    }
                    // A neighbour label the fold model never saw still gets its vote, as in
                    // production where the final model knows every label.
                    per_c[ci].push(OofItem {
                        gold: gold[i],
                        svm,
                        knn: knn.clone(),
                    });
                }
            }
        }
        let knn_weight = if source.is_some() {
            config.knn_weight
        } else {
            0.0
        };
        let (best_c, items) = select_c(&c_grid, per_c, knn_weight, config.svm_c);
        let final_config = ModelConfig {
            svm_c: best_c,
            ..config.clone()
        };
        let all: Vec<&HashedDoc> = docs.iter().collect();
        let model = TextModel::train_hashed(&all, &labels, &final_config)?;
        let mut points = Vec::with_capacity(items.len());
        let mut oof = Vec::with_capacity(items.len());
        for it in &items {
            let blended = combine(&it.svm, &it.knn, knn_weight);
            let ranked = rank(&blended);
            let margin = margin_of(&ranked);
            let correct = ranked[0].0 == it.gold;
            points.push((margin, if correct { 1.0 } else { 0.0 }));
            oof.push(OofPrediction {
                gold: model.labels()[it.gold].clone(),
                predicted: model.labels()[ranked[0].0].clone(),
                confidence: margin, // replaced by the calibrated value below
            });
        }
        let isotonic = Isotonic::fit(&points);
        for p in &mut oof {
            p.confidence = isotonic.predict(p.confidence);
        }
        Ok(Self {
            model,
            isotonic,
            knn_weight,
            knn_k: config.knn_k,
            oof,
        })
    }

    /// Best label for `text` with calibrated confidence. `neighbours` (best first, may be
    /// empty) only count if the model was trained with neighbours.
    pub fn propose(&self, text: &str, neighbours: &[Neighbour]) -> Proposal {
        let doc = hash_text(text, self.config());
        let svm = self.model.decision_values_hashed(&doc);
        let knn = if self.knn_weight > 0.0 {
            neighbour_votes(neighbours, self.knn_k, |l| self.model.label_index(l))
        } else {
            Vec::new()
        };
        let blended = combine(&svm, &knn, self.knn_weight);
        let ranked = rank(&blended);
        let margin = margin_of(&ranked);
        let labels = self.model.labels();
        Proposal {
            label: labels[ranked[0].0].clone(),
            confidence: self.isotonic.predict(margin),
            raw_score: margin,
            alternatives: ranked
                .iter()
                .skip(1)
                .take(ALTERNATIVES)
                .map(|&(i, s)| (labels[i].clone(), s))
                .collect(),
        }
    }

    /// Out-of-fold predictions with calibrated confidences (for picking a threshold).
    pub fn out_of_fold(&self) -> &[OofPrediction] {
        &self.oof
    }

    /// Whether neighbour evidence is part of the scores.
    pub fn uses_neighbours(&self) -> bool {
        self.knn_weight > 0.0
    }

    /// The underlying linear model.
    pub fn model(&self) -> &TextModel {
        &self.model
    }

    fn config(&self) -> &ModelConfig {
        self.model.config()
    }
}

/// Gap between the best and the runner-up score; a model with one label has no runner-up.
fn margin_of(ranked: &[(usize, f32)]) -> f32 {
    match ranked {
        [first, second, ..] => first.1 - second.1,
        _ => 0.0,
    }
}

/// Each label's share of the top-`k` neighbour similarity (shares sum to 1). Scores are
/// divided by the best neighbour's score so the vote does not depend on the retrieval engine's
/// scale; neighbours with unknown labels or non-positive scores are skipped.
fn neighbour_votes(
    neighbours: &[Neighbour],
    k: usize,
    index_of: impl Fn(&str) -> Option<usize>,
) -> Vec<(usize, f32)> {
    let valid = |n: &&Neighbour| n.score > 0.0 && n.score.is_finite();
    let top = neighbours
        .iter()
        .take(k)
        .filter(valid)
        .map(|n| n.score)
        .fold(0.0f32, f32::max);
    if top <= 0.0 {
        return Vec::new();
    }
    let mut total = 0.0f32;
    let mut votes: Vec<(usize, f32)> = Vec::new();
    for n in neighbours.iter().take(k).filter(valid) {
        let share = n.score / top;
        total += share;
        if let Some(i) = index_of(&n.label) {
            votes.push((i, share));
        }
    }
    for v in &mut votes {
        v.1 /= total;
    }
    votes
}

/// Linear scores plus `weight` times each label's neighbour vote share.
fn combine(svm: &[f32], knn: &[(usize, f32)], weight: f32) -> Vec<f32> {
    let mut scores = svm.to_vec();
    for &(i, share) in knn {
        scores[i] += weight * share;
    }
    scores
}

/// The candidate C with the most correct out-of-fold predictions under the configured blend
/// (ties go to the earlier grid entry), with its items.
fn select_c(
    grid: &[f32],
    per_c: Vec<Vec<OofItem>>,
    knn_weight: f32,
    fallback: f32,
) -> (f32, Vec<OofItem>) {
    let mut best: Option<(usize, f32, Vec<OofItem>)> = None;
    for (&c, items) in grid.iter().zip(per_c) {
        let correct = items
            .iter()
            .filter(|it| rank(&combine(&it.svm, &it.knn, knn_weight))[0].0 == it.gold)
            .count();
        if best.as_ref().is_none_or(|b| correct > b.0) {
            best = Some((correct, c, items));
        }
    }
    best.map_or((fallback, Vec::new()), |(_, c, items)| (c, items))
}

/// Stratified fold ids: each label's examples are shuffled and dealt round-robin, continuing
/// the rotation across labels so that rare labels spread over different folds.
fn assign_folds(labels: &[&str], folds: usize, seed: u64) -> Vec<usize> {
    let k = folds.clamp(2, labels.len().max(2));
    let mut order: Vec<usize> = (0..labels.len()).collect();
    let mut rng = SplitMix64::new(seed ^ 0xF01D);
    rng.shuffle(&mut order);
    // Stable sort by label keeps the shuffled order within each label.
    order.sort_by(|&a, &b| labels[a].cmp(labels[b]));
    let mut fold = vec![0; labels.len()];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k;
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn pav_known_output() {
        let iso = Isotonic::fit(&[(1.0, 1.0), (2.0, 0.0), (3.0, 1.0), (4.0, 1.0)]);
        assert!(close(iso.predict(1.0), 0.5));
        assert!(close(iso.predict(2.0), 0.5));
        assert!(close(iso.predict(2.5), 0.75));
        assert!(close(iso.predict(3.0), 1.0));
        assert!(close(iso.predict(-10.0), 0.5));
        assert!(close(iso.predict(10.0), 1.0));
    }

    #[test]
    fn pav_pools_a_decreasing_run() {
        let iso = Isotonic::fit(&[(1.0, 1.0), (2.0, 1.0), (3.0, 0.0)]);
        for x in [1.0, 2.0, 3.0] {
            assert!(close(iso.predict(x), 2.0 / 3.0));
        }
    }

    #[test]
    fn pav_ties_share_one_value() {
        let iso = Isotonic::fit(&[(1.0, 0.0), (1.0, 1.0), (2.0, 1.0)]);
        assert!(close(iso.predict(1.0), 0.5));
        assert!(close(iso.predict(2.0), 1.0));
    }

    #[test]
    fn isotonic_is_monotone() {
        let mut rng = SplitMix64::new(7);
        let pts: Vec<(f32, f32)> = (0..500)
            .map(|_| {
                let x = (rng.below(1000) as f32) / 100.0;
                let y = if rng.below(10) as f32 <= x { 1.0 } else { 0.0 };
                (x, y)
            })
            .collect();
        let iso = Isotonic::fit(&pts);
        let mut prev = -1.0;
        for step in -10..1200 {
            let p = iso.predict(step as f32 / 100.0);
            assert!(p >= prev && (0.0..=1.0).contains(&p));
            prev = p;
        }
    }

    #[test]
    fn empty_isotonic_is_zero() {
        assert_eq!(Isotonic::fit(&[]).predict(3.0), 0.0);
        assert_eq!(Isotonic::fit(&[(f32::NAN, 1.0)]).predict(3.0), 0.0);
    }

    fn history() -> Vec<(&'static str, &'static str)> {
        let mut v = Vec::new();
        for _ in 0..10 {
            v.push(("cannot login password reset account locked", "access"));
            v.push(("password expired please reset my login", "access"));
            v.push(("printer out of toner paper jam", "hardware"));
            v.push(("laptop screen broken keyboard not working", "hardware"));
        }
        v.push(("sap invoice posting error", "erp"));
        v
    }

    #[test]
    fn proposals_are_calibrated_probabilities() {
        let m = CalibratedModel::train(&history(), &ModelConfig::default()).expect("labels");
        for text in [
            "reset password",
            "",
            "toner",
            "Drucker kaputt — Tastatur ölig",
            "sap",
        ] {
            let p = m.propose(text, &[]);
            assert!((0.0..=1.0).contains(&p.confidence), "{p:?}");
            assert_eq!(p.alternatives.len(), 2);
        }
        assert_eq!(m.propose("printer toner", &[]).label, "hardware");
        assert_eq!(m.out_of_fold().len(), history().len());
    }

    #[test]
    fn degenerate_histories() {
        let c = ModelConfig::default();
        assert!(CalibratedModel::train(&[("a", "x"), ("b", "x")], &c).is_err());
        assert!(CalibratedModel::train(&[], &c).is_err());
        // Two examples, two labels: every fold trains on one label, so no calibration
        // evidence exists and the confidence must be the conservative 0.
        let m = CalibratedModel::train(&[("a", "x"), ("b", "y")], &c).expect("two labels");
        assert_eq!(m.propose("a", &[]).confidence, 0.0);
        let huge = "x".repeat(1 << 20);
        assert!((0.0..=1.0).contains(&m.propose(&huge, &[]).confidence));
    }

    struct LabelOracle(Vec<&'static str>);

    impl NeighbourSource for LabelOracle {
        fn neighbours(&self, query: usize, excluded: &dyn Fn(usize) -> bool) -> Vec<Neighbour> {
            // Returns the first non-excluded example with the query's label.
            (0..self.0.len())
                .filter(|&j| !excluded(j) && self.0[j] == self.0[query])
                .take(1)
                .map(|j| Neighbour {
                    label: self.0[j].to_owned(),
                    score: 10.0,
                })
                .collect()
        }
    }

    #[test]
    fn neighbours_are_used_only_when_trained_with_them() {
        let h = history();
        let c = ModelConfig {
            knn_weight: 5.0,
            ..ModelConfig::default()
        };
        let oracle = LabelOracle(h.iter().map(|&(_, l)| l).collect());
        let with = CalibratedModel::train_with_neighbours(&h, &c, &oracle).expect("labels");
        let vote = [Neighbour {
            label: "hardware".into(),
            score: 3.0,
        }];
        assert!(with.uses_neighbours());
        assert_eq!(with.propose("reset my password", &vote).label, "hardware");
        let without = CalibratedModel::train(&h, &c).expect("labels");
        assert_eq!(without.propose("reset my password", &vote).label, "access");
    }

    #[test]
    fn folds_are_stratified() {
        let labels = ["a", "a", "a", "a", "b", "b", "b", "b", "c"];
        let f = assign_folds(&labels, 2, 1);
        let a: Vec<usize> = f[..4].to_vec();
        assert_eq!(a.iter().filter(|&&x| x == 0).count(), 2);
        assert_eq!(f[4..8].iter().filter(|&&x| x == 0).count(), 2);
    }

    #[test]
    fn votes_and_shares_are_normalised() {
        let nb = [
            Neighbour {
                label: "a".into(),
                score: 4.0,
            },
            Neighbour {
                label: "b".into(),
                score: 2.0,
            },
            Neighbour {
                label: "zzz".into(),
                score: 2.0,
            },
            Neighbour {
                label: "a".into(),
                score: f32::NAN,
            },
        ];
        let idx = |l: &str| match l {
            "a" => Some(0),
            "b" => Some(1),
            _ => None,
        };
        let v = neighbour_votes(&nb, 10, idx);
        assert_eq!(v, vec![(0, 0.5), (1, 0.25)]);
        assert!(neighbour_votes(&nb[3..], 10, idx).is_empty());
        assert_eq!(combine(&[0.0, 1.0], &[(0, 1.0)], 0.5), vec![0.5, 1.0]);
    }

    #[test]
    fn c_is_chosen_from_the_grid() {
        let h = history();
        let c = ModelConfig {
            svm_c_grid: vec![0.01, 1.0],
            ..ModelConfig::default()
        };
        let m = CalibratedModel::train(&h, &c).expect("labels");
        assert!(c.svm_c_grid.contains(&m.model().config().svm_c));
        assert_eq!(m.out_of_fold().len(), h.len());
        // An empty grid means: use `svm_c` as given.
        let fixed = ModelConfig {
            svm_c_grid: Vec::new(),
            svm_c: 0.7,
            ..ModelConfig::default()
        };
        let m = CalibratedModel::train(&h, &fixed).expect("labels");
        assert_eq!(m.model().config().svm_c, 0.7);
    }

    #[test]
    fn select_c_prefers_more_correct_then_earlier() {
        let item = |gold: usize, svm: [f32; 2]| OofItem {
            gold,
            svm: svm.to_vec(),
            knn: Vec::new(),
        };
        let per_c = vec![
            vec![item(0, [1.0, 0.0]), item(1, [1.0, 0.0])],
            vec![item(0, [1.0, 0.0]), item(1, [0.0, 1.0])],
            vec![item(0, [1.0, 0.0]), item(1, [0.0, 1.0])],
        ];
        assert_eq!(select_c(&[1.0, 2.0, 4.0], per_c, 0.0, 9.0).0, 2.0);
        assert_eq!(select_c(&[], Vec::new(), 0.0, 9.0).0, 9.0);
    }
}
