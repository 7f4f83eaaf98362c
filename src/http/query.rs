//! Strict query strings: unknown parameters and malformed values are 400 problems.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::body::closest;
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
                let hint = unknown_parameter_hint(&message);
                ApiError::bad_request(
                    code,
                    format!("The query string is not right: {message}.{hint}"),
                )
                .at("query", message)
            })
    }
}

/// " Did you mean `x`?" for an unknown parameter close to a known one (serde names both).
fn unknown_parameter_hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return String::new();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return String::new();
    };
    let known = expected.split('`').skip(1).step_by(2);
    closest(unknown, known)
        .map(|name| format!(" Did you mean `{name}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_parameter_close_to_a_known_one_is_named() {
        let message = "unknown field `as_off`, expected one of `as_of`, `at_sequence`, `rubric`";
        assert_eq!(unknown_parameter_hint(message), " Did you mean `as_of`?");
        let far = "unknown field `colour`, expected one of `as_of`, `at_sequence`, `rubric`";
        assert_eq!(unknown_parameter_hint(far), "");
    }
}
