//! CSV: one file with every report as a section, for spreadsheets and scripts.
//!
//! Layout (comma-separated, UTF-8, `.` as decimal point):
//! - the first lines name the document: `Laporan Bulanan Posyandu`, `Wilayah,<area>`,
//!   `Bulan,<YYYY-MM>,<month name>`;
//! - then each report as a section: an empty line, a line `# <sheet>,<title>`, one header line
//!   (a grouped column is written `group: column`), the rows and the totals row (first text
//!   column `Jumlah`), then the section's notes as `Catatan,<text>` lines;
//! - at the end a `# Catatan` section with the general notes.
//!
//! Counts are plain integers; percentages have one decimal and are empty when undefined.
//! Rows have different lengths between sections (the csv crate's flexible mode).

use super::table::{layout, Cell, Table};
use super::{MonthlyReport, WriteError};

fn header(t: &Table) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(t.columns.len());
    match &t.groups {
        Some(groups) => {
            let mut c = 0;
            for g in groups {
                for col in &t.columns[c..(c + g.span).min(t.columns.len())] {
                    out.push(if g.label.is_empty() {
                        col.header.clone()
                    } else {
                        format!("{}: {}", g.label, col.header)
                    });
                }
                c += g.span;
            }
        }
        None => out.extend(t.columns.iter().map(|c| c.header.clone())),
    }
    // No-break spaces (which keep "< -2 SD" on one line in print) are plain spaces here.
    out.iter().map(|h| h.replace('\u{a0}', " ")).collect()
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(s) | Cell::Alert(s) => s.clone(),
        Cell::Count(n) => n.to_string(),
        Cell::Percent(Some(p)) => format!("{p:.1}"),
        Cell::Percent(None) | Cell::Empty => String::new(),
    }
}

/// The report as CSV bytes.
pub fn csv_bytes(report: &MonthlyReport) -> Result<Vec<u8>, WriteError> {
    let doc = layout(report);
    let mut out: Vec<u8> = Vec::new();
    // One writer per section so that sections are separated by truly empty lines.
    fn section(
        out: &mut Vec<u8>,
        f: impl FnOnce(&mut ::csv::Writer<&mut Vec<u8>>) -> Result<(), ::csv::Error>,
    ) -> Result<(), WriteError> {
        if !out.is_empty() {
            out.push(b'\n');
        }
        let mut w = ::csv::WriterBuilder::new().flexible(true).from_writer(out);
        f(&mut w)?;
        w.flush()?;
        Ok(())
    }
    section(&mut out, |w| {
        w.write_record([doc.title.as_str()])?;
        w.write_record(["Wilayah", doc.scope.as_str()])?;
        w.write_record(["Bulan", doc.month_code.as_str(), doc.month.as_str()])
    })?;
    for t in &doc.tables {
        section(&mut out, |w| {
            w.write_record([format!("# {}", t.sheet), t.title.clone()])?;
            w.write_record(header(t))?;
            for r in &t.rows {
                w.write_record(r.cells.iter().map(cell))?;
            }
            for n in &t.notes {
                w.write_record(["Catatan", n.as_str()])?;
            }
            Ok(())
        })?;
    }
    section(&mut out, |w| {
        w.write_record(["# Catatan"])?;
        for n in &doc.notes {
            w.write_record(["Catatan", n.as_str()])?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Writes the report as one CSV file.
pub fn write_csv(report: &MonthlyReport, path: &std::path::Path) -> Result<(), WriteError> {
    std::fs::write(path, csv_bytes(report)?)?;
    Ok(())
}
