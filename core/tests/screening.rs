//! ILP screening verdicts, hand-worked at and just across every threshold, and the bad inputs
//! that give a problem instead of a verdict.

use sinergi_core::growth::Sex;
use sinergi_core::screening::{
    adult_bmi, anaemia, barthel, barthel_total, blood_glucose, blood_pressure, bmi, items, puma,
    skilas, srq20, tb_form_for_age, tb_symptoms, waist_circumference, Form, GlucoseTest, Verdict,
};
use sinergi_core::Problem;

fn code(v: Result<Verdict, Problem>) -> &'static str {
    v.expect("a verdict").code
}

fn problem(v: Result<Verdict, Problem>) -> String {
    v.expect_err("a problem").code
}

/// `n` yes answers first, the rest no, for a yes/no form.
fn yes(form: Form, n: usize) -> Vec<bool> {
    (0..items(form).len()).map(|i| i < n).collect()
}

#[test]
fn screening_blood_pressure_grades_at_every_edge() {
    let cases = [
        (110, 70, "normal"),
        (129, 84, "normal"),
        (130, 70, "normal_tinggi"),
        (120, 85, "normal_tinggi"),
        (139, 89, "normal_tinggi"),
        (140, 89, "hipertensi_derajat_1"),
        (139, 90, "hipertensi_derajat_1"),
        (159, 99, "hipertensi_derajat_1"),
        (160, 99, "hipertensi_derajat_2"),
        (159, 100, "hipertensi_derajat_2"),
        (179, 109, "hipertensi_derajat_2"),
        (180, 80, "hipertensi_derajat_3"),
        (120, 110, "hipertensi_derajat_3"),
        (300, 200, "hipertensi_derajat_3"),
    ];
    for (s, d, want) in cases {
        assert_eq!(code(blood_pressure(s, d)), want, "{s}/{d}");
    }
    let v = blood_pressure(145, 80).unwrap();
    assert!(v.refer);
    assert_eq!(v.threshold, "TD 140-159/90-99 mmHg");
    assert_eq!(v.label, "Hipertensi derajat 1");
    assert_eq!(v.label_en, "Hypertension grade 1");
    assert_eq!(v.version, "ilp-2023.1");
    // The diastolic grade wins: its own scale, the same code and threshold text.
    let v = blood_pressure(120, 110).unwrap();
    assert_eq!(
        (v.scale, v.threshold),
        ("td_diastolik", "TD >= 180/110 mmHg")
    );
    assert!(!blood_pressure(139, 89).unwrap().refer);
}

#[test]
fn screening_blood_pressure_bad_input() {
    assert_eq!(
        problem(blood_pressure(301, 90)),
        "blood_pressure_out_of_range"
    );
    assert_eq!(
        problem(blood_pressure(49, 30)),
        "blood_pressure_out_of_range"
    );
    assert_eq!(
        problem(blood_pressure(250, 201)),
        "blood_pressure_out_of_range"
    );
    assert_eq!(
        problem(blood_pressure(120, 0)),
        "blood_pressure_out_of_range"
    );
    assert_eq!(
        problem(blood_pressure(80, 120)),
        "systolic_not_above_diastolic"
    );
    assert_eq!(
        problem(blood_pressure(90, 90)),
        "systolic_not_above_diastolic"
    );
    let p = blood_pressure(80, 120).unwrap_err();
    assert_eq!(p.field.as_deref(), Some("systolic"));
    assert!(p.message.contains("Sistolik 80") && p.message_en.contains("Systolic 80"));
}

