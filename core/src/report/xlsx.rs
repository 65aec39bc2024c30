//! XLSX for people: one sheet per report (see [`super::table`]), each with a title naming the
//! area and the month, Indonesian headers (grouped headers merged), thin borders, a shaded
//! totals row, column widths, frozen headers, the report's notes under the table, and a page
//! setup for printing (A4 landscape, one page wide, headers repeated, page numbers). A last
//! sheet "Catatan" holds the general notes and warnings.

use rust_xlsxwriter::{
    Color, DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::table::{layout, Cell, ColKind, Document, RowStyle, Table};
use super::{MonthlyReport, WriteError};

const HEADER_FILL: u32 = 0xDDEBF7;
const SUBTOTAL_FILL: u32 = 0xF2F2F2;
const TOTAL_FILL: u32 = 0xE2EFDA;
const BORDER: u32 = 0x808080;

struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    note: Format,
    /// [style][kind]: text, count, percent.
    cell: [[Format; 3]; 3],
    /// "-" for an undefined percentage, per style.
    dash: [Format; 3],
    alert: [Format; 3],
}

impl Formats {
    fn new() -> Formats {
        let base = Format::new()
            .set_border(FormatBorder::Thin)
            .set_border_color(Color::RGB(BORDER))
            .set_align(FormatAlign::VerticalCenter);
        let styled = |f: Format, style: usize| match style {
            1 => f.set_bold().set_background_color(Color::RGB(SUBTOTAL_FILL)),
            2 => f.set_bold().set_background_color(Color::RGB(TOTAL_FILL)),
            _ => f,
        };
        let kinds = |style: usize| {
            [
                styled(base.clone().set_align(FormatAlign::Left), style),
                styled(base.clone().set_num_format("#,##0"), style),
                styled(base.clone().set_num_format("0.0%"), style),
            ]
        };
        let dash = |style: usize| styled(base.clone().set_align(FormatAlign::Center), style);
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_font_size(11),
            header: base
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(HEADER_FILL)),
            note: Format::new()
                .set_italic()
                .set_font_size(9)
                .set_text_wrap()
                .set_align(FormatAlign::Top),
            cell: [kinds(0), kinds(1), kinds(2)],
            dash: [dash(0), dash(1), dash(2)],
            alert: [0, 1, 2].map(|s| {
                styled(base.clone().set_align(FormatAlign::Left), s)
                    .set_bold()
                    .set_font_color(Color::RGB(0xC00000))
            }),
        }
    }
}

fn kind_idx(k: ColKind) -> usize {
    match k {
        ColKind::Text => 0,
        ColKind::Count => 1,
        ColKind::Percent => 2,
    }
}

fn style_idx(s: RowStyle) -> usize {
    match s {
        RowStyle::Normal => 0,
        RowStyle::Subtotal => 1,
        RowStyle::Total => 2,
    }
}

/// Lines a text needs in a cell `width` characters wide (rough, for row heights).
fn lines(text: &str, width: f64) -> u32 {
    let per_line = (width * 1.1).max(1.0);
    ((text.chars().count() as f64 / per_line).ceil() as u32).max(1)
}

/// Writes `text` across columns `0..=last` of `row` (merged when more than one column).
fn wide(ws: &mut Worksheet, row: u32, last: u16, text: &str, f: &Format) -> Result<(), XlsxError> {
    if last == 0 {
        ws.write_string_with_format(row, 0, text, f)?;
    } else {
        ws.merge_range(row, 0, row, last, text, f)?;
    }
    Ok(())
}

