//! The HTTP adapter: routes, layers, authentication and error mapping. Handlers check role and
//! tenant on every request, then call the store; nothing outside this module knows axum.

pub mod api;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, OriginalUri, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

pub use error::Error;

/// Builds the whole router.
pub fn router(state: AppState) -> Router {
    let body_limit = body_limit(&state);
    Router::new()
        .nest("/api/v1", api::router())
        .merge(web::router())
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::show))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        // Outermost, so every log line of a request carries its span.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
        .with_state(state)
}

/// The largest body accepted: every attachment of a ticket at its limit, base64-encoded in JSON
/// (4/3 larger), plus room for the other fields.
fn body_limit(state: &AppState) -> usize {
    let attachments = state.config.limits.max_ticket_attachments;
    let limit = attachments.saturating_mul(4) / 3 + (1 << 20);
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// Unknown paths: JSON under `/api/`, where clients are programs; the HTML error page elsewhere,
/// where they are browsers.
async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    if uri.path().starts_with("/api/") {
        return Error::NotFound("no such route".into()).into_response();
    }
    let mut response =
        web::WebError::NotFound("There is no page at this address.".into()).into_response();
    web::headers::apply(response.headers_mut());
    response
}
