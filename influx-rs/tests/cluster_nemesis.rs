//! The cluster when everything fails at once, and when the log itself goes wrong: a seeded
//! random nemesis (kills, NATS servers stopped, partitions through proxies, quorum losses)
//! after which every acknowledged point is on every node and the nodes are identical; and a
//! node noticing that the log replaced or lost entries it applied.

mod common;

use common::cluster::*;
use common::{free_port, TestServer};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tick_tests::nats::{nats_server_or_skip, NatsServer};
use tick_tests::proxy::Proxy;

/// One fault the nemesis injects, then heals.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `kill -9` an influx-rs node; restart it a moment later.
    Node(usize),
    /// Stop one NATS server (the log keeps its quorum); restart it.
    Nats(usize),
    /// Partition an influx-rs node from every NATS server (its HTTP clients still reach it);
    /// heal.
    NodeCut(usize),
    /// Partition one NATS server from the other two and from every influx-rs node (the log
    /// keeps its quorum on the other side); heal.
    NatsCut(usize),
    /// Stop two NATS servers one right after the other (the log loses its quorum); restart
    /// both.
    Quorum(usize, usize),
    /// Not a fault: a node stopped applying because the log replaced entries it had applied,
    /// and the test restarted it with `--rejoin`.
    #[allow(dead_code)] // read by the history's `Debug`, printed on failure
    Replaced(usize),
}

/// Whether `node` stopped applying because the log replaced (or lost) entries it applied.
fn replaced_under(node: &TestServer) -> bool {
    cluster_health(node)["reasons"]
        .to_string()
        .contains("the log lost entries")
}

