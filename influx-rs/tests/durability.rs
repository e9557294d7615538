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
        let after = Duration::from_millis(rng.gen_range(30..400));
        let start = next_time;
        write_until_kill9(&mut server, WRITERS, after, &acked, move |w, i| {
            let t0 = start + (w as i64) * 1_000_000_000 + (i as i64) * 50;
            let batch: Vec<i64> = (t0..t0 + 50).collect();
            let body = batch
                .iter()
                .map(|ts| format!("m,writer={w} v={ts}i,s=\"x\" {ts}\n"))
                .collect();
            (body, batch)
        });
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

/// Runs `writers` threads posting batch after batch (`batch(writer, n)` gives the n-th body
/// and what it holds) for at most 5 s, and kills the server with SIGKILL after `after`; what
/// every acknowledged batch holds is added to `acked`.
fn write_until_kill9<T: Ord + Send + 'static>(
    server: &mut TestServer,
    writers: usize,
    after: Duration,
    acked: &Arc<Mutex<BTreeSet<T>>>,
    batch: impl Fn(usize, u64) -> (String, Vec<T>) + Send + Sync + 'static,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let batch = Arc::new(batch);
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let url = server.url("/write?db=d");
            let (stop, acked, batch) = (Arc::clone(&stop), Arc::clone(acked), Arc::clone(&batch));
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let (body, items) = batch(w, n);
                    n += 1;
                    match client.post(&url).body(body).send() {
                        Ok(r) if r.status().as_u16() == 204 => acked.lock().unwrap().extend(items),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(after);
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
}

fn find_shard_dir(data: &std::path::Path) -> std::path::PathBuf {
    let rp = data.join("d").join("autogen");
    std::fs::read_dir(&rp)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir())
        .expect("a shard directory")
}

/// Series index files are flushed and merged all the time (a 300-byte series log), writers
/// create new series in every batch, and the server is killed at random moments: after each
/// restart every acknowledged series is known to the index — counted, listed by its tag value
/// and found by a `WHERE` on it.
#[test]
fn series_survive_kill_9_during_index_flushes_and_merges() {
    const CONFIG: &str = "[data]\nmax-index-log-file-size = 300\ncache-snapshot-memory-size = 4096\nmax-series-per-database = 0\n";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acked: Arc<Mutex<BTreeSet<u64>>> = Arc::default();
    let mut rng = rand::thread_rng();
    {
        let s = TestServer::start_with_config(&data, CONFIG);
        s.query("x", "CREATE DATABASE d");
    }
    let mut next_series = 0u64;
    for cycle in 0..8 {
        let mut server = TestServer::start_with_config(&data, CONFIG);
        let after = Duration::from_millis(rng.gen_range(300..1500));
        let first = next_series;
        write_until_kill9(&mut server, 2, after, &acked, move |w, i| {
            let n = first + w as u64 * 1_000_000 + i * 20;
            let batch: Vec<u64> = (n..n + 20).collect();
            let body = batch
                .iter()
                .map(|s| format!("m,host=h{s},rack=k{} v=1i 1000\n", s % 7))
                .collect();
            (body, batch)
        });
        next_series += 10_000_000;

        let server = TestServer::start_with_config(&data, CONFIG);
        let acked = acked.lock().unwrap();
        let count = rows(&server.query("d", "SHOW SERIES EXACT CARDINALITY"))
            .first()
            .and_then(|r| r[0].as_u64())
            .unwrap_or(0);
        assert!(
            count >= acked.len() as u64,
            "cycle {cycle}: {count} series known, {} acknowledged",
            acked.len()
        );
        let listed: BTreeSet<String> =
            rows(&server.query("d", "SHOW TAG VALUES FROM m WITH KEY = \"host\""))
                .iter()
                .filter_map(|r| r[1].as_str().map(str::to_string))
                .collect();
        let missing: Vec<&u64> = acked
            .iter()
            .filter(|s| !listed.contains(&format!("h{s}")))
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: series not listed, e.g. {missing:?}"
        );
        for s in acked.iter().step_by((acked.len() / 10).max(1)) {
            let q = format!("SELECT v FROM m WHERE host = 'h{s}'");
            assert_eq!(rows(&server.query("d", &q)).len(), 1, "cycle {cycle}: {q}");
        }
    }
    let acked = acked.lock().unwrap();
    assert!(
        acked.len() > 2_000,
        "the test wrote too little to mean anything"
    );

    // A corrupt index file: reported, and the index rebuilt from the column files and WAL.
    let shard = find_shard_dir(&data);
    let tkx = std::fs::read_dir(&shard)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tkx"))
        .expect("the series went to index files");
    let mut bytes = std::fs::read(&tkx).unwrap();
    bytes[9] ^= 0xff;
    std::fs::write(&tkx, &bytes).unwrap();
    let server = TestServer::start_with_config(&data, CONFIG);
    let listed: BTreeSet<String> =
        rows(&server.query("d", "SHOW TAG VALUES FROM m WITH KEY = \"host\""))
            .iter()
            .filter_map(|r| r[1].as_str().map(str::to_string))
            .collect();
    let missing = acked
        .iter()
        .filter(|s| !listed.contains(&format!("h{s}")))
        .count();
    assert_eq!(missing, 0, "series lost with the corrupt index file");
    let log = server.log();
    assert!(
        log.contains("is corrupt") && log.contains("rebuilt"),
        "{log}"
    );
}

