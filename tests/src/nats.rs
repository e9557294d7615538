//! Real `nats-server` processes (Debian's package) with JetStream on loopback ports, alone or
//! as a three-server cluster, for the cluster tests; each killed by PID on drop.

use crate::free_port;
use crate::proxy::Proxy;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `nats-server` with JetStream.
pub struct NatsServer {
    child: Option<Child>,
    /// Its client port on 127.0.0.1.
    pub port: u16,
    args: Vec<String>,
    log: PathBuf,
}

/// The `nats-server` binary, or `None` (the test says SKIPPED; under CI=true it fails).
pub fn nats_server_or_skip() -> Option<&'static str> {
    let found = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("nats-server (Debian package nats-server) is required in CI");
        }
        eprintln!("SKIPPED: nats-server not installed (apt-get install nats-server)");
    }
    found
}

impl NatsServer {
    /// A single server storing in `dir`.
    pub fn single(bin: &str, dir: &Path) -> NatsServer {
        let port = free_port();
        let args = vec![
            "-js".into(),
            "-a".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-sd".into(),
            dir.display().to_string(),
        ];
        Self::spawn(bin, port, args, dir)
    }

    /// Three servers in one JetStream cluster, storing under `dir`.
    pub fn cluster(bin: &str, dir: &Path) -> Vec<NatsServer> {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        Self::cluster_routed(bin, dir, &routes, |_, j| routes[j], &[])
    }

    /// Three servers in one JetStream cluster whose routes to each other all go through
    /// proxies, so a test can partition them: the proxy carrying server `i`'s route to server
    /// `j` is `(i, j, proxy)`. They advertise neither their route addresses (a server told of
    /// another's real address would go round the partition) nor their client addresses (nor
    /// would a client).
    pub fn partitionable_cluster(bin: &str, dir: &Path) -> (Vec<NatsServer>, RouteProxies) {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut proxies = Vec::new();
        for i in 0..3 {
            for j in (0..3).filter(|&j| j != i) {
                proxies.push((i, j, Proxy::start(routes[j])));
            }
        }
        let via = |i: usize, j: usize| {
            proxies
                .iter()
                .find(|(a, b, _)| (*a, *b) == (i, j))
                .map(|(_, _, p)| p.port)
                .unwrap_or(0)
        };
        // A port nobody listens on: implicit routes to it fail, the proxied ones stay.
        let nowhere = format!("127.0.0.1:{}", free_port());
        let servers = Self::cluster_routed(
            bin,
            dir,
            &routes,
            via,
            &["--cluster_advertise", &nowhere, "--no_advertise=true"],
        );
        (servers, RouteProxies(proxies))
    }

    /// Three servers listening for routes on `routes`, server `i` reaching server `j` at
    /// `route_port(i, j)`.
    fn cluster_routed(
        bin: &str,
        dir: &Path,
        routes: &[u16],
        route_port: impl Fn(usize, usize) -> u16,
        extra: &[&str],
    ) -> Vec<NatsServer> {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        (0..3)
            .map(|i| {
                let route_list = (0..3)
                    .filter(|&j| j != i)
                    .map(|j| format!("nats://127.0.0.1:{}", route_port(i, j)))
                    .collect::<Vec<_>>()
                    .join(",");
                let store = dir.join(format!("nats{i}"));
                let mut args: Vec<String> = vec![
                    "-js".into(),
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    ports[i].to_string(),
                    "-sd".into(),
                    store.display().to_string(),
                    "-n".into(),
                    format!("nats{i}"),
                    "--cluster_name".into(),
                    "tick".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes".into(),
                    route_list,
                ];
                args.extend(extra.iter().map(|a| a.to_string()));
                Self::spawn(bin, ports[i], args, &store)
            })
            .collect()
    }

    fn spawn(bin: &str, port: u16, args: Vec<String>, dir: &Path) -> NatsServer {
        std::fs::create_dir_all(dir).expect("nats dir");
        let mut server = NatsServer {
            child: None,
            port,
            args: std::iter::once(bin.to_string()).chain(args).collect(),
            log: dir.with_extension("log"),
        };
        server.start();
        server
    }

    /// Starts (again) with the same arguments and storage, and waits for its port.
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("nats log");
        let child = Command::new(&self.args[0])
            .args(&self.args[1..])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nats-server did not listen on {}", self.port);
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it as an operator or a service manager does (SIGTERM, by PID): JetStream writes
    /// out what it holds and leaves its cluster. At most 10 s, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the PID of our own, not yet reaped, child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills it (by PID).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The proxies carrying a partitionable cluster's routes, `(from, to, proxy)`.
pub struct RouteProxies(Vec<(usize, usize, Proxy)>);

impl RouteProxies {
    /// Cuts server `j` off from the other two (both directions).
    pub fn isolate(&self, j: usize) {
        for (a, b, p) in &self.0 {
            if *a == j || *b == j {
                p.cut();
            }
        }
    }

    /// Mends every route.
    pub fn heal(&self) {
        for (_, _, p) in &self.0 {
            p.heal();
        }
    }
}
