//! kapacitor-rs subscribed to a three-node influx-rs cluster (real `nats-server`, real
//! daemons on loopback): every point written to any node reaches the alerting engine once, not
//! once per node, also when the node holding the once-per-cluster lease is killed.

use std::path::Path;
use std::time::Duration;
use tick_tests::nats::{nats_server_or_skip, NatsServer};
use tick_tests::{free_port, start_kapacitor_with, wait_until, Store};

/// Node `n<i>` of the cluster on the NATS server at `nats`.
fn node(dir: &Path, nats: &str, i: usize) -> Store {
    let id = format!("n{i}");
    Store::start_with_env(
        &dir.join(&id),
        free_port(),
        &[
            ("INFLUX_RS_CLUSTER_NATS_URLS", nats),
            ("INFLUX_RS_CLUSTER_NODE_ID", &id),
            ("INFLUX_RS_CLUSTER_REPLICAS", "1"),
        ],
    )
}

/// What the task's `from` node has let through, as kapacitor-rs counts it.
fn collected(api: u16) -> u64 {
    reqwest::blocking::get(format!("http://127.0.0.1:{api}/kapacitor/v1/tasks/count_m"))
        .and_then(|r| r.json::<serde_json::Value>())
        .ok()
        .and_then(|t| t["stats"]["node-stats"]["from1"]["emitted"].as_u64())
        .unwrap_or(0)
}

/// The node (index) whose recent heartbeat says it holds the lease.
fn lease_holder(store: &Store) -> Option<usize> {
    let cluster: serde_json::Value = reqwest::blocking::get(store.url("/cluster"))
        .and_then(|r| r.json())
        .ok()?;
    cluster["nodes"]
        .as_array()?
        .iter()
        .find(|n| {
            n["holds_lease"] == true && n["last_contact_ms"].as_u64().is_some_and(|ms| ms < 3000)
        })
        .and_then(|n| n["node"].as_str()?.strip_prefix('n')?.parse().ok())
}

/// Waits until `api`'s count stays at `expected` (what arrived, once it stopped changing).
fn settle_at(api: u16, expected: u64) -> u64 {
    wait_until(Duration::from_secs(15), || collected(api) >= expected);
    std::thread::sleep(Duration::from_secs(2));
    collected(api)
}

#[test]
fn kapacitor_receives_each_point_once_from_a_cluster_also_when_the_lease_holder_dies() {
    let Some(bin) = nats_server_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::single(bin, &dir.path().join("nats"));
    let mut nodes: Vec<Option<Store>> = (0..3)
        .map(|i| Some(node(dir.path(), &nats.url(), i)))
        .collect();
    let first = nodes[0].as_ref().unwrap();
    let r = first.query("", "CREATE DATABASE telegraf");
    assert!(r["results"][0]["error"].is_null(), "{r}");

    // kapacitor-rs subscribes itself through node 0; the subscription goes through the log.
    let api = free_port();
    let kapacitor = start_kapacitor_with(dir.path(), first, 0, api, "kapacitor.log", "");
    tick_tests::define_task(
        api,
        "count_m",
        "stream",
        "stream\n    |from()\n        .measurement('m')\n",
    );
    for n in nodes.iter().flatten() {
        let subscribed = wait_until(Duration::from_secs(20), || {
            n.query("", "SHOW SUBSCRIPTIONS")
                .to_string()
                .contains(&api.to_string())
        });
        assert!(
            subscribed,
            "no subscription on {}:\n{}",
            n.port,
            kapacitor.log()
        );
    }

    for i in 0..30 {
        let node = nodes[i % 3].as_ref().unwrap();
        node.write("telegraf", &format!("m v={i} {}", i + 1));
    }
    assert_eq!(settle_at(api, 30), 30, "each point once, not once per node");

    // The lease holder dies; the two others go on taking writes.
    let mut holder = None;
    wait_until(Duration::from_secs(15), || {
        holder = lease_holder(nodes[0].as_ref().unwrap());
        holder.is_some()
    });
    let dead = holder.expect("a lease holder");
    if let Some(mut n) = nodes[dead].take() {
        n.daemon.kill9();
    }
    let alive: Vec<&Store> = nodes.iter().flatten().collect();
    for i in 30..60 {
        alive[i % 2].write("telegraf", &format!("m v={i} {}", i + 1));
        std::thread::sleep(Duration::from_millis(50));
    }
    let moved = wait_until(Duration::from_secs(20), || {
        lease_holder(alive[0]).is_some_and(|h| h != dead)
    });
    assert!(moved, "the lease did not move from n{dead}");
    assert_eq!(
        settle_at(api, 60),
        60,
        "each point once after the lease holder died"
    );
}
