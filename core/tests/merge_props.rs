//! Property tests of the pure merge rule (DESIGN.md "Sync: what must always hold", 2): merging is
//! commutative, associative and idempotent, so every replica that has seen the same edits holds
//! the same values, whatever the order and however often they arrived.
//!
//! Timestamps come from tiny ranges so that equal millis, equal counters and even fully equal
//! timestamps (with different values: forged or buggy input) happen often.

use proptest::prelude::*;
use serde_json::{json, Value};
use sinergi_core::hlc::Hlc;
use sinergi_core::merge::{apply_edit, merge_field, merge_records, wins, FieldState, RecordState};
use uuid::Uuid;

const FIELDS: &[&str] = &["name", "dusun", "rt_rw", "father_name"];

fn node(i: u8) -> Uuid {
    if i == 0 {
        Uuid::nil()
    } else {
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + i as u128)
    }
}

fn hlc() -> impl Strategy<Value = Hlc> {
    (0i64..3, 0u32..3, 0u8..3).prop_map(|(millis, counter, n)| Hlc {
        millis,
        counter,
        node: node(n),
    })
}

/// A small set of JSON values, with look-alikes ("1" and 1, 1 and 1.0, null and "null").
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("Ani")),
        Just(json!("Budi")),
        Just(json!("1")),
        Just(json!(1)),
        Just(json!(1.0)),
        Just(json!("null")),
        Just(json!(true)),
        Just(json!({"a": 1})),
    ]
}

fn field_state() -> impl Strategy<Value = FieldState> {
    (value(), hlc()).prop_map(|(value, hlc)| FieldState { value, hlc })
}

fn field_name() -> impl Strategy<Value = String> {
    prop::sample::select(FIELDS).prop_map(str::to_string)
}

fn record() -> impl Strategy<Value = RecordState> {
    prop::collection::btree_map(field_name(), field_state(), 0..=FIELDS.len())
}

/// One edit: some fields written at one timestamp.
fn edit() -> impl Strategy<Value = (Hlc, serde_json::Map<String, Value>)> {
    (
        hlc(),
        prop::collection::btree_map(field_name(), value(), 1..=FIELDS.len()),
    )
        .prop_map(|(h, f)| (h, f.into_iter().collect()))
}

/// A list of edits, the same list shuffled with some edits delivered again.
type Edits = Vec<(Hlc, serde_json::Map<String, Value>)>;
fn edits_and_redelivery() -> impl Strategy<Value = (Edits, Edits)> {
    prop::collection::vec(edit(), 0..8).prop_flat_map(|edits| {
        let n = edits.len();
        let dups = if n == 0 {
            Just(Vec::new()).boxed()
        } else {
            prop::collection::vec(0..n, 0..4).boxed()
        };
        (Just(edits), dups).prop_flat_map(|(edits, dups)| {
            let mut again = edits.clone();
            again.extend(dups.iter().map(|&i| edits[i].clone()));
            (Just(edits), Just(again).prop_shuffle())
        })
    })
}

fn apply_all(start: &RecordState, edits: &Edits) -> RecordState {
    let mut s = start.clone();
    for (h, f) in edits {
        apply_edit(&mut s, *h, f);
    }
    s
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn merge_field_is_commutative(a in field_state(), b in field_state()) {
        prop_assert_eq!(merge_field(&a, &b), merge_field(&b, &a));
    }

    #[test]
    fn merge_field_is_associative(a in field_state(), b in field_state(), c in field_state()) {
        prop_assert_eq!(
            merge_field(&merge_field(&a, &b), &c),
            merge_field(&a, &merge_field(&b, &c))
        );
    }

    #[test]
    fn merge_field_is_idempotent(a in field_state(), b in field_state()) {
        prop_assert_eq!(merge_field(&a, &a), a.clone());
        // Merging in something already merged in changes nothing.
        let ab = merge_field(&a, &b);
        prop_assert_eq!(merge_field(&ab, &b), ab.clone());
        prop_assert_eq!(merge_field(&ab, &a), ab);
    }

    #[test]
    fn merge_field_picks_one_of_its_inputs_and_the_latest_clock(
        a in field_state(), b in field_state()
    ) {
        let m = merge_field(&a, &b);
        prop_assert!(m == a || m == b);
        prop_assert_eq!(m.hlc, a.hlc.max(b.hlc));
    }

    #[test]
    fn wins_agrees_with_merge_field(a in field_state(), b in field_state()) {
        prop_assert_eq!(wins(&a, &b), merge_field(&a, &b) == a && a != b);
        // Never both ways; between different states exactly one way.
        prop_assert!(!(wins(&a, &b) && wins(&b, &a)));
        if a != b {
            prop_assert!(wins(&a, &b) || wins(&b, &a));
        }
        prop_assert!(!wins(&a, &a));
    }

    #[test]
    fn merge_records_is_commutative(a in record(), b in record()) {
        prop_assert_eq!(merge_records(&a, &b), merge_records(&b, &a));
    }

    #[test]
    fn merge_records_is_associative(a in record(), b in record(), c in record()) {
        prop_assert_eq!(
            merge_records(&merge_records(&a, &b), &c),
            merge_records(&a, &merge_records(&b, &c))
        );
    }

    #[test]
    fn merge_records_is_idempotent(a in record(), b in record()) {
        prop_assert_eq!(merge_records(&a, &a), a.clone());
        let ab = merge_records(&a, &b);
        prop_assert_eq!(merge_records(&ab, &b), ab.clone());
        prop_assert_eq!(merge_records(&ab, &a), ab.clone());
        // The empty record is the identity.
        prop_assert_eq!(merge_records(&a, &RecordState::new()), a.clone());
        prop_assert_eq!(merge_records(&RecordState::new(), &a), a);
    }

    #[test]
    fn merge_records_keeps_every_field(a in record(), b in record()) {
        let m = merge_records(&a, &b);
        let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
        prop_assert_eq!(m.keys().collect::<std::collections::BTreeSet<_>>(), keys);
    }

    #[test]
    fn apply_edit_is_merging_a_one_edit_record(start in record(), e in edit()) {
        let (h, f) = e;
        let mut applied = start.clone();
        apply_edit(&mut applied, h, &f);
        let as_record: RecordState = f
            .iter()
            .map(|(k, v)| (k.clone(), FieldState { value: v.clone(), hlc: h }))
            .collect();
        prop_assert_eq!(applied, merge_records(&start, &as_record));
    }

    #[test]
    fn apply_edit_ignores_order_and_redelivery(
        start in record(),
        (edits, again) in edits_and_redelivery(),
    ) {
        let once = apply_all(&start, &edits);
        prop_assert_eq!(&apply_all(&start, &again), &once);
        // Delivering everything a second time changes nothing.
        prop_assert_eq!(&apply_all(&once, &again), &once);
        // And starting from nothing, the order still does not matter.
        prop_assert_eq!(
            apply_all(&RecordState::new(), &edits),
            apply_all(&RecordState::new(), &again)
        );
    }

    #[test]
    fn replicas_exchanging_states_converge(
        (edits, again) in edits_and_redelivery(),
        split in 0usize..8,
    ) {
        // Two replicas each see part of the edits, then merge each other's state.
        let split = split.min(edits.len());
        let (left, right) = edits.split_at(split);
        let a = apply_all(&RecordState::new(), &left.to_vec());
        let b = apply_all(&RecordState::new(), &right.to_vec());
        let everything = apply_all(&RecordState::new(), &again);
        prop_assert_eq!(&merge_records(&a, &b), &everything);
        prop_assert_eq!(&merge_records(&b, &a), &everything);
    }
}
