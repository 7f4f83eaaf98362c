//! End-to-end tests of the HTTP API (shared/API.md) through real HTTP: a server on 127.0.0.1
//! built with `coprod::http::serve_on`, a `reqwest` client, and every scenario run against every
//! backend of `common::backends()` (SQLite always, PostgreSQL when available).

#[path = "../common/mod.rs"]
mod common;

mod helpers;

mod assessments;
mod auth;
mod concurrency;
mod errors;
mod events;
mod personal;
mod portfolio;
mod projects;
mod seals;
mod views;
