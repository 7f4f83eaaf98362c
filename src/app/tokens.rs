//! Managing tokens, from the command line or by an administrator through the API: what a new
//! token may be, and which tokens an administrator may see and revoke.

use coprod_domain::validate::{Checker, MAX_TITLE_CHARS};
use coprod_domain::FieldError;

use super::caller::{Caller, ALL_ORGANISATIONS};
use super::AppError;
use crate::store::{AccessRole, TokenRecord};

/// What is wrong with a new token's organisation and label (`*` for every organisation, or an
/// identifier; a label is one line of text, shown beside the token's id on what it records), as
/// errors at `base`/organisation and `base`/label.
pub fn new_token_errors(organisation: &str, label: &str, base: &str) -> Vec<FieldError> {
    let mut checker = Checker::default();
    if organisation != ALL_ORGANISATIONS {
        checker.id(&format!("{base}organisation"), organisation);
    }
    if !label.is_empty() {
        checker.line(&format!("{base}label"), label, MAX_TITLE_CHARS);
    }
    checker.errors
}

/// Refuses unless the caller is an administrator, who may manage the tokens of the
/// organisations they see: all for `*`, else their own (and may not make a `*` token).
pub fn require_token_manager(caller: &Caller) -> Result<(), AppError> {
    caller.require(&[AccessRole::Admin], "manage tokens")
}

/// Whether the caller (an administrator) may see and revoke the token `record`.
pub fn manages(caller: &Caller, record: &TokenRecord) -> bool {
    caller.sees_all()
        || (record.organisation != ALL_ORGANISATIONS && caller.sees(&record.organisation))
}

/// Refuses a new token for an organisation the caller (an administrator) does not manage.
pub fn may_create_for(caller: &Caller, organisation: &str) -> Result<(), AppError> {
    if caller.sees_all() || (organisation != ALL_ORGANISATIONS && caller.sees(organisation)) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "An administrator of '{}' makes tokens for '{}' only.",
            caller.organisation(),
            caller.organisation()
        ))
        .at("/organisation", "not an organisation you manage"))
    }
}
