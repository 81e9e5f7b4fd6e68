//! Browser sign-in state: password checks' inputs, the lock-out counter and web sessions.
//! `SessionStore` is a supertrait of `Store`, written once for both backends by
//! `impl_session_store!` (expanded beside `impl_sql_store!`, whose private helpers it uses).
//! Sessions are kept only as the SHA-256 of their cookie token. Times are compared in Rust:
//! SQLite holds them as text, whose order breaks when the fraction of a second changes length.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::Error;
use super::rows::UserRow;
use crate::domain::Actor;
use crate::domain::user::{User, UserId};

/// What signing in needs to know about a user before checking the password.
#[derive(Debug, Clone)]
pub struct SignInState {
    pub user_id: UserId,
    pub name: String,
    /// `None` for users that only have an API token: they cannot sign in.
    pub password_hash: Option<String>,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl SignInState {
    /// Whether the account refuses every password at `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// When wrong passwords lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failed_logins: u32,
    pub lockout: TimeDelta,
}

/// What a wrong password did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedSignIn {
    /// Counted; the account is still open. Holds the failures so far.
    Counted(u32),
    /// The account is locked (by this failure or an earlier one) until then.
    Locked { until: DateTime<Utc> },
}

/// A session about to be opened; the token itself never reaches the store.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub session_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Whether a session was opened after the password matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOpened {
    Opened,
    /// The account was locked meanwhile (by failures racing this sign-in): no session.
    Locked {
        until: DateTime<Utc>,
    },
}

/// A stored session with its user, as one query returns them.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Returns the password hash and lock state of the user with this name, if there is one.
    async fn sign_in_state(&self, name: &str) -> Result<Option<SignInState>, Error>;

    /// Counts a wrong password. Reaching the policy's limit locks the account and writes
    /// `user.locked` in the same transaction; failures while locked change nothing.
    async fn record_failed_sign_in(
        &self,
        user: UserId,
        policy: &LockoutPolicy,
    ) -> Result<FailedSignIn, Error>;

    /// Clears the failure count, opens the session, drops the user's expired sessions and
    /// writes `user.signed_in`, unless the account is locked at this moment.
    async fn open_session(&self, new: &NewSession) -> Result<SessionOpened, Error>;

    /// Returns the session with this hash and its user, expired or not; callers check expiry.
    async fn session(&self, session_hash: &str) -> Result<Option<Session>, Error>;

    /// Moves a session's `last_seen_at` forward; not audited, it is bookkeeping.
    async fn touch_session(&self, session_hash: &str, at: DateTime<Utc>) -> Result<(), Error>;

    /// Deletes a session and writes `user.signed_out`; returns whether it existed.
    async fn close_session(&self, session_hash: &str) -> Result<bool, Error>;

    /// Sets a user's password hash, clears any lock-out, ends the user's sessions and writes
    /// `user.password_set` (never with the hash).
    async fn set_password(
        &self,
        name: &str,
        password_hash: &str,
        actor: &Actor,
    ) -> Result<(), Error>;
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct SignInRow {
    pub user_id: Uuid,
    pub name: String,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

impl From<SignInRow> for SignInState {
    fn from(row: SignInRow) -> Self {
        Self {
            user_id: UserId(row.user_id),
            name: row.name,
            password_hash: row.password_hash,
            failed_logins: u32::try_from(row.failed_logins.max(0)).unwrap_or(u32::MAX),
            locked_until: row.locked_until,
        }
    }
}

/// A session joined with its user and one of the user's tenants (`None` for all-tenant users).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionUserRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub tenant_id: Option<Uuid>,
    pub csrf_token: String,
    pub session_created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl SessionUserRow {
    /// Folds the joined rows of one session back into a `Session`; no rows means no session.
    pub fn into_session(rows: Vec<SessionUserRow>) -> Result<Option<Session>, Error> {
        let tenant_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.tenant_id).collect();
        let Some(first) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(Session {
            user: first.user.into_user(tenant_ids)?,
            csrf_token: first.csrf_token,
            created_at: first.session_created_at,
            expires_at: first.expires_at,
            last_seen_at: first.last_seen_at,
        }))
    }
}

/// The first hex digits of a session hash: enough to pair sign-in and sign-out events in the
/// audit trail without writing the lookup key itself there.
pub(super) fn session_ref(session_hash: &str) -> &str {
    session_hash.get(..12).unwrap_or(session_hash)
}

