//! Why the project refused a command. Every variant maps to exactly one stable API `code`.

use serde::Serialize;
use thiserror::Error;

/// One offending field: a JSON pointer into the request body and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Why a correction cannot withdraw the entry it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionRefusal {
    /// The registration is the project itself; it cannot be withdrawn.
    Registration,
    /// A correction cannot itself be withdrawn: post the fact again instead.
    Correction,
    /// A stage cannot be un-started while a later stage has started.
    LaterStageStarted,
    /// A sealed assessment is evidence of what a panel was shown; it stays.
    Seal,
    /// An erasure cannot be undone: the participant's key is destroyed.
    Erasure,
    /// What a participant said is theirs: an officer cannot withdraw it.
    ParticipantAnswer,
}

/// How the kind of HTTP answer a refusal deserves is decided: by what went wrong, not by message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The body is well-formed but breaks a rule (422).
    Rule,
    /// The identifier or sequence collides with what is already recorded (409).
    Conflict,
    /// There is no such project (404).
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectError {
    #[error("the request breaks {} field rule(s)", .0.len())]
    ValidationFailed(Vec<FieldError>),
    #[error("participant '{participant_id}' has not joined this project")]
    UnknownParticipant {
        path: String,
        participant_id: String,
    },
    #[error("participant '{participant_id}' has left this project")]
    ParticipantHasLeft {
        path: String,
        participant_id: String,
    },
    #[error("participant '{participant_id}' has had their personal data erased; nothing new may name them")]
    ParticipantErased {
        path: String,
        participant_id: String,
    },
    #[error("participant '{participant_id}' has already had their personal data erased")]
    AlreadyErased { participant_id: String },
    #[error("activity '{activity_id}' is not recorded in this project")]
    UnknownActivity { path: String, activity_id: String },
    #[error("decision '{decision_id}' is not recorded in this project")]
    UnknownDecision { path: String, decision_id: String },
    #[error("contribution '{contribution_id}' is not recorded in this project")]
    UnknownContribution {
        path: String,
        contribution_id: String,
    },
    #[error("contribution '{contribution_id}' already has a response; withdraw it with a correction first")]
    AlreadyResponded {
        path: String,
        contribution_id: String,
    },
    #[error("the '{}' stage has not started", stage.as_str())]
    StageNotStarted {
        path: String,
        stage: crate::events::Stage,
    },
    #[error("the '{}' stage cannot start now; {}", stage.as_str(), match expected { Some(next) => format!("the next stage is '{}'", next.as_str()), None => "every stage has started".to_string() })]
    StageOutOfOrder {
        path: String,
        stage: crate::events::Stage,
        expected: Option<crate::events::Stage>,
    },
    #[error("the '{}' stage is already complete", stage.as_str())]
    StageAlreadyCompleted {
        path: String,
        stage: crate::events::Stage,
    },
    #[error("the id '{id}' is already used in this project")]
    DuplicateId { path: String, id: String },
    #[error("entry {sequence} does not exist")]
    UnknownEntry { path: String, sequence: u64 },
    #[error("entry {sequence} is already withdrawn")]
    AlreadyWithdrawn { path: String, sequence: u64 },
    #[error("entry {sequence} cannot be corrected")]
    CorrectionNotAllowed {
        path: String,
        sequence: u64,
        why: CorrectionRefusal,
    },
    #[error("the project is closed; only corrections may be recorded")]
    ProjectClosed { path: String },
    #[error("the project does not exist")]
    ProjectNotFound,
    #[error("the project is at sequence {actual}, not {expected}")]
    SequenceMismatch { expected: u64, actual: u64 },
}

impl ProjectError {
    /// The stable, machine-readable API code.
    pub fn code(&self) -> &'static str {
        match self {
            ProjectError::ValidationFailed(_) => "validation_failed",
            ProjectError::UnknownParticipant { .. } => "unknown_participant",
            ProjectError::ParticipantHasLeft { .. } => "participant_has_left",
            ProjectError::ParticipantErased { .. } => "participant_erased",
            ProjectError::AlreadyErased { .. } => "already_erased",
            ProjectError::UnknownActivity { .. } => "unknown_activity",
            ProjectError::UnknownDecision { .. } => "unknown_decision",
            ProjectError::UnknownContribution { .. } => "unknown_contribution",
            ProjectError::AlreadyResponded { .. } => "already_responded",
            ProjectError::StageNotStarted { .. } => "stage_not_started",
            ProjectError::StageOutOfOrder { .. } => "stage_out_of_order",
            ProjectError::StageAlreadyCompleted { .. } => "stage_already_completed",
            ProjectError::DuplicateId { .. } => "duplicate_id",
            ProjectError::UnknownEntry { .. } => "unknown_entry",
            ProjectError::AlreadyWithdrawn { .. } => "already_withdrawn",
            ProjectError::CorrectionNotAllowed { .. } => "correction_not_allowed",
            ProjectError::ProjectClosed { .. } => "project_closed",
            ProjectError::ProjectNotFound => "not_found",
            ProjectError::SequenceMismatch { .. } => "sequence_mismatch",
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            ProjectError::DuplicateId { .. }
            | ProjectError::SequenceMismatch { .. }
            | ProjectError::AlreadyErased { .. } => ErrorClass::Conflict,
            ProjectError::ProjectNotFound => ErrorClass::NotFound,
            _ => ErrorClass::Rule,
        }
    }

    /// The offending fields, as JSON pointers into the request body.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ProjectError::ValidationFailed(errors) => errors.clone(),
            ProjectError::ProjectNotFound
            | ProjectError::SequenceMismatch { .. }
            | ProjectError::AlreadyErased { .. } => Vec::new(),
            other => {
                let message = other.to_string();
                let mut copy = other.clone();
                match copy.path_mut() {
                    Some(path) => vec![FieldError::new(path.as_str(), message)],
                    None => Vec::new(),
                }
            }
        }
    }

    /// The same refusal with every path placed under `prefix` (a batch's `/events/3`).
    pub fn within(mut self, prefix: &str) -> Self {
        if let ProjectError::ValidationFailed(errors) = &mut self {
            for e in errors {
                e.path = format!("{prefix}{}", e.path);
            }
        } else if let Some(path) = self.path_mut() {
            *path = format!("{prefix}{path}");
        }
        self
    }

    fn path_mut(&mut self) -> Option<&mut String> {
        match self {
            ProjectError::UnknownParticipant { path, .. }
            | ProjectError::ParticipantHasLeft { path, .. }
            | ProjectError::ParticipantErased { path, .. }
            | ProjectError::UnknownActivity { path, .. }
            | ProjectError::UnknownDecision { path, .. }
            | ProjectError::UnknownContribution { path, .. }
            | ProjectError::AlreadyResponded { path, .. }
            | ProjectError::StageNotStarted { path, .. }
            | ProjectError::StageOutOfOrder { path, .. }
            | ProjectError::StageAlreadyCompleted { path, .. }
            | ProjectError::DuplicateId { path, .. }
            | ProjectError::UnknownEntry { path, .. }
            | ProjectError::AlreadyWithdrawn { path, .. }
            | ProjectError::CorrectionNotAllowed { path, .. }
            | ProjectError::ProjectClosed { path } => Some(path),
            ProjectError::ValidationFailed(_)
            | ProjectError::AlreadyErased { .. }
            | ProjectError::ProjectNotFound
            | ProjectError::SequenceMismatch { .. } => None,
        }
    }
}
