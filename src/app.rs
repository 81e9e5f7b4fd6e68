//! The running service: state shared by handlers, the router and the bound listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::ticket::AttachmentLimits;
use crate::http;
use crate::http::metrics::Metrics;
use crate::search::{CaseIndex, QueryConfig};
use crate::store::{self, Store};
use crate::triage::Triage;

/// Past cases indexed before the service starts answering when the index must be rebuilt.
const INLINE_REBUILD_CASES: u64 = 20_000;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    /// Backend chosen at start-up from the URL scheme.
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub triage: Arc<Triage>,
}

impl AppState {
    pub fn attachment_limits(&self) -> AttachmentLimits {
        AttachmentLimits {
            max_attachment: self.config.limits.max_attachment,
            max_total: self.config.limits.max_ticket_attachments,
        }
    }
}

pub struct App {
    router: Router,
    listener: TcpListener,
    addr: SocketAddr,
    store: Arc<dyn Store>,
    triage: Arc<Triage>,
}

impl App {
    /// Connects and migrates the store, then binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = store::connect(&config.database)
            .await
            .context("opening the database")?;
        Self::build_with_store(config, store).await
    }

    /// Like [`App::build`] with a store that is already open and migrated.
    pub async fn build_with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("listening on {}", config.http.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (index, needs_rebuild) = CaseIndex::open(&config.index.dir, QueryConfig::default())
            .context("opening the similar-case index")?;
        if needs_rebuild {
            // A small store is indexed before the first request, so the service never answers
            // "rebuilding" just after start; a large one is rebuilt in the background.
            let cases = store
                .case_stats()
                .await
                .context("counting past cases")?
                .count;
            if cases <= INLINE_REBUILD_CASES {
                let digest = crate::digest::DigestOptions::from_config(&config.digest);
                crate::search::sync::rebuild(&index, store.as_ref(), digest, &|_| {})
                    .await
                    .context("building the similar-case index")?;
            } else {
                tracing::info!(cases, dir = %config.index.dir.display(), "similar-case index is rebuilt in the background");
            }
        }
        // Prompts are loaded and checked here: a broken template stops start-up, not a triage.
        let llm = crate::llm::from_config(&config).context("setting up the model layer")?;
        let config = Arc::new(config);
        let metrics = Arc::new(Metrics::new());
        let triage = Arc::new(Triage::new(
            store.clone(),
            index.clone(),
            config.clone(),
            metrics.clone(),
            llm,
        ));
        crate::triage::worker::start(triage.clone()).await;
        // Rebuilds at start-up when needed and whenever the index fails later; serving goes on.
        let after_rebuild = triage.clone();
        let rebuild_metrics = metrics.clone();
        tokio::spawn(crate::search::sync::supervise(
            index,
            store.clone(),
            config.index.check_every,
            crate::digest::DigestOptions::from_config(&config.digest),
            move || {
                after_rebuild.forget_all_models();
                rebuild_metrics.index_rebuilt();
            },
        ));
        let state = AppState {
            config,
            store: store.clone(),
            metrics,
            triage: triage.clone(),
        };
        Ok(Self {
            router: http::router(state),
            listener,
            addr,
            store,
            triage,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn triage(&self) -> Arc<Triage> {
        self.triage.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