/// A session with its user and tenants, by session hash: one round trip per page.
pub(super) const SESSION_BY_HASH: &str = "select u.user_id, u.name, u.role, u.all_tenants, \
    u.token_expires_at, ut.tenant_id, s.csrf_token, s.created_at as session_created_at, \
    s.expires_at, s.last_seen_at from web_session s \
    join app_user u on u.user_id = s.user_id \
    left join user_tenant ut on ut.user_id = u.user_id where s.session_hash = $1";

/// Takes the user's row lock (a no-op update) and reads its lock-out state. SQLite's
/// `BEGIN IMMEDIATE` already serialises writers; on PostgreSQL the row lock makes concurrent
/// failures count one after another instead of overwriting each other. `select … for update`
/// would do the same on PostgreSQL, but SQLite does not accept it.
pub(super) const LOCK_USER_LOGIN_STATE: &str = "update app_user set failed_logins = failed_logins \
    where user_id = $1 returning name, failed_logins, locked_until";

macro_rules! impl_session_store {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl $crate::store::SessionStore for $store {
            async fn sign_in_state(
                &self,
                name: &str,
            ) -> Result<Option<$crate::store::SignInState>, $crate::store::Error> {
                let row: Option<$crate::store::sessions::SignInRow> = sqlx::query_as(
                    "select user_id, name, password_hash, failed_logins, locked_until \
                     from app_user where name = $1",
                )
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(skip_all, fields(user.id = %user.0))]
            async fn record_failed_sign_in(
                &self,
                user: $crate::domain::user::UserId,
                policy: &$crate::store::LockoutPolicy,
            ) -> Result<$crate::store::FailedSignIn, $crate::store::Error> {
                use $crate::store::FailedSignIn;
                let (_writer, mut tx) = self.begin_write().await?;
                let state: Option<(String, i64, Option<chrono::DateTime<chrono::Utc>>)> =
                    sqlx::query_as($crate::store::sessions::LOCK_USER_LOGIN_STATE)
                        .bind(user.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some((name, failed, locked_until)) = state else {
                    return Err($crate::store::Error::NotFound {
                        entity: "user",
                        id: user.0.to_string(),
                    });
                };
                let now = $crate::domain::now();
                if let Some(until) = locked_until.filter(|until| *until > now) {
                    tx.rollback().await?;
                    return Ok(FailedSignIn::Locked { until });
                }
                // A lock that has run out starts a fresh count, so the first wrong password
                // after it does not lock the account again at once.
                let previous = if locked_until.is_some() { 0 } else { failed.max(0) };
                let count = u32::try_from(previous + 1).unwrap_or(u32::MAX);
                let outcome = if count >= policy.max_failed_logins {
                    FailedSignIn::Locked {
                        until: now + policy.lockout,
                    }
                } else {
                    FailedSignIn::Counted(count)
                };
                let new_lock = match outcome {
                    FailedSignIn::Locked { until } => Some(until),
                    FailedSignIn::Counted(_) => None,
                };
                sqlx::query(
                    "update app_user set failed_logins = $1, locked_until = $2 where user_id = $3",
                )
                .bind(i64::from(count))
                .bind(new_lock)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
                // Single failures are not audited: anyone on the network could otherwise grow
                // the chain at will. The lock is, once per lock period.
                if let Some(until) = new_lock {
                    let event = $crate::domain::audit::NewAuditEvent::new(
                        None,
                        &$crate::domain::Actor::system("sign-in"),
                        "user.locked",
                        "user",
                        user.0,
                        serde_json::json!({
                            "name": name,
                            "failed_logins": count,
                            "locked_until": until,
                        }),
                    );
                    Self::append_audit(&mut tx, event).await?;
                }
                tx.commit().await?;
                Ok(outcome)
            }

            #[tracing::instrument(skip_all, fields(user.id = %new.user_id.0))]
            async fn open_session(
                &self,
                new: &$crate::store::NewSession,
            ) -> Result<$crate::store::SessionOpened, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let state: Option<(String, i64, Option<chrono::DateTime<chrono::Utc>>)> =
                    sqlx::query_as($crate::store::sessions::LOCK_USER_LOGIN_STATE)
                        .bind(new.user_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some((name, _, locked_until)) = state else {
                    return Err($crate::store::Error::NotFound {
                        entity: "user",
                        id: new.user_id.0.to_string(),
                    });
                };
                // Checked again under the row lock: failures racing this sign-in may have
                // locked the account after the caller read its state.
                if let Some(until) = locked_until.filter(|until| *until > new.created_at) {
                    tx.rollback().await?;
                    return Ok($crate::store::SessionOpened::Locked { until });
                }
                sqlx::query(
                    "update app_user set failed_logins = 0, locked_until = null where user_id = $1",
                )
                .bind(new.user_id.0)
                .execute(&mut *tx)
                .await?;
                // Expired sessions are dropped here, lazily, rather than by a sweeper task.
                let sessions: Vec<(String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "select session_hash, expires_at from web_session where user_id = $1",
                )
                .bind(new.user_id.0)
                .fetch_all(&mut *tx)
                .await?;
                for (hash, expires_at) in sessions {
                    if expires_at <= new.created_at {
                        sqlx::query("delete from web_session where session_hash = $1")
                            .bind(&hash)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(
                    "insert into web_session (session_hash, user_id, csrf_token, created_at, \
                     expires_at, last_seen_at) values ($1, $2, $3, $4, $5, $4)",
                )
                .bind(&new.session_hash)
                .bind(new.user_id.0)
                .bind(&new.csrf_token)
                .bind(new.created_at)
                .bind(new.expires_at)
                .execute(&mut *tx)
                .await?;
                let event = $crate::domain::audit::NewAuditEvent::new(
                    None,
                    &$crate::domain::Actor::user(&name),
                    "user.signed_in",
                    "user",
                    new.user_id.0,
                    serde_json::json!({
                        "session": $crate::store::sessions::session_ref(&new.session_hash),
                        "expires_at": new.expires_at,
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok($crate::store::SessionOpened::Opened)
            }

            async fn session(
                &self,
                session_hash: &str,
            ) -> Result<Option<$crate::store::Session>, $crate::store::Error> {
                let rows: Vec<$crate::store::sessions::SessionUserRow> =
                    sqlx::query_as($crate::store::sessions::SESSION_BY_HASH)
                        .bind(session_hash)
                        .fetch_all(self.pool())
                        .await?;
                $crate::store::sessions::SessionUserRow::into_session(rows)
            }

            async fn touch_session(
                &self,
                session_hash: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                sqlx::query("update web_session set last_seen_at = $1 where session_hash = $2")
                    .bind(at)
                    .bind(session_hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn close_session(&self, session_hash: &str) -> Result<bool, $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let owner: Option<(uuid::Uuid, String)> = sqlx::query_as(
                    "select u.user_id, u.name from web_session s \
                     join app_user u on u.user_id = s.user_id where s.session_hash = $1",
                )
                .bind(session_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((user_id, name)) = owner else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                // Two sign-outs racing on PostgreSQL both find the row; only the one whose
                // delete removed it writes the event.
                let deleted = sqlx::query("delete from web_session where session_hash = $1")
                    .bind(session_hash)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                let event = $crate::domain::audit::NewAuditEvent::new(
                    None,
                    &$crate::domain::Actor::user(&name),
                    "user.signed_out",
                    "user",
                    user_id,
                    serde_json::json!({
                        "session": $crate::store::sessions::session_ref(session_hash),
                    }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(skip_all, fields(user = %name))]
            async fn set_password(
                &self,
                name: &str,
                password_hash: &str,
                actor: &$crate::domain::Actor,
            ) -> Result<(), $crate::store::Error> {
                let (_writer, mut tx) = self.begin_write().await?;
                let user: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "update app_user set password_hash = $1, failed_logins = 0, \
                     locked_until = null where name = $2 returning user_id",
                )
                .bind(password_hash)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((user_id,)) = user else {
                    return Err($crate::store::Error::NotFound {
                        entity: "user",
                        id: name.to_string(),
                    });
                };
                // Whoever knew the old password may hold a session; a new password ends them.
                let ended = sqlx::query("delete from web_session where user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let event = $crate::domain::audit::NewAuditEvent::new(
                    None,
                    actor,
                    "user.password_set",
                    "user",
                    user_id,
                    serde_json::json!({ "name": name, "sessions_ended": ended }),
                );
                Self::append_audit(&mut tx, event).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_session_store;
