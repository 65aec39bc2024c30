//! A printable A4 PDF (landscape) of every report, written with `pdf-writer` (pure Rust, no
//! font file: the base-14 fonts Helvetica and Helvetica-Bold, with their metrics in
//! `pdf_font.rs`).
//!
//! Each page has a header (document title, area, month) and a footer (page i of n). Tables
//! follow one another (a table starts on a new page when fewer than three of its rows would fit)
//! with their title, grouped headers on a shaded band, thin borders, zebra rows, a shaded totals
//! row and their notes; a table longer than a page continues on the next with its header
//! repeated. Column widths come from the text they hold (measured with the font metrics) and are
//! stretched to the page width; a table too wide for the page is set in a smaller font (down to
//! 6 pt) and then its text columns are shortened with an ellipsis.

use std::io::Write;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::pdf_font::{encode, width, width_bytes};
use super::table::{fmt_count, fmt_percent, layout, Cell, ColKind, Document, RowStyle, Table};
use super::MonthlyReport;

const PAGE_W: f32 = 841.89;
const PAGE_H: f32 = 595.28;
const MARGIN: f32 = 30.0;
/// Page header band (title, area, month).
const HEAD_H: f32 = 40.0;
/// Page footer band.
const FOOT_H: f32 = 16.0;
const BODY_FONT: f32 = 8.0;
const MIN_FONT: f32 = 6.0;
const PAD: f32 = 3.0;
const TITLE_FONT: f32 = 10.5;
const NOTE_FONT: f32 = 7.5;

const F_REGULAR: Name = Name(b"F1");
const F_BOLD: Name = Name(b"F2");

type Rgb = (f32, f32, f32);
const BLACK: Rgb = (0.0, 0.0, 0.0);
const GREY_TEXT: Rgb = (0.35, 0.35, 0.35);
const RED: Rgb = (0.75, 0.0, 0.0);
const HEADER_FILL: Rgb = (0.867, 0.922, 0.969);
const ZEBRA_FILL: Rgb = (0.965, 0.965, 0.965);
const SUBTOTAL_FILL: Rgb = (0.93, 0.93, 0.93);
const TOTAL_FILL: Rgb = (0.886, 0.937, 0.855);
const BORDER: f32 = 0.45;

fn avail_w() -> f32 {
    PAGE_W - 2.0 * MARGIN
}

/// Greedy word wrap to `max` points.
fn wrap(text: &str, bold: bool, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    // Split on plain spaces only: a no-break space keeps "< -2 SD" together.
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if cur.is_empty() || width(&candidate, bold, size) <= max {
            cur = candidate;
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// `text` shortened with an ellipsis to fit `max` points.
fn fit(text: &str, bold: bool, size: f32, max: f32) -> Vec<u8> {
    let bytes = encode(text);
    if width_bytes(&bytes, bold, size) <= max {
        return bytes;
    }
    let mut b = bytes;
    while !b.is_empty() {
        b.pop();
        let mut t = b.clone();
        t.push(0x85); // ellipsis
        if width_bytes(&t, bold, size) <= max {
            return t;
        }
    }
    b
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) | Cell::Alert(s) => s.clone(),
        Cell::Count(n) => fmt_count(*n),
        Cell::Percent(p) => fmt_percent(*p),
        Cell::Empty => String::new(),
    }
}

/// Widest a count or percentage column is stretched to, in points.
const NUMBER_COL_MAX: f32 = 72.0;

