//! What a caller asks the project to do. Everything from outside — who asks, and when — comes in
//! with the command: the domain reads no clock.

use chrono::{DateTime, NaiveDate, Utc};

use crate::events::{
    AssessmentSealed, Fact, ParticipantAnswered, ParticipantErased, ProjectRegistered,
};

/// Who is recording, and the server's time when they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// The authenticated principal (stored as `recorded_by`).
    pub recorded_by: String,
    /// The server's clock when the request arrived.
    pub recorded_at: DateTime<Utc>,
}

impl CommandContext {
    /// Today's date on the server's clock (UTC).
    pub fn today(&self) -> NaiveDate {
        self.recorded_at.date_naive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    /// Open the project's stream.
    Register {
        registration: ProjectRegistered,
        context: CommandContext,
    },
    /// Record one or more facts, all or none.
    Record {
        facts: Vec<Fact>,
        /// Whether the client sent `{"events": [...]}`: refusals then point into that list.
        batch: bool,
        /// The client's `If-Match`: refuse unless the project is at exactly this sequence.
        expected_sequence: Option<u64>,
        context: CommandContext,
    },
    /// Seal an assessment the server has computed from this project's entries.
    Seal {
        seal: AssessmentSealed,
        context: CommandContext,
    },
    /// Record what a participant said through an invitation (the server writes it for them).
    Answer {
        answer: ParticipantAnswered,
        context: CommandContext,
    },
    /// Record that a participant's personal data is erased (the server destroys their key).
    Erase {
        erasure: ParticipantErased,
        context: CommandContext,
    },
}

impl ProjectCommand {
    /// Who is recording, and when.
    pub fn context(&self) -> &CommandContext {
        match self {
            ProjectCommand::Register { context, .. }
            | ProjectCommand::Record { context, .. }
            | ProjectCommand::Seal { context, .. }
            | ProjectCommand::Answer { context, .. }
            | ProjectCommand::Erase { context, .. } => context,
        }
    }
}
