//! Triage of one ticket, end to end and offline: read the ticket and its logs from the store,
//! digest the logs, find similar past cases, get the tenant's calibrated models (trained on
//! demand and cached until its history changes), propose, and store the suggestion with its
//! audit event. It never changes the ticket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::models::{MODEL_VERSION, NeighbourLists, TenantModels};
use super::proposer::{ProposalInput, propose};
use super::text_model::ModelConfig;
use crate::config::Config;
use crate::digest::DigestOptions;
use crate::digest::attachments::LogEvidence;
use crate::domain::Actor;
use crate::domain::case::CaseRecord;
use crate::domain::suggestion::{Suggestion, SuggestionStatus};
use crate::domain::tenant::{Tenant, TenantId};
use crate::domain::ticket::{TicketDetail, TicketId};
use crate::search::{CaseIndex, Hit, SimilarQuery};
use crate::store::{self, Store};

/// Past cases a tenant's models learn from at most: the most recent ones.
const MAX_HISTORY: u32 = 20_000;
/// Neighbours looked up per history case while calibrating.
const TRAINING_NEIGHBOURS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("triage task failed: {0}")]
    Task(String),
}

/// What a ticket's similar cases were found from.
pub struct Similar {
    pub hits: Vec<Hit>,
    pub logs: LogEvidence,
    /// The logs' templates that went into the query, errors first.
    pub templates: Vec<String>,
    /// Why there are no hits although there may be past cases (index rebuilding), if so.
    pub unavailable: Option<String>,
}

struct CachedModels {
    generation: u64,
    models: Arc<TenantModels>,
}

/// Attachment digests kept in memory; a digest of a large log is up to a few MB.
const DIGESTS_CACHED: usize = 64;

pub struct Triage {
    store: Arc<dyn Store>,
    metrics: Arc<crate::metrics::Metrics>,
    index: CaseIndex,
    config: Arc<Config>,
    model_config: ModelConfig,
    cache: Mutex<HashMap<TenantId, CachedModels>>,
    /// Bumped whenever past cases change; cached models of an older generation are retrained.
    epoch: std::sync::atomic::AtomicU64,
    /// One training per tenant at a time: a second would repeat the first.
    training: Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>,
    /// Digests of attachments already seen: triage and every view of a ticket page reuse them.
    digests: crate::digest::attachments::DigestCache,
    /// The model layer, when `[llm] provider` names one.
    llm: Option<crate::llm::LlmTriager>,
    /// Wakes this process's workers when a job is queued here.
    wake: tokio::sync::Notify,
    /// Wakes whoever waits for a suggestion when a worker here finished one.
    finished: tokio::sync::Notify,
    /// This process's idle workers, which take a job as it is queued.
    handoffs: super::handoff::Handoffs,
}

