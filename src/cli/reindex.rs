//! `triagegate reindex`: rebuilds the similar-case index from the database, with a progress bar.
//! The service does this by itself when the index is missing, outdated or broken; this command is
//! for operators who want it now, with the service stopped.

use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::search::{CaseIndex, QueryConfig, sync};
use crate::store;

pub async fn reindex(config: &Config) -> anyhow::Result<ExitCode> {
    let store = store::connect(&config.database)
        .await
        .context("opening the database")?;
    let (index, _) = CaseIndex::open(&config.index.dir, QueryConfig::default())?;
    let total = store.case_stats().await?.count;
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} indexing [{bar:30}] {pos}/{len} cases ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let started = std::time::Instant::now();
    let digest = crate::digest::DigestOptions::from_config(&config.digest);
    let done = sync::rebuild(&index, store.as_ref(), digest, &|n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    println!(
        "indexed {done} cases in {:.1} s into {}",
        started.elapsed().as_secs_f64(),
        config.index.dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
