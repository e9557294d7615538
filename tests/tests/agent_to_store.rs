//! telegraf-rs writing into a real influx-rs: the expected measurements and fields arrive, and
//! neither a store outage nor a `kill -9` of the agent in the middle of it loses a metric.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tick_tests::{free_port, rows, wait_until, Daemon, Store};

fn agent_config(port: u16, inputs: &str) -> String {
    format!(
        r#"
[agent]
  interval = "1s"
  flush_interval = "1s"
  round_interval = true
  hostname = "test-host"

[[outputs.influxdb]]
  urls = ["http://127.0.0.1:{port}"]
  database = "telegraf"
  timeout = "2s"

{inputs}
"#
    )
}

fn start_agent(dir: &Path, config: &str, log: &str) -> Daemon {
    let path = dir.join("telegraf.conf");
    std::fs::write(&path, config).unwrap();
    Daemon::spawn(
        "telegraf-rs",
        &[
            "--config",
            &path.to_string_lossy(),
            "--data-dir",
            &dir.join("agent").to_string_lossy(),
        ],
        &[("RUST_LOG", "debug")],
        &dir.join(log),
    )
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_store_receives_telegraf_measurements_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = Store::start(&dir.path().join("store"), port);
    let inputs = "[[inputs.cpu]]\n[[inputs.mem]]\n[[inputs.swap]]\n[[inputs.system]]\n[[inputs.processes]]\n[[inputs.kernel]]\n[[inputs.net]]\n[[inputs.diskio]]\n[[inputs.disk]]\n  ignore_fs = [\"tmpfs\", \"devtmpfs\", \"overlay\", \"squashfs\"]\n[[inputs.internal]]\n";
    let mut agent = start_agent(dir.path(), &agent_config(port, inputs), "agent.log");
    let expected = [
        "cpu",
        "disk",
        "internal_agent",
        "kernel",
        "mem",
        "processes",
        "swap",
        "system",
    ];
    let arrived = wait_until(Duration::from_secs(30), || {
        let v = store.query("telegraf", "SHOW MEASUREMENTS");
        let names: BTreeSet<String> = rows(&v)
            .iter()
            .filter_map(|r| r[0].as_str().map(str::to_string))
            .collect();
        expected.iter().all(|e| names.contains(*e))
    });
    assert!(arrived, "measurements missing; agent log:\n{}", agent.log());
    // cpu percentages come from the second gather on.
    assert!(wait_until(Duration::from_secs(10), || !rows(&store.query(
        "telegraf",
        "SELECT usage_idle FROM cpu WHERE cpu = 'cpu-total'"
    ))
    .is_empty()));
    let field_keys = |m: &str| -> BTreeSet<String> {
        rows(&store.query("telegraf", &format!("SHOW FIELD KEYS FROM {m}")))
            .iter()
            .map(|r| format!("{}:{}", r[0].as_str().unwrap(), r[1].as_str().unwrap()))
            .collect()
    };
    let mem = field_keys("mem");
    for f in [
        "total:integer",
        "used:integer",
        "available_percent:float",
        "used_percent:float",
        "cached:integer",
    ] {
        assert!(mem.contains(f), "mem lacks {f}: {mem:?}");
    }
    let system = field_keys("system");
    for f in [
        "load1:float",
        "n_cpus:integer",
        "uptime:integer",
        "uptime_format:string",
    ] {
        assert!(system.contains(f), "system lacks {f}: {system:?}");
    }
    let cpu = field_keys("cpu");
    assert!(
        cpu.contains("usage_user:float") && cpu.contains("usage_idle:float"),
        "{cpu:?}"
    );
    let host = rows(&store.query("telegraf", "SHOW TAG VALUES FROM mem WITH KEY = host"));
    assert_eq!(host[0][1], "test-host");
    agent.stop();
}

