//! The HTTP API of shared/API.md, served by axum. `router` builds the whole application so that
//! the server and the tests run exactly the same thing.

pub mod assessments;
pub mod auth;
pub mod body;
pub mod events;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod participants;
pub mod portfolio;
pub mod problem;
pub mod projects;
pub mod query;
pub mod service;

use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use coprod_domain::recorded::to_stored_precision;
use coprod_domain::CommandContext;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use uuid::Uuid;

use self::auth::Caller;
use self::problem::ApiError;
use crate::store::{ProjectHead, Store};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The server's clock; tests may fix it.
    pub clock: fn() -> DateTime<Utc>,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        AppState {
            store,
            clock: Utc::now,
        }
    }

    /// Who is recording and when: what the domain needs from outside.
    pub fn context(&self, caller: &Caller) -> CommandContext {
        CommandContext {
            recorded_by: caller.name().to_string(),
            recorded_at: to_stored_precision((self.clock)()),
        }
    }
}

/// The project named in the path, if it exists and the caller may see it; otherwise 404, so
/// that another organisation's project is not revealed.
pub async fn visible_project(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<ProjectHead, ApiError> {
    let project_id: Uuid = id.parse().map_err(|_| ApiError::project_not_found())?;
    match state.store.project_head(project_id).await? {
        Some(head) if caller.sees(&head.organisation) => Ok(head),
        _ => Err(ApiError::project_not_found()),
    }
}

/// Like [`visible_project`], when only the project's id is needed (appending): answered from
/// the organisation the store keeps for each project, without reading the project's head.
pub async fn visible_project_id(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Uuid, ApiError> {
    let project_id: Uuid = id.parse().map_err(|_| ApiError::project_not_found())?;
    match state.store.project_organisation(project_id).await? {
        Some(organisation) if caller.sees(&organisation) => Ok(project_id),
        Some(_) => Err(ApiError::project_not_found()),
        // No readable registration: the head's fallback decides.
        None => Ok(visible_project(state, caller, id).await?.project_id),
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/projects", post(projects::register).get(projects::list))
        .route("/projects/{id}", get(projects::summary))
        .route(
            "/projects/{id}/events",
            post(events::post).get(events::trail_page),
        )
        .route("/projects/{id}/verify", get(events::verify))
        .route("/projects/{id}/assessment", get(assessments::get))
        .route(
            "/projects/{id}/assessments",
            post(assessments::seal).get(assessments::seals),
        )
        .route(
            "/projects/{id}/assessments/{sequence}/verify",
            get(assessments::verify_seal),
        )
        .route("/portfolio", get(portfolio::portfolio))
        .route("/portfolio/trend", get(portfolio::trend))
        .route("/portfolio/comparison", get(portfolio::comparison))
        .route(
            "/projects/{id}/participants/{participant_id}",
            get(participants::subject_access),
        )
        .route(
            "/projects/{id}/participants/{participant_id}/erase",
            post(participants::erase),
        )
        .route("/rubrics", get(assessments::rubrics))
        .route("/rubrics/{reference}", get(assessments::rubric_definition))
        .route("/openapi.json", get(openapi::document));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a request handler panicked", "panic").into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("There is nothing at this address. The API lives under /api/v1.")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not accept that method.",
    )
}

/// Serves the API on `listener` until `shutdown` completes, finishing in-flight requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `coprod serve`: binds and serves until SIGINT/SIGTERM, letting in-flight requests finish.
pub async fn serve(store: Store, listen: SocketAddr) -> Result<(), ServeError> {
    metrics::handle();
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "coprod is listening");
    serve_on(listener, AppState::new(store), shutdown_signal()).await?;
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
