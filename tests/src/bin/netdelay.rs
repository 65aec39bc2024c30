//! `sinergi-netdelay`: a fixed one-way delay for packets that netfilter queues to user space, for
//! the bad-link benchmark on kernels without the netem qdisc. In the middle network namespace,
//! `iptables -A FORWARD -j NFQUEUE --queue-num N` hands every forwarded packet here; each one is
//! accepted (released unchanged) `--delay-ms` after it arrived, in arrival order, so both
//! directions get the delay and TCP sees the real round trip (its ACKs are delayed too).
//!
//! Usage: sinergi-netdelay --queue 0 --delay-ms 300

use std::collections::VecDeque;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let queue_num = opt("--queue", 0) as u16;
    let delay = Duration::from_millis(opt("--delay-ms", 300));
    let mut queue = nfq::Queue::open()?;
    queue.bind(queue_num)?;
    // Headers are enough: the packet is released unchanged.
    queue.set_copy_range(queue_num, 64)?;
    queue.set_queue_max_len(queue_num, 8192)?;
    queue.set_nonblocking(true);
    eprintln!(
        "sinergi-netdelay: queue {queue_num}, {} ms one way",
        delay.as_millis()
    );
    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    loop {
        loop {
            match queue.recv() {
                Ok(msg) => held.push_back((Instant::now() + delay, msg)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            let (_, mut msg) = held.pop_front().expect("checked");
            msg.set_verdict(nfq::Verdict::Accept);
            queue.verdict(msg)?;
        }
        // Poll at 1 ms: the delay error stays far below the 40 kbit/s serialization time.
        std::thread::sleep(Duration::from_millis(1));
    }
}
