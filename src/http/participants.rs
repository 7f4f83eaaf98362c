//! Personal data (see `docs/privacy.md`): erasing a participant's data, and subject access.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use coprod_domain::{ParticipantErased, ProjectCommand};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::{parse_as, parse_value, JsonBody};
use super::idempotency::{append_created, idempotent, IdempotencyKey};
use super::problem::{ApiError, Problem};
use super::respond::{json_response, not_stored};
use crate::app::{visible_project, AppState, Caller};
use crate::store::{AccessRole, ErasureResidue};

const ERASERS: &[AccessRole] = &[AccessRole::Admin];
const SUBJECT_ACCESS: &[AccessRole] = &[AccessRole::Assurance, AccessRole::Admin];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Why the data is erased, e.g. "Request from the participant, 2025-03-04" (no personal data).
    pub reason: String,
    /// The lawful ground, e.g. "UK GDPR Article 17(1)(b): consent withdrawn".
    pub legal_basis: String,
}

/// The receipt of an erasure.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub project_id: uuid::Uuid,
    pub participant_id: String,
    /// The `participant_erased` entry.
    pub sequence: u64,
    pub digest: String,
    pub recorded_at: String,
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/participants/{participant_id}/erase", tag = "personal data",
    params(("id" = uuid::Uuid, Path), ("participant_id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body return the first answer")),
    request_body = ErasureRequest,
    responses((status = 201, body = Erasure, description = "The participant's key is destroyed and `participant_erased` appended; `residue` says what remains of the key and until when (see docs/privacy.md)"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, participant_id)): Path<(String, String)>,
    key: IdempotencyKey,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(ERASERS, "erase participants' personal data")?;
    let head = visible_project(&state, &caller, &id).await?;
    let request: ErasureRequest = parse_as(parse_value(&bytes)?, "")?;
    let project_id = head.project_id;
    let context = state.context(&caller);
    let command = ProjectCommand::Erase {
        erasure: ParticipantErased {
            participant_id: participant_id.clone(),
            reason: request.reason,
            legal_basis: request.legal_basis,
            occurred_on: context.today(),
        },
        context,
    };
    let route = format!("POST /projects/{project_id}/participants/{participant_id}/erase");
    let erased = participant_id.clone();
    let render = move |receipt: &crate::store::CommitReceipt| Erasure {
        project_id,
        participant_id: erased.clone(),
        sequence: receipt.last_sequence,
        digest: receipt.digest.to_string(),
        recorded_at: receipt.recorded_at.clone(),
    };
    let work = append_created(&state, project_id, command, render);
    let answered = idempotent(&state, &caller, key, &route, &bytes, project_id, work).await;
    // The entry is the record of the decision; the key goes right after (also on a retry, on a
    // repeated erasure that finds the entry already there, and at every start for an erasure
    // whose process stopped in between), so that a clean-up left half-done is finished.
    let (status, body) = match answered {
        // The participant is named by the address, so one who never joined is not found (as
        // for subject access), not a rule broken by a body.
        Err(refused) if refused.code == "unknown_participant" => {
            return Err(ApiError::not_found(format!(
                "No participant '{participant_id}' has joined this project. Nothing was recorded."
            )));
        }
        Err(refused) if refused.code == "already_erased" => {
            state
                .store
                .destroy_data_key(project_id, &participant_id)
                .await?;
            return Err(refused);
        }
        answered => answered?,
    };
    if status != StatusCode::CREATED {
        return Ok(json_response(status, body));
    }
    let residue = state
        .store
        .destroy_data_key(project_id, &participant_id)
        .await?;
    Ok(json_response(status, with_residue(&body, &residue)?))
}

