//! The on-disk similar-case index: one tantivy index per schema version under the configured
//! folder, written by one thread, searched off the async runtime. It is derived data: the store
//! is the truth, so anything wrong with the folder (missing, older, corrupt, half-built) is
//! answered by wiping it and rebuilding from the store, see `sync.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use tokio::sync::{Notify, oneshot};

use super::query::{CaseQuery, Hit, QueryConfig};
use super::schema::{self, CaseDoc, CaseFields, SCHEMA_VERSION};

/// Memory the writer may buffer before it flushes a segment; shared by its threads.
const WRITER_MEMORY: usize = 256 * 1024 * 1024;
const WRITER_THREADS: usize = 2;
/// Written last by a rebuild: without it the folder is treated as half-built.
const READY_MARKER: &str = "triagegate-ready";
/// Held exclusively by the one process that owns the index folder; a rebuild deletes folders,
/// so a second process must never write beside the first.
const OWNER_LOCK: &str = "triagegate.lock";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the similar-case index is being rebuilt; try again shortly")]
    Rebuilding,
    #[error("similar-case index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("similar-case index folder {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("similar-case query: {0}")]
    Query(#[from] super::query::QueryError),
    #[error("the index writer has stopped")]
    WriterGone,
    #[error("the similar-case search failed: {0}")]
    SearchFailed(String),
    #[error(
        "another triagegate process owns the index in {0} (a running service rebuilds it by \
         itself when cases change; stop it to run this command)"
    )]
    Busy(PathBuf),
}

/// A past case as the writer thread needs it: owned, since it crosses threads.
#[derive(Debug, Clone)]
pub struct IndexedCase {
    pub tenant: String,
    pub case_id: String,
    pub external_id: Option<String>,
    pub title: String,
    pub description: String,
    pub templates: Vec<String>,
    pub resolution: String,
    pub service_group: Option<String>,
    pub priority: Option<String>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
}

impl IndexedCase {
    fn doc(&self) -> CaseDoc<'_> {
        CaseDoc {
            tenant: &self.tenant,
            case_id: &self.case_id,
            external_id: self.external_id.as_deref(),
            title: &self.title,
            description: &self.description,
            templates: &self.templates,
            resolution: &self.resolution,
            service_group: self.service_group.as_deref(),
            priority: self.priority.as_deref(),
            closed_at: self.closed_at,
            created_at: self.created_at,
        }
    }
}

/// An owned similar-case query, so it can move to a blocking thread.
#[derive(Debug, Clone, Default)]
pub struct SimilarQuery {
    pub tenants: Vec<String>,
    pub title: String,
    pub description: String,
    pub templates: Vec<String>,
    pub created_before: Option<i64>,
    pub exclude_case: Option<String>,
}

struct Live {
    reader: IndexReader,
    fields: CaseFields,
}

enum Op {
    /// Adds without committing: a rebuild commits once, at `MarkReady`.
    Add(Vec<IndexedCase>, oneshot::Sender<Result<(), IndexError>>),
    Reset(oneshot::Sender<Result<(), IndexError>>),
    MarkReady(String, oneshot::Sender<Result<(), IndexError>>),
    /// Stops the writer after the operations queued before it.
    Close,
}

struct Shared {
    folder: PathBuf,
    live: RwLock<Option<Live>>,
    config: QueryConfig,
    /// Set when something showed the folder cannot be trusted, and for the length of a rebuild;
    /// searches answer `Rebuilding` meanwhile.
    broken: AtomicBool,
    wake: Notify,
    /// What the index was built from (the store's case fingerprint), as written in its ready
    /// marker; a store that differs means the index is stale.
    built_from: std::sync::Mutex<Option<String>>,
    /// Held for a whole rebuild, so two rebuilds never interleave on the one writer.
    rebuilding: tokio::sync::Mutex<()>,
    /// Kept open for the life of the index: dropping it releases the owner lock.
    _owner: std::fs::File,
}

/// Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct CaseIndex {
    shared: Arc<Shared>,
    ops: std::sync::mpsc::Sender<Op>,
    writer: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl CaseIndex {
    /// Opens the index for this schema version under `dir`. A folder that is missing, of an
    /// older version, half-built or unreadable is reported as needing a rebuild (`true`), and
    /// searches answer `Rebuilding` until the rebuild is done.
    pub fn open(dir: &Path, config: QueryConfig) -> Result<(Self, bool), IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let owner = take_owner_lock(dir)?;
        remove_other_versions(dir);
        let folder = dir.join(format!("cases-v{SCHEMA_VERSION}"));
        let built_from = read_marker(&folder);
        let (live, writer) = match open_existing(&folder) {
            Ok((live, writer)) => (Some(live), Some(writer)),
            Err(reason) => {
                tracing::info!(folder = %folder.display(), %reason, "similar-case index needs a rebuild");
                (None, None)
            }
        };
        let needs_rebuild = live.is_none();
        let shared = Arc::new(Shared {
            folder,
            live: RwLock::new(live),
            config,
            broken: AtomicBool::new(needs_rebuild),
            wake: Notify::new(),
            built_from: std::sync::Mutex::new(built_from),
            rebuilding: tokio::sync::Mutex::new(()),
            _owner: owner,
        });
        let (ops, receiver) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("case-index-writer".into())
            .spawn(move || writer_loop(thread_shared, writer, receiver))
            .map_err(|source| IndexError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        let writer = Arc::new(std::sync::Mutex::new(Some(handle)));
        Ok((
            Self {
                shared,
                ops,
                writer,
            },
            needs_rebuild,
        ))
    }

    /// Stops the writer and waits for it, so that once the last clone is gone the folder is
    /// free for another owner at once (a CLI command after the service, or a test).
    pub async fn close(self) {
        let _ = self.ops.send(Op::Close);
        let handle = self.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Adds cases to an index being rebuilt; they become searchable at `mark_ready`.
    pub async fn add_for_rebuild(&self, cases: Vec<IndexedCase>) -> Result<(), IndexError> {
        self.request(|reply| Op::Add(cases, reply)).await
    }

    /// Takes the rebuild lock: a rebuild holds it from `reset` to `mark_ready`.
    pub async fn rebuild_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.shared.rebuilding.lock().await
    }

    /// Replaces the folder with an empty index; searches answer `Rebuilding` until `mark_ready`.
    pub async fn reset(&self) -> Result<(), IndexError> {
        self.shared.broken.store(true, Ordering::SeqCst);
        self.request(Op::Reset).await
    }

    /// Commits a rebuild, records what it was built from (`fingerprint`) and opens it to
    /// searches.
    pub async fn mark_ready(&self, fingerprint: String) -> Result<(), IndexError> {
        self.request(|reply| Op::MarkReady(fingerprint.clone(), reply))
            .await?;
        if let Ok(mut built) = self.shared.built_from.lock() {
            *built = Some(fingerprint);
        }
        self.shared.broken.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// The store fingerprint this index was built from, if known.
    pub fn built_from(&self) -> Option<String> {
        self.shared.built_from.lock().ok().and_then(|b| b.clone())
    }

    /// Marks the index as untrustworthy without waking the supervisor (it retries on its own
    /// schedule).
    pub fn mark_broken(&self) {
        self.shared.broken.store(true, Ordering::SeqCst);
    }

    async fn request(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<(), IndexError>>) -> Op,
    ) -> Result<(), IndexError> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(op(reply))
            .map_err(|_| IndexError::WriterGone)?;
        let result = answer.await.map_err(|_| IndexError::WriterGone)?;
        if let Err(err) = &result {
            self.report_broken(err);
        }
        result
    }

    /// The top `k` past cases for the query, best first.
    pub async fn search(&self, query: SimilarQuery, k: usize) -> Result<Vec<Hit>, IndexError> {
        let shared = self.shared.clone();
        let result = tokio::task::spawn_blocking(move || search_blocking(&shared, &query, k))
            .await
            .map_err(|e| IndexError::SearchFailed(e.to_string()))?;
        if let Err(err) = &result {
            self.report_broken(err);
        }
        result
    }

    /// Searches on the calling thread; for batch work (evaluations) already off the runtime.
    pub fn search_now(&self, query: &SimilarQuery, k: usize) -> Result<Vec<Hit>, IndexError> {
        search_blocking(&self.shared, query, k)
    }

    /// For each query, its hits that are among `positions` (case id to position), as
    /// `(position, score)`, best first; for calibrating a model on the cases themselves.
    pub fn neighbour_lists(
        &self,
        queries: &[SimilarQuery],
        k: usize,
        positions: &std::collections::HashMap<String, usize>,
    ) -> Result<Vec<Vec<(usize, f32)>>, IndexError> {
        queries
            .iter()
            .map(|query| {
                let hits = self.search_now(query, k)?;
                Ok(hits
                    .iter()
                    .filter_map(|hit| positions.get(&hit.case_id).map(|&i| (i, hit.score)))
                    .collect())
            })
            .collect()
    }

    /// Whether searches are being answered from a complete index.
    pub fn is_ready(&self) -> bool {
        !self.shared.broken.load(Ordering::SeqCst)
    }

    /// Whether the folder still holds a complete index; a folder deleted under a running
    /// service is noticed here.
    pub fn folder_intact(&self) -> bool {
        self.shared.folder.join(READY_MARKER).is_file()
    }

    /// Asks the supervisor for a rebuild.
    pub fn request_rebuild(&self) {
        self.shared.broken.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// Waits until something asks for a rebuild.
    pub async fn rebuild_requested(&self) {
        self.shared.wake.notified().await;
    }

    fn report_broken(&self, err: &IndexError) {
        if matches!(
            err,
            IndexError::Tantivy(_)
                | IndexError::Io { .. }
                | IndexError::Query(_)
                | IndexError::SearchFailed(_)
        ) {
            tracing::error!(error = %err, "similar-case index failed; rebuilding it from the store");
            self.request_rebuild();
        }
    }
}

