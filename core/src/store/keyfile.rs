//! Encryption at rest: the device store is a SQLCipher database whose random 256-bit key is kept
//! in `key.json` beside it, wrapped (XChaCha20-Poly1305) by a key derived from the user's PIN
//! with argon2id. A lost phone yields neither names nor the sync token without the PIN; changing
//! the PIN rewraps the key and never rewrites the records.
//!
//! Encrypting an existing plain store is crash-safe: the encrypted copy is written to
//! `sinergi.db.new` first, `key.json` appearing is the commit point, and opening the store rolls
//! an interrupted switch forward (key present) or back (key absent).

use crate::error::{CoreError, Problem, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub const DB_FILE: &str = "sinergi.db";
pub const KEY_FILE: &str = "key.json";
const NEW_DB_FILE: &str = "sinergi.db.new";
pub const PIN_MIN_LEN: usize = 6;

/// The database key, in memory only while the store is open.
pub(crate) type DbKey = Zeroizing<[u8; 32]>;

/// What `key.json` holds: nothing secret without the PIN.
#[derive(Debug, Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    wrapped_key: String,
}

/// argon2id costs: about a quarter second on a laptop, about a second on a cheap phone, so each
/// PIN guess costs an attacker the same.
const M_COST_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;

fn pin_problem(code: &str, message: &str, message_en: &str) -> CoreError {
    CoreError::invalid(Problem::new(
        code,
        Some("pin"),
        message.to_string(),
        message_en.to_string(),
    ))
}

pub fn pin_required() -> CoreError {
    pin_problem(
        "pin_required",
        "Data perangkat ini terkunci: masukkan PIN",
        "This device's data is locked: enter the PIN",
    )
}

fn wrong_pin() -> CoreError {
    pin_problem("wrong_pin", "PIN salah", "Wrong PIN")
}

/// A PIN must be long enough that guessing it costs days, and contain no spaces (they vanish
/// unseen on phone keyboards).
pub fn check_pin(pin: &str) -> Result<()> {
    if pin.chars().count() < PIN_MIN_LEN || pin.chars().any(char::is_whitespace) {
        return Err(pin_problem(
            "pin_too_short",
            &format!("PIN minimal {PIN_MIN_LEN} karakter tanpa spasi"),
            &format!("The PIN needs at least {PIN_MIN_LEN} characters and no spaces"),
        ));
    }
    Ok(())
}

pub fn is_encrypted(dir: &Path) -> bool {
    dir.join(KEY_FILE).exists()
}

fn derive(pin: &str, kf: &KeyFile, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let params = Params::new(kf.m_cost_kib, kf.t_cost, kf.p_cost, Some(32))
        .map_err(|e| CoreError::BadData(format!("key.json: {e}")))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pin.as_bytes(), salt, &mut *out)
        .map_err(|e| CoreError::BadData(format!("argon2: {e}")))?;
    Ok(out)
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| CoreError::BadData(format!("random: {e}")))?;
    Ok(b)
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| CoreError::BadData(format!("key.json: {e}")))
}

/// Unwrap the database key with `pin`.
pub(crate) fn unlock(dir: &Path, pin: &str) -> Result<DbKey> {
    let text = fs::read_to_string(dir.join(KEY_FILE))?;
    let kf: KeyFile = serde_json::from_str(&text)?;
    if kf.version != 1 || kf.kdf != "argon2id" {
        return Err(CoreError::BadData(format!(
            "key.json: unknown version {} / {}",
            kf.version, kf.kdf
        )));
    }
    let kek = derive(pin, &kf, &unhex(&kf.salt)?)?;
    let nonce = unhex(&kf.nonce)?;
    if nonce.len() != 24 {
        return Err(CoreError::BadData("key.json: bad nonce".into()));
    }
    let cipher = XChaCha20Poly1305::new((&*kek).into());
    // The tag fails for a wrong PIN (or a tampered file): both mean "not this PIN".
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                unhex(&kf.wrapped_key)?.as_slice(),
            )
            .map_err(|_| wrong_pin())?,
    );
    let key: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| CoreError::BadData("key.json: bad key length".into()))?;
    Ok(Zeroizing::new(key))
}