impl Triage {
    pub fn new(
        store: Arc<dyn Store>,
        index: CaseIndex,
        config: Arc<Config>,
        metrics: Arc<crate::metrics::Metrics>,
        llm: Option<crate::llm::LlmTriager>,
    ) -> Self {
        Self {
            store,
            metrics,
            index,
            config,
            model_config: ModelConfig::default(),
            cache: Mutex::new(HashMap::new()),
            epoch: std::sync::atomic::AtomicU64::new(0),
            training: Mutex::new(HashMap::new()),
            digests: crate::digest::attachments::DigestCache::new(DIGESTS_CACHED),
            llm,
            wake: tokio::sync::Notify::new(),
            finished: tokio::sync::Notify::new(),
            handoffs: super::handoff::Handoffs::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    pub fn llm(&self) -> Option<&crate::llm::LlmTriager> {
        self.llm.as_ref()
    }

    pub fn index(&self) -> &CaseIndex {
        &self.index
    }

    /// The proposer's name and version as recorded with each suggestion, with the model when
    /// one is configured.
    pub fn proposer(&self) -> String {
        let offline = format!(
            "retrieval {MODEL_VERSION} severity:{}",
            self.config.triage.severity_version
        );
        match &self.llm {
            Some(llm) => format!("{offline} llm:{}", llm.model()),
            None => offline,
        }
    }

    /// Marks every tenant's models stale, e.g. after the index was rebuilt from a store that
    /// changed under it.
    pub fn forget_all_models(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Rebuilds the index from the store now and drops every trained model; for callers that
    /// changed past cases in bulk (tests, the demo) and want them searchable at once.
    pub async fn resync(&self) -> Result<u64, crate::search::sync::SyncError> {
        let digest = DigestOptions::from_config(&self.config.digest);
        let cases =
            crate::search::sync::rebuild(&self.index, self.store.as_ref(), digest, &|_| {}).await?;
        self.forget_all_models();
        Ok(cases)
    }

    /// The history's generation: bumped whenever past cases changed, for all tenants at once
    /// (a rebuild does not tell whose cases changed).
    fn generation(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The tenant's models. Trained now if there are none; if the cached ones predate a change
    /// of the history, they are served while a retraining runs in the background, so one
    /// tenant's large import never holds up triage.
    pub async fn models_for(
        self: &Arc<Self>,
        tenant: TenantId,
    ) -> Result<Arc<TenantModels>, TriageError> {
        match self.cached(tenant) {
            Some((models, true)) => return Ok(models),
            Some((stale, false)) => {
                let this = self.clone();
                tokio::spawn(async move {
                    if let Err(err) = this.train(tenant, false).await {
                        tracing::error!(tenant = %tenant.0, error = %err, "retraining failed");
                    }
                });
                return Ok(stale);
            }
            None => {}
        }
        self.train(tenant, true).await
    }

    /// Trains the tenant's models unless another training of it is running; `wait` waits for
    /// that one instead of returning at once.
    async fn train(&self, tenant: TenantId, wait: bool) -> Result<Arc<TenantModels>, TriageError> {
        let lock = self.tenant_lock(tenant);
        let _training = if wait {
            lock.lock().await
        } else {
            match lock.try_lock() {
                Ok(guard) => guard,
                Err(_) => {
                    return self
                        .cached(tenant)
                        .map(|(m, _)| m)
                        .ok_or(TriageError::Task("models are being trained".into()));
                }
            }
        };
        if let Some((models, true)) = self.cached(tenant) {
            return Ok(models);
        }
        let generation = self.generation();
        let history = self.history(tenant).await?;
        let neighbours = self.history_neighbours(tenant, &history).await;
        let matrix = self.config.triage.severity.clone();
        let min_history = self.config.triage.min_history;
        let target = self.config.triage.target_precision;
        let config = self.model_config.clone();
        let started = std::time::Instant::now();
        let models = tokio::task::spawn_blocking(move || {
            TenantModels::train(&history, &neighbours, &matrix, min_history, target, &config)
        })
        .await
        .map_err(|e| TriageError::Task(e.to_string()))?;
        tracing::info!(
            tenant = %tenant.0,
            cases = models.cases,
            fields = models.fields.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "trained the tenant's proposal models"
        );
        let models = Arc::new(models);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                tenant,
                CachedModels {
                    generation,
                    models: models.clone(),
                },
            );
        }
        Ok(models)
    }

    fn tenant_lock(&self, tenant: TenantId) -> Arc<tokio::sync::Mutex<()>> {
        match self.training.lock() {
            Ok(mut locks) => locks.entry(tenant).or_default().clone(),
            // A poisoned map only means a panic elsewhere; a fresh lock is still correct.
            Err(_) => Arc::default(),
        }
    }

    /// The cached models and whether they were trained on the current history.
    fn cached(&self, tenant: TenantId) -> Option<(Arc<TenantModels>, bool)> {
        let generation = self.generation();
        let cache = self.cache.lock().ok()?;
        cache
            .get(&tenant)
            .map(|c| (c.models.clone(), c.generation == generation))
    }

    /// The tenant's most recent past cases, oldest first, at most `MAX_HISTORY`.
    async fn history(&self, tenant: TenantId) -> Result<Vec<CaseRecord>, TriageError> {
        let mut history = self.store.recent_cases(tenant, MAX_HISTORY).await?;
        history.reverse();
        Ok(history)
    }

    /// The similar cases of each history case (never itself), from the index; empty when the
    /// index is not ready, and then the models are trained without neighbour evidence.
    async fn history_neighbours(&self, tenant: TenantId, history: &[CaseRecord]) -> NeighbourLists {
        if !self.index.is_ready() || history.is_empty() {
            return Vec::new();
        }
        let index = self.index.clone();
        let queries: Vec<SimilarQuery> = history
            .iter()
            .map(|case| SimilarQuery {
                tenants: vec![tenant.0.to_string()],
                title: case.title.clone(),
                description: case.description.clone(),
                templates: Vec::new(),
                created_before: None,
                exclude_case: Some(case.id.0.to_string()),
            })
            .collect();
        let positions: HashMap<String, usize> = history
            .iter()
            .enumerate()
            .map(|(i, case)| (case.id.0.to_string(), i))
            .collect();
        let result = tokio::task::spawn_blocking(move || {
            index.neighbour_lists(&queries, TRAINING_NEIGHBOURS, &positions)
        })
        .await;
        match result {
            Ok(Ok(lists)) => lists,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "no neighbours for calibration; training on text alone");
                Vec::new()
            }
            Err(err) => {
                tracing::warn!(error = %err, "neighbour lookup task failed");
                Vec::new()
            }
        }
    }

