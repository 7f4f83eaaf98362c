//! End-to-end tests of the HTTP API through real HTTP: a server on 127.0.0.1 (`kit::Server`), a
//! `reqwest` client, and every scenario run against every backend with `kit::each_backend`
//! (SQLite always, PostgreSQL when available).

#[path = "../kit/mod.rs"]
mod kit;

mod helpers;

mod assessments;
mod auth;
mod cleanup;
mod concurrency;
mod errors;
mod events;
mod happened_by;
mod imports;
mod invitations;
mod personal;
mod portfolio;
mod projects;
mod seals;
mod stories;
mod tokens;
mod views;
