//! Signed bundle files. A file travels as gzip-compressed JSON
//! `{"sealed": 1, "key": <signer's public key>, "sig": <signature>, "body": <the bundle's JSON>}`:
//! Ed25519 over the body's exact bytes (so nothing depends on how JSON is re-serialized), the
//! device's key for its requests, the server's for replies and enrollment files. Whoever carries
//! a file can read it but cannot change it, nor write as its device or its server; no file holds
//! a secret that can be used again (DESIGN.md guarantee 9).

use crate::error::Problem;
use crate::protocol::{self, Bundle};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The format of the envelope; plain bundles of older versions carry none.
const SEALED_VERSION: u32 = 1;
/// Bound into every signature, so that a signature over anything else never passes for a bundle.
const CONTEXT: &[u8] = b"sinergi-bundle-1\n";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    sealed: u32,
    key: String,
    sig: String,
    body: String,
}

/// A new secret key (hex), from the system's random source.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the system has a random source");
    hex::encode(b)
}

fn signing_key(secret_hex: &str) -> Result<SigningKey, Problem> {
    let b: [u8; 32] = hex::decode(secret_hex)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| {
            Problem::new(
                "bad_signing_key",
                None,
                "Kunci tanda tangan perangkat rusak".into(),
                "The signing key is damaged".into(),
            )
        })?;
    Ok(SigningKey::from_bytes(&b))
}

/// The public half (hex) of a secret key.
pub fn public_key(secret_hex: &str) -> Result<String, Problem> {
    Ok(hex::encode(
        signing_key(secret_hex)?.verifying_key().as_bytes(),
    ))
}

/// Is this a well-formed public key (hex of 32 bytes, a valid curve point)?
pub fn valid_public_key(key_hex: &str) -> bool {
    verifying_key(key_hex).is_some()
}

fn verifying_key(key_hex: &str) -> Option<VerifyingKey> {
    let b: [u8; 32] = hex::decode(key_hex).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&b).ok()
}

/// A bundle signed with `secret_hex`, ready to write to a file.
pub fn seal(secret_hex: &str, bundle: &Bundle) -> Result<Vec<u8>, Problem> {
    let key = signing_key(secret_hex)?;
    let body = serde_json::to_string(bundle).expect("protocol types always serialize");
    let sig = key.sign(&signed_bytes(&body));
    Ok(protocol::encode(&Sealed {
        sealed: SEALED_VERSION,
        key: hex::encode(key.verifying_key().as_bytes()),
        sig: hex::encode(sig.to_bytes()),
        body,
    }))
}

fn signed_bytes(body: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + body.len());
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(body.as_bytes());
    m
}

/// A bundle file opened: its content, and the public key that signed it. The signature is
/// checked against that key; whether the key is the expected one is the caller's question.
#[derive(Debug)]
pub struct Opened {
    pub key: String,
    pub bundle: Bundle,
}

/// Read a sealed bundle file, checking its signature. A file that was changed after it was
/// signed, or that carries no signature, is refused with a code that says which.
pub fn open(bytes: &[u8]) -> Result<Opened, Problem> {
    let value: serde_json::Value = protocol::decode(bytes, true)?;
    if value.get("sealed").is_none() {
        return Err(Problem::new(
            "unsigned_bundle",
            None,
            "Berkas ini tidak bertanda tangan (dibuat versi lama atau diubah orang lain); \
             buat berkas baru dengan aplikasi yang diperbarui"
                .into(),
            "This file is not signed (made by an old version, or altered); make a new one with \
             an updated app"
                .into(),
        ));
    }
    let sealed: Sealed = serde_json::from_value(value).map_err(|e| {
        Problem::new(
            "invalid_bundle",
            None,
            format!("Berkas bundel tidak sah: {e}"),
            format!("Invalid bundle file: {e}"),
        )
    })?;
    if sealed.sealed != SEALED_VERSION {
        return Err(Problem::new(
            "unsupported_bundle",
            None,
            "Berkas ini dibuat oleh versi Sinergi yang lebih baru; perbarui aplikasi".into(),
            "This file was made by a newer Sinergi; update the app".into(),
        ));
    }
    let key = verifying_key(&sealed.key);
    let sig = hex::decode(&sealed.sig)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok());
    let genuine = match (key, sig) {
        (Some(k), Some(s)) => k.verify_strict(&signed_bytes(&sealed.body), &s).is_ok(),
        _ => false,
    };
    if !genuine {
        return Err(altered());
    }
    let bundle: Bundle = protocol::decode(sealed.body.as_bytes(), false)?;
    Ok(Opened {
        key: sealed.key,
        bundle,
    })
}

/// The signature does not match the content: the file was changed after it was signed.
pub fn altered() -> Problem {
    Problem::new(
        "bundle_altered",
        None,
        "Isi berkas ini sudah diubah setelah ditandatangani; berkas ditolak, tidak ada yang \
         berubah"
            .into(),
        "This file was changed after it was signed; it is refused and nothing changed".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Bundle;
    use uuid::Uuid;

    fn token_request() -> Bundle {
        Bundle::TokenRequest {
            device_id: Uuid::nil(),
            made_ms: 1,
        }
    }

    #[test]
    fn a_sealed_file_opens_with_its_key_and_an_altered_one_does_not() {
        let secret = new_secret();
        let bytes = seal(&secret, &token_request()).unwrap();
        let opened = open(&bytes).unwrap();
        assert_eq!(opened.key, public_key(&secret).unwrap());
        assert!(matches!(
            opened.bundle,
            Bundle::TokenRequest { made_ms: 1, .. }
        ));

        // One character of the body changed, the signature kept.
        let json = protocol::gunzip(&bytes, 1 << 20).unwrap();
        let text = String::from_utf8(json)
            .unwrap()
            .replace("\\\"made_ms\\\":1", "\\\"made_ms\\\":2");
        assert_ne!(text.as_bytes(), protocol::gunzip(&bytes, 1 << 20).unwrap());
        assert_eq!(
            open(&protocol::gzip(text.as_bytes())).unwrap_err().code,
            "bundle_altered"
        );

        // Signed again by someone else: genuine, but under another key.
        let other = new_secret();
        let forged = seal(&other, &token_request()).unwrap();
        assert_ne!(open(&forged).unwrap().key, public_key(&secret).unwrap());
    }

    #[test]
    fn an_unsigned_bundle_is_named_as_such() {
        let plain = protocol::encode(&token_request());
        assert_eq!(open(&plain).unwrap_err().code, "unsigned_bundle");
    }
}
