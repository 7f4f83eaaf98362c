//! Bearer-token authentication: `Authorization: Bearer <token>` names the [`Caller`]. What the
//! caller may do is the application's rule ([`crate::app::caller`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::problem::ApiError;
use crate::app::{AppState, Caller};
use crate::store::TokenCheck;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("Send your token as 'Authorization: Bearer <token>'.")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("The Authorization header must be 'Bearer <token>'.")
            })?;
        match state.store.check_token(token).await? {
            TokenCheck::Valid(principal) => Ok(Caller(principal)),
            TokenCheck::Unknown => Err(ApiError::unauthorized("The token is not valid.")),
            TokenCheck::Revoked => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_revoked",
                "The token has been revoked. Ask your Coprod administrator for a new one.",
            )),
            TokenCheck::Expired => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "The token has expired. Ask your Coprod administrator for a new one.",
            )),
        }
    }
}
