//! chronograf-rs in headless Chromium (Debian's `chromium` and `chromium-driver`, driven over
//! WebDriver by `fixtures/browser_check.py` with selenium) against real influx-rs and
//! kapacitor-rs. Screenshots are kept in `target/browser-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tick_tests::{
    free_port, required, start_chronograf, start_kapacitor, wait_until, Daemon, Store,
};

fn available() -> bool {
    let tools =
        Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    tools && selenium
}

/// The stack the browser checks run against: a store with 5 minutes of host web1's cpu,
/// system and mem data, kapacitor-rs subscribed to it, and chronograf-rs driving both.
struct Stack {
    store: Store,
    _kapacitor: Daemon,
    chronograf: Daemon,
    port: u16,
    kapacitor_url: String,
}

fn stack(dir: &Path) -> Stack {
    let store = Store::start(&dir.join("store"), free_port());
    let http = reqwest::blocking::Client::new();
    http.post(store.url("/query"))
        .form(&[("q", "CREATE DATABASE telegraf")])
        .send()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let body: String = (0..30i64)
        .map(|i| {
            let t = now - (30 - i) * 10_000_000_000;
            format!("cpu,cpu=cpu-total,host=web1 usage_user=10,usage_system=4,usage_idle={} {t}\nsystem,host=web1 load1=0.5,uptime={}i {t}\nmem,host=web1 used={}i,available=6000000000i,used_percent=31.5 {t}\n", 80 - i % 7, 100 + i * 10, 2_000_000_000 + i * 1_000_000)
        })
        .collect();
    http.post(store.url("/write?db=telegraf"))
        .body(body)
        .send()
        .unwrap();
    std::fs::create_dir_all(dir.join("load")).unwrap();
    let api = free_port();
    let kapacitor = start_kapacitor(dir, &store, free_port(), api, "kapacitor.log");
    assert!(wait_until(Duration::from_secs(20), || store
        .query("", "SHOW SUBSCRIPTIONS")
        .to_string()
        .contains(&api.to_string())));
    let kapacitor_url = format!("http://127.0.0.1:{api}");
    let (chronograf, port) = start_chronograf(dir, &store, &["--kapacitor-url", &kapacitor_url]);
    Stack {
        store,
        _kapacitor: kapacitor,
        chronograf,
        port,
        kapacitor_url,
    }
}

/// `target/browser-screenshots/`.
fn screenshots() -> PathBuf {
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// Skips (or, under CI, fails) when the browser or selenium is missing.
fn browser_missing() -> bool {
    if available() {
        return false;
    }
    assert!(
        !required(),
        "chromium, chromium-driver and selenium are required under CI=true"
    );
    eprintln!("SKIPPED: chromium, chromium-driver or python3 selenium not installed");
    true
}

/// Runs `fixtures/<script>` with `args`; it must pass.
fn run_fixture(script: &str, args: &[&std::ffi::OsStr], stack: &Stack) {
    let out = Command::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(script),
        )
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}\nchronograf log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        stack.chronograf.log()
    );
}

#[test]
fn the_dashboard_works_in_a_browser() {
    if browser_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let shots = screenshots();
    let base = format!("http://127.0.0.1:{}", stack.port);
    let store_url = stack.store.url("");
    run_fixture(
        "browser_check.py",
        &[
            base.as_ref(),
            store_url.as_ref(),
            stack.kapacitor_url.as_ref(),
            shots.as_os_str(),
        ],
        &stack,
    );
    assert!(shots.join("dashboard.png").exists());
}

#[test]
fn every_page_is_labelled_accessible_and_fits_desktop_and_phone() {
    if browser_missing() {
        return;
    }
    let axe = Command::new("python3")
        .args(["-c", "import axe_core_python"])
        .status()
        .is_ok_and(|s| s.success());
    if !axe {
        assert!(!required(), "axe-core-python is required under CI=true");
        eprintln!("SKIPPED: python3 axe-core-python not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let dashboard: serde_json::Value = tick_tests::dashboard_client()
        .post(format!("http://127.0.0.1:{}/chronograf/v1/dashboards", stack.port))
        .json(&serde_json::json!({ "name": "Web servers", "cells": [
            { "x": 0, "y": 0, "w": 6, "h": 4, "name": "CPU idle", "type": "line",
              "queries": [{ "db": "telegraf", "query": "SELECT mean(\"usage_idle\") FROM \"cpu\" WHERE time > :dashboardTime: GROUP BY time(:interval:), \"host\"" }],
              "axes": { "y": { "label": "CPU", "suffix": "%", "bounds": ["", ""], "scale": "linear" } } },
            { "x": 6, "y": 0, "w": 6, "h": 4, "name": "Memory used", "type": "line-stacked",
              "queries": [{ "db": "telegraf", "query": "SELECT mean(\"used\") FROM \"mem\" WHERE time > :dashboardTime: GROUP BY time(:interval:)" }],
              "axes": { "y": { "label": "Memory", "suffix": "B", "base": "2", "bounds": ["", ""], "scale": "linear" } } },
            { "x": 0, "y": 4, "w": 4, "h": 3, "name": "Load", "type": "single-stat",
              "queries": [{ "db": "telegraf", "query": "SELECT last(\"load1\") FROM \"system\" WHERE time > :dashboardTime:" }] }
        ] }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = dashboard["id"].to_string();
    let shots = screenshots();
    let base = format!("http://127.0.0.1:{}", stack.port);
    run_fixture(
        "page_audit.py",
        &[base.as_ref(), id.as_ref(), shots.as_os_str()],
        &stack,
    );
    for page in ["hosts", "dashboard", "alerts", "admin"] {
        for size in ["desktop", "phone"] {
            assert!(shots.join(format!("{page}-{size}.png")).exists());
        }
    }
}
