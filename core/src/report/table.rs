//! The layout shared by the XLSX, CSV and PDF outputs: a [`Document`] of [`Table`]s with
//! Indonesian headers, one table per report, in this order: SKDN, ringkasan gizi per posyandu,
//! status gizi (by index, category, age group and sex), vitamin A, imunisasi, ibu hamil
//! (KEK and anaemia), kelahiran dan kematian, rujukan; then general notes (definitions,
//! warnings, the input summary).

use crate::growth::Sex;

use super::nutrition::{AgeGroup, SexAgeCounts};
use super::{Level, MonthlyReport, PlaceRef};

/// What a column holds (alignment and number format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    Text,
    Count,
    /// A percentage, 0-100.
    Percent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub kind: ColKind,
    /// Width in characters (XLSX; the PDF measures its text).
    pub width: f64,
}

/// A header above several columns. An empty label leaves the columns under it ungrouped: their
/// own header then spans both header rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub label: String,
    pub span: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Text that must catch the eye (a broken check): red.
    Alert(String),
    Count(u64),
    /// Percent (0-100); `None` when the denominator is 0.
    Percent(Option<f64>),
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStyle {
    Normal,
    /// A sum inside the table (bold).
    Subtotal,
    /// The totals row (bold, shaded).
    Total,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub style: RowStyle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// XLSX sheet name (at most 31 characters).
    pub sheet: String,
    pub title: String,
    pub columns: Vec<Column>,
    /// A first header row of groups (their spans add up to the column count).
    pub groups: Option<Vec<Group>>,
    pub rows: Vec<Row>,
    /// Definitions printed under the table.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// "Laporan Bulanan Posyandu".
    pub title: String,
    /// "Puskesmas X · Desa Y".
    pub scope: String,
    /// "Januari 2025".
    pub month: String,
    /// "2025-01".
    pub month_code: String,
    pub tables: Vec<Table>,
    /// General notes: how the month is defined, warnings, the input summary.
    pub notes: Vec<String>,
}

/// Indonesian number: 1.234.
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

/// Indonesian percentage with one decimal: 85,3 ("-" when undefined).
pub fn fmt_percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{p:.1}").replace('.', ","),
        None => "-".into(),
    }
}

fn col(header: &str, kind: ColKind, width: f64) -> Column {
    Column {
        header: header.into(),
        kind,
        width,
    }
}

fn count(h: &str) -> Column {
    col(h, ColKind::Count, (h.len() as f64 + 2.0).clamp(7.0, 14.0))
}

fn pct(h: &str) -> Column {
    col(h, ColKind::Percent, (h.len() as f64 + 2.0).clamp(7.0, 12.0))
}

fn group(label: &str, span: usize) -> Group {
    Group {
        label: label.into(),
        span,
    }
}

/// The "No, Posyandu[, Desa]" columns of per-posyandu tables.
struct PlaceCols {
    desa: bool,
}

impl PlaceCols {
    fn new(report: &MonthlyReport) -> Self {
        PlaceCols {
            desa: matches!(report.scope.level, Level::Puskesmas(_) | Level::All),
        }
    }

    fn columns(&self) -> Vec<Column> {
        let mut c = vec![
            col("No", ColKind::Count, 5.0),
            col("Posyandu", ColKind::Text, 24.0),
        ];
        if self.desa {
            c.push(col("Desa", ColKind::Text, 18.0));
        }
        c
    }

    fn groups(&self) -> Vec<Group> {
        (0..self.n()).map(|_| group("", 1)).collect()
    }

    fn n(&self) -> usize {
        2 + self.desa as usize
    }

    fn cells(&self, i: usize, p: &PlaceRef) -> Vec<Cell> {
        let mut c = vec![Cell::Count(i as u64 + 1), Cell::Text(p.name.clone())];
        if self.desa {
            c.push(Cell::Text(p.desa.clone().unwrap_or_default()));
        }
        c
    }

    fn total(&self) -> Vec<Cell> {
        let mut c = vec![Cell::Empty, Cell::Text("Jumlah".into())];
        if self.desa {
            c.push(Cell::Empty);
        }
        c
    }
}

fn n(v: u32) -> Cell {
    Cell::Count(v as u64)
}

