//! The application layer: what Coprod answers, whichever door the question comes in by. The API
//! (`crate::http`) and the pages (`crate::web`) are two transports over it; neither knows the
//! other. Here live the state every request shares ([`AppState`]), the caller and the projects
//! they may see ([`caller`]), the questions both transports ask (an assessment at a moment, the
//! trail, the project list, the portfolio, its trend and the comparison of organisations) and
//! the one error they fail with ([`AppError`]), which each transport turns into its own answer.
//! See `docs/architecture.md` for how the layers fit together.

pub mod answer;
pub mod assess;
pub mod caller;
pub mod checkpoints;
pub mod error;
pub mod moment;
pub mod portfolio;
pub mod projects;
pub mod tokens;
pub mod trail;

use chrono::{DateTime, NaiveDate, Utc};
use coprod_domain::recorded::to_stored_precision;
use coprod_domain::CommandContext;

use crate::clock::Clock;
use crate::rate_limits::RateLimits;
use crate::store::Store;

pub use caller::{visible_project, visible_project_id, Caller};
pub use error::AppError;

/// What every request shares: the store, the clock "now" and "today" are read from, whether
/// this is the demo (`coprod serve --demo`), which every page then says, and the rate limits.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub demo: bool,
    pub rate_limits: RateLimits,
}

impl AppState {
    /// The application over `store`, reading time from the store's own clock, so that the
    /// instant an entry is stamped with and the "now" of an answer never disagree.
    pub fn new(store: Store) -> Self {
        let clock = store.clock().clone();
        AppState {
            store,
            clock,
            demo: false,
            rate_limits: RateLimits::default(),
        }
    }

    /// The same application, under `rate_limits` (none by default).
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// The same application, serving the demo's made-up projects.
    pub fn as_demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// The current instant, by this application's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today's date (UTC), by this application's clock.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Who is recording and when: what the domain needs from outside.
    pub fn context(&self, caller: &Caller) -> CommandContext {
        CommandContext {
            recorded_by: caller.recorded_by(),
            recorded_at: to_stored_precision(self.now()),
        }
    }
}
