//! The test kit: builders of events, streams and sample projects, for the tests and benchmarks
//! of this crate and of the server. Pure (no I/O, no clock, no randomness), and compiled only with
//! the `testkit` feature, so that it is never part of the program.
//!
//! How it is enabled: this crate has a dev-dependency on itself with the feature
//! (`coprod-domain = { path = ".", features = ["testkit"] }` in `domain/Cargo.toml`), so that
//! `cargo test -p coprod-domain` and `cargo bench -p coprod-domain` build it without being asked;
//! `required-features` would instead skip every test unless `--features testkit` were given.
//! Another crate names the feature in its own dev-dependency on this one.
//!
//! - [`facts`]: one fixed project and clock, a constructor for every fact, histories and
//!   commands, for tests of the aggregate.
//! - [`stream`]: a project's recorded stream, written one fact at a time, and a short way to
//!   assess it, for tests of the rubric engine.
//! - [`sample`]: a busy, realistic project of any size, for benchmarks.
//!
//! Builders panic on impossible input (a date that does not exist): they are for tests only.

pub mod facts;
pub mod sample;
pub mod stream;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::events::ProjectRegistered;

pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real date")
}

/// Owned copies of `ids`, as events hold them.
pub fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// The carers' strategy refresh of Oxfordshire, the project every builder here registers.
pub fn carers_project(
    project_id: Uuid,
    description: Option<&str>,
    priority_groups: &[&str],
    started_on: NaiveDate,
) -> ProjectRegistered {
    ProjectRegistered {
        project_id,
        title: "Carers' strategy refresh".into(),
        organisation: "oxfordshire".into(),
        organisation_name: None,
        service_area: "carers".into(),
        description: description.map(Into::into),
        priority_groups: strings(priority_groups),
        started_on,
        declared_level: None,
        serves: None,
    }
}
