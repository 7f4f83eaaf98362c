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
