//! Throughput of single z-score computations (the tables are O(1) arrays). Ignored by
//! default because timing in debug builds means little; run with
//! `cargo test --release -p sinergi-core --test growth_perf -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::Instant;

use sinergi_core::growth::zscore::{weight_for_age, weight_for_lenhei};
use sinergi_core::growth::{tables, zscores, GrowthInput, Position, Sex};

#[test]
#[ignore]
fn growth_perf_over_a_million_zscores_per_second() {
    tables::init();
    let n = 2_000_000u32;
    let start = Instant::now();
    let mut acc = 0.0;
    for i in 0..n {
        let sex = if i % 2 == 0 { Sex::L } else { Sex::P };
        let age = (i % 1800) as f64;
        acc += weight_for_age(sex, black_box(age), black_box(9.0)).unwrap_or(0.0);
        acc += weight_for_lenhei(sex, black_box(age), 9.0, 60.0 + (i % 400) as f64 * 0.1)
            .unwrap_or(0.0);
    }
    let per_sec = (2 * n) as f64 / start.elapsed().as_secs_f64();
    println!("single z-scores: {per_sec:.0}/s (checksum {acc:.3})");

    let start = Instant::now();
    let m = 500_000u32;
    for i in 0..m {
        let z = zscores(&GrowthInput {
            weight_kg: Some(9.0),
            lenhei_cm: Some(72.3 + (i % 50) as f64 * 0.1),
            position: Some(Position::Lying),
            head_cm: Some(45.0),
            muac_cm: Some(14.5),
            ..GrowthInput::new(Sex::L, (i % 1800) as f64)
        });
        black_box(z);
    }
    let sets = m as f64 / start.elapsed().as_secs_f64();
    println!("full zscores() sets (6 indices): {sets:.0}/s");
    assert!(per_sec > 1_000_000.0, "{per_sec:.0} z-scores/s");
}
