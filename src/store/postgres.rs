//! The production backend. Many writers run at once; only the audit append is serialised, by a
//! transaction-scoped advisory lock taken just before the chain's head is read, so the lock is
//! held only from the append to the commit.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::Error;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Key of the advisory lock that guards the audit chain's head ("tgaudit" in ASCII).
const AUDIT_LOCK_KEY: i64 = 0x0074_6761_7564_6974;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    const MIGRATOR: &'static Migrator = &MIGRATOR;

    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // A ping per checkout costs a round trip on every query; a dropped connection shows
            // as an error on its next use and the pool replaces it.
            .test_before_acquire(false)
            .connect(url)
            .await
            .map_err(|err| {
                Error::Connect(format!(
                    "{}: {err}",
                    crate::config::redact_url_password(url)
                ))
            })?;
        Ok(Self { pool })
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Starts a write transaction; writers run concurrently, so there is no guard to hold.
    async fn begin_write(&self) -> Result<((), Transaction<'static, Postgres>), Error> {
        Ok(((), self.pool.begin().await?))
    }

    async fn lock_audit_head(tx: &mut Transaction<'static, Postgres>) -> Result<(), Error> {
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(AUDIT_LOCK_KEY)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

super::sql::impl_sql_store!(PostgresStore, sqlx::Postgres);
super::decisions::impl_decision_store!(PostgresStore, sqlx::Postgres);
super::sessions::impl_session_store!(PostgresStore);
// Workers of several processes claim at once: each skips the rows another is claiming.
super::jobs::impl_job_store!(
    PostgresStore,
    sqlx::Postgres,
    "for update skip locked",
    false,
    super::jobs::POSTGRES_TICKET_JOB_ROWS
);
