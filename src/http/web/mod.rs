//! The HTML pages: sign-in, sessions, CSRF, the layout and its stylesheet. Pages are rendered on
//! the server and work without JavaScript; every response carries the security headers of
//! `headers.rs`. Page handlers take a [`WebUser`], check submitted forms with
//! [`WebUser::check_csrf`], and fail with [`WebError`], which renders the error page.

pub mod account;
pub mod assets;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod form;
pub mod headers;
pub mod layout;
pub mod login;
pub mod redirect;
pub mod session;

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
        .route("/static/app.css", get(assets::app_css))
        .layer(axum::middleware::from_fn(headers::security_headers))
}