/// Gives `extra` points to the columns: first the number columns are raised to one common width
/// (at most [`NUMBER_COL_MAX`]), so that figures line up in even columns; what is left goes to
/// the text columns (or evenly to all when there is none). The "No" column stays as it is.
fn spread(t: &Table, widths: &mut [f32], mut extra: f32) {
    let fixed = |i: usize| t.columns[i].header == "No";
    let numeric: Vec<usize> = (0..widths.len())
        .filter(|&i| t.columns[i].kind != ColKind::Text && !fixed(i))
        .collect();
    let cost = |level: f32, widths: &[f32]| -> f32 {
        numeric.iter().map(|&i| (level - widths[i]).max(0.0)).sum()
    };
    if !numeric.is_empty() {
        let (mut lo, mut hi) = (0.0f32, NUMBER_COL_MAX);
        if cost(hi, widths) <= extra {
            lo = hi;
        } else {
            for _ in 0..40 {
                let mid = (lo + hi) / 2.0;
                if cost(mid, widths) <= extra {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        extra -= cost(lo, widths);
        for &i in &numeric {
            widths[i] = widths[i].max(lo);
        }
    }
    let text: Vec<usize> = (0..widths.len())
        .filter(|&i| t.columns[i].kind == ColKind::Text)
        .collect();
    let takers = if text.is_empty() { numeric } else { text };
    let sum: f32 = takers.iter().map(|&i| widths[i]).sum();
    if sum > 0.0 {
        for &i in &takers {
            widths[i] += extra * widths[i] / sum;
        }
    }
}

/// Fonts, column widths and header wrapping of one table.
struct TableLayout {
    font: f32,
    hfont: f32,
    widths: Vec<f32>,
    row_h: f32,
    group_h: f32,
    header_h: f32,
    /// (first column, span, wrapped label) of each group; empty label = ungrouped.
    groups: Vec<(usize, usize, Vec<String>)>,
    headers: Vec<Vec<String>>,
}

impl TableLayout {
    fn new(t: &Table) -> TableLayout {
        let avail = avail_w();
        let n = t.columns.len();
        let mut font = BODY_FONT;
        let mut widths;
        loop {
            let hfont = font - 0.5;
            widths = vec![0f32; n];
            for (i, c) in t.columns.iter().enumerate() {
                let longest_word = c
                    .header
                    .split(' ')
                    .map(|w| width(w, true, hfont))
                    .fold(0.0, f32::max);
                widths[i] = (longest_word + 2.0 * PAD).max(font * 2.4);
            }
            for r in &t.rows {
                let bold = r.style != RowStyle::Normal;
                for (i, c) in r.cells.iter().enumerate().take(n) {
                    let w = width(&cell_text(c), bold, font) + 2.0 * PAD;
                    widths[i] = widths[i].max(w);
                }
            }
            if widths.iter().sum::<f32>() <= avail || font <= MIN_FONT {
                break;
            }
            font -= 0.5;
        }
        let hfont = font - 0.5;
        let total: f32 = widths.iter().sum();
        if total > avail {
            // Still too wide at the smallest font: shorten the text columns.
            let text_cols: Vec<usize> = (0..n)
                .filter(|&i| t.columns[i].kind == ColKind::Text)
                .collect();
            let text_w: f32 = text_cols.iter().map(|&i| widths[i]).sum();
            let excess = total - avail;
            if text_w > 0.0 {
                for &i in &text_cols {
                    let cut = excess * widths[i] / text_w;
                    widths[i] = (widths[i] - cut).max(30.0);
                }
            }
        } else {
            spread(t, &mut widths, avail - total);
        }

        let leading = hfont * 1.2;
        let headers: Vec<Vec<String>> = t
            .columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| wrap(&c.header, true, hfont, w - 2.0 * PAD))
            .collect();
        let mut groups = Vec::new();
        match &t.groups {
            Some(gs) => {
                let mut c = 0;
                for g in gs {
                    let span = g.span.min(n.saturating_sub(c));
                    let w: f32 = widths[c..c + span].iter().sum();
                    let lines = if g.label.is_empty() {
                        Vec::new()
                    } else {
                        wrap(&g.label, true, hfont, w - 2.0 * PAD)
                    };
                    groups.push((c, span, lines));
                    c += span;
                }
            }
            None => groups.push((0, n, Vec::new())),
        }
        let grouped = t.groups.is_some();
        let lines_h = |k: usize| k as f32 * leading + 2.0 * PAD + 1.0;
        let group_h = if grouped {
            lines_h(groups.iter().map(|g| g.2.len()).max().unwrap_or(1).max(1))
        } else {
            0.0
        };
        // Headers under a group sit in the second row; ungrouped ones span both rows.
        let mut header_h = lines_h(1);
        for (first, span, label) in &groups {
            for lines in &headers[*first..first + span] {
                let need = lines_h(lines.len());
                if !grouped || !label.is_empty() {
                    header_h = header_h.max(need);
                } else {
                    header_h = header_h.max(need - group_h);
                }
            }
        }
        TableLayout {
            font,
            hfont,
            widths,
            row_h: (font * 1.5).max(10.0),
            group_h,
            header_h,
            groups,
            headers,
        }
    }
}

struct Writer<'a> {
    doc: &'a Document,
    pages: Vec<Content>,
    y: f32,
}

impl<'a> Writer<'a> {
    fn c(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page is open")
    }

    fn bottom() -> f32 {
        MARGIN + FOOT_H
    }

    fn room(&self) -> f32 {
        self.y - Self::bottom()
    }

    fn new_page(&mut self) {
        let mut c = Content::new();
        let top = PAGE_H - MARGIN;
        let doc = self.doc;
        text(&mut c, MARGIN, top - 12.0, 13.0, true, BLACK, &doc.title);
        text(&mut c, MARGIN, top - 27.0, 9.5, false, BLACK, &doc.scope);
        let month = format!("Bulan: {}", doc.month);
        let w = width(&month, true, 11.0);
        text(
            &mut c,
            PAGE_W - MARGIN - w,
            top - 12.0,
            11.0,
            true,
            BLACK,
            &month,
        );
        c.set_stroke_gray(0.3).set_line_width(0.8);
        c.move_to(MARGIN, top - HEAD_H + 8.0)
            .line_to(PAGE_W - MARGIN, top - HEAD_H + 8.0)
            .stroke();
        self.pages.push(c);
        self.y = top - HEAD_H - 4.0;
    }

    fn title(&mut self, t: &str, cont: bool) {
        let s = if cont {
            format!("{t} (lanjutan)")
        } else {
            t.to_string()
        };
        let y = self.y - TITLE_FONT;
        text(self.c(), MARGIN, y, TITLE_FONT, true, BLACK, &s);
        self.y -= TITLE_FONT + 7.0;
    }

    fn header(&mut self, t: &Table, l: &TableLayout) {
        let top = self.y;
        let xs = col_x(&l.widths);
        let grouped = t.groups.is_some();
        let total_h = l.group_h + l.header_h;
        let c = self.pages.last_mut().expect("page");
        // Fill then borders then text.
        fill(c, MARGIN, top - total_h, avail_w(), total_h, HEADER_FILL);
        c.set_stroke_gray(0.35).set_line_width(BORDER);
        for (first, span, label) in &l.groups {
            let (first, span) = (*first, *span);
            if span == 0 {
                continue;
            }
            // Column headers: under their group, or over both header rows when ungrouped.
            let h = if grouped && !label.is_empty() {
                let x = xs[first];
                let w: f32 = l.widths[first..first + span].iter().sum();
                c.rect(x, top - l.group_h, w, l.group_h);
                centered_lines(c, x, top - l.group_h, w, l.group_h, l.hfont, label);
                l.header_h
            } else {
                total_h
            };
            let cols = xs.iter().zip(&l.widths).zip(&l.headers);
            for ((&x, &w), lines) in cols.skip(first).take(span) {
                c.rect(x, top - total_h, w, h);
                centered_lines(c, x, top - total_h, w, h, l.hfont, lines);
            }
        }
        c.stroke();
        self.y -= total_h;
    }

    fn row(&mut self, t: &Table, l: &TableLayout, i: usize) {
        let r = &t.rows[i];
        let xs = col_x(&l.widths);
        let y0 = self.y - l.row_h;
        let c = self.pages.last_mut().expect("page");
        let bold = r.style != RowStyle::Normal;
        match r.style {
            RowStyle::Total => fill(c, MARGIN, y0, avail_w(), l.row_h, TOTAL_FILL),
            RowStyle::Subtotal => fill(c, MARGIN, y0, avail_w(), l.row_h, SUBTOTAL_FILL),
            RowStyle::Normal if i % 2 == 1 => fill(c, MARGIN, y0, avail_w(), l.row_h, ZEBRA_FILL),
            RowStyle::Normal => {}
        }
        c.set_stroke_gray(0.35).set_line_width(BORDER);
        for (j, w) in l.widths.iter().enumerate() {
            c.rect(xs[j], y0, *w, l.row_h);
        }
        c.stroke();
        let baseline = y0 + (l.row_h - l.font * 0.72) / 2.0;
        for (j, cell) in r.cells.iter().enumerate().take(l.widths.len()) {
            let (x, w) = (xs[j], l.widths[j]);
            let s = cell_text(cell);
            if s.is_empty() {
                continue;
            }
            let (color, b) = match cell {
                Cell::Alert(_) => (RED, true),
                _ => (BLACK, bold),
            };
            let bytes = fit(&s, b, l.font, w - 2.0 * PAD);
            let tw = width_bytes(&bytes, b, l.font);
            let right = matches!(cell, Cell::Count(_) | Cell::Percent(_));
            let tx = if right { x + w - PAD - tw } else { x + PAD };
            text_bytes(c, tx, baseline, l.font, b, color, &bytes);
        }
        self.y = y0;
    }

    fn notes(&mut self, notes: &[String], size: f32) {
        let leading = size * 1.3;
        for n in notes {
            for line in wrap(n, false, size, avail_w()) {
                if self.room() < leading {
                    self.new_page();
                }
                let y = self.y - size;
                text(self.c(), MARGIN, y, size, false, GREY_TEXT, &line);
                self.y -= leading;
            }
        }
    }

    fn table(&mut self, t: &Table) {
        let l = TableLayout::new(t);
        let head = TITLE_FONT + 7.0 + l.group_h + l.header_h;
        let notes_h: f32 = 5.0
            + t.notes
                .iter()
                .map(|n| wrap(n, false, NOTE_FONT, avail_w()).len() as f32 * NOTE_FONT * 1.3)
                .sum::<f32>();
        let whole = head + t.rows.len() as f32 * l.row_h + notes_h;
        let first_rows = t.rows.len().min(3) as f32 * l.row_h;
        // Keep a table on one page when a fresh page can hold it; otherwise start it where at
        // least its first rows fit.
        let fresh = PAGE_H - MARGIN - HEAD_H - 4.0 - Self::bottom();
        if (self.room() < whole && whole <= fresh) || self.room() < head + first_rows {
            self.new_page();
        }
        self.title(&t.title, false);
        self.header(t, &l);
        for i in 0..t.rows.len() {
            if self.room() < l.row_h {
                self.new_page();
                self.title(&t.title, true);
                self.header(t, &l);
            }
            self.row(t, &l, i);
        }
        self.y -= 5.0;
        self.notes(&t.notes, NOTE_FONT);
        self.y -= 14.0;
    }
}

fn col_x(widths: &[f32]) -> Vec<f32> {
    let mut x = MARGIN;
    widths
        .iter()
        .map(|w| {
            let at = x;
            x += w;
            at
        })
        .collect()
}

fn fill(c: &mut Content, x: f32, y: f32, w: f32, h: f32, rgb: Rgb) {
    c.set_fill_rgb(rgb.0, rgb.1, rgb.2);
    c.rect(x, y, w, h).fill_nonzero();
}

fn text_bytes(c: &mut Content, x: f32, y: f32, size: f32, bold: bool, rgb: Rgb, bytes: &[u8]) {
    c.set_fill_rgb(rgb.0, rgb.1, rgb.2);
    c.begin_text()
        .set_font(if bold { F_BOLD } else { F_REGULAR }, size)
        .next_line(x, y)
        .show(Str(bytes))
        .end_text();
}

fn text(c: &mut Content, x: f32, y: f32, size: f32, bold: bool, rgb: Rgb, s: &str) {
    text_bytes(c, x, y, size, bold, rgb, &encode(s));
}

/// Bold lines centered in a box.
fn centered_lines(c: &mut Content, x: f32, y: f32, w: f32, h: f32, size: f32, lines: &[String]) {
    let leading = size * 1.2;
    let block = lines.len() as f32 * leading;
    // Baseline of the first line: block centered vertically.
    let mut base = y + (h + block) / 2.0 - leading + (leading - size * 0.72) / 2.0;
    for line in lines {
        let bytes = fit(line, true, size, w - 2.0);
        let tw = width_bytes(&bytes, true, size);
        text_bytes(c, x + (w - tw) / 2.0, base, size, true, BLACK, &bytes);
        base -= leading;
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("writing to memory");
    e.finish().expect("writing to memory")
}

/// The report as PDF bytes.
pub fn pdf_bytes(report: &MonthlyReport) -> Vec<u8> {
    let doc = layout(report);
    let mut w = Writer {
        doc: &doc,
        pages: Vec::new(),
        y: 0.0,
    };
    w.new_page();
    for t in &doc.tables {
        w.table(t);
    }
    if w.room() < 60.0 {
        w.new_page();
    }
    w.title("Catatan", false);
    w.notes(&doc.notes, BODY_FONT);

    let n = w.pages.len();
    let footer_left = format!("{} \u{b7} {}", doc.title, doc.month);
    for (i, c) in w.pages.iter_mut().enumerate() {
        let y = MARGIN - 2.0;
        text(c, MARGIN, y, 7.5, false, GREY_TEXT, &footer_left);
        let page = format!("Halaman {} dari {}", i + 1, n);
        let pw = width(&page, false, 7.5);
        text(c, PAGE_W - MARGIN - pw, y, 7.5, false, GREY_TEXT, &page);
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let f_regular = Ref::new(3);
    let f_bold = Ref::new(4);
    let info = Ref::new(5);
    let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(6 + 2 * i as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(n as i32);
    for (i, content) in w.pages.into_iter().enumerate() {
        let content_id = Ref::new(7 + 2 * i as i32);
        let mut page = pdf.page(page_ids[i]);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(F_REGULAR, f_regular)
            .pair(F_BOLD, f_bold);
        page.finish();
        let data = deflate(&content.finish());
        pdf.stream(content_id, &data).filter(Filter::FlateDecode);
    }
    for (id, name) in [(f_regular, "Helvetica"), (f_bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!("{} {} - {}", doc.title, doc.month, doc.scope);
    pdf.document_info(info)
        .title(TextStr(&title))
        .creator(TextStr("Sinergi"));
    pdf.finish()
}

/// Writes the report as a PDF file.
pub fn write_pdf(report: &MonthlyReport, path: &std::path::Path) -> Result<(), super::WriteError> {
    std::fs::write(path, pdf_bytes(report))?;
    Ok(())
}
