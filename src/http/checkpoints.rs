//! `GET /checkpoints…`: signed checkpoints, a project's head proved in one, and the consistency
//! of two ([`crate::app::checkpoints`]), answered as JSON; docs/checkpoints.md says how to check
//! them without Coprod.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use coprod_domain::checkpoint::{ConsistencyProof, SignedCheckpoint};
use serde::Deserialize;

use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use crate::app::checkpoints::{
    self, CheckpointBundle, CheckpointList, CheckpointQueryError, DEFAULT_PAGE, MAX_PAGE,
};
use crate::app::{AppState, Caller};

impl From<CheckpointQueryError> for ApiError {
    fn from(error: CheckpointQueryError) -> Self {
        match error {
            CheckpointQueryError::App(error) => error.into(),
            CheckpointQueryError::NotFound(detail) => ApiError::not_found(detail),
            CheckpointQueryError::Off => ApiError::new(
                StatusCode::NOT_FOUND,
                "checkpoints_off",
                "This server keeps no checkpoints: it was started without a checkpoint key \
                 (COPROD_CHECKPOINT_KEY or the checkpoint key file).",
            ),
            CheckpointQueryError::Untrusted(detail) => {
                tracing::error!(%detail, "the stored checkpoints do not verify");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "checkpoints_untrusted",
                    format!(
                        "The stored checkpoints do not verify with this server's checkpoint \
                         key, so none is served: {detail}."
                    ),
                )
            }
            CheckpointQueryError::OutOfOrder { from, to } => ApiError::unprocessable(
                "validation_failed",
                format!("from ({from}) must not come after the checkpoint asked for ({to})."),
            )
            .at("from", "after the later checkpoint"),
        }
    }
}

/// A checkpoint number from the address.
fn number(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            "validation_failed",
            format!("'{text}' is not a checkpoint number: they are whole numbers from 1."),
        )
        .at("number", "must be a whole number")
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub after: Option<u64>,
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
}

#[utoipa::path(get, path = "/api/v1/checkpoints", tag = "checkpoints",
    params(("after" = Option<u64>, Query, description = "list the checkpoints numbered after this (default 0)"),
        ("limit" = Option<u64>, Query, description = "1 to 1000, default 100")),
    responses((status = 200, body = CheckpointList, description = "Checkpoints oldest first, with the public key that checks them"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Json<CheckpointList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        caller.require(checkpoints::CHECKPOINT_READERS, "read checkpoints")?;
        return Err(ApiError::bad_request(
            "validation_failed",
            format!("limit must be from 1 to {MAX_PAGE}."),
        )
        .at("limit", "out of range"));
    }
    let list = checkpoints::list(&state, &caller, query.after.unwrap_or(0), limit).await?;
    Ok(Json(list))
}

#[utoipa::path(get, path = "/api/v1/checkpoints/latest", tag = "checkpoints",
    responses((status = 200, body = SignedCheckpoint),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn latest(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SignedCheckpoint>, ApiError> {
    Ok(Json(checkpoints::latest(&state, &caller).await?))
}

#[utoipa::path(get, path = "/api/v1/checkpoints/{number}", tag = "checkpoints",
    params(("number" = u64, Path)),
    responses((status = 200, body = SignedCheckpoint),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> Result<Json<SignedCheckpoint>, ApiError> {
    caller.require(checkpoints::CHECKPOINT_READERS, "read checkpoints")?;
    let number = number(&text)?;
    Ok(Json(checkpoints::by_number(&state, &caller, number).await?))
}

#[utoipa::path(get, path = "/api/v1/checkpoints/{number}/projects/{id}/proof", tag = "checkpoints",
    params(("number" = u64, Path), ("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CheckpointBundle, description = "The checkpoint and the proof of the project's head in its heads tree: what `coprod verify --file … --checkpoint …` takes"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn head_proof(
    State(state): State<AppState>,
    caller: Caller,
    Path((text, id)): Path<(String, String)>,
) -> Result<Json<CheckpointBundle>, ApiError> {
    caller.require(
        checkpoints::PROOF_READERS,
        "read a project's checkpoint proof",
    )?;
    let number = number(&text)?;
    Ok(Json(
        checkpoints::head_proof(&state, &caller, number, &id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/checkpoints/{number}/consistency", tag = "checkpoints",
    params(("number" = u64, Path, description = "the later checkpoint"),
        ("from" = u64, Query, description = "the earlier checkpoint, at most `number`")),
    responses((status = 200, body = ConsistencyProof, description = "The RFC 9162 proof that the later checkpoint's log extends the earlier one's"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    StrictQuery(query): StrictQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    caller.require(checkpoints::CHECKPOINT_READERS, "read checkpoints")?;
    let to = number(&text)?;
    Ok(Json(
        checkpoints::consistency(&state, &caller, query.from, to).await?,
    ))
}

/// The checkpoint routes, under `/api/v1`.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/checkpoints", get(list))
        .route("/checkpoints/latest", get(latest))
        .route("/checkpoints/{number}", get(one))
        .route("/checkpoints/{number}/projects/{id}/proof", get(head_proof))
        .route("/checkpoints/{number}/consistency", get(consistency))
}
