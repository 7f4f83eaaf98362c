//! The span every log line of a request is written in: its method, its route (the pattern, such
//! as `/api/v1/projects/{id}`, never the ids or the query, which can name participants) and its
//! request id (`x-request-id`, set by the layer outside the trace layer: the client's own, or a
//! new UUID, as the answer's header says), so that a client's report can be matched to the log.

use axum::extract::{MatchedPath, Request};
use tracing::Span;

/// The header the request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// Makes the span of one request (for `TraceLayer::make_span_with`). At `info`, so that its
/// fields are on every line the default log level shows.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %request_id,
    )
}
