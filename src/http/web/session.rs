//! `WebUser`, the signed-in user of a page request, found by the `tg_session` cookie. The cookie
//! holds a random token; the store keeps only its SHA-256, so a copy of the database cannot be
//! replayed as a cookie.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::Method;
use axum::http::request::Parts;
use chrono::TimeDelta;

use super::cookie;
use super::error::WebError;
use crate::app::AppState;
use crate::auth;
use crate::domain::user::User;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tg_session";

/// How stale `last_seen_at` may get before a request moves it: a write per page view would
/// queue every reader behind SQLite's single writer.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(5);

/// The signed-in user of a page request. Without a valid, unexpired session the request stops
/// here with a 303 to `/login?next=<this page>`.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    /// The session's CSRF token: put it in every form, check it with [`WebUser::check_csrf`].
    pub csrf: String,
    /// When the session ends and the user must sign in again.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub(super) session_hash: String,
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let sign_in = || WebError::SignInRequired {
            next: page_to_return_to(parts),
        };
        let token = cookie::get(&parts.headers, SESSION_COOKIE)
            .filter(|token| cookie::plausible_token(token))
            .ok_or_else(sign_in)?;
        let session_hash = auth::hash_token(token);
        let session = state
            .store
            .session(&session_hash)
            .await?
            .ok_or_else(sign_in)?;
        let now = crate::domain::now();
        if session.expired_at(now) {
            return Err(sign_in());
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            // Bookkeeping only: the page is served even if this write fails.
            if let Err(err) = state.store.touch_session(&session_hash, now).await {
                tracing::warn!(error = ?err, "cannot record session activity");
            }
        }
        Ok(WebUser {
            user: session.user,
            csrf: session.csrf_token,
            expires_at: session.expires_at,
            session_hash,
        })
    }
}

/// The page a sign-in should return to: this one for GET and HEAD; after a form post the form's
/// own URL may not answer GET, so the queue.
fn page_to_return_to(parts: &Parts) -> String {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return "/".to_string();
    }
    // Inside a nested router `parts.uri` has lost its prefix; the original keeps it.
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0);
    uri.path_and_query()
        .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string())
}
