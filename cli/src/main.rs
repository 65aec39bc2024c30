//! `sinergi`: the headless client. Every command is a thin call into sinergi-core.

mod growth;
mod output;
mod records;
mod report;
mod sync;

use clap::{Parser, Subcommand};
use sinergi_core::hlc::OffsetClock;
use sinergi_core::store::LocalStore;
use std::path::PathBuf;

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
    /// WHO z-scores and Permenkes categories: a CSV file (batch) or one child (assess).
    Growth {
        #[command(subcommand)]
        cmd: growth::GrowthCmd,
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
    let mut store = match std::env::var("SINERGI_CLOCK_OFFSET_MS") {
        Ok(v) => {
            let offset: i64 = v
                .parse()
                .map_err(|_| anyhow::anyhow!("SINERGI_CLOCK_OFFSET_MS must be a number of ms"))?;
            LocalStore::open_with_clock(&cli.data_dir, std::sync::Arc::new(OffsetClock(offset)))?
        }
        Err(_) => LocalStore::open(&cli.data_dir)?,
    };
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
        Cmd::Growth { .. } => unreachable!("handled before the store is opened"),
    }
}
