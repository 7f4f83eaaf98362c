//! Strict query strings: unknown parameters and malformed values are 400 problems.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::ApiError;

pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(StrictQuery)
            .map_err(|error| {
                let message = error.to_string();
                let code = if message.starts_with("unknown field") {
                    "unknown_field"
                } else {
                    "validation_failed"
                };
                ApiError::bad_request(code, format!("The query string is not right: {message}."))
                    .at("query", message)
            })
    }
}
