//! A loopback TCP proxy that can cut the server's answer after a number of bytes: the request
//! reaches the server (and is applied), but the device never hears the whole response.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread;

pub struct Proxy {
    pub port: u16,
    pub url: String,
    /// Bytes of response to let through on the next connection; negative = no limit.
    cut_after: Arc<AtomicI64>,
    /// Bytes that went device -> server and server -> device.
    pub up: Arc<AtomicI64>,
    pub down: Arc<AtomicI64>,
}

impl Proxy {
    pub fn start(target_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut_after = Arc::new(AtomicI64::new(-1));
        let cut = cut_after.clone();
        let (up, down) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        let (u, d) = (up.clone(), down.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let limit = cut.swap(-1, Ordering::SeqCst);
                let (u, d) = (u.clone(), d.clone());
                thread::spawn(move || pipe(client, target_port, limit, u, d));
            }
        });
        Proxy {
            port,
            url: format!("http://127.0.0.1:{port}"),
            cut_after,
            up,
            down,
        }
    }

    /// The next connection's response is cut after `bytes` bytes (0 = lost entirely).
    pub fn cut_next_response_after(&self, bytes: i64) {
        self.cut_after.store(bytes, Ordering::SeqCst);
    }
}

fn pipe(
    client: TcpStream,
    target_port: u16,
    limit: i64,
    up_bytes: Arc<AtomicI64>,
    down_bytes: Arc<AtomicI64>,
) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                break;
            }
            up_bytes.fetch_add(n as i64, Ordering::Relaxed);
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut buf = [0u8; 16 * 1024];
    let mut sent: i64 = 0;
    loop {
        let n = match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let allowed = if limit < 0 {
            n
        } else {
            ((limit - sent).max(0) as usize).min(n)
        };
        if c_write.write_all(&buf[..allowed]).is_err() {
            break;
        }
        sent += allowed as i64;
        down_bytes.fetch_add(allowed as i64, Ordering::Relaxed);
        if limit >= 0 && sent >= limit {
            // The server answers only after committing, so the request is applied: drop the link.
            break;
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = up.join();
}
