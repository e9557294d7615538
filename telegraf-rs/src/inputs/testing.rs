//! Fixture `/proc` trees and a gather helper for the inputs' unit tests.

use super::{Accumulator, BuildContext, HostPaths, Input};
use crate::metric::Metric;
use crate::stats::Stats;
use std::sync::Arc;

/// A temporary host tree (`proc/…`, `sys/…`).
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
}

impl Fixture {
    /// Writes (or rewrites) one file of the tree.
    pub(crate) fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A build context reading this tree.
    pub(crate) fn ctx(&self) -> BuildContext {
        BuildContext {
            host: HostPaths::under(self.dir.path()),
            stats: Arc::new(Stats::default()),
            state_dir: self.dir.path().join("state"),
        }
    }
}

/// A tree holding `files`.
pub(crate) fn fixture(files: &[(&str, &str)]) -> Fixture {
    let fx = Fixture {
        dir: tempfile::tempdir().unwrap(),
    };
    for (rel, text) in files {
        fx.write(rel, text);
    }
    fx
}

/// Gathers once at time 1: the outcome, and what was gathered.
fn gather_once(input: &mut Box<dyn Input>) -> (Result<(), super::InputError>, Accumulator) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut acc = Accumulator::new(1);
    let outcome = rt.block_on(input.gather(&mut acc));
    (outcome, acc)
}

/// Gathers once at time 1 and returns the metrics; panics on a gather error.
pub(crate) fn gather_with(input: &mut Box<dyn Input>) -> Vec<Metric> {
    let (outcome, acc) = gather_once(input);
    outcome.unwrap();
    acc.metrics
}

/// Gathers once at time 1, which must fail: the error, and what was gathered all the same.
pub(crate) fn gather_error(input: &mut Box<dyn Input>) -> (String, Accumulator) {
    let (outcome, acc) = gather_once(input);
    (outcome.unwrap_err().to_string(), acc)
}

/// Serves `body` with `status` to every HTTP request on a loopback port, from a thread that
/// answers at most `requests` times; returns the base URL.
pub(crate) fn serve_http(status: u16, body: &'static str, requests: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}
