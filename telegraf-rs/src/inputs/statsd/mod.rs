//! `inputs.statsd`: a statsd server (UDP or TCP) aggregating counters, gauges, sets and
//! timings between gathers, with Telegraf's names: buckets named by graphite templates
//! (`measurement*` joined with `metric_separator`), `,k=v` tags in buckets, DataDog `|#tags`
//! when enabled, a `metric_type` tag, timings as `mean`/`median`/`stddev`/`sum`/`upper`/
//! `lower`/`count`/`<p>_percentile`.
//!
//! A bad line is counted and logged (at most one log line a second) and the rest of the
//! packet goes on; lines are at most 64 KiB.

mod line;
mod running_stats;

pub use line::{parse_line, split_datadog_tags, Kind, LineError, Sample};
pub use running_stats::RunningStats;

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::{go_float_text, FieldValue, Metric};
use crate::options::GoDuration;
use crate::parsers::graphite::GraphiteParser;
use crate::parsers::ParserConfig;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

/// Options of `[[inputs.statsd]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct StatsdConfig {
    /// `udp`, `udp4`, `udp6`, `tcp`, `tcp4`, `tcp6`.
    pub protocol: String,
    /// `host:port` (`:8125`).
    pub service_address: String,
    /// Most TCP connections at once.
    pub max_tcp_connections: usize,
    /// Forget gauges after each gather.
    pub delete_gauges: bool,
    /// Forget counters after each gather.
    pub delete_counters: bool,
    /// Forget sets after each gather.
    pub delete_sets: bool,
    /// Forget timings after each gather.
    pub delete_timings: bool,
    /// Percentiles of timings.
    pub percentiles: Vec<f64>,
    /// Values kept per timing for percentiles.
    pub percentile_limit: usize,
    /// What joins bucket parts into a measurement name.
    pub metric_separator: String,
    /// `|#tag:value` DataDog tags.
    pub datadog_extensions: bool,
    /// Graphite templates naming buckets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
    /// Packets waiting to be parsed, at most.
    pub allowed_pending_messages: usize,
    /// Counters written as floats.
    pub float_counters: bool,
    /// Timing counts written as floats.
    pub float_timings: bool,
    /// Set sizes written as floats.
    pub float_sets: bool,
    /// Metrics not updated for this long are forgotten (when not deleted at each gather).
    pub max_ttl: GoDuration,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        StatsdConfig {
            protocol: "udp".into(),
            service_address: ":8125".into(),
            max_tcp_connections: 250,
            delete_gauges: true,
            delete_counters: true,
            delete_sets: true,
            delete_timings: true,
            percentiles: vec![50.0, 90.0, 99.0, 99.9, 99.95, 100.0],
            percentile_limit: 1000,
            metric_separator: "_".into(),
            datadog_extensions: false,
            templates: Vec::new(),
            allowed_pending_messages: 10_000,
            float_counters: false,
            float_timings: false,
            float_sets: false,
            max_ttl: GoDuration::default(),
        }
    }
}

/// A bucket's name, field and tags, as its template made them.
#[derive(Debug, Clone)]
struct Named {
    name: String,
    field: String,
    tags: BTreeMap<String, String>,
}

/// What one series aggregates.
#[derive(Debug)]
enum Aggregate {
    Counter(i64),
    Gauge(f64),
    Set(HashSet<String>),
    Timing(RunningStats),
}

#[derive(Debug)]
struct Slot {
    kind: Kind,
    named: Arc<Named>,
    aggregate: Aggregate,
    updated: Instant,
}

/// A series at gather time: the `metric_type`, measurement and tags.
type SeriesOf<'a> = (&'static str, &'a str, &'a BTreeMap<String, String>);

/// Everything received since the last gather: what the server feeds and a gather empties.
pub struct Aggregates {
    config: StatsdConfig,
    templates: GraphiteParser,
    /// Bucket text → its name (templates run once per bucket).
    names: HashMap<String, Arc<Named>>,
    /// `bucket \0 datadog tags \0 type` → what it aggregates.
    slots: HashMap<String, Slot>,
    key: String,
    bad_lines: u64,
    last_logged: Option<Instant>,
}

