//! `/api/v1/tokens`: administrators make, list and revoke API tokens (as `coprod token` does).
//! A new token is shown once, in the answer that makes it; the store keeps only its hash.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::body::{parse_as, parse_value, JsonBody};
use super::problem::{ApiError, Problem};
use super::respond::not_stored;
use crate::app::tokens::{manages, may_create_for, new_token_errors, require_token_manager};
use crate::app::{AppState, Caller};
use crate::store::{is_token_id, parse_lifetime, AccessRole, TokenRecord, LIFETIME_FORMS};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// recorder, assurance, panel or admin.
    #[schema(value_type = String, example = "recorder")]
    pub role: AccessRole,
    /// The organisation whose projects it may touch (`*`: every one, for administrators of
    /// every organisation only).
    pub organisation: String,
    /// Whose it is: recorded beside its id on what it records.
    #[serde(default)]
    pub label: String,
    /// How long it is accepted: a whole number and m, h, d or w (`90d`, `12h`, `2w`); for
    /// ever without it.
    pub expires_in: Option<String>,
}

/// A token just made: its record, and the token itself, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub record: TokenRecord,
    /// The bearer token. Only its hash is stored: it cannot be shown again.
    pub token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    /// The tokens the administrator manages, oldest first.
    pub tokens: Vec<TokenRecord>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList, description = "The tokens of the organisations the administrator manages (every one for `*`), never the tokens themselves"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    require_token_manager(&caller)?;
    let tokens = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .filter(|record| manages(&caller, record))
        .collect();
    Ok(not_stored(Json(TokenList { tokens })))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken, description = "The token (shown only this once) and its record. `Idempotency-Key` is not honoured here: a kept answer would keep the token"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(bytes): JsonBody,
) -> Result<Response, ApiError> {
    require_token_manager(&caller)?;
    let request: CreateTokenRequest = parse_as(parse_value(&bytes)?, "")?;
    let mut errors = new_token_errors(&request.organisation, &request.label, "/");
    let lifetime = match request.expires_in.as_deref().map(parse_lifetime) {
        None => None,
        Some(Ok(lifetime)) => Some(lifetime),
        Some(Err(_)) => {
            errors.push(coprod_domain::FieldError::new(
                "/expires_in",
                format!("write {LIFETIME_FORMS}, from 1m up to 3650d"),
            ));
            None
        }
    };
    if !errors.is_empty() {
        let mut refused = ApiError::unprocessable(
            "validation_failed",
            "The request breaks the field rules listed in 'errors'. No token was made.",
        );
        refused.errors = errors;
        return Err(refused);
    }
    may_create_for(&caller, &request.organisation)?;
    let (token, record) = state
        .store
        .create_expiring_token(
            request.role,
            &request.organisation,
            &request.label,
            lifetime,
        )
        .await?;
    tracing::info!(token_id = %record.id, by = %caller.0.token_id, role = %record.role, "token created");
    let location = format!("/api/v1/tokens/{}", record.id);
    let mut response = (StatusCode::CREATED, Json(CreatedToken { record, token })).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(not_stored(response))
}

/// The token `id`, if the caller manages it; otherwise not found.
async fn managed(state: &AppState, caller: &Caller, id: &str) -> Result<TokenRecord, ApiError> {
    match state.store.token(id).await? {
        Some(record) if manages(caller, &record) => Ok(record),
        _ => Err(no_such_token(id)),
    }
}

fn no_such_token(id: &str) -> ApiError {
    // What is not an id is not repeated: it may be a token pasted by mistake.
    let which = if is_token_id(id) {
        format!("the id '{id}'")
    } else {
        "that id".to_string()
    };
    ApiError::not_found(format!(
        "There is no token with {which} that you manage. A token's id is 16 hexadecimal \
         digits, as GET /api/v1/tokens lists them."
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id (16 hexadecimal digits)")),
    responses((status = 200, body = TokenRecord, description = "The token's record"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_token_manager(&caller)?;
    Ok(not_stored(Json(managed(&state, &caller, &id).await?)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id (16 hexadecimal digits)")),
    responses((status = 200, body = TokenRecord, description = "The token is revoked (revoking it again changes nothing): every server refuses it within a second with 401 `token_revoked`, and its web sessions have ended"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_token_manager(&caller)?;
    managed(&state, &caller, &id).await?;
    let record = state
        .store
        .revoke_token(&id)
        .await?
        .ok_or_else(|| no_such_token(&id))?;
    tracing::info!(token_id = %record.id, by = %caller.0.token_id, "token revoked");
    Ok(not_stored(Json(record)))
}
