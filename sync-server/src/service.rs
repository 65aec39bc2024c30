//! What the server does, for every front (HTTP, bundle files, admin commands): authentication,
//! request checks, and the admin operations. The rules themselves live in core and the engine.

use crate::auth;
use crate::error::ServerError;
use crate::storage::{Device, MasterStore, Principal, Result, TokenHolder, User};
use serde_json::{json, Value};
use sinergi_core::hlc::Clock;
use sinergi_core::model::{Fields, Kind};
use sinergi_core::protocol::{
    Bundle, EnrollRequest, EnrollResponse, Role, SyncRequest, SyncResponse, MAX_EDITS_PER_REQUEST,
    MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use std::sync::Arc;
use uuid::Uuid;

pub struct Service {
    pub store: Box<dyn MasterStore>,
    pub clock: Arc<dyn Clock>,
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Fields::new(),
    }
}

fn bad(status: u16, code: &str, id: &str, en: &str) -> ServerError {
    ServerError::bad_request(status, code, id.into(), en.into())
}

/// `403 user_disabled`: the answer to every request of a disabled user's devices and to her
/// login with the right password.
fn user_disabled() -> ServerError {
    bad(
        403,
        "user_disabled",
        "Pengguna ini dinonaktifkan oleh admin puskesmas",
        "This user has been disabled by the puskesmas admin",
    )
}

fn unknown_user(name: &str) -> ServerError {
    bad(
        404,
        "unknown_user",
        &format!("Pengguna '{name}' tidak ditemukan"),
        &format!("No user named '{name}'"),
    )
}

/// The one rule for a new password, for `user add` and `user password` alike.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.trim().is_empty() {
        return Err(bad(
            422,
            "weak_password",
            "Kata sandi tidak boleh kosong",
            "The password must not be empty",
        ));
    }
    if password.chars().count() < auth::MIN_PASSWORD_CHARS {
        return Err(bad(
            422,
            "weak_password",
            &format!(
                "Kata sandi paling sedikit {} huruf",
                auth::MIN_PASSWORD_CHARS
            ),
            &format!(
                "Password must be at least {} characters",
                auth::MIN_PASSWORD_CHARS
            ),
        ));
    }
    Ok(())
}

/// One user as `user list` shows her (and the admin API will): never her password hash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub puskesmas_id: Uuid,
    pub posyandu_id: Option<Uuid>,
    /// Where she works: her posyandu's name for a kader, her puskesmas's for the others.
    pub place: String,
    pub disabled: bool,
    /// Her devices that are not revoked.
    pub active_devices: u64,
}

