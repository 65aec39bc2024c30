//! Benchmark of the batch z-score processor (`sinergi growth batch`): 1,000,000 random but
//! plausible rows (seeded, so every run sees the same data), generated in memory as CSV,
//! pushed through `growth::batch::process` on one thread and on every core. Prints rows/s
//! and z-scores/s (z-scores actually computed: up to 6 per row).
//!
//! Run: `cargo run --release -p sinergi-core --example zscore_bench [ROWS]`.

use std::io::Write;
use std::time::Instant;

use sinergi_core::growth::batch::{self, BatchOptions, BatchSummary};
use sinergi_core::growth::tables::{
    self, KeyedTable, ARM_CIRCUMFERENCE_FOR_AGE, HEAD_CIRCUMFERENCE_FOR_AGE, LENGTH_FOR_AGE,
    WEIGHT_FOR_AGE,
};
use sinergi_core::growth::Sex;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// About N(0, 1) (sum of 4 uniforms, scaled), enough for plausible measures.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.unit()).sum::<f64>() - 2.0) * 3f64.sqrt()
    }
}

/// A measure around the table's median at `z`: m * (1 + l*s*z)^(1/l), clamped.
fn measure(table: &KeyedTable, sex: Sex, age: u32, z: f64) -> Option<f64> {
    let lms = table.get(sex, age)?;
    let z = z.clamp(-3.5, 3.5);
    Some(if lms.l == 0.0 {
        lms.m * (lms.s * z).exp()
    } else {
        lms.m * (1.0 + lms.l * lms.s * z).powf(1.0 / lms.l)
    })
}

/// The CSV input: an id and a kader's note pass through; half the rows give `age_days`, the
/// other half birth and visit dates; about 0.5 % of the rows are bad.
fn generate(rows: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(rows * 90);
    out.extend_from_slice(
        b"id,sex,birth_date,visit_date,age_days,weight_kg,lenhei_cm,measure,head_cm,muac_cm,oedema,note\n",
    );
    let visit = chrono::NaiveDate::from_ymd_opt(2025, 8, 15).unwrap();
    for i in 0..rows {
        let sex = if rng.below(2) == 0 { Sex::L } else { Sex::P };
        let age = rng.below(1826) as u32;
        let size = rng.normal();
        let w = measure(&WEIGHT_FOR_AGE, sex, age, size + 0.3 * rng.normal()).unwrap();
        let lh = measure(&LENGTH_FOR_AGE, sex, age, size + 0.3 * rng.normal()).unwrap();
        let hc = measure(&HEAD_CIRCUMFERENCE_FOR_AGE, sex, age, rng.normal()).unwrap();
        let ac = measure(&ARM_CIRCUMFERENCE_FOR_AGE, sex, age, rng.normal());
        let standing = (age >= 731) != (rng.below(20) == 0);
        let sex_cell = match (sex, rng.below(4)) {
            (Sex::L, 0) => "1",
            (Sex::L, _) => "L",
            (Sex::P, 0) => "2",
            (Sex::P, _) => "P",
        };
        let sex_cell = if rng.below(400) == 0 { "X" } else { sex_cell };
        write!(out, "{i},{sex_cell},").unwrap();
        if i % 2 == 0 {
            write!(out, ",,{age},").unwrap();
        } else {
            let birth = visit - chrono::Days::new(age as u64);
            write!(out, "{birth},{visit},,").unwrap();
        }
        if rng.below(400) == 0 {
            out.extend_from_slice(b"abc,");
        } else {
            write!(out, "{w:.2},").unwrap();
        }
        write!(out, "{lh:.1},{},{hc:.1},", if standing { "h" } else { "l" }).unwrap();
        if let Some(ac) = ac {
            write!(out, "{ac:.1}").unwrap();
        }
        let oedema = match rng.below(200) {
            0 => "y",
            1..=100 => "n",
            _ => "",
        };
        writeln!(out, ",{oedema},posyandu {}", i % 97).unwrap();
    }
    out
}

/// CPU seconds used by this process so far (user + system), where Linux tells it.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime is the 12th, stime 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn run(input: &[u8], output: &mut Vec<u8>, threads: usize) -> (BatchSummary, Option<f64>) {
    output.clear();
    let cpu = cpu_seconds();
    let options = BatchOptions {
        threads,
        ..BatchOptions::default()
    };
    let summary = batch::process(input, &mut *output, &options, &mut |_| {}).expect("batch");
    let cpu = cpu.zip(cpu_seconds()).map(|(a, b)| b - a);
    (summary, cpu)
}

fn main() {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("ROWS must be a number"))
        .unwrap_or(1_000_000);
    tables::init();
    let start = Instant::now();
    let input = generate(rows, 0x5EED_2025);
    println!(
        "generated {rows} rows ({:.1} MB CSV) in {:.2} s",
        input.len() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut output = Vec::with_capacity(input.len() * 2);
    let mut first: Option<Vec<u8>> = None;
    for (label, threads) in [("1 thread", 1), ("all cores", cores)] {
        let mut best: Option<(BatchSummary, Option<f64>)> = None;
        for _ in 0..3 {
            let (s, cpu) = run(&input, &mut output, threads);
            if best.is_none_or(|b| s.seconds < b.0.seconds) {
                best = Some((s, cpu));
            }
        }
        let (s, cpu) = best.unwrap();
        println!(
            "batch {label:>9} ({threads} worker{}): {} rows, {} with error, {} z-scores in {:.3} s \
             -> {:.0} rows/s, {:.0} z-scores/s, {:.0} MB/s in",
            if threads == 1 { "" } else { "s" },
            s.rows,
            s.rows_with_error,
            s.zscores,
            s.seconds,
            s.rows_per_second(),
            s.zscores_per_second(),
            input.len() as f64 / 1e6 / s.seconds,
        );
        if let Some(cpu) = cpu.filter(|c| *c > 0.0) {
            println!(
                "    CPU time {cpu:.2} s -> {:.0} rows and {:.0} z-scores per CPU-second \
                 (load average {}, {cores} cores)",
                s.rows as f64 / cpu,
                s.zscores as f64 / cpu,
                load_average()
            );
        }
        match &first {
            None => first = Some(output.clone()),
            Some(f) => assert!(*f == output, "parallel output differs from sequential"),
        }
    }
}
