//! `sinergi`: the headless client. Every command is a thin call into sinergi-core.

mod growth;
mod output;
mod records;
mod report;
mod sync;

use clap::{Parser, Subcommand};
use sinergi_core::hlc::{Clock, OffsetClock, SystemClock};
use sinergi_core::store::LocalStore;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "sinergi",
    version,
    about = "Sinergi: catatan posyandu yang bekerja tanpa sinyal"
)]
pub struct Cli {
    /// Folder of this device's store.
    #[arg(long, global = true, default_value = "sinergi-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Enroll this device with a sync server (log in once) and pull its records.
    Enroll(sync::EnrollArgs),
    /// Children (balita).
    Child {
        #[command(subcommand)]
        cmd: records::ChildCmd,
    },
    /// Measurements (weighing, length/height, head, LiLA).
    Measure {
        #[command(subcommand)]
        cmd: records::MeasureCmd,
    },
    /// Any record kind (woman, pregnancy, immunization, vitamin_a, referral, event, ...).
    Record {
        #[command(subcommand)]
        cmd: records::RecordCmd,
    },
    /// Conflicts to review (bidan).
    Conflicts {
        #[command(subcommand)]
        cmd: records::ConflictCmd,
    },
    /// Possible duplicate children (bidan).
    Duplicates {
        #[command(subcommand)]
        cmd: records::DuplicateCmd,
    },
    /// Push pending edits and pull changes.
    Sync(sync::SyncArgs),
    /// Pending edits, cursor, last sync, refused edits.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Monthly reports (SKDN and friends) from what this device holds.
    Report(report::ReportArgs),
    /// Exchange by file, where no link ever appears.
    Bundle {
        #[command(subcommand)]
        cmd: sync::BundleCmd,
    },
    /// Encrypt this device's store under a PIN, or change the PIN.
    Pin {
        #[command(subcommand)]
        cmd: PinCmd,
    },
    /// WHO z-scores and Permenkes categories: a CSV file (batch) or one child (assess).
    Growth {
        #[command(subcommand)]
        cmd: growth::GrowthCmd,
    },
}

#[derive(Subcommand)]
enum PinCmd {
    /// Set the PIN: encrypts a plain store, or changes the PIN of an encrypted one (its current
    /// PIN in SINERGI_PIN). The new PIN is read from standard input.
    Set {
        #[arg(long, required = true)]
        new_pin_stdin: bool,
    },
    /// Whether the store is encrypted.
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        output::fail(&e);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Growth computations read and write no records: no store is opened (or created) for them.
    if let Cmd::Growth { cmd } = cli.cmd {
        return growth::run(cmd);
    }
    // A device with a wrong clock, for drills and tests: the merge must not trust device time.
    let clock: Arc<dyn Clock> = match std::env::var("SINERGI_CLOCK_OFFSET_MS") {
        Ok(v) => Arc::new(OffsetClock(v.parse().map_err(|_| {
            anyhow::anyhow!("SINERGI_CLOCK_OFFSET_MS must be a number of ms")
        })?)),
        Err(_) => Arc::new(SystemClock),
    };
    // The PIN of an encrypted store (or of a new one, which is then created encrypted).
    let pin = std::env::var("SINERGI_PIN").ok().filter(|p| !p.is_empty());
    if let Cmd::Pin {
        cmd: PinCmd::Set { .. },
    } = cli.cmd
    {
        return set_pin(&cli.data_dir, pin.as_deref(), clock);
    }
    let mut store = LocalStore::open_with_pin(&cli.data_dir, pin.as_deref(), clock)?;
    match cli.cmd {
        Cmd::Enroll(a) => sync::enroll(&mut store, a),
        Cmd::Child { cmd } => records::child(&mut store, cmd),
        Cmd::Measure { cmd } => records::measure(&mut store, cmd),
        Cmd::Record { cmd } => records::record(&mut store, cmd),
        Cmd::Conflicts { cmd } => records::conflicts(&mut store, cmd),
        Cmd::Duplicates { cmd } => records::duplicates(&mut store, cmd),
        Cmd::Sync(a) => sync::sync(&mut store, a),
        Cmd::Status { json } => sync::status(&store, json),
        Cmd::Bundle { cmd } => sync::bundle(&mut store, cmd),
        Cmd::Report(a) => report::run(&store, a),
        Cmd::Pin {
            cmd: PinCmd::Status { json },
        } => {
            let encrypted = store.is_encrypted();
            if json {
                output::json(&serde_json::json!({ "encrypted": encrypted }))
            } else {
                println!(
                    "{}",
                    if encrypted {
                        "terenkripsi (PIN)"
                    } else {
                        "tidak terenkripsi"
                    }
                );
                Ok(())
            }
        }
        Cmd::Growth { .. } | Cmd::Pin { .. } => unreachable!("handled before the store is opened"),
    }
}

/// `pin set`: the current PIN (if any) from SINERGI_PIN, the new one from stdin.
fn set_pin(dir: &Path, current: Option<&str>, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let mut new = String::new();
    std::io::stdin().read_to_string(&mut new)?;
    let new = new.trim_end_matches(['\n', '\r']);
    // Open plain (or unlocked by the current PIN), then set: a plain store is encrypted.
    let mut store = LocalStore::open_with_pin(dir, current, clock)?;
    store.set_pin(current, new)?;
    println!("PIN disimpan; data perangkat terenkripsi");
    Ok(())
}
