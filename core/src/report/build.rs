//! [`build`]: one pass over the children, pregnancies, referrals and events of the area.

use crate::error::Problem;

use super::coverage::{
    round_start, vaccine_columns, ImmunizationCounts, ImmunizationReport, ImmunizationRow,
    VitaminACounts, VitaminAReport, VitaminARow,
};
use super::input::ReportInput;
use super::maternal::{MaternalCounts, MaternalReport, MaternalRow};
use super::nutrition::{NutritionReport, NutritionRow, NutritionSummary};
use super::referrals::{ReferralCounts, ReferralReport, ReferralRow};
use super::skdn::{child_month, in_s, Skdn, SkdnReport, SkdnRow};
use super::vital::{VitalCounts, VitalReport, VitalRow};
use super::{Level, MonthlyReport, PlaceRef, YearMonth};

/// Every monthly report for `month` and the area of `level`. Never fails: an unknown area gives
/// empty tables and a warning; unusable records are counted in [`MonthlyReport::input`].
pub fn build(input: &ReportInput, month: YearMonth, level: Level) -> MonthlyReport {
    let (rows, scope) = input.scope(&level);
    let places: Vec<PlaceRef> = rows.iter().map(|&p| input.place(p)).collect();
    let mut row_of = vec![usize::MAX; input.posyandu.len()];
    for (r, &p) in rows.iter().enumerate() {
        row_of[p as usize] = r;
    }
    let nr = rows.len();

    let mut skdn = vec![Skdn::default(); nr];
    let mut nutrition = NutritionReport::new();
    let mut nut_rows = vec![NutritionSummary::default(); nr];
    let mut vita = vec![VitaminACounts::default(); nr];
    let vaccines = vaccine_columns();
    let basic: Vec<bool> = vaccines.iter().map(|v| v.basic).collect();
    let mut imm = vec![ImmunizationCounts::new(vaccines.len()); nr];
    let mut scratch = vec![None; vaccines.len()];
    let round = round_start(month);

    for (ci, c) in input.children.iter().enumerate() {
        let r = row_of[c.posyandu as usize];
        if r == usize::MAX {
            continue;
        }
        let age_end = in_s(c, month);
        if age_end.is_some() {
            let cm = child_month(c, input.measurements.of(ci), month);
            skdn[r].add_child(c, &cm);
            if let Some(a) = &cm.assessment {
                nutrition.add_assessment(a);
                nut_rows[r].add_assessment(a);
            }
        }
        vita[r].add_child(age_end, input.vitamin_a.of(ci), month, round);
        imm[r].add_child(c, input.immunizations.of(ci), month, &basic, &mut scratch);
    }

    let mut maternal = vec![MaternalCounts::default(); nr];
    for (pi, p) in input.pregnancies.iter().enumerate() {
        let r = row_of[p.posyandu as usize];
        if r != usize::MAX {
            maternal[r].add_pregnancy(p, input.visits.of(pi), month);
        }
    }
    let mut referrals = vec![ReferralCounts::default(); nr];
    for x in &input.referrals {
        let r = row_of[x.posyandu as usize];
        if r != usize::MAX {
            referrals[r].add_referral(x, month);
        }
    }
    let mut vital = vec![VitalCounts::default(); nr];
    for e in &input.events {
        let r = row_of[e.posyandu as usize];
        if r != usize::MAX {
            vital[r].add_event(e, month);
        }
    }

    // Totals and ratios.
    let mut skdn_total = Skdn::default();
    for s in &mut skdn {
        skdn_total += &*s;
        s.finish();
    }
    skdn_total.finish();
    let mut nut_total = NutritionSummary::default();
    for s in &mut nut_rows {
        nut_total += &*s;
        s.finish();
    }
    nut_total.finish();
    nutrition.total = nut_total;
    let mut vita_total = VitaminACounts::default();
    for s in &mut vita {
        vita_total += &*s;
        s.finish();
    }
    vita_total.finish();
    let mut imm_total = ImmunizationCounts::new(vaccines.len());
    for s in &imm {
        imm_total += s;
    }
    let mut mat_total = MaternalCounts::default();
    for s in &mut maternal {
        mat_total += &*s;
        s.finish();
    }
    mat_total.finish();
    let mut ref_total = ReferralCounts::default();
    for s in &referrals {
        ref_total += s;
    }
    let mut vital_total = VitalCounts::default();
    for s in &vital {
        vital_total += s;
    }

    // Warnings.
    let mut warnings = Vec::new();
    if !input.knows(&level) {
        warnings.push(Problem::new(
            "unknown_area",
            None,
            "Wilayah laporan tidak ditemukan dalam data: semua tabel kosong".into(),
            "The report's area is not in the data: every table is empty".into(),
        ));
    }
    for (s, place) in skdn.iter().zip(&places) {
        if !s.check_ok {
            warnings.push(check_problem(&place.name, s));
        }
    }
    if !skdn_total.check_ok {
        warnings.push(check_problem("jumlah", &skdn_total));
    }
    let skipped = input.summary.skipped_total();
    if skipped > 0 {
        warnings.push(Problem::new(
            "records_skipped",
            None,
            format!("{skipped} catatan tidak dapat dipakai dan dilewati (lihat ringkasan data)"),
            format!("{skipped} records could not be used and were skipped (see the input summary)"),
        ));
    }
    if input.summary.gone_without_date > 0 {
        let n = input.summary.gone_without_date;
        warnings.push(Problem::new(
            "status_without_date",
            Some("status_date"),
            format!(
                "{n} anak berstatus pindah/meninggal tanpa tanggal: tidak dihitung di bulan mana pun"
            ),
            format!("{n} children moved away or died without a status date: counted in no month"),
        ));
    }

    let zip_rows = |n: usize| places.iter().take(n).cloned();
    MonthlyReport {
        month,
        scope,
        skdn: SkdnReport {
            rows: zip_rows(nr)
                .zip(skdn)
                .map(|(place, counts)| SkdnRow { place, counts })
                .collect(),
            total: skdn_total,
        },
        nutrition: NutritionReport {
            rows: zip_rows(nr)
                .zip(nut_rows)
                .map(|(place, summary)| NutritionRow { place, summary })
                .collect(),
            ..nutrition
        },
        vitamin_a: VitaminAReport {
            round_month: round == month,
            round_start: round,
            rows: zip_rows(nr)
                .zip(vita)
                .map(|(place, counts)| VitaminARow { place, counts })
                .collect(),
            total: vita_total,
        },
        immunization: ImmunizationReport {
            schedule_version: crate::growth::schedule().version.clone(),
            vaccines,
            rows: zip_rows(nr)
                .zip(imm)
                .map(|(place, counts)| ImmunizationRow { place, counts })
                .collect(),
            total: imm_total,
        },
        maternal: MaternalReport {
            rows: zip_rows(nr)
                .zip(maternal)
                .map(|(place, counts)| MaternalRow { place, counts })
                .collect(),
            total: mat_total,
        },
        vital: VitalReport {
            rows: zip_rows(nr)
                .zip(vital)
                .map(|(place, counts)| VitalRow { place, counts })
                .collect(),
            total: vital_total,
        },
        referrals: ReferralReport {
            reasons: ReferralReport::reasons(),
            rows: zip_rows(nr)
                .zip(referrals)
                .map(|(place, counts)| ReferralRow { place, counts })
                .collect(),
            total: ref_total,
        },
        input: input.summary.clone(),
        warnings,
    }
}

fn check_problem(name: &str, s: &Skdn) -> Problem {
    Problem::new(
        "skdn_check_failed",
        None,
        format!(
            "Cek D = N+T+O+B tidak cocok ({name}): D = {}, N+T+O+B = {}; {} penimbangan tidak dapat dinilai (tanggal sebelum tanggal lahir?)",
            s.d,
            s.ntob(),
            s.undetermined
        ),
        format!(
            "Check D = N+T+O+B fails ({name}): D = {}, N+T+O+B = {}; {} weighings could not be decided (dated before the birth date?)",
            s.d,
            s.ntob(),
            s.undetermined
        ),
    )
}
