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
pub mod demo;
pub mod http;
pub mod master_key;
pub mod store;
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

use crate::store::Store;

/// The whole application: the API's routes and the pages', with what they share: the answer
/// for an unknown address or method, metrics, the body limit, a 500 for a panic, tracing and
/// request ids.
pub fn build_app(state: AppState) -> Router {
    Router::new()
        .merge(http::router())
        .merge(web::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::demo_scope,
        )))
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(axum::middleware::from_fn(http::metrics::track))
        .layer(DefaultBodyLimit::max(http::body::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| http::panicked()))
        // Inside the request id's layers: every line a request logs carries its id.
        .layer(TraceLayer::new_for_http().make_span_with(http::request_log::request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves [`build_app`] on `listener` until `shutdown` completes, finishing in-flight requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, build_app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `coprod serve`: binds and serves until SIGINT/SIGTERM, letting in-flight requests finish.
pub async fn serve(store: Store, listen: SocketAddr) -> Result<(), ServeError> {
    serve_state(AppState::new(store), listen).await
}

/// [`serve`] with the application state given (the demo's, say).
pub async fn serve_state(state: AppState, listen: SocketAddr) -> Result<(), ServeError> {
    http::metrics::handle();
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "coprod is listening");
    serve_on(listener, state, shutdown_signal()).await?;
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
