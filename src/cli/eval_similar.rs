//! `triagegate eval similar`: similar-case retrieval measured on bug reports with human-marked
//! duplicate links (the GitBugs protocol): for each distinct pair the newer report is the query,
//! the older one the target, and only reports created before the query are candidates.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::domain::case::parse_time;
use crate::search::{CaseIndex, IndexedCase, QueryConfig, SimilarQuery};

/// Ranks looked at for the reciprocal rank; a target further down counts as not found.
const DEPTH: usize = 100;

#[derive(Debug, Args)]
pub struct EvalSimilarArgs {
    /// Reports: Summary, Issue id, Created, Description (Priority and Resolution if present).
    #[arg(long)]
    pub bugs: PathBuf,
    /// Duplicate links: Issue id, Duplicate id (and split).
    #[arg(long)]
    pub pairs: PathBuf,
    /// Only pairs whose `split` column has this value (e.g. test).
    #[arg(long)]
    pub only_split: Option<String>,
    #[arg(long)]
    pub json: bool,
}

struct Bug {
    id: String,
    summary: String,
    description: String,
    priority: Option<String>,
    resolution: String,
    created: i64,
}

#[derive(Serialize)]
struct Report {
    recall_at_1: f64,
    recall_at_5: f64,
    recall_at_10: f64,
    recall_at_20: f64,
    mrr: f64,
    n_queries: usize,
    n_reports: usize,
    /// Pairs skipped because a report is missing or both were created at the same minute.
    skipped_pairs: usize,
}

pub async fn eval_similar(args: EvalSimilarArgs) -> anyhow::Result<ExitCode> {
    let bugs = read_bugs(&args)?;
    let pairs = read_pairs(&args)?;
    let dir = super::eval_tickets::scratch_dir()?;
    let result = run(&bugs, &pairs, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} queries over {} reports ({} pairs skipped)",
            report.n_queries, report.n_reports, report.skipped_pairs
        );
        println!(
            "recall@1 {:.3}  recall@5 {:.3}  recall@10 {:.3}  recall@20 {:.3}  MRR {:.3}",
            report.recall_at_1,
            report.recall_at_5,
            report.recall_at_10,
            report.recall_at_20,
            report.mrr
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(
    bugs: &[Bug],
    pairs: &BTreeSet<(String, String)>,
    dir: &std::path::Path,
) -> anyhow::Result<Report> {
    let (index, _) = CaseIndex::open(dir, QueryConfig::default())?;
    index.reset().await?;
    let docs = bugs
        .iter()
        .map(|b| IndexedCase {
            tenant: "eval".into(),
            case_id: b.id.clone(),
            external_id: Some(b.id.clone()),
            title: b.summary.clone(),
            description: b.description.clone(),
            templates: Vec::new(),
            resolution: b.resolution.clone(),
            service_group: None,
            priority: b.priority.clone(),
            closed_at: None,
            created_at: b.created,
        })
        .collect();
    index.add_for_rebuild(docs).await?;
    index.mark_ready("evaluation".into()).await?;
    let by_id: HashMap<&str, &Bug> = bugs.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut ranks = Vec::new();
    let mut skipped = 0;
    for (a, b) in pairs {
        let (Some(a), Some(b)) = (by_id.get(a.as_str()), by_id.get(b.as_str())) else {
            skipped += 1;
            continue;
        };
        let (query, target) = if a.created > b.created {
            (a, b)
        } else {
            (b, a)
        };
        if query.created == target.created {
            skipped += 1;
            continue;
        }
        let hits = index.search_now(
            &SimilarQuery {
                tenants: vec!["eval".into()],
                title: query.summary.clone(),
                description: query.description.clone(),
                templates: Vec::new(),
                created_before: Some(query.created),
                exclude_case: Some(query.id.clone()),
            },
            DEPTH,
        )?;
        ranks.push(
            hits.iter()
                .position(|h| h.case_id == target.id)
                .map(|p| p + 1),
        );
    }
    let n = ranks.len().max(1) as f64;
    let recall = |k: usize| ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n;
    Ok(Report {
        recall_at_1: recall(1),
        recall_at_5: recall(5),
        recall_at_10: recall(10),
        recall_at_20: recall(20),
        mrr: ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n,
        n_queries: ranks.len(),
        n_reports: bugs.len(),
        skipped_pairs: skipped,
    })
}

fn read_bugs(args: &EvalSimilarArgs) -> anyhow::Result<Vec<Bug>> {
    let mut reader = csv::Reader::from_path(&args.bugs)
        .with_context(|| format!("opening {}", args.bugs.display()))?;
    let header = reader.headers()?.clone();
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let need = |name: &str| {
        find(name).with_context(|| format!("{} has no {name:?} column", args.bugs.display()))
    };
    let (summary, id, created, description) = (
        need("Summary")?,
        need("Issue id")?,
        need("Created")?,
        need("Description")?,
    );
    let (priority, resolution) = (find("Priority"), find("Resolution"));
    let mut bugs = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("reading report {}", n + 1))?;
        let cell = |i: usize| record.get(i).unwrap_or_default().to_string();
        let created_raw = cell(created);
        let created = parse_time("Created", created_raw.trim())
            .with_context(|| format!("report {}", cell(id)))?
            .timestamp();
        bugs.push(Bug {
            id: cell(id).trim().to_string(),
            summary: cell(summary),
            description: cell(description),
            priority: priority.map(cell),
            resolution: resolution.map(cell).unwrap_or_default(),
            created,
        });
    }
    Ok(bugs)
}

/// Distinct unordered pairs, optionally of one split.
fn read_pairs(args: &EvalSimilarArgs) -> anyhow::Result<BTreeSet<(String, String)>> {
    let mut reader = csv::Reader::from_path(&args.pairs)
        .with_context(|| format!("opening {}", args.pairs.display()))?;
    let header = reader.headers()?.clone();
    let find = |name: &str| header.iter().position(|h| h.trim() == name);
    let a = find("Issue id").context("the pairs file has no \"Issue id\" column")?;
    let b = find("Duplicate id").context("the pairs file has no \"Duplicate id\" column")?;
    let split = find("split");
    let mut pairs = BTreeSet::new();
    for record in reader.records() {
        let record = record?;
        if let (Some(want), Some(col)) = (&args.only_split, split)
            && record.get(col).unwrap_or_default() != want
        {
            continue;
        }
        let (x, y) = (
            record.get(a).unwrap_or_default().trim().to_string(),
            record.get(b).unwrap_or_default().trim().to_string(),
        );
        if x != y {
            pairs.insert(if x < y { (x, y) } else { (y, x) });
        }
    }
    Ok(pairs)
}