/// A checker in the spirit of Jepsen's: writers record every acknowledged point (and count
/// the 503s) while a seeded nemesis, one fault at a time for a bounded number of rounds, kills
/// influx-rs nodes (`kill -9`), stops one NATS server or two one right after the other,
/// partitions an influx-rs node from the log, or partitions one NATS server from everything
/// else (every connection between the processes goes through a proxy the test cuts); at the
/// end every acknowledged point is on every node, and the nodes hold identical data.
///
/// Two of the three NATS servers going down one right after the other under load can make
/// Debian's nats-server 2.9 bring the log back with a different tail than a node had already
/// read (it has no `sync_interval: always` before 2.10): no acknowledged point is lost, but
/// that node applied unacknowledged writes the others never see. The node must notice and stop
/// applying, saying why; the test then does what the message tells the operator (start the
/// node again with `--rejoin`) and the node must come back identical.
#[test]
fn a_random_nemesis_loses_no_acknowledged_point() {
    use rand::{Rng, SeedableRng};
    let Some(bin) = nats_server_or_skip() else {
        return;
    };
    let seed: u64 = std::env::var("NEMESIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::random::<u16>() as u64);
    eprintln!("nemesis seed {seed} (NEMESIS_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let (mut nats, routes) = NatsServer::partitionable_cluster(bin, dir.path());
    // Node i reaches NATS server j through links[i][j].
    let links: Vec<Vec<Proxy>> = (0..3)
        .map(|_| nats.iter().map(|s| Proxy::start(s.port)).collect())
        .collect();
    let urls_of = |i: usize| -> Vec<String> {
        links[i]
            .iter()
            .map(|p| format!("nats://127.0.0.1:{}", p.port))
            .collect()
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let nodes: Vec<Arc<Mutex<TestServer>>> = (0..3)
        .map(|i| {
            Arc::new(Mutex::new(TestServer::start_on_with_config(
                &dir.path().join(format!("n{i}")),
                ports[i],
                &config(&urls_of(i), &format!("n{i}"), 3),
            )))
        })
        .collect();
    statement(&nodes[0].lock().unwrap(), "CREATE DATABASE db");
    let load = Load::start(&ports, 3);

    // A node that noticed the log replaced entries it applied stops applying: the operator's
    // step, as its message says.
    let repair = |history: &mut Vec<Fault>| {
        for i in 0..3 {
            if replaced_under(&nodes[i].lock().unwrap()) {
                // Only a lost quorum can make the log replace entries: anything else is a
                // false alarm.
                assert!(
                    history.iter().any(|f| matches!(f, Fault::Quorum(..))),
                    "node {i} saw entries replaced with no quorum lost before: {history:?}\n{}",
                    nodes[i].lock().unwrap().log()
                );
                history.push(Fault::Replaced(i));
                eprintln!("node {i} saw the log replace entries it applied: it rejoins");
                let mut node = nodes[i].lock().unwrap();
                node.kill9();
                *node = TestServer::start_on_with_config_and(
                    &dir.path().join(format!("n{i}")),
                    ports[i],
                    &config(&urls_of(i), &format!("n{i}"), 3),
                    &["--rejoin"],
                );
            }
        }
    };
    let mut history = Vec::new();
    for _round in 0..10 {
        // One fault at a time: the one before has healed (the log has its quorum again and
        // every node is back in contact) before the next.
        eventually(Duration::from_secs(60), || {
            repair(&mut history);
            let h = cluster_health(&nodes[0].lock().unwrap());
            h["status"] != "red"
                && h["nodes"].as_array().is_some_and(|n| {
                    n.len() == 3
                        && n.iter()
                            .all(|n| n["last_contact_ms"].as_u64().is_some_and(|ms| ms < 3000))
                })
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(500..1500)));
        let fault = match rng.gen_range(0..5) {
            0 => Fault::Node(rng.gen_range(0..3)),
            1 => Fault::Nats(rng.gen_range(0..3)),
            2 => Fault::NodeCut(rng.gen_range(0..3)),
            3 => Fault::NatsCut(rng.gen_range(0..3)),
            _ => {
                let j = rng.gen_range(0..3);
                Fault::Quorum(j, (j + rng.gen_range(1..3)) % 3)
            }
        };
        history.push(fault);
        match fault {
            Fault::Node(i) => {
                nodes[i].lock().unwrap().kill9();
                std::thread::sleep(Duration::from_millis(rng.gen_range(200..1500)));
                *nodes[i].lock().unwrap() = TestServer::start_on_with_config(
                    &dir.path().join(format!("n{i}")),
                    ports[i],
                    &config(&urls_of(i), &format!("n{i}"), 3),
                );
            }
            Fault::Nats(j) => {
                nats[j].stop();
                std::thread::sleep(Duration::from_millis(rng.gen_range(500..2500)));
                nats[j].start();
            }
            Fault::NodeCut(i) => {
                links[i].iter().for_each(Proxy::cut);
                std::thread::sleep(Duration::from_millis(rng.gen_range(1000..4000)));
                links[i].iter().for_each(Proxy::heal);
            }
            Fault::NatsCut(j) => {
                routes.isolate(j);
                links.iter().for_each(|l| l[j].cut());
                std::thread::sleep(Duration::from_millis(rng.gen_range(1000..4000)));
                routes.heal();
                links.iter().for_each(|l| l[j].heal());
            }
            Fault::Quorum(j, k) => {
                nats[j].stop();
                std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
                nats[k].stop();
                std::thread::sleep(Duration::from_millis(rng.gen_range(1000..3000)));
                nats[j].start();
                nats[k].start();
            }
            Fault::Replaced(_) => {}
        }
    }
    // The writes go on a moment after the last fault; once they stop, the cluster turns green
    // (every node caught up).
    std::thread::sleep(Duration::from_millis(1000));
    let refused = load.refused.load(Ordering::Relaxed);
    let (acked, after) = load.finish();
    // Long enough for every node to have compared what it applied with the log (a log left
    // shorter than a node's position counts after five checks, one a second).
    std::thread::sleep(Duration::from_secs(7));
    let green = eventually(Duration::from_secs(60), || {
        repair(&mut history);
        cluster_health(&nodes[0].lock().unwrap())["status"] == "green"
    });
    assert!(
        green,
        "not green after the nemesis {history:?}: {}",
        cluster_health(&nodes[0].lock().unwrap())
    );
    eprintln!(
        "nemesis {history:?}: {} writes acknowledged, {refused} answered 503, last sequence {after}",
        acked.len()
    );
    assert!(
        acked.len() > 100,
        "only {} writes acknowledged",
        acked.len()
    );
    assert_every_node_holds(
        &nodes,
        &acked,
        after,
        &format!("nemesis {history:?} (seed {seed})"),
    );
}

/// A log whose applied part is rewritten while a node is cut off from it (what JetStream does
/// when it loses entries and gives their sequences to others) stops that node's apply loop
/// with the reason, instead of letting it differ from the others in silence (also when the
/// replaced entries are not the one it applied last), and the node lets the once-per-cluster
/// lease go.
#[test]
fn a_log_rewritten_under_a_node_stops_it_saying_why() {
    let Some((_dir, nats, link, node)) = node_behind_a_link() else {
        return;
    };
    let mut seq = 0;
    for i in 1..=3 {
        let (status, _, s) = write(&node, "db", &format!("m v={i} {i}\n"));
        assert_eq!(status, 204);
        seq = s;
    }
    // Cut off, the node does not see the stream go and come back with its first two entries
    // swapped, then two entries more (copies of writes, valid, that the node applies).
    link.cut();
    rewrite_log(&nats.url(), seq, |entries| {
        entries.swap(0, 1);
        let again = [entries[2].clone(), entries[3].clone()];
        entries.extend(again);
    });
    link.heal();
    // Entry 1 is not the entry at the node's position: only the whole trail shows it.
    let stopped = eventually(Duration::from_secs(20), || {
        cluster_health(&node)["reasons"]
            .to_string()
            .contains("the log's entry at sequence 1 is not the one this node applied")
    });
    assert!(stopped, "{}\n{}", cluster_health(&node), node.log());
    // Its data is stale: it lets the once-per-cluster lease go (CQs, retention, snapshots).
    let released = eventually(Duration::from_secs(20), || lease_holder(&node).is_none());
    assert!(released, "{}", cluster_health(&node));
}

/// A log that comes back shorter than a node's position (entries it applied are lost, and no
/// new ones took their sequences yet) stops the node with the reason within a few seconds,
/// instead of leaving it quietly ahead of the others.
#[test]
fn a_log_that_lost_applied_entries_stops_the_node_saying_why() {
    let Some((_dir, nats, link, node)) = node_behind_a_link() else {
        return;
    };
    let (status, _, seq) = write(&node, "db", "m v=1 1\nm v=2 2\n");
    assert_eq!(status, 204);
    // Cut off, the node does not see the stream come back without its last entry.
    link.cut();
    rewrite_log(&nats.url(), seq, |entries| {
        entries.pop();
    });
    link.heal();
    let stopped = eventually(Duration::from_secs(20), || {
        cluster_health(&node)["reasons"]
            .to_string()
            .contains(&format!(
                "the log ends at sequence {}, but this node applied it up to {seq}",
                seq - 1
            ))
    });
    assert!(stopped, "{}\n{}", cluster_health(&node), node.log());
}

/// One NATS server and one node (with database `db`) that reaches it through a proxy the
/// test can cut; `None` (SKIPPED) without nats-server.
fn node_behind_a_link() -> Option<(tempfile::TempDir, NatsServer, Proxy, TestServer)> {
    let (dir, nats, _) = single_nats()?;
    let link = Proxy::start(nats.port);
    let urls = [format!("nats://127.0.0.1:{}", link.port)];
    let node = TestServer::start_with_config(&dir.path().join("n1"), &config(&urls, "n1", 1));
    statement(&node, "CREATE DATABASE db");
    Some((dir, nats, link, node))
}

/// Behind the nodes' backs: reads the log's entries 1 to `last`, lets `edit` change them, and
/// recreates the stream with the result (what JetStream does when it loses entries).
fn rewrite_log(url: &str, last: u64, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    with_jetstream(url, async |js| {
        let stream = js.get_stream("influx-rs").await.unwrap();
        let mut entries = Vec::new();
        for s in 1..=last {
            entries.push(stream.get_raw_message(s).await.unwrap().payload.to_vec());
        }
        edit(&mut entries);
        js.delete_stream("influx-rs").await.unwrap();
        js.create_stream(async_nats::jetstream::stream::Config {
            name: "influx-rs".into(),
            subjects: vec!["influx-rs.log".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        for payload in entries {
            js.publish("influx-rs.log", payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
}
