//! The list of projects a caller may see, as the store's views give them, and each view as the
//! caller may read it.

use std::collections::BTreeMap;

use coprod_domain::assessment::{Cutoff, Disclosure};
use coprod_domain::rubric;
use serde_json::Value;
use uuid::Uuid;

use super::caller::{organisation_slug, Caller};
use super::{AppError, AppState};
use crate::store::views::PROTECTED_SCORECARD;

/// The views of the projects of `organisation` (default: the caller's own, or every
/// organisation for `*` callers) with `status` (`open`, `closed`, or either), brought up to date
/// first, as the caller may read them. Asking for another organisation than one's own gives none.
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
    let mut shown = Vec::new();
    for view in state.store.list_views(organisation, status).await? {
        shown.push(view_for(state, caller, view).await?);
    }
    Ok(shown)
}

/// How people know each organisation, by its lower-case slug (see [`organisation_slug`]).
pub async fn organisation_names(state: &AppState) -> Result<BTreeMap<String, String>, AppError> {
    Ok(state.store.organisation_names().await?)
}

/// A project's view as `caller` may read it: its scorecard is the one the caller's assessments
/// add up to (for readers who may not see personal data, with nothing decided by the groups of
/// fewer than five people), and the copy the view keeps for them is not shown.
pub async fn view_for(state: &AppState, caller: &Caller, view: Value) -> Result<Value, AppError> {
    let Value::Object(mut fields) = view else {
        return Ok(view);
    };
    let protected = fields.remove(PROTECTED_SCORECARD);
    if caller.disclosure() == Disclosure::Full {
        return Ok(Value::Object(fields));
    }
    let scorecard = match protected {
        Some(scorecard) => scorecard,
        // A view written before views kept it: scored now, never the full one.
        None => {
            let project_id: Option<Uuid> = fields
                .get("project_id")
                .and_then(Value::as_str)
                .and_then(|id| id.parse().ok());
            let Some(project_id) = project_id else {
                return Err(AppError::internal("a view without its project id", "view"));
            };
            let assessment = state
                .store
                .assess_project(
                    project_id,
                    Cutoff::Latest,
                    rubric::latest(),
                    Disclosure::Protected,
                )
                .await;
            match assessment {
                Ok(assessment) => serde_json::to_value(assessment.scorecard())
                    .map_err(|e| AppError::internal("a scorecard", e))?,
                Err(crate::store::AssessmentError::Store(e)) => return Err(e.into()),
                Err(crate::store::AssessmentError::Assess(_)) => Value::Object(Default::default()),
            }
        }
    };
    fields.insert("scorecard".to_string(), scorecard);
    Ok(Value::Object(fields))
}