impl Service {
    pub fn new(store: Box<dyn MasterStore>, clock: Arc<dyn Clock>) -> Self {
        Service { store, clock }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse> {
        let user = self.store.user_by_name(req.user.trim())?;
        // Spend the same time whether or not the user exists.
        let ok = match &user {
            Some(u) => auth::verify_password(&req.password, &u.password_hash),
            None => {
                auth::verify_password(&req.password, auth::DUMMY_HASH);
                false
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            return Err(bad(
                401,
                "bad_credentials",
                "Nama pengguna atau kata sandi salah",
                "Wrong user name or password",
            ));
        };
        self.issue_device(user, &req.device_name, req.device_key.as_deref())
    }

    /// The server's signing key (hex secret): it signs reply and enrollment files, and devices
    /// pin its public half. Made the first time it is needed, and kept with the data (a backup
    /// or a copied store keeps it).
    fn signing_key(&self) -> Result<String> {
        self.secret_or_make(SIGNING_KEY, || Ok(sinergi_core::seal::new_secret()))
    }

    /// A secret of the server, made by `make` and kept the first time it is asked for (if two
    /// processes race, the store keeps one and both get it).
    fn secret_or_make(&self, name: &str, make: impl FnOnce() -> Result<String>) -> Result<String> {
        match self.store.secret(name)? {
            Some(v) => Ok(v),
            None => self.store.add_secret(name, &make()?),
        }
    }

    /// The server's own HTTPS certificate and key (self-signed, made the first time they are
    /// needed and kept with the data like the signing key): HTTPS with no setup. Devices pin
    /// its fingerprint (it travels in enrollment files; `sinergi-server tls fingerprint`).
    pub fn own_tls(&self) -> Result<crate::TlsIdentity> {
        // Certificate and key as one secret: two processes making them at once keep one pair.
        let pair = self.secret_or_make(TLS_IDENTITY, || {
            let made = rcgen::generate_simple_self_signed(vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "sinergi.local".to_string(),
            ])
            .map_err(|e| ServerError::Data(format!("making a certificate: {e}")))?;
            serde_json::to_string(&[made.cert.pem(), made.signing_key.serialize_pem()])
                .map_err(|e| ServerError::Data(e.to_string()))
        })?;
        let [cert, key]: [String; 2] = serde_json::from_str(&pair)
            .map_err(|e| ServerError::Data(format!("the stored certificate: {e}")))?;
        Ok(crate::TlsIdentity {
            cert_pem: cert.into_bytes(),
            key_pem: key.into_bytes(),
            cert_from: "the server's own certificate".into(),
            key_from: "its key".into(),
        })
    }

    /// The public half of the signing key (hex), as devices pin it.
    pub fn public_key(&self) -> Result<String> {
        sinergi_core::seal::public_key(&self.signing_key()?)
            .map_err(|p| ServerError::Data(p.message_en))
    }

    fn seal(&self, bundle: &Bundle) -> Result<Vec<u8>> {
        sinergi_core::seal::seal(&self.signing_key()?, bundle)
            .map_err(|p| ServerError::Data(p.message_en))
    }

    /// The device a signed file comes from, after its checks (unknown, revoked, disabled user),
    /// whose key must be the one that signed it. A device with no key yet (enrolled by file, or
    /// by an older app) is bound to the first key that signs for it: an enrollment file opened on
    /// a second phone gets nothing from the server.
    fn signer(&self, device: Uuid, key: &str) -> Result<Principal> {
        let holder = Self::admit(self.store.principal_by_device(device)?)?;
        let bound = match holder.public_key.as_deref() {
            Some(k) => k == key,
            None => self.store.bind_device_key(device, key)?,
        };
        if !bound {
            return Err(bad(
                403,
                "device_key_mismatch",
                "Berkas ini ditandatangani oleh perangkat lain yang memakai identitas perangkat \
                 ini (berkas pendaftaran dibuka di dua HP, atau data disalin); minta berkas \
                 pendaftaran baru ke puskesmas",
                "This file is signed by another device using this device's identity (an \
                 enrollment file opened on two phones, or a copied store); ask the puskesmas \
                 for a new enrollment file",
            ));
        }
        Ok(holder.principal)
    }

    /// A token for a device enrolled by file (`Bundle::TokenRequest`, signed by its key): its
    /// first HTTP sync. The new token replaces any earlier one.
    pub fn token(&self, sealed: &[u8]) -> Result<String> {
        let opened = open_sealed(sealed)?;
        let Bundle::TokenRequest { device_id, .. } = opened.bundle else {
            return Err(wrong_bundle());
        };
        self.signer(device_id, &opened.key)?;
        let token = auth::new_token();
        self.store
            .set_device_token(device_id, &auth::token_hash(&token))?;
        Ok(token)
    }

    /// A new device for `user` with its token: the end of every enrollment (HTTP or file). A
    /// disabled user gets none (checked here, after her password, so that only the right
    /// password learns that she is disabled).
    fn issue_device(
        &self,
        user: User,
        device_name: &str,
        device_key: Option<&str>,
    ) -> Result<EnrollResponse> {
        if user.disabled {
            return Err(user_disabled());
        }
        if device_key.is_some_and(|k| !sinergi_core::seal::valid_public_key(k)) {
            return Err(bad(
                422,
                "invalid_device_key",
                "Kunci perangkat tidak sah",
                "Invalid device key",
            ));
        }
        let name = device_name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(bad(
                422,
                "invalid_device_name",
                "Nama perangkat harus diisi (paling banyak 100 huruf)",
                "Device name must be 1-100 characters",
            ));
        }
        let token = auth::new_token();
        let device = Device {
            id: Uuid::now_v7(),
            user_id: user.id,
            user: user.name.clone(),
            role: user.role.clone(),
            name: name.to_string(),
            created_ms: self.now(),
            revoked_ms: None,
            last_sync_ms: None,
            last_applied: 0,
            public_key: device_key.map(str::to_string),
        };
        self.store.add_device(&device, &auth::token_hash(&token))?;
        Ok(EnrollResponse {
            device_id: device.id,
            token,
            server_key: Some(self.public_key()?),
            role: user.role,
            user: user.name,
            puskesmas_id: user.puskesmas_id,
            posyandu_id: user.posyandu_id,
            server_clock_ms: self.now(),
        })
    }

