//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::problem::ApiError;
use crate::app::{AppState, Caller};
use crate::store::AccessRole;

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, description = "The event store answers; with a read replica, `read_replica` says whether it serves reads (`serving`) or is set aside (`unreachable`, `not_a_standby`: reads go to the primary), and its replay lag"), (status = 503, description = "The event store cannot be reached")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    let mut answer = json!({ "status": "ready" });
    if let Some(replica) = state.store.read_replica_status() {
        answer["read_replica"] = json!(replica);
    }
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "Prometheus text format (a token of an administrator of every organisation)")),
    security(("bearer" = [])))]
pub async fn metrics(caller: Caller) -> Result<impl IntoResponse, ApiError> {
    caller.require(&[AccessRole::Admin], "read metrics")?;
    // The figures count requests and entries across every organisation.
    if !caller.sees_all() {
        return Err(ApiError::forbidden(
            "Metrics cover every organisation: only an administrator of every organisation may read them.",
        ));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        super::metrics::handle().render(),
    ))
}
