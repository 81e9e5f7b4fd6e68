//! Keeps the index in step with the store: the full rebuild (at start-up when the folder is
//! missing, older or corrupt, on `triagegate reindex`, and whenever the index reports a failure),
//! and the conversion of stored cases into index documents. Writes reach the index only after
//! the store has committed them.

use std::sync::Arc;
use std::time::Duration;

use super::{CaseIndex, IndexError, IndexedCase};
use crate::digest::DigestOptions;
use crate::digest::attachments::{
    DigestCache, LogEvidence, Outcome, digest_attachment, is_digestible,
};
use crate::domain::case::CaseRecord;
use crate::domain::ticket::TicketDetail;
use crate::store::{self, Store};

/// Longest wait between two failed rebuilds.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
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
/// Searches answer `Rebuilding` until it is done. A case changed meanwhile changes the store's
/// fingerprint, so the supervisor's next check rebuilds again: nothing is lost.
pub async fn rebuild(
    index: &CaseIndex,
    store: &dyn Store,
    digest: DigestOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, SyncError> {
    let _only_rebuild = index.rebuild_guard().await;
    rebuild_locked(index, store, digest, progress).await
}

/// Whether the index must be rebuilt: not ready, its folder damaged, or built from other cases
/// than the store holds now.
async fn needs_rebuild(index: &CaseIndex, store: &dyn Store) -> bool {
    let stale = match store.case_stats().await {
        Ok(stats) => index.built_from().as_deref() != Some(stats.fingerprint().as_str()),
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the store's case fingerprint");
            false
        }
    };
    !index.is_ready() || !index.folder_intact() || stale
}

/// Rebuilds only if still needed once this caller holds the rebuild lock: a rebuild that
/// finished while it waited (a `reindex`, a test's resync) already did the work.
async fn rebuild_if_needed(
    index: &CaseIndex,
    store: &dyn Store,
    digest: DigestOptions,
) -> Result<Option<u64>, SyncError> {
    let _only_rebuild = index.rebuild_guard().await;
    if !needs_rebuild(index, store).await {
        return Ok(None);
    }
    rebuild_locked(index, store, digest, &|_| {})
        .await
        .map(Some)
}

async fn rebuild_locked(
    index: &CaseIndex,
    store: &dyn Store,
    digest: DigestOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<u64, SyncError> {
    // Read before the cases: a change committed during the rebuild leaves the fingerprint
    // different, and the next check rebuilds again.
    let fingerprint = store.case_stats().await?.fingerprint();
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
    index.mark_ready(fingerprint).await?;
    Ok(done)
}

/// The digest templates of a case's logs, so that a new ticket with the same errors finds it.
pub async fn case_templates(
    store: &dyn Store,
    case: &CaseRecord,
    digest: DigestOptions,
) -> Result<Vec<String>, SyncError> {
    let detail = store.ticket(case.id).await?;
    Ok(ticket_logs(store, &detail, digest, None)
        .await?
        .query_templates())
}

/// Digests a ticket's attachments on a blocking thread. With a cache, an attachment digested
/// before (same content hash) is neither read from the store nor digested again.
pub async fn ticket_logs(
    store: &dyn Store,
    detail: &TicketDetail,
    digest: DigestOptions,
    cache: Option<&DigestCache>,
) -> Result<LogEvidence, SyncError> {
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(detail.attachments.len());
    let mut files = Vec::new();
    for meta in &detail.attachments {
        let cached = cache.and_then(|c| c.get(&meta.sha256));
        if let Some(digest) = cached {
            outcomes.push(Some(Outcome::Digested(digest)));
        } else if !is_digestible(meta) {
            outcomes.push(Some(digest_attachment(meta, &[], digest)));
        } else {
            let content = store.attachment(detail.ticket.id, meta.id).await?;
            files.push((outcomes.len(), meta.clone(), content.content));
            outcomes.push(None);
        }
    }
    let digested = tokio::task::spawn_blocking(move || {
        files
            .into_iter()
            .map(|(at, meta, content)| {
                (
                    at,
                    meta.sha256.clone(),
                    digest_attachment(&meta, &content, digest),
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| SyncError::Digest(e.to_string()))?;
    for (at, sha256, outcome) in digested {
        if let (Some(cache), Outcome::Digested(digest)) = (cache, &outcome) {
            cache.put(&sha256, digest.clone());
        }
        outcomes[at] = Some(outcome);
    }
    let outcomes = detail
        .attachments
        .iter()
        .cloned()
        .zip(outcomes)
        .map(|(meta, outcome)| {
            let outcome = outcome.unwrap_or_else(|| Outcome::Skipped("not digested".to_string()));
            (meta, outcome)
        })
        .collect();
    Ok(LogEvidence::from_outcomes(outcomes))
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
    let mut backoff = Duration::from_secs(1);
    loop {
        if needs_rebuild(&index, store.as_ref()).await {
            tracing::info!("rebuilding the similar-case index from the store");
            match rebuild_if_needed(&index, store.as_ref(), digest).await {
                Ok(None) => {}
                Ok(Some(cases)) => {
                    tracing::info!(cases, "similar-case index rebuilt");
                    backoff = Duration::from_secs(1);
                    rebuilt();
                }
                Err(err) => {
                    // A fault that repeats (a full disk, an unreadable attachment) must not
                    // turn into a busy loop of wipes and rebuilds.
                    tracing::error!(error = %err, retry_in_s = backoff.as_secs(), "similar-case index rebuild failed");
                    index.mark_broken();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        tokio::select! {
            () = index.rebuild_requested() => {}
            () = tokio::time::sleep(check_every) => {}
        }
    }
}
