//! The store's errors, and how database errors are sorted into a lost race for the next sequence
//! (tried again, then 409), "try again later" (503) and "something is wrong" (500).

use coprod_domain::ProjectError;
use cqrs_es::persist::PersistenceError;
use cqrs_es::AggregateError;

/// A storage failure. The message is for logs only: never send it to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now (down, pool exhausted, busy): answer 503.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else: answer 500 and log.
    #[error("internal store error: {0}")]
    Internal(String),
}

/// Why a command was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecuteError {
    /// The project refused the command (422, 409 or 404 by [`ProjectError::class`]).
    #[error(transparent)]
    Domain(ProjectError),
    /// Other writers kept winning the race for the next sequence, even after retries (409).
    #[error("the project changed concurrently; try again")]
    Conflict,
    /// The database cannot be reached now (503).
    #[error("the store is unavailable")]
    Unavailable,
    /// Another request with the same `Idempotency-Key` took the key over (this one was presumed
    /// gone), so nothing was recorded here: that request answers (409 for this one).
    #[error("the idempotency key was taken over by a retry")]
    Superseded,
    /// Anything else (500); the text is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ExecuteError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => ExecuteError::Unavailable,
            StoreError::Internal(message) => ExecuteError::Internal(message),
        }
    }
}

/// Why an append that was to keep an idempotency answer was rolled back: the claim on the key
/// is no longer this request's.
#[derive(Debug, thiserror::Error)]
#[error("the idempotency key was taken over by a retry; nothing was appended")]
pub(crate) struct ClaimLost;

/// What kind of failure a database error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The unique key of an entry: another writer appended that sequence first.
    Conflict,
    Unavailable,
    Internal,
}

/// Sorts a sqlx error.
pub(crate) fn classify(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match code.as_str() {
                // PostgreSQL unique_violation; SQLite SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE.
                // PostgreSQL deadlock / serialisation failure (two servers' groups waiting on
                // each other's rows): lost races too, tried again.
                "23505" | "1555" | "2067" | "40P01" | "40001" => Failure::Conflict,
                // SQLite SQLITE_BUSY / SQLITE_LOCKED (and their extended codes).
                "5" | "6" | "261" | "517" | "262" => Failure::Unavailable,
                // PostgreSQL connection exceptions, shutdown, too many connections, read-only.
                c if c.starts_with("08")
                    || c.starts_with("57P")
                    || c == "53300"
                    || c == "25006" =>
                {
                    Failure::Unavailable
                }
                _ => Failure::Internal,
            }
        }
        _ => Failure::Internal,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match classify(&error) {
            Failure::Unavailable => StoreError::Unavailable(error.to_string()),
            Failure::Conflict | Failure::Internal => StoreError::Internal(error.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        match error {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

/// Finds a sqlx error inside a boxed error from postgres-es / sqlite-es.
fn sqlx_inside<'a>(
    error: &'a (dyn std::error::Error + Send + Sync + 'static),
) -> Option<&'a sqlx::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(sqlx_error) = e.downcast_ref::<sqlx::Error>() {
            return Some(sqlx_error);
        }
        current = e.source();
    }
    None
}

/// Re-sorts a persistence error of postgres-es / sqlite-es by what the database said: sqlite-es
/// knows only the primary-key code as a conflict, and both report pool time-outs as "unknown".
pub(crate) fn normalise(error: PersistenceError) -> PersistenceError {
    match error {
        PersistenceError::UnknownError(inner) => match sqlx_inside(inner.as_ref()).map(classify) {
            Some(Failure::Conflict) => PersistenceError::OptimisticLockError,
            Some(Failure::Unavailable) => PersistenceError::ConnectionError(inner),
            _ => PersistenceError::UnknownError(inner),
        },
        PersistenceError::ConnectionError(inner) => {
            match sqlx_inside(inner.as_ref()).map(classify) {
                Some(Failure::Conflict) => PersistenceError::OptimisticLockError,
                _ => PersistenceError::ConnectionError(inner),
            }
        }
        other => other,
    }
}

/// Maps what cqrs-es reported for one attempt; `None` means "conflict: retry".
pub(crate) fn execute_error(error: AggregateError<ProjectError>) -> Option<ExecuteError> {
    match error {
        AggregateError::UserError(e) => Some(ExecuteError::Domain(e)),
        AggregateError::AggregateConflict => None,
        AggregateError::DatabaseConnectionError(_) => Some(ExecuteError::Unavailable),
        AggregateError::DeserializationError(e) => Some(ExecuteError::Internal(format!(
            "a stored event could not be read: {e}"
        ))),
        AggregateError::UnexpectedError(e) if e.downcast_ref::<ClaimLost>().is_some() => {
            Some(ExecuteError::Superseded)
        }
        AggregateError::UnexpectedError(e) => match sqlx_inside(e.as_ref()).map(classify) {
            Some(Failure::Conflict) => None,
            Some(Failure::Unavailable) => Some(ExecuteError::Unavailable),
            _ => Some(ExecuteError::Internal(e.to_string())),
        },
    }
}
