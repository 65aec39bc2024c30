//! The plausible range of each input: outside it the screening is not judged and the kader gets
//! a [`Problem`] saying which value to check.

use crate::Problem;

/// A measurement's plausible range and how to name it in a problem.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub field: &'static str,
    pub code: &'static str,
    /// Indonesian and English names of the measurement.
    pub name: (&'static str, &'static str),
    pub min: f64,
    pub max: f64,
    pub unit: &'static str,
}

impl Range {
    /// `Ok` when `value` is a number within the range (NaN is not).
    pub fn check(&self, value: f64) -> Result<f64, Problem> {
        if (self.min..=self.max).contains(&value) {
            return Ok(value);
        }
        let Range { min, max, unit, .. } = *self;
        Err(Problem::new(
            self.code,
            Some(self.field),
            format!(
                "{} {value} {unit} tidak mungkin: periksa lagi (antara {min} dan {max} {unit})",
                self.name.0
            ),
            format!(
                "{} {value} {unit} is not plausible: check it (between {min} and {max} {unit})",
                self.name.1
            ),
        ))
    }
}
