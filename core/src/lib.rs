//! sinergi-core: the posyandu domain, its validation, the local store, the sync client,
//! growth assessment and reports. Every front (CLI, server, app) is a thin layer over this crate.

pub mod growth;