/// A table with one row per posyandu and a totals row.
fn per_posyandu<T>(
    pc: &PlaceCols,
    rows: &[(PlaceRef, T)],
    total: &T,
    cells: impl Fn(&T) -> Vec<Cell>,
) -> Vec<Row> {
    let mut out: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(i, (p, t))| Row {
            cells: pc.cells(i, p).into_iter().chain(cells(t)).collect(),
            style: RowStyle::Normal,
        })
        .collect();
    out.push(Row {
        cells: pc.total().into_iter().chain(cells(total)).collect(),
        style: RowStyle::Total,
    });
    out
}

/// The document for `report`.
pub fn layout(report: &MonthlyReport) -> Document {
    let pc = PlaceCols::new(report);
    let tables = vec![
        skdn_table(report, &pc),
        nutrition_summary_table(report, &pc),
        nutrition_table(report),
        vitamin_a_table(report, &pc),
        immunization_table(report, &pc),
        maternal_table(report, &pc),
        vital_table(report, &pc),
        referral_table(report, &pc),
    ];
    Document {
        title: "Laporan Bulanan Posyandu".into(),
        scope: report.scope.describe(),
        month: report.month.name_id(),
        month_code: report.month.to_string(),
        tables,
        notes: general_notes(report),
    }
}

fn skdn_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let mut columns = pc.columns();
    columns.extend(
        ["S", "K", "D", "N", "T", "O", "B", "2T", "BGM"]
            .iter()
            .map(|h| count(h)),
    );
    columns.extend(["K/S", "D/S", "D/K", "N/D", "N/S"].iter().map(|h| pct(h)));
    columns.push(col("Cek D = N+T+O+B", ColKind::Text, 22.0));
    let mut groups = pc.groups();
    groups.push(group("Jumlah balita", 9));
    groups.push(group("Persentase (%)", 5));
    groups.push(group("", 1));
    let rows: Vec<_> = r
        .skdn
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.skdn.total, |s| {
        let mut c = vec![
            n(s.s),
            n(s.k),
            n(s.d),
            n(s.n),
            n(s.t),
            n(s.o),
            n(s.b),
            n(s.two_t),
            n(s.bgm),
            Cell::Percent(s.k_s),
            Cell::Percent(s.d_s),
            Cell::Percent(s.d_k),
            Cell::Percent(s.n_d),
            Cell::Percent(s.n_s),
        ];
        c.push(if s.check_ok {
            Cell::Text("Sesuai".into())
        } else {
            Cell::Alert(format!("TIDAK SESUAI: D {} / N+T+O+B {}", s.d, s.ntob()))
        });
        c
    });
    Table {
        sheet: "SKDN".into(),
        title: "Penimbangan balita (SKDN)".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "S: balita (0-59 bulan) di wilayah posyandu pada hari terakhir bulan ini; K: yang punya KMS/Buku KIA; D: yang ditimbang bulan ini.".into(),
            "N: naik (bertambah sekurang-kurangnya KBM sejak penimbangan bulan lalu); T: tidak naik; O: ditimbang bulan ini tetapi tidak bulan lalu; B: baru pertama kali ditimbang.".into(),
            "2T: tidak naik dua kali berturut-turut; BGM: di bawah garis merah (BB/U < -3 SD). Target: K/S 80%, D/S 80-85%.".into(),
        ],
    }
}

fn sex_age_cells(c: &SexAgeCounts, of: Option<&SexAgeCounts>) -> Vec<Cell> {
    let mut out = Vec::with_capacity(12);
    for g in AgeGroup::ALL {
        out.push(n(c.get(g, Sex::L)));
        out.push(n(c.get(g, Sex::P)));
    }
    out.push(n(c.sex_total(Sex::L)));
    out.push(n(c.sex_total(Sex::P)));
    out.push(n(c.total()));
    out.push(match of {
        Some(d) => Cell::Percent(super::percent(c.total(), d.total())),
        None => Cell::Empty,
    });
    out
}

