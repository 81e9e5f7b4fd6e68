//! `triagegate eval tickets`: the group (or any label) proposal measured on a labelled CSV, the
//! way the service proposes: past cases in a tantivy index, the model trained and calibrated on
//! the training rows with their neighbours, each test row proposed from its text and its
//! neighbours, abstaining below the threshold picked on the training rows alone.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::config::Config;
use crate::search::{CaseIndex, IndexedCase, QueryConfig, SimilarQuery};
use crate::triage::calibration::Neighbour;
use crate::triage::eval_metrics::{EvalReport, Scored, evaluate};
use crate::triage::models::train_field;
use crate::triage::text_model::{ModelConfig, SplitMix64};

/// Neighbours looked up per training row for calibration.
const TRAINING_NEIGHBOURS: usize = 20;

#[derive(Debug, Args)]
pub struct EvalTicketsArgs {
    /// Labelled tickets, CSV with a header row.
    #[arg(long)]
    pub data: PathBuf,
    /// Text columns, comma-separated; the first is the title, the rest the description.
    #[arg(long, value_delimiter = ',', required = true)]
    pub text_cols: Vec<String>,
    /// The human label to propose.
    #[arg(long)]
    pub label_col: String,
    /// A separate test file with the same columns.
    #[arg(long, conflicts_with = "split")]
    pub test: Option<PathBuf>,
    /// Share of the rows held out for testing, stratified by label.
    #[arg(long, required_unless_present = "test")]
    pub split: Option<f64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
    /// Also ask the configured model (`[llm]` in --config) for each test row and report the
    /// combined proposal, its token use and the shares of repaired and failed answers.
    #[arg(long)]
    pub llm: bool,
    /// With --llm: ask the model about N test rows only, evenly spaced (all are scored offline).
    #[arg(long, requires = "llm")]
    pub llm_limit: Option<usize>,
}

struct Row {
    title: String,
    description: String,
    label: String,
}

impl Row {
    fn text(&self) -> String {
        format!("{}\n{}", self.title, self.description)
    }
}

#[derive(Serialize)]
struct Report {
    #[serde(flatten)]
    metrics: EvalReport,
    n_train: usize,
    /// Test rows whose text also occurs among the training rows, and the figures without them.
    exact_repeats: usize,
    accuracy_without_repeats: f64,
    threshold_source: &'static str,
    train_seconds: f64,
    propose_ms_mean: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    llm: Option<super::eval_llm::LlmReport>,
}

