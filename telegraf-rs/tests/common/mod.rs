//! What the service-input tests share: real servers started on loopback (stopped by PID when
//! dropped), free ports, bounded waits, and `telegraf-rs --test` runs.

// Each test binary uses a part of these helpers.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server process, killed by PID when dropped.
pub(crate) struct Service(pub(crate) Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of `program` if it is installed (in `PATH` or `/usr/sbin`); `None` otherwise, with
/// a note naming what `.ci/run` installs.
pub(crate) fn installed(program: &str) -> Option<PathBuf> {
    let dirs = std::env::var("PATH").unwrap_or_default();
    let found = dirs
        .split(':')
        .chain(["/usr/sbin", "/usr/bin", "/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("{program} is not installed (.ci/run installs it): test skipped");
    }
    found
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Starts `program` with `args`, logging to `log`, and waits (at most 20 s) until `port`
/// accepts connections.
pub(crate) fn start(program: &Path, args: &[&str], log: &Path, port: u16) -> Service {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    let service = Service(child);
    let up = wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        up,
        "{} did not listen on {port}: {}",
        program.display(),
        std::fs::read_to_string(log).unwrap_or_default()
    );
    service
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
pub(crate) fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `telegraf-rs --test` with `conf` (written to `dir/telegraf.conf`, buffers in `dir/data`),
/// whatever it prints and however it exits.
pub(crate) fn test_output(dir: &Path, conf: &str) -> std::process::Output {
    let path = dir.join("telegraf.conf");
    std::fs::write(&path, conf).unwrap();
    Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .arg("--config")
        .arg(&path)
        .arg("--test")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .unwrap()
}

/// Runs `telegraf-rs --test` with configuration `conf` (written into `dir`); the metric lines
/// it printed, without the `> `.
pub(crate) fn test_run(dir: &Path, conf: &str) -> Vec<String> {
    let out = test_output(dir, conf);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("E! ") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("> "))
        .map(str::to_string)
        .collect()
}

/// The line of `lines` for measurement `name` (the first one).
pub(crate) fn line_of<'a>(lines: &'a [String], name: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(&format!("{name},")) || l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in {lines:#?}"))
}

/// `s` split at each `sep` that is not escaped by a backslash nor, with `quotes`, inside a
/// double-quoted string; the pieces keep their escapes.
fn split_unescaped(s: &str, sep: char, quotes: bool) -> Vec<&str> {
    let (mut pieces, mut start, mut escaped, mut quoted) = (Vec::new(), 0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' if quotes => quoted = !quoted,
            c if c == sep && !quoted => {
                pieces.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&s[start..]);
    pieces
}

/// The value text of field `key` in one line-protocol line (strings with their quotes).
pub(crate) fn field_of(line: &str, key: &str) -> Option<String> {
    let fields = *split_unescaped(line, ' ', true).get(1)?;
    split_unescaped(fields, ',', true)
        .into_iter()
        .find_map(|f| f.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
}

/// The value of tag `key` in one line-protocol line, unescaped.
pub(crate) fn tag_of(line: &str, key: &str) -> Option<String> {
    let series = *split_unescaped(line, ' ', true).first()?;
    split_unescaped(series, ',', false)
        .into_iter()
        .skip(1)
        .find_map(|t| t.strip_prefix(&format!("{key}=")))
        .map(|v| {
            v.replace("\\ ", " ")
                .replace("\\,", ",")
                .replace("\\=", "=")
        })
}

/// A running agent, killed by PID when dropped.
pub(crate) struct Agent(pub(crate) std::process::Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the agent with configuration file `conf`, its data and log (`agent.log`) in `dir`.
pub(crate) fn spawn(conf: &str, dir: &Path) -> Agent {
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    Agent(
        std::process::Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
            .args(["--config", conf, "--data-dir"])
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// A certificate authority and a certificate for 127.0.0.1 it signed, made by `openssl` in
/// `dir`: the CA's, the server's and its key's paths.
pub(crate) fn test_certificates(dir: &std::path::Path) -> Option<[std::path::PathBuf; 3]> {
    let openssl = installed("openssl")?;
    let path = |name: &str| dir.join(name);
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let s = |p: std::path::PathBuf| p.to_string_lossy().into_owned();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=tick-test-ca",
        "-keyout",
        &s(path("ca.key")),
        "-out",
        &s(path("ca.pem")),
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &s(path("server.key")),
        "-out",
        &s(path("server.csr")),
    ]);
    std::fs::write(path("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        &s(path("server.csr")),
        "-CA",
        &s(path("ca.pem")),
        "-CAkey",
        &s(path("ca.key")),
        "-CAcreateserial",
        "-extfile",
        &s(path("san.ext")),
        "-out",
        &s(path("server.pem")),
    ]);
    Some([path("ca.pem"), path("server.pem"), path("server.key")])
}
