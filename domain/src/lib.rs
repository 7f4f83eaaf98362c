//! Coprod's domain: the `Project` aggregate, the facts it records, the stream digest and the
//! six-point rubric engine. Pure: no I/O, no clock, no randomness — time and actor come in with
//! each command, so everything here is testable without a database.
//!
//! Errors: every refusal is a typed [`ProjectError`] variant with a stable API code; there are no
//! technical errors in the domain.

pub mod aggregate;
pub mod assessment;
pub mod checkpoint;
pub mod commands;
pub mod digest;
pub mod error;
pub mod events;
pub mod personal;
pub mod personal_value;
pub mod recorded;
pub mod rubric;
pub mod seal;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod validate;
pub mod words;

pub use aggregate::Project;
pub use commands::{CommandContext, ProjectCommand};
pub use digest::{Digest, StoredEntry};
pub use error::{CorrectionRefusal, ErrorClass, FieldError, ProjectError};
pub use events::*;
pub use personal_value::{Personal, SealedValue};
pub use recorded::RecordedEvent;