/// The erasure's answer with what it left behind of the key (`residue`): kept apart from the
/// idempotent answer, so that a retry reports the clean-up as it stands then.
fn with_residue(body: &str, residue: &ErasureResidue) -> Result<String, ApiError> {
    let mut answer: Value = serde_json::from_str(body)
        .map_err(|e| ApiError::internal("the erasure's answer is not JSON", e))?;
    let residue = serde_json::to_value(residue)
        .map_err(|e| ApiError::internal("the erasure's residue", e))?;
    if let Value::Object(fields) = &mut answer {
        fields.insert("residue".to_string(), residue);
    }
    serde_json::to_string(&answer).map_err(|e| ApiError::internal("the erasure's answer", e))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/participants/{participant_id}", tag = "personal data",
    params(("id" = uuid::Uuid, Path), ("participant_id" = String, Path)),
    responses((status = 200, description = "{project_id, participant_id, erased_at, entries: [{sequence, recorded_at, recorded_by, event}]}: every entry about the participant, personal data decrypted (or \"erased\")"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn subject_access(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, participant_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(SUBJECT_ACCESS, "read a participant's personal data")?;
    let head = visible_project(&state, &caller, &id).await?;
    state
        .store
        .subject_access(head.project_id, &participant_id)
        .await?
        .map(|answer| not_stored(Json(answer)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "No entry of this project names participant '{participant_id}'."
            ))
        })
}

/// Who may invite a participant to say what they think: those who record the project's facts.
const INVITERS: &[AccessRole] = &[AccessRole::Recorder, AccessRole::Admin];

/// How long an invitation works unless the request says otherwise, and the longest it may.
pub const INVITATION_DAYS: i64 = 28;
pub const MAX_INVITATION_DAYS: i64 = 90;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    /// How many days the link works for: 1 to 90 (default 28).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// A one-time invitation: the link to give the participant (on paper, as a QR code, by
/// email). It is shown this once: only its hash is kept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationIssued {
    pub project_id: uuid::Uuid,
    pub participant_id: String,
    /// The whole link, on the address this request was sent to.
    pub url: String,
    /// The link's path on this server.
    pub path: String,
    /// When the link stops working, if it has not been used.
    pub expires_at: String,
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/participants/{participant_id}/invitations", tag = "personal data",
    params(("id" = uuid::Uuid, Path), ("participant_id" = String, Path)),
    request_body = InvitationRequest,
    responses((status = 201, body = InvitationIssued, description = "A one-time link for the participant to say what they think of the project (see docs/privacy.md); shown once"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    Path((id, participant_id)): Path<(String, String)>,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    caller.require(INVITERS, "invite participants to say what they think")?;
    let head = visible_project(&state, &caller, &id).await?;
    let request: InvitationRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        InvitationRequest::default()
    } else {
        parse_as(parse_value(&bytes)?, "")?
    };
    let days = request.expires_in_days.unwrap_or(INVITATION_DAYS);
    if !(1..=MAX_INVITATION_DAYS).contains(&days) {
        return Err(ApiError::from(
            coprod_domain::ProjectError::ValidationFailed(vec![coprod_domain::FieldError::new(
                "/expires_in_days",
                format!("must be a whole number of days from 1 to {MAX_INVITATION_DAYS}"),
            )]),
        ));
    }
    let project_id = head.project_id;
    let mut project = coprod_domain::Project::default();
    for entry in state.store.recorded_events(project_id).await? {
        cqrs_es::Aggregate::apply(&mut project, entry.event);
    }
    match project.may_answer(&participant_id) {
        Ok(()) => {}
        // Named by the address, as for erasure and subject access.
        Err(coprod_domain::ProjectError::UnknownParticipant { .. }) => {
            return Err(ApiError::not_found(format!(
                "No participant '{participant_id}' has joined this project. Nothing was recorded."
            )));
        }
        Err(refused) => return Err(refused.into()),
    }
    let expires_at = state.now() + chrono::Duration::days(days);
    let issued = state
        .store
        .issue_invitation(
            project_id,
            &participant_id,
            &caller.recorded_by(),
            expires_at,
        )
        .await?;
    let path = format!("{}{}", crate::web::INVITATION_PATH, issued.secret);
    let body = InvitationIssued {
        project_id,
        participant_id,
        url: format!("{}{path}", this_site(&headers)),
        path,
        expires_at: issued.expires_at,
    };
    let body = serde_json::to_string(&body)
        .map_err(|e| ApiError::internal("an invitation's answer", e))?;
    Ok(not_stored(json_response(StatusCode::CREATED, body)))
}

/// `scheme://host` of this server as the request reached it (through a proxy, as it says).
fn this_site(headers: &axum::http::HeaderMap) -> String {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let scheme = match first("x-forwarded-proto").as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    let host = first("x-forwarded-host")
        .or_else(|| first("host"))
        .unwrap_or_else(|| "localhost".to_string());
    format!("{scheme}://{host}")
}
