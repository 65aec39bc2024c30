//! Shared by the core's integration tests: a device store set up as a kader's, the way a first
//! sync leaves it.

use serde_json::json;
use sinergi_core::protocol::{Role, SyncResponse};
use sinergi_core::store::{Enrollment, LocalStore};
use uuid::Uuid;

/// Enrolls `s` as kader1 of `posyandu` (puskesmas 1) with `token`, and applies the posyandu as
/// the server sends it (JSON, so new optional fields take their defaults).
pub fn enroll_kader(s: &mut LocalStore, posyandu: Uuid, token: &str, server_clock_ms: i64) {
    s.set_enrollment(&Enrollment {
        server_url: "http://localhost:0".into(),
        device_id: Uuid::from_u128(0xd1),
        token: token.into(),
        role: Role::Kader,
        user: "kader1".into(),
        puskesmas_id: Uuid::from_u128(1),
        posyandu_id: Some(posyandu),
    })
    .unwrap();
    let resp: SyncResponse = serde_json::from_value(json!({
        "acked_through": 0, "refused": [], "conflicts": 0, "exits": [],
        "changes": [{"kind": "posyandu", "id": posyandu, "seq": 1, "posyandu_id": posyandu,
                     "fields": {"desa_id": Uuid::from_u128(3), "puskesmas_id": Uuid::from_u128(1), "name": "Melati"}}],
        "cursor": 1, "more": false, "server_clock_ms": server_clock_ms, "clock_offset_ms": 0, "clock_warning": false
    }))
    .unwrap();
    s.apply_response(&resp).unwrap();
}
