//! Bearer-token authentication: `Authorization: Bearer <token>` names the [`Caller`]. What the
//! caller may do is the application's rule ([`crate::app::caller`]).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::problem::ApiError;
use crate::app::{AppState, Caller};

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
        match state.store.authenticate(token).await? {
            Some(principal) => Ok(Caller(principal)),
            None => Err(ApiError::unauthorized("The token is not valid.")),
        }
    }
}
