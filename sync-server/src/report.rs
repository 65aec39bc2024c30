//! Monthly reports from the master copy, for coordinators: built by core's report code from the
//! records in the store, limited to what the asking principal may read.

use crate::error::ServerError;
use crate::service::Service;
use crate::storage::{Principal, Result};
use sinergi_core::model::Kind;
use sinergi_core::protocol::Role;
use sinergi_core::report::{self, Format, Level, MonthlyReport, ReportInputBuilder, YearMonth};
use uuid::Uuid;

fn bad(status: u16, code: &str, id: &str, en: &str) -> ServerError {
    ServerError::bad_request(status, code, id.into(), en.into())
}

impl Service {
    /// The puskesmas a level lies in (None for `All`), or unknown_area.
    fn level_puskesmas(&self, level: &Level) -> Result<Option<Uuid>> {
        let of = |id: Uuid, kind: Kind| -> Result<Option<Uuid>> {
            let rec = self
                .store
                .get(id)?
                .filter(|r| r.kind == kind)
                .ok_or_else(|| {
                    bad(
                        404,
                        "unknown_area",
                        "Wilayah laporan tidak dikenal",
                        "Unknown report area",
                    )
                })?;
            Ok(rec.puskesmas_id)
        };
        match *level {
            Level::All => Ok(None),
            Level::Posyandu(id) => of(id, Kind::Posyandu),
            Level::Desa(id) => of(id, Kind::Desa),
            Level::Puskesmas(id) => of(id, Kind::Puskesmas),
        }
    }

    /// Build the month's reports for a level, if `who` may read it.
    pub fn report(&self, who: &Principal, month: YearMonth, level: Level) -> Result<MonthlyReport> {
        let pusk = self.level_puskesmas(&level)?;
        if !who.is_server() {
            let allowed = match (&who.role, level) {
                (Role::Kader, Level::Posyandu(p)) => who.posyandu_id == Some(p),
                (Role::Kader, _) => false,
                (_, Level::All) => false,
                _ => pusk.is_some() && pusk == who.puskesmas_id,
            };
            if !allowed {
                return Err(bad(
                    403,
                    "out_of_scope",
                    "Laporan wilayah ini di luar wewenang pengguna ini",
                    "This area's report is outside this user's scope",
                ));
            }
        }
        let mut b = ReportInputBuilder::new();
        self.store
            .scan(&mut |kind, id, posyandu, fields| b.push(kind, id, posyandu, fields))?;
        Ok(report::build(&b.finish(), month, level))
    }

    /// The report rendered in a format, with a file name for downloads.
    pub fn report_file(
        &self,
        who: &Principal,
        month: YearMonth,
        level: Level,
        format: Format,
    ) -> Result<(Vec<u8>, String)> {
        let r = self.report(who, month, level)?;
        let bytes = report::render(&r, format).map_err(|e| ServerError::Data(e.to_string()))?;
        Ok((bytes, format!("laporan-{month}.{}", format.extension())))
    }
}

/// Read the report options as the command line and the HTTP query give them.
pub fn parse_options(
    month: &str,
    posyandu: Option<&str>,
    desa: Option<&str>,
    puskesmas: Option<&str>,
    format: &str,
) -> Result<(YearMonth, Option<Level>, Format)> {
    let month: YearMonth = month.parse().map_err(|e: report::BadMonth| {
        ServerError::bad_request(422, "invalid_month", e.to_string(), e.to_string())
    })?;
    let format: Format = format
        .parse()
        .map_err(|e: String| ServerError::bad_request(422, "invalid_format", e.clone(), e))?;
    let id = |s: &str| {
        Uuid::parse_str(s.trim())
            .map_err(|_| bad(422, "invalid_id", "ID wilayah tidak sah", "Invalid area id"))
    };
    let level = match (posyandu, desa, puskesmas) {
        (Some(p), None, None) => Some(Level::Posyandu(id(p)?)),
        (None, Some(d), None) => Some(Level::Desa(id(d)?)),
        (None, None, Some("")) => None,
        (None, None, Some(q)) => Some(Level::Puskesmas(id(q)?)),
        (None, None, None) => None,
        _ => {
            return Err(bad(
                422,
                "ambiguous_level",
                "Pilih satu: posyandu, desa atau puskesmas",
                "Choose one of posyandu, desa or puskesmas",
            ))
        }
    };
    Ok((month, level, format))
}
