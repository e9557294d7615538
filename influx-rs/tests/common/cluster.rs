//! The cluster tests' tools: nodes over real NATS servers, their HTTP answers (with the log
//! sequence a write or statement was stored at), a write load recording what was
//! acknowledged, and the check that every node holds it.

use super::TestServer;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tick_tests::nats::{nats_server_or_skip, NatsServer};

pub const SEQUENCE: &str = "x-influx-rs-sequence";

pub fn config(nats: &[String], node: &str, replicas: usize) -> String {
    let urls: Vec<String> = nats.iter().map(|u| format!("{u:?}")).collect();
    format!(
        "[cluster]\nnats-urls = [{}]\nnode-id = \"{node}\"\nreplicas = {replicas}\nmax-lag = 100\n",
        urls.join(", ")
    )
}

/// Nodes `n<i>` for each `i` of `ids`, in `dir`, over the NATS servers `urls`, the log kept
/// `replicas` times.
pub fn nodes_named(
    dir: &std::path::Path,
    urls: &[String],
    ids: std::ops::RangeInclusive<usize>,
    replicas: usize,
) -> Vec<TestServer> {
    ids.map(|i| {
        TestServer::start_with_config(
            &dir.join(format!("n{i}")),
            &config(urls, &format!("n{i}"), replicas),
        )
    })
    .collect()
}

/// A temporary directory and one NATS server storing in it, with its URL; `None` (the test
/// says SKIPPED) without nats-server.
pub fn single_nats() -> Option<(tempfile::TempDir, NatsServer, [String; 1])> {
    let bin = nats_server_or_skip()?;
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::single(bin, &dir.path().join("nats"));
    let urls = [nats.url()];
    Some((dir, nats, urls))
}

/// Runs `work` with a JetStream context on the NATS server at `url`: how a test reaches into
/// the log behind the nodes' backs.
pub fn with_jetstream<T>(
    url: &str,
    work: impl AsyncFnOnce(async_nats::jetstream::Context) -> T,
) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = async_nats::connect(url).await.unwrap();
            work(async_nats::jetstream::new(client)).await
        })
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// A statement through `/query`: the JSON answer and the sequence it was stored at.
pub fn statement(node: &TestServer, q: &str) -> (serde_json::Value, u64) {
    statement_on(node, "", q)
}

/// [`statement`] with `db` as the query's database.
pub fn statement_on(node: &TestServer, db: &str, q: &str) -> (serde_json::Value, u64) {
    let r = client()
        .post(node.url("/query"))
        .form(&[("q", q), ("db", db)])
        .send()
        .unwrap();
    let seq = sequence(&r);
    (r.json().unwrap(), seq)
}

