//! Extractors that turn bad input into our own error format, and `Caller`, the authenticated
//! user of a request.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::error::Error;
use crate::app::AppState;
use crate::domain::user::User;

/// `axum::Json` whose rejections come back as `{"error": …}` with 400, 413, 415 or 422.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` whose rejections come back as a 400 in our format.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct ApiQuery<T>(pub T);

/// The user a request's `Authorization: Bearer <token>` belongs to. Requests without a valid,
/// unexpired token stop here with a 401.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            Error::unauthorized(
                "missing_token",
                "send an API token as Authorization: Bearer <token>",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                Error::unauthorized(
                    "invalid_token",
                    "the Authorization header must be Bearer <token>",
                )
            })?;
        let user = state
            .store
            .user_by_token_hash(&crate::auth::hash_token(token))
            .await?
            .ok_or_else(|| Error::unauthorized("invalid_token", "the API token is not valid"))?;
        if user.token_expired(chrono::Utc::now()) {
            return Err(Error::unauthorized(
                "token_expired",
                "the API token has expired; ask an admin for a new one",
            ));
        }
        Ok(Caller(user))
    }
}