/// Write `key.json` holding `key` wrapped by `pin`, atomically (temp file, fsync, rename).
pub(crate) fn write_key(dir: &Path, key: &DbKey, pin: &str) -> Result<()> {
    check_pin(pin)?;
    let salt: [u8; 16] = random()?;
    let nonce: [u8; 24] = random()?;
    let mut kf = KeyFile {
        version: 1,
        kdf: "argon2id".into(),
        m_cost_kib: M_COST_KIB,
        t_cost: T_COST,
        p_cost: 1,
        salt: hex::encode(salt),
        nonce: hex::encode(nonce),
        wrapped_key: String::new(),
    };
    let kek = derive(pin, &kf, &salt)?;
    let wrapped = XChaCha20Poly1305::new((&*kek).into())
        .encrypt(XNonce::from_slice(&nonce), key.as_slice())
        .map_err(|_| CoreError::BadData("encrypt key".into()))?;
    kf.wrapped_key = hex::encode(wrapped);
    write_atomic(
        &dir.join(KEY_FILE),
        serde_json::to_string_pretty(&kf)?.as_bytes(),
    )
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

fn sync_dir(dir: &Path) {
    // Best effort: makes the rename durable on Linux; not possible everywhere (Windows).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

pub(crate) fn new_key() -> Result<DbKey> {
    Ok(Zeroizing::new(random()?))
}

/// Give a freshly opened connection its key (must be the first statement on it).
pub(crate) fn apply_key(conn: &Connection, key: &DbKey) -> Result<()> {
    let hex = Zeroizing::new(hex::encode(key.as_slice()));
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex.as_str()))?;
    Ok(())
}

/// Finish or undo a switch to encryption that a crash interrupted.
pub(crate) fn recover(dir: &Path) -> Result<()> {
    let new_db = dir.join(NEW_DB_FILE);
    if !new_db.exists() {
        return Ok(());
    }
    if is_encrypted(dir) {
        install_new_db(dir)
    } else {
        fs::remove_file(&new_db)?;
        Ok(())
    }
}

/// Replace the plain store by its encrypted copy; its WAL and shared-memory files go too (they
/// hold plain pages).
fn install_new_db(dir: &Path) -> Result<()> {
    for side in ["-wal", "-shm"] {
        let p = dir.join(format!("{DB_FILE}{side}"));
        if p.exists() {
            fs::remove_file(p)?;
        }
    }
    fs::rename(dir.join(NEW_DB_FILE), dir.join(DB_FILE))?;
    sync_dir(dir);
    Ok(())
}

/// Encrypt the plain store in `dir` under a new key wrapped by `pin`. The caller then closes
/// its own connection, calls [`finish_encrypt`] and reopens the store with the returned key.
pub(crate) fn encrypt_plain(dir: &Path, pin: &str) -> Result<DbKey> {
    check_pin(pin)?;
    // A connection of its own: SQLCipher adds `sqlcipher_export` to connections opened after
    // its library initialisation finished, which a connection opened while another thread
    // was initialising may have missed.
    let conn = Connection::open(dir.join(DB_FILE))?;
    let key = new_key()?;
    let new_db: PathBuf = dir.join(NEW_DB_FILE);
    if new_db.exists() {
        fs::remove_file(&new_db)?;
    }
    let hex = Zeroizing::new(hex::encode(key.as_slice()));
    // sqlcipher_export copies every table and the user_version (the migration level).
    conn.execute_batch(&format!(
        "ATTACH DATABASE '{}' AS enc KEY \"x'{}'\";
         SELECT sqlcipher_export('enc');
         PRAGMA enc.user_version = {};
         DETACH DATABASE enc;",
        new_db.display().to_string().replace('\'', "''"),
        hex.as_str(),
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?,
    ))?;
    drop(conn);
    fs::File::open(&new_db)?.sync_all()?;
    write_key(dir, &key, pin)?;
    Ok(key)
}

/// Called after `conn` is closed: put the encrypted copy in place.
pub(crate) fn finish_encrypt(dir: &Path) -> Result<()> {
    install_new_db(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_key_opens_only_with_its_pin() {
        let dir = tempfile::tempdir().unwrap();
        let key = new_key().unwrap();
        write_key(dir.path(), &key, "123456").unwrap();
        assert_eq!(*unlock(dir.path(), "123456").unwrap(), *key);
        let e = unlock(dir.path(), "123457").unwrap_err();
        assert_eq!(e.code(), "wrong_pin");
        let text = fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        assert!(!text.contains(&hex::encode(key.as_slice())));
    }

    #[test]
    fn short_or_spaced_pins_are_refused() {
        assert_eq!(check_pin("12345").unwrap_err().code(), "pin_too_short");
        assert_eq!(check_pin("123 456").unwrap_err().code(), "pin_too_short");
        assert!(check_pin("123456").is_ok());
    }
}
