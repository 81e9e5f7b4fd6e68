//! `triagegate eval logs`: template-mining accuracy on Loghub-style data with the one generic
//! configuration, per system and on average, plus lines per second.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::digest::logs_eval::{self, LabelledLine};
use crate::digest::miner::{Miner, MinerConfig};

#[derive(Debug, Serialize)]
struct SystemScore {
    name: String,
    /// Zhu et al. 2019 grouping accuracy on the original ground truth.
    ga: f64,
    /// Loghub-2.0 figures; `None` when the folder has no Loghub-2.0 or corrected truth.
    ga_loghub2: Option<f64>,
    fga: Option<f64>,
    pa: Option<f64>,
    fta: Option<f64>,
    templates: usize,
    lines_per_sec: f64,
}

#[derive(Debug, Serialize)]
struct Average {
    ga: f64,
    fga: f64,
    pa: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    systems: Vec<SystemScore>,
    average: Average,
}

/// Mines the `Content` column of every line and returns each line's template text.
fn mine(lines: &[LabelledLine]) -> (Vec<String>, Vec<u32>, f64) {
    let started = Instant::now();
    let mut miner = Miner::new(MinerConfig::default());
    let ids: Vec<u32> = lines.iter().map(|line| miner.add(&line.content)).collect();
    miner.merge_variants();
    let elapsed = started.elapsed().as_secs_f64();
    let ids: Vec<u32> = ids.into_iter().map(|id| miner.resolve(id)).collect();
    let mut texts = std::collections::HashMap::new();
    let templates = ids
        .iter()
        .map(|id| {
            texts
                .entry(*id)
                .or_insert_with(|| miner.cluster(*id).template())
                .clone()
        })
        .collect();
    (templates, ids, lines.len() as f64 / elapsed.max(1e-9))
}

pub fn eval_logs(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let systems = logs_eval::find_systems(data)
        .with_context(|| format!("finding Loghub systems in {}", data.display()))?;
    anyhow::ensure!(
        !systems.is_empty(),
        "no <Sys>/<Sys>_2k.log_structured.csv folders in {}",
        data.display()
    );
    let mut scores = Vec::new();
    for system in systems {
        let lines = logs_eval::read_structured(&system.structured)?;
        let (templates, ids, lines_per_sec) = mine(&lines);
        let truth: Vec<&str> = lines.iter().map(|l| l.event_id.as_str()).collect();
        let ga = logs_eval::grouping_accuracy(&truth, &ids);
        let mut score = SystemScore {
            name: system.name.clone(),
            ga,
            ga_loghub2: None,
            fga: None,
            pa: None,
            fta: None,
            templates: ids.iter().collect::<std::collections::HashSet<_>>().len(),
            lines_per_sec,
        };
        if let Some(path) = &system.loghub2 {
            let truth2 = logs_eval::read_structured(path)?;
            anyhow::ensure!(
                truth2.len() == lines.len(),
                "{} has {} lines, {} has {}",
                path.display(),
                truth2.len(),
                system.structured.display(),
                lines.len()
            );
            let truth_templates: Vec<&str> = truth2.iter().map(|l| l.template.as_str()).collect();
            let predicted: Vec<&str> = templates.iter().map(String::as_str).collect();
            let s = logs_eval::loghub2_scores(&truth_templates, &predicted);
            score.ga_loghub2 = Some(s.ga);
            score.fga = Some(s.fga);
            score.pa = Some(s.pa);
            score.fta = Some(s.fta);
        }
        scores.push(score);
    }
    let mean = |values: Vec<f64>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let average = Average {
        ga: mean(scores.iter().map(|s| s.ga).collect()),
        fga: mean(scores.iter().filter_map(|s| s.fga).collect()),
        pa: mean(scores.iter().filter_map(|s| s.pa).collect()),
    };
    let report = Report {
        systems: scores,
        average,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(report: &Report) {
    let cell = |v: Option<f64>| v.map_or("    -".to_string(), |v| format!("{v:.3}"));
    println!(
        "{:<12} {:>6} {:>8} {:>6} {:>6} {:>6} {:>9} {:>12}",
        "system", "GA", "GA(2.0)", "FGA", "PA", "FTA", "templates", "lines/s"
    );
    for s in &report.systems {
        println!(
            "{:<12} {:>6.3} {:>8} {:>6} {:>6} {:>6} {:>9} {:>12.0}",
            s.name,
            s.ga,
            cell(s.ga_loghub2),
            cell(s.fga),
            cell(s.pa),
            cell(s.fta),
            s.templates,
            s.lines_per_sec
        );
    }
    println!(
        "{:<12} {:>6.3} {:>8} {:>6.3} {:>6.3}",
        "average", report.average.ga, "", report.average.fga, report.average.pa
    );
}
