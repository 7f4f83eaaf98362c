//! Bearer-token authentication and role/organisation authorisation.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::problem::ApiError;
use super::AppState;
use crate::store::{Principal, Role};

/// The organisation value that grants every organisation.
pub const ALL_ORGANISATIONS: &str = "*";

/// The caller, authenticated by `Authorization: Bearer <token>`.
pub struct Caller(pub Principal);

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

impl Caller {
    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Your role ({}) may not {action}.",
                self.0.role.as_str()
            )))
        }
    }

    /// Whether the caller may see projects of `organisation`.
    pub fn sees(&self, organisation: &str) -> bool {
        self.0.organisation == ALL_ORGANISATIONS || self.0.organisation == organisation
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }
}

/// Every role.
pub const ANYONE: &[Role] = &[Role::Recorder, Role::Assurance, Role::Panel, Role::Admin];
/// Roles that record facts.
pub const WRITERS: &[Role] = &[Role::Recorder, Role::Admin];
/// Roles that read the raw audit trail.
pub const TRAIL_READERS: &[Role] = &[Role::Recorder, Role::Assurance, Role::Admin];