    /// The tenants whose cases a tenant's query may see: its own, plus every pooled tenant when
    /// it is pooled itself.
    async fn query_tenants(&self, tenant: &Tenant) -> Result<Vec<String>, TriageError> {
        if !tenant.shared_pool {
            return Ok(vec![tenant.id.0.to_string()]);
        }
        Ok(self
            .store
            .tenants()
            .await?
            .into_iter()
            .filter(|t| t.shared_pool || t.id == tenant.id)
            .map(|t| t.id.0.to_string())
            .collect())
    }

    /// Digests the ticket's logs and finds its similar past cases.
    pub async fn similar(&self, detail: &TicketDetail, k: usize) -> Result<Similar, TriageError> {
        let ticket = &detail.ticket;
        let options = DigestOptions::from_config(&self.config.digest);
        let logs = crate::search::sync::ticket_logs(
            self.store.as_ref(),
            detail,
            options,
            Some(&self.digests),
        )
        .await
        .map_err(|err| match err {
            crate::search::sync::SyncError::Store(e) => TriageError::Store(e),
            other => TriageError::Task(other.to_string()),
        })?;
        let templates = logs.query_templates();
        let tenant = self.store.tenant_by_slug(&ticket.tenant).await?;
        let query = SimilarQuery {
            tenants: self.query_tenants(&tenant).await?,
            title: ticket.title.clone(),
            description: ticket.description.clone(),
            templates: templates.clone(),
            created_before: None,
            exclude_case: Some(ticket.id.0.to_string()),
        };
        let (hits, unavailable) = match self.index.search(query, k).await {
            Ok(hits) => (hits, None),
            Err(err) => {
                tracing::warn!(error = %err, "similar cases unavailable");
                (Vec::new(), Some(err.to_string()))
            }
        };
        Ok(Similar {
            hits,
            logs,
            templates,
            unavailable,
        })
    }

