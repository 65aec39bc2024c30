//! sinergi-core: the posyandu domain, its validation, the local store, the sync client,
//! growth assessment and reports. Every front (CLI, server, app) is a thin layer over this crate.

pub mod error;
pub mod growth;
pub mod hlc;
pub mod maternal;
pub mod merge;
pub mod model;
pub mod protocol;
pub mod report;
pub mod screening;
pub mod seal;
pub mod store;
pub mod sync;

pub use error::{CoreError, Problem, Result};
