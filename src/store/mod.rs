//! The store: the source of truth. One trait, one implementation per backend (SQLite embedded,
//! PostgreSQL for production), chosen from the URL scheme. Every write method is one
//! transaction that also appends its audit event, so a write and its record land together or not
//! at all.

mod blob;
mod decisions;
mod jobs;
mod postgres;
mod rows;
mod sessions;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::DatabaseConfig;
use crate::domain::Actor;
use crate::domain::attachment::{AttachmentContent, AttachmentId};
use crate::domain::audit::AuditEvent;
use crate::domain::case::{CaseRecord, ImportOutcome, ImportedCase};
use crate::domain::suggestion::Suggestion;
use crate::domain::tenant::{NewTenant, Tenant, TenantId, TenantSlug};
use crate::domain::ticket::{
    NewTicket, Priority, Stage, Ticket, TicketDetail, TicketEdit, TicketId,
};
use crate::domain::user::{NewUser, User, UserId};

pub use decisions::{
    ChangeListing, ChangeQuery, DecidedQuery, DecisionRecorded, DecisionStore, QueueItem,
    QueueQuery,
};
pub use jobs::JobStore;
pub use postgres::PostgresStore;
pub use sessions::{
    FailedSignIn, LockoutPolicy, NewSession, Session, SessionOpened, SessionStore, SignInState,
};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0} already exists")]
    Conflict(String),
    /// A worker's lease on a job ran out and another worker holds it now.
    #[error("{0} is no longer held by this worker")]
    LeaseLost(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error")]
    Backend(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot open the database: {0}")]
    Connect(String),
}

/// Maps a unique-key violation to `Conflict` and passes any other error through.
pub(crate) fn conflict_if_unique(what: String) -> impl FnOnce(sqlx::Error) -> Error {
    move |err| match err.as_database_error().map(|db| db.kind()) {
        Some(sqlx::error::ErrorKind::UniqueViolation) => Error::Conflict(what),
        _ => Error::Backend(err),
    }
}

/// Which tickets a listing may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every tenant (admins and MSP-wide staff).
    AllTenants,
    /// Only the tenants granted to this user.
    GrantedTo(UserId),
}

impl Visibility {
    /// What `user` may list: everything for all-tenant users, else their granted tenants.
    pub fn of(user: &User) -> Self {
        match user.tenants {
            crate::domain::user::TenantAccess::All => Visibility::AllTenants,
            crate::domain::user::TenantAccess::Only(_) => Visibility::GrantedTo(user.id),
        }
    }
}

/// Filters and page of a ticket listing. Tickets come newest first.
#[derive(Debug, Clone)]
pub struct TicketQuery {
    pub visibility: Visibility,
    pub tenant: Option<TenantId>,
    pub stage: Option<Stage>,
    pub priority: Option<Priority>,
    pub service_group: Option<String>,
    /// Returns tickets older than this one (the previous page's cursor).
    pub before: Option<TicketId>,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseStats {
    pub count: u64,
    pub last_change: Option<chrono::DateTime<chrono::Utc>>,
}

impl CaseStats {
    /// One line that changes whenever a case is added, changed or removed.
    pub fn fingerprint(&self) -> String {
        match self.last_change {
            Some(at) => format!("cases {} last {}", self.count, at.to_rfc3339()),
            None => format!("cases {} last -", self.count),
        }
    }
}

/// The outcome of walking the whole audit chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub ok: bool,
    pub events: u64,
    pub head: String,
    pub broken: Option<crate::domain::audit::ChainBreak>,
}

