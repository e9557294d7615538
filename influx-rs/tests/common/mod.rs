//! `TestServer`: the real `influx-rs` binary on a free loopback port with its own data dir.

#![allow(dead_code, unreachable_pub)]

pub mod cluster;
pub mod query_dataset;
pub mod reference;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A spawned influx-rs; killed (by PID) on drop.
pub struct TestServer {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TestServer {
    /// Starts a server on `data_dir` and waits until `/ping` answers (at most 60 s).
    pub fn start(data_dir: &Path) -> TestServer {
        Self::start_on(data_dir, free_port())
    }

    /// Starts a server with `config` (TOML) as its configuration file.
    pub fn start_with_config(data_dir: &Path, config: &str) -> TestServer {
        let path = data_dir.with_extension("toml");
        std::fs::write(&path, config).expect("config file");
        Self::spawn(
            data_dir,
            free_port(),
            &["--config".as_ref(), path.as_os_str()],
        )
    }

    pub fn start_on(data_dir: &Path, port: u16) -> TestServer {
        Self::spawn(data_dir, port, &[])
    }

    /// [`TestServer::start_with_config`] on a given port (to restart a node where it was).
    pub fn start_on_with_config(data_dir: &Path, port: u16, config: &str) -> TestServer {
        Self::start_on_with_config_and(data_dir, port, config, &[])
    }

    /// [`TestServer::start_on_with_config`] with more command-line arguments (`--rejoin`).
    pub fn start_on_with_config_and(
        data_dir: &Path,
        port: u16,
        config: &str,
        args: &[&str],
    ) -> TestServer {
        let path = data_dir.with_extension("toml");
        std::fs::write(&path, config).expect("config file");
        let mut extra = vec!["--config".as_ref(), path.as_os_str()];
        extra.extend(args.iter().map(std::ffi::OsStr::new));
        Self::spawn(data_dir, port, &extra)
    }

    /// Starts influx-rs with `config` and waits for it to exit (at most 20 s): its exit status
    /// and log, for configurations it must refuse.
    pub fn run_refused(data_dir: &Path, config: &str) -> (bool, String) {
        let path = data_dir.with_extension("toml");
        std::fs::write(&path, config).expect("config file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_influx-rs"))
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", free_port()))
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn influx-rs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return (status.success(), err);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        (true, "still running after 20 s".into())
    }

    fn spawn(data_dir: &Path, port: u16, extra: &[&std::ffi::OsStr]) -> TestServer {
        let log = data_dir.with_extension(format!("{port}.log"));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_influx-rs"))
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn influx-rs");
        let server = TestServer {
            child: Some(child),
            port,
            data_dir: data_dir.to_path_buf(),
            log,
        };
        server.wait_ready();
        server
    }

    /// Waits for `/ping` (at most 60 s: a node of a cluster waits up to that for its log).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            if let Ok(r) = client.get(self.url("/ping")).send() {
                if r.status().as_u16() == 204 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("influx-rs did not become ready; log:\n{}", self.log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no flush, no snapshot.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit (at most 20 s); panics unless it exits with 0.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the PID of our own child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(
                        status.success(),
                        "influx-rs exited with {status}: {}",
                        self.log()
                    );
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("influx-rs did not stop on SIGTERM");
        }
    }

    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        reqwest::blocking::Client::new()
            .post(self.url("/query"))
            .query(&[("db", db), ("q", q), ("epoch", "ns")])
            .send()
            .and_then(|r| r.json())
            .expect("query answers JSON")
    }

    pub fn write_with(&self, db: &str, precision: &str, body: &str) -> (u16, String) {
        let r = reqwest::blocking::Client::new()
            .post(self.url("/write"))
            .query(&[("db", db), ("precision", precision)])
            .body(body.to_string())
            .send()
            .expect("write request");
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    pub fn write(&self, db: &str, body: &str) -> (u16, String) {
        let r = reqwest::blocking::Client::new()
            .post(self.url("/write"))
            .query(&[("db", db)])
            .body(body.to_string())
            .send()
            .expect("write request");
        (r.status().as_u16(), r.text().unwrap_or_default())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Rows of the first series of the first result.
pub fn rows(v: &serde_json::Value) -> Vec<Vec<serde_json::Value>> {
    v["results"][0]["series"][0]["values"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r.as_array().cloned()).collect())
        .unwrap_or_default()
}
