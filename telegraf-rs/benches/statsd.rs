//! statsd throughput and footprint.
//!
//! `cargo bench -p telegraf-rs --bench statsd` parses and aggregates a realistic mix of
//! statsd lines (counters, gauges, timings with sample rates, sets; 1,000 buckets, 20 lines a
//! packet) on one core and prints metrics/s against the target (≥ 500 k/s).
//!
//! `… --bench statsd -- --send HOST:PORT --rate N --seconds S` sends that mix over UDP at N
//! metrics a second for S seconds (the load `bench/agent.sh` puts on a running agent) and
//! prints what it sent.

use std::time::{Duration, Instant};
use telegraf_rs::inputs::statsd::{Aggregates, StatsdConfig};

/// Packets of 20 lines: a counter, a gauge, a timing with a sample rate and a set per 4.
fn packets(count: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(count);
    for p in 0..count {
        let mut packet = String::new();
        for l in 0..20 {
            let i = p * 20 + l;
            let bucket = i % 1000;
            let line = match i % 4 {
                0 => format!("app.requests.b{bucket}:1|c\n"),
                1 => format!("app.queue.b{bucket}:{}|g\n", i % 500),
                2 => format!("app.latency.b{bucket}:{}|ms|@0.5\n", (i * 7) % 900),
                _ => format!("app.users.b{bucket}:u{}|s\n", i % 97),
            };
            packet.push_str(&line);
        }
        out.push(packet.into_bytes());
    }
    out
}

fn in_process() {
    let packets = packets(50_000);
    let metrics = packets.len() * 20;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let mut agg = match Aggregates::new(&StatsdConfig::default()) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let start = Instant::now();
        for p in &packets {
            agg.packet(p);
        }
        let gathered = agg.gather(0).len();
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(agg.bad_lines(), 0);
        assert!(gathered >= 1000);
    }
    let rate = metrics as f64 / best;
    println!(
        "statsd parse+aggregate, one core: {:.0} k metrics/s ({metrics} metrics in {:.1} ms)   target >= 500 k/s -> {:.1}x",
        rate / 1e3,
        best * 1e3,
        rate / 500e3
    );
}

fn send(target: &str, rate: usize, seconds: u64) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let packets = packets(10_000);
    let per_tick = (rate / 20 / 100).max(1);
    let start = Instant::now();
    let mut sent = 0usize;
    let mut next = 0usize;
    while start.elapsed() < Duration::from_secs(seconds) {
        let tick = Instant::now();
        for _ in 0..per_tick {
            let _ = socket.send_to(&packets[next % packets.len()], target);
            next += 1;
            sent += 20;
        }
        std::thread::sleep(Duration::from_millis(10).saturating_sub(tick.elapsed()));
    }
    println!(
        "sent {sent} statsd metrics in {seconds} s ({:.0}/s)",
        sent as f64 / seconds as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match value("--send") {
        Some(target) => {
            let rate = value("--rate")
                .and_then(|r| r.parse().ok())
                .unwrap_or(50_000);
            let seconds = value("--seconds")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10);
            send(&target, rate, seconds);
        }
        None => in_process(),
    }
}
