//! Keeps the index in step with the store: the full rebuild (at start-up when the folder is
//! missing, older or corrupt, on `triagegate reindex`, and whenever the index reports a failure),
//! and the conversion of stored cases into index documents. Writes reach the index only after
//! the store has committed them.

use std::sync::Arc;
use std::time::Duration;

use super::{CaseIndex, IndexError, IndexedCase};
use crate::digest::DigestOptions;
use crate::digest::attachments::LogEvidence;
use crate::domain::case::CaseRecord;
use crate::store::{self, CaseStats, Store};

/// Cases read from the store and sent to the writer per batch.
const BATCH: u32 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("digesting a case's logs failed: {0}")]
    Digest(String),
}

/// A stored case as an index document. `templates` are its logs' digest templates; imported
/// cases have no attachments, so they are indexed by their text alone.
pub fn indexed_case(case: &CaseRecord, templates: Vec<String>) -> IndexedCase {
    IndexedCase {
        tenant: case.tenant_id.0.to_string(),
        case_id: case.id.0.to_string(),
        external_id: case.external_id.clone(),
        title: case.title.clone(),
        description: case.description.clone(),
        templates,
        resolution: case.resolution.clone(),
        service_group: case.service_group.clone(),
        priority: case.priority.map(|p| p.as_str().to_string()),
        closed_at: case.closed_at.map(|t| t.timestamp()),
        created_at: case.created_at.timestamp(),
    }
}

/// Wipes the index and refills it from every stored case; `progress` hears the running count.
/// Cases committed while this runs are sent by their writers after the reset, so none is lost.
pub async fn rebuild(
    index: &CaseIndex,
    store: &dyn Store,
    digest: DigestOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, SyncError> {
    index.reset().await?;
    let mut after = None;
    let mut done = 0u64;
    loop {
        let page = store.cases(None, after, BATCH).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let mut batch: Vec<IndexedCase> = Vec::with_capacity(page.len());
        for case in &page {
            let templates = if case.attachments > 0 {
                case_templates(store, case, digest).await?
            } else {
                Vec::new()
            };
            batch.push(indexed_case(case, templates));
        }
        done += batch.len() as u64;
        index.add_for_rebuild(batch).await?;
        progress(done);
    }
    index.mark_ready().await?;
    Ok(done)
}

/// The digest templates of a case's logs, so that a new ticket with the same errors finds it.
pub async fn case_templates(
    store: &dyn Store,
    case: &CaseRecord,
    digest: DigestOptions,
) -> Result<Vec<String>, SyncError> {
    let detail = store.ticket(case.id).await?;
    let mut files = Vec::with_capacity(detail.attachments.len());
    for meta in detail.attachments {
        let content = store.attachment(case.id, meta.id).await?;
        files.push((meta, content.content));
    }
    let evidence =
        tokio::task::spawn_blocking(move || LogEvidence::from_attachments(&files, digest))
            .await
            .map_err(|e| SyncError::Digest(e.to_string()))?;
    Ok(evidence.query_templates())
}

/// Runs for the life of the service: rebuilds the index when it is missing at start-up, when a
/// search or write fails, when its folder disappears, or when the store's cases changed without
/// it (an import run by the CLI beside the service). The service keeps answering meanwhile;
/// searches report `Rebuilding` and triage goes on without neighbours. `rebuilt` is told after
/// each rebuild, so models trained on the old history are dropped.
pub async fn supervise(
    index: CaseIndex,
    store: Arc<dyn Store>,
    check_every: Duration,
    digest: DigestOptions,
    rebuilt: impl Fn() + Send + Sync + 'static,
) {
    let quiet = |_: u64| {};
    let mut known: Option<CaseStats> = None;
    loop {
        let stats = store.case_stats().await.ok();
        let changed_outside = match (known, stats) {
            // First look: trust a complete index whose size matches the store.
            (None, Some(now)) => index.num_docs() != Some(now.count),
            (Some(before), Some(now)) => before != now,
            _ => false,
        };
        if !index.is_ready() || !index.folder_intact() || changed_outside {
            tracing::info!(
                changed_outside,
                "rebuilding the similar-case index from the store"
            );
            match rebuild(&index, store.as_ref(), digest, &quiet).await {
                Ok(cases) => {
                    tracing::info!(cases, "similar-case index rebuilt");
                    rebuilt();
                }
                Err(err) => {
                    tracing::error!(error = %err, "similar-case index rebuild failed; retrying");
                    index.request_rebuild();
                }
            }
        }
        known = stats;
        tokio::select! {
            () = index.rebuild_requested() => {}
            () = tokio::time::sleep(check_every) => {}
        }
    }
}
