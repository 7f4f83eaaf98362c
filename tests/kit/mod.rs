//! The test kit, shared by the integration tests (`mod kit;`) and the benchmarks
//! (`#[path = "../tests/kit/mod.rs"] mod kit;`):
//!
//! - [`db`]: a fresh, migrated database of each backend ([`backends`], [`TestDb`]);
//! - [`server`]: the one place a server is started in the test process ([`Server`]);
//! - [`each`]: a scenario run once per backend, cleaned up even when it panics;
//! - [`app`]: a server with a client and role tokens ([`TestApp`], [`each_backend`]);
//! - [`facts`]: the JSON bodies posted (registrations and facts);
//! - [`refusals`]: tables of requests the API must refuse, every row checked and named;
//! - [`python`]: the interpreter for the independent checkers in `docs/`;
//! - [`visitor`]: someone using the pages, on one server or several.

#![allow(dead_code, unused_imports)]

pub mod app;
pub mod db;
pub mod each;
pub mod facts;
pub mod python;
pub mod refusals;
pub mod server;
pub mod visitor;

pub use app::{each_backend, each_backend_with_clock, rich_project, Resp, TestApp, Tokens};
pub use db::{
    backends, note_backend, postgres, sqlite, test_master_key, Backend, TestDb, TEST_MASTER_KEY,
};
pub use each::{catch_unwind, panic_message, run_on_each_backend, Harness};
pub use python::python;
pub use server::Server;
pub use visitor::Visitor;
