//! Per-tenant models: for each proposed field, a text model calibrated on the tenant's own past
//! cases (see `calibration.rs`), so that a confidence of 0.8 means right about 8 times in 10 on
//! that tenant's history. Pure: the caller supplies the cases and their neighbours.

use std::collections::BTreeMap;

use super::calibration::{CalibratedModel, Neighbour, NeighbourSource};
use super::eval_metrics::Scored;
use super::text_model::{ModelConfig, TrainError};
use crate::domain::case::CaseRecord;
use crate::domain::severity::{Level, SeverityMatrix};
use crate::domain::suggestion::Field;

/// A name for what proposes, recorded with each suggestion; bump when the model changes.
pub const MODEL_VERSION: &str = "svm-knn/1";

/// The similar cases of each history case, as indices into the history with their scores.
pub type NeighbourLists = Vec<Vec<(usize, f32)>>;

/// The label a past case gives a field. Impact and urgency fall back to the pair the severity
/// matrix calls typical for the case's priority, since most tools record only a priority.
pub fn label_of(case: &CaseRecord, field: Field, matrix: &SeverityMatrix) -> Option<String> {
    let typical = |pick: fn(&crate::domain::severity::PriorityLevel) -> Level| {
        case.priority
            .and_then(|p| matrix.level(p))
            .map(|level| pick(level).as_str().to_string())
    };
    match field {
        Field::ServiceGroup => case.service_group.clone(),
        Field::Priority => case.priority.map(|p| p.as_str().to_string()),
        Field::Impact => case
            .impact
            .map(|l| l.as_str().to_string())
            .or_else(|| typical(|l| l.typical_impact)),
        Field::Urgency => case
            .urgency
            .map(|l| l.as_str().to_string())
            .or_else(|| typical(|l| l.typical_urgency)),
    }
}

/// The service groups of past cases, most frequent first.
fn catalogue_of(history: &[CaseRecord]) -> Vec<String> {
    by_frequency(history.iter().filter_map(|c| c.service_group.as_deref()))
}

/// Distinct non-empty labels, most frequent first, ties by name: a tenant's catalogue.
pub fn by_frequency<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for label in labels.map(str::trim).filter(|l| !l.is_empty()) {
        *counts.entry(label).or_default() += 1;
    }
    let mut labels: Vec<(&str, usize)> = counts.into_iter().collect();
    labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    labels.into_iter().map(|(l, _)| l.to_string()).collect()
}

/// One field's model with what it was trained on.
pub struct FieldModel {
    pub model: CalibratedModel,
    pub examples: usize,
    /// The lowest calibrated confidence at which this tenant's out-of-fold proposals still
    /// reached the target precision; `None` when they never did with enough cases to tell.
    pub threshold: Option<f32>,
}

/// Out-of-fold proposals needed above a threshold before it is trusted.
const MIN_COVERED: usize = 20;

fn pick_threshold(model: &CalibratedModel, target_precision: f64) -> Option<f32> {
    let scored: Vec<Scored> = model
        .out_of_fold()
        .iter()
        .map(|p| Scored {
            gold: &p.gold,
            predicted: &p.predicted,
            confidence: p.confidence,
        })
        .collect();
    super::eval_metrics::pick_threshold(&scored, target_precision, MIN_COVERED)
}

/// The models of one tenant; a field missing here had too little history to learn from.
pub struct TenantModels {
    pub fields: BTreeMap<Field, FieldModel>,
    /// Past cases read when training.
    pub cases: usize,
    /// The service groups of those cases, most frequent first: the tenant's catalogue, the
    /// only groups a model may propose.
    pub catalogue: Vec<String>,
}

impl TenantModels {
    pub fn empty() -> Self {
        Self {
            fields: BTreeMap::new(),
            cases: 0,
            catalogue: Vec::new(),
        }
    }

    /// Trains every field that has at least `min_history` labelled cases and two labels.
    /// `neighbours[i]` are the similar cases of `history[i]` (never itself), best first.
    pub fn train(
        history: &[CaseRecord],
        neighbours: &NeighbourLists,
        matrix: &SeverityMatrix,
        min_history: usize,
        target_precision: f64,
        config: &ModelConfig,
    ) -> Self {
        let texts: Vec<String> = history.iter().map(CaseRecord::text).collect();
        let mut fields = BTreeMap::new();
        for field in Field::ALL {
            let labels: Vec<Option<String>> = history
                .iter()
                .map(|case| label_of(case, field, matrix))
                .collect();
            // Positions in the history of the cases labelled for this field.
            let kept: Vec<usize> = (0..history.len())
                .filter(|&i| labels[i].is_some())
                .collect();
            if kept.len() < min_history {
                continue;
            }
            let examples: Vec<(&str, &str)> = kept
                .iter()
                .map(|&i| (texts[i].as_str(), labels[i].as_deref().unwrap_or_default()))
                .collect();
            let lists =
                (neighbours.len() == history.len()).then(|| reindex_neighbours(&kept, neighbours));
            match train_field(&examples, lists, target_precision, config) {
                Ok(model) => {
                    fields.insert(field, model);
                }
                Err(err) => {
                    tracing::debug!(field = field.as_str(), error = %err, "field not trained")
                }
            }
        }
        Self {
            fields,
            cases: history.len(),
            catalogue: catalogue_of(history),
        }
    }

    pub fn get(&self, field: Field) -> Option<&FieldModel> {
        self.fields.get(&field)
    }
}

/// Neighbour lists re-indexed onto one field's examples: the calibration folds are over
/// examples, and a neighbour without a label for the field is no evidence for it.
fn reindex_neighbours(kept: &[usize], neighbours: &NeighbourLists) -> NeighbourLists {
    let mut position = vec![usize::MAX; neighbours.len()];
    for (example, &case) in kept.iter().enumerate() {
        position[case] = example;
    }
    kept.iter()
        .map(|&case| {
            neighbours[case]
                .iter()
                .filter(|(n, _)| position.get(*n).is_some_and(|p| *p != usize::MAX))
                .map(|&(n, score)| (position[n], score))
                .collect()
        })
        .collect()
}

/// Trains and calibrates one field on `(text, label)` examples. `neighbours[i]`, when given,
/// are the similar examples of example `i` (indices into `examples`), best first.
pub fn train_field(
    examples: &[(&str, &str)],
    neighbours: Option<NeighbourLists>,
    target_precision: f64,
    config: &ModelConfig,
) -> Result<FieldModel, TrainError> {
    let model = match neighbours {
        Some(lists) => {
            let source = ListNeighbours {
                lists,
                labels: examples.iter().map(|(_, l)| (*l).to_string()).collect(),
            };
            CalibratedModel::train_with_neighbours(examples, config, &source)?
        }
        None => CalibratedModel::train(examples, config)?,
    };
    let threshold = pick_threshold(&model, target_precision);
    Ok(FieldModel {
        model,
        examples: examples.len(),
        threshold,
    })
}

/// Precomputed neighbour lists as the calibration's neighbour source.
struct ListNeighbours {
    lists: NeighbourLists,
    labels: Vec<String>,
}

impl NeighbourSource for ListNeighbours {
    fn neighbours(&self, query: usize, excluded: &dyn Fn(usize) -> bool) -> Vec<Neighbour> {
        self.lists
            .get(query)
            .map(|list| {
                list.iter()
                    .filter(|(n, _)| *n != query && !excluded(*n))
                    .map(|&(n, score)| Neighbour {
                        label: self.labels[n].clone(),
                        score,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