fn search_blocking(
    shared: &Shared,
    query: &SimilarQuery,
    k: usize,
) -> Result<Vec<Hit>, IndexError> {
    if shared.broken.load(Ordering::SeqCst) {
        return Err(IndexError::Rebuilding);
    }
    let guard = shared.live.read().map_err(|_| IndexError::WriterGone)?;
    let live = guard.as_ref().ok_or(IndexError::Rebuilding)?;
    let tenants: Vec<&str> = query.tenants.iter().map(String::as_str).collect();
    let case_query = CaseQuery {
        tenants: &tenants,
        title: &query.title,
        description: &query.description,
        templates: &query.templates,
        created_before: query.created_before,
        exclude_case: query.exclude_case.as_deref(),
    };
    let searcher = live.reader.searcher();
    let Some(built) =
        super::query::build_query(&searcher, &live.fields, &case_query, &shared.config)?
    else {
        return Ok(Vec::new());
    };
    Ok(super::query::search(
        &searcher,
        &live.fields,
        built.as_ref(),
        k,
    )?)
}

fn take_owner_lock(dir: &Path) -> Result<std::fs::File, IndexError> {
    let path = dir.join(OWNER_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| IndexError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(IndexError::Busy(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(source)) => Err(IndexError::Io { path, source }),
    }
}

/// The fingerprint line of a ready marker, if the folder has one.
fn read_marker(folder: &Path) -> Option<String> {
    let text = std::fs::read_to_string(folder.join(READY_MARKER)).ok()?;
    text.lines().nth(1).map(str::to_string)
}

fn open_existing(folder: &Path) -> Result<(Live, IndexWriter), String> {
    if !folder.join(READY_MARKER).is_file() {
        return Err("missing or half-built".into());
    }
    let index = Index::open_in_dir(folder).map_err(|e| e.to_string())?;
    let (expected, _) = schema::build_schema();
    if index.schema() != expected {
        return Err("schema differs from this version's".into());
    }
    live_and_writer(index).map_err(|e| e.to_string())
}

fn live_and_writer(index: Index) -> Result<(Live, IndexWriter), IndexError> {
    schema::register_tokenizers(&index);
    let (_, fields) = schema::build_schema();
    let writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)?;
    // Commits are followed by an explicit reload, so a write is searchable when it returns.
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    // Proves the segments named in meta.json are readable now rather than at the first search.
    let searcher = reader.searcher();
    for segment in searcher.segment_readers() {
        segment
            .get_store_reader(0)
            .map_err(|e| IndexError::Tantivy(tantivy::TantivyError::from(e)))?;
    }
    Ok((Live { reader, fields }, writer))
}

