//! Strangers cost nothing (DESIGN.md guarantee 12), against a real `sinergi-server` on loopback
//! spoken to over raw TCP: a request with a bogus token is answered before its body is read, a
//! request head that never ends is dropped, and a body that never ends is dropped.

use sinergi_e2e::Puskesmas;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

/// Read until the server closes or sends a whole response head; what arrived.
fn read_some(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_bogus_token_is_refused_before_its_body_is_read() {
    let p = Puskesmas::new();
    let server = p.start();
    let mut s = connect(server.port);
    // A body announced as 12 MB of gzip, of which nothing is ever sent: a server that reads
    // (or waits for) a body before it knows who is asking never answers.
    write!(
        s,
        "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nonsense\r\n\
         Content-Type: application/json\r\nContent-Encoding: gzip\r\n\
         Content-Length: 12000000\r\n\r\n"
    )
    .unwrap();
    s.flush().unwrap();
    let t0 = Instant::now();
    let head = read_some(&mut s);
    assert!(
        head.starts_with("HTTP/1.1 401"),
        "expected 401 before any body, got {head:?} after {:?}",
        t0.elapsed()
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}

#[test]
fn a_request_head_that_never_ends_is_dropped() {
    let p = Puskesmas::new();
    let server = p.start();
    let mut s = connect(server.port);
    write!(s, "POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nAuthoriz").unwrap();
    s.flush().unwrap();
    let t0 = Instant::now();
    let got = read_some(&mut s);
    let waited = t0.elapsed();
    // Closed (or answered with an error) by the server's 30 s head timeout, not by our 60 s
    // read timeout.
    assert!(
        waited < Duration::from_secs(45),
        "still connected after {waited:?} ({got:?})"
    );
    assert!(!got.starts_with("HTTP/1.1 2"), "{got:?}");
    assert!(server.health(), "the server still serves others");
}
