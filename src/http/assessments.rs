//! Replayed assessments and the rubrics they are computed with.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use coprod_domain::assessment::{AssessError, Assessment, Cutoff};
use coprod_domain::recorded::format_instant;
use coprod_domain::rubric::{self, PublishedRubric};
use coprod_domain::seal::SealCheck;
use coprod_domain::{
    AssessmentSealed, Digest, ProjectCommand, ProjectEvent, RecordedEvent, StoredEntry,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::{Caller, ANYONE};
use super::body::{parse_as, parse_value, JsonBody};
use super::events::accepts;
use super::idempotency::{idempotent, IdempotencyKey};
use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use super::{visible_project, AppState};
use crate::store::{AssessmentError, Role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    pub as_of: Option<String>,
    pub at_sequence: Option<u64>,
    pub rubric: Option<String>,
}

/// `as_of` as an RFC 3339 instant, or a date meaning the end of that day (UTC).
pub fn parse_as_of(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let last_micro = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)?;
    Some(day.and_time(last_micro).and_utc())
}

pub fn find_rubric(reference: Option<&str>) -> Result<&'static PublishedRubric, ApiError> {
    match reference {
        None => Ok(rubric::latest()),
        Some(reference) => rubric::parse_reference(reference).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_rubric",
                format!("There is no rubric '{reference}'. See GET /api/v1/rubrics for those available, named as id@version."),
            )
            .at("rubric", "unknown rubric")
        }),
    }
}

/// The cut-off a query asks for; instants later than now are refused, since their answer could
/// still change.
fn cutoff(query: &AssessmentQuery, now: DateTime<Utc>) -> Result<Cutoff, ApiError> {
    match (&query.as_of, query.at_sequence) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "validation_failed",
            "Ask for either 'as_of' or 'at_sequence', not both.",
        )),
        (None, None) => Ok(Cutoff::Latest),
        (None, Some(0)) => Err(ApiError::bad_request(
            "validation_failed",
            "at_sequence starts at 1.",
        )
        .at("at_sequence", "must be at least 1")),
        (None, Some(n)) => Ok(Cutoff::AtSequence(n)),
        (Some(text), None) => Ok(Cutoff::AsOf(past_instant("as_of", text, now)?)),
    }
}

/// A query parameter `name` that means a moment "as of" which something is asked: an RFC 3339
/// instant, or a date meaning the end of that day (UTC); later than `now` is refused, since its
/// answer could still change.
pub fn past_instant(name: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    let instant = parse_as_of(text).ok_or_else(|| {
        ApiError::bad_request(
            "validation_failed",
            format!(
                "{name} must be an instant like 2025-03-01T09:30:00Z or a date like 2025-03-01."
            ),
        )
        .at(name, "does not parse")
    })?;
    if instant > now {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("{name} is in the future; an assessment can only be given as of a moment that has passed."),
        )
        .at(name, "in the future"));
    }
    Ok(instant)
}

impl From<AssessError> for ApiError {
    fn from(error: AssessError) -> Self {
        match error {
            AssessError::NothingRecorded => ApiError::unprocessable(
                "nothing_recorded",
                "The project had not been registered by then, so there is nothing to assess.",
            ),
            AssessError::SequenceBeyondEnd { requested, last } => ApiError::unprocessable(
                "sequence_out_of_range",
                format!("The project has {last} entries; there is no entry {requested}."),
            )
            .at("at_sequence", "beyond the last entry"),
            other => ApiError::internal("rubric cannot be replayed", other),
        }
    }
}

/// Replays the assessment a query asks for.
pub async fn replay(
    state: &AppState,
    caller: &Caller,
    id: &str,
    query: &AssessmentQuery,
) -> Result<Assessment, ApiError> {
    let head = visible_project(state, caller, id).await?;
    let rubric = find_rubric(query.rubric.as_deref())?;
    let cutoff = cutoff(query, (state.clock)())?;
    Ok(state
        .store
        .assess_project(head.project_id, cutoff, rubric)
        .await?)
}

