//! `Idempotency-Key`: a retried POST with the same key and body gets the first answer and
//! appends nothing; the same key with another body is refused.

use std::future::Future;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::problem::ApiError;
use crate::app::{AppState, Caller};
use crate::store::{Claim, ClaimTicket, IdempotentRecord};

pub const MAX_KEY_CHARS: usize = 200;

/// The request's `Idempotency-Key`, if it sent one.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().unwrap_or("").trim();
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(ApiError::bad_request(
                "validation_failed",
                format!(
                    "The Idempotency-Key header must be 1 to {MAX_KEY_CHARS} visible characters."
                ),
            )
            .at("Idempotency-Key", "invalid header"));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// How long a retry waits for the first request with its key to answer before giving up.
const WAIT_FOR_FIRST_ANSWER: Duration = Duration::from_secs(10);

/// Runs `work` unless this caller already sent this key, in which case the first answer is
/// returned (same request) or the request is refused (different request). The key is claimed
/// in the database before the work starts, so this holds across every server process. `work`
/// runs holding the claim: the command it runs with `Store::execute_answering` keeps its answer
/// in the transaction that appends its events, so a retry after a crash or a lost connection
/// gets that answer and appends nothing.
pub async fn idempotent(
    state: &AppState,
    caller: &Caller,
    key: IdempotencyKey,
    route: &str,
    body: &[u8],
    project_id: Uuid,
    work: impl Future<Output = Result<(StatusCode, String), ApiError>>,
) -> Result<(StatusCode, String), ApiError> {
    let Some(key) = key.0 else {
        return work.await;
    };
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    let request_hash = hex::encode(hasher.finalize());
    let owner = caller.idempotency_owner();
    let principal = owner.as_str();
    let store = &state.store;
    let (claim, ticket) = store
        .claim_idempotent_ticket(
            principal,
            &key,
            project_id,
            &request_hash,
            WAIT_FOR_FIRST_ANSWER,
        )
        .await?;
    match claim {
        Claim::Answered(first) if first.request_hash == request_hash => {
            let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
            Ok((status, first.body))
        }
        Claim::Answered(_) => Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
        )
        .at("Idempotency-Key", "already used for another request")),
        Claim::InProgress => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "A request with this Idempotency-Key is still being processed. Try again shortly with the same key.",
        )),
        Claim::Claimed => {
            let Some(ticket) = ticket else {
                return Err(ApiError::internal(
                    "idempotency",
                    "a claim came without its ticket",
                ));
            };
            claimed(state, principal, &key, ticket, project_id, request_hash, work).await
        }
    }
}

/// Does the work of a request that holds its key, and settles the key.
async fn claimed(
    state: &AppState,
    principal: &str,
    key: &str,
    ticket: ClaimTicket,
    project_id: Uuid,
    request_hash: String,
    work: impl Future<Output = Result<(StatusCode, String), ApiError>>,
) -> Result<(StatusCode, String), ApiError> {
    let store = &state.store;
    match store.holding_claim(ticket.clone(), work).await {
        Ok((status, response)) => {
            let record = IdempotentRecord {
                project_id,
                request_hash,
                status: status.as_u16(),
                body: response.clone(),
            };
            // Usually kept already, as the events were appended; this keeps any other answer.
            // The facts are recorded: answer with the receipt even if the key could not be kept.
            if let Err(error) = store.save_idempotent(principal, key, &record).await {
                tracing::warn!(%error, "could not keep an idempotency key's answer");
            }
            Ok((status, response))
        }
        Err(refusal) => {
            // Refused, or unsure (503): release the key unless an answer was kept with
            // appended events, so that a retry may run again (or gets that answer).
            if let Err(error) = store.release_claim(&ticket).await {
                tracing::warn!(%error, "could not release an idempotency key");
            }
            Err(refusal)
        }
    }
}

/// Runs `command` for a request that may hold an idempotency claim, and answers 201 with the
/// JSON of `render(receipt)` — kept, with a claim, in the transaction that appends.
pub async fn append_created<B: serde::Serialize>(
    state: &AppState,
    project_id: Uuid,
    command: coprod_domain::ProjectCommand,
    render: impl Fn(&crate::store::CommitReceipt) -> B + Send + Sync + 'static,
) -> Result<(StatusCode, String), ApiError> {
    let render = move |receipt: &crate::store::CommitReceipt| {
        serde_json::to_string(&render(receipt)).unwrap_or_default()
    };
    let (_, body) = state
        .store
        .execute_answering(project_id, command, StatusCode::CREATED.as_u16(), render)
        .await?;
    Ok((StatusCode::CREATED, body))
}
