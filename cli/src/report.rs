//! `sinergi report`: the month's reports from what this device holds.

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sinergi_core::report::{self, Format, Level, ReportInput, YearMonth};
use sinergi_core::store::LocalStore;
use sinergi_core::{CoreError, Problem};
use std::path::PathBuf;
use std::time::Duration;
use uuid::Uuid;

#[derive(Args)]
pub struct ReportArgs {
    /// Month, YYYY-MM.
    #[arg(long)]
    month: String,
    #[arg(long, conflicts_with_all = ["desa", "puskesmas"])]
    posyandu: Option<String>,
    #[arg(long, conflicts_with = "puskesmas")]
    desa: Option<String>,
    /// The whole puskesmas this device belongs to.
    #[arg(long)]
    puskesmas: bool,
    #[arg(long, default_value = "xlsx")]
    format: String,
    #[arg(long)]
    out: PathBuf,
}

fn invalid(code: &str, field: &str, id: String, en: String) -> anyhow::Error {
    CoreError::invalid(Problem::new(code, Some(field), id, en)).into()
}

fn parse_id(s: &str, field: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        invalid(
            "invalid_id",
            field,
            format!("'{s}' bukan ID yang sah"),
            format!("'{s}' is not a valid id"),
        )
    })
}

/// A spinner on stderr that only appears when the work takes longer than a moment.
fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn run(store: &LocalStore, a: ReportArgs) -> anyhow::Result<()> {
    let month: YearMonth = a.month.parse().map_err(|e: report::BadMonth| {
        invalid("invalid_month", "month", e.to_string(), e.to_string())
    })?;
    let format: Format = a
        .format
        .parse()
        .map_err(|e: String| invalid("invalid_format", "format", e.clone(), e))?;
    let enrollment = store.enrollment()?;
    let level = match (&a.posyandu, &a.desa, a.puskesmas) {
        (Some(p), _, _) => Level::Posyandu(parse_id(p, "posyandu")?),
        (_, Some(d), _) => Level::Desa(parse_id(d, "desa")?),
        (_, _, true) => match &enrollment {
            Some(e) => Level::Puskesmas(e.puskesmas_id),
            None => Level::All,
        },
        // A kader's device reports her posyandu; others their puskesmas.
        (None, None, false) => match enrollment.as_ref().and_then(|e| e.posyandu_id) {
            Some(p) => Level::Posyandu(p),
            None => enrollment
                .as_ref()
                .map(|e| Level::Puskesmas(e.puskesmas_id))
                .unwrap_or(Level::All),
        },
    };
    let bar = spinner();
    bar.set_message("Membaca data");
    let input = ReportInput::from_store(store)?;
    if !input.knows(&level) {
        bar.finish_and_clear();
        return Err(invalid(
            "unknown_area",
            "level",
            "Wilayah laporan tidak dikenal di perangkat ini".into(),
            "This device does not know the report's area".into(),
        ));
    }
    bar.set_message("Menyusun laporan");
    let r = report::build(&input, month, level);
    bar.set_message("Menulis berkas");
    report::write(&r, format, &a.out).map_err(CoreError::from)?;
    bar.finish_and_clear();
    for w in &r.warnings {
        eprintln!("peringatan [{}]: {}", w.code, w.message);
    }
    let s = &r.skdn.total;
    println!(
        "Laporan {} {} ditulis ke {}",
        r.scope.describe(),
        month.name_id(),
        a.out.display()
    );
    println!(
        "SKDN: S {} K {} D {} N {} T {} O {} B {} 2T {} BGM {}",
        s.s, s.k, s.d, s.n, s.t, s.o, s.b, s.two_t, s.bgm
    );
    Ok(())
}