    /// A new triage of the ticket; the ticket itself is never changed by triage.
    ///
    /// Without a model, triage takes milliseconds: it runs here, and its job (already done) and
    /// suggestion are written once, together. A crash before that write loses only a request
    /// that was never answered. With a model (seconds, retries, a breaker), or if running here
    /// fails, the triage is queued as a durable job (shown as its pending suggestion until it
    /// ends) and handed to a worker.
    pub async fn request(
        self: &Arc<Self>,
        id: TicketId,
        tenant: TenantId,
        actor: &Actor,
    ) -> Result<Suggestion, TriageError> {
        let mut job = crate::domain::job::NewTriageJob::new(
            id,
            tenant,
            crate::domain::job::JobReason::Requested,
            actor.as_str(),
            self.config.triage.job_attempts,
            self.proposer(),
        );
        if self.llm.is_none() && !self.config.triage.wait.is_zero() {
            let started = std::time::Instant::now();
            let running = job.started(None);
            let run = tokio::time::timeout(self.config.triage.wait, self.compute(&running));
            match run.await {
                Ok(Ok(suggestion)) => {
                    self.store
                        .record_triage(&job, &suggestion, &Actor::system("triage"))
                        .await?;
                    self.metrics
                        .observe_triage("done", started.elapsed().as_secs_f64());
                    return Ok(suggestion);
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "triage in the request failed; queued for a worker");
                }
                Err(_) => {
                    tracing::warn!("triage in the request took too long; queued for a worker")
                }
            }
        }
        let worker = self.assign(&mut job);
        let pending = self.store.enqueue_triage(&job, actor).await?;
        self.dispatch(&job, worker);
        Ok(pending)
    }

    /// Requests a triage and waits for it up to `triage.wait`, as `POST .../triage` does: the
    /// suggestion as it then stands, pending if no worker finished it in time.
    pub async fn request_and_wait(
        self: &Arc<Self>,
        id: TicketId,
        tenant: TenantId,
        actor: &Actor,
    ) -> Result<Suggestion, TriageError> {
        let requested = self.request(id, tenant, actor).await?;
        if requested.status != SuggestionStatus::Pending {
            return Ok(requested);
        }
        self.wait_for(requested.id, self.config.triage.wait).await
    }

    /// Takes an idle worker of this process for a job about to be queued, leasing the job to
    /// it; pass the result to `dispatch` once the job is stored.
    pub fn assign(
        &self,
        job: &mut crate::domain::job::NewTriageJob,
    ) -> Option<super::handoff::Reserved> {
        self.handoffs.reserve(job, self.config.triage.lease)
    }

    /// After the job was stored: hands it to the worker `assign` took, or else wakes the
    /// workers to claim it.
    pub fn dispatch(
        &self,
        job: &crate::domain::job::NewTriageJob,
        worker: Option<super::handoff::Reserved>,
    ) {
        match (worker, job.leased()) {
            (Some(worker), Some(leased)) => worker.hand(leased),
            _ => self.wake_workers(),
        }
    }

    /// This process's workers waiting for a job now.
    pub fn idle_workers(&self) -> usize {
        self.handoffs.idle()
    }

    /// Registers a worker of this process for jobs handed over as they are queued.
    pub(super) fn inbox(&self, owner: &str) -> super::handoff::Inbox {
        self.handoffs.register(owner)
    }

    /// Tells this process's workers that a job is waiting.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }

    pub(super) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    pub(super) fn announce_finished(&self) {
        self.finished.notify_waiters();
    }

    /// Waits until the suggestion is no longer pending or `timeout` passes, and returns it as
    /// it then stands. Finished jobs of this process wake the wait at once; the store is also
    /// read every half second, for jobs another process finishes.
    pub async fn wait_for(
        &self,
        id: crate::domain::suggestion::SuggestionId,
        timeout: std::time::Duration,
    ) -> Result<Suggestion, TriageError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let suggestion = self.store.suggestion(id).await?;
            let now = tokio::time::Instant::now();
            if suggestion.status != SuggestionStatus::Pending || now >= deadline {
                return Ok(suggestion);
            }
            let nap = (deadline - now).min(std::time::Duration::from_millis(500));
            tokio::select! {
                () = &mut finished => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Computes the suggestion a job produces: the offline proposal, then the model's answer
    /// combined with it when a model is configured. Store or index failures are errors (the job
    /// retries); a model failure is not: it is recorded and the offline proposal stands.
    pub async fn compute(
        self: &Arc<Self>,
        job: &crate::domain::job::TriageJob,
    ) -> Result<Suggestion, TriageError> {
        let started = std::time::Instant::now();
        let detail = self.store.ticket(job.ticket_id).await?;
        let similar = self.similar(&detail, self.config.triage.neighbours).await?;
        let models = self.models_for(detail.ticket.tenant_id).await?;
        let ticket = &detail.ticket;
        let text = format!("{}\n{}", ticket.title, ticket.description);
        let templates = &similar.templates;
        let rule_text = format!("{text}\n{}", templates.join("\n"));
        let thresholds = &self.config.triage.thresholds;
        let offline = propose(&ProposalInput {
            text: &text,
            rule_text: &rule_text,
            neighbours: &similar.hits,
            models: &models,
            matrix: &self.config.triage.severity,
            thresholds,
            min_history: self.config.triage.min_history,
        });
        let (fields, llm) = match &self.llm {
            None => (
                offline,
                crate::domain::llm::LlmRecord::skipped(
                    "no model configured (llm.provider = \"none\")",
                ),
            ),
            Some(llm) => {
                let input = super::llm_input::build(&detail, &similar, &models);
                let record = llm.triage(&input).await;
                self.metrics
                    .observe_llm(record.status.as_str(), record.latency_ms);
                let fields = super::combine::combine(super::combine::CombineInput {
                    offline,
                    answer: record.valid_answer(),
                    matrix: &self.config.triage.severity,
                    catalogue: &input.catalogue,
                    thresholds: crate::domain::suggestion::Field::ALL
                        .iter()
                        .map(|f| (*f, super::proposer::threshold_for(&models, thresholds, *f)))
                        .collect(),
                });
                (fields, record)
            }
        };
        let inputs = json!({
            "title": ticket.title,
            "description_sha256": sha256_hex(ticket.description.as_bytes()),
            "attachments": similar.logs.attachments,
            "attachment_sha256": detail.attachments.iter().map(|a| a.sha256.as_str()).collect::<Vec<_>>(),
            "templates_used": templates.len(),
            "neighbours": similar.hits.iter().map(|h| json!({"case_id": h.case_id, "score": h.score})).collect::<Vec<_>>(),
            "index_unavailable": similar.unavailable,
            "history_cases": models.cases,
            "trained_fields": models.fields.keys().map(|f| f.as_str()).collect::<Vec<_>>(),
            "thresholds": {
                "service_group": thresholds.service_group,
                "impact": thresholds.impact,
                "urgency": thresholds.urgency,
                "priority": thresholds.priority,
            },
            "llm_prompt_sha256": llm.prompt.as_ref().map(|p| p.sha256.as_str()),
        });
        let mut suggestion =
            Suggestion::new(ticket.id, ticket.tenant_id, self.proposer(), inputs, fields);
        suggestion.id = job.suggestion_id;
        suggestion.created_at = job.created_at;
        suggestion.llm = Some(llm);
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "triage computed"
        );
        Ok(suggestion)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
