//! The stack on a cluster as a user starts it: `deploy/compose.yml` with
//! `deploy/compose.cluster.yml` (three NATS servers from Debian's binary, three influx-rs
//! nodes) on a real Docker engine, images built from the static binaries and the host's
//! `nats-server` (the `*.prebuilt.yml` overrides). Under a write load, one influx-rs container
//! is cut off its network (`docker network disconnect`): it reports itself unhealthy, the
//! cluster turns yellow and goes on taking writes; reconnected, the node catches up by itself
//! and the cluster is green again, with every acknowledged write on every node. The agent's
//! metrics reach every node, and the dashboard's Cluster page shows the three.
//!
//! Without a Docker engine or the prepared contexts it says SKIPPED; under `CI=true` it fails.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tick_tests::compose::{docker, engine_unavailable, Compose};
use tick_tests::{free_port, repo_root, required, wait_until, DashboardClient};

fn skip(why: &str) {
    assert!(
        !required(),
        "compose cluster test cannot run under CI: {why}"
    );
    eprintln!("SKIPPED: compose cluster test: {why}");
}

const SERVICES: [&str; 9] = [
    "nats1",
    "nats2",
    "nats3",
    "influxdb",
    "influxdb2",
    "influxdb3",
    "telegraf",
    "kapacitor",
    "chronograf",
];

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"))
}

/// `GET /cluster` of the node on `port` (`Null` when it does not answer).
fn cluster(port: u16) -> serde_json::Value {
    http()
        .get(format!("http://127.0.0.1:{port}/cluster"))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default()
}