fn nutrition_table(r: &MonthlyReport) -> Table {
    let mut columns = vec![
        col("Indeks", ColKind::Text, 17.0),
        col("Kategori", ColKind::Text, 26.0),
    ];
    let mut groups = vec![group("", 1), group("", 1)];
    for g in AgeGroup::ALL {
        columns.push(count("L"));
        columns.push(count("P"));
        groups.push(group(&format!("{} bulan", g.code()), 2));
    }
    columns.push(count("L"));
    columns.push(count("P"));
    columns.push(count("L+P"));
    columns.push(pct("%"));
    groups.push(group("Jumlah", 4));

    let mut rows = Vec::new();
    for ic in &r.nutrition.indices {
        for (i, cc) in ic.categories.iter().enumerate() {
            let mut cells = vec![
                Cell::Text(if i == 0 {
                    ic.label.to_string()
                } else {
                    String::new()
                }),
                Cell::Text(cc.category.label_id().into()),
            ];
            cells.extend(sex_age_cells(&cc.counts, Some(&ic.assessed)));
            rows.push(Row {
                cells,
                style: RowStyle::Normal,
            });
        }
        let mut cells = vec![Cell::Empty, Cell::Text("Jumlah dinilai".into())];
        cells.extend(sex_age_cells(&ic.assessed, None));
        rows.push(Row {
            cells,
            style: RowStyle::Subtotal,
        });
        for (label, c) in [
            ("Tidak dapat dinilai", &ic.not_assessable),
            ("Nilai ekstrem (ukur ulang)", &ic.flagged),
        ] {
            let mut cells = vec![Cell::Empty, Cell::Text(label.into())];
            cells.extend(sex_age_cells(c, None));
            rows.push(Row {
                cells,
                style: RowStyle::Normal,
            });
        }
    }
    let mut cells = vec![
        Cell::Text("Jumlah".into()),
        Cell::Text("Balita diukur".into()),
    ];
    cells.extend(sex_age_cells(&r.nutrition.measured, None));
    rows.push(Row {
        cells,
        style: RowStyle::Total,
    });
    Table {
        sheet: "Status Gizi".into(),
        title: "Status gizi balita menurut indeks, umur dan jenis kelamin".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Kategori Permenkes 2/2020 (standar WHO 2006) dari pengukuran terakhir bulan ini; umur dalam bulan penuh saat diukur. L: laki-laki, P: perempuan.".into(),
            "% = bagian dari anak yang dinilai untuk indeks itu. Tidak dapat dinilai: ukuran tidak ada, edema, atau di luar tabel. Nilai ekstrem (tidak wajar menurut WHO) tidak dimasukkan ke kategori: ukur ulang.".into(),
        ],
    }
}

fn nutrition_summary_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let mut columns = pc.columns();
    columns.push(count("Diukur"));
    columns.extend([count("Dinilai"), count("<\u{a0}-2\u{a0}SD"), pct("%")]);
    columns.extend([count("Dinilai"), count("<\u{a0}-2\u{a0}SD"), pct("%")]);
    columns.extend([
        count("Dinilai"),
        count("<\u{a0}-2\u{a0}SD"),
        pct("%"),
        count("Gizi buruk (<\u{a0}-3\u{a0}SD)"),
        count("Gizi lebih (>\u{a0}+2\u{a0}SD)"),
    ]);
    let mut groups = pc.groups();
    groups.push(group("", 1));
    groups.push(group("Berat badan kurang (BB/U)", 3));
    groups.push(group("Pendek/stunting (PB/U, TB/U)", 3));
    groups.push(group("Gizi kurang/wasting (BB/PB, BB/TB)", 5));
    let rows: Vec<_> = r
        .nutrition
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.summary))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.nutrition.total, |s| {
        vec![
            n(s.measured),
            n(s.bb_u_assessed),
            n(s.underweight),
            Cell::Percent(s.underweight_pct),
            n(s.pb_u_assessed),
            n(s.stunting),
            Cell::Percent(s.stunting_pct),
            n(s.bb_pb_assessed),
            n(s.wasting),
            Cell::Percent(s.wasting_pct),
            n(s.gizi_buruk),
            n(s.overweight),
        ]
    });
    Table {
        sheet: "Ringkasan Gizi".into(),
        title: "Masalah gizi per posyandu".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Diukur: balita (S) yang diukur bulan ini. Dinilai: yang indeksnya dapat dihitung dan wajar. % = bagian dari yang dinilai.".into(),
        ],
    }
}

