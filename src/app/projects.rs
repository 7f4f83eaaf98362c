//! The list of projects a caller may see, as the store's views give them.

use serde_json::Value;

use super::caller::Caller;
use super::{AppError, AppState};

/// The views of the projects of `organisation` (default: the caller's own, or every
/// organisation for `*` callers) with `status` (`open`, `closed`, or either), brought up to date
/// first. Asking for another organisation than one's own gives none.
pub async fn visible_views(
    state: &AppState,
    caller: &Caller,
    organisation: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<Value>, AppError> {
    let organisation = match (organisation, caller.sees_all()) {
        (Some(asked), false) if asked != caller.0.organisation => return Ok(Vec::new()),
        (Some(asked), _) => Some(asked),
        (None, true) => None,
        (None, false) => Some(caller.0.organisation.as_str()),
    };
    state.store.catch_up().await?;
    Ok(state.store.list_views(organisation, status).await?)
}
