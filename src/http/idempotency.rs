//! `Idempotency-Key`: a retried POST with the same key and body gets the first answer and
//! appends nothing; the same key with another body is refused.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::auth::Caller;
use super::problem::ApiError;
use super::AppState;
use crate::store::IdempotentRecord;

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

/// Serialises requests that carry the same (caller, key) within this process.
#[derive(Default, Clone)]
pub struct KeyLocks {
    held: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl KeyLocks {
    async fn run<T>(&self, key: String, work: impl Future<Output = T>) -> T {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.entry(key.clone()).or_default().clone()
        };
        let result = {
            let _guard = lock.lock().await;
            work.await
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        // Two references: the map's and ours. Nobody else waits, so the entry can go.
        if Arc::strong_count(&lock) == 2 {
            held.remove(&key);
        }
        result
    }
}

/// Runs `work` unless this caller already sent this key, in which case the first answer is
/// returned (same request) or the request is refused (different request).
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
    let principal = caller.name().to_string();
    let lock_key = format!("{principal}\n{key}");
    state
        .idempotency_locks
        .run(lock_key, async {
            if let Some(first) = state.store.find_idempotent(&principal, &key).await? {
                if first.request_hash != request_hash {
                    return Err(ApiError::unprocessable(
                        "idempotency_key_reused",
                        "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
                    )
                    .at("Idempotency-Key", "already used for another request"));
                }
                let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
                return Ok((status, first.body));
            }
            let (status, response) = work.await?;
            let record = IdempotentRecord {
                project_id,
                request_hash,
                status: status.as_u16(),
                body: response.clone(),
            };
            // The facts are recorded: answer with the receipt even if the key could not be kept.
            if let Err(error) = state.store.save_idempotent(&principal, &key, &record).await {
                tracing::warn!(%error, "could not keep an idempotency key");
            }
            Ok((status, response))
        })
        .await
}
