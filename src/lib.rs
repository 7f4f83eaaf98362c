//! Coprod: the audit trail of co-production projects in adult social care, and their six-point
//! assessments. The pure domain is the `coprod-domain` crate; this crate stores it (`store`),
//! answers questions about it (`app`, the application layer) and serves those answers through
//! two transports that do not know each other: the API (`http`) and the pages (`web`).
//! [`build_app`] joins them into the one application `coprod serve` and the tests run; the
//! command line is `cli`. See `docs/architecture.md`.

pub mod app;
pub mod checkpoint_commands;
pub mod checkpoint_key;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod demo;
pub mod housekeeping;
pub mod http;
pub mod master_key;
pub mod rate_limits;
pub mod read_routing;
pub mod store;
pub mod token_commands;
pub mod trail;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use app::AppState;
pub use connections::ConnectionLimits;

use crate::store::Store;

/// The whole application: the API's routes and the pages', each behind the choice of the
/// database its reads go to ([`read_routing`]), with what they share: the answer
/// for an unknown address or method, metrics, the body limit, a 500 for a panic, tracing and
/// request ids.
pub fn build_app(state: AppState) -> Router {
    with_shared_layers(
        Router::new()
            .merge(http::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                read_routing::api_reads,
            )))
            .merge(
                web::router()
                    .layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        web::demo_scope,
                    ))
                    .layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        read_routing::page_reads,
                    )),
            ),
        state,
    )
}

/// `routes` with what every answer shares. A panic is answered innermost — the pages' inside
/// their security headers (`web::with_page_layers`), the API's here — so that its 500 is
/// counted by the metrics and carries the headers like any answer; the outer catch is for a
/// panic in a layer itself.
fn with_shared_layers(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| http::panicked()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limits::limit,
        ))
        .layer(axum::middleware::from_fn(http::metrics::track))
        .layer(DefaultBodyLimit::max(http::body::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| http::panicked()))
        // Inside the request id's layers: every line a request logs carries its id.
        .layer(TraceLayer::new_for_http().make_span_with(http::request_log::request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves [`build_app`] on `listener` under the default [`ConnectionLimits`] until `shutdown`
/// completes, finishing in-flight requests, with the [`housekeeping`] running meanwhile.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on_with(listener, state, ConnectionLimits::default(), shutdown).await
}

/// [`serve_on`] under `limits`.
pub async fn serve_on_with(
    listener: TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let housekeeping = housekeeping::start(state.store.clone()).await;
    let served = connections::serve(listener, build_app(state), limits, shutdown).await;
    housekeeping.abort();
    served
}

/// `coprod serve`: binds and serves under `limits` until SIGINT/SIGTERM, letting in-flight
/// requests finish.
pub async fn serve(
    store: Store,
    listen: SocketAddr,
    limits: ConnectionLimits,
) -> Result<(), ServeError> {
    serve_state(AppState::new(store), listen, limits).await
}

/// [`serve`] with the application state given (the demo's, say).
pub async fn serve_state(
    state: AppState,
    listen: SocketAddr,
    limits: ConnectionLimits,
) -> Result<(), ServeError> {
    http::metrics::handle();
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(
        address = %listener.local_addr()?,
        ?limits,
        worker_threads = tokio::runtime::Handle::current().metrics().num_workers(),
        "coprod is listening"
    );
    serve_on_with(listener, state, limits, shutdown_signal()).await?;
    tracing::info!("coprod stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("could not listen: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("a handler panicked on purpose")
    }

    /// The application's layers around one panicking route of each transport: the API's
    /// `/api/v1/boom-in-the-api` and the pages' `/boom-in-a-page`. (No route of the real
    /// application panics on purpose, so the test adds them here, never to the program.)
    async fn app_that_panics() -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("coprod.db").display());
        let store = Store::connect(&url).await.expect("a store");
        let api = Router::new().route("/api/v1/boom-in-the-api", get(boom));
        let pages = web::with_page_layers(Router::new().route("/boom-in-a-page", get(boom)));
        let app = with_shared_layers(api.merge(pages), AppState::new(store));
        (app, dir)
    }

    async fn get_from(app: &Router, path: &str) -> axum::response::Response {
        let request = Request::get(path).body(Body::empty()).expect("a request");
        app.clone().oneshot(request).await.expect("an answer")
    }

    /// How many requests to `route` the metrics counted with `status`.
    fn counted(route: &str, status: u16) -> u64 {
        let rendered = http::metrics::handle().render();
        let wanted = format!("route=\"{route}\",status=\"{status}\"}}");
        rendered
            .lines()
            .filter(|line| {
                line.starts_with("coprod_http_requests_total{") && line.contains(&wanted)
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    #[tokio::test]
    async fn a_page_that_panics_gets_a_500_page_with_the_security_headers_and_is_counted() {
        http::metrics::handle();
        let (app, _dir) = app_that_panics().await;
        let before = counted("/boom-in-a-page", 500);
        let response = get_from(&app, "/boom-in-a-page").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers();
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap_or_default();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        for name in [
            header::CONTENT_SECURITY_POLICY,
            header::X_CONTENT_TYPE_OPTIONS,
            header::X_FRAME_OPTIONS,
            header::REFERRER_POLICY,
        ] {
            assert!(headers.contains_key(&name), "{name} missing: {headers:?}");
        }
        assert!(headers.contains_key("x-request-id"), "{headers:?}");
        assert_eq!(counted("/boom-in-a-page", 500), before + 1);
    }

    #[tokio::test]
    async fn an_api_call_that_panics_gets_a_500_problem_and_is_counted() {
        http::metrics::handle();
        let (app, _dir) = app_that_panics().await;
        let before = counted("/api/v1/boom-in-the-api", 500);
        let response = get_from(&app, "/api/v1/boom-in-the-api").await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert!(response.headers().contains_key("x-request-id"));
        assert_eq!(counted("/api/v1/boom-in-the-api", 500), before + 1);
    }
}