pub fn sequence(r: &reqwest::blocking::Response) -> u64 {
    r.headers()
        .get(SEQUENCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A write: status, body and the sequence it was stored at (0 if none).
pub fn write(node: &TestServer, db: &str, body: &str) -> (u16, String, u64) {
    match client()
        .post(node.url("/write"))
        .query(&[("db", db)])
        .body(body.to_string())
        .send()
    {
        Ok(r) => {
            let (status, seq) = (r.status().as_u16(), sequence(&r));
            (status, r.text().unwrap_or_default(), seq)
        }
        Err(e) => (0, e.to_string(), 0),
    }
}

/// A query on `node` once it has applied `after` (read-your-writes).
pub fn read(node: &TestServer, db: &str, q: &str, after: u64) -> serde_json::Value {
    client()
        .get(node.url("/query"))
        .query(&[
            ("db", db),
            ("q", q),
            ("epoch", "ns"),
            ("after-sequence", &after.to_string()),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap()
}

pub fn cluster_health(node: &TestServer) -> serde_json::Value {
    client()
        .get(node.url("/cluster"))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default()
}

/// Polls `check` every 100 ms for at most `limit`.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check()
}

/// Writers spreading new points over nodes, recording each acknowledged one.
pub struct Load {
    pub acked: Arc<Mutex<BTreeSet<(usize, u64)>>>,
    pub refused: Arc<AtomicU64>,
    pub last_seq: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    /// `writers` threads writing point `m,w=<writer> v=<i>` to the nodes on `ports` in turn.
    pub fn start(ports: &[u16], writers: usize) -> Load {
        let acked: Arc<Mutex<BTreeSet<(usize, u64)>>> = Arc::default();
        let refused = Arc::new(AtomicU64::new(0));
        let last_seq = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..writers)
            .map(|w| {
                let (acked, refused, last_seq, stop) = (
                    Arc::clone(&acked),
                    Arc::clone(&refused),
                    Arc::clone(&last_seq),
                    Arc::clone(&stop),
                );
                let ports = ports.to_vec();
                std::thread::spawn(move || {
                    let http = client();
                    // Bounded: stops when told, or after 100,000 writes; paced so the load
                    // lasts through every fault and leaves the machine room to heal.
                    for i in 0..100_000u64 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                        let port = ports[(w * 7 + i as usize) % ports.len()];
                        let r = http
                            .post(format!("http://127.0.0.1:{port}/write"))
                            .query(&[("db", "db")])
                            .body(format!("m,w={w} v={i} {}\n", 1_000_000 + i))
                            .timeout(Duration::from_secs(5))
                            .send();
                        match r.map(|r| (r.status().as_u16(), sequence(&r))) {
                            Ok((204, seq)) => {
                                last_seq.fetch_max(seq, Ordering::Relaxed);
                                acked.lock().unwrap().insert((w, i));
                            }
                            Ok((503, _)) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            // A dead node, a timeout: the outcome is unknown, nothing claimed.
                            _ => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                })
            })
            .collect();
        Load {
            acked,
            refused,
            last_seq,
            stop,
            threads,
        }
    }

    /// Stops the writers: the acknowledged points and the last sequence one was stored at.
    pub fn finish(self) -> (BTreeSet<(usize, u64)>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().clone();
        (acked, self.last_seq.load(Ordering::Relaxed))
    }
}

/// The `(w, v)` of every point of `m` in an answer of `SELECT v FROM m GROUP BY w`.
pub fn points_of(answer: &serde_json::Value) -> BTreeSet<(usize, u64)> {
    let mut stored = BTreeSet::new();
    for series in answer["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let w: usize = series["tags"]["w"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        for row in series["values"].as_array().into_iter().flatten() {
            stored.insert((w, row[1].as_u64().unwrap_or(u64::MAX)));
        }
    }
    stored
}

/// Every node holds every acknowledged point once it applied `after`, and the nodes hold the
/// same points; `context` names the run in failures.
pub fn assert_every_node_holds(
    nodes: &[Arc<Mutex<TestServer>>],
    acked: &BTreeSet<(usize, u64)>,
    after: u64,
    context: &str,
) {
    let q = "SELECT v FROM m GROUP BY w";
    let stored: Vec<BTreeSet<(usize, u64)>> = nodes
        .iter()
        .map(|n| points_of(&read(&n.lock().unwrap(), "db", q, after)))
        .collect();
    for (i, points) in stored.iter().enumerate() {
        let missing: Vec<_> = acked.difference(points).take(20).collect();
        assert!(
            missing.is_empty(),
            "{context}: node {i} lacks acknowledged points {missing:?}"
        );
        let only_0: Vec<_> = stored[0].difference(points).take(20).collect();
        let only_i: Vec<_> = points.difference(&stored[0]).take(20).collect();
        assert!(
            only_0.is_empty() && only_i.is_empty(),
            "{context}: node {i} differs from node 0: only on node 0 {only_0:?}, only on node {i} {only_i:?}\n{}",
            nodes[i].lock().unwrap().log().lines().filter(|l| l.contains("WARN") || l.contains("ERROR")).take(30).collect::<Vec<_>>().join("\n")
        );
    }
}

/// Three nodes on `ports` over the NATS servers `urls`, the log kept `replicas` times.
pub fn start_nodes(
    dir: &std::path::Path,
    urls: &[String],
    ports: &[u16],
    replicas: usize,
) -> Vec<Arc<Mutex<TestServer>>> {
    ports
        .iter()
        .enumerate()
        .map(|(i, &port)| {
            Arc::new(Mutex::new(TestServer::start_on_with_config(
                &dir.join(format!("n{i}")),
                port,
                &config(urls, &format!("n{i}"), replicas),
            )))
        })
        .collect()
}

/// The node holding the once-per-cluster lease, as `node`'s `/cluster` shows the heartbeats.
pub fn lease_holder(node: &TestServer) -> Option<String> {
    cluster_health(node)["nodes"]
        .as_array()?
        .iter()
        .find(|n| {
            n["holds_lease"] == true && n["last_contact_ms"].as_u64().is_some_and(|ms| ms < 3000)
        })
        .and_then(|n| n["node"].as_str().map(str::to_string))
}

/// Now, ns since the epoch: the time of points written "now".
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
