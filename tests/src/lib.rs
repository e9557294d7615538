//! Cross-daemon tests for tick-rs: helpers that start the real binaries of the workspace on
//! loopback ports with their own data directories (killed by PID when dropped), and the tests
//! in `tests/` that run them together.
//!
//! The binaries are those of the same build profile as the test (`target/debug/…`);
//! `scripts/test` builds them before running the tests.

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
        let bind = format!("127.0.0.1:{port}");
        let log = data_dir.with_extension("log");
        let daemon = Daemon::spawn(
            "influx-rs",
            &["--bind", &bind, "--data-dir", &data_dir.to_string_lossy()],
            &[("RUST_LOG", "info")],
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
/// every second), `[smtp]` on 127.0.0.1:`smtp_port` and `[load]` from `dir/load`; waits (at
/// most 20 s) for `/kapacitor/v1/ping`.
pub fn start_kapacitor(dir: &Path, store: &Store, smtp_port: u16, api: u16, log: &str) -> Daemon {
    let config = format!(
        "hostname = \"127.0.0.1\"\ndata-dir = {:?}\n[http]\nbind-address = \"127.0.0.1:{api}\"\n[[influxdb]]\nurls = [\"{}\"]\nsubscriptions-sync-interval = \"1s\"\n[smtp]\nenabled = true\nhost = \"127.0.0.1\"\nport = {smtp_port}\nfrom = \"kapacitor@example.com\"\n[load]\nenabled = true\ndir = {:?}\n",
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
