//! chronograf-rs in headless Chromium (Debian's `chromium` and `chromium-driver`, driven over
//! WebDriver by `fixtures/browser_check.py` with selenium) against real influx-rs and
//! kapacitor-rs. Screenshots are kept in `target/browser-screenshots/`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tick_tests::{free_port, required, start_chronograf, start_kapacitor, wait_until, Store};

fn available() -> bool {
    let tools =
        Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    tools && selenium
}

#[test]
fn the_dashboard_works_in_a_browser() {
    if !available() {
        assert!(
            !required(),
            "chromium, chromium-driver and selenium are required under CI=true"
        );
        eprintln!("SKIPPED: chromium, chromium-driver or python3 selenium not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
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
            format!("cpu,cpu=cpu-total,host=web1 usage_user=10,usage_idle={} {t}\nsystem,host=web1 load1=0.5,uptime={}i {t}\n", 80 - i % 7, 100 + i * 10)
        })
        .collect();
    http.post(store.url("/write?db=telegraf"))
        .body(body)
        .send()
        .unwrap();
    std::fs::create_dir_all(dir.path().join("load")).unwrap();
    let api = free_port();
    let _k = start_kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");
    assert!(wait_until(Duration::from_secs(20), || store
        .query("", "SHOW SUBSCRIPTIONS")
        .to_string()
        .contains(&api.to_string())));
    let kapacitor_url = format!("http://127.0.0.1:{api}");
    let (c, port) = start_chronograf(dir.path(), &store, &["--kapacitor-url", &kapacitor_url]);
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/browser_check.py"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(store.url(""))
        .arg(&kapacitor_url)
        .arg(&shots)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser checks failed:\n{}\n{}\nchronograf log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        c.log()
    );
    assert!(shots.join("dashboard.png").exists());
}