/// Builds the input and binds its socket now, so a busy port fails the start.
pub fn build(c: &StatsdConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: String| InputError::Settings(m);
    let address = crate::options::listen_address(&c.service_address)
        .map_err(|e| settings(format!("service_address {:?}: {e}", c.service_address)))?;
    let bind_fail =
        |e: std::io::Error| settings(format!("service_address {:?}: {e}", c.service_address));
    let socket = match c.protocol.as_str() {
        "udp" | "udp4" | "udp6" => {
            let s = std::net::UdpSocket::bind(&address).map_err(bind_fail)?;
            s.set_nonblocking(true).map_err(bind_fail)?;
            Socket::Udp(s)
        }
        "tcp" | "tcp4" | "tcp6" => {
            let l = std::net::TcpListener::bind(&address).map_err(bind_fail)?;
            l.set_nonblocking(true).map_err(bind_fail)?;
            Socket::Tcp(l)
        }
        other => return Err(settings(format!("protocol {other:?}: udp or tcp"))),
    };
    let state = Aggregates::new(c)?;
    Ok(Box::new(Statsd {
        state: Arc::new(Mutex::new(state)),
        socket: Some(socket),
        max_connections: c.max_tcp_connections.max(1),
        pending: c.allowed_pending_messages.max(1),
    }))
}

enum Socket {
    Udp(std::net::UdpSocket),
    Tcp(std::net::TcpListener),
}

struct Statsd {
    state: Arc<Mutex<Aggregates>>,
    socket: Option<Socket>,
    max_connections: usize,
    pending: usize,
}

impl Aggregates {
    /// Nothing received yet; the templates must compile.
    pub fn new(c: &StatsdConfig) -> Result<Self, InputError> {
        let templates = GraphiteParser::new(&ParserConfig {
            templates: c.templates.clone(),
            separator: Some(c.metric_separator.clone()),
            ..ParserConfig::default()
        })
        .map_err(|e| InputError::Settings(format!("templates: {e}")))?;
        Ok(Aggregates {
            config: c.clone(),
            templates,
            names: HashMap::new(),
            slots: HashMap::new(),
            key: String::new(),
            bad_lines: 0,
            last_logged: None,
        })
    }

