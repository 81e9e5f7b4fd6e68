//! Form and query extractors whose rejections render the error page instead of axum's plain
//! text. Invalid *values* are not rejections: handlers re-render their form with a 422.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use super::error::WebError;

/// `axum::Form` (application/x-www-form-urlencoded) with our error page on rejection.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct HtmlForm<T>(pub T);

/// `axum::extract::Query` with our error page on rejection.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct HtmlQuery<T>(pub T);

impl From<FormRejection> for WebError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge
        } else {
            WebError::BadRequest(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for WebError {
    fn from(rejection: QueryRejection) -> Self {
        WebError::BadRequest(rejection.body_text())
    }
}