pub async fn eval_tickets(args: EvalTicketsArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let rows = read_rows(&args.data, &args.text_cols, &args.label_col)?;
    let (train, test) = match &args.test {
        Some(path) => (rows, read_rows(path, &args.text_cols, &args.label_col)?),
        None => {
            let share = args.split.unwrap_or(0.2);
            anyhow::ensure!(
                share > 0.0 && share < 1.0,
                "--split must lie strictly between 0 and 1"
            );
            stratified_split(rows, share, args.seed)
        }
    };
    anyhow::ensure!(
        !train.is_empty() && !test.is_empty(),
        "no rows to train or test on"
    );
    // Checked before any work: a missing endpoint must not cost a training run.
    let llm = match args.llm {
        true => Some((super::eval_llm::triager(config)?, args.llm_limit)),
        false => None,
    };
    let dir = scratch_dir()?;
    let result = run(&train, &test, config, &dir, llm).await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
        if let Some(llm) = &report.llm {
            super::eval_llm::print(llm);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(
    train: &[Row],
    test: &[Row],
    config: &Config,
    dir: &Path,
    llm: Option<(crate::llm::LlmTriager, Option<usize>)>,
) -> anyhow::Result<Report> {
    let (index, _) = CaseIndex::open(dir, QueryConfig::default())?;
    index.reset().await?;
    let docs: Vec<IndexedCase> = train
        .iter()
        .enumerate()
        .map(|(i, row)| IndexedCase {
            tenant: "eval".into(),
            case_id: i.to_string(),
            external_id: None,
            title: row.title.clone(),
            description: row.description.clone(),
            templates: Vec::new(),
            resolution: String::new(),
            service_group: Some(row.label.clone()),
            priority: None,
            closed_at: None,
            created_at: 0,
        })
        .collect();
    index.add_for_rebuild(docs).await?;
    index.mark_ready("evaluation".into()).await?;

    let started = Instant::now();
    let texts: Vec<String> = train.iter().map(Row::text).collect();
    let examples: Vec<(&str, &str)> = texts
        .iter()
        .zip(train)
        .map(|(text, row)| (text.as_str(), row.label.as_str()))
        .collect();
    let queries: Vec<SimilarQuery> = train
        .iter()
        .enumerate()
        .map(|(i, row)| query(row, Some(i)))
        .collect();
    let positions: HashMap<String, usize> = (0..train.len()).map(|i| (i.to_string(), i)).collect();
    let lists = index.neighbour_lists(&queries, TRAINING_NEIGHBOURS, &positions)?;
    let model = train_field(
        &examples,
        Some(lists),
        config.triage.target_precision,
        &ModelConfig::default(),
    )
    .context("training on the training rows")?;
    let train_seconds = started.elapsed().as_secs_f64();
    let threshold = model
        .threshold
        .unwrap_or(config.triage.thresholds.service_group);

    let started = Instant::now();
    let mut predictions = Vec::with_capacity(test.len());
    // The rows the model is asked about: evenly spaced over the test rows, so a limit samples
    // every label rather than the first ones in file order.
    let sampled: HashSet<usize> = match &llm {
        Some((_, limit)) => {
            let n = limit.unwrap_or(test.len()).min(test.len());
            (0..n).map(|i| i * test.len() / n.max(1)).collect()
        }
        None => HashSet::new(),
    };
    let mut kept_hits = std::collections::BTreeMap::new();
    for (i, row) in test.iter().enumerate() {
        let hits = index.search_now(&query(row, None), config.triage.neighbours)?;
        let neighbours: Vec<Neighbour> = hits
            .iter()
            .filter_map(|h| {
                h.service_group.clone().map(|label| Neighbour {
                    label,
                    score: h.score,
                })
            })
            .collect();
        predictions.push(model.model.propose(&row.text(), &neighbours));
        if sampled.contains(&i) {
            kept_hits.insert(i, hits);
        }
    }
    let propose_ms_mean = started.elapsed().as_secs_f64() * 1000.0 / test.len() as f64;
    let scored: Vec<Scored> = test
        .iter()
        .zip(&predictions)
        .map(|(row, p)| Scored {
            gold: &row.label,
            predicted: &p.label,
            confidence: p.confidence,
        })
        .collect();
    let known: HashSet<String> = train.iter().map(|r| normalise(&r.text())).collect();
    let fresh: Vec<Scored> = test
        .iter()
        .zip(&scored)
        .filter(|(row, _)| !known.contains(&normalise(&row.text())))
        .map(|(_, s)| *s)
        .collect();
    let fresh_correct = fresh.iter().filter(|s| s.gold == s.predicted).count();
    let llm_report = match &llm {
        Some((triager, _)) => {
            let rows: Vec<super::eval_llm::LlmRow> = kept_hits
                .iter()
                .map(|(&index, hits)| super::eval_llm::LlmRow {
                    index,
                    title: &test[index].title,
                    description: &test[index].description,
                    gold: &test[index].label,
                    hits,
                    offline: &predictions[index],
                })
                .collect();
            let catalogue = catalogue(train);
            Some(
                super::eval_llm::evaluate_with_model(triager, &rows, &catalogue, config, threshold)
                    .await,
            )
        }
        None => None,
    };
    Ok(Report {
        metrics: evaluate(&scored, threshold),
        n_train: train.len(),
        exact_repeats: test.len() - fresh.len(),
        accuracy_without_repeats: fresh_correct as f64 / fresh.len().max(1) as f64,
        threshold_source: if model.threshold.is_some() {
            "picked on the training rows (out-of-fold) at triage.target_precision"
        } else {
            "triage.thresholds.service_group (training rows could not tell)"
        },
        train_seconds,
        propose_ms_mean,
        llm: llm_report,
    })
}

/// The training labels, most frequent first: the catalogue the model may choose from.
fn catalogue(train: &[Row]) -> Vec<String> {
    crate::triage::models::by_frequency(train.iter().map(|r| r.label.as_str()))
}

fn query(row: &Row, exclude: Option<usize>) -> SimilarQuery {
    SimilarQuery {
        tenants: vec!["eval".into()],
        title: row.title.clone(),
        description: row.description.clone(),
        templates: Vec::new(),
        created_before: None,
        exclude_case: exclude.map(|i| i.to_string()),
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn read_rows(path: &Path, text_cols: &[String], label_col: &str) -> anyhow::Result<Vec<Row>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let header = reader.headers()?.clone();
    let find = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name.trim())
            .with_context(|| format!("{} has no column {name:?}", path.display()))
    };
    let text_idx: Vec<usize> = text_cols
        .iter()
        .map(|c| find(c))
        .collect::<Result<_, _>>()?;
    let label_idx = find(label_col)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", path.display()))?;
        let label = record.get(label_idx).unwrap_or_default().trim().to_string();
        if label.is_empty() {
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        let title = text_idx.first().map(|&i| cell(i)).unwrap_or_default();
        let description = text_idx
            .iter()
            .skip(1)
            .map(|&i| cell(i))
            .collect::<Vec<_>>()
            .join("\n");
        rows.push(Row {
            title,
            description,
            label,
        });
    }
    Ok(rows)
}

/// Holds out `share` of each label's rows (rounded; a label with one row stays in training).
fn stratified_split(rows: Vec<Row>, share: f64, seed: u64) -> (Vec<Row>, Vec<Row>) {
    let mut by_label: HashMap<String, Vec<Row>> = HashMap::new();
    for row in rows {
        by_label.entry(row.label.clone()).or_default().push(row);
    }
    let mut labels: Vec<String> = by_label.keys().cloned().collect();
    labels.sort();
    let mut rng = SplitMix64::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for label in labels {
        let mut group = by_label.remove(&label).unwrap_or_default();
        rng.shuffle(&mut group);
        let held = ((group.len() as f64) * share).round() as usize;
        let held = held.min(group.len().saturating_sub(1));
        test.extend(group.drain(..held));
        train.extend(group);
    }
    (train, test)
}

pub(super) fn scratch_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("triagegate-eval-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn print_report(report: &Report) {
    let m = &report.metrics;
    println!("train {} / test {} rows", report.n_train, m.n_test);
    println!("accuracy            {:.3}", m.accuracy);
    println!("macro-F1            {:.3}", m.macro_f1);
    println!(
        "threshold           {:.3} ({})",
        m.threshold, report.threshold_source
    );
    println!("coverage            {:.3}", m.coverage);
    match m.precision_at_coverage {
        Some(p) => println!("precision@coverage  {p:.3}"),
        None => println!("precision@coverage  - (nothing covered)"),
    }
    println!("ECE (10 bins)       {:.3}", m.ece);
    println!(
        "without the {} exact repeats of training texts: accuracy {:.3}",
        report.exact_repeats, report.accuracy_without_repeats
    );
    println!(
        "training {:.1} s, proposing {:.2} ms per ticket",
        report.train_seconds, report.propose_ms_mean
    );
    println!(
        "\n{:<30} {:>7} {:>9} {:>7} {:>7}",
        "label", "support", "precision", "recall", "F1"
    );
    for class in m.per_class.iter().take(30) {
        println!(
            "{:<30} {:>7} {:>9.3} {:>7.3} {:>7.3}",
            class.label.chars().take(30).collect::<String>(),
            class.support,
            class.precision,
            class.recall,
            class.f1
        );
    }
    if m.per_class.len() > 30 {
        println!("... {} more labels (see --json)", m.per_class.len() - 30);
    }
}