#[test]
fn a_store_outage_and_an_agent_crash_lose_no_metric() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let store_dir = dir.path().join("store");
    let mut store = Store::start(&store_dir, port);
    let config = agent_config(port, "[[inputs.mem]]\n[[inputs.kernel]]\n");
    let mut agent = start_agent(dir.path(), &config, "agent1.log");
    let first_rows = wait_until(Duration::from_secs(15), || {
        !rows(&store.query("telegraf", "SELECT count(total) FROM mem")).is_empty()
    });
    assert!(first_rows, "no data before the outage:\n{}", agent.log());
    std::thread::sleep(Duration::from_secs(2));

    // The store goes away for several flush intervals; halfway the agent is killed.
    store.daemon.kill9();
    let outage_start = now_secs();
    std::thread::sleep(Duration::from_secs(3));
    agent.kill9();
    let agent_down = now_secs();
    let mut agent = start_agent(dir.path(), &config, "agent2.log");
    let agent_up = now_secs();
    std::thread::sleep(Duration::from_secs(3));
    let store = Store::start(&store_dir, port);
    let outage_end = now_secs();

    // Everything gathered since the outage began reaches the store.
    let caught_up = wait_until(Duration::from_secs(45), || {
        let v = store.query(
            "telegraf",
            &format!(
                "SELECT count(total) FROM mem WHERE time >= {}s",
                outage_end + 1
            ),
        );
        rows(&v).first().and_then(|r| r[1].as_i64()).unwrap_or(0) >= 2
    });
    assert!(caught_up, "agent did not catch up:\n{}", agent.log());
    std::thread::sleep(Duration::from_secs(2));
    agent.stop();
    assert!(
        agent.log().contains("buffer recovered"),
        "the restarted agent found no backlog:\n{}",
        agent.log()
    );

    let times: Vec<i64> = rows(&store.query("telegraf", "SELECT total FROM mem"))
        .iter()
        .map(|r| r[0].as_i64().unwrap() / 1_000_000_000)
        .collect();
    let distinct: BTreeSet<i64> = times.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        times.len(),
        "a metric was stored twice: {times:?}"
    );
    let (first, last) = (times[0], times[times.len() - 1]);
    let missing: Vec<i64> = (first..=last).filter(|t| !distinct.contains(t)).collect();
    // Only the seconds when no agent ran may be missing.
    let unexplained: Vec<i64> = missing
        .iter()
        .copied()
        .filter(|t| *t < agent_down - 1 || *t > agent_up + 2)
        .collect();
    assert!(
        unexplained.is_empty(),
        "gaps outside the agent's downtime ({agent_down}..{agent_up}): {unexplained:?}; outage {outage_start}..{outage_end}; times {times:?}\nagent 1:\n{}\nagent 2:\n{}",
        std::fs::read_to_string(dir.path().join("agent1.log")).unwrap_or_default(),
        agent.log()
    );
    assert!(
        (outage_start..agent_down - 1).all(|t| distinct.contains(&t)),
        "metrics gathered during the outage before the crash are missing: {times:?}"
    );
    let kernel = rows(&store.query("telegraf", &format!("SELECT count(context_switches) FROM kernel WHERE time >= {outage_start}s AND time < {outage_end}s")));
    assert!(
        kernel.first().and_then(|r| r[1].as_i64()).unwrap_or(0) >= 3,
        "kernel metrics of the outage are missing"
    );
}

fn count(store: &Store, db: &str, q: &str) -> i64 {
    rows(&store.query(db, q))
        .first()
        .and_then(|r| r[1].as_i64())
        .unwrap_or(0)
}

#[test]
fn a_failing_output_holds_up_nobody_and_rejected_lines_are_dropped_alone() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = Store::start(&dir.path().join("store"), port);
    // boot_time is an integer in Telegraf's kernel metric: a string here makes the store refuse
    // those lines (400 partial write) while it takes the rest of each batch.
    let seed = reqwest::blocking::Client::new()
        .post(store.url("/write?db=telegraf"))
        .body("kernel boot_time=\"x\"")
        .send()
        .unwrap();
    assert_eq!(
        seed.status().as_u16(),
        404,
        "the database does not exist yet"
    );
    reqwest::blocking::Client::new()
        .post(store.url("/query"))
        .form(&[("q", "CREATE DATABASE telegraf")])
        .send()
        .unwrap();
    reqwest::blocking::Client::new()
        .post(store.url("/write?db=telegraf"))
        .body("kernel boot_time=\"x\"")
        .send()
        .unwrap();
    let dead = free_port();
    let config = format!(
        "{}\n[[outputs.influxdb]]\n  urls = [\"http://127.0.0.1:{dead}\"]\n  timeout = \"1s\"\n",
        agent_config(port, "[[inputs.mem]]\n[[inputs.kernel]]\n")
    );
    let mut agent = start_agent(dir.path(), &config, "agent.log");
    let flowing = wait_until(Duration::from_secs(20), || {
        count(&store, "telegraf", "SELECT count(total) FROM mem") >= 4
    });
    assert!(flowing, "mem did not keep arriving:\n{}", agent.log());
    agent.stop();
    let log = agent.log();
    assert!(
        log.contains("will be dropped") && log.contains("partial write"),
        "{log}"
    );
    assert!(
        log.contains(&format!("127.0.0.1:{dead}")),
        "the dead output's errors are logged:\n{log}"
    );
    assert_eq!(
        count(&store, "telegraf", "SELECT count(boot_time) FROM kernel"),
        1,
        "only the seeded point"
    );
}

