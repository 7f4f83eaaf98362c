//! Replayed assessments, the rubrics they are computed with, and sealed assessments.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use coprod_domain::assessment::Assessment;
use coprod_domain::recorded::format_instant;
use coprod_domain::rubric::{self, PublishedRubric};
use coprod_domain::seal::SealCheck;
use coprod_domain::{
    AssessmentSealed, Digest, ProjectCommand, ProjectEvent, RecordedEvent, StoredEntry,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::{parse_as, parse_value, JsonBody};
use super::idempotency::{idempotent, IdempotencyKey};
use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use super::respond::{json_or_csv, json_response, not_stored};
use crate::app::assess::{assessment_csv, assessment_of, AssessmentQuery};
use crate::app::caller::ANYONE;
use crate::app::{visible_project, AppState, Caller};
use crate::store::AccessRole;

#[utoipa::path(get, path = "/api/v1/projects/{id}/assessment", tag = "assessments",
    params(("id" = uuid::Uuid, Path),
        ("as_of" = Option<String>, Query, description = "RFC 3339 instant, or a date (end of that day, UTC): as recorded by then"),
        ("at_sequence" = Option<u64>, Query),
        ("happened_by" = Option<String>, Query, description = "A date: what had happened by the end of that day, by the facts' own dates, as known now (or as recorded by as_of, when both are given). Not with at_sequence"),
        ("rubric" = Option<String>, Query, description = "id@version; default the latest")),
    responses((status = 200, body = Assessment, description = "Byte-identical for the same question; 'Accept: text/csv' gives one row per indicator"),
        (status = 304, description = "If-None-Match matched the ETag"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    StrictQuery(query): StrictQuery<AssessmentQuery>,
) -> Result<Response, ApiError> {
    caller.require(ANYONE, "read assessments")?;
    let assessment = assessment_of(&state, &caller, &id, &query).await?;
    let response = json_or_csv(
        &headers,
        || Ok(assessment.to_json_bytes()),
        || assessment_csv(&assessment),
    )?;
    Ok(for_caller(&caller, response))
}

/// An assessment's answer: with every figure (for readers who may see personal data) it can
/// tell the groups of the people who took part, so no cache may keep it.
fn for_caller(caller: &Caller, response: Response) -> Response {
    if caller.sees_personal_data() {
        not_stored(response)
    } else {
        response
    }
}

fn rubric_body(published: &PublishedRubric) -> Value {
    let mut body = published.definition.clone();
    if let Value::Object(fields) = &mut body {
        fields.insert("digest".into(), Value::String(published.digest.to_string()));
    }
    body
}

#[utoipa::path(get, path = "/api/v1/rubrics", tag = "assessments",
    responses((status = 200, description = "{\"rubrics\": [definition with digest]}")),
    security(("bearer" = [])))]
pub async fn rubrics(caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "read rubrics")?;
    let all: Vec<Value> = rubric::all().iter().map(rubric_body).collect();
    Ok(Json(serde_json::json!({ "rubrics": all })))
}

