//! Why the application could not answer, said without any transport in mind: the API turns an
//! [`AppError`] into `application/problem+json`, the pages into an HTML error page. The codes and
//! details are the ones clients rely on (`docs/api.md`); a fault's cause is only ever logged.

use std::fmt::Display;

use coprod_domain::assessment::AssessError;
use coprod_domain::FieldError;

use crate::store::{AssessmentError, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The question is not well formed (the API answers 400).
    #[error("{detail}")]
    Malformed {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Well formed, but it breaks a rule or has no answer (422).
    #[error("{detail}")]
    Unanswerable {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The caller's role or organisation does not allow it (403).
    #[error("{detail}")]
    Forbidden {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// There is no project with that id that the caller may see (404): another organisation's
    /// project is not revealed.
    #[error("there is no project with that id that the caller may see")]
    ProjectNotFound,
    /// The store failed: unreachable (503) or broken (500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault of the server (500); `cause` goes to the log, never to the caller.
    #[error("{context}: {cause}")]
    Internal {
        context: &'static str,
        cause: String,
    },
}

impl AppError {
    pub fn malformed(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Malformed {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn unanswerable(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Unanswerable {
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn internal(context: &'static str, cause: impl Display) -> Self {
        AppError::Internal {
            context,
            cause: cause.to_string(),
        }
    }

    /// Names the field at `path` as the one in error (refusals only; faults name no field).
    pub fn at(mut self, path: impl Into<String>, message: impl Into<String>) -> Self {
        if let AppError::Malformed { errors, .. }
        | AppError::Unanswerable { errors, .. }
        | AppError::Forbidden { errors, .. } = &mut self
        {
            errors.push(FieldError::new(path, message));
        }
        self
    }

    /// Whether the store could not be reached (worth trying again shortly).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Unavailable(_)))
    }
}

/// The one reading of an assessment that cannot be given.
impl From<AssessError> for AppError {
    fn from(error: AssessError) -> Self {
        match error {
            AssessError::NothingRecorded => AppError::unanswerable(
                "nothing_recorded",
                "The project had not been registered by then, so there is nothing to assess.",
            ),
            AssessError::SequenceBeyondEnd { requested, last } => AppError::unanswerable(
                "sequence_out_of_range",
                format!("The project has {last} entries; there is no entry {requested}."),
            )
            .at("at_sequence", "beyond the last entry"),
            AssessError::NotStartedBy { by, started_on } => AppError::unanswerable(
                "nothing_recorded",
                format!("The project started on {started_on}, after {by}: nothing about it had happened by then. Ask about a day on or after {started_on}."),
            )
            .at("happened_by", "before the project started"),
            other => AppError::internal("rubric cannot be replayed", other),
        }
    }
}

impl From<AssessmentError> for AppError {
    fn from(error: AssessmentError) -> Self {
        match error {
            AssessmentError::Store(error) => error.into(),
            AssessmentError::Assess(error) => error.into(),
        }
    }
}
