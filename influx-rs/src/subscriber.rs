//! Subscriptions: every write accepted for a database and retention policy is forwarded, as
//! line protocol with nanosecond timestamps, to the subscription's destinations (`ANY`: one of
//! them per write, round-robin; `ALL`: each). This is how Kapacitor-style consumers see the
//! stream of writes.
//!
//! The writer never waits for a destination: each subscription has a bounded queue drained by
//! its own task; a full queue drops the write and counts it. Failed deliveries are logged and
//! counted, never retried (as InfluxDB 1.x). HTTP destinations receive
//! `POST <dest>/write?db=&rp=&precision=ns&consistency=`; UDP destinations receive datagrams of
//! whole lines.

use crate::meta::{Catalog, SubscriptionInfo};
use crate::storage::{Point, Value};
use influx_client::{Client, ClientBuilder, Write};
use influxql::SubscriptionMode;
use lineproto::escape::{escape_into, Element};
use lineproto::Precision;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Writes waiting per subscription before new ones are dropped.
const QUEUE_WRITES: usize = 1000;
/// Largest UDP datagram sent.
const UDP_PAYLOAD: usize = 64 * 1024 - 1024;

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct SubscriberStats {
    /// Writes delivered to a destination.
    pub writes_ok: AtomicU64,
    /// Deliveries that failed.
    pub writes_failed: AtomicU64,
    /// Writes dropped because a subscription's queue was full.
    pub writes_dropped: AtomicU64,
}

impl crate::query::diagnostics::StatsSource for SubscriberStats {
    fn stats(&self) -> Vec<crate::query::diagnostics::ModuleStats> {
        let n = |c: &AtomicU64| serde_json::Value::from(c.load(Ordering::Relaxed));
        vec![crate::query::diagnostics::ModuleStats::new(
            "subscriber",
            &[],
            [
                ("writeDropped", n(&self.writes_dropped)),
                ("writeFailures", n(&self.writes_failed)),
                ("pointsWritten", n(&self.writes_ok)),
            ],
        )]
    }
}

/// One running subscription: its identity and the queue its task drains.
#[derive(Debug)]
struct Running {
    info: SubscriptionInfo,
    queue: mpsc::Sender<Arc<Vec<u8>>>,
}

#[derive(Debug, Default)]
struct Routes {
    /// The catalog version these routes were built from.
    version: u64,
    by_policy: HashMap<(String, String), Vec<Arc<Running>>>,
}

/// Forwards writes to subscription destinations.
#[derive(Debug)]
pub struct Subscriber {
    routes: RwLock<Routes>,
    /// How long one HTTP delivery may take.
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    /// Delivery counters.
    pub stats: Arc<SubscriberStats>,
}

impl Subscriber {
    /// A subscriber whose delivery tasks run on `runtime`; `timeout` bounds each HTTP delivery.
    pub fn new(runtime: tokio::runtime::Handle, timeout: Duration) -> Self {
        Subscriber {
            routes: RwLock::new(Routes {
                version: u64::MAX,
                by_policy: HashMap::new(),
            }),
            timeout,
            runtime,
            stats: Arc::default(),
        }
    }

    /// Rebuilds the routes when the catalog changed since the last call (cheap otherwise):
    /// subscriptions that are unchanged keep their queue and task.
    pub fn sync(&self, version: u64, catalog: impl FnOnce() -> Catalog) {
        if self.routes.read().version == version {
            return;
        }
        let catalog = catalog();
        let mut routes = self.routes.write();
        let mut old: HashMap<(String, String, String), Arc<Running>> = routes
            .by_policy
            .drain()
            .flat_map(|((db, rp), subs)| {
                subs.into_iter()
                    .map(move |s| ((db.clone(), rp.clone(), s.info.name.clone()), s))
            })
            .collect();
        for (db, info) in &catalog.databases {
            for (rp, policy) in &info.policies {
                for sub in &policy.subscriptions {
                    let key = (db.clone(), rp.clone(), sub.name.clone());
                    let running = match old.remove(&key) {
                        Some(r) if r.info == *sub => r,
                        _ => self.start(db, rp, sub.clone()),
                    };
                    routes
                        .by_policy
                        .entry((db.clone(), rp.clone()))
                        .or_default()
                        .push(running);
                }
            }
        }
        routes.version = version;
    }

    /// Queues `points`, just written to `db`.`rp`, for every subscription of that policy.
    pub fn forward(&self, db: &str, rp: &str, points: &[Point]) {
        let routes = self.routes.read();
        let Some(subs) = routes.by_policy.get(&(db.to_string(), rp.to_string())) else {
            return;
        };
        let body = Arc::new(to_line_protocol(points));
        for sub in subs {
            if sub.queue.try_send(Arc::clone(&body)).is_err() {
                self.stats.writes_dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(subscription = %sub.info.name, db, rp, "subscription queue full; write dropped");
            }
        }
    }

