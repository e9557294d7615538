//! The agent's listeners as clients use them: statsd over UDP and TCP (bad lines counted and
//! logged, the rest kept, oversized lines refused) reaching an output.

mod common;

use common::{free_port, spawn, wait_for};
use std::io::Write;
use std::time::Duration;

/// A free UDP port on loopback.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Starts an agent in `dir` with a statsd input of `statsd` options writing to `out.lp`;
/// the agent and the output's path.
fn start_agent(dir: &std::path::Path, statsd: &str) -> (common::Agent, std::path::PathBuf) {
    let out = dir.join("out.lp");
    let conf = dir.join("t.conf");
    let text = format!(
        "[agent]\n  interval = \"500ms\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
         [[inputs.statsd]]\n{statsd}\n\
         [[outputs.file]]\n  files = [{out:?}]\n"
    );
    std::fs::write(&conf, text).unwrap();
    (spawn(&conf.to_string_lossy(), dir), out)
}

#[test]
fn statsd_over_udp_aggregates_and_survives_bad_packets() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port();
    let (_agent, out) = start_agent(
        dir.path(),
        &format!("  service_address = \"127.0.0.1:{port}\"\n  percentiles = [90.0]"),
    );
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = wait_for(Duration::from_secs(10), || {
        socket.send_to(b"probe:1|c\n", ("127.0.0.1", port)).is_ok()
            && std::fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("probe,metric_type=counter")
    });
    assert!(
        sent,
        "{}",
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    std::thread::sleep(Duration::from_millis(600));
    let packets: [&[u8]; 4] = [
        b"web.hits:3|c\nweb.hits:2|c|@0.5\nbroken\nweb.latency:20|ms\nweb.latency:40|ms\n",
        b"\xff\xfe:1|c\nweb.hits:1|c\n",
        b"x:1|nope\n",
        b"web.latency:30|ms\n",
    ];
    for p in packets {
        socket.send_to(p, ("127.0.0.1", port)).unwrap();
    }
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    let arrived = wait_for(Duration::from_secs(10), || {
        text()
            .lines()
            .any(|l| l.starts_with("web_latency,metric_type=timing "))
            && text()
                .lines()
                .any(|l| l.starts_with("web_hits,metric_type=counter "))
    });
    assert!(arrived, "{}", text());
    let lines = text();
    let hits: i64 = lines
        .lines()
        .filter(|l| l.starts_with("web_hits,"))
        .filter_map(|l| {
            l.split(' ')
                .nth(1)?
                .strip_prefix("value=")?
                .strip_suffix('i')?
                .parse::<i64>()
                .ok()
        })
        .sum();
    assert_eq!(hits, 3 + 4 + 1, "{lines}");
    let latency = lines
        .lines()
        .find(|l| l.starts_with("web_latency,"))
        .unwrap();
    assert!(
        latency.contains("count=3i")
            && latency.contains("upper=40")
            && latency.contains("90_percentile=40"),
        "{latency}"
    );
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(
        log.contains("inputs.statsd") && log.contains("statsd line"),
        "{log}"
    );
}

#[test]
fn statsd_over_tcp_refuses_a_line_longer_than_64_kib_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_agent, out) = start_agent(
        dir.path(),
        &format!("  protocol = \"tcp\"\n  service_address = \"127.0.0.1:{port}\""),
    );
    let up = wait_for(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "{}",
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"queue.depth:7|g\n").unwrap();
    let long = vec![b'a'; 70_000];
    let _ = s.write_all(&long);
    let mut s2 = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s2.write_all(b"queue.other:9|g\n").unwrap();
    drop(s2);
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    let arrived = wait_for(Duration::from_secs(10), || {
        let t = text();
        t.contains("queue_other,metric_type=gauge value=9 ")
            && t.contains("queue_depth,metric_type=gauge value=7 ")
    });
    assert!(arrived, "{}", text());
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(log.contains("longer than 64 KiB"), "{log}");
}
