//! The living example `coprod serve --demo` serves: four made-up projects, each told over
//! several months of 2025, so that every page has something to show (assessments as of a day,
//! the comparison of two days, the trail with its corrections, sealed assessments, the portfolio
//! and its trend). They are written from the public material behind the six-point test:
//!
//! - (a) a carers' strategy co-produced from the start;
//! - (b) a home care redesign that is consultation dressed up as co-production;
//! - (c) clearer letters, a project that improves after a critical panel review;
//! - (d) the closure of a day centre, decided by officers after a consultation.
//!
//! The stories are data ([`story`]); [`load`] tells them through the application's own routes,
//! as a client posting them would, on the store's clock moved to each entry's day.
//!
//! The demo keeps a database of its own. Its projects' ids share a prefix ([`DEMO_ID_PREFIX`]),
//! which is how a database is known to be the demo's: [`prepare`] loads the stories into an
//! empty database, loads nothing into one that holds them already, and refuses a database that
//! holds any other project.

mod load;
pub mod story;

use coprod_domain::words::{agrees, count as count_of};
use uuid::Uuid;

use crate::app::caller::ALL_ORGANISATIONS;
use crate::store::{AccessRole, Store, StoreError};

pub use load::{load, Loaded};
pub use story::{stories, Story, StoryError};

/// Every demo project's id starts with this (`de30` for "demo", then the year of the stories).
pub const DEMO_ID_PREFIX: &str = "de300000-2025-4000-8000-";

/// Whether `project_id` is one of the demo's.
pub fn is_demo_project(project_id: Uuid) -> bool {
    project_id.to_string().starts_with(DEMO_ID_PREFIX)
}

/// What a database holds, as far as the demo is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// No project at all.
    Empty,
    /// Every demo project, each with at least the entries of its story.
    Loaded,
    /// Some of the demo's entries only: an earlier load stopped part-way (or told shorter
    /// stories).
    PartlyLoaded,
    /// Projects that are not the demo's.
    RealProjects { count: usize },
}

/// Why the demo cannot be served from a database.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "this database holds {} that {} not the demo's, so the demo will not \
         write into it. Run `coprod serve --demo` without --database: it keeps the demo in \
         sqlite://./data/demo.db. Or name an empty database of its own.",
        count_of(*.count, "project", "projects"),
        agrees(*.count, "is", "are")
    )]
    RealProjects { count: usize },
    #[error(
        "this database holds only part of the demo: an earlier start stopped part-way, or an \
         older Coprod told shorter stories. Delete it (for the default, remove ./data/demo.db) \
         and run `coprod serve --demo` again."
    )]
    PartlyLoaded,
    #[error(transparent)]
    Story(#[from] StoryError),
    #[error("the demo could not be loaded: {0}")]
    Load(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`prepare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The stories were loaded now.
    LoadedNow(Loaded),
    /// They were there already: nothing was loaded.
    AlreadyThere,
}

/// What `store` holds, as far as the demo is concerned.
pub async fn contents(store: &Store) -> Result<Contents, DemoError> {
    let ids = store.project_ids().await?;
    let real = ids.iter().filter(|id| !is_demo_project(**id)).count();
    if real > 0 {
        return Ok(Contents::RealProjects { count: real });
    }
    if ids.is_empty() {
        return Ok(Contents::Empty);
    }
    for story in stories()? {
        let told = match store.project_head(story.project_id).await? {
            Some(head) => head.sequence,
            None => 0,
        };
        if told < story.entries() {
            return Ok(Contents::PartlyLoaded);
        }
    }
    Ok(Contents::Loaded)
}

/// Makes `store` hold the demo: loads the stories into an empty database (on the store's clock,
/// which must be a fixed one: see [`load`]), leaves a loaded one as it is, and refuses one that
/// holds other projects or only part of the demo.
pub async fn prepare(store: &Store) -> Result<Prepared, DemoError> {
    match contents(store).await? {
        Contents::Empty => Ok(Prepared::LoadedNow(load(store).await?)),
        Contents::Loaded => Ok(Prepared::AlreadyThere),
        Contents::PartlyLoaded => Err(DemoError::PartlyLoaded),
        Contents::RealProjects { count } => Err(DemoError::RealProjects { count }),
    }
}

/// A token to sign in with, and what it lets its holder see.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub role: AccessRole,
    pub label: &'static str,
    pub token: String,
}

/// What each role sees, for the lines the demo prints.
pub fn what_role_sees(role: AccessRole) -> &'static str {
    match role {
        AccessRole::Admin => "everything, and may record and seal",
        AccessRole::Recorder => "records facts and reads the full trail",
        AccessRole::Assurance => "reads the full trail and seals assessments",
        AccessRole::Panel => "assessments and the trail without its contents, and seals",
    }
}

/// A new token for each role, over every organisation, to sign in to the demo with. Tokens are
/// kept only as hashes, so each start makes new ones (the earlier ones still work).
pub async fn sign_in_tokens(store: &Store) -> Result<Vec<SignIn>, StoreError> {
    let roles = [
        (AccessRole::Admin, "Demo administrator"),
        (AccessRole::Recorder, "Demo recorder"),
        (AccessRole::Assurance, "Demo assurance officer"),
        (AccessRole::Panel, "Demo panel member"),
    ];
    let mut tokens = Vec::new();
    for (role, label) in roles {
        let token = store.create_token(role, ALL_ORGANISATIONS, label).await?;
        tokens.push(SignIn { role, label, token });
    }
    Ok(tokens)
}
