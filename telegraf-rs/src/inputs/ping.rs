//! `inputs.ping`: round trips to each of `urls`, as Telegraf measures them — with the `ping`
//! binary and its summary parsed (`method = "exec"`, the default), or with ICMP echo requests
//! sent by the agent itself (`method = "native"`; a raw socket where the agent may open one,
//! else an unprivileged ICMP socket) — one `ping` metric per host, tagged `url`: packets
//! transmitted and received, loss, TTL, minimum/average/maximum/standard deviation of the
//! round trips in ms (and `percentile<N>_ms` natively), `result_code` (0 ok, 1 unknown host,
//! 2 error).

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Options of `[[inputs.ping]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PingConfig {
    /// Hosts to ping.
    pub urls: Vec<String>,
    /// `exec` (the `ping` binary) or `native`.
    pub method: String,
    /// Echo requests per host and gather.
    pub count: u32,
    /// Seconds between two requests.
    pub ping_interval: f64,
    /// Seconds to wait for each reply.
    pub timeout: f64,
    /// Seconds the whole run may take (`exec`: ping's `-w`).
    pub deadline: u32,
    /// The interface or source address to send from.
    pub interface: String,
    /// Percentiles of the round trips (`native`).
    pub percentiles: Vec<u32>,
    /// The program (`exec`).
    pub binary: String,
    /// The program's arguments instead of those made from the options (the host is added).
    pub arguments: Vec<String>,
    /// Resolve to IPv4 only (`native`).
    pub ipv4: bool,
    /// Resolve to IPv6 only (`native`).
    pub ipv6: bool,
    /// Payload bytes of a request (16 with `exec`, 56 natively, when unset).
    pub size: Option<u16>,
}

impl Default for PingConfig {
    fn default() -> Self {
        PingConfig {
            urls: Vec::new(),
            method: "exec".into(),
            count: 1,
            ping_interval: 1.0,
            timeout: 1.0,
            deadline: 10,
            interface: String::new(),
            percentiles: Vec::new(),
            binary: "ping".into(),
            arguments: Vec::new(),
            ipv4: false,
            ipv6: false,
            size: None,
        }
    }
}

/// Builds the input; the method must be `exec` or `native`, the counts positive.
pub fn build(c: &PingConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    if !matches!(c.method.as_str(), "exec" | "native") {
        return Err(InputError::Settings(format!(
            "method {:?}: exec or native",
            c.method
        )));
    }
    if c.count == 0 {
        return Err(InputError::Settings("count must be at least 1".into()));
    }
    if c.percentiles.iter().any(|p| *p == 0 || *p > 100) {
        return Err(InputError::Settings("percentiles must be 1 to 100".into()));
    }
    Ok(Box::new(Ping { config: c.clone() }))
}

struct Ping {
    config: PingConfig,
}

/// What one host's run gave.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    /// Requests sent.
    pub transmitted: u64,
    /// Replies received.
    pub received: u64,
    /// The first reply's TTL.
    pub ttl: Option<i64>,
    /// Minimum, average, maximum and standard deviation of the round trips, ms.
    pub rtt: Option<[f64; 4]>,
}

/// Parses the output of Linux's (iputils) or BSD's `ping`: the first `ttl=`, the
/// `transmitted`/`received` line and the `min/avg/max` line. Without a `transmitted` line
/// the output is not ping's: an error.
pub fn parse_output(out: &str) -> Result<Summary, String> {
    let mut s = Summary::default();
    let mut counted = false;
    for line in out.lines() {
        if s.ttl.is_none() && (line.contains("ttl=") || line.contains("hlim=")) {
            s.ttl = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("ttl=").or_else(|| w.strip_prefix("hlim=")))
                .and_then(|v| v.parse().ok());
        } else if line.contains("transmitted") && line.contains("received") {
            let numbers: Vec<u64> = line
                .split(',')
                .filter_map(|part| part.split_whitespace().next()?.parse().ok())
                .collect();
            let [transmitted, received, ..] = numbers[..] else {
                return Err(format!("unexpected packet counts: {line:?}"));
            };
            (s.transmitted, s.received) = (transmitted, received);
            counted = true;
        } else if line.contains("min/avg/max") {
            let values = line
                .split('=')
                .nth(1)
                .map(|v| v.split_whitespace().next().unwrap_or_default())
                .unwrap_or_default();
            let parsed: Vec<f64> = values
                .split('/')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("round trip times {line:?}: {e}"))?;
            s.rtt = match parsed[..] {
                [min, avg, max, dev] => Some([min, avg, max, dev]),
                [min, avg, max] => Some([min, avg, max, -1.0]),
                _ => return Err(format!("round trip times {line:?}")),
            };
        }
    }
    match counted {
        true => Ok(s),
        false => Err("fatal error processing ping output".into()),
    }
}

impl Ping {
    /// The `ping` arguments for `host`, as Telegraf makes them on Linux.
    fn args(&self, host: &str) -> Vec<String> {
        let c = &self.config;
        if !c.arguments.is_empty() {
            let mut args = c.arguments.clone();
            args.push(host.to_string());
            return args;
        }
        let mut args = vec![
            "-c".to_string(),
            c.count.to_string(),
            "-n".into(),
            "-s".into(),
            c.size.unwrap_or(16).to_string(),
        ];
        if c.ping_interval > 0.0 {
            args.extend(["-i".into(), c.ping_interval.to_string()]);
        }
        if c.timeout > 0.0 {
            args.extend(["-W".into(), c.timeout.to_string()]);
        }
        if c.deadline > 0 {
            args.extend(["-w".into(), c.deadline.to_string()]);
        }
        if !c.interface.is_empty() {
            args.extend(["-I".into(), c.interface.clone()]);
        }
        args.push(host.to_string());
        args
    }

    /// One host with the binary: the metric, and the error to report with it.
    async fn exec(&self, host: &str, mut m: Metric) -> (Metric, Option<String>) {
        let run = tokio::process::Command::new(&self.config.binary)
            .args(self.args(host))
            .kill_on_drop(true)
            .output();
        let out = match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => {
                m.add_field("result_code", 2i64);
                return (m, Some(format!("host {host}: {}: {e}", self.config.binary)));
            }
            Err(_) => {
                m.add_field("result_code", 2i64);
                return (m, Some(format!("host {host}: timed out after 60 s")));
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let code = out.status.code().unwrap_or(-1);
        // iputils exits 1 when replies are missing: that is a measurement, not an error.
        if code != 0 && code != 1 {
            m.add_field("result_code", 2i64);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let said = format!("{} {}", text.trim(), stderr.trim());
            return (
                m,
                Some(format!("host {host}: {}, {}", said.trim(), out.status)),
            );
        }
        match parse_output(&text) {
            Ok(s) => {
                m.add_field("result_code", i64::from(code));
                add_summary(&mut m, &s);
                (m, None)
            }
            Err(e) => {
                m.add_field("result_code", 2i64);
                (m, Some(format!("{e}: {host}")))
            }
        }
    }

    /// One host with the agent's own ICMP: the metric, and the error to report with it.
    async fn native(&self, host: &str, mut m: Metric) -> (Metric, Option<String>) {
        let c = &self.config;
        let addr = match resolve(host, c.ipv4, c.ipv6).await {
            Some(a) => a,
            None => {
                m.add_field("result_code", 1i64);
                return (m, Some(format!("host {host}: unknown host")));
            }
        };
        let (count, interval) = (c.count, Duration::from_secs_f64(c.ping_interval.max(0.0)));
        let timeout = Duration::from_secs_f64(c.timeout.max(0.001));
        let size = usize::from(c.size.unwrap_or(56));
        let run =
            tokio::task::spawn_blocking(move || icmp::run(addr, count, interval, timeout, size));
        let replies = match run.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                m.add_field("result_code", 2i64);
                return (m, Some(format!("host {host}: {e}")));
            }
            Err(e) => {
                m.add_field("result_code", 2i64);
                return (m, Some(format!("host {host}: {e}")));
            }
        };
        let rtts: Vec<f64> = replies.iter().map(|r| r.rtt_ms).collect();
        let mut s = Summary {
            transmitted: u64::from(count),
            received: rtts.len() as u64,
            ttl: replies.iter().find_map(|r| r.ttl),
            rtt: None,
        };
        if !rtts.is_empty() {
            let n = rtts.len() as f64;
            let avg = rtts.iter().sum::<f64>() / n;
            let var = rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n;
            let (min, max) = rtts
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
            s.rtt = Some([min, avg, max, var.sqrt()]);
        }
        m.add_field("result_code", 0i64);
        add_summary(&mut m, &s);
        let mut sorted = rtts.clone();
        sorted.sort_by(f64::total_cmp);
        for p in &c.percentiles {
            if let Some(v) = percentile(&sorted, *p) {
                m.add_field(format!("percentile{p}_ms"), v);
            }
        }
        (m, None)
    }
}

/// The `p`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[f64], p: u32) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (f64::from(p) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The counts, loss, TTL and round trip statistics of a run.
fn add_summary(m: &mut Metric, s: &Summary) {
    m.add_field("packets_transmitted", s.transmitted as i64);
    m.add_field("packets_received", s.received as i64);
    let loss = match s.transmitted {
        0 => 0.0,
        t => (t - s.received.min(t)) as f64 / t as f64 * 100.0,
    };
    m.add_field("percent_packet_loss", loss);
    if let Some(ttl) = s.ttl {
        m.add_field("ttl", ttl);
    }
    if let Some([min, avg, max, dev]) = s.rtt {
        for (k, v) in [
            ("minimum_response_ms", min),
            ("average_response_ms", avg),
            ("maximum_response_ms", max),
            ("standard_deviation_ms", dev),
        ] {
            if v >= 0.0 {
                m.add_field(k, v);
            }
        }
    }
}

/// The host's first address of the family asked for.
async fn resolve(host: &str, v4_only: bool, v6_only: bool) -> Option<IpAddr> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await.ok()?.collect();
    addrs
        .iter()
        .map(SocketAddr::ip)
        .find(|ip| match (v4_only, v6_only) {
            (true, false) => ip.is_ipv4(),
            (false, true) => ip.is_ipv6(),
            _ => true,
        })
}

/// ICMP echo by the agent itself.
mod icmp {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::mem::MaybeUninit;
    use std::net::{IpAddr, SocketAddr};
    use std::time::{Duration, Instant};

    /// One reply.
    pub(super) struct Reply {
        pub(super) rtt_ms: f64,
        pub(super) ttl: Option<i64>,
    }

    /// The internet checksum.
    fn checksum(b: &[u8]) -> u16 {
        let mut sum: u32 = b
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// Sends `count` echo requests to `addr`, `interval` apart, each waiting `timeout` for
    /// its reply: the replies that came.
    pub(super) fn run(
        addr: IpAddr,
        count: u32,
        interval: Duration,
        timeout: Duration,
        size: usize,
    ) -> std::io::Result<Vec<Reply>> {
        let (domain, protocol, request_type, reply_type) = match addr {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
        };
        // A raw socket sees the IP header (and so the TTL); an unprivileged ICMP socket
        // does not.
        let (socket, raw) = match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => (s, addr.is_ipv4()),
            Err(_) => (Socket::new(domain, Type::DGRAM, Some(protocol))?, false),
        };
        let target = SocketAddr::new(addr, 0).into();
        let id = (std::process::id() & 0xffff) as u16;
        let mut replies = Vec::new();
        let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
        for seq in 0..count {
            if seq > 0 {
                std::thread::sleep(interval);
            }
            let seq = (seq & 0xffff) as u16;
            let mut packet = vec![request_type, 0, 0, 0];
            packet.extend_from_slice(&id.to_be_bytes());
            packet.extend_from_slice(&seq.to_be_bytes());
            packet.extend((0..size).map(|i| (i & 0xff) as u8));
            if addr.is_ipv4() {
                let sum = checksum(&packet);
                packet[2..4].copy_from_slice(&sum.to_be_bytes());
            }
            let sent = Instant::now();
            socket.send_to(&packet, &target)?;
            let deadline = sent + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                socket.set_read_timeout(Some(left))?;
                let n = match socket.recv_from(&mut buf) {
                    Ok((n, _)) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        break
                    }
                    Err(e) => return Err(e),
                };
                // SAFETY: recv_from initialised the first n bytes.
                let data: Vec<u8> = buf[..n]
                    .iter()
                    .map(|b| unsafe { b.assume_init() })
                    .collect();
                let (ttl, icmp) = match raw {
                    true => {
                        let header = usize::from(data.first().map_or(0, |b| b & 0x0f)) * 4;
                        (
                            data.get(8).map(|t| i64::from(*t)),
                            data.get(header..).unwrap_or(&[]),
                        )
                    }
                    false => (None, &data[..]),
                };
                // Unprivileged sockets get their id rewritten by the kernel: match on seq.
                let ours = icmp.len() >= 8
                    && icmp[0] == reply_type
                    && (!raw || icmp[4..6] == id.to_be_bytes())
                    && icmp[6..8] == seq.to_be_bytes();
                if ours {
                    replies.push(Reply {
                        rtt_ms: sent.elapsed().as_secs_f64() * 1000.0,
                        ttl,
                    });
                    break;
                }
            }
        }
        Ok(replies)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn checksums_as_rfc_1071() {
            // An echo request with id 1, seq 1 and no payload.
            let packet = [8u8, 0, 0, 0, 0, 1, 0, 1];
            assert_eq!(super::checksum(&packet), 0xf7fd);
        }
    }
}

impl Input for Ping {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let this: &Ping = self;
            let runs = this.config.urls.iter().map(|host| {
                let m = acc.metric("ping").with_tag("url", host.as_str());
                async move {
                    match this.config.method.as_str() {
                        "native" => this.native(host, m).await,
                        _ => this.exec(host, m).await,
                    }
                }
            });
            let results = futures::future::join_all(runs).await;
            let mut errors = Vec::new();
            for (m, error) in results {
                acc.push(m);
                errors.extend(error);
            }
            super::gathered_all("ping", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX: &str = "PING www.google.com (216.58.218.164) 56(84) bytes of data.\n\
64 bytes from host.net (216.58.218.164): icmp_seq=1 ttl=63 time=35.2 ms\n\
64 bytes from host.net (216.58.218.164): icmp_seq=2 ttl=64 time=42.3 ms\n\
\n\
--- www.google.com ping statistics ---\n\
5 packets transmitted, 4 received, 20% packet loss, time 4010ms\n\
rtt min/avg/max/mdev = 35.225/43.628/51.806/5.325 ms\n";

    #[test]
    fn linux_output() {
        assert_eq!(
            parse_output(LINUX).unwrap(),
            Summary {
                transmitted: 5,
                received: 4,
                ttl: Some(63),
                rtt: Some([35.225, 43.628, 51.806, 5.325]),
            }
        );
        let bsd = "PING x (1.2.3.4): 56 data bytes\n64 bytes from 1.2.3.4: icmp_seq=0 ttl=55 time=2.1 ms\n\
                   --- x ping statistics ---\n2 packets transmitted, 2 packets received, 0.0% packet loss\n\
                   round-trip min/avg/max/stddev = 1.0/2.0/3.0/0.5 ms\n";
        assert_eq!(parse_output(bsd).unwrap().rtt, Some([1.0, 2.0, 3.0, 0.5]));
        let lost = "--- x ping statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2000ms\n";
        let s = parse_output(lost).unwrap();
        assert_eq!((s.transmitted, s.received, s.rtt), (3, 0, None));
        assert!(parse_output("ping: unknown host x").is_err());
    }

    #[test]
    fn arguments_as_telegraf_makes_them() {
        let p = Ping {
            config: PingConfig {
                count: 3,
                interface: "eth0".into(),
                ..PingConfig::default()
            },
        };
        assert_eq!(
            p.args("h").join(" "),
            "-c 3 -n -s 16 -i 1 -W 1 -w 10 -I eth0 h"
        );
        let p = Ping {
            config: PingConfig {
                arguments: vec!["-c".into(), "2".into()],
                ..PingConfig::default()
            },
        };
        assert_eq!(p.args("h"), ["-c", "2", "h"]);
    }

    #[test]
    fn loss_and_percentiles() {
        let mut m = Metric::new("ping", 0);
        add_summary(
            &mut m,
            &Summary {
                transmitted: 4,
                received: 3,
                ..Summary::default()
            },
        );
        assert_eq!(
            m.field("percent_packet_loss"),
            Some(&crate::metric::FieldValue::Float(25.0))
        );
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&sorted, 50), Some(2.0));
        assert_eq!(percentile(&sorted, 99), Some(4.0));
        assert_eq!(percentile(&[], 50), None);
    }
}
