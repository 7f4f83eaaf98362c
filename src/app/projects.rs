//! The list of projects a caller may see, as the store's views give them.

use serde_json::Value;

use super::caller::{organisation_slug, Caller};
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
    // Stored slugs are lowercased (see `organisation_slug`): ask in the same form.
    let asked = organisation.map(organisation_slug);
    let organisation = match (asked.as_deref(), caller.sees_all()) {
        (Some(asked), false) if !caller.sees(asked) => return Ok(Vec::new()),
        // The caller's own organisation, as its token spells it (registrations made before
        // slugs were lowercased are stored that way).
        (Some(_), false) | (None, false) => Some(caller.0.organisation.as_str()),
        (Some(asked), true) => Some(asked),
        (None, true) => None,
    };
    state.store.catch_up().await?;
    Ok(state.store.list_views(organisation, status).await?)
}