#[utoipa::path(get, path = "/api/v1/rubrics/{reference}", tag = "assessments",
    params(("reference" = String, Path, description = "id@version, e.g. oxfordshire-six-point@1")),
    responses((status = 200, description = "The rubric with every threshold, and its digest"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn rubric_definition(
    caller: Caller,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "read rubrics")?;
    let (id, version) = reference
        .split_once('@')
        .ok_or_else(|| ApiError::not_found("Name a rubric as id@version."))?;
    let published = version
        .parse()
        .ok()
        .and_then(|v| rubric::find(id, v))
        .ok_or_else(|| ApiError::not_found(format!("There is no rubric '{reference}'.")))?;
    Ok(Json(rubric_body(published)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealRequest {
    /// RFC 3339 instant or date; default: everything recorded so far.
    pub as_of: Option<String>,
    /// A date: seal what had happened by the end of that day, by the facts' own dates (with
    /// `as_of`, as recorded by then).
    pub happened_by: Option<String>,
    /// id@version; default the latest.
    pub rubric: Option<String>,
    /// What the assessment is for, e.g. "Adults scrutiny panel 2025-03-04".
    pub purpose: String,
}

/// A seal as listed: the sealed facts with where the seal sits in the trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealView {
    /// The entry holding the seal.
    pub sequence: u64,
    pub recorded_at: String,
    /// The chain head after the seal entry.
    pub digest: String,
    #[serde(flatten)]
    pub seal: AssessmentSealed,
}

const SEALERS: &[AccessRole] = &[AccessRole::Assurance, AccessRole::Panel, AccessRole::Admin];

#[utoipa::path(post, path = "/api/v1/projects/{id}/assessments", tag = "assessments",
    params(("id" = uuid::Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body return the first answer")),
    request_body = SealRequest,
    responses((status = 201, description = "{\"seal\": SealView, \"assessment\": Assessment}: the body whose SHA-256 is sealed"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn seal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    key: IdempotencyKey,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(SEALERS, "seal assessments")?;
    let head = visible_project(&state, &caller, &id).await?;
    let request: SealRequest = parse_as(parse_value(&bytes)?, "")?;
    let query = AssessmentQuery {
        as_of: request.as_of.clone(),
        happened_by: request.happened_by.clone(),
        at_sequence: None,
        rubric: request.rubric.clone(),
    };
    let project_id = head.project_id;
    let route = format!("POST /projects/{project_id}/assessments");
    let (status, body) = idempotent(&state, &caller, key, &route, &bytes, project_id, async {
        let assessment = assessment_of(&state, &caller, &id, &query)
            .await
            .map_err(|e| in_body(e.into()))?;
        let body = assessment.to_json_bytes();
        let context = state.context(&caller);
        let seal = AssessmentSealed {
            requested_as_of: query.as_of.as_ref().map(|_| assessment.as_of.clone()),
            as_of: assessment.as_of.clone(),
            happened_by: assessment.happened_by,
            at_sequence: assessment.at_sequence,
            stream_digest: assessment.stream_digest,
            rubric: assessment.rubric.clone(),
            engine: assessment.engine.clone(),
            // The body is the one this caller is given: a replay must be for the same readers.
            disclosure: caller.disclosure(),
            assessment_digest: Digest::of_bytes(&body),
            requested_by: context.recorded_by.clone(),
            purpose: request.purpose.clone(),
            occurred_on: context.today(),
        };
        let command = ProjectCommand::Seal {
            seal: seal.clone(),
            context,
        };
        let render = move |receipt: &crate::store::CommitReceipt| {
            let view = SealView {
                sequence: receipt.last_sequence,
                recorded_at: receipt.recorded_at.clone(),
                digest: receipt.digest.to_string(),
                seal: seal.clone(),
            };
            let seal_json = serde_json::to_string(&view).unwrap_or_default();
            // The assessment goes out byte for byte as sealed.
            let assessment_json = String::from_utf8_lossy(&body);
            format!("{{\"seal\":{seal_json},\"assessment\":{assessment_json}}}")
        };
        let (_, answer) = state
            .store
            .execute_answering(project_id, command, StatusCode::CREATED.as_u16(), render)
            .await?;
        Ok((StatusCode::CREATED, answer))
    })
    .await?;
    Ok(for_caller(&caller, json_response(status, body)))
}

/// A seal names `as_of` and `rubric` in its body, not its query: point errors at the body's
/// fields (`/as_of`, `/rubric`), as every other body error is.
fn in_body(mut error: ApiError) -> ApiError {
    for field in &mut error.errors {
        if matches!(field.path.as_str(), "as_of" | "happened_by" | "rubric") {
            field.path.insert(0, '/');
        }
    }
    error
}

/// The seals among a project's entries.
fn seal_views(entries: &[StoredEntry]) -> Vec<SealView> {
    entries
        .iter()
        .filter_map(|entry| match RecordedEvent::from_stored(entry) {
            Ok(RecordedEvent {
                event: ProjectEvent::AssessmentSealed(seal),
                recorded_at,
                digest,
                sequence,
                ..
            }) => Some(SealView {
                sequence,
                recorded_at: format_instant(recorded_at),
                digest: digest.to_string(),
                seal,
            }),
            _ => None,
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/assessments", tag = "assessments",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "{\"seals\": [SealView]}"), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn seals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(ANYONE, "read sealed assessments")?;
    let head = visible_project(&state, &caller, &id).await?;
    let entries = state.store.entries(head.project_id, 0, None).await?;
    Ok(Json(serde_json::json!({ "seals": seal_views(&entries) })))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/assessments/{sequence}/verify", tag = "assessments",
    params(("id" = uuid::Uuid, Path), ("sequence" = u64, Path, description = "the entry holding the seal")),
    responses((status = 200, body = SealCheck), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn verify_seal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, sequence)): Path<(String, String)>,
) -> Result<Json<SealCheck>, ApiError> {
    caller.require(ANYONE, "verify sealed assessments")?;
    let head = visible_project(&state, &caller, &id).await?;
    let no_seal = || {
        ApiError::not_found(format!(
            "Entry {sequence} of this project is not a sealed assessment."
        ))
    };
    let sequence: u64 = sequence.parse().map_err(|_| no_seal())?;
    let entries = state.store.entries(head.project_id, 0, None).await?;
    state
        .store
        .check_seals(head.project_id, &entries)
        .await?
        .into_iter()
        .find(|check| check.sequence == sequence)
        .map(Json)
        .ok_or_else(no_seal)
}