    /// Lines refused so far.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Takes in one packet (lines separated by `\n`).
    pub fn packet(&mut self, packet: &[u8]) {
        for line in packet.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let result = std::str::from_utf8(line)
                .map_err(|_| LineError {
                    reason: "invalid UTF-8",
                    line: String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned(),
                })
                .and_then(|text| self.line(text));
            if let Err(e) = result {
                self.bad_lines += 1;
                if self
                    .last_logged
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
                {
                    self.last_logged = Some(Instant::now());
                    tracing::warn!("[inputs.statsd] {e} ({} bad lines so far)", self.bad_lines);
                }
            }
        }
    }

    fn line(&mut self, text: &str) -> Result<(), LineError> {
        let (owned, dd_tags);
        let line = if self.config.datadog_extensions && text.contains("|#") {
            (owned, dd_tags) = split_datadog_tags(text);
            owned.as_str()
        } else {
            dd_tags = Vec::new();
            text
        };
        let tags_text = match dd_tags.is_empty() {
            true => String::new(),
            false => dd_tags.iter().map(|(k, v)| format!("{k}={v},")).collect(),
        };
        for sample in parse_line(line)? {
            self.sample(&sample, &tags_text, &dd_tags)?;
        }
        Ok(())
    }

    fn named(&mut self, bucket: &str) -> Arc<Named> {
        if let Some(n) = self.names.get(bucket) {
            return n.clone();
        }
        let mut parts = bucket.split(',');
        let path = parts.next().unwrap_or_default();
        let (name, mut tags, field) = self.templates.name_of(path);
        for pair in parts {
            if let Some((k, v)) = pair.split_once('=') {
                if !k.is_empty() {
                    tags.insert(k.to_string(), v.to_string());
                }
            }
        }
        let named = Arc::new(Named {
            name,
            field: if field.is_empty() {
                "value".into()
            } else {
                field
            },
            tags,
        });
        // Bounded: a client sending ever new buckets costs one rebuild, not memory.
        if self.names.len() >= 100_000 {
            self.names.clear();
        }
        self.names.insert(bucket.to_string(), named.clone());
        named
    }

    fn sample(
        &mut self,
        s: &Sample<'_>,
        tags_text: &str,
        dd_tags: &[(&str, &str)],
    ) -> Result<(), LineError> {
        let bad = |reason| LineError {
            reason,
            line: format!("{}:{}", s.bucket, s.value),
        };
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        key.push_str(s.bucket);
        key.push('\0');
        key.push_str(tags_text);
        key.push('\0');
        key.push_str(s.kind.tag());
        let value = match s.kind {
            Kind::Set => None,
            Kind::Counter => Some(
                s.value
                    .parse::<i64>()
                    .map(|i| i as f64)
                    .or_else(|_| s.value.parse::<f64>())
                    .map_err(|_| bad("a counter value that is not a number"))?,
            ),
            _ => Some(
                s.value
                    .parse::<f64>()
                    .map_err(|_| bad("a value that is not a number"))?,
            ),
        };
        if !self.slots.contains_key(key.as_str()) {
            let base = self.named(s.bucket);
            let named = match dd_tags.is_empty() {
                true => base,
                false => {
                    let mut n = (*base).clone();
                    for (k, v) in dd_tags {
                        n.tags.insert(k.to_string(), v.to_string());
                    }
                    Arc::new(n)
                }
            };
            let aggregate = match s.kind {
                Kind::Counter => Aggregate::Counter(0),
                Kind::Gauge => Aggregate::Gauge(0.0),
                Kind::Set => Aggregate::Set(HashSet::new()),
                _ => Aggregate::Timing(RunningStats::new(self.config.percentile_limit)),
            };
            self.slots.insert(
                key.clone(),
                Slot {
                    kind: s.kind,
                    named,
                    aggregate,
                    updated: Instant::now(),
                },
            );
        }
        if let Some(slot) = self.slots.get_mut(key.as_str()) {
            slot.updated = Instant::now();
            match (&mut slot.aggregate, value) {
                (Aggregate::Counter(sum), Some(v)) => {
                    let rate = s.rate.unwrap_or(1.0);
                    *sum = sum.saturating_add((v.trunc() / rate) as i64);
                }
                (Aggregate::Gauge(g), Some(v)) => {
                    *g = if s.additive { *g + v } else { v };
                }
                (Aggregate::Set(set), _) => {
                    set.insert(s.value.to_string());
                }
                (Aggregate::Timing(stats), Some(v)) => {
                    let times = s
                        .rate
                        .map_or(1, |r| ((1.0 / r) as usize).max(1))
                        .min(10_000);
                    for _ in 0..times {
                        stats.add(v);
                    }
                }
                _ => {}
            }
        }
        self.key = key;
        Ok(())
    }

    /// The metrics of everything aggregated, at `time`; then forgets what the options say.
    pub fn gather(&mut self, time: i64) -> Vec<Metric> {
        let c = &self.config;
        let mut grouped: BTreeMap<SeriesOf<'_>, Vec<(String, FieldValue)>> = BTreeMap::new();
        for slot in self.slots.values_mut() {
            let field = slot.named.field.as_str();
            let fields: Vec<(String, FieldValue)> = match &mut slot.aggregate {
                Aggregate::Counter(sum) => vec![(
                    field.to_string(),
                    if c.float_counters {
                        FieldValue::Float(*sum as f64)
                    } else {
                        FieldValue::Int(*sum)
                    },
                )],
                Aggregate::Gauge(g) => vec![(field.to_string(), FieldValue::Float(*g))],
                Aggregate::Set(set) => vec![(
                    field.to_string(),
                    if c.float_sets {
                        FieldValue::Float(set.len() as f64)
                    } else {
                        FieldValue::Int(set.len() as i64)
                    },
                )],
                Aggregate::Timing(stats) => {
                    let prefix = match field {
                        "value" => String::new(),
                        f => format!("{f}_"),
                    };
                    let count = stats.count();
                    let mut fields = vec![
                        (format!("{prefix}mean"), FieldValue::Float(stats.mean())),
                        (format!("{prefix}median"), FieldValue::Float(stats.median())),
                        (format!("{prefix}stddev"), FieldValue::Float(stats.stddev())),
                        (format!("{prefix}sum"), FieldValue::Float(stats.sum())),
                        (format!("{prefix}upper"), FieldValue::Float(stats.upper())),
                        (format!("{prefix}lower"), FieldValue::Float(stats.lower())),
                        (
                            format!("{prefix}count"),
                            if c.float_timings {
                                FieldValue::Float(count as f64)
                            } else {
                                FieldValue::Int(count as i64)
                            },
                        ),
                    ];
                    for p in &c.percentiles {
                        fields.push((
                            format!("{prefix}{}_percentile", go_float_text(*p)),
                            FieldValue::Float(stats.percentile(*p)),
                        ));
                    }
                    fields
                }
            };
            let entry = grouped
                .entry((slot.kind.tag(), slot.named.name.as_str(), &slot.named.tags))
                .or_default();
            for (k, v) in fields {
                match (entry.iter_mut().find(|(key, _)| *key == k), &v) {
                    (Some((_, FieldValue::Int(a))), FieldValue::Int(b))
                        if slot.kind == Kind::Counter =>
                    {
                        *a += b
                    }
                    (Some((_, FieldValue::Float(a))), FieldValue::Float(b))
                        if slot.kind == Kind::Counter =>
                    {
                        *a += b
                    }
                    (Some(slot_value), _) => slot_value.1 = v,
                    (None, _) => entry.push((k, v)),
                }
            }
        }
        let metrics = grouped
            .into_iter()
            .map(|((kind, name, tags), fields)| {
                let mut m = Metric::new(name, time);
                m.tags = tags.clone();
                m.tags.insert("metric_type".into(), kind.into());
                m.fields = fields;
                m
            })
            .collect();
        let ttl = c.max_ttl.0;
        let (dc, dg, ds, dt) = (
            c.delete_counters,
            c.delete_gauges,
            c.delete_sets,
            c.delete_timings,
        );
        self.slots.retain(|_, slot| {
            let delete = match slot.kind {
                Kind::Counter => dc,
                Kind::Gauge => dg,
                Kind::Set => ds,
                _ => dt,
            };
            !delete && (ttl.is_zero() || slot.updated.elapsed() < ttl)
        });
        metrics
    }
}

