//! Posting facts, reading the audit trail and verifying receipts.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use coprod_domain::digest::verify_chain;
use coprod_domain::{Digest, ProjectCommand};
use serde::{Deserialize, Serialize};

use super::body::{parse_facts, JsonBody};
use super::idempotency::{idempotent, IdempotencyKey};
use super::problem::{ApiError, Problem};
use super::query::StrictQuery;
use super::respond::{accepts, json_response, not_stored};
use crate::app::caller::{TRAIL_READERS, WRITERS};
use crate::app::trail::{check_trail, readable_trail};
use crate::app::{visible_project, visible_project_id, AppState, Caller};
use crate::trail::TrailEntry;

pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1000;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub project_id: uuid::Uuid,
    pub first_sequence: u64,
    pub last_sequence: u64,
    pub digest: String,
    pub recorded_at: String,
}

/// `If-Match: <sequence>` (also accepted quoted, as an entity tag).
fn expected_sequence(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_matches('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "validation_failed",
                "If-Match must be the project's sequence number, e.g. 'If-Match: 12'.",
            )
            .at("If-Match", "must be a whole number")
        })
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/events", tag = "events",
    params(("id" = uuid::Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry safely: the same key and body return the first answer"),
        ("If-Match" = Option<u64>, Header, description = "Refuse (409) unless the project is at exactly this sequence")),
    request_body(content = coprod_domain::Fact, description = "One event, or {\"events\": [...]} to append several atomically"),
    responses((status = 201, body = Receipt), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn post(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    key: IdempotencyKey,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    // Refused for its role before the project is looked for, as every write is.
    caller.require(WRITERS, "record events")?;
    let project_id = visible_project_id(&state, &caller, &id).await?;
    let expected_sequence = expected_sequence(&headers)?;
    let (status, body) =
        record(&state, &caller, project_id, expected_sequence, key, &bytes).await?;
    Ok(json_response(status, body))
}

/// Records the facts of an events body (one fact, or `{"events": [...]}`) for `caller`, with
/// the optional `If-Match` sequence and `Idempotency-Key`: what `POST /projects/{id}/events`
/// does once the project is found, and what the recording forms of the pages do with the body
/// their fields make, so that both are checked by the same rules. Answers 201 with the
/// [`Receipt`]'s JSON.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    project_id: uuid::Uuid,
    expected_sequence: Option<u64>,
    key: IdempotencyKey,
    bytes: &[u8],
) -> Result<(StatusCode, String), ApiError> {
    caller.require(WRITERS, "record events")?;
    let (facts, batch) = parse_facts(bytes)?;
    let command = ProjectCommand::Record {
        facts,
        batch,
        expected_sequence,
        context: state.context(caller),
    };
    let route = format!("POST /projects/{project_id}/events");
    idempotent(state, caller, key, &route, bytes, project_id, async {
        let render = move |receipt: &crate::store::CommitReceipt| {
            let body = Receipt {
                project_id,
                first_sequence: receipt.first_sequence,
                last_sequence: receipt.last_sequence,
                digest: receipt.digest.to_string(),
                recorded_at: receipt.recorded_at.clone(),
            };
            serde_json::to_string(&body).unwrap_or_default()
        };
        let (receipt, body) = state
            .store
            .execute_answering(project_id, command, StatusCode::CREATED.as_u16(), render)
            .await?;
        crate::http::metrics::events_appended(receipt.last_sequence - receipt.first_sequence + 1);
        Ok((StatusCode::CREATED, body))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailQuery {
    pub after: Option<u64>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrailPage {
    pub events: Vec<TrailEntry>,
    pub next_after: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/events", tag = "events",
    params(("id" = uuid::Uuid, Path), ("after" = Option<u64>, Query), ("limit" = Option<u64>, Query, description = "1 to 1000, default 100")),
    responses((status = 200, body = TrailPage, description = "A page of the trail; with 'Accept: application/x-ndjson', the whole trail, one entry a line"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn trail_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    StrictQuery(query): StrictQuery<TrailQuery>,
) -> Result<Response, ApiError> {
    caller.require(TRAIL_READERS, "read the audit trail")?;
    let head = visible_project(&state, &caller, &id).await?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "validation_failed",
            format!("limit must be from 1 to {MAX_PAGE}."),
        )
        .at("limit", "out of range"));
    }
    let entries = state.store.entries(head.project_id, 0, None).await?;
    if accepts(&headers, "application/x-ndjson") {
        let body = crate::trail::ndjson(&entries);
        // Participant ids (pseudonymous) and ciphertext: kept by no cache either.
        return Ok(not_stored((
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            body,
        )));
    }
    // Trail readers may see personal data: the API shows it decrypted beside what is stored.
    let trail = readable_trail(&state, head.project_id, &entries).await?;
    let after = query.after.unwrap_or(0);
    let mut page: Vec<TrailEntry> = trail
        .into_iter()
        .filter(|e| e.sequence > after)
        .take(limit as usize + 1)
        .collect();
    let next_after = if page.len() > limit as usize {
        page.truncate(limit as usize);
        page.last().map(|e| e.sequence)
    } else {
        None
    };
    Ok(not_stored(Json(TrailPage {
        events: page,
        next_after,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    pub sequence: Option<u64>,
    pub digest: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub valid: bool,
    pub sequence: u64,
    /// The digest being checked: the client's receipt, or the one stored with the entry.
    pub expected_digest: Option<String>,
    /// The chain head recomputed from the stored entries up to `sequence`.
    pub recomputed_digest: Option<String>,
    /// The first entry whose stored digest no longer matches, if any.
    pub first_divergence: Option<u64>,
    /// Without a receipt: every sealed assessment, replayed and checked against the chain.
    pub seals: Vec<coprod_domain::seal::SealCheck>,
    /// Without a receipt: the trail checked against the head the latest signed checkpoint holds
    /// for the project (catches entries removed, rolled back or rewritten before it).
    pub checkpoint: Option<crate::store::CheckpointCheck>,
    /// Without a receipt: the trail compared with the head the project's view recorded.
    pub view: Option<crate::store::ViewCheck>,
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/verify", tag = "events",
    params(("id" = uuid::Uuid, Path), ("sequence" = Option<u64>, Query), ("digest" = Option<String>, Query, description = "a receipt's digest, sha256:<64 hex>")),
    responses((status = 200, body = Verification), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    StrictQuery(query): StrictQuery<VerifyQuery>,
) -> Result<Json<Verification>, ApiError> {
    caller.require(TRAIL_READERS, "verify the audit trail")?;
    let head = visible_project(&state, &caller, &id).await?;
    let receipt = match (query.sequence, query.digest) {
        (None, None) => None,
        (Some(sequence), Some(digest)) => {
            let digest: Digest = digest.parse().map_err(|e: coprod_domain::digest::DigestParseError| {
                ApiError::bad_request("validation_failed", e.to_string()).at("digest", "malformed digest")
            })?;
            Some((sequence, digest))
        }
        _ => {
            return Err(ApiError::bad_request(
                "validation_failed",
                "Give both 'sequence' and 'digest' to check a receipt, or neither to check the whole chain.",
            ))
        }
    };
    let verification = match receipt {
        None => {
            let guarded = state.store.guarded_entries(head.project_id).await?;
            let entries = &guarded.entries;
            let sequence = entries.len() as u64;
            let stored = entries.last().and_then(|e| e.stored_digest());
            let (check, seals) = check_trail(&state, head.project_id, entries).await?;
            Verification {
                // A seal that cannot be replayed in full after an erasure does not fail the check.
                valid: check.first_divergence.is_none()
                    && !seals.iter().any(|s| s.contradicted())
                    && guarded.checkpoint.valid != Some(false)
                    && guarded.view.valid != Some(false),
                sequence,
                expected_digest: stored.map(|d| d.to_string()),
                recomputed_digest: check.heads.last().map(|d| d.to_string()),
                first_divergence: check.first_divergence,
                seals,
                checkpoint: Some(guarded.checkpoint),
                view: Some(guarded.view),
            }
        }
        Some((sequence, digest)) => {
            let entries = state.store.entries(head.project_id, 0, None).await?;
            let check = verify_chain(&entries);
            let recomputed = sequence
                .checked_sub(1)
                .and_then(|i| check.heads.get(i as usize))
                .copied();
            // A divergence after the receipt's entry does not change what the receipt proves.
            let intact_to_receipt = check.first_divergence.is_none_or(|d| d > sequence);
            let missing = recomputed.is_none().then_some(entries.len() as u64 + 1);
            Verification {
                valid: recomputed == Some(digest) && intact_to_receipt,
                sequence,
                expected_digest: Some(digest.to_string()),
                recomputed_digest: recomputed.map(|d| d.to_string()),
                first_divergence: check.first_divergence.or(missing),
                seals: Vec::new(),
                checkpoint: None,
                view: None,
            }
        }
    };
    Ok(Json(verification))
}
