//! Who may read and write what, checked cell by cell against a real `sinergi-server` over
//! loopback HTTP: every role x target (own posyandu, another posyandu of the same puskesmas,
//! another puskesmas) x operation x token (valid, revoked, forged, absent). The expected
//! outcome of each cell comes from one rule table (`expected`); every cell is checked for its
//! status and stable code, and a refused cell must leave the master copy as it was.
//! `cargo test -p sinergi-e2e --test scope_matrix -- --nocapture` prints the table.

use serde_json::{json, Value};
use sinergi_core::hlc::SystemClock;
use sinergi_core::model::Kind;
use sinergi_core::protocol::PROTOCOL_VERSION;
use sinergi_e2e::Puskesmas;
use sinergi_server::service::Service;
use sinergi_server::storage::{open_store, MasterStore, Row};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Kader,
    Bidan,
    Coordinator,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// The kader's posyandu (A); for the other roles, a posyandu of their puskesmas.
    OwnPosyandu,
    /// Posyandu B, in the same puskesmas.
    OtherPosyandu,
    /// Posyandu C, in another puskesmas on the same server.
    OtherPuskesmas,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// Pull everything from cursor 0: does the target's child come down?
    Pull,
    /// `GET /api/v1/report` for the target posyandu.
    Report,
    /// Push an edit of the target's child.
    Edit,
    /// Push a new child registered in the target posyandu.
    Create,
    /// Push an edit that moves a child of posyandu A into the target posyandu.
    MoveIn,
    /// Push an edit of the target posyandu itself (master data).
    EditMaster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Valid,
    /// The token of a device the admin revoked.
    Revoked,
    /// The valid token with one character changed (the device id in the body is the real one).
    Forged,
    /// No Authorization header.
    Absent,
}

const ROLES: [Role; 4] = [Role::Kader, Role::Bidan, Role::Coordinator, Role::Admin];
const TARGETS: [Target; 3] = [
    Target::OwnPosyandu,
    Target::OtherPosyandu,
    Target::OtherPuskesmas,
];
const OPS: [Op; 6] = [
    Op::Pull,
    Op::Report,
    Op::Edit,
    Op::Create,
    Op::MoveIn,
    Op::EditMaster,
];
const TOKENS: [Token; 4] = [Token::Valid, Token::Revoked, Token::Forged, Token::Absent];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// An HTTP error with this status and stable code.
    Rejected(u16, String),
    /// 200, and the target's child is in what was pulled.
    Sees,
    /// 200, and the target's child is not in what was pulled.
    Hidden,
    /// 200 with the report.
    Report,
    /// 200, the edit was applied.
    Applied,
    /// 200, the edit came back refused with this code.
    Refused(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Rejected(s, c) => write!(f, "{s} {c}"),
            Outcome::Sees => write!(f, "200 sees it"),
            Outcome::Hidden => write!(f, "200 not sent"),
            Outcome::Report => write!(f, "200 report"),
            Outcome::Applied => write!(f, "200 applied"),
            Outcome::Refused(c) => write!(f, "200 refused {c}"),
        }
    }
}

fn rejected(status: u16, code: &str) -> Outcome {
    Outcome::Rejected(status, code.into())
}

fn refused(code: &str) -> Outcome {
    Outcome::Refused(code.into())
}

/// The rule table. Anything not allowed here must be refused.
fn expected(role: Role, target: Target, op: Op, token: Token) -> Outcome {
    // No device, no answer: the token is checked before anything else.
    match token {
        Token::Absent => return rejected(401, "missing_token"),
        Token::Forged => return rejected(401, "invalid_token"),
        Token::Revoked => return rejected(401, "device_revoked"),
        Token::Valid => {}
    }
    // A kader's area is her posyandu; a bidan's, coordinator's and admin's their puskesmas.
    let in_area = match role {
        Role::Kader => target == Target::OwnPosyandu,
        Role::Bidan | Role::Coordinator | Role::Admin => target != Target::OtherPuskesmas,
    };
    match op {
        Op::Pull if in_area => Outcome::Sees,
        Op::Pull => Outcome::Hidden,
        Op::Report if in_area => Outcome::Report,
        Op::Report => rejected(403, "out_of_scope"),
        // A coordinator reads and reports, and writes nothing.
        _ if role == Role::Coordinator => refused("read_only_role"),
        // Posyandu, desa and puskesmas are made on the server only.
        Op::EditMaster => refused("master_data_readonly"),
        Op::Edit | Op::Create | Op::MoveIn if in_area => Outcome::Applied,
        Op::Edit | Op::Create | Op::MoveIn => refused("out_of_scope"),
    }
}