impl Input for Statsd {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        let metrics = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .gather(acc.time);
        for m in metrics {
            acc.push(m);
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, _: tokio::sync::mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let socket = self.socket.take()?;
        let state = self.state.clone();
        let max_connections = self.max_connections;
        let pending = self.pending;
        Some(Box::pin(async move {
            let served = match socket {
                Socket::Udp(s) => serve_udp(s, state, pending).await,
                Socket::Tcp(l) => serve_tcp(l, state, max_connections).await,
            };
            if let Err(e) = served {
                tracing::error!("inputs.statsd: {e}");
            }
        }))
    }
}

/// Receives datagrams, handing them to a parsing task through a queue of `pending` packets
/// (a full queue drops the packet, as Telegraf does).
async fn serve_udp(
    socket: std::net::UdpSocket,
    state: Arc<Mutex<Aggregates>>,
    pending: usize,
) -> std::io::Result<()> {
    let socket = tokio::net::UdpSocket::from_std(socket)?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(pending);
    let parser = tokio::task::spawn_blocking(move || {
        while let Some(packet) = rx.blocking_recv() {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state.packet(&packet);
            // Take whatever else is waiting under the same lock.
            while let Ok(more) = rx.try_recv() {
                state.packet(&more);
            }
        }
    });
    let mut buf = vec![0u8; 65_536];
    let mut dropped = 0u64;
    loop {
        let n = socket.recv(&mut buf).await?;
        if tx.try_send(buf[..n].to_vec()).is_err() {
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    "[inputs.statsd] {dropped} packets dropped: allowed_pending_messages is full"
                );
            }
        }
        if parser.is_finished() {
            return Ok(());
        }
    }
}

