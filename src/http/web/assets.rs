//! The stylesheet, compiled into the binary so the service runs from any directory.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

const APP_CSS: &str = include_str!("../../../static/app.css");

/// `GET /static/app.css`. An hour of caching: a new release's styles reach browsers within it.
pub async fn app_css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}