fn vitamin_a_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let mut columns = pc.columns();
    columns.extend([count("Sasaran"), count("Dapat"), pct("%")]);
    columns.extend([count("Sasaran"), count("Dapat"), pct("%")]);
    columns.extend([count("Biru"), count("Merah")]);
    let mut groups = pc.groups();
    groups.push(group("Bayi 6-11 bulan (kapsul biru)", 3));
    groups.push(group("Anak 12-59 bulan (kapsul merah)", 3));
    groups.push(group("Diberikan bulan ini", 2));
    let rows: Vec<_> = r
        .vitamin_a
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.vitamin_a.total, |s| {
        vec![
            n(s.blue_target),
            n(s.blue_covered),
            Cell::Percent(s.blue_pct),
            n(s.red_target),
            n(s.red_covered),
            Cell::Percent(s.red_pct),
            n(s.blue_given),
            n(s.red_given),
        ]
    });
    let round = r.vitamin_a.round_start.name_id();
    let title = if r.vitamin_a.round_month {
        format!("Cakupan vitamin A (bulan vitamin A, putaran {round})")
    } else {
        format!("Cakupan vitamin A (putaran {round}, bulan sweeping)")
    };
    Table {
        sheet: "Vitamin A".into(),
        title,
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Sasaran: balita (S) menurut umur pada hari terakhir bulan ini. Kapsul biru diberikan sekali (6-11 bulan); kapsul merah setiap Februari dan Agustus (12-59 bulan).".into(),
            "Dapat kapsul merah: sejak awal putaran (Februari-Juli atau Agustus-Januari) sampai akhir bulan ini.".into(),
        ],
    }
}

/// "DPT_HB_HIB1" -> "DPT-HB-Hib 1".
pub fn vaccine_label(code: &str) -> String {
    match code.strip_prefix("DPT_HB_HIB") {
        Some(rest) => format!("DPT-HB-Hib {rest}"),
        None => code.to_string(),
    }
}

fn immunization_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let im = &r.immunization;
    // Optional vaccines (rotavirus, JE) only where given.
    let shown: Vec<usize> = (0..im.vaccines.len())
        .filter(|&i| !im.vaccines[i].optional || im.total.doses.get(i).is_some_and(|&d| d > 0))
        .collect();
    let other = im.total.other > 0;
    let mut columns = pc.columns();
    for &i in &shown {
        let mut c = count(&vaccine_label(&im.vaccines[i].code));
        c.width = 8.0;
        columns.push(c);
    }
    if other {
        columns.push(count("Lainnya"));
    }
    columns.push(count("Jumlah"));
    columns.push(count("IDL"));
    columns.push(count("Lengkap > 12 bln"));
    let mut groups = pc.groups();
    groups.push(group(
        "Dosis imunisasi diberikan bulan ini",
        shown.len() + other as usize + 1,
    ));
    groups.push(group("Imunisasi dasar lengkap", 2));
    let rows: Vec<_> = im
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts.clone()))
        .collect();
    let rows = per_posyandu(pc, &rows, &im.total, |s| {
        let mut c: Vec<Cell> = shown
            .iter()
            .map(|&i| n(s.doses.get(i).copied().unwrap_or(0)))
            .collect();
        if other {
            c.push(n(s.other));
        }
        c.push(n(s.total_doses));
        c.push(n(s.idl));
        c.push(n(s.idl_late));
        c
    });
    let basic: Vec<String> = im
        .vaccines
        .iter()
        .filter(|v| v.basic)
        .map(|v| vaccine_label(&v.code))
        .collect();
    Table {
        sheet: "Imunisasi".into(),
        title: "Imunisasi bayi dan balita".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            format!(
                "IDL (imunisasi dasar lengkap): anak yang bulan ini melengkapi {} sebelum umur 12 bulan; Lengkap > 12 bln: dilengkapi pada umur 12 bulan atau lebih.",
                basic.join(", ")
            ),
            format!("Jadwal imunisasi versi {}.", im.schedule_version),
        ],
    }
}

fn maternal_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let mut columns = pc.columns();
    columns.extend([
        count("Ibu hamil (akhir bulan)"),
        count("Diperiksa bulan ini"),
    ]);
    columns.extend([
        count("LiLA diukur"),
        count("KEK (LiLA <\u{a0}23,5\u{a0}cm)"),
        pct("%"),
    ]);
    columns.extend([
        count("Hb diperiksa"),
        count("Anemia (Hb <\u{a0}11\u{a0}g/dL)"),
        pct("%"),
    ]);
    let mut groups = pc.groups();
    groups.push(group("", 1));
    groups.push(group("", 1));
    groups.push(group("Kurang energi kronis (KEK)", 3));
    groups.push(group("Anemia", 3));
    let rows: Vec<_> = r
        .maternal
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.maternal.total, |s| {
        vec![
            n(s.pregnant),
            n(s.examined),
            n(s.lila_measured),
            n(s.kek),
            Cell::Percent(s.kek_pct),
            n(s.hb_measured),
            n(s.anaemia),
            Cell::Percent(s.anaemia_pct),
        ]
    });
    Table {
        sheet: "Ibu Hamil".into(),
        title: "Ibu hamil: kurang energi kronis (KEK) dan anemia".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Dari pemeriksaan bulan ini (nilai terakhir bulan ini). % = bagian dari ibu hamil yang diukur LiLA / diperiksa Hb.".into(),
        ],
    }
}

