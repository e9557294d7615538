//! The reference server: Debian's `influxd` (InfluxDB 1.6.7) on a free loopback port with its
//! own directories, beside influx-rs in the compatibility tests; and the requests both get.

use super::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The reference `influxd`, killed by PID on drop.
pub struct Reference {
    pub child: Child,
    pub port: u16,
    pub _dir: tempfile::TempDir,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Reference {
    /// Starts the reference with `http` appended to its `[http]` section.
    pub fn start_with_http(http: &str) -> Option<Reference> {
        Self::start_with("", http)
    }

    /// Starts the reference with `data` appended to its `[data]` section and `http` to its
    /// `[http]` one.
    pub fn start_with(data: &str, http: &str) -> Option<Reference> {
        let influxd = ["/usr/bin/influxd", "/usr/sbin/influxd"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let dir = tempfile::tempdir().ok()?;
        let port = free_port();
        let bind = free_port();
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{bind}\"\n\
             [meta]\n dir = \"{d}/meta\"\n\
             [data]\n dir = \"{d}/data\"\n wal-dir = \"{d}/wal\"\n index-version = \"inmem\"\n query-log-enabled = false\n{data}\n\
             [monitor]\n store-enabled = false\n\
             [subscriber]\n enabled = false\n\
             [continuous_queries]\n enabled = false\n\
             [http]\n enabled = true\n bind-address = \"127.0.0.1:{port}\"\n log-enabled = false\n{http}"
        );
        let path = dir.path().join("influxd.conf");
        std::fs::write(&path, config).ok()?;
        let child = Command::new(influxd)
            .arg("-config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let r = Reference {
            child,
            port,
            _dir: dir,
        };
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if client
                .get(format!("http://127.0.0.1:{port}/ping"))
                .send()
                .is_ok_and(|r| r.status().as_u16() == 204)
            {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("reference influxd did not start");
    }
}

pub fn reference_or_skip() -> Option<Reference> {
    reference_with_http_or_skip("")
}

pub fn reference_with_http_or_skip(http: &str) -> Option<Reference> {
    reference_with_or_skip("", http)
}

/// The reference with `data` in its `[data]` section and `http` in its `[http]` one, or
/// `None` (the test skips) where it is not installed outside CI.
pub fn reference_with_or_skip(data: &str, http: &str) -> Option<Reference> {
    match Reference::start_with(data, http) {
        Some(r) => Some(r),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("influxd (Debian package influxdb) is required in CI")
        }
        None => {
            eprintln!("SKIPPED: influxd not installed (apt-get install influxdb)");
            None
        }
    }
}

pub struct Answer {
    pub status: u16,
    pub body: String,
}

pub fn post(port: u16, path: &str, query: &[(&str, &str)], body: &str) -> Answer {
    let r = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .query(query)
        .body(body.to_string())
        .send()
        .expect("request");
    Answer {
        status: r.status().as_u16(),
        body: r.text().unwrap_or_default(),
    }
}

pub fn query(port: u16, db: &str, q: &str) -> String {
    post(port, "/query", &[("db", db), ("q", q), ("epoch", "ns")], "").body
}

/// The reference server and influx-rs on a fresh data directory, side by side.
pub struct Pair {
    /// `[reference, influx-rs]` HTTP ports.
    pub ports: [u16; 2],
    _reference: Reference,
    _ours: super::TestServer,
    _dir: tempfile::TempDir,
}

/// Both servers started, or `None` (the test skips) without a reference server.
pub fn pair_or_skip() -> Option<Pair> {
    let reference = reference_or_skip()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let ours = super::TestServer::start(&dir.path().join("data"));
    Some(Pair {
        ports: [reference.port, ours.port],
        _reference: reference,
        _ours: ours,
        _dir: dir,
    })
}