#[test]
fn screening_blood_glucose_at_every_edge() {
    use GlucoseTest::*;
    let cases = [
        (Sewaktu, 139.0, "normal"),
        (Sewaktu, 140.0, "prediabetes"),
        (Sewaktu, 199.0, "prediabetes"),
        (Sewaktu, 200.0, "diabetes"),
        (Puasa, 99.0, "normal"),
        (Puasa, 100.0, "prediabetes"),
        (Puasa, 125.0, "prediabetes"),
        (Puasa, 126.0, "diabetes"),
    ];
    for (test, mg, want) in cases {
        assert_eq!(code(blood_glucose(test, mg)), want, "{test:?} {mg}");
    }
    let v = blood_glucose(Sewaktu, 250.0).unwrap();
    assert!(v.refer);
    assert_eq!(v.threshold, "GDS >= 200 mg/dL");
    assert!(!blood_glucose(Puasa, 90.0).unwrap().refer);
    for bad in [-5.0, 0.0, 1001.0, f64::NAN] {
        assert_eq!(
            problem(blood_glucose(Puasa, bad)),
            "glucose_out_of_range",
            "{bad}"
        );
    }
}

#[test]
fn screening_adult_bmi_at_every_edge() {
    // At 200 cm the BMI is a quarter of the weight.
    let cases = [
        (73.6, "kurus"),     // 18.4
        (74.0, "normal"),    // 18.5
        (100.0, "normal"),   // 25.0
        (100.4, "gemuk"),    // 25.1
        (108.0, "gemuk"),    // 27.0
        (108.4, "obesitas"), // 27.1
    ];
    for (kg, want) in cases {
        assert_eq!(code(adult_bmi(kg, 200.0)), want, "{kg} kg");
    }
    assert_eq!(bmi(60.0, 155.0).unwrap(), 25.0); // 24.97 on the card as 25.0
    assert_eq!(code(adult_bmi(60.0, 155.0)), "normal");
    assert_eq!(bmi(70.0, 160.0).unwrap(), 27.3);
    assert!(adult_bmi(70.0, 160.0).unwrap().refer);
    assert_eq!(problem(adult_bmi(-60.0, 160.0)), "weight_out_of_range");
    assert_eq!(problem(adult_bmi(60.0, 16.0)), "height_out_of_range");
    assert_eq!(
        problem(adult_bmi(60.0, f64::INFINITY)),
        "height_out_of_range"
    );
}

#[test]
fn screening_waist_circumference_by_sex() {
    assert_eq!(code(waist_circumference(Sex::L, 90.0)), "normal");
    assert_eq!(code(waist_circumference(Sex::L, 90.1)), "obesitas_sentral");
    assert_eq!(code(waist_circumference(Sex::P, 80.0)), "normal");
    assert_eq!(code(waist_circumference(Sex::P, 80.1)), "obesitas_sentral");
    assert_eq!(code(waist_circumference(Sex::P, 85.0)), "obesitas_sentral");
    assert_eq!(code(waist_circumference(Sex::L, 85.0)), "normal");
    let v = waist_circumference(Sex::P, 81.0).unwrap();
    assert_eq!(v.threshold, "LP > 80 cm (perempuan)");
    assert!(v.refer);
    assert_eq!(
        problem(waist_circumference(Sex::L, 0.0)),
        "waist_out_of_range"
    );
    assert_eq!(
        problem(waist_circumference(Sex::L, 400.0)),
        "waist_out_of_range"
    );
}

