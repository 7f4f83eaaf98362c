//! The caller (who a token speaks for), what their role allows, and the projects they may see:
//! their organisation's, or every organisation's for `*` tokens. How a caller is recognised is
//! the transport's business (a bearer token for the API, a session for the pages).

use coprod_domain::assessment::Disclosure;
use uuid::Uuid;

use super::{AppError, AppState};
use crate::store::{AccessRole, Principal, ProjectHead};

/// The organisation value that grants every organisation.
pub const ALL_ORGANISATIONS: &str = "*";

/// An organisation's slug as stored: trimmed and lowercased ("Oxfordshire " → "oxfordshire").
pub fn organisation_slug(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Whether two organisation slugs name the same organisation: case and spaces (around or
/// inside) do not count, so "North Yorkshire" is "northyorkshire".
pub fn same_organisation(a: &str, b: &str) -> bool {
    let key = |text: &str| -> String {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    key(a) == key(b)
}

/// Every role.
pub const ANYONE: &[AccessRole] = &[
    AccessRole::Recorder,
    AccessRole::Assurance,
    AccessRole::Panel,
    AccessRole::Admin,
];
/// Roles that record facts.
pub const WRITERS: &[AccessRole] = &[AccessRole::Recorder, AccessRole::Admin];
/// Roles that read the raw audit trail.
pub const TRAIL_READERS: &[AccessRole] = &[
    AccessRole::Recorder,
    AccessRole::Assurance,
    AccessRole::Admin,
];

/// The person or system asking, as their token says.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[AccessRole], action: &str) -> Result<(), AppError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Your role ({}) may not {action}.",
                self.0.role.as_str()
            )))
        }
    }

    /// Whether the caller may see projects of `organisation`.
    pub fn sees(&self, organisation: &str) -> bool {
        self.0.organisation == ALL_ORGANISATIONS
            || same_organisation(&self.0.organisation, organisation)
    }

    /// The organisation the caller's token is for (`*` for every organisation).
    pub fn organisation(&self) -> &str {
        &self.0.organisation
    }

    /// Whether the caller sees every organisation.
    pub fn sees_all(&self) -> bool {
        self.0.organisation == ALL_ORGANISATIONS
    }

    /// Whether the caller may see the trail's personal data: the readers of the trail.
    pub fn sees_personal_data(&self) -> bool {
        TRAIL_READERS.contains(&self.0.role)
    }

    /// What assessments given to the caller may say about people: every figure for those who
    /// may see personal data; for the others (panels), nothing that depends on the groups of
    /// fewer than five people, no count of people below five and no participant named.
    pub fn disclosure(&self) -> Disclosure {
        if self.sees_personal_data() {
            Disclosure::Full
        } else {
            Disclosure::Protected
        }
    }

    /// What entries this caller records say as `recorded_by` (see [`Principal::recorded_by`]).
    pub fn recorded_by(&self) -> String {
        self.0.recorded_by()
    }

    /// Whose idempotency keys this caller's are: the token's id, never its label.
    pub fn idempotency_owner(&self) -> String {
        self.0.idempotency_owner()
    }
}

/// The project named by `id`, if it exists and the caller may see it; otherwise "not found", so
/// that another organisation's project is not revealed.
pub async fn visible_project(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<ProjectHead, AppError> {
    match state.store.project_head(project_id(id)?).await? {
        Some(head) if caller.sees(&head.organisation) => Ok(head),
        _ => Err(AppError::ProjectNotFound),
    }
}

/// Like [`visible_project`], when only the project's id is needed (appending): answered from
/// the organisation the store keeps for each project, without reading the project's head.
pub async fn visible_project_id(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Uuid, AppError> {
    let project_id = project_id(id)?;
    match state.store.project_organisation(project_id).await? {
        Some(organisation) if caller.sees(&organisation) => Ok(project_id),
        Some(_) => Err(AppError::ProjectNotFound),
        // No readable registration: the head's fallback decides.
        None => Ok(visible_project(state, caller, id).await?.project_id),
    }
}

/// A malformed id names no project.
fn project_id(id: &str) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| AppError::ProjectNotFound)
}

#[cfg(test)]
mod organisation_tests {
    use super::*;

    #[test]
    fn organisations_are_the_same_whatever_their_case_and_spaces() {
        assert!(same_organisation("oxfordshire", " Oxfordshire "));
        assert!(same_organisation("north yorkshire", "NorthYorkshire"));
        assert!(!same_organisation("oxfordshire", "camden"));
        assert_eq!(organisation_slug("  Oxfordshire "), "oxfordshire");
    }
}
