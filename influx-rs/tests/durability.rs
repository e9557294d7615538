//! Acknowledged writes survive SIGKILL: several writers, kill -9 at random moments, restart,
//! every point that got a 204 must be there. Then damaged WAL and column files: the server
//! starts, reports, and serves the rest.

mod common;

use common::{rows, TestServer};
use rand::Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CYCLES: usize = 20;
const WRITERS: usize = 4;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acked: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    let mut rng = rand::thread_rng();
    let mut next_time: i64 = 1_600_000_000_000_000_000;
    {
        let s = TestServer::start(&data);
        let r = reqwest::blocking::Client::new()
            .post(s.url("/query"))
            .form(&[("q", "CREATE DATABASE d")])
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    for cycle in 0..CYCLES {
        let mut server = TestServer::start(&data);
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for w in 0..WRITERS {
            let url = server.url("/write?db=d");
            let stop = Arc::clone(&stop);
            let acked = Arc::clone(&acked);
            let base = next_time + (w as i64) * 1_000_000_000;
            handles.push(std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut t = base;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let batch: Vec<i64> = (0..50).map(|i| t + i).collect();
                    t += 50;
                    let body: String = batch
                        .iter()
                        .map(|ts| format!("m,writer={w} v={ts}i,s=\"x\" {ts}\n"))
                        .collect();
                    match client.post(&url).body(body).send() {
                        Ok(r) if r.status().as_u16() == 204 => {
                            acked.lock().unwrap().extend(batch);
                        }
                        _ => return,
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().unwrap();
        }
        next_time += WRITERS as i64 * 1_000_000_000;
        // Restart and check everything acknowledged so far.
        let server = TestServer::start(&data);
        let got: BTreeSet<i64> = rows(&server.query("d", "SELECT v FROM m"))
            .iter()
            .filter_map(|r| r[0].as_i64())
            .collect();
        let acked = acked.lock().unwrap();
        let missing: Vec<&i64> = acked.difference(&got).take(5).collect();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: {} acknowledged points lost, e.g. {missing:?}",
            acked.difference(&got).count()
        );
    }
    assert!(
        acked.lock().unwrap().len() > 1000,
        "the test wrote too little to mean anything"
    );
}

#[test]
fn damaged_wal_and_column_files_are_reported_and_the_rest_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = TestServer::start(&data);
    s.query("x", "CREATE DATABASE d");
    // Two series in a column file (clean stop snapshots the cache) …
    let body: String = (0..100)
        .map(|i| format!("a v={i}i {i}\nb v={i}i {i}\n"))
        .collect();
    assert_eq!(s.write("d", &body).0, 204);
    s.stop();
    // … and one more point left in the WAL.
    let mut s = TestServer::start(&data);
    assert_eq!(s.write("d", "c v=1i 1\n").0, 204);
    s.kill9();

    let shard = find_shard_dir(&data);
    // Corrupt the first block of the column file (series "a" sorts first) …
    let tcf = std::fs::read_dir(&shard)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tcf"))
        .expect("a column file");
    let mut bytes = std::fs::read(&tcf).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&tcf, &bytes).unwrap();
    // … and append a torn entry to the WAL segment.
    let wal = std::fs::read_dir(shard.join("wal"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .max()
        .expect("a wal segment");
    let mut f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
    std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 2, 3]).unwrap();
    drop(f);

    let s = TestServer::start(&data);
    assert_eq!(
        rows(&s.query("d", "SELECT v FROM b")).len(),
        100,
        "the undamaged series is served"
    );
    assert_eq!(
        rows(&s.query("d", "SELECT v FROM c")).len(),
        1,
        "the WAL before the torn tail is replayed"
    );
    assert!(rows(&s.query("d", "SELECT v FROM a")).len() < 100);
    let log = s.log();
    assert!(log.contains("torn or corrupt tail"), "{log}");
    assert!(
        log.contains("corrupt block") && log.contains(tcf.file_name().unwrap().to_str().unwrap()),
        "{log}"
    );
    // And it still takes writes.
    assert_eq!(s.write("d", "c v=2i 2\n").0, 204);
}

fn find_shard_dir(data: &std::path::Path) -> std::path::PathBuf {
    let rp = data.join("d").join("autogen");
    std::fs::read_dir(&rp)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .expect("a shard directory")
}