fn write_table(
    ws: &mut Worksheet,
    doc: &Document,
    t: &Table,
    fm: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(&t.sheet)?;
    let ncols = t.columns.len() as u16;
    let last = ncols.saturating_sub(1);
    let total_width: f64 = t.columns.iter().map(|c| c.width).sum();
    for (i, c) in t.columns.iter().enumerate() {
        ws.set_column_width(i as u16, c.width)?;
    }

    wide(
        ws,
        0,
        last,
        &format!("{}: {}", doc.title, t.title),
        &fm.title,
    )?;
    ws.set_row_height(0, 21)?;
    wide(
        ws,
        1,
        last,
        &format!("Wilayah: {}", doc.scope),
        &fm.subtitle,
    )?;
    wide(ws, 2, last, &format!("Bulan: {}", doc.month), &fm.subtitle)?;

    // Headers.
    let top: u32 = 4;
    let header_rows: u32 = if t.groups.is_some() { 2 } else { 1 };
    let col_row = top + header_rows - 1;
    match &t.groups {
        Some(groups) => {
            let mut c: u16 = 0;
            for g in groups {
                let span = g.span as u16;
                if span == 0 {
                    continue;
                }
                let end = (c + span - 1).min(last);
                if g.label.is_empty() {
                    for col in c..=end {
                        let h = &t.columns[col as usize].header;
                        ws.merge_range(top, col, top + 1, col, h, &fm.header)?;
                    }
                } else {
                    if end > c {
                        ws.merge_range(top, c, top, end, &g.label, &fm.header)?;
                    } else {
                        ws.write_string_with_format(top, c, &g.label, &fm.header)?;
                    }
                    for col in c..=end {
                        let h = &t.columns[col as usize].header;
                        ws.write_string_with_format(col_row, col, h, &fm.header)?;
                    }
                }
                c += span;
            }
            let group_lines = groups
                .iter()
                .scan(0usize, |c, g| {
                    let w: f64 = t.columns[*c..(*c + g.span).min(t.columns.len())]
                        .iter()
                        .map(|c| c.width)
                        .sum();
                    *c += g.span;
                    Some(if g.label.is_empty() {
                        1
                    } else {
                        lines(&g.label, w)
                    })
                })
                .max()
                .unwrap_or(1);
            ws.set_row_height(top, 15 * group_lines)?;
        }
        None => {
            for (i, c) in t.columns.iter().enumerate() {
                ws.write_string_with_format(top, i as u16, &c.header, &fm.header)?;
            }
        }
    }
    let header_lines = t
        .columns
        .iter()
        .map(|c| lines(&c.header, c.width))
        .max()
        .unwrap_or(1);
    ws.set_row_height(col_row, 15 * header_lines.max(1))?;

    // Body.
    let mut row = col_row + 1;
    for r in &t.rows {
        let s = style_idx(r.style);
        for (i, (cell, col)) in r.cells.iter().zip(&t.columns).enumerate() {
            let i = i as u16;
            let f = &fm.cell[s][kind_idx(col.kind)];
            match cell {
                Cell::Text(x) => {
                    ws.write_string_with_format(row, i, x, &fm.cell[s][0])?;
                }
                Cell::Alert(x) => {
                    ws.write_string_with_format(row, i, x, &fm.alert[s])?;
                }
                Cell::Count(v) => {
                    ws.write_number_with_format(row, i, *v as f64, f)?;
                }
                Cell::Percent(Some(p)) => {
                    ws.write_number_with_format(row, i, *p / 100.0, &fm.cell[s][2])?;
                }
                Cell::Percent(None) => {
                    ws.write_string_with_format(row, i, "-", &fm.dash[s])?;
                }
                Cell::Empty => {
                    ws.write_blank(row, i, f)?;
                }
            }
        }
        row += 1;
    }

    // Notes.
    row += 1;
    for n in &t.notes {
        wide(ws, row, last, n, &fm.note)?;
        ws.set_row_height(row, 12.5 * lines(n, total_width * 1.15) as f64)?;
        row += 1;
    }

    let freeze_col = t
        .columns
        .iter()
        .position(|c| c.kind != ColKind::Text && c.header != "No")
        .unwrap_or(0) as u16;
    ws.set_freeze_panes(col_row + 1, freeze_col)?;
    page_setup(ws);
    ws.set_repeat_rows(top, col_row)?;
    Ok(())
}

fn page_setup(ws: &mut Worksheet) {
    ws.set_landscape();
    ws.set_paper_size(9); // A4
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    ws.set_footer("&L&8Sinergi&C&8Halaman &P dari &N");
}

fn write_notes(ws: &mut Worksheet, doc: &Document, fm: &Formats) -> Result<(), XlsxError> {
    ws.set_name("Catatan")?;
    let cols: u16 = 10;
    for c in 0..cols {
        ws.set_column_width(c, 12)?;
    }
    let last = cols - 1;
    wide(ws, 0, last, &format!("{}: catatan", doc.title), &fm.title)?;
    ws.set_row_height(0, 21)?;
    wide(
        ws,
        1,
        last,
        &format!("Wilayah: {}", doc.scope),
        &fm.subtitle,
    )?;
    wide(ws, 2, last, &format!("Bulan: {}", doc.month), &fm.subtitle)?;
    let note = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    for (row, n) in (4..).zip(&doc.notes) {
        wide(ws, row, last, n, &note)?;
        ws.set_row_height(row, 15.0 * lines(n, 12.0 * cols as f64) as f64)?;
    }
    page_setup(ws);
    Ok(())
}

fn workbook(report: &MonthlyReport) -> Result<Workbook, XlsxError> {
    let doc = layout(report);
    let fm = Formats::new();
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!("{} {}", doc.title, doc.month))
            .set_subject(doc.scope.clone())
            .set_author("Sinergi"),
    );
    for t in &doc.tables {
        let ws = wb.add_worksheet();
        write_table(ws, &doc, t, &fm)?;
    }
    let ws = wb.add_worksheet();
    write_notes(ws, &doc, &fm)?;
    Ok(wb)
}

/// The report as XLSX bytes.
pub fn xlsx_bytes(report: &MonthlyReport) -> Result<Vec<u8>, WriteError> {
    Ok(workbook(report)?.save_to_buffer()?)
}

/// Writes the report as an XLSX workbook.
pub fn write_xlsx(report: &MonthlyReport, path: &std::path::Path) -> Result<(), WriteError> {
    workbook(report)?.save(path)?;
    Ok(())
}