/// Everything the service keeps. Sign-in and sessions live in the `SessionStore` supertrait so
/// this trait stays about tickets, tenants and the audit trail.
#[async_trait]
pub trait Store: DecisionStore + SessionStore + JobStore + Send + Sync {
    /// Applies pending migrations of this backend.
    async fn migrate(&self) -> Result<(), Error>;
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), Error>;

    async fn create_tenant(&self, new: &NewTenant, actor: &Actor) -> Result<Tenant, Error>;
    async fn tenant_by_slug(&self, slug: &TenantSlug) -> Result<Tenant, Error>;
    async fn tenants(&self) -> Result<Vec<Tenant>, Error>;
    /// Lets (or stops) a tenant's cases join the MSP-wide pool; returns the updated tenant.
    async fn set_shared_pool(
        &self,
        slug: &TenantSlug,
        shared: bool,
        actor: &Actor,
    ) -> Result<Tenant, Error>;

    async fn create_user(&self, new: &NewUser, actor: &Actor) -> Result<User, Error>;
    /// Returns the user holding this token hash, expired or not; callers check expiry.
    async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>, Error>;
    async fn user_by_name(&self, name: &str) -> Result<User, Error>;

    async fn create_ticket(&self, new: &NewTicket, actor: &Actor) -> Result<TicketDetail, Error>;
    async fn ticket(&self, id: TicketId) -> Result<TicketDetail, Error>;
    async fn list_tickets(&self, query: &TicketQuery) -> Result<Vec<Ticket>, Error>;
    async fn edit_ticket(
        &self,
        id: TicketId,
        edit: &TicketEdit,
        actor: &Actor,
    ) -> Result<TicketDetail, Error>;
    async fn attachment(
        &self,
        ticket: TicketId,
        id: AttachmentId,
    ) -> Result<AttachmentContent, Error>;

    /// Stores a past case as a closed ticket, keyed by the tenant and its external id: a new id
    /// creates, changed content updates, identical content leaves the row and the audit alone.
    async fn upsert_case(
        &self,
        case: &ImportedCase,
        actor: &Actor,
    ) -> Result<(ImportOutcome, CaseRecord), Error>;
    /// Past cases (resolved or closed tickets) in id order after `after`, of one tenant or all.
    async fn cases(
        &self,
        tenant: Option<TenantId>,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, Error>;
    /// A tenant's `limit` most recent past cases by creation time, newest first.
    async fn recent_cases(&self, tenant: TenantId, limit: u32) -> Result<Vec<CaseRecord>, Error>;
    /// How many past cases there are and when the last one changed: a cheap fingerprint that
    /// tells the index its store changed under it (an import from another process).
    async fn case_stats(&self) -> Result<CaseStats, Error>;
    /// One past case by ticket id, if that ticket is resolved or closed.
    async fn case(&self, id: TicketId) -> Result<Option<CaseRecord>, Error>;

    /// Stores a suggestion and its audit event; suggestions are never edited afterwards.
    async fn insert_suggestion(&self, suggestion: &Suggestion, actor: &Actor) -> Result<(), Error>;
    /// The suggestions of a ticket, newest first.
    async fn suggestions_for(&self, ticket: TicketId) -> Result<Vec<Suggestion>, Error>;

    /// Returns the audit events about one entity, oldest first.
    async fn audit_events_for(
        &self,
        entity_type: &str,
        entity_id: &str,
    ) -> Result<Vec<AuditEvent>, Error>;
    /// Returns up to `limit` events with a sequence number above `after`, in order.
    async fn audit_events_after(&self, after: i64, limit: u32) -> Result<Vec<AuditEvent>, Error>;
}

/// Opens the database named by the URL, creating a missing SQLite file and its folder, and runs
/// the migrations.
pub async fn connect(config: &DatabaseConfig) -> Result<Arc<dyn Store>, Error> {
    let store: Arc<dyn Store> = if config.url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(&config.url, config.max_connections).await?)
    } else if config.url.starts_with("postgres://") || config.url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(&config.url, config.max_connections).await?)
    } else {
        return Err(Error::Connect(
            "unsupported URL scheme; use sqlite://PATH or postgres://USER@HOST/DB".into(),
        ));
    };
    store.migrate().await?;
    Ok(store)
}

/// Recomputes the whole audit chain, a page at a time, and names the first broken event.
pub async fn verify_audit_chain(store: &dyn Store) -> Result<ChainReport, Error> {
    const PAGE: u32 = 1_000;
    let mut verifier = crate::domain::audit::ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_events_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            if let Err(broken) = verifier.check(event) {
                return Ok(ChainReport {
                    ok: false,
                    events: verifier.checked(),
                    head: verifier.head().to_string(),
                    broken: Some(broken),
                });
            }
        }
    }
    Ok(ChainReport {
        ok: true,
        events: verifier.checked(),
        head: verifier.head().to_string(),
        broken: None,
    })
}
