//! Cross-daemon tests for tick-rs: helpers that start the real binaries of the workspace on
//! loopback ports with their own data directories (killed by PID when dropped), and the tests
//! in `tests/` that run them together.
//!
//! The binaries are those of the same build profile as the test (`target/debug/…`);
//! `scripts/test` builds them before running the tests.

pub mod compose;
pub mod dashboard;
pub mod nats;
pub mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The repository's root directory (where `deploy/` and `scripts/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Path of a workspace binary built in the same profile as the running test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace binaries first (`cargo build --workspace --bins`; scripts/test does)",
        path.display()
    );
    path
}

/// A spawned daemon whose stderr goes to a log file; killed (by PID) on drop.
pub struct Daemon {
    child: Option<Child>,
    name: String,
    log: PathBuf,
}

impl Daemon {
    /// Starts binary `name` with `args`, extra environment `env`, logging to `log`.
    pub fn spawn(name: &str, args: &[&str], env: &[(&str, &str)], log: &Path) -> Daemon {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("log file {}: {e}", log.display()));
        let mut cmd = Command::new(binary(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Daemon {
            child: Some(child),
            name: name.to_string(),
            log: log.to_path_buf(),
        }
    }

    /// The PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no flush, no cleanup.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. `libc::SIGHUP`) without waiting.
    pub fn signal(&self, signal: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on the PID of our own, not yet reaped, child.
            unsafe {
                libc::kill(c.id() as i32, signal);
            }
        }
    }