    pub(crate) fn principal(&self, token_hash: &str) -> Result<Principal> {
        Ok(Self::admit(self.store.principal_by_token(token_hash)?)?.principal)
    }

    /// A device that may sync: known, not revoked, its user not disabled.
    fn admit(holder: Option<TokenHolder>) -> Result<TokenHolder> {
        match holder {
            None => Err(bad(
                401,
                "invalid_token",
                "Token perangkat tidak dikenal; daftarkan ulang perangkat",
                "Unknown device token; enroll the device again",
            )),
            Some(TokenHolder {
                revoked_ms: Some(_),
                ..
            }) => Err(bad(
                401,
                "device_revoked",
                "Perangkat ini sudah dicabut oleh admin puskesmas",
                "This device has been revoked by the puskesmas admin",
            )),
            Some(TokenHolder {
                user_disabled: true,
                ..
            }) => Err(user_disabled()),
            Some(h) => Ok(h),
        }
    }

    /// Check the shape of a request before anything is applied: all or nothing.
    fn check_request(who: &Principal, req: &SyncRequest) -> Result<()> {
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&req.protocol) {
            return Err(bad(
                422,
                "unsupported_protocol",
                "Versi aplikasi tidak cocok dengan server; perbarui aplikasi",
                "Protocol version not supported; update the app",
            ));
        }
        if req.device_id != who.device_id {
            return Err(bad(
                403,
                "device_mismatch",
                "Permintaan ini bukan untuk token perangkat ini",
                "Request device does not match the token",
            ));
        }
        if req.edits.len() > MAX_EDITS_PER_REQUEST {
            return Err(bad(
                413,
                "too_many_edits",
                "Terlalu banyak perubahan dalam satu permintaan",
                "Too many edits in one request",
            ));
        }
        if req.cursor < 0 {
            return Err(bad(
                422,
                "invalid_request",
                "Kursor tidak sah",
                "Invalid cursor",
            ));
        }
        if let Some(buckets) = &req.repair {
            let ok = buckets.len() == sinergi_core::sync::digest::BUCKETS
                && buckets
                    .iter()
                    .all(|b| b.len() == 16 && b.bytes().all(|c| c.is_ascii_hexdigit()));
            if !ok {
                return Err(bad(
                    422,
                    "invalid_request",
                    "Daftar ringkasan (digest) per bagian tidak sah",
                    "Invalid list of bucket digests",
                ));
            }
        }
        let mut last = 0;
        for e in &req.edits {
            if e.device_seq <= last {
                return Err(bad(
                    422,
                    "invalid_request",
                    "Nomor perubahan harus naik (1, 2, 3, ...)",
                    "Edit numbers must increase",
                ));
            }
            last = e.device_seq;
            if e.fields.is_empty() {
                return Err(bad(
                    422,
                    "invalid_request",
                    "Perubahan tanpa isi",
                    "Edit without fields",
                ));
            }
        }
        Ok(())
    }

    pub fn sync(&self, token_hash: &str, req: &SyncRequest) -> Result<SyncResponse> {
        let who = self.principal(token_hash)?;
        self.sync_as(&who, req)
    }

    /// The exchange for a device already authenticated (`principal`).
    pub fn sync_as(&self, who: &Principal, req: &SyncRequest) -> Result<SyncResponse> {
        Self::check_request(who, req)?;
        self.store.exchange(who, req, self.now())
    }

    /// Answer a bundle file exactly as the HTTP exchange would: the request must be signed by
    /// its device's key, and the reply is signed by the server's.
    pub fn import_bundle(&self, bytes: &[u8]) -> Result<BundleOut> {
        let opened = open_sealed(bytes)?;
        let Bundle::Request { mut request, id } = opened.bundle else {
            return Err(wrong_bundle());
        };
        let who = self.signer(request.device_id, &opened.key)?;
        request.bundle = true;
        let bundle = match self.sync_as(&who, &request) {
            Ok(response) => Bundle::Reply {
                device_id: request.device_id,
                response,
                for_request: id,
            },
            // A file-only device learns where to number from by the same road back.
            Err(ServerError::SeqReused(last_applied)) => Bundle::Renumber {
                device_id: request.device_id,
                last_applied,
            },
            Err(e) => return Err(e),
        };
        Ok(BundleOut {
            file: self.seal(&bundle)?,
            bundle,
        })
    }

    /// Enrollment by file, for a device that never gets a link: a new device for `user` (the
    /// puskesmas admin runs this at the server, so no password is asked) and every record in
    /// its scope, exactly what its first HTTP sync would have pulled. The file is signed and
    /// holds no token: the device makes its own key when it opens it.
    pub fn enroll_bundle(
        &self,
        user_name: &str,
        device_name: &str,
        server_url: Option<String>,
        tls_fingerprint: Option<String>,
    ) -> Result<BundleOut> {
        let Some(user) = self.store.user_by_name(user_name.trim())? else {
            return Err(unknown_user(user_name.trim()));
        };
        let mut enrollment = self.issue_device(user, device_name, None)?;
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            device_id: enrollment.device_id,
            device_clock_ms: self.now(),
            cursor: 0,
            edits: Vec::new(),
            page_limit: sinergi_core::protocol::MAX_PAGE,
            bundle: true,
            want_digest: true,
            repair: None,
        };
        let response = self.sync(&auth::token_hash(&enrollment.token), &request)?;
        // The token stays here: no one ever learns it (the device asks for its own).
        enrollment.token = String::new();
        let bundle = Bundle::Enrollment {
            server_url,
            tls_fingerprint,
            enrollment,
            response,
        };
        Ok(BundleOut {
            file: self.seal(&bundle)?,
            bundle,
        })
    }

    // --- admin operations ---

    pub fn puskesmas_ids(&self) -> Result<Vec<Uuid>> {
        Ok(self
            .store
            .list(Kind::Puskesmas)?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    pub fn init(&self, name: &str) -> Result<Uuid> {
        if let Some(id) = self.puskesmas_ids()?.first() {
            return Err(bad(
                409,
                "already_initialized",
                &format!("Server sudah berisi puskesmas {id}"),
                &format!("Server already holds puskesmas {id}"),
            ));
        }
        let id = Uuid::now_v7();
        self.store.server_write(
            Kind::Puskesmas,
            id,
            fields(json!({"name": name})),
            self.now(),
        )?;
        Ok(id)
    }

    /// The puskesmas to use when none is named: the only one there is.
    pub fn default_puskesmas(&self, given: Option<Uuid>) -> Result<Uuid> {
        if let Some(g) = given {
            return Ok(g);
        }
        match self.puskesmas_ids()?.as_slice() {
            [one] => Ok(*one),
            [] => Err(bad(
                409,
                "not_initialized",
                "Server belum disiapkan: jalankan `init --puskesmas NAMA`",
                "Server not initialized: run `init --puskesmas NAME`",
            )),
            _ => Err(bad(
                422,
                "puskesmas_required",
                "Ada beberapa puskesmas: sebutkan --puskesmas ID",
                "Several puskesmas: give --puskesmas ID",
            )),
        }
    }

    pub fn add_desa(&self, name: &str, puskesmas: Option<Uuid>) -> Result<Uuid> {
        let pusk = self.default_puskesmas(puskesmas)?;
        let id = Uuid::now_v7();
        self.store.server_write(
            Kind::Desa,
            id,
            fields(json!({"name": name, "puskesmas_id": pusk.to_string()})),
            self.now(),
        )?;
        Ok(id)
    }

    pub fn add_posyandu(&self, desa: Uuid, name: &str) -> Result<Uuid> {
        let d = self
            .store
            .get(desa)?
            .filter(|r| r.kind == Kind::Desa)
            .ok_or_else(|| {
                bad(
                    404,
                    "unknown_desa",
                    &format!("Desa {desa} tidak dikenal"),
                    &format!("Unknown desa {desa}"),
                )
            })?;
        let pusk = d
            .values()
            .get("puskesmas_id")
            .cloned()
            .unwrap_or(Value::Null);
        let id = Uuid::now_v7();
        self.store.server_write(
            Kind::Posyandu,
            id,
            fields(json!({"name": name, "desa_id": desa.to_string(), "puskesmas_id": pusk})),
            self.now(),
        )?;
        Ok(id)
    }

    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        posyandu: Option<Uuid>,
        puskesmas: Option<Uuid>,
        password: &str,
    ) -> Result<Uuid> {
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(
                422,
                "invalid_user_name",
                "Nama pengguna harus diisi",
                "User name is required",
            ));
        }
        check_new_password(password)?;
        let puskesmas_id = match (&role, posyandu) {
            (Role::Kader, None) => {
                return Err(bad(
                    422,
                    "posyandu_required",
                    "Kader harus punya --posyandu",
                    "A kader needs --posyandu",
                ))
            }
            (_, Some(p)) => {
                let rec = self
                    .store
                    .get(p)?
                    .filter(|r| r.kind == Kind::Posyandu)
                    .ok_or_else(|| {
                        bad(
                            404,
                            "unknown_posyandu",
                            &format!("Posyandu {p} tidak dikenal"),
                            &format!("Unknown posyandu {p}"),
                        )
                    })?;
                rec.puskesmas_id
                    .ok_or_else(|| ServerError::Data("posyandu without puskesmas".into()))?
            }
            (_, None) => self.default_puskesmas(puskesmas)?,
        };
        let user = User {
            id: Uuid::now_v7(),
            name: name.to_string(),
            role: role.clone(),
            puskesmas_id,
            posyandu_id: if role == Role::Kader { posyandu } else { None },
            password_hash: auth::hash_password(password),
            disabled: false,
        };
        self.store.add_user(&user)?;
        Ok(user.id)
    }

    /// Every user, by name, with where she works, whether she is disabled and how many of her
    /// devices are not revoked.
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        let mut places = std::collections::HashMap::new();
        for kind in [Kind::Puskesmas, Kind::Posyandu] {
            for r in self.store.list(kind)? {
                let name = r
                    .values()
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                places.insert(r.id, name.unwrap_or_else(|| r.id.to_string()));
            }
        }
        Ok(self
            .store
            .users()?
            .into_iter()
            .map(|s| {
                let u = s.user;
                let at = u.posyandu_id.unwrap_or(u.puskesmas_id);
                UserInfo {
                    place: places.get(&at).cloned().unwrap_or_else(|| at.to_string()),
                    id: u.id,
                    name: u.name,
                    role: u.role,
                    puskesmas_id: u.puskesmas_id,
                    posyandu_id: u.posyandu_id,
                    disabled: u.disabled,
                    active_devices: s.active_devices,
                }
            })
            .collect())
    }

    /// Disable (or enable again) a user: while she is disabled every request of her devices is
    /// refused with `user_disabled`, and her password enrolls no device. Her devices are not
    /// revoked, so enabling her lets them sync again with what they kept. `unknown_user` (and
    /// nothing changed) when no user has this name.
    pub fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<()> {
        let name = name.trim();
        if !self.store.set_user_disabled(name, disabled)? {
            return Err(unknown_user(name));
        }
        Ok(())
    }

    /// A new password for a user (the same rule and hash as `add_user`). Her enrolled devices
    /// keep their tokens; the old password enrolls nothing from now on.
    pub fn set_password(&self, name: &str, password: &str) -> Result<()> {
        let name = name.trim();
        check_new_password(password)?;
        if self.store.user_by_name(name)?.is_none() {
            return Err(unknown_user(name));
        }
        if !self
            .store
            .set_password_hash(name, &auth::hash_password(password))?
        {
            return Err(unknown_user(name));
        }
        Ok(())
    }

    /// Records of a kind as plain JSON (for the list commands).
    pub fn list_json(&self, kind: Kind) -> Result<Vec<Value>> {
        Ok(self
            .store
            .list(kind)?
            .into_iter()
            .map(|r| {
                let mut v = r.values();
                v.insert("id".into(), Value::from(r.id.to_string()));
                v.insert(
                    "posyandu_id".into(),
                    json!(r.posyandu_id.map(|p| p.to_string())),
                );
                Value::Object(v)
            })
            .collect())
    }
}

