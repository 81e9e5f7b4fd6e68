//! Errors of the HTML pages. Each renders `templates/error.html` with its status and a message
//! meant for the person at the browser; pages never answer JSON. A 5xx shows a generic message
//! and logs its cause. `SignInRequired` is not a page: it redirects to the sign-in form.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::layout::Nav;
use super::redirect;
use crate::domain::FieldError;
use crate::domain::user::Forbidden;
use crate::{http, store};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No valid session; holds the page to come back to.
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error(
        "The form has expired or did not come from this page. Go back, reload the page and try again."
    )]
    CsrfMismatch,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The upload is larger than this server accepts.")]
    TooLarge,
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(
        "Something went wrong on our side. Try again; if it keeps happening, tell your administrator."
    )]
    Internal(#[source] anyhow::Error),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::SignInRequired { .. } => StatusCode::SEE_OTHER,
            WebError::CsrfMismatch | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A cause the page must not show: logged, and the page says something generic.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        WebError::Internal(cause.into())
    }
}

/// `templates/error.html`.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: Nav,
    pub status: u16,
    pub title: String,
    pub message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SignInRequired { next } = &self {
            return Redirect::to(&redirect::to_login(next)).into_response();
        }
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = ?self, "page failed");
        }
        let page = ErrorPage {
            nav: Nav::signed_out(),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            message: self.to_string(),
        };
        (status, page).into_response()
    }
}

impl From<store::Error> for WebError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::NotFound { entity, .. } => WebError::NotFound(format!(
                "That {entity} does not exist or is not yours to see."
            )),
            store::Error::Conflict(what) => WebError::Conflict(format!("{what} already exists.")),
            other => WebError::internal(other),
        }
    }
}

impl From<Forbidden> for WebError {
    fn from(err: Forbidden) -> Self {
        WebError::Forbidden(format!("You cannot do this: {err}."))
    }
}

impl From<FieldError> for WebError {
    fn from(err: FieldError) -> Self {
        WebError::Unprocessable(err.to_string())
    }
}

/// Lets pages call code written for the JSON API and keep its status.
impl From<http::Error> for WebError {
    fn from(err: http::Error) -> Self {
        match err {
            http::Error::BadRequest { message, .. }
            | http::Error::UnsupportedMediaType(message) => WebError::BadRequest(message),
            http::Error::Unauthorized { message, .. } | http::Error::Forbidden(message) => {
                WebError::Forbidden(message)
            }
            http::Error::NotFound(message) => WebError::NotFound(message),
            http::Error::Conflict(message) => WebError::Conflict(message),
            http::Error::PayloadTooLarge(_) => WebError::TooLarge,
            http::Error::Unprocessable { message, .. } => WebError::Unprocessable(message),
            http::Error::Unavailable(message) => WebError::Unavailable(message),
            http::Error::Internal(cause) => WebError::Internal(cause),
        }
    }
}
