//! Coprod: the audit trail of co-production projects in adult social care, and their six-point
//! assessments. The pure domain is the `coprod-domain` crate; this crate wires storage, the CLI
//! and (in `http`) the API.

pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod master_key;
pub mod portfolio;
pub mod store;
pub mod trail;
pub mod web;