#[test]
fn the_influxdb_v2_output_writes_to_a_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = Store::start(&dir.path().join("store"), port);
    reqwest::blocking::Client::new()
        .post(store.url("/query"))
        .form(&[("q", "CREATE DATABASE metrics")])
        .send()
        .unwrap();
    let config = format!(
        "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n[[inputs.kernel]]\n[[outputs.influxdb_v2]]\n  urls = [\"http://127.0.0.1:{port}\"]\n  bucket = \"metrics/autogen\"\n  token = \"user:pass\"\n"
    );
    let mut agent = start_agent(dir.path(), &config, "agent.log");
    let arrived = wait_until(Duration::from_secs(20), || {
        count(&store, "metrics", "SELECT count(interrupts) FROM kernel") >= 2
    });
    assert!(arrived, "{}", agent.log());
    agent.stop();
}

/// The Python `influxdb` client writing through the agent's `influxdb_listener`: database
/// creation answered, points written in two precisions and through gzip, then a body with one
/// bad line (refused naming it, its good line kept) and one too large.
const PYTHON_THROUGH_AGENT: &str = r#"
import sys, gzip, urllib.request, urllib.error
from influxdb import InfluxDBClient
port = int(sys.argv[1])
c = InfluxDBClient('127.0.0.1', port, database='app')
c.create_database('app')
assert c.ping() is not None
points = [{'measurement': 'reading', 'tags': {'device': 'd%d' % (i % 5)}, 'fields': {'v': float(i)}, 'time': 1700000000 + i} for i in range(40)]
assert c.write_points(points, time_precision='s', batch_size=15)
ms = [{'measurement': 'reading', 'tags': {'device': 'ms'}, 'fields': {'v': 1.0}, 'time': 1700000000123}]
assert c.write_points(ms, time_precision='ms')
body = gzip.compress(b'reading,device=gz v=2 1700000001000000000\n')
req = urllib.request.Request('http://127.0.0.1:%d/write?db=app' % port, data=body, headers={'Content-Encoding': 'gzip'})
assert urllib.request.urlopen(req).status == 204
req = urllib.request.Request('http://127.0.0.1:%d/write?db=app' % port, data=b'reading,device=ok v=3 1700000002000000000\nreading,device=bad v=\n')
try:
    urllib.request.urlopen(req)
    raise SystemExit('a bad line was accepted')
except urllib.error.HTTPError as e:
    text = e.read().decode()
    assert e.code == 400 and 'line 2' in text, (e.code, text)
req = urllib.request.Request('http://127.0.0.1:%d/write?db=app' % port, data=b'x v=1\n' * 300000)
try:
    urllib.request.urlopen(req)
    raise SystemExit('a body past max_body_size was accepted')
except urllib.error.HTTPError as e:
    assert e.code == 413, e.code
print('written')
"#;

#[test]
fn clients_write_through_the_agent_listener_and_a_store_outage_loses_nothing() {
    let python = std::process::Command::new("python3")
        .args(["-c", "import influxdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !python {
        assert!(
            !tick_tests::required(),
            "the Python influxdb client is missing (pip install influxdb)"
        );
        eprintln!("the Python influxdb client is missing: SKIPPED");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store_port = free_port();
    let listener = free_port();
    // The store is down while clients write: everything waits in the agent's buffer.
    let inputs = format!(
        "[[inputs.influxdb_listener]]\n  service_address = \"127.0.0.1:{listener}\"\n  max_body_size = \"1MiB\"\n  database_tag = \"database\"\n"
    );
    let mut agent = start_agent(dir.path(), &agent_config(store_port, &inputs), "agent.log");
    let up = wait_until(Duration::from_secs(15), || {
        std::net::TcpStream::connect(("127.0.0.1", listener)).is_ok()
    });
    assert!(up, "the listener did not open:\n{}", agent.log());
    let out = std::process::Command::new("python3")
        .args(["-c", PYTHON_THROUGH_AGENT, &listener.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}\nagent:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        agent.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    let store = Store::start(&dir.path().join("store"), store_port);
    // 40 + 1 (ms) + 1 (gzip) + 1 (the good line of the bad body).
    let arrived = wait_until(Duration::from_secs(30), || {
        count(&store, "telegraf", "SELECT count(v) FROM reading") == 43
    });
    assert!(arrived, "points lost:\n{}", agent.log());
    let ms = rows(&store.query(
        "telegraf",
        "SELECT v, \"database\" FROM reading WHERE device = 'ms'",
    ));
    assert_eq!(ms[0][0].as_i64(), Some(1_700_000_000_123_000_000));
    assert_eq!(ms[0][2].as_str(), Some("app"));
    agent.stop();
}