/// A second server started on a data directory in use exits at once with an error naming the
/// directory, before it touches a file (it used to replay the WALs and delete the first
/// server's unfinished compaction output); the first keeps serving everything.
#[test]
fn a_second_server_on_a_data_directory_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start(&data);
    server.query("", "CREATE DATABASE d");
    let (status, body) = server.write("d", "m v=1i 1000000000\nm v=2i 2000000000\n");
    assert_eq!(status, 204, "{body}");
    let (ok, log) = TestServer::run_refused(&data, "");
    assert!(!ok, "the second server did not exit with an error: {log}");
    assert!(
        log.contains("in use by another influx-rs process")
            && log.contains(&*data.to_string_lossy()),
        "{log}"
    );
    let got = rows(&server.query("d", "SELECT v FROM m"));
    assert_eq!(got.len(), 2, "{got:?}");
}

/// Copies the tree `from` to `to`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A data directory written by the build before column files version 3 and index files
/// version 3 (`tests/fixtures/format-v2`: 500 series `cpu,host=h<i>,region=r<i % 5>`, three
/// points each, `usage = i + t/10`, `n = i·t`, `s = "v<t>"`, t = 0..3, in a version 2 column
/// file and a version 2 index file) answers as it did, before and after new series go to
/// version 3 files beside the old ones.
#[test]
fn a_data_directory_of_the_previous_formats_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v2/data"),
        &data,
    );
    let check = |server: &TestServer, extra: i64| {
        let one = |q: &str| {
            rows(&server.query("old", q))
                .first()
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(one("SHOW SERIES EXACT CARDINALITY")[0], 500 + extra);
        assert_eq!(
            one("SELECT count(usage) FROM cpu WHERE region = 'r2'")[1],
            300
        );
        assert_eq!(one("SELECT sum(n) FROM cpu WHERE host = 'h7'")[1], 21);
        assert_eq!(one("SELECT last(s) FROM cpu WHERE host = 'h499'")[1], "v2");
        assert_eq!(
            rows(&server.query("old", "SHOW TAG VALUES WITH KEY = region")).len(),
            5 + usize::from(extra > 0)
        );
    };
    let mut server = TestServer::start(&data);
    check(&server, 0);
    let fresh: String = (0..300)
        .map(|i| format!("cpu,host=n{i},region=new usage=1 1600000000000000000\n"))
        .collect();
    let (status, body) = server.write("old", &fresh);
    assert_eq!(status, 204, "{body}");
    server.stop();
    let server = TestServer::start(&data);
    check(&server, 300);
}