/// `SELECT count(v) FROM load` on the node on `port` once it applied `sequence`.
fn load_points(port: u16, sequence: u64) -> BTreeSet<u64> {
    let answer: serde_json::Value = http()
        .get(format!("http://127.0.0.1:{port}/query"))
        .query(&[
            ("db", "db"),
            ("q", "SELECT v FROM load"),
            ("after-sequence", &sequence.to_string()),
        ])
        .send()
        .and_then(|r| r.json())
        .unwrap_or_default();
    answer["results"][0]["series"][0]["values"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r[1].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn a_partitioned_node_reports_itself_and_catches_up() {
    if let Some(why) = engine_unavailable() {
        return skip(&why);
    }
    let root = repo_root();
    let target = root.join("target");
    if !(target.join("docker-prebuilt/Dockerfile").is_file()
        && target.join("docker-nats/Dockerfile").is_file())
    {
        return skip(
            "target/docker-prebuilt or target/docker-nats is not prepared: run scripts/build-static with nats-server installed (scripts/test does)",
        );
    }
    let started = Instant::now();
    let project = format!("tickrscluster{}", std::process::id());
    let image = format!("tick-rs:{project}");
    let nats_image = format!("tick-rs-nats:{project}");
    let dash_port = free_port();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let overrides = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let publish = overrides.path().join("publish.yml");
    std::fs::write(
        &publish,
        format!(
            "services:\n  influxdb:\n    ports: [\"127.0.0.1:{}:8086\"]\n  influxdb2:\n    ports: [\"127.0.0.1:{}:8086\"]\n  influxdb3:\n    ports: [\"127.0.0.1:{}:8086\"]\n",
            ports[0], ports[1], ports[2]
        ),
    )
    .unwrap_or_else(|e| panic!("override: {e}"));
    let env = [
        ("TICK_RS_IMAGE", image.clone()),
        ("TICK_RS_NATS_IMAGE", nats_image.clone()),
        ("CHRONOGRAF_PUBLISH", format!("127.0.0.1:{dash_port}")),
        ("SMTP_ENABLED", "false".to_string()),
        ("TELEGRAF_INTERVAL", "2s".to_string()),
    ];
    let deploy = root.join("deploy");
    let files = [
        deploy.join("compose.yml"),
        deploy.join("compose.cluster.yml"),
        deploy.join("compose.prebuilt.yml"),
        deploy.join("compose.cluster.prebuilt.yml"),
        publish.clone(),
    ];
    let file_refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let Some(mut compose) = Compose::new(&project, &file_refs, &env) else {
        return skip("neither `docker compose` nor `docker-compose` is installed");
    };
    compose.own_image(&image);
    compose.own_image(&nats_image);
    compose.ok(&["build"]);
    compose.ok(&["up", "-d"]);
    compose.wait_healthy(&SERVICES, Duration::from_secs(180));
    eprintln!(
        "compose cluster test: healthy after {:?}",
        started.elapsed()
    );

    let green = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(500));
        let c = cluster(ports[0]);
        c["status"] == "green" && c["nodes"].as_array().is_some_and(|n| n.len() == 3)
    });
    assert!(
        green,
        "not green with 3 nodes: {}\n{}",
        cluster(ports[0]),
        compose.logs()
    );
    // The agent writes to the cluster; its metrics are on the third node too.
    let agent_data = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(900));
        let answer: serde_json::Value = http()
            .get(format!("http://127.0.0.1:{}/query", ports[2]))
            .query(&[("db", "telegraf"), ("q", "SHOW MEASUREMENTS")])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_default();
        answer.to_string().contains("\"cpu\"")
    });
    assert!(
        agent_data,
        "no agent metrics on influxdb3\n{}",
        compose.logs()
    );
    let dash = DashboardClient::new(dash_port);
    let page = dash.text("/chronograf/v1/sources/1/cluster");
    assert!(
        page.contains("influxdb1") && page.contains("influxdb3"),
        "{page}"
    );

    // A write load over the two nodes that stay connected.
    let created = http()
        .post(format!("http://127.0.0.1:{}/query", ports[0]))
        .form(&[("q", "CREATE DATABASE db")])
        .send()
        .map(|r| r.status().as_u16());
    assert_eq!(created.ok(), Some(200));
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let last_seq = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, last_seq, stop) =
            (Arc::clone(&acked), Arc::clone(&last_seq), Arc::clone(&stop));
        let ports = ports.clone();
        std::thread::spawn(move || {
            let client = http();
            // Bounded: stops when told, or after 50,000 writes.
            for i in 0..50_000u64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = client
                    .post(format!(
                        "http://127.0.0.1:{}/write",
                        ports[(i % 2) as usize]
                    ))
                    .query(&[("db", "db")])
                    .body(format!("load v={i} {}\n", 1_000_000_000 + i))
                    .send();
                if let Ok(r) = r {
                    if r.status().as_u16() == 204 {
                        let seq = r
                            .headers()
                            .get("X-Influx-Rs-Sequence")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        last_seq.fetch_max(seq, Ordering::Relaxed);
                        acked.lock().unwrap_or_else(|e| e.into_inner()).insert(i);
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(2));

    // influxdb3 off the network: it says it is unhealthy, the others see the cluster yellow.
    let node3 = compose.container("influxdb3");
    let network = compose.network();
    docker(&["network", "disconnect", &network, &node3])
        .unwrap_or_else(|e| panic!("disconnect: {e}"));
    let partitioned_at = Instant::now();
    let yellow = wait_until(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(500));
        let c = cluster(ports[0]);
        c["status"] == "yellow" && c["reasons"].to_string().contains("influxdb3")
    });
    assert!(
        yellow,
        "not yellow without influxdb3: {}",
        cluster(ports[0])
    );
    let reports = wait_until(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(500));
        docker(&[
            "exec",
            &node3,
            "tick-healthcheck",
            "http://127.0.0.1:8086/health",
        ])
        .is_err()
    });
    assert!(
        reports,
        "influxdb3 did not report itself unhealthy when cut off"
    );
    eprintln!(
        "compose cluster test: yellow and influxdb3 unhealthy {:?} after the partition",
        partitioned_at.elapsed()
    );
    let during = acked.lock().unwrap_or_else(|e| e.into_inner()).len();
    std::thread::sleep(Duration::from_secs(3));
    let grew = acked.lock().unwrap_or_else(|e| e.into_inner()).len();
    assert!(
        grew > during,
        "writes stopped during the partition ({during} then {grew})"
    );

    // Back on the network (under its service name): it catches up, the cluster is green.
    docker(&[
        "network",
        "connect",
        "--alias",
        "influxdb3",
        &network,
        &node3,
    ])
    .unwrap_or_else(|e| panic!("connect: {e}"));
    let healed_at = Instant::now();
    let green = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(500));
        cluster(ports[0])["status"] == "green"
    });
    assert!(
        green,
        "not green after reconnecting: {}\n{}",
        cluster(ports[0]),
        compose.logs()
    );
    eprintln!(
        "compose cluster test: green {:?} after reconnecting",
        healed_at.elapsed()
    );
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    writer
        .join()
        .unwrap_or_else(|_| panic!("the writer panicked"));
    let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Read at the log's end, past the last acknowledged write (a write whose answer was lost
    // may be stored after it): every node answers from the same entries.
    let after = cluster(ports[0])["log"][1]
        .as_u64()
        .unwrap_or(0)
        .max(last_seq.load(Ordering::Relaxed));
    assert!(
        acked.len() > 100,
        "only {} writes acknowledged",
        acked.len()
    );
    // Every node, influxdb3 too (published again once reconnected), holds every acknowledged
    // point; their answers are the same.
    let on_node3 = wait_until(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_millis(500));
        load_points(ports[2], after).is_superset(&acked)
    });
    let answers: Vec<BTreeSet<u64>> = ports.iter().map(|&p| load_points(p, after)).collect();
    for (i, points) in answers.iter().enumerate() {
        let missing: Vec<_> = acked.difference(points).take(10).collect();
        assert!(
            missing.is_empty(),
            "node {i} lacks acknowledged points {missing:?}"
        );
    }
    assert!(on_node3);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    eprintln!(
        "compose cluster test: {} acknowledged writes on all three nodes, done in {:?}",
        acked.len(),
        started.elapsed()
    );
}
