//! The embedded backend: one SQLite file in WAL mode. Writers take the write lock up front
//! (`BEGIN IMMEDIATE`), which keeps the audit chain's head read and append in one serial step
//! and avoids the deadlock of two readers upgrading to writers.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::Error;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    /// Queues this process's writers in order. Without it they contend for SQLite's lock
    /// through the busy handler, which sleeps in growing steps and wrecks tail latency.
    writer: Arc<Mutex<()>>,
}

impl SqliteStore {
    const MIGRATOR: &'static Migrator = &MIGRATOR;

    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, Error> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| Error::Connect(format!("{url}: {err}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on an application crash, only on power loss
            // in the last moments, and it saves an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename().to_path_buf();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_folder(folder)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            // A local file does not drop connections; a ping per checkout is a wasted
            // round trip to the connection's worker thread.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|err| Error::Connect(format!("{}: {err}", file.display())))?;
        Ok(Self {
            pool,
            writer: Arc::new(Mutex::new(())),
        })
    }

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction; the returned guard must live as long as the transaction.
    async fn begin_write(
        &self,
    ) -> Result<(OwnedMutexGuard<()>, Transaction<'static, Sqlite>), Error> {
        let guard = self.writer.clone().lock_owned().await;
        let tx = self.pool.begin_with("begin immediate").await?;
        Ok((guard, tx))
    }

    /// Nothing to do: `BEGIN IMMEDIATE` already made this transaction the only writer.
    async fn lock_audit_head(_tx: &mut Transaction<'static, Sqlite>) -> Result<(), Error> {
        Ok(())
    }
}

fn create_folder(folder: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(folder).map_err(|err| {
        Error::Connect(format!(
            "cannot create the database folder {}: {err}",
            folder.display()
        ))
    })
}

super::sql::impl_sql_store!(SqliteStore, sqlx::Sqlite);
super::decisions::impl_decision_store!(SqliteStore, sqlx::Sqlite);
super::sessions::impl_session_store!(SqliteStore);
// One process owns the file and runs one worker: nothing to skip, and a job still marked
// running at start-up was left by a process that died.
super::jobs::impl_job_store!(
    SqliteStore,
    sqlx::Sqlite,
    "",
    true,
    super::jobs::SQLITE_TICKET_JOB_ROWS
);