    fn start(&self, db: &str, rp: &str, info: SubscriptionInfo) -> Arc<Running> {
        let (tx, rx) = mpsc::channel(QUEUE_WRITES);
        // Credentials in a destination URL (`http://user:pass@host`) become its basic auth.
        let clients = info
            .destinations
            .iter()
            .map(|dest| match dest.split_once("://") {
                Some(("udp", _)) => Err("a UDP destination".to_string()),
                _ => ClientBuilder::new([dest.as_str()])
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| e.to_string()),
            })
            .collect();
        let delivery = Delivery {
            target: Write::new(db)
                .retention_policy(rp)
                .precision(Precision::Nanoseconds)
                .consistency(""),
            info: info.clone(),
            clients,
            stats: Arc::clone(&self.stats),
            next: AtomicUsize::new(0),
        };
        tracing::info!(subscription = %info.name, db, rp, destinations = ?info.destinations, "subscription started");
        self.runtime.spawn(delivery.run(rx));
        Arc::new(Running { info, queue: tx })
    }
}

/// The task of one subscription.
struct Delivery {
    target: Write,
    info: SubscriptionInfo,
    /// The client of each HTTP destination, by position in `info.destinations`.
    clients: Vec<Result<Client, String>>,
    stats: Arc<SubscriberStats>,
    next: AtomicUsize,
}

impl Delivery {
    async fn run(self, mut rx: mpsc::Receiver<Arc<Vec<u8>>>) {
        let udp = tokio::net::UdpSocket::bind("0.0.0.0:0").await.ok();
        while let Some(body) = rx.recv().await {
            let targets: Vec<usize> = match self.info.mode {
                SubscriptionMode::All => (0..self.info.destinations.len()).collect(),
                SubscriptionMode::Any => {
                    let n = self.info.destinations.len().max(1);
                    vec![self.next.fetch_add(1, Ordering::Relaxed) % n]
                }
            };
            for i in targets {
                let Some(dest) = self.info.destinations.get(i) else {
                    continue;
                };
                let result = match (dest.split_once("://"), &self.clients[i]) {
                    (Some(("udp", addr)), _) => match &udp {
                        Some(socket) => send_udp(socket, addr, &body).await,
                        None => Err("no UDP socket".to_string()),
                    },
                    (_, Ok(client)) => client
                        .write(&self.target, body.to_vec())
                        .await
                        .map_err(|e| e.to_string()),
                    (_, Err(e)) => Err(e.clone()),
                };
                match result {
                    Ok(()) => self.stats.writes_ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::warn!(subscription = %self.info.name, destination = %dest, "subscription write failed: {e}");
                        self.stats.writes_failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }
    }
}

async fn send_udp(socket: &tokio::net::UdpSocket, addr: &str, body: &[u8]) -> Result<(), String> {
    let mut start = 0;
    while start < body.len() {
        let mut end = (start + UDP_PAYLOAD).min(body.len());
        if end < body.len() {
            // Cut after the last whole line that fits.
            end = body[start..end]
                .iter()
                .rposition(|&b| b == b'\n')
                .map(|i| start + i + 1)
                .unwrap_or(end);
        }
        socket
            .send_to(&body[start..end], addr)
            .await
            .map_err(|e| e.to_string())?;
        start = end;
    }
    Ok(())
}

/// The points as line protocol, nanosecond timestamps, one line each.
pub fn to_line_protocol(points: &[Point]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * 64);
    for p in points {
        out.extend_from_slice(&p.series_key);
        for (i, (name, value)) in p.fields.iter().enumerate() {
            out.push(if i == 0 { b' ' } else { b',' });
            escape_into(&mut out, name.as_bytes(), Element::Key);
            out.push(b'=');
            match value {
                // `Display` of f64 is the shortest text that reads back to the same float.
                Value::Float(f) => out.extend_from_slice(format!("{f}").as_bytes()),
                Value::Integer(v) => out.extend_from_slice(format!("{v}i").as_bytes()),
                Value::Unsigned(v) => out.extend_from_slice(format!("{v}u").as_bytes()),
                Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::String(s) => {
                    out.push(b'"');
                    escape_into(&mut out, s.as_bytes(), Element::StringValue);
                    out.push(b'"');
                }
            }
        }
        out.push(b' ');
        out.extend_from_slice(p.time.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineproto::Precision;

    #[test]
    fn points_print_back_to_the_same_values() {
        let body =
            b"m,host=a\\ b,z=1 f=1.5,i=-3i,u=7u,s=\"q\\\"x\",b=true,e\\=k=2 10\nm v=0.1 20\n";
        let parsed = crate::write::parse_body(body, Precision::Nanoseconds, 0);
        let text = to_line_protocol(&parsed.points);
        let again = crate::write::parse_body(&text, Precision::Nanoseconds, 0);
        assert!(
            again.parse_errors.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&text)
        );
        assert_eq!(
            format!("{:?}", again.points),
            format!("{:?}", parsed.points)
        );
    }
}
