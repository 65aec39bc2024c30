//! Printing: one JSON document for `--json`, plain Indonesian text otherwise, and errors with
//! their stable code on stderr and a non-zero exit.

use sinergi_core::CoreError;

pub fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub fn fail(e: &anyhow::Error) -> ! {
    match e.downcast_ref::<CoreError>() {
        Some(CoreError::Invalid(problems)) => {
            for p in problems {
                match &p.field {
                    Some(f) => eprintln!("galat [{}] {}: {}", p.code, f, p.message),
                    None => eprintln!("galat [{}]: {}", p.code, p.message),
                }
            }
        }
        Some(CoreError::Remote(p)) => eprintln!("galat dari server [{}]: {}", p.code, p.message),
        Some(other) => eprintln!("galat [{}]: {other}", other.code()),
        None => eprintln!("galat: {e:#}"),
    }
    std::process::exit(match e.downcast_ref::<CoreError>() {
        Some(CoreError::Invalid(_)) => 2,
        Some(CoreError::NotFound(_)) => 3,
        Some(CoreError::Network(_) | CoreError::Tls(_)) => 4,
        Some(CoreError::Remote(_)) => 5,
        _ => 1,
    })
}
