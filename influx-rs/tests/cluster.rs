//! influx-rs nodes replicating over a real NATS JetStream (Debian's `nats-server`) on loopback:
//! writes and statements sent to any node reach every node; a node killed with `kill -9` under a
//! write load catches up by itself with every acknowledged point; without a quorum of NATS
//! servers writes answer 503 and nothing acknowledged is lost; a second node with a node id in
//! use, and a node whose data is newer than the log, refuse to start; nodes join, and come back,
//! behind a log trimmed past their position by restoring the newest snapshot; a subscription
//! receives each point once. The randomized nemesis and the log rewritten under a node:
//! `cluster_nemesis.rs`.

mod common;

use common::cluster::*;
use common::{free_port, TestServer};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tick_tests::nats::{nats_server_or_skip, NatsServer};

#[test]
fn writes_and_statements_sent_to_any_node_reach_every_node() {
    let Some((dir, _nats, urls)) = single_nats() else {
        return;
    };
    let nodes = nodes_named(dir.path(), &urls, 1..=3, 1);
    let (answer, created) = statement(&nodes[0], "CREATE DATABASE db");
    assert_eq!(
        answer,
        serde_json::json!({"results": [{"statement_id": 0}]})
    );
    assert!(created > 0);
    let (status, body, written) = write(
        &nodes[1],
        "db",
        "cpu,host=a v=1 1000\ncpu,host=b v=2 2000\ncpu,host=c v=3 3000\n",
    );
    assert_eq!((status, body.as_str()), (204, ""));
    assert!(written > created, "{written} after {created}");
    let q = "SELECT * FROM cpu";
    let first = read(&nodes[0], "db", q, written);
    assert_eq!(common::rows(&first).len(), 3, "{first}");
    for node in &nodes[1..] {
        assert_eq!(read(node, "db", q, written), first);
    }
    // Statements from another node, in order with the writes.
    let (_, rp) = statement(
        &nodes[2],
        "CREATE RETENTION POLICY week ON db DURATION 7d REPLICATION 1",
    );
    let (answer, dropped) = statement_on(&nodes[2], "db", "DROP SERIES FROM cpu WHERE host = 'a'");
    assert_eq!(
        answer["results"][0]["error"],
        serde_json::Value::Null,
        "{answer}"
    );
    assert!(dropped > rp);
    for node in &nodes {
        let policies = read(node, "db", "SHOW RETENTION POLICIES ON db", dropped);
        assert_eq!(common::rows(&policies).len(), 2, "{policies}");
        let count = read(node, "db", "SELECT count(v) FROM cpu", dropped);
        assert_eq!(common::rows(&count)[0][1], 2, "{count}");
    }
    // A partial write answers as a single node does, and its accepted points are everywhere.
    let (status, body, partial) = write(
        &nodes[0],
        "db",
        "cpu,host=d v=4i 4000\ncpu,host=e v=5 5000\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("partial write") && body.contains("dropped=1"),
        "{body}"
    );
    assert!(partial > 0, "a partial write still stored points");
    for node in &nodes {
        let count = read(node, "db", "SELECT count(v) FROM cpu", partial);
        assert_eq!(common::rows(&count)[0][1], 3, "{count}");
    }
    // Unknown databases and bad lines are refused without going through the log.
    let (status, body, seq) = write(&nodes[2], "nope", "cpu v=1 1\n");
    assert_eq!((status, seq), (404, 0), "{body}");
    assert!(body.contains("database not found"), "{body}");
    // Health: green once every node has sent a heartbeat in step.
    let green = eventually(Duration::from_secs(10), || {
        let h = cluster_health(&nodes[1]);
        h["status"] == "green" && h["nodes"].as_array().is_some_and(|n| n.len() == 3)
    });
    assert!(green, "{}", cluster_health(&nodes[1]));
    let h: serde_json::Value = client()
        .get(nodes[0].url("/health"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(h["status"], "pass", "{h}");
    assert_eq!(h["cluster"]["node"], "n1", "{h}");
    // The node's place in the cluster on /metrics and in SHOW STATS.
    let metrics = client()
        .get(nodes[0].url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("influxrs_cluster_applied_sequence ")
            && metrics.contains("influxrs_cluster_apply_stopped 0"),
        "{metrics}"
    );
    let stats = read(&nodes[0], "", "SHOW STATS", 0);
    assert!(stats.to_string().contains("appliedSequence"), "{stats}");
}

#[test]
fn a_node_killed_under_load_catches_up_with_every_acknowledged_point() {
    let Some((dir, _nats, urls)) = single_nats() else {
        return;
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let nodes = start_nodes(dir.path(), &urls, &ports, 1);
    statement(&nodes[0].lock().unwrap(), "CREATE DATABASE db");
    let load = Load::start(&ports, 3);
    std::thread::sleep(Duration::from_millis(1500));
    nodes[1].lock().unwrap().kill9();
    std::thread::sleep(Duration::from_millis(1000));
    *nodes[1].lock().unwrap() =
        TestServer::start_on_with_config(&dir.path().join("n1"), ports[1], &config(&urls, "n1", 1));
    std::thread::sleep(Duration::from_millis(1500));
    let (acked, after) = load.finish();
    assert!(acked.len() > 50, "only {} writes acknowledged", acked.len());
    assert_every_node_holds(&nodes, &acked, after, "node n1 killed");
    let log = nodes[1].lock().unwrap().log();
    assert!(log.matches("joined the cluster").count() >= 2, "{log}");
}

#[test]
fn without_a_quorum_writes_answer_503_and_nothing_acknowledged_is_lost() {
    let Some(bin) = nats_server_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::cluster(bin, dir.path());
    let urls: Vec<String> = nats.iter().map(NatsServer::url).collect();
    let nodes = nodes_named(dir.path(), &urls, 1..=2, 3);
    statement(&nodes[0], "CREATE DATABASE db");
    let mut next = 0u64;
    let mut acked = BTreeSet::new();
    let mut refused = 0;
    let mut last = 0;
    // Writes alternate between the nodes; each is a new point.
    let mut burst = |nodes: &[TestServer],
                     n: usize,
                     acked: &mut BTreeSet<u64>,
                     refused: &mut usize,
                     last: &mut u64| {
        let mut ok = 0;
        for _ in 0..n {
            let node = &nodes[(next % 2) as usize];
            let (status, body, seq) = write(node, "db", &format!("m v={next} {}\n", next + 1));
            match status {
                204 => {
                    acked.insert(next);
                    *last = (*last).max(seq);
                    ok += 1;
                }
                503 => *refused += 1,
                // No answer in time: neither acknowledged nor refused (the client cannot know).
                0 => {}
                other => panic!("write answered {other}: {body}\nnode log:\n{}", node.log()),
            }
            next += 1;
        }
        ok
    };
    assert_eq!(burst(&nodes, 20, &mut acked, &mut refused, &mut last), 20);
    // One of three NATS servers down: the log keeps its quorum.
    nats[0].kill();
    // JetStream elects new leaders first (seconds, more on a busy machine).
    let resumed = eventually(Duration::from_secs(45), || {
        burst(&nodes, 5, &mut acked, &mut refused, &mut last) == 5
    });
    assert!(
        resumed,
        "writes did not go on with two NATS servers of three"
    );
    // Two down: no quorum, writes are refused, health is red.
    nats[1].kill();
    let red = eventually(Duration::from_secs(30), || {
        burst(&nodes, 1, &mut acked, &mut refused, &mut last) == 0
            && cluster_health(&nodes[0])["status"] == "red"
    });
    assert!(red, "{}", cluster_health(&nodes[0]));
    let before = refused;
    burst(&nodes, 4, &mut acked, &mut refused, &mut last);
    assert!(refused > before, "writes without quorum were acknowledged");
    let health = client().get(nodes[1].url("/health")).send().unwrap();
    assert_eq!(health.status().as_u16(), 503);
    // One back: quorum again, writes resume, health green again.
    nats[1].start();
    let back = eventually(Duration::from_secs(60), || {
        burst(&nodes, 1, &mut acked, &mut refused, &mut last) == 1
    });
    assert!(back, "writes did not resume: {}", cluster_health(&nodes[0]));
    burst(&nodes, 10, &mut acked, &mut refused, &mut last);
    for node in &nodes {
        let answer = read(node, "db", "SELECT v FROM m", last);
        let stored: BTreeSet<u64> = common::rows(&answer)
            .iter()
            .filter_map(|r| r[1].as_u64())
            .collect();
        let missing: Vec<_> = acked.difference(&stored).collect();
        assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    }
    let green = eventually(Duration::from_secs(20), || {
        cluster_health(&nodes[0])["status"] == "green"
    });
    assert!(green, "{}", cluster_health(&nodes[0]));
}

#[test]
fn a_node_id_in_use_and_data_newer_than_the_log_are_refused() {
    let Some(bin) = nats_server_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::single(bin, &dir.path().join("nats"));
    let urls = [nats.url()];
    let first = TestServer::start_with_config(&dir.path().join("n1"), &config(&urls, "n1", 1));
    let (ok, log) = TestServer::run_refused(&dir.path().join("twin"), &config(&urls, "n1", 1));
    assert!(!ok && log.contains("node-id \"n1\" is in use"), "{log}");
    let (_, seq) = statement(&first, "CREATE DATABASE db");
    assert!(seq > 0);
    drop(first);
    drop(nats);
    // The log recreated empty (a new NATS store), the node's data still at sequence `seq`.
    let nats = NatsServer::single(bin, &dir.path().join("nats-new"));
    let (ok, log) =
        TestServer::run_refused(&dir.path().join("n1"), &config(&[nats.url()], "n1", 1));
    assert!(!ok && log.contains("the log was recreated"), "{log}");
    let (ok, log) =
        TestServer::run_refused(&dir.path().join("none"), "[cluster]\nnats-urls = []\n");
    assert!(
        !ok && log.contains("[cluster]: node-id is required"),
        "{log}"
    );
}

/// `influx-rs --data-dir <dir> --skip-log-entry <sequence>`: success and what it printed.
fn skip_entry(data_dir: &std::path::Path, sequence: u64) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_influx-rs"))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--skip-log-entry")
        .arg(sequence.to_string())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn an_entry_a_node_cannot_apply_stops_it_until_an_operator_skips_it() {
    let Some((dir, nats, urls)) = single_nats() else {
        return;
    };
    let port = free_port();
    let data = dir.path().join("n1");
    let mut node = TestServer::start_on_with_config(&data, port, &config(&urls, "n1", 1));
    statement(&node, "CREATE DATABASE db");
    let (status, _, first) = write(&node, "db", "m v=1 1\n");
    assert_eq!(status, 204);
    // A message no influx-rs wrote: another format version.
    let bad = with_jetstream(&nats.url(), async |js| {
        js.publish("influx-rs.log", vec![9u8, 1, 2, 3].into())
            .await
            .unwrap()
            .await
            .unwrap()
            .sequence
    });
    assert_eq!(bad, first + 1);
    let stopped = eventually(Duration::from_secs(10), || {
        let h = cluster_health(&node);
        h["status"] == "yellow"
            && h["reasons"].to_string().contains(&format!(
                "entry at sequence {bad}: log entry format version 9"
            ))
    });
    assert!(stopped, "{}", cluster_health(&node));
    assert!(
        node.log().contains("the apply loop stopped"),
        "{}",
        node.log()
    );
    node.kill9();
    // Only the entry after the applied one can be skipped.
    let (ok, text) = skip_entry(&data, bad + 1);
    assert!(
        !ok && text.contains(&format!("only the entry after it, {bad}")),
        "{text}"
    );
    let (ok, text) = skip_entry(&data, bad);
    assert!(ok, "{text}");
    let node = TestServer::start_on_with_config(&data, port, &config(&urls, "n1", 1));
    let (status, body, after) = write(&node, "db", "m v=2 2\n");
    assert_eq!((status, body.as_str()), (204, ""));
    assert!(after > bad);
    let count = read(&node, "db", "SELECT count(v) FROM m", after);
    assert_eq!(common::rows(&count)[0][1], 2, "{count}");
    let green = eventually(Duration::from_secs(10), || {
        cluster_health(&node)["status"] == "green"
    });
    assert!(green, "{}", cluster_health(&node));
}

#[test]
fn continuous_queries_run_once_through_the_log_and_move_when_their_node_dies() {
    let Some((dir, _nats, urls)) = single_nats() else {
        return;
    };
    let mut nodes: Vec<Option<TestServer>> = (1..=2)
        .map(|i| {
            Some(TestServer::start_with_config(
                &dir.path().join(format!("n{i}")),
                &config(&urls, &format!("n{i}"), 1),
            ))
        })
        .collect();
    let first = nodes[0].as_ref().unwrap();
    statement(first, "CREATE DATABASE db");
    statement(
        first,
        "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 1s FOR 30s BEGIN SELECT count(v) INTO db.autogen.counts FROM m GROUP BY time(1s) END",
    );
    let holder = eventually(Duration::from_secs(15), || lease_holder(first).is_some());
    assert!(holder, "{}", cluster_health(first));
    let holder = lease_holder(first).unwrap();
    let (dead, alive) = if holder == "n1" { (0, 1) } else { (1, 0) };
    // Points every 50 ms for 3 s, then the holder dies, then 3 s more through the survivor.
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    };
    let start = now_ns();
    let mut last = 0;
    for i in 0..120u64 {
        if i == 60 {
            nodes[dead].take().unwrap().kill9();
        }
        let target = if i < 60 { i as usize % 2 } else { alive };
        let (status, body, seq) = write(
            nodes[target].as_ref().unwrap(),
            "db",
            &format!("m v={i} {}\n", now_ns()),
        );
        assert_eq!(status, 204, "{body}");
        last = last.max(seq);
        std::thread::sleep(Duration::from_millis(50));
    }
    let end = now_ns();
    let survivor = nodes[alive].as_ref().unwrap();
    let moved = eventually(Duration::from_secs(20), || {
        lease_holder(survivor).as_deref() == Some(if alive == 0 { "n1" } else { "n2" })
    });
    assert!(
        moved,
        "the lease did not move: {}",
        cluster_health(survivor)
    );
    // Once the survivor's resampling covered the whole range, every 1 s window of the CQ's
    // results equals the count of the points themselves: none skipped, none doubled.
    let from = start / 1_000_000_000 * 1_000_000_000 + 1_000_000_000;
    let to = end / 1_000_000_000 * 1_000_000_000;
    let range = format!("time >= {from} AND time < {to}");
    let answers = || {
        let direct = read(
            survivor,
            "db",
            &format!("SELECT count(v) FROM m WHERE {range} GROUP BY time(1s)"),
            last,
        );
        let cq = read(
            survivor,
            "db",
            &format!("SELECT count FROM counts WHERE {range}"),
            last,
        );
        (direct, cq)
    };
    let same = eventually(Duration::from_secs(30), || {
        let (direct, cq) = answers();
        let direct: Vec<_> = common::rows(&direct)
            .into_iter()
            .filter(|r| r[1] != 0)
            .collect();
        !direct.is_empty() && direct == common::rows(&cq)
    });
    let (direct, cq) = answers();
    assert!(same, "points per second {direct}\nCQ results {cq}");
}

/// Answers of the fixed query set on `node` once it applied `sequence`, as text.
fn query_set(node: &TestServer, sequence: u64) -> Vec<String> {
    [
        ("", "SHOW DATABASES"),
        ("db", "SHOW RETENTION POLICIES"),
        ("db", "SHOW MEASUREMENTS"),
        ("db", "SHOW SERIES"),
        ("db", "SHOW FIELD KEYS"),
        ("db", "SHOW TAG VALUES WITH KEY = \"host\""),
        ("db", "SELECT count(*) FROM /.*/ GROUP BY *"),
        (
            "db",
            "SELECT * FROM cpu WHERE host = 'h3' ORDER BY time DESC LIMIT 5",
        ),
        ("db", "SELECT mean(v) FROM week.cpu GROUP BY host"),
        ("", "SHOW USERS"),
        ("db", "SHOW CONTINUOUS QUERIES"),
    ]
    .iter()
    .map(|(db, q)| read(node, db, q, sequence).to_string())
    .collect()
}

/// A node with `snapshot-interval` and `max-log-age` short enough that the log is trimmed
/// within seconds.
fn trimming_config(nats: &[String], node: &str) -> String {
    format!(
        "{}snapshot-interval = \"2s\"\nmax-log-age = \"1s\"\n",
        config(nats, node, 1)
    )
}

#[test]
fn nodes_join_and_come_back_behind_a_trimmed_log_through_snapshots() {
    let Some((dir, _nats, urls)) = single_nats() else {
        return;
    };
    let n1 = TestServer::start_with_config(&dir.path().join("n1"), &trimming_config(&urls, "n1"));
    let mut n2 =
        TestServer::start_with_config(&dir.path().join("n2"), &trimming_config(&urls, "n2"));
    statement(&n1, "CREATE DATABASE db");
    statement_on(
        &n1,
        "db",
        "CREATE RETENTION POLICY week ON db DURATION 7d REPLICATION 1",
    );
    statement(&n1, "CREATE USER reader WITH PASSWORD 'r'");
    statement_on(
        &n1,
        "db",
        "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO m_mean FROM cpu GROUP BY time(1h) END",
    );
    let mut last = 0;
    for batch in 0..20i64 {
        let body: String = (0..50)
            .map(|i| {
                format!(
                    "cpu,host=h{} v={batch}.{i} {}\n",
                    i % 7,
                    (batch * 50 + i) * 1_000_000_000
                )
            })
            .collect();
        let (status, text, seq) = write(if batch % 2 == 0 { &n1 } else { &n2 }, "db", &body);
        assert_eq!(status, 204, "{text}");
        last = last.max(seq);
    }
    // A point in the other retention policy, recent enough for it.
    let r = client()
        .post(n1.url("/write?db=db&rp=week"))
        .body(format!("cpu,host=w v=2 {}", now_ns()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    last = last.max(sequence(&r));
    // n2 stops here, at `last`.
    assert!(!read(&n2, "db", "SHOW MEASUREMENTS", last)
        .to_string()
        .contains("error"));
    n2.kill9();

    // The holder snapshots and trims: the log soon starts past 1.
    let trimmed = eventually(Duration::from_secs(30), || {
        // Something new keeps being written, so entries age past max-log-age.
        let _ = write(&n1, "db", &format!("tick v=1 {}", now_ns()));
        cluster_health(&n1)["log"][0].as_u64().unwrap_or(0) > last + 1
    });
    assert!(trimmed, "the log was not trimmed: {}", cluster_health(&n1));
    let (status, _, _) = write(&n1, "db", "cpu,host=late v=9 2000000000");
    assert_eq!(status, 204);
    statement(&n1, "CREATE USER late WITH PASSWORD 'l'");

    // A new node restores the newest snapshot, replays the rest, answers as n1 does.
    let n3 = TestServer::start_with_config(&dir.path().join("n3"), &trimming_config(&urls, "n3"));
    let (_, end) = statement(&n1, "CREATE DATABASE end_marker");
    assert_eq!(query_set(&n3, end), query_set(&n1, end));
    assert!(query_set(&n3, end).concat().contains("late"));

    // n2 came back too late: its data is older than the log's first entry.
    let (ok, log) = TestServer::run_refused(&dir.path().join("n2"), &trimming_config(&urls, "n2"));
    assert!(!ok && log.contains("needs a snapshot"), "{log}");
    // Started with `--rejoin`, it moves its data aside and starts as a new node from the
    // snapshot.
    let n2 = TestServer::start_on_with_config_and(
        &dir.path().join("n2"),
        free_port(),
        &trimming_config(&urls, "n2"),
        &["--rejoin"],
    );
    assert!(std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("n2.aside-")));
    assert_eq!(query_set(&n2, end), query_set(&n1, end));
}

/// What the sink received within `limit` (until it stays quiet for 2 s): the `v` of each
/// point, sorted.
fn received(sink: &tick_tests::HttpSink, limit: Duration) -> Vec<u64> {
    let mut seen: Vec<u64> = Vec::new();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let Some((_, body)) = sink.next(Duration::from_secs(2)) else {
            break;
        };
        for line in body.lines() {
            let v = line
                .split_once("v=")
                .and_then(|(_, rest)| rest.split(' ').next())
                .and_then(|v| v.parse::<f64>().ok());
            if let Some(v) = v {
                seen.push(v as u64);
            }
        }
    }
    seen.sort_unstable();
    seen
}

/// A subscription on a cluster (created through the log, so every node has it) delivers each
/// accepted point once, not once per node: the node that received the write forwards it. When
/// the once-per-cluster lease holder dies, the lease moves and delivery is unaffected: each
/// point written to the surviving nodes still arrives once.
#[test]
fn a_subscription_receives_each_point_once_from_the_cluster() {
    let Some((dir, _nats, urls)) = single_nats() else {
        return;
    };
    let mut nodes = nodes_named(dir.path(), &urls, 0..=2, 1);
    let sink = tick_tests::HttpSink::start();
    statement(&nodes[0], "CREATE DATABASE db");
    let (answer, seq) = statement(
        &nodes[1],
        &format!(
            "CREATE SUBSCRIPTION k ON db.autogen DESTINATIONS ALL 'http://127.0.0.1:{}'",
            sink.port
        ),
    );
    assert!(!answer.to_string().contains("error"), "{answer}");
    for n in &nodes {
        let subs = read(n, "", "SHOW SUBSCRIPTIONS", seq).to_string();
        assert!(subs.contains(&sink.port.to_string()), "{subs}");
    }
    for i in 0..30u64 {
        let (status, body, _) = write(
            &nodes[(i % 3) as usize],
            "db",
            &format!("m v={i} {}", i + 1),
        );
        assert_eq!(status, 204, "{body}");
    }
    assert_eq!(
        received(&sink, Duration::from_secs(5)),
        (0..30).collect::<Vec<u64>>(),
        "each point exactly once"
    );

    // The lease holder dies; writes go on through the two others.
    let mut holder = None;
    assert!(eventually(Duration::from_secs(15), || {
        holder = lease_holder(&nodes[0]);
        holder.is_some()
    }));
    let dead: usize = holder.unwrap()[1..].parse().unwrap();
    nodes[dead].kill9();
    let alive: Vec<usize> = (0..3).filter(|&i| i != dead).collect();
    for i in 30..60u64 {
        let node = &nodes[alive[(i % 2) as usize]];
        let (status, body, _) = write(node, "db", &format!("m v={i} {}", i + 1));
        assert_eq!(status, 204, "{body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let moved = eventually(Duration::from_secs(20), || {
        lease_holder(&nodes[alive[0]]).is_some_and(|h| h != format!("n{dead}"))
    });
    assert!(
        moved,
        "the lease did not move: {}",
        cluster_health(&nodes[alive[0]])
    );
    assert_eq!(
        received(&sink, Duration::from_secs(5)),
        (30..60).collect::<Vec<u64>>(),
        "each point exactly once after the lease holder died"
    );
}