/// One role's devices: one in use, one revoked.
struct Devices {
    user: &'static str,
    token: String,
    device_id: String,
    revoked_token: String,
    revoked_device_id: String,
    /// The next edit number of the valid device.
    next_seq: Cell<u64>,
}

struct World {
    url: String,
    http: reqwest::blocking::Client,
    store: Box<dyn MasterStore>,
    posyandu: BTreeMap<Target, String>,
    /// The child each target holds (made on the server).
    child: BTreeMap<Target, String>,
    /// Children of posyandu A, one per (role, target), for the MoveIn cells.
    movers: BTreeMap<(Role, Target), String>,
    month: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn obj(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn add_child(svc: &Service, posyandu: &str, name: &str) -> String {
    let id = Uuid::now_v7();
    svc.store
        .server_write(
            Kind::Child,
            id,
            obj(json!({"posyandu_id": posyandu, "name": name, "sex": "P",
                       "birth_date": "2025-02-03"})),
            now_ms(),
        )
        .unwrap();
    id.to_string()
}

impl World {
    /// The master copy's records, exits and counters (not devices or stored refusals): what
    /// a refused edit must leave exactly as it was.
    fn records_digest(&self) -> String {
        let mut lines = Vec::new();
        self.store
            .export(&mut |row| {
                if matches!(row, Row::Record(_) | Row::Exit(_) | Row::Counter(..)) {
                    lines.push(row.canonical());
                }
                Ok(())
            })
            .unwrap();
        lines.join("\n")
    }

    fn field(&self, id: &str, name: &str) -> Value {
        self.store
            .get(Uuid::parse_str(id).unwrap())
            .unwrap()
            .map(|r| r.values().get(name).cloned().unwrap_or(Value::Null))
            .unwrap_or(Value::Null)
    }

    fn post_sync(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut rb = self
            .http
            .post(format!("{}/api/v1/sync", self.url))
            .json(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().unwrap();
        (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
    }
}

fn error_outcome(status: u16, body: &Value) -> Outcome {
    Outcome::Rejected(
        status,
        body["error"]["code"].as_str().unwrap_or("?").to_string(),
    )
}

/// Run one cell against the server; the observed outcome, or what went wrong beyond it.
fn run_cell(
    w: &World,
    dev: &Devices,
    role: Role,
    target: Target,
    op: Op,
    token: Token,
) -> Result<Outcome, String> {
    let forged = {
        let mut t = dev.token.clone().into_bytes();
        t[0] = if t[0] == b'0' { b'1' } else { b'0' };
        String::from_utf8(t).unwrap()
    };
    let (tok, device_id) = match token {
        Token::Valid => (Some(dev.token.as_str()), dev.device_id.as_str()),
        Token::Revoked => (
            Some(dev.revoked_token.as_str()),
            dev.revoked_device_id.as_str(),
        ),
        Token::Forged => (Some(forged.as_str()), dev.device_id.as_str()),
        Token::Absent => (None, dev.device_id.as_str()),
    };
    let posyandu = &w.posyandu[&target];
    let before_records = w.records_digest();
    let before_all = w.store.digest().unwrap();
    let outcome = match op {
        Op::Pull => {
            let mut cursor = 0;
            let mut seen = Vec::new();
            loop {
                let (status, body) = w.post_sync(
                    tok,
                    &json!({"protocol": PROTOCOL_VERSION, "device_id": device_id,
                            "device_clock_ms": now_ms(), "cursor": cursor, "page_limit": 1000}),
                );
                if status != 200 {
                    break error_outcome(status, &body);
                }
                for c in body["changes"].as_array().unwrap() {
                    seen.push(c["id"].as_str().unwrap().to_string());
                    // Whatever comes down must be in the role's area, whatever the target.
                    if let Some(p) = c["posyandu_id"].as_str() {
                        let allowed = match role {
                            Role::Kader => p == w.posyandu[&Target::OwnPosyandu],
                            _ => p != w.posyandu[&Target::OtherPuskesmas],
                        };
                        if !allowed {
                            return Err(format!("pulled {} of posyandu {p}", c["id"]));
                        }
                    }
                }
                cursor = body["cursor"].as_i64().unwrap();
                if !body["more"].as_bool().unwrap() {
                    break if seen.contains(&w.child[&target]) {
                        Outcome::Sees
                    } else {
                        Outcome::Hidden
                    };
                }
            }
        }
        Op::Report => {
            let mut rb = w.http.get(format!(
                "{}/api/v1/report?month={}&posyandu={posyandu}&format=json",
                w.url, w.month
            ));
            if let Some(t) = tok {
                rb = rb.bearer_auth(t);
            }
            let resp = rb.send().unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().unwrap_or(Value::Null);
            if status == 200 {
                if body.is_null() {
                    return Err("200 without a JSON report".into());
                }
                Outcome::Report
            } else {
                error_outcome(status, &body)
            }
        }
        Op::Edit | Op::Create | Op::MoveIn | Op::EditMaster => {
            let seq = match token {
                Token::Valid => {
                    let s = dev.next_seq.get();
                    dev.next_seq.set(s + 1);
                    s
                }
                _ => 1_000_000,
            };
            let label = format!("{role:?}-{target:?}-{op:?}-{token:?}");
            let (kind, id, fields, check_field, want) = match op {
                Op::Edit => {
                    let id = w.child[&target].clone();
                    let name = format!("Diubah {label}");
                    ("child", id, json!({ "name": name }), "name", json!(name))
                }
                Op::Create => {
                    let name = format!("Baru {label}");
                    (
                        "child",
                        Uuid::now_v7().to_string(),
                        json!({"posyandu_id": posyandu, "name": name, "sex": "L",
                               "birth_date": "2025-04-05"}),
                        "name",
                        json!(name),
                    )
                }
                Op::MoveIn => (
                    "child",
                    w.movers[&(role, target)].clone(),
                    json!({ "posyandu_id": posyandu }),
                    "posyandu_id",
                    json!(posyandu),
                ),
                _ => {
                    let name = format!("Posyandu {label}");
                    (
                        "posyandu",
                        posyandu.clone(),
                        json!({ "name": name }),
                        "name",
                        json!(name),
                    )
                }
            };
            // Edits from different devices must follow each other in time.
            std::thread::sleep(std::time::Duration::from_millis(3));
            let (status, body) = w.post_sync(
                tok,
                &json!({"protocol": PROTOCOL_VERSION, "device_id": device_id,
                        "device_clock_ms": now_ms(), "cursor": 0, "page_limit": 1,
                        "edits": [{"device_seq": seq, "kind": kind, "id": id,
                                   "made_ms": now_ms(), "base_seq": 1_000_000_000i64,
                                   "fields": fields}]}),
            );
            if status != 200 {
                error_outcome(status, &body)
            } else {
                let refusals = body["refused"].as_array().unwrap();
                match refusals.first() {
                    Some(r) => Outcome::Refused(r["problem"]["code"].as_str().unwrap().to_string()),
                    None if body["acked_through"].as_u64() == Some(seq) => {
                        if w.field(&id, check_field) != want {
                            return Err(format!(
                                "acknowledged, but the master holds {check_field}={}",
                                w.field(&id, check_field)
                            ));
                        }
                        Outcome::Applied
                    }
                    None => return Err(format!("not acknowledged: {body}")),
                }
            }
        }
    };
    // Refused means nothing changed: no record, exit or counter; and a request turned away
    // at the door changes nothing at all.
    if outcome != Outcome::Applied && w.records_digest() != before_records {
        return Err(format!("{outcome}, but the master copy's records changed"));
    }
    let read = matches!(op, Op::Pull | Op::Report);
    if (read || matches!(outcome, Outcome::Rejected(..))) && w.store.digest().unwrap() != before_all
    {
        return Err(format!("{outcome}, but the master copy changed"));
    }
    Ok(outcome)
}

fn enroll(url: &str, user: &str, device: &str) -> (String, String) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/enroll"))
        .json(&json!({"user": user, "password": sinergi_e2e::PASSWORD, "device_name": device}))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "enroll {user}");
    let v: Value = resp.json().unwrap();
    (
        v["token"].as_str().unwrap().to_string(),
        v["device_id"].as_str().unwrap().to_string(),
    )
}

#[test]
fn every_role_target_operation_and_token() {
    let p = Puskesmas::new();
    p.add_user("admin_uji", "admin", None);
    // A second puskesmas on the same server, with its own desa, posyandu and child, and the
    // children every cell reads and writes: made in process before the server starts.
    let (posyandu_c, child, movers) = {
        let svc = Service::new(
            open_store(&p.database_spec()).unwrap(),
            Arc::new(SystemClock),
        );
        let other = Uuid::now_v7();
        svc.store
            .server_write(
                Kind::Puskesmas,
                other,
                obj(json!({"name": "Puskesmas Tetangga"})),
                now_ms(),
            )
            .unwrap();
        let desa = svc.add_desa("Desa Tetangga", Some(other)).unwrap();
        let posyandu_c = svc.add_posyandu(desa, "Posyandu C").unwrap().to_string();
        let mut child = BTreeMap::new();
        child.insert(
            Target::OwnPosyandu,
            add_child(&svc, &p.posyandu_a, "Anak A"),
        );
        child.insert(
            Target::OtherPosyandu,
            add_child(&svc, &p.posyandu_b, "Anak B"),
        );
        child.insert(
            Target::OtherPuskesmas,
            add_child(&svc, &posyandu_c, "Anak C"),
        );
        let mut movers = BTreeMap::new();
        for r in ROLES {
            for t in TARGETS {
                movers.insert(
                    (r, t),
                    add_child(&svc, &p.posyandu_a, &format!("Pindah {r:?} {t:?}")),
                );
            }
        }
        (posyandu_c, child, movers)
    };
    let server = p.start();
    let users = [
        (Role::Kader, "kader_a"),
        (Role::Bidan, "bidan"),
        (Role::Coordinator, "koordinator"),
        (Role::Admin, "admin_uji"),
    ];
    let mut devices = BTreeMap::new();
    for (role, user) in users {
        let (token, device_id) = enroll(&server.url, user, &format!("hp-{user}"));
        let (revoked_token, revoked_device_id) =
            enroll(&server.url, user, &format!("hp-{user}-hilang"));
        p.admin_ok(&["device", "revoke", &revoked_device_id]);
        devices.insert(
            role,
            Devices {
                user,
                token,
                device_id,
                revoked_token,
                revoked_device_id,
                next_seq: Cell::new(1),
            },
        );
    }
    let mut posyandu = BTreeMap::new();
    posyandu.insert(Target::OwnPosyandu, p.posyandu_a.clone());
    posyandu.insert(Target::OtherPosyandu, p.posyandu_b.clone());
    posyandu.insert(Target::OtherPuskesmas, posyandu_c);
    let w = World {
        url: server.url.clone(),
        http: reqwest::blocking::Client::new(),
        store: open_store(&p.database_spec()).unwrap(),
        posyandu,
        child,
        movers,
        month: chrono::Utc::now().format("%Y-%m").to_string(),
    };

    let mut table = vec![format!(
        "{:<24} {:<15} {:<10} {:<8} {:<32} {:<32} ok",
        "role", "target", "operation", "token", "expected", "observed"
    )];
    let mut failures = Vec::new();
    let (mut allowed, mut refused_cells) = (0, 0);
    for role in ROLES {
        let dev = &devices[&role];
        for target in TARGETS {
            for op in OPS {
                for token in TOKENS {
                    let want = expected(role, target, op, token);
                    let got = run_cell(&w, dev, role, target, op, token);
                    let ok = got.as_ref() == Ok(&want);
                    let shown = match &got {
                        Ok(o) => o.to_string(),
                        Err(e) => format!("HOLE: {e}"),
                    };
                    if matches!(want, Outcome::Sees | Outcome::Report | Outcome::Applied) {
                        allowed += 1;
                    } else {
                        refused_cells += 1;
                    }
                    let line = format!(
                        "{:<24} {:<15} {:<10} {:<8} {:<32} {:<32} {}",
                        format!("{role:?} {}", dev.user),
                        format!("{target:?}"),
                        format!("{op:?}"),
                        format!("{token:?}"),
                        want.to_string(),
                        shown,
                        if ok { "yes" } else { "NO" }
                    );
                    if !ok {
                        failures.push(line.clone());
                    }
                    table.push(line);
                }
            }
        }
    }
    println!("{}", table.join("\n"));
    println!(
        "{} cells: {allowed} allowed, {refused_cells} refused, {} wrong",
        table.len() - 1,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "cells that differ from the rule table:\n{}",
        failures.join("\n")
    );
    assert_eq!(table.len() - 1, 4 * 3 * 6 * 4);
}
