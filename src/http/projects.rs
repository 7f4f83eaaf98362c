//! Registering projects and reading their summaries.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use coprod_domain::{LadderRung, ProjectCommand, ProjectRegistered};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::body::{parse_as, parse_value, JsonBody};
use super::idempotency::{append_created, idempotent, IdempotencyKey};
use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use super::respond::json_response;
use crate::app::caller::{organisation_slug, ANYONE, WRITERS};
use crate::app::projects::{view_for, visible_views};
use crate::app::{visible_project, AppState, Caller};
use crate::store::ProjectHead;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterProjectRequest {
    /// Chosen by the client, or made by the server when absent.
    pub project_id: Option<Uuid>,
    pub title: String,
    pub organisation: String,
    /// How people know the organisation ("Oxfordshire County Council"): the pages show it
    /// beside the slug. The latest registration that gives one names the organisation.
    pub organisation_name: Option<String>,
    pub service_area: String,
    pub description: Option<String>,
    /// Groups the project means to reach (may be empty).
    #[serde(default)]
    pub priority_groups: Vec<String>,
    pub started_on: NaiveDate,
    /// Where the project says it stands on the ladder of participation; the assessment flags a
    /// level above what the facts show.
    pub declared_level: Option<LadderRung>,
    /// The groups the project exists for (e.g. `carer_status: carer`): set apart when judging
    /// whether one group dominates. Same rules as `priority_groups`.
    pub serves: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegistrationReceipt {
    pub project_id: Uuid,
    pub sequence: u64,
    pub digest: String,
    pub recorded_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub organisation: Option<String>,
    pub status: Option<ProjectStatus>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Open,
    Closed,
}

impl ProjectStatus {
    fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Open => "open",
            ProjectStatus::Closed => "closed",
        }
    }
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects",
    request_body = RegisterProjectRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body return the first answer")),
    responses((status = 201, body = RegistrationReceipt), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyKey,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    register_body(&state, &caller, key, &bytes)
        .await
        .map(|(status, body)| {
            // A replayed answer registered the project named in it, not the id made for this retry.
            let registered = serde_json::from_str::<RegistrationReceipt>(&body)
                .ok()
                .map(|receipt| format!("/api/v1/projects/{}", receipt.project_id));
            let mut response = json_response(status, body);
            if let Some(value) = registered.and_then(|location| location.parse().ok()) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        })
}

/// Registers the project a registration body describes, for `caller`, with the optional
/// `Idempotency-Key`: what `POST /projects` does, and what the registration form of the pages
/// does with the body its fields make. Answers 201 with the [`RegistrationReceipt`]'s JSON.
pub async fn register_body(
    state: &AppState,
    caller: &Caller,
    key: IdempotencyKey,
    bytes: &[u8],
) -> Result<(StatusCode, String), ApiError> {
    caller.require(WRITERS, "register projects")?;
    let value = parse_value(bytes)?;
    // serde would read a JSON array as the struct's fields in order: only an object will do.
    if !value.is_object() {
        return Err(
            ApiError::bad_request("validation_failed", "The body must be a JSON object.")
                .at("/", "must be an object"),
        );
    }
    let request: RegisterProjectRequest = parse_as(value, "")?;
    if !caller.sees(&request.organisation) {
        return Err(ApiError::forbidden(format!(
            "You may register projects only for your own organisation: this token is for \"{}\", not \"{}\".",
            caller.organisation(),
            request.organisation.trim()
        ))
        .at("/organisation", "not your organisation"));
    }
    let project_id = request.project_id.unwrap_or_else(Uuid::new_v4);
    let context = state.context(caller);
    let command = ProjectCommand::Register {
        registration: ProjectRegistered {
            project_id,
            title: request.title,
            organisation: organisation_slug(&request.organisation),
            organisation_name: request.organisation_name,
            service_area: request.service_area,
            description: request.description,
            priority_groups: request.priority_groups,
            started_on: request.started_on,
            declared_level: request.declared_level,
            serves: request.serves,
        },
        context,
    };
    idempotent(
        state,
        caller,
        key,
        "POST /projects",
        bytes,
        project_id,
        append_created(state, project_id, command, move |receipt| {
            RegistrationReceipt {
                project_id,
                sequence: receipt.last_sequence,
                digest: receipt.digest.to_string(),
                recorded_at: receipt.recorded_at.clone(),
            }
        }),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    params(("organisation" = Option<String>, Query), ("status" = Option<ProjectStatus>, Query)),
    responses((status = 200, description = "{\"projects\": [summary]}"), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    StrictQuery(query): StrictQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "list projects")?;
    let projects = visible_views(
        &state,
        &caller,
        query.organisation.as_deref(),
        query.status.map(ProjectStatus::as_str),
    )
    .await?;
    Ok(Json(serde_json::json!({ "projects": projects })))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The project's current summary and scorecard"), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "read projects")?;
    let head: ProjectHead = visible_project(&state, &caller, &id).await?;
    let view = fresh_view(&state, &head).await?;
    Ok(Json(view_for(&state, &caller, view).await?))
}

/// The project's view, brought up to the head first if the projector has not caught up yet.
async fn fresh_view(state: &AppState, head: &ProjectHead) -> Result<Value, ApiError> {
    let is_fresh =
        |view: &Value| view.get("sequence").and_then(Value::as_u64) >= Some(head.sequence);
    if let Some(view) = state.store.view(head.project_id).await? {
        if is_fresh(&view) {
            return Ok(view);
        }
    }
    state.store.catch_up().await?;
    state
        .store
        .view(head.project_id)
        .await?
        .ok_or_else(|| ApiError::internal("project view missing after catch-up", head.project_id))
}