impl From<AssessmentError> for ApiError {
    fn from(error: AssessmentError) -> Self {
        match error {
            AssessmentError::Store(error) => error.into(),
            AssessmentError::Assess(error) => error.into(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/assessment", tag = "assessments",
    params(("id" = uuid::Uuid, Path),
        ("as_of" = Option<String>, Query, description = "RFC 3339 instant, or a date (end of that day, UTC): as recorded by then"),
        ("at_sequence" = Option<u64>, Query),
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
    let assessment = replay(&state, &caller, &id, &query).await?;
    let (content_type, body) = if accepts(&headers, "text/csv") {
        ("text/csv; charset=utf-8", to_csv(&assessment)?)
    } else {
        ("application/json", assessment.to_json_bytes())
    };
    Ok(deterministic_response(&headers, content_type, body))
}

/// A body that is the same for the same question: sent with `ETag` = its SHA-256, or as
/// `304 Not Modified` when `If-None-Match` names that tag.
pub fn deterministic_response(
    headers: &HeaderMap,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let etag = format!("\"{}\"", hex::encode(Digest::of_bytes(&body).0));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn to_csv(assessment: &Assessment) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::internal("csv", e);
    writer
        .write_record([
            "project_id",
            "rubric",
            "as_of",
            "at_sequence",
            "stream_digest",
            "criterion",
            "criterion_title",
            "rating",
            "score",
            "indicator",
            "met",
            "value",
            "explanation",
            "evidence",
        ])
        .map_err(fail)?;
    let rubric = format!("{}@{}", assessment.rubric.id, assessment.rubric.version);
    for criterion in &assessment.criteria {
        for indicator in &criterion.indicators {
            let evidence: Vec<String> = indicator.evidence.iter().map(u64::to_string).collect();
            writer
                .write_record([
                    assessment.project_id.to_string(),
                    rubric.clone(),
                    assessment.as_of.clone(),
                    assessment.at_sequence.to_string(),
                    assessment.stream_digest.to_string(),
                    criterion.key.clone(),
                    criterion.title.clone(),
                    criterion.rating.as_str().to_string(),
                    criterion.score.to_string(),
                    indicator.key.clone(),
                    indicator.met.to_string(),
                    indicator.value.clone(),
                    indicator.explanation.clone(),
                    evidence.join(" "),
                ])
                .map_err(fail)?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::internal("csv", e.to_string()))
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

const SEALERS: &[Role] = &[Role::Assurance, Role::Panel, Role::Admin];

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
        at_sequence: None,
        rubric: request.rubric.clone(),
    };
    let project_id = head.project_id;
    let route = format!("POST /projects/{project_id}/assessments");
    let (status, body) = idempotent(&state, &caller, key, &route, &bytes, project_id, async {
        let assessment = replay(&state, &caller, &id, &query)
            .await
            .map_err(in_body)?;
        let body = assessment.to_json_bytes();
        let context = state.context(&caller);
        let seal = AssessmentSealed {
            requested_as_of: query.as_of.as_ref().map(|_| assessment.as_of.clone()),
            as_of: assessment.as_of.clone(),
            at_sequence: assessment.at_sequence,
            stream_digest: assessment.stream_digest,
            rubric: assessment.rubric.clone(),
            engine: assessment.engine.clone(),
            assessment_digest: Digest::of_bytes(&body),
            requested_by: context.recorded_by.clone(),
            purpose: request.purpose.clone(),
            occurred_on: context.today(),
        };
        let command = ProjectCommand::Seal {
            seal: seal.clone(),
            context,
        };
        let render = move |receipt: &crate::store::Receipt| {
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
    Ok(super::projects::json_response(status, body))
}

/// A seal names `as_of` and `rubric` in its body, not its query: point errors at the body's
/// fields (`/as_of`, `/rubric`), as every other body error is.
fn in_body(mut error: ApiError) -> ApiError {
    for field in &mut error.errors {
        if matches!(field.path.as_str(), "as_of" | "rubric") {
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