    /// SIGTERM and wait (at most 20 s) for exit status 0; panics otherwise, showing the log.
    pub fn stop(&mut self) {
        self.signal(libc::SIGTERM);
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(
                        status.success(),
                        "{} exited with {status}:\n{}",
                        self.name,
                        self.log()
                    );
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("{} did not stop on SIGTERM:\n{}", self.name, self.log());
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A server a test started that is not one of ours (`nats-server`, Mosquitto): killed by PID
/// and reaped when dropped.
pub struct KilledOnDrop(pub Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An influx-rs on a loopback port.
pub struct Store {
    /// The process.
    pub daemon: Daemon,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Store {
    /// Starts influx-rs on `port` with `data_dir` and waits (at most 20 s) for `/ping`.
    pub fn start(data_dir: &Path, port: u16) -> Store {
        Store::start_with_env(data_dir, port, &[])
    }

    /// [`Store::start`] with extra environment (`INFLUX_RS_HTTP_AUTH_ENABLED`, …).
    pub fn start_with_env(data_dir: &Path, port: u16, env: &[(&str, &str)]) -> Store {
        let bind = format!("127.0.0.1:{port}");
        let log = data_dir.with_extension("log");
        let mut all_env = vec![("RUST_LOG", "info")];
        all_env.extend_from_slice(env);
        let daemon = Daemon::spawn(
            "influx-rs",
            &["--bind", &bind, "--data-dir", &data_dir.to_string_lossy()],
            &all_env,
            &log,
        );
        let store = Store { daemon, port };
        let ready = wait_until(Duration::from_secs(20), || {
            reqwest::blocking::get(store.url("/ping")).is_ok_and(|r| r.status().as_u16() == 204)
        });
        assert!(
            ready,
            "influx-rs did not become ready:\n{}",
            store.daemon.log()
        );
        store
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Writes line protocol to `db`; fails the test unless the store answers 204.
    pub fn write(&self, db: &str, lines: &str) {
        let r = dashboard_client()
            .post(self.url(&format!("/write?db={db}")))
            .body(lines.to_string())
            .send()
            .unwrap_or_else(|e| panic!("write: {e}"));
        let status = r.status().as_u16();
        assert_eq!(status, 204, "{}", r.text().unwrap_or_default());
    }

    /// Runs `q` on `db` with nanosecond epochs; the JSON answer.
    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        reqwest::blocking::Client::new()
            .post(self.url("/query"))
            .query(&[("db", db), ("q", q), ("epoch", "ns")])
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("query {q:?}: {e}"))
    }
}

/// Rows of the first series of the first statement of a query answer.
pub fn rows(v: &serde_json::Value) -> Vec<Vec<serde_json::Value>> {
    v["results"][0]["series"][0]["values"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r.as_array().cloned()).collect())
        .unwrap_or_default()
}

/// Polls `check` every 100 ms until it holds or `limit` passes; whether it held.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A loopback HTTP server that answers 204 to every POST and records (path, body); stops
/// accepting after 1000 connections.
pub struct HttpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: std::sync::mpsc::Receiver<(String, String)>,
}

impl HttpSink {
    /// Starts it on a free port.
    pub fn start() -> HttpSink {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("sink: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let (tx, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(1000) {
                let Ok(mut stream) = stream else { continue };
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let Ok(clone) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(clone);
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut length = 0;
                        loop {
                            let mut header = String::new();
                            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                                return;
                            }
                            if header.trim().is_empty() {
                                break;
                            }
                            if let Some(v) =
                                header.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let path = request_line
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("")
                            .to_string();
                        let _ = tx.send((path, String::from_utf8_lossy(&body).into_owned()));
                        if stream
                            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        HttpSink { port, received }
    }

    /// The next request within `limit`.
    pub fn next(&self, limit: Duration) -> Option<(String, String)> {
        self.received.recv_timeout(limit).ok()
    }
}

/// Whether the process environment says a missing dependency must fail the test (CI) rather
/// than skip it.
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Starts chronograf-rs on a free port for `store` with its data in `dir/chronograf`, plus
/// `extra` arguments; waits (at most 20 s) for `/ping`. Returns the process and its port.
pub fn start_chronograf(dir: &Path, store: &Store, extra: &[&str]) -> (Daemon, u16) {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let store_url = store.url("");
    let data = dir.join("chronograf").to_string_lossy().into_owned();
    let mut args = vec![
        "--bind",
        &bind,
        "--influxdb-url",
        &store_url,
        "--data-dir",
        &data,
    ];
    args.extend_from_slice(extra);
    let d = Daemon::spawn(
        "chronograf-rs",
        &args,
        &[("RUST_LOG", "info")],
        &dir.join("chronograf.log"),
    );
    let up = wait_until(Duration::from_secs(20), || {
        reqwest::blocking::get(format!("http://{bind}/ping")).is_ok_and(|r| r.status().is_success())
    });
    assert!(up, "chronograf-rs did not start:\n{}", d.log());
    (d, port)
}

/// Starts kapacitor-rs with its API on 127.0.0.1:`api`, `store` as its store (subscribing
/// every second), `[smtp]` on 127.0.0.1:`smtp_port`, `[load]` from `dir/load`, and a
/// `[sandbox]` that lets `.exec()` run `/bin/sh` and `.log()` write under `dir`; waits (at
/// most 20 s) for `/kapacitor/v1/ping`.
pub fn start_kapacitor(dir: &Path, store: &Store, smtp_port: u16, api: u16, log: &str) -> Daemon {
    let sandbox = format!(
        "[sandbox]\nexec-allowed = [\"/bin/sh\"]\nlog-allowed-dirs = [{:?}]\n",
        dir.to_string_lossy()
    );
    start_kapacitor_with(dir, store, smtp_port, api, log, &sandbox)
}

/// [`start_kapacitor`] with `extra` TOML in place of its `[sandbox]`, put right after
/// `[http]`'s `bind-address`: keys of `[http]` first (`auth-enabled = true`), then whole
/// sections.
pub fn start_kapacitor_with(
    dir: &Path,
    store: &Store,
    smtp_port: u16,
    api: u16,
    log: &str,
    extra: &str,
) -> Daemon {
    let config = format!(
        "hostname = \"127.0.0.1\"\ndata-dir = {:?}\n[http]\nbind-address = \"127.0.0.1:{api}\"\n{extra}\n[[influxdb]]\nurls = [\"{}\"]\nsubscriptions-sync-interval = \"1s\"\n[smtp]\nenabled = true\nhost = \"127.0.0.1\"\nport = {smtp_port}\nfrom = \"kapacitor@example.com\"\n[load]\nenabled = true\ndir = {:?}\n",
        dir.join("kapacitor").to_string_lossy(),
        store.url(""),
        dir.join("load").to_string_lossy(),
    );
    let path = dir.join("kapacitor-rs.toml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let d = Daemon::spawn(
        "kapacitor-rs",
        &["--config", &path.to_string_lossy()],
        &[("RUST_LOG", "info")],
        &dir.join(log),
    );
    let up = wait_until(Duration::from_secs(20), || {
        reqwest::blocking::get(format!("http://127.0.0.1:{api}/kapacitor/v1/ping"))
            .is_ok_and(|r| r.status().as_u16() == 204)
    });
    assert!(up, "kapacitor-rs did not start:\n{}", d.log());
    d
}

/// Defines (and enables) task `id` of `kind` (`stream`/`batch`) with `script` on the
/// kapacitor-rs whose API is on port `api`, reading `telegraf.autogen`; fails the test unless
/// it is accepted.
pub fn define_task(api: u16, id: &str, kind: &str, script: &str) {
    let created = dashboard_client()
        .post(format!("http://127.0.0.1:{api}/kapacitor/v1/tasks"))
        .json(&serde_json::json!({
            "id": id,
            "type": kind,
            "script": script,
            "dbrps": [{ "db": "telegraf", "rp": "autogen" }],
            "status": "enabled",
        }))
        .send()
        .unwrap_or_else(|e| panic!("defining task {id}: {e}"));
    let status = created.status().as_u16();
    assert_eq!(
        status,
        200,
        "{}\n{script}",
        created.text().unwrap_or_default()
    );
}

/// chronograf-rs as the cross-daemon tests use it: its pages and API, and the store behind it
/// through its query and write proxies (so a test needs only the dashboard's port).
pub struct DashboardClient {
    base: String,
    http: reqwest::blocking::Client,
}

impl DashboardClient {
    /// The dashboard on 127.0.0.1:`port`.
    pub fn new(port: u16) -> DashboardClient {
        DashboardClient {
            base: format!("http://127.0.0.1:{port}"),
            http: dashboard_client_builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_else(|e| panic!("HTTP client: {e}")),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The store's answer to `q` on `db` through the proxy; `None` while it cannot answer.
    pub fn query(&self, db: &str, q: &str) -> Option<serde_json::Value> {
        let resp = self
            .http
            .post(self.url("/chronograf/v1/sources/1/proxy"))
            .json(&serde_json::json!({ "query": q, "db": db }))
            .send()
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json::<serde_json::Value>()
            .ok()
            .map(|v| v["results"].clone())
    }

    /// Column `index` of every row of the answer's first series, as text.
    pub fn column(&self, db: &str, q: &str, index: usize) -> Vec<String> {
        self.query(db, q)
            .map(|v| {
                rows(&v)
                    .iter()
                    .map(|r| match &r[index] {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first value of a `SELECT count(…)` answer (0 on any error or no rows).
    pub fn count(&self, db: &str, q: &str) -> u64 {
        self.query(db, q)
            .and_then(|v| rows(&v).first().and_then(|r| r[1].as_u64()))
            .unwrap_or(0)
    }

    /// Whether every measurement in `names` carries `host` in its `host` tag values.
    pub fn has_host_metrics(&self, names: &[&str], host: &str) -> bool {
        names.iter().all(|m| {
            self.column(
                "telegraf",
                &format!("SHOW TAG VALUES FROM \"{m}\" WITH KEY = \"host\""),
                1,
            )
            .iter()
            .any(|h| h == host)
        })
    }

    /// Whether the store holds every measurement of `names` in the `telegraf` database.
    pub fn has_measurements(&self, names: &[&str]) -> bool {
        let all = self.column("telegraf", "SHOW MEASUREMENTS", 0);
        names.iter().all(|n| all.iter().any(|m| m == n))
    }

    /// The body of GET `path` (empty on error).
    pub fn text(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default()
    }

    /// POSTs `body` as JSON to `path`; status and body.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, String) {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    /// Writes line protocol to `db` through the write proxy; the status.
    pub fn write(&self, db: &str, lines: &str) -> u16 {
        self.http
            .post(self.url(&format!("/chronograf/v1/sources/1/write?db={db}")))
            .body(lines.to_string())
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("write: {e}"))
    }
}

/// The measurements of the agent's system inputs every host reports.
pub const HOST_MEASUREMENTS: [&str; 4] = ["cpu", "mem", "disk", "system"];

/// Measurements the agent scrapes from the daemons' own `/metrics`.
pub const SELF_MEASUREMENTS: [&str; 3] = [
    "influxrs_points_written_total",
    "kapacitorrs_tasks",
    "chronografrs_http_requests_total",
];

/// The checks both stack tests (compose and native) make once the host's metrics are in: the
/// dashboard lists `host`, the daemons' own `/metrics` were scraped into the store, the example
/// task `cpu_high` is loaded, and a threshold rule `rule` made in the dashboard e-mails
/// `oncall@example.com` (the sink stores mail in `mail_dir`) and lands in the alert history.
/// `logs` gives the daemons' logs for failure messages.
pub fn check_stack_is_live(
    dash: &DashboardClient,
    host: &str,
    rule: &str,
    mail_dir: &Path,
    logs: impl Fn() -> String,
) {
    let hosts_page = dash.text("/sources/1/hosts");
    assert!(
        hosts_page.contains(&format!("/sources/1/hosts/{host}")),
        "hosts page does not list {host}: {hosts_page}"
    );
    assert!(
        wait_until(Duration::from_secs(30), || dash
            .has_measurements(&SELF_MEASUREMENTS)),
        "the daemons' /metrics are not in the store: {:?}",
        dash.column("telegraf", "SHOW MEASUREMENTS", 0)
    );
    let rules = dash.text(RULES_PATH);
    assert!(rules.contains("cpu_high"), "example task missing: {rules}");
    let (status, body) = dash.post_json(RULES_PATH, &mem_rule(rule));
    assert_eq!(status, 201, "{body}");
    let mut mail = Vec::new();
    let mailed = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(200));
        mail = mails(mail_dir);
        mail.iter().any(|m| m.contains(rule))
    });
    assert!(mailed, "no alert e-mail within 60 s:\n{}", logs());
    let message = mail
        .iter()
        .find(|m| m.contains(rule))
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("oncall@example.com") && message.contains("CRITICAL"),
        "{message}"
    );
    let alerts = alert_count_query(rule);
    assert!(
        wait_until(Duration::from_secs(30), || dash
            .count("chronograf", &alerts)
            > 0),
        "the alert of {rule} is not in chronograf.alerts"
    );
}

/// chronograf-rs's alert rules, for kapacitor-rs 1 of source 1.
pub const RULES_PATH: &str = "/chronograf/v1/sources/1/kapacitors/1/rules";

/// The threshold rule the stack tests make in the dashboard: it fires at the first `mem` point
/// and e-mails `oncall@example.com`.
pub fn mem_rule(name: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "measurement": "mem",
        "field": "total",
        "operator": "greater than",
        "value": 0,
        "group_by": ["host"],
        "email": ["oncall@example.com"],
    })
}

/// The stored messages in `dir` (`*.eml`, as tick-smtp-sink writes them), oldest first.
pub fn mails(dir: &Path) -> Vec<String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    names.sort();
    names
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// The `SELECT count` statement counting the alert events of rule `name` in `chronograf`.
pub fn alert_count_query(name: &str) -> String {
    format!("SELECT count(\"value\") FROM alerts WHERE \"alertName\" = '{name}'")
}

/// The CSRF token the tests' dashboard client sends, as cookie and header (double submit).
pub const TEST_CSRF_TOKEN: &str = "tick-tests-csrf-token";

/// An HTTP client for chronograf-rs's API as a script would drive it: every request carries
/// a `tick_csrf` cookie and the same value as `X-CSRF-Token`, which state-changing requests
/// need whether login is on or off.
pub fn dashboard_client() -> reqwest::blocking::Client {
    dashboard_client_builder()
        .build()
        .unwrap_or_else(|e| panic!("building the dashboard client: {e}"))
}

/// The builder of [`dashboard_client`], for clients that need more settings.
pub fn dashboard_client_builder() -> reqwest::blocking::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        reqwest::header::HeaderValue::from_static("tick_csrf=tick-tests-csrf-token"),
    );
    headers.insert(
        "X-CSRF-Token",
        reqwest::header::HeaderValue::from_static(TEST_CSRF_TOKEN),
    );
    reqwest::blocking::Client::builder().default_headers(headers)
}
