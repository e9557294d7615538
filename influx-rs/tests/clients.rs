//! Real InfluxDB clients against influx-rs: the `influx` CLI of Debian's `influxdb-client`
//! package (`-execute`, `-import`, `-format json`) and the Python `influxdb` (1.x) and
//! `influxdb-client` (v2 write API) packages. A missing client skips its test with a message,
//! except under `CI=true`, where `.ci/run` installs them and a missing one fails.

mod common;

use common::{rows, TestServer};
use std::process::Command;

fn required(what: &str) -> bool {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI (.ci/run installs it)");
    }
    eprintln!("SKIPPED: {what} not installed");
    false
}

fn influx_cli(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new("influx")
        .args(["-host", "127.0.0.1", "-port", &port.to_string()])
        .args(args)
        .output()
        .expect("run influx");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn influx_cli_executes_imports_and_reads() {
    if Command::new("influx").arg("-version").output().is_err()
        && !required("the influx CLI (apt-get install influxdb-client)")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    let (ok, out) = influx_cli(s.port, &["-execute", "CREATE DATABASE cli"]);
    assert!(ok, "{out}");
    let import = dir.path().join("import.txt");
    std::fs::write(
        &import,
        "# DDL\nCREATE DATABASE cli\n# DML\n# CONTEXT-DATABASE: cli\n\
         cpu,host=a usage=0.5 1500000000\ncpu,host=b usage=1.5 1500000001\nmem,host=a used=10i 1500000000\n",
    )
    .unwrap();
    let (ok, out) = influx_cli(
        s.port,
        &[
            "-import",
            "-path",
            import.to_str().unwrap(),
            "-precision",
            "s",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("Processed 3 inserts") && out.contains("Failed 0 inserts"),
        "{out}"
    );
    let (ok, out) = influx_cli(
        s.port,
        &[
            "-database",
            "cli",
            "-format",
            "json",
            "-precision",
            "s",
            "-execute",
            "SELECT * FROM cpu",
        ],
    );
    assert!(ok, "{out}");
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(
        v["results"][0]["series"][0]["values"],
        serde_json::json!([[1500000000, "a", 0.5], [1500000001, "b", 1.5]])
    );
    let (ok, out) = influx_cli(s.port, &["-format", "csv", "-execute", "SHOW DATABASES"]);
    assert!(ok && out.contains("databases,cli"), "{out}");
}

const PYTHON_CLIENTS: &str = r#"
import sys, time
from influxdb import InfluxDBClient
import influxdb_client
from influxdb_client.client.write_api import SYNCHRONOUS

port = int(sys.argv[1])
v1 = InfluxDBClient(host="127.0.0.1", port=port, database="py")
v1.create_database("py")
assert {"name": "py"} in v1.get_list_database(), v1.get_list_database()
v1.write_points([
    {"measurement": "cpu", "tags": {"host": "a b"}, "time": 1500000000000000000,
     "fields": {"usage": 0.5, "count": 3, "ok": True, "note": "x=\"1\""}},
    {"measurement": "cpu", "tags": {"host": "c"}, "time": 1500000001000000000,
     "fields": {"usage": 1.5, "count": 4, "ok": False, "note": ""}},
])
points = list(v1.query("SELECT * FROM cpu").get_points())
assert len(points) == 2, points
assert points[0]["host"] == "a b" and points[0]["note"] == 'x="1"' and points[0]["count"] == 3, points

v2 = influxdb_client.InfluxDBClient(url=f"http://127.0.0.1:{port}", token="user:pass", org="-")
v2.write_api(write_options=SYNCHRONOUS).write(
    bucket="py/autogen", record="mem,host=a used=42i 1500000000000000000")
mem = list(v1.query("SELECT used FROM mem").get_points())
assert mem == [{"time": "2017-07-14T02:40:00Z", "used": 42}], mem

# Deleting through the client's helpers: a series by tags, then a whole measurement.
v1.delete_series(database="py", measurement="cpu", tags={"host": "a b"})
hosts = [p["host"] for p in v1.query("SELECT * FROM cpu").get_points()]
assert hosts == ["c"], hosts
v1.drop_measurement("mem")
names = [m["name"] for m in v1.get_list_measurements()]
assert names == ["cpu"], names
print("python clients ok")
"#;

/// Whether Python can import `modules` (else skipped, or a failure under CI).
fn python_has(modules: &str) -> bool {
    let have = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .status()
        .is_ok_and(|s| s.success());
    have || required(&format!("python packages {modules} (pip install)"))
}

/// Runs `script` with the server's port as its argument; panics with its output on failure.
fn run_python(script: &str, port: u16) {
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_clients_write_and_query() {
    if !python_has("influxdb, influxdb_client") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    run_python(PYTHON_CLIENTS, s.port);
    // Two points written, one series deleted by the script.
    assert_eq!(rows(&s.query("py", "SELECT * FROM cpu")).len(), 1);
}

/// The Python `influxdb` client with credentials, against a store with `auth-enabled`: the
/// first admin, a database, a reader and a writer, and what each may do.
const PYTHON_AUTH: &str = r#"
import sys
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError
port = int(sys.argv[1])
admin = InfluxDBClient('127.0.0.1', port, 'admin', 'pw')
admin.create_user('admin', 'pw', admin=True)
admin.create_database('app')
admin.create_user('writer', 'w')
admin.grant_privilege('write', 'app', 'writer')
admin.create_user('reader', 'r')
admin.grant_privilege('read', 'app', 'reader')
assert {u['user'] for u in admin.get_list_users()} == {'admin', 'writer', 'reader'}
assert admin.get_list_privileges('writer') == [{'database': 'app', 'privilege': 'WRITE'}]
writer = InfluxDBClient('127.0.0.1', port, 'writer', 'w', database='app')
assert writer.write_points([{'measurement': 'cpu', 'tags': {'host': 'a'}, 'fields': {'v': 1.0}, 'time': 1000000000}])
try:
    writer.query('SELECT * FROM cpu')
    raise SystemExit('writer could read')
except InfluxDBClientError as e:
    assert e.code == 403 and 'requires READ on app' in str(e), e
reader = InfluxDBClient('127.0.0.1', port, 'reader', 'r', database='app')
assert list(reader.query('SELECT * FROM cpu').get_points()) == [{'time': '1970-01-01T00:00:01Z', 'host': 'a', 'v': 1.0}]
try:
    InfluxDBClient('127.0.0.1', port, 'reader', 'bad', database='app').query('SHOW DATABASES')
    raise SystemExit('a wrong password was accepted')
except InfluxDBClientError as e:
    assert e.code == 401, e
print("python auth ok")
"#;

#[test]
fn python_client_with_credentials_on_an_auth_enabled_store() {
    if !python_has("influxdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s =
        TestServer::start_with_config(&dir.path().join("data"), "[http]\nauth-enabled = true\n");
    run_python(PYTHON_AUTH, s.port);
}
