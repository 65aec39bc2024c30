use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Every kind of record. Master kinds are made on the server only; the rest anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Puskesmas,
    Desa,
    Posyandu,
    Child,
    Woman,
    Pregnancy,
    PregnancyVisit,
    Measurement,
    Immunization,
    VitaminA,
    Referral,
    Event,
    /// A losing value kept for the bidan (made by the server).
    Conflict,
    /// A pair of possibly duplicate children (made by the server).
    Duplicate,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Puskesmas,
        Kind::Desa,
        Kind::Posyandu,
        Kind::Child,
        Kind::Woman,
        Kind::Pregnancy,
        Kind::PregnancyVisit,
        Kind::Measurement,
        Kind::Immunization,
        Kind::VitaminA,
        Kind::Referral,
        Kind::Event,
        Kind::Conflict,
        Kind::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Puskesmas => "puskesmas",
            Kind::Desa => "desa",
            Kind::Posyandu => "posyandu",
            Kind::Child => "child",
            Kind::Woman => "woman",
            Kind::Pregnancy => "pregnancy",
            Kind::PregnancyVisit => "pregnancy_visit",
            Kind::Measurement => "measurement",
            Kind::Immunization => "immunization",
            Kind::VitaminA => "vitamin_a",
            Kind::Referral => "referral",
            Kind::Event => "event",
            Kind::Conflict => "conflict",
            Kind::Duplicate => "duplicate",
        }
    }

    /// Made on the server only; a device edit to these is refused.
    pub fn is_master(self) -> bool {
        matches!(self, Kind::Puskesmas | Kind::Desa | Kind::Posyandu)
    }

    /// Review records for the bidan; kader devices do not receive them.
    pub fn is_review(self) -> bool {
        matches!(self, Kind::Conflict | Kind::Duplicate)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown record kind {s:?}"))
    }
}