#[test]
fn screening_puma_score_edges() {
    assert_eq!(items(Form::Puma).len(), 7);
    assert_eq!(code(puma(&[1, 2, 1, 1, 0, 0, 0])), "tidak_berisiko_ppok"); // 5
    assert_eq!(code(puma(&[1, 2, 1, 1, 1, 0, 0])), "berisiko_ppok"); // 6
    assert_eq!(code(puma(&[0; 7])), "tidak_berisiko_ppok");
    assert_eq!(code(puma(&[1, 2, 2, 1, 1, 1, 1])), "berisiko_ppok"); // 9, the most
    let v = puma(&[1, 2, 2, 1, 0, 0, 0]).unwrap();
    assert!(v.refer);
    assert_eq!(v.threshold, "Skor PUMA >= 6");
    // Out of an item's range (sex scores 0 or 1, a yes/no item 0 or 1) or the wrong count.
    assert_eq!(problem(puma(&[2, 0, 0, 0, 0, 0, 0])), "answer_out_of_range");
    assert_eq!(problem(puma(&[0, 3, 0, 0, 0, 0, 0])), "answer_out_of_range");
    assert_eq!(problem(puma(&[0, 0, 0, 0, 0, 0, 2])), "answer_out_of_range");
    assert_eq!(problem(puma(&[0; 6])), "answer_count");
    assert_eq!(problem(puma(&[0; 8])), "answer_count");
    let p = puma(&[0, 3, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(p.message.contains("usia") && p.message_en.contains("0 to 2"));
}

#[test]
fn screening_srq20_count_edges() {
    assert_eq!(items(Form::Srq20).len(), 20);
    assert_eq!(code(srq20(&yes(Form::Srq20, 0))), "normal");
    assert_eq!(code(srq20(&yes(Form::Srq20, 5))), "normal");
    assert_eq!(
        code(srq20(&yes(Form::Srq20, 6))),
        "gangguan_mental_emosional"
    );
    assert_eq!(
        code(srq20(&yes(Form::Srq20, 20))),
        "gangguan_mental_emosional"
    );
    assert!(srq20(&yes(Form::Srq20, 6)).unwrap().refer);
    assert!(!srq20(&yes(Form::Srq20, 5)).unwrap().refer);
    assert_eq!(problem(srq20(&[true; 19])), "answer_count");
}

#[test]
fn screening_barthel_groups_at_every_edge() {
    let cases = [
        (20, "mandiri", "(A)"),
        (19, "ketergantungan_ringan", "(B)"),
        (12, "ketergantungan_ringan", "(B)"),
        (11, "ketergantungan_sedang", "(B)"),
        (9, "ketergantungan_sedang", "(B)"),
        (8, "ketergantungan_berat", "(C)"),
        (5, "ketergantungan_berat", "(C)"),
        (4, "ketergantungan_total", "(C)"),
        (0, "ketergantungan_total", "(C)"),
    ];
    for (total, want, group) in cases {
        let v = barthel_total(total).unwrap();
        assert_eq!(v.code, want, "{total}");
        assert!(
            v.label.ends_with(group) && v.label_en.ends_with(group),
            "{total}"
        );
        assert_eq!(v.refer, group == "(C)", "{total}");
    }
    assert_eq!(problem(barthel_total(21)), "answer_out_of_range");
    // From the 10 items: the item maxima make 20.
    assert_eq!(items(Form::Barthel).len(), 10);
    assert_eq!(code(barthel(&[2, 2, 1, 2, 2, 3, 3, 2, 2, 1])), "mandiri");
    assert_eq!(
        code(barthel(&[2, 2, 1, 2, 2, 3, 3, 2, 2, 0])),
        "ketergantungan_ringan"
    );
    assert_eq!(
        code(barthel(&[1, 1, 0, 1, 1, 1, 1, 1, 1, 0])),
        "ketergantungan_berat"
    ); // 8
    assert_eq!(
        problem(barthel(&[2, 2, 2, 2, 2, 3, 3, 2, 2, 1])),
        "answer_out_of_range"
    );
    assert_eq!(problem(barthel(&[2; 9])), "answer_count");
}

#[test]
fn screening_skilas_any_item_refers() {
    let n = items(Form::Skilas).len();
    assert_eq!(code(skilas(&vec![false; n])), "normal");
    assert!(!skilas(&vec![false; n]).unwrap().refer);
    for i in 0..n {
        let mut answers = vec![false; n];
        answers[i] = true;
        let v = skilas(&answers).unwrap();
        assert_eq!((v.code, v.refer), ("perlu_rujukan", true), "item {i}");
    }
    assert_eq!(problem(skilas(&[])), "answer_count");
}

#[test]
fn screening_tb_symptoms_by_age() {
    assert_eq!(tb_form_for_age(0), Form::TbAnak);
    assert_eq!(tb_form_for_age(14), Form::TbAnak);
    assert_eq!(tb_form_for_age(15), Form::TbDewasa);
    assert_eq!(tb_form_for_age(70), Form::TbDewasa);
    let codes = |f| items(f).iter().map(|i| i.code).collect::<Vec<_>>();
    assert!(codes(Form::TbAnak).contains(&"lesu"));
    assert!(codes(Form::TbDewasa).contains(&"keringat_malam"));
    for form in [Form::TbAnak, Form::TbDewasa] {
        let n = items(form).len();
        assert_eq!(n, 6);
        assert_eq!(code(tb_symptoms(form, &vec![false; n])), "tidak_ada_gejala");
        for i in 0..n {
            let mut answers = vec![false; n];
            answers[i] = true;
            let v = tb_symptoms(form, &answers).unwrap();
            assert_eq!(
                (v.code, v.refer),
                ("terduga_tbc", true),
                "{form:?} item {i}"
            );
        }
        assert_eq!(problem(tb_symptoms(form, &[true])), "answer_count");
    }
    assert_eq!(problem(tb_symptoms(Form::Puma, &[false; 7])), "wrong_form");
}

#[test]
fn screening_anaemia_who_2011_by_age() {
    use Sex::*;
    let cases = [
        // 5-11 years: severe < 8.0, moderate 8.0-10.9, mild 11.0-11.4, none from 11.5.
        (P, 5, 7.9, "anemia_berat"),
        (P, 11, 8.0, "anemia_sedang"),
        (L, 8, 10.9, "anemia_sedang"),
        (P, 11, 11.0, "anemia_ringan"),
        (P, 11, 11.4, "anemia_ringan"),
        (P, 11, 11.5, "tidak_anemia"),
        // 12-14 years: mild 11.0-11.9, none from 12.0.
        (P, 12, 11.5, "anemia_ringan"),
        (P, 14, 11.9, "anemia_ringan"),
        (P, 12, 12.0, "tidak_anemia"),
        (P, 14, 7.9, "anemia_berat"),
        // Non-pregnant women from 15: mild 11.0-11.9, none from 12.0.
        (P, 15, 11.9, "anemia_ringan"),
        (P, 18, 12.0, "tidak_anemia"),
        (P, 15, 10.9, "anemia_sedang"),
        (P, 40, 8.0, "anemia_sedang"),
        // Men from 15: mild 11.0-12.9, none from 13.0.
        (L, 15, 12.9, "anemia_ringan"),
        (L, 15, 13.0, "tidak_anemia"),
        (L, 17, 12.0, "anemia_ringan"),
    ];
    for (sex, age, hb, want) in cases {
        assert_eq!(
            code(anaemia(sex, age, hb)),
            want,
            "{sex:?} {age} y {hb} g/dL"
        );
    }
    let v = anaemia(P, 16, 11.5).unwrap();
    assert!(v.refer);
    assert_eq!(v.scale, "hb_perempuan_15_tahun");
    assert!(v.threshold.contains("11,0-11,9"));
    assert!(!anaemia(P, 16, 12.5).unwrap().refer);
    assert_eq!(problem(anaemia(P, 4, 11.0)), "age_out_of_range");
    assert_eq!(problem(anaemia(P, 15, -1.0)), "hb_out_of_range");
    assert_eq!(problem(anaemia(P, 15, 30.0)), "hb_out_of_range");
    assert_eq!(problem(anaemia(P, 15, f64::NAN)), "hb_out_of_range");
}

#[test]
fn screening_every_form_has_items_with_labels() {
    for form in [
        Form::Puma,
        Form::Srq20,
        Form::Barthel,
        Form::Skilas,
        Form::TbAnak,
        Form::TbDewasa,
    ] {
        let items = items(form);
        assert!(!items.is_empty(), "{form:?}");
        for i in items {
            assert!(
                !i.label.is_empty() && !i.label_en.is_empty() && i.max_score >= 1,
                "{i:?}"
            );
        }
    }
}
