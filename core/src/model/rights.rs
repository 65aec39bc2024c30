//! Who may write what: one table, read by the device before it queues an edit and by the server
//! before it applies one (DESIGN.md guarantee 9: rules go down to the field).

use super::{Fields, Kind};
use crate::error::Problem;
use crate::protocol::Role;

/// A field (optionally only some of its values) that only some roles may write.
pub struct FieldRule {
    pub kind: Kind,
    pub field: &'static str,
    /// The values the rule is about; `None`: any value, clearing included.
    pub values: Option<&'static [&'static str]>,
    pub roles: &'static [Role],
    /// Why, in Indonesian and English (shown to the person refused).
    pub why: (&'static str, &'static str),
}

const PUSKESMAS_STAFF: &[Role] = &[Role::Bidan, Role::Admin];
const REFERRAL_ANSWER: (&str, &str) = (
    "Jawaban rujukan hanya diisi oleh bidan atau puskesmas",
    "Only a bidan or the puskesmas answers a referral",
);
const CHILD_MERGE: (&str, &str) = (
    "Hanya bidan yang dapat menggabungkan data anak",
    "Only a bidan can merge children",
);

/// The field rules. A field not listed here may be written by every role that may write its kind.
pub const FIELD_RULES: &[FieldRule] = &[
    FieldRule {
        kind: Kind::Referral,
        field: "status",
        values: Some(&["dijawab", "selesai"]),
        roles: PUSKESMAS_STAFF,
        why: REFERRAL_ANSWER,
    },
    FieldRule {
        kind: Kind::Referral,
        field: "answer_date",
        values: None,
        roles: PUSKESMAS_STAFF,
        why: REFERRAL_ANSWER,
    },
    FieldRule {
        kind: Kind::Referral,
        field: "diagnosis",
        values: None,
        roles: PUSKESMAS_STAFF,
        why: REFERRAL_ANSWER,
    },
    FieldRule {
        kind: Kind::Referral,
        field: "action",
        values: None,
        roles: PUSKESMAS_STAFF,
        why: REFERRAL_ANSWER,
    },
    FieldRule {
        kind: Kind::Referral,
        field: "advice",
        values: None,
        roles: PUSKESMAS_STAFF,
        why: REFERRAL_ANSWER,
    },
    FieldRule {
        kind: Kind::Child,
        field: "merged_into",
        values: None,
        roles: PUSKESMAS_STAFF,
        why: CHILD_MERGE,
    },
    FieldRule {
        kind: Kind::Child,
        field: "status",
        values: Some(&["digabung"]),
        roles: PUSKESMAS_STAFF,
        why: CHILD_MERGE,
    },
];

fn refused(code: &str, field: Option<&str>, why: (&str, &str)) -> Problem {
    Problem::new(code, field, why.0.into(), why.1.into())
}

/// May a device of this role write these changes to a record of this kind? The first rule
/// broken is the answer. (The server's own edits do not come through here.)
pub fn check_write(role: &Role, kind: Kind, changes: &Fields) -> Result<(), Problem> {
    if *role == Role::Coordinator {
        return Err(refused(
            "read_only_role",
            None,
            (
                "Koordinator hanya dapat membaca dan membuat laporan",
                "Coordinators can read and report only",
            ),
        ));
    }
    if kind.is_master() {
        return Err(refused(
            "master_data_readonly",
            None,
            (
                "Data posyandu, desa dan puskesmas hanya dibuat di server",
                "Master data is made on the server only",
            ),
        ));
    }
    if kind.is_review() && !PUSKESMAS_STAFF.contains(role) {
        return Err(refused(
            "forbidden_for_role",
            None,
            (
                "Hanya bidan yang dapat menyelesaikan konflik dan duplikat",
                "Only a bidan can resolve conflicts and duplicates",
            ),
        ));
    }
    for rule in FIELD_RULES.iter().filter(|r| r.kind == kind) {
        let Some(v) = changes.get(rule.field) else {
            continue;
        };
        let concerned = match rule.values {
            None => true,
            Some(vals) => v.as_str().is_some_and(|s| vals.contains(&s)),
        };
        if concerned && !rule.roles.contains(role) {
            return Err(refused("forbidden_field", Some(rule.field), rule.why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn fields(v: Value) -> Fields {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_referral_answer_is_the_bidans() {
        let answer = fields(json!({"status": "dijawab", "diagnosis": "gizi kurang"}));
        let e = check_write(&Role::Kader, Kind::Referral, &answer).unwrap_err();
        assert_eq!(e.code, "forbidden_field");
        assert!(check_write(&Role::Bidan, Kind::Referral, &answer).is_ok());
        for f in ["answer_date", "diagnosis", "action", "advice"] {
            let one = fields(json!({ f: "x" }));
            assert!(
                check_write(&Role::Kader, Kind::Referral, &one).is_err(),
                "{f}"
            );
        }
        // The kader makes the referral and marks the answer seen.
        let made = fields(json!({"status": "menunggu", "seen": true, "reason": "bgm"}));
        assert!(check_write(&Role::Kader, Kind::Referral, &made).is_ok());
    }

    #[test]
    fn only_the_bidan_merges_children() {
        let merge = fields(json!({"merged_into": "0190f0f0-0000-7000-8000-000000000001"}));
        assert!(check_write(&Role::Kader, Kind::Child, &merge).is_err());
        assert!(check_write(&Role::Bidan, Kind::Child, &merge).is_ok());
        let st = fields(json!({"status": "digabung"}));
        assert!(check_write(&Role::Kader, Kind::Child, &st).is_err());
        let moved = fields(json!({"status": "pindah"}));
        assert!(check_write(&Role::Kader, Kind::Child, &moved).is_ok());
    }

    #[test]
    fn kinds_first() {
        let any = fields(json!({"name": "x"}));
        assert_eq!(
            check_write(&Role::Coordinator, Kind::Child, &any)
                .unwrap_err()
                .code,
            "read_only_role"
        );
        assert_eq!(
            check_write(&Role::Bidan, Kind::Posyandu, &any)
                .unwrap_err()
                .code,
            "master_data_readonly"
        );
        assert_eq!(
            check_write(&Role::Kader, Kind::Duplicate, &any)
                .unwrap_err()
                .code,
            "forbidden_for_role"
        );
    }
}
