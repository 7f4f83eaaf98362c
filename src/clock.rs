//! The one clock of a running Coprod: the store stamps `recorded_at` with it and the application
//! reads "now" and "today" from it. Production uses the system clock; tests give a fixed or
//! settable one, so that they can tell a story on chosen days and still run in parallel.

use std::fmt;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

/// A source of the current instant, shared by every part of one server.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Settable(Arc<RwLock<DateTime<Utc>>>),
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock that shows `instant` until it is [`set`](Clock::set) to another one.
    pub fn fixed(instant: DateTime<Utc>) -> Clock {
        Clock(Source::Settable(Arc::new(RwLock::new(instant))))
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Settable(instant) => *instant.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a fixed clock to `instant` (every copy of it sees the move). The system clock cannot
    /// be set: a call on it does nothing and returns false.
    pub fn set(&self, instant: DateTime<Utc>) -> bool {
        match &self.0 {
            Source::System => false,
            Source::Settable(current) => {
                *current.write().unwrap_or_else(|e| e.into_inner()) = instant;
                true
            }
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock::system"),
            Source::Settable(_) => write!(f, "Clock::fixed({})", self.now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_fixed_clock_shows_its_instant_until_it_is_moved_and_every_copy_sees_the_move() {
        let first = Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2025, 4, 1, 9, 30, 0).unwrap();
        let clock = Clock::fixed(first);
        let copy = clock.clone();
        assert_eq!(copy.now(), first);
        assert!(clock.set(later));
        assert_eq!(copy.now(), later);
    }

    #[test]
    fn the_system_clock_cannot_be_set() {
        let clock = Clock::system();
        assert!(!clock.set(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()));
        assert!(clock.now().timestamp() > 1_700_000_000);
    }
}
