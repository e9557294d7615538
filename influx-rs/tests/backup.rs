//! `influx-rs backup` and `influx-rs restore` against a real store under a write load: the
//! backup is one consistent moment (each writer's points in it are a prefix of what it wrote,
//! holding at least every point acknowledged before the backup began), the restored store
//! answers as the source did at that moment, and wrong uses are refused with a clear error.

mod common;

use common::{free_port, TestServer};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WRITERS: u64 = 4;

/// Runs `influx-rs <args>`: success and what it printed (stdout and stderr).
fn influx_rs(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_influx-rs"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("influx-rs runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn query(s: &TestServer, db: &str, q: &str) -> serde_json::Value {
    reqwest::blocking::Client::new()
        .post(s.url("/query"))
        .form(&[("db", db), ("q", q), ("epoch", "ns")])
        .send()
        .and_then(|r| r.json())
        .expect("a query answer")
}

/// Each writer's points in `s`: how many, and the highest number among them.
fn per_writer(s: &TestServer) -> Vec<(u64, u64)> {
    (0..WRITERS)
        .map(|w| {
            let a = query(
                s,
                "db",
                &format!("SELECT count(n), max(n) FROM load WHERE writer = 'w{w}'"),
            );
            let row = &a["results"][0]["series"][0]["values"][0];
            (row[1].as_u64().unwrap_or(0), row[2].as_u64().unwrap_or(0))
        })
        .collect()
}

#[test]
fn a_backup_under_write_load_restores_one_consistent_moment() {
    let dir = tempfile::tempdir().unwrap();
    let source = TestServer::start_with_config(
        &dir.path().join("source"),
        // Small caches: column files are written and compacted while the load runs.
        "[data]\ncache-snapshot-memory-size = 65536\n",
    );
    query(&source, "", "CREATE DATABASE db");
    query(
        &source,
        "db",
        "CREATE RETENTION POLICY week ON db DURATION 7d REPLICATION 1",
    );
    query(
        &source,
        "",
        "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
    );
    query(&source, "db", "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT count(n) INTO counts FROM load GROUP BY time(1h) END");

    // Writers number their points 1, 2, 3 …; `acked[w]` is the last one acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let url = source.url("/write?db=db");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (stop, acked, url) = (Arc::clone(&stop), Arc::clone(&acked), url.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut n = 0u64;
                // Bounded: at most 100,000 batches, and the test stops it far sooner.
                for _ in 0..100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body: String = (1..=20)
                        .map(|k| {
                            let i = n + k;
                            format!(
                                "load,writer=w{w} n={i}i {}\n",
                                1_600_000_000_000_000_000 + i as i64 * 1000 + w as i64
                            )
                        })
                        .collect();
                    let ok = http
                        .post(&url)
                        .basic_auth("admin", Some("pw"))
                        .body(body)
                        .send()
                        .is_ok_and(|r| r.status().as_u16() == 204);
                    assert!(ok, "a write failed under load");
                    n += 20;
                    acked[w as usize].store(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    let backup = dir.path().join("backup");
    let host = format!("http://127.0.0.1:{}", source.port);
    let (ok, out) = influx_rs(&["backup", "--host", &host, backup.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("backup of"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let after: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Relaxed)).collect();

    // A wrong use: restoring into a data directory that holds data.
    let (ok, out) = influx_rs(&[
        "restore",
        "--data-dir",
        source.data_dir.to_str().unwrap(),
        backup.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("not empty"), "{out}");

    let target = dir.path().join("restored");
    let (ok, out) = influx_rs(&[
        "restore",
        "--data-dir",
        target.to_str().unwrap(),
        backup.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("restored"), "{out}");
    let restored = TestServer::start(&target);
    let moment = per_writer(&restored);
    for (w, &(count, max)) in moment.iter().enumerate() {
        // A prefix: every number up to the highest, none missing.
        assert_eq!(count, max, "writer {w}: {count} points but up to {max}");
        assert!(
            max >= before[w] && max <= after[w],
            "writer {w}: the backup holds up to {max}, acknowledged {} before it and {} after",
            before[w],
            after[w]
        );
    }
    assert!(moment.iter().any(|&(c, _)| c > 0), "{moment:?}");
    // Everything else of the moment came back: policies, users, continuous queries.
    for (db, q) in [
        ("db", "SHOW RETENTION POLICIES"),
        ("", "SHOW USERS"),
        ("db", "SHOW CONTINUOUS QUERIES"),
        ("db", "SHOW FIELD KEYS"),
        ("db", "SHOW TAG VALUES WITH KEY = writer"),
    ] {
        assert_eq!(query(&restored, db, q), query(&source, db, q), "{q}");
    }
}

#[test]
fn only_an_admin_may_take_a_backup_and_damaged_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with_config(&dir.path().join("s"), "[http]\nauth-enabled = true\n");
    query(
        &s,
        "",
        "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
    );
    let create = reqwest::blocking::Client::new()
        .post(s.url("/query"))
        .basic_auth("admin", Some("pw"))
        .form(&[("q", "CREATE USER reader WITH PASSWORD 'r'")])
        .send()
        .unwrap();
    assert_eq!(create.status().as_u16(), 200);
    let host = format!("http://127.0.0.1:{}", s.port);
    let target = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (ok, out) = influx_rs(&["backup", "--host", &host, &target("anonymous")]);
    assert!(!ok && out.contains("401"), "{out}");
    let (ok, out) = influx_rs(&[
        "backup",
        "--host",
        &host,
        "--username",
        "reader",
        "--password",
        "r",
        &target("reader"),
    ]);
    assert!(!ok && out.contains("only an admin"), "{out}");
    let (ok, out) = influx_rs(&[
        "backup",
        "--host",
        &host,
        "--username",
        "admin",
        "--password",
        "pw",
        &target("admin"),
    ]);
    assert!(ok, "{out}");
    // A file of the backup cut short: restore says which and refuses.
    let meta = Path::new(&target("admin")).join("data").join("meta.json");
    let text = std::fs::read(&meta).unwrap();
    std::fs::write(&meta, &text[..text.len() / 2]).unwrap();
    let (ok, out) = influx_rs(&["restore", "--data-dir", &target("fresh"), &target("admin")]);
    assert!(
        !ok && out.contains("meta.json") && out.contains("damaged"),
        "{out}"
    );
    // Nothing listens: the error names the store.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (ok, out) = influx_rs(&["backup", "--host", &dead, &target("dead")]);
    assert!(!ok && out.contains(&dead), "{out}");
}
