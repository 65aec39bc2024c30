//! Questionnaires: PUMA (PPOK), SRQ-20, Barthel ADL, SKILAS and TB symptoms. Answers come in the
//! order of [`items`](super::items); a form's total is judged on the scale of the same name.

use super::data::{items, judge, Form};
use super::Verdict;
use crate::Problem;

/// The total of `scores`, one per item of `form`, each from 0 to the item's `max_score`.
fn total(form: Form, scores: &[u8]) -> Result<u32, Problem> {
    let items = items(form);
    let name = form.name();
    if scores.len() != items.len() {
        return Err(Problem::new(
            "answer_count",
            Some(name),
            format!(
                "{name}: {} jawaban diperlukan, ada {}",
                items.len(),
                scores.len()
            ),
            format!(
                "{name}: {} answers needed, got {}",
                items.len(),
                scores.len()
            ),
        ));
    }
    if let Some((item, score)) = items.iter().zip(scores).find(|(i, s)| **s > i.max_score) {
        return Err(Problem::new(
            "answer_out_of_range",
            Some(name),
            format!(
                "{name}: nilai {score} untuk {} tidak mungkin (0 sampai {})",
                item.code, item.max_score
            ),
            format!(
                "{name}: score {score} for {} is not possible (0 to {})",
                item.code, item.max_score
            ),
        ));
    }
    Ok(scores.iter().map(|&s| u32::from(s)).sum())
}

/// The number of yes answers of a yes/no form.
fn count_yes(form: Form, answers: &[bool]) -> Result<u32, Problem> {
    let scores: Vec<u8> = answers.iter().map(|&yes| u8::from(yes)).collect();
    total(form, &scores)
}

/// PUMA (40 years and over): the 7 item scores; a total of 6 or more suggests a referral.
pub fn puma(scores: &[u8]) -> Result<Verdict, Problem> {
    Ok(judge("puma", total(Form::Puma, scores)?.into()))
}

/// SRQ-20 (15 years and over): the 20 yes/no answers; 6 or more yes suggests a referral.
pub fn srq20(answers: &[bool]) -> Result<Verdict, Problem> {
    Ok(judge("srq20", count_yes(Form::Srq20, answers)?.into()))
}

/// Barthel ADL from its 10 item scores: see [`barthel_total`].
pub fn barthel(scores: &[u8]) -> Result<Verdict, Problem> {
    barthel_total(total(Form::Barthel, scores)?)
}

/// Barthel ADL from its total (0-20): 20 mandiri (A), 12-19 ringan and 9-11 sedang (B), 5-8 berat
/// and 0-4 total (C).
pub fn barthel_total(total: u32) -> Result<Verdict, Problem> {
    let max: u32 = items(Form::Barthel)
        .iter()
        .map(|i| u32::from(i.max_score))
        .sum();
    if total > max {
        return Err(Problem::new(
            "answer_out_of_range",
            Some("barthel"),
            format!("barthel: skor {total} tidak mungkin (0 sampai {max})"),
            format!("barthel: score {total} is not possible (0 to {max})"),
        ));
    }
    Ok(judge("barthel", total.into()))
}

/// SKILAS (lansia): the yes/no answers (yes = a problem found); any yes suggests a referral.
pub fn skilas(answers: &[bool]) -> Result<Verdict, Problem> {
    Ok(judge("skilas", count_yes(Form::Skilas, answers)?.into()))
}

/// The TB symptom form for a person of `age_years`: children's items under 15 years.
pub fn tb_form_for_age(age_years: u32) -> Form {
    if age_years < 15 {
        Form::TbAnak
    } else {
        Form::TbDewasa
    }
}

/// TB symptoms (every age, every visit): the yes/no answers of `form` ([`Form::TbAnak`] or
/// [`Form::TbDewasa`]); any yes suggests a referral.
pub fn tb_symptoms(form: Form, answers: &[bool]) -> Result<Verdict, Problem> {
    let scale = match form {
        Form::TbAnak => "tb_anak",
        Form::TbDewasa => "tb_dewasa",
        other => {
            return Err(Problem::new(
                "wrong_form",
                Some("form"),
                format!("{} bukan formulir gejala TBC", other.name()),
                format!("{} is not a TB symptom form", other.name()),
            ))
        }
    };
    Ok(judge(scale, count_yes(form, answers)?.into()))
}
