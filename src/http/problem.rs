//! Every failure of the API, answered as `application/problem+json` (RFC 9457) with a stable
//! `code`. Domain refusals keep their own codes; 5xx answers never carry internal text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use coprod_domain::{ErrorClass, FieldError, ProjectError};
use serde::Serialize;

use crate::app::AppError;
use crate::store::{ExecuteError, StoreError};

/// Seconds a client should wait before retrying while the store is unreachable.
const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
    pub errors: Vec<ProblemField>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub path: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn at(mut self, path: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError::new(path, message));
        self
    }

    /// 400: the body or query is not the right shape.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422: well-formed, but breaks a rule.
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn project_not_found() -> Self {
        Self::not_found("There is no project with that id that you may see.")
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The event store cannot be reached just now. Nothing was recorded; please try again shortly.",
        )
    }

    /// 500, with the cause logged here and never sent to the client.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on the server. It has been logged; nothing was recorded unless a receipt was returned.",
        )
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl From<ProjectError> for ApiError {
    fn from(error: ProjectError) -> Self {
        let status = match error.class() {
            ErrorClass::Rule => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorClass::Conflict => StatusCode::CONFLICT,
            ErrorClass::NotFound => StatusCode::NOT_FOUND,
        };
        let detail = match &error {
            ProjectError::ValidationFailed(_) => {
                "The request breaks the field rules listed in 'errors'. Nothing was recorded."
                    .to_string()
            }
            ProjectError::ProjectNotFound => ApiError::project_not_found().detail,
            other => format!("{}. Nothing was recorded.", capitalise(&other.to_string())),
        };
        ApiError {
            status,
            code: error.code(),
            detail,
            errors: error.field_errors(),
        }
    }
}

/// The application's refusals and faults, as problems.
impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let (status, code, detail, errors) = match error {
            AppError::Malformed {
                code,
                detail,
                errors,
            } => (StatusCode::BAD_REQUEST, code, detail, errors),
            AppError::Unanswerable {
                code,
                detail,
                errors,
            } => (StatusCode::UNPROCESSABLE_ENTITY, code, detail, errors),
            AppError::Forbidden { detail, errors } => {
                (StatusCode::FORBIDDEN, "forbidden", detail, errors)
            }
            AppError::ProjectNotFound => return ApiError::project_not_found(),
            AppError::Store(error) => return error.into(),
            AppError::Internal { context, cause } => return ApiError::internal(context, cause),
        };
        ApiError {
            status,
            code,
            detail,
            errors,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => ApiError::unavailable(),
            other => ApiError::internal("store error", other),
        }
    }
}

impl From<ExecuteError> for ApiError {
    fn from(error: ExecuteError) -> Self {
        match error {
            ExecuteError::Domain(refusal) => refusal.into(),
            ExecuteError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "Another request changed the project at the same moment, several times. Nothing was recorded; please try again.",
            ),
            ExecuteError::Unavailable => ApiError::unavailable(),
            ExecuteError::Superseded => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "A retry with this Idempotency-Key took it over while this request was being processed. Nothing was recorded by this request; the retry's answer stands.",
            ),
            other => ApiError::internal("command failed", other),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            problem_type: "about:blank".to_string(),
            title: self.title().to_string(),
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: self.detail,
            errors: self
                .errors
                .into_iter()
                .map(|e| ProblemField {
                    path: e.path,
                    message: e.message,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_refusals_keep_their_status_code_detail_and_fields() {
        let refused: ApiError = AppError::forbidden("Not yours.")
            .at("organisation", "not your organisation")
            .into();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.code, "forbidden");
        assert_eq!(refused.detail, "Not yours.");
        assert_eq!(refused.errors[0].path, "organisation");
        let malformed: ApiError = AppError::malformed("validation_failed", "Bad.").into();
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        let unanswerable: ApiError = AppError::unanswerable("nothing_recorded", "None.").into();
        assert_eq!(unanswerable.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            ApiError::from(AppError::ProjectNotFound),
            ApiError::project_not_found()
        );
    }

    #[test]
    fn application_faults_are_500s_that_do_not_tell_their_cause() {
        let fault: ApiError = AppError::internal("csv", "the disk is on fire").into();
        assert_eq!(fault.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!fault.detail.contains("fire"));
        let unreachable: ApiError = AppError::Store(StoreError::Unavailable("down".into())).into();
        assert_eq!(unreachable.status, StatusCode::SERVICE_UNAVAILABLE);
    }
}
