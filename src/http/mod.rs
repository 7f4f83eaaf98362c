//! The HTTP API (described in `docs/api.md`), served by axum: a transport over the application
//! layer ([`crate::app`]). It authenticates callers by bearer token, reads requests strictly, and
//! answers the application's results as JSON (or CSV) and its errors as
//! `application/problem+json`. [`router`] gives its routes; `crate::build_app` joins them with
//! the pages' and the layers they share.

pub mod assessments;
pub mod auth;
pub mod body;
pub mod checkpoints;
pub mod events;
pub mod idempotency;
pub mod imports;
pub mod metrics;
pub mod openapi;
pub mod participants;
pub mod portfolio;
pub mod problem;
pub mod projects;
pub mod query;
pub mod request_log;
pub mod respond;
pub mod service;
pub mod tokens;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use self::problem::ApiError;
use crate::app::AppState;

/// The API's routes (under `/api/v1`) and the service's (`/healthz`, `/readyz`, `/metrics`).
pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/projects", post(projects::register).get(projects::list))
        .route("/projects/{id}", get(projects::summary))
        .route(
            "/projects/{id}/events",
            post(events::post).get(events::trail_page),
        )
        .route("/projects/{id}/verify", get(events::verify))
        .route("/projects/{id}/imports", post(imports::import))
        .route("/imports/templates/{file}", get(imports::template))
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
        .route(
            "/projects/{id}/participants/{participant_id}/invitations",
            post(participants::invite),
        )
        .route("/rubrics", get(assessments::rubrics))
        .route("/rubrics/{reference}", get(assessments::rubric_definition))
        .route("/tokens", post(tokens::create).get(tokens::list))
        .route("/tokens/{id}", get(tokens::one).delete(tokens::revoke))
        .route("/openapi.json", get(openapi::document))
        .merge(checkpoints::routes());
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(service::healthz))
        .route("/readyz", get(service::readyz))
        .route("/metrics", get(service::metrics))
}

/// Nothing at this address (for any address no route takes).
pub async fn not_found() -> ApiError {
    ApiError::not_found("There is nothing at this address. The API lives under /api/v1.")
}

/// The address exists, but not for this method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This address does not accept that method.",
    )
}

/// The answer to a request whose handler panicked: a 500 problem, logged.
pub fn panicked() -> Response {
    ApiError::internal("a request handler panicked", "panic").into_response()
}
