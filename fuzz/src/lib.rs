//! The fuzz targets' entry points live in `entry.rs` so that `core/tests/fuzz_regressions.rs`
//! replays the corpus and every past crash through exactly the same code.
pub mod entry;