/// Accepts TCP connections (at most `max` at once), each sending `\n`-separated lines.
async fn serve_tcp(
    listener: std::net::TcpListener,
    state: Arc<Mutex<Aggregates>>,
    max: usize,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    loop {
        let (stream, _) = listener.accept().await?;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!("[inputs.statsd] refused a connection: max_tcp_connections reached");
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut reader = tokio::io::BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut reader)
                    .take(65_537)
                    .read_until(b'\n', &mut line)
                    .await
                {
                    Ok(0) | Err(_) => return,
                    Ok(n) if n > 65_536 => {
                        tracing::warn!(
                            "[inputs.statsd] a line longer than 64 KiB: connection closed"
                        );
                        return;
                    }
                    Ok(_) => state
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .packet(&line),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(options: &str) -> Aggregates {
        Aggregates::new(&toml::from_str(options).unwrap()).unwrap()
    }

    fn find<'a>(ms: &'a [Metric], name: &str) -> &'a Metric {
        ms.iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name}: {ms:#?}"))
    }

    #[test]
    fn counters_gauges_sets_and_timings() {
        let mut s = state("percentiles = [90.0, 99.9]");
        s.packet(b"deploys.test.myservice:1|c\ndeploys.test.myservice:101|c|@0.1\nusers.current:32|g\nusers.current:-10|g\nusers.current:+4|g\nuniques:765|s\nuniques:765|s\nuniques:3|s\n");
        s.packet(b"load.time:320|ms\nload.time:200|ms|@0.5\nbad line\nx:1|q\n");
        assert_eq!(s.bad_lines, 2);
        let ms = s.gather(7);
        let c = find(&ms, "deploys_test_myservice");
        assert_eq!(c.tags["metric_type"], "counter");
        assert_eq!(c.field("value"), Some(&FieldValue::Int(1011)));
        assert_eq!(
            find(&ms, "users_current").field("value"),
            Some(&FieldValue::Float(26.0))
        );
        assert_eq!(
            find(&ms, "uniques").field("value"),
            Some(&FieldValue::Int(2))
        );
        let t = find(&ms, "load_time");
        assert_eq!(t.tags["metric_type"], "timing");
        assert_eq!(t.field("count"), Some(&FieldValue::Int(3)));
        assert_eq!(t.field("upper"), Some(&FieldValue::Float(320.0)));
        assert_eq!(t.field("lower"), Some(&FieldValue::Float(200.0)));
        assert_eq!(t.field("median"), Some(&FieldValue::Float(200.0)));
        assert_eq!(t.field("90_percentile"), Some(&FieldValue::Float(320.0)));
        assert!(t.field("99.9_percentile").is_some());
        assert_eq!(t.time, 7);
        assert!(s.gather(8).is_empty(), "deleted after the gather");
    }

    #[test]
    fn templates_bucket_tags_and_datadog_tags() {
        let mut s = state(
            "templates = [\"cpu.* measurement.field\", \"measurement.region.host\"]\ndatadog_extensions = true\ndelete_gauges = false",
        );
        s.packet(b"cpu.idle:50|g\nweb.eu.h1:3|g\nmem,host=a,dc=x:5|g|#team:db,canary\n");
        let ms = s.gather(1);
        let cpu = find(&ms, "cpu");
        assert_eq!(cpu.field("idle"), Some(&FieldValue::Float(50.0)));
        let web = find(&ms, "web");
        assert_eq!(
            (web.tags["region"].as_str(), web.tags["host"].as_str()),
            ("eu", "h1")
        );
        let mem = find(&ms, "mem");
        assert_eq!(mem.tags["host"], "a");
        assert_eq!(mem.tags["team"], "db");
        assert_eq!(mem.tags["canary"], "true");
        assert_eq!(s.gather(2).len(), 3, "gauges kept");
    }

    #[test]
    fn invalid_utf8_is_counted_and_the_rest_kept() {
        let mut s = state("");
        s.packet(b"a:1|c\n\xff\xfe:1|c\nb:2|c\n");
        assert_eq!(s.bad_lines, 1);
        assert_eq!(s.gather(1).len(), 2);
    }
}