fn fresh_index(folder: &Path) -> Result<(Live, IndexWriter), IndexError> {
    let io = |source| IndexError::Io {
        path: folder.to_path_buf(),
        source,
    };
    if folder.exists() {
        std::fs::remove_dir_all(folder).map_err(io)?;
    }
    std::fs::create_dir_all(folder).map_err(io)?;
    let (schema, _) = schema::build_schema();
    let index = Index::create_in_dir(folder, schema)?;
    live_and_writer(index)
}

/// Removes folders of other schema versions; only `cases-v*` folders, never anything else an
/// operator keeps beside them.
fn remove_other_versions(dir: &Path) {
    let current = format!("cases-v{SCHEMA_VERSION}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("cases-v")
            && name != current
            && entry.path().is_dir()
            && let Err(err) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(folder = %entry.path().display(), error = %err, "cannot remove an old index");
        }
    }
}

fn writer_loop(
    shared: Arc<Shared>,
    mut writer: Option<IndexWriter>,
    ops: std::sync::mpsc::Receiver<Op>,
) {
    while let Ok(op) = ops.recv() {
        match op {
            Op::Reset(reply) => {
                // The old writer holds the folder's lock file; it must go before the folder does.
                drop(writer.take());
                if let Ok(mut live) = shared.live.write() {
                    *live = None;
                }
                let result = fresh_index(&shared.folder).map(|(live, fresh)| {
                    writer = Some(fresh);
                    if let Ok(mut slot) = shared.live.write() {
                        *slot = Some(live);
                    }
                });
                let _ = reply.send(result);
            }
            Op::Add(cases, reply) => {
                let _ = reply.send(add(&shared, writer.as_mut(), &cases));
            }
            Op::Close => break,
            Op::MarkReady(fingerprint, reply) => {
                let result = commit(&shared, writer.as_mut()).and_then(|()| {
                    let marker = shared.folder.join(READY_MARKER);
                    std::fs::write(&marker, format!("schema {SCHEMA_VERSION}\n{fingerprint}\n"))
                        .map_err(|source| IndexError::Io {
                            path: marker,
                            source,
                        })
                });
                let _ = reply.send(result);
            }
        }
    }
}

fn add(
    shared: &Shared,
    writer: Option<&mut IndexWriter>,
    cases: &[IndexedCase],
) -> Result<(), IndexError> {
    let writer = writer.ok_or(IndexError::Rebuilding)?;
    let guard = shared.live.read().map_err(|_| IndexError::WriterGone)?;
    let live = guard.as_ref().ok_or(IndexError::Rebuilding)?;
    for case in cases {
        writer.delete_term(Term::from_field_text(live.fields.case_id, &case.case_id));
        writer.add_document(schema::case_document(&live.fields, &case.doc()))?;
    }
    Ok(())
}

fn commit(shared: &Shared, writer: Option<&mut IndexWriter>) -> Result<(), IndexError> {
    let writer = writer.ok_or(IndexError::Rebuilding)?;
    if let Err(err) = writer.commit() {
        // A failed commit leaves the writer unusable until rolled back.
        let _ = writer.rollback();
        return Err(err.into());
    }
    let guard = shared.live.read().map_err(|_| IndexError::WriterGone)?;
    let live = guard.as_ref().ok_or(IndexError::Rebuilding)?;
    live.reader.reload()?;
    Ok(())
}
