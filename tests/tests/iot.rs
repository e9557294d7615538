//! The `iot` profile's data path, natively: simulated devices (`tick-iot-device`) publish
//! JSON readings to a real Mosquitto broker; telegraf-rs, with `deploy/telegraf-iot.conf`
//! unchanged, subscribes (`mqtt_consumer` + `json_v2`) and writes them to influx-rs; the
//! example alert `deploy/load/iot_temperature_high.tick`, loaded by kapacitor-rs from a load
//! directory, fires for the overheating device and recovers, its events in the alert history.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tick_tests::{
    free_port, repo_root, required, rows, start_kapacitor, wait_until, Daemon, KilledOnDrop, Store,
};

/// Mosquitto, if installed (under CI it must be: `.ci/run` installs it).
fn mosquitto() -> Option<PathBuf> {
    let found = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(!required(), "mosquitto is required under CI=true");
        eprintln!("SKIPPED: mosquitto is not installed");
    }
    found
}

/// Starts Mosquitto on 127.0.0.1:`port` with its files in `dir`; waits until it listens.
fn start_broker(program: &Path, dir: &Path, port: u16) -> std::process::Child {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("mosquitto.log")).unwrap();
    let child = std::process::Command::new(program)
        .arg("-c")
        .arg(&conf)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let up = wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "mosquitto did not listen on {port}");
    child
}

#[test]
fn devices_readings_reach_the_store_and_the_example_alert_fires() {
    let Some(mosquitto) = mosquitto() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let broker_port = free_port();
    let _broker = KilledOnDrop(start_broker(&mosquitto, dir.path(), broker_port));
    let store = Store::start(&dir.path().join("influx"), free_port());
    store.query("", "CREATE DATABASE telegraf");
    store.query("", "CREATE DATABASE chronograf");

    // The example alert, from deploy/load as compose mounts it.
    let load = dir.path().join("load");
    std::fs::create_dir_all(load.join("tasks")).unwrap();
    let tick = "iot_temperature_high.tick";
    std::fs::copy(
        repo_root().join("deploy/load").join(tick),
        load.join("tasks").join(tick),
    )
    .unwrap();
    let api = free_port();
    let _kapacitor = start_kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");

    let broker = format!("tcp://127.0.0.1:{broker_port}");
    let store_urls = format!("\"{}\"", store.url(""));
    let conf = repo_root().join("deploy/telegraf-iot.conf");
    let agent = Daemon::spawn(
        "telegraf-rs",
        &[
            "--config",
            &conf.to_string_lossy(),
            "--data-dir",
            &dir.path().join("agent").to_string_lossy(),
        ],
        &[
            ("MQTT_BROKER", broker.as_str()),
            ("INFLUX_URLS", store_urls.as_str()),
            ("TELEGRAF_IOT_FLUSH_INTERVAL", "1s"),
        ],
        &dir.path().join("agent.log"),
    );
    // Three devices, one reading a second; dev-3 starts in its hot phase (30 s of a 150 s
    // cycle) and cools down after it.
    let _devices = Daemon::spawn(
        "tick-iot-device",
        &[
            "--broker",
            &format!("127.0.0.1:{broker_port}"),
            "--devices",
            "3",
            "--interval",
            "1",
            "--cycle",
            "150",
            "--start-phase",
            "0.8",
            "--hot",
            "dev-3",
        ],
        &[],
        &dir.path().join("devices.log"),
    );

    let per_device = "SELECT count(\"temperature\") FROM climate GROUP BY device, site";
    let arrived = wait_until(Duration::from_secs(30), || {
        store.query("telegraf", per_device)["results"][0]["series"]
            .as_array()
            .is_some_and(|s| s.len() == 3)
    });
    assert!(arrived, "readings missing:\n{}", agent.log());
    let last = store.query(
        "telegraf",
        "SELECT last(\"temperature\"), last(\"humidity\"), last(\"battery\") FROM climate \
         WHERE device = 'dev-1' AND site = 'lab' AND host = 'iot-gateway'",
    );
    let row = &rows(&last)[0];
    let temperature = row[1].as_f64().unwrap();
    assert!((15.0..30.0).contains(&temperature), "{last}");
    assert!(row[2].as_f64().is_some(), "{last}");
    assert!(
        row[3].as_i64().is_some_and(|b| (40..=100).contains(&b)),
        "battery is an integer: {last}"
    );
    // Stamped with the device's time, not the agent's: whole seconds.
    let times = store.query(
        "telegraf",
        "SELECT temperature FROM climate WHERE device = 'dev-2' LIMIT 3",
    );
    assert!(
        rows(&times)
            .iter()
            .all(|r| r[0].as_i64().unwrap() % 1_000_000_000 == 0),
        "{times}"
    );

    let history = |level: &str| {
        let q = format!(
            "SELECT count(\"value\") FROM alerts WHERE \"alertName\" = 'iot_temperature_high' \
             AND level = '{level}' AND device = 'dev-3'"
        );
        rows(&store.query("chronograf", &q))
            .first()
            .and_then(|r| r[1].as_i64())
            .unwrap_or(0)
    };
    let fired = wait_until(Duration::from_secs(60), || history("CRITICAL") > 0);
    assert!(fired, "no CRITICAL event for dev-3: {}", _kapacitor.log());
    let others = store.query(
        "chronograf",
        "SELECT count(\"value\") FROM alerts WHERE \"alertName\" = 'iot_temperature_high' \
         AND device != 'dev-3' AND level = 'CRITICAL'",
    );
    assert!(rows(&others).is_empty(), "only dev-3 overheats: {others}");
    let recovered = wait_until(Duration::from_secs(90), || history("OK") > 0);
    assert!(recovered, "dev-3 did not recover: {}", _kapacitor.log());
}