/// The service as a sync `Transport` in the same process: the device's real sync code against
/// the real service, without sockets (simulations and tests). Messages go through JSON both ways,
/// as on the wire, so what a device receives is what it could have decoded from HTTP.
pub struct InProcess<'a>(pub &'a Service);

fn wire<T: serde::Serialize + serde::de::DeserializeOwned>(msg: &T) -> sinergi_core::Result<T> {
    let bytes = serde_json::to_vec(msg).map_err(sinergi_core::CoreError::from)?;
    sinergi_core::protocol::decode(&bytes, false).map_err(sinergi_core::CoreError::Remote)
}

impl sinergi_core::sync::Transport for InProcess<'_> {
    fn enroll(&self, req: &EnrollRequest) -> sinergi_core::Result<EnrollResponse> {
        let resp = self
            .0
            .enroll(&wire(req)?)
            .map_err(|e| sinergi_core::CoreError::Remote(e.problem()))?;
        wire(&resp)
    }

    fn exchange(&self, token: &str, req: &SyncRequest) -> sinergi_core::Result<SyncResponse> {
        let resp = self
            .0
            .sync(&auth::token_hash(token), &wire(req)?)
            .map_err(|e| match e {
                // With the server's last number, as the HTTP transport reads a 409 `seq_reused`:
                // the device numbers its pending edits after it.
                ServerError::SeqReused(last) => {
                    sinergi_core::CoreError::SeqReused(last, e.problem())
                }
                e => sinergi_core::CoreError::Remote(e.problem()),
            })?;
        wire(&resp)
    }

    fn token(&self, sealed: &[u8]) -> sinergi_core::Result<String> {
        self.0
            .token(sealed)
            .map_err(|e| sinergi_core::CoreError::Remote(e.problem()))
    }
}

/// A file the server made: what it says, and its signed bytes to write.
#[derive(Debug)]
pub struct BundleOut {
    pub bundle: Bundle,
    pub file: Vec<u8>,
}

/// The names of the server's secrets: its signing key, its own HTTPS certificate with its key.
const SIGNING_KEY: &str = "signing_key";
const TLS_IDENTITY: &str = "tls_identity";

fn open_sealed(bytes: &[u8]) -> Result<sinergi_core::seal::Opened> {
    sinergi_core::seal::open(bytes).map_err(|p| {
        let status = if p.code == "body_too_large" { 413 } else { 422 };
        ServerError::Request(status, p)
    })
}

fn wrong_bundle() -> ServerError {
    bad(
        422,
        "wrong_bundle_type",
        "Berkas ini bukan permintaan perangkat",
        "This file is not a device request",
    )
}