fn vital_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let mut columns = pc.columns();
    columns.extend([count("L"), count("P"), count("Jumlah")]);
    columns.extend([
        count("Ibu"),
        count("Bayi"),
        count("Balita"),
        count("Jumlah"),
    ]);
    let mut groups = pc.groups();
    groups.push(group("Kelahiran", 3));
    groups.push(group("Kematian", 4));
    let rows: Vec<_> = r
        .vital
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.vital.total, |s| {
        vec![
            n(s.births_l),
            n(s.births_p),
            n(s.births),
            n(s.deaths_mother),
            n(s.deaths_infant),
            n(s.deaths_child),
            n(s.deaths),
        ]
    });
    Table {
        sheet: "Lahir dan Mati".into(),
        title: "Kelahiran dan kematian".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Dari catatan kelahiran dan kematian bulan ini. Kelahiran tanpa data anak hanya masuk ke jumlah.".into(),
        ],
    }
}

fn referral_table(r: &MonthlyReport, pc: &PlaceCols) -> Table {
    let labels = [
        "2T",
        "BGM",
        "Gizi buruk",
        "KEK",
        "Anemia",
        "Tanda bahaya",
        "Lainnya",
        "Jumlah",
    ];
    let mut columns = pc.columns();
    columns.extend(labels.iter().map(|h| count(h)));
    columns.push(count("Dijawab bulan ini"));
    columns.push(count("Menunggu jawaban"));
    let mut groups = pc.groups();
    groups.push(group("Dirujuk bulan ini menurut alasan", labels.len()));
    groups.push(group("", 1));
    groups.push(group("", 1));
    let rows: Vec<_> = r
        .referrals
        .rows
        .iter()
        .map(|x| (x.place.clone(), x.counts))
        .collect();
    let rows = per_posyandu(pc, &rows, &r.referrals.total, |s| {
        let mut c: Vec<Cell> = s.made_by_reason.iter().map(|&v| n(v)).collect();
        c.push(n(s.made));
        c.push(n(s.answered));
        c.push(n(s.waiting));
        c
    });
    Table {
        sheet: "Rujukan".into(),
        title: "Rujukan balita dan ibu".into(),
        columns,
        groups: Some(groups),
        rows,
        notes: vec![
            "Menunggu jawaban: rujukan sampai akhir bulan ini yang belum dijawab puskesmas.".into(),
        ],
    }
}

fn general_notes(r: &MonthlyReport) -> Vec<String> {
    let mut notes = vec![
        format!(
            "Laporan menggambarkan balita di wilayah pada hari terakhir bulan ({}) dan kegiatan selama bulan itu.",
            r.month.last_day().format("%d-%m-%Y")
        ),
        "Anak yang genap 60 bulan dalam bulan ini tidak lagi dihitung sebagai balita (S) bulan ini. Anak yang pindah atau meninggal dalam bulan ini tidak dihitung dalam S maupun D bulan ini.".into(),
        "Bila anak ditimbang lebih dari sekali dalam sebulan, penimbangan terakhir yang dipakai.".into(),
        "Anak yang tercatat ganda dan sudah digabung dihitung sekali, dengan semua catatannya.".into(),
    ];
    for w in &r.warnings {
        notes.push(format!("PERHATIAN: {}", w.message));
    }
    let skipped = r.input.skipped_total();
    notes.push(format!(
        "Data dibaca: {} catatan; dilewati: {}.",
        fmt_count(r.input.records),
        fmt_count(skipped)
    ));
    for (reason, n) in &r.input.skipped {
        notes.push(format!("  dilewati {reason}: {}", fmt_count(*n)));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_number_formats() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1000), "1.000");
        assert_eq!(fmt_count(1234567), "1.234.567");
        assert_eq!(fmt_percent(Some(85.26)), "85,3");
        assert_eq!(fmt_percent(None), "-");
        assert_eq!(vaccine_label("DPT_HB_HIB3"), "DPT-HB-Hib 3");
    }
}
