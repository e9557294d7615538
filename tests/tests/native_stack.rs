//! The stack without Docker: `scripts/stack` (the native path of the README) starts the four
//! workspace binaries on loopback ports with a temporary data directory and deploy/'s configs,
//! and the checks of the compose test run against it: the host's metrics arrive, the dashboard
//! lists the host, the daemons watch each other, the example task is loaded, a rule e-mails an
//! SMTP sink and lands in the alert history, an acknowledged write survives `kill -9` of the
//! store (which the script restarts), and everything survives stopping and starting the stack.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tick_tests::{
    alert_count_query, binary, check_stack_is_live, free_port, repo_root, wait_until, Daemon,
    DashboardClient, HOST_MEASUREMENTS, RULES_PATH,
};

/// A running `scripts/stack`; stopped (SIGTERM, then SIGKILL of it and of every daemon it
/// started, by PID) when dropped.
struct NativeStack {
    script: Option<Child>,
    data: PathBuf,
}

const DAEMONS: [&str; 4] = ["influx-rs", "telegraf-rs", "kapacitor-rs", "chronograf-rs"];

impl NativeStack {
    fn start(data: &Path, ports: &Ports, smtp_port: u16) -> NativeStack {
        let bin_dir = binary("influx-rs")
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let log = std::fs::File::create(data.with_extension("out"))
            .unwrap_or_else(|e| panic!("stack output file: {e}"));
        let script = Command::new("bash")
            .arg(repo_root().join("scripts/stack"))
            .env("TICK_BIN_DIR", &bin_dir)
            .env("TICK_DATA_DIR", data)
            .env("INFLUX_PORT", ports.influx.to_string())
            .env("KAPACITOR_PORT", ports.kapacitor.to_string())
            .env("CHRONOGRAF_PORT", ports.chronograf.to_string())
            .env("TELEGRAF_HEALTH_PORT", ports.health.to_string())
            .env("TELEGRAF_INTERVAL", "2s")
            .env("SMTP_HOST", "127.0.0.1")
            .env("SMTP_PORT", smtp_port.to_string())
            .env("ALERT_EMAIL_TO", "oncall@example.com")
            .env("AGENT_HOSTNAME", "")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("scripts/stack: {e}"));
        let stack = NativeStack {
            script: Some(script),
            data: data.to_path_buf(),
        };
        let urls = [
            format!("http://127.0.0.1:{}/health", ports.influx),
            format!("http://127.0.0.1:{}/health", ports.kapacitor),
            format!("http://127.0.0.1:{}/health", ports.chronograf),
            format!("http://127.0.0.1:{}/", ports.health),
        ];
        let healthy = wait_until(Duration::from_secs(60), || {
            urls.iter()
                .all(|u| reqwest::blocking::get(u).is_ok_and(|r| r.status().is_success()))
        });
        assert!(
            healthy,
            "the stack did not become healthy:\n{}",
            stack.logs()
        );
        stack
    }

    fn pid(&self, daemon: &str) -> Option<i32> {
        std::fs::read_to_string(self.data.join("run").join(format!("{daemon}.pid")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn logs(&self) -> String {
        DAEMONS
            .iter()
            .map(|d| {
                let text = std::fs::read_to_string(self.data.join("logs").join(format!("{d}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                format!(
                    "--- {d} ---\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM to the script; waits (at most 30 s) for it and every daemon to exit.
    fn stop(&mut self) -> bool {
        let pids: Vec<i32> = DAEMONS.iter().filter_map(|d| self.pid(d)).collect();
        let Some(mut script) = self.script.take() else {
            return true;
        };
        // SAFETY: kill sends a signal to the script we spawned.
        unsafe { libc::kill(script.id() as i32, libc::SIGTERM) };
        let exited = wait_until(Duration::from_secs(30), || {
            script.try_wait().ok().flatten().is_some()
                && pids
                    .iter()
                    .all(|p| !Path::new(&format!("/proc/{p}")).exists())
        });
        if !exited {
            for p in &pids {
                // SAFETY: kill by the PIDs the script recorded for the daemons it started.
                unsafe { libc::kill(*p, libc::SIGKILL) };
            }
            let _ = script.kill();
        }
        let _ = script.wait();
        exited
    }
}

impl Drop for NativeStack {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Ports {
    influx: u16,
    kapacitor: u16,
    chronograf: u16,
    health: u16,
}

#[test]
fn scripts_stack_runs_the_whole_stack_natively() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let started = Instant::now();
    let mail_dir = dir.path().join("mail");
    std::fs::create_dir_all(&mail_dir).unwrap_or_else(|e| panic!("{e}"));
    let smtp_port = free_port();
    let _sink = Daemon::spawn(
        "tick-smtp-sink",
        &[
            &format!("127.0.0.1:{smtp_port}"),
            &mail_dir.to_string_lossy(),
        ],
        &[],
        &dir.path().join("smtp-sink.log"),
    );
    let ports = Ports {
        influx: free_port(),
        kapacitor: free_port(),
        chronograf: free_port(),
        health: free_port(),
    };
    let data = dir.path().join("stack");
    let mut stack = NativeStack::start(&data, &ports, smtp_port);
    let dash = DashboardClient::new(ports.chronograf);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();

    // The host's metrics, under its name; then the checks of a live stack.
    let arrived = wait_until(Duration::from_secs(60), || {
        dash.has_host_metrics(&HOST_MEASUREMENTS, &host)
    });
    assert!(arrived, "metrics of {host} missing:\n{}", stack.logs());
    check_stack_is_live(&dash, &host, "native mem seen", &mail_dir, || stack.logs());
    let alerts = alert_count_query("native mem seen");

    // An acknowledged write survives kill -9 of the store, which the script restarts; the
    // agent's metrics keep arriving after it.
    assert_eq!(dash.write("telegraf", "native_marker value=7i"), 204);
    let old_pid = stack
        .pid("influx-rs")
        .unwrap_or_else(|| panic!("no influx-rs PID"));
    // SAFETY: kill -9 of the store the script started, by the PID it recorded.
    unsafe { libc::kill(old_pid, libc::SIGKILL) };
    let marker = "SELECT count(\"value\") FROM native_marker";
    let back = wait_until(Duration::from_secs(30), || {
        stack.pid("influx-rs").is_some_and(|p| p != old_pid) && dash.count("telegraf", marker) == 1
    });
    assert!(
        back,
        "the marker is lost or the store is not back:\n{}",
        stack.logs()
    );
    let after_kill = format!(
        "SELECT count(usage_idle) FROM cpu WHERE \"cpu\" = 'cpu-total' AND time > {}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    assert!(wait_until(Duration::from_secs(30), || dash
        .count("telegraf", &after_kill)
        >= 2));

    // Stopped and started again, the stack keeps its data, tasks and dashboards.
    let (status, _) = dash.post_json(
        "/chronograf/v1/dashboards",
        &serde_json::json!({ "name": "native survives" }),
    );
    assert_eq!(status, 201);
    assert!(
        stack.stop(),
        "the stack did not stop on SIGTERM within 30 s"
    );
    let mut stack = NativeStack::start(&data, &ports, smtp_port);
    assert_eq!(dash.count("telegraf", marker), 1);
    assert!(dash.count("chronograf", &alerts) > 0);
    assert!(dash.text(RULES_PATH).contains("native mem seen"));
    assert!(dash
        .text("/chronograf/v1/dashboards")
        .contains("native survives"));
    assert!(stack.stop());
    eprintln!("native stack test done in {:?}", started.elapsed());
}
