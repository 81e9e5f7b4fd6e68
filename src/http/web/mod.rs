//! The HTML pages: sign-in, the L1 queue, the ticket page with its decision form, approvals,
//! QA, and what they share (sessions, CSRF, the layout and its stylesheet). Pages are rendered on
//! the server and work without JavaScript; every response carries the security headers of
//! `headers.rs`. Page handlers take a [`WebUser`], check submitted forms with
//! [`WebUser::check_csrf`], and fail with [`WebError`], which renders the error page.

pub mod account;
pub mod approvals_page;
pub mod assets;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod form;
pub mod headers;
pub mod layout;
pub mod log_lines;
pub mod login;
mod model_view;
pub mod qa_page;
pub mod queue;
pub mod redirect;
pub mod session;
pub mod ticket_actions;
pub mod ticket_page;
pub mod view;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub use error::WebError;
pub use form::{HtmlForm, HtmlQuery};
pub use layout::Nav;
pub use session::WebUser;

/// The page routes. Add page routers with `.merge(..)` before the header layer, which covers
/// every route merged above it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/account", get(account::show))
        .route("/", get(queue::show))
        .route("/tickets/{id}", get(ticket_page::show))
        .route("/tickets/{id}/decision", post(ticket_actions::decide))
        .route("/tickets/{id}/triage", post(ticket_actions::triage))
        .route(
            "/tickets/{id}/attachments/{attachment}/lines",
            get(log_lines::show),
        )
        .route("/approvals", get(approvals_page::show))
        .route("/approvals/{id}", post(approvals_page::verdict))
        .route("/qa", get(qa_page::show))
        .route("/qa/export.csv", get(qa_page::export))
        .route("/static/app.css", get(assets::app_css))
        .layer(axum::middleware::from_fn(headers::security_headers))
}
