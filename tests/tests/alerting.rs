//! influx-rs + kapacitor-rs + a real SMTP server (aiosmtpd) + a webhook sink, all on loopback:
//! points written to the store reach kapacitor-rs through its subscription, cross a threshold,
//! and exactly one e-mail and one webhook call follow; the recovery sends one more; the
//! `alerts` measurement holds the events; a deadman fires when writes stop; after a restart
//! the tasks and their alert state are back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tick_tests::{free_port, required, rows, wait_until, Daemon, HttpSink, Store};

/// aiosmtpd on a free port writing each message to `out`; killed on drop.
struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    fn start(dir: &Path) -> Option<Smtp> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                !required(),
                "aiosmtpd is required under CI=true (pip install aiosmtpd)"
            );
            eprintln!("SKIPPED: python3 module aiosmtpd not installed");
            return None;
        }
        let out = dir.join("mail");
        std::fs::create_dir_all(&out).unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/smtp_sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let smtp = Smtp { child, port, out };
        assert!(
            wait_until(Duration::from_secs(10), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "smtp sink did not start"
        );
        Some(smtp)
    }

    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect()
    }
}

const THRESHOLD: &str = r#"dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .crit(lambda: "usage_idle" < 10.0)
        .stateChangesOnly()
        .id('cpu:{{ index .Tags "host" }}')
        .message('{{ .ID }} is {{ .Level }}: idle {{ index .Fields "usage_idle" }}')
        .email('oncall@example.com')
        .post('http://127.0.0.1:WEBHOOK/alert')
"#;

fn kapacitor(dir: &Path, store: &Store, smtp_port: u16, api: u16, log: &str) -> Daemon {
    tick_tests::start_kapacitor(dir, store, smtp_port, api, log)
}

/// Waits (at most 20 s) until kapacitor-rs on port `api` has subscribed to `store`.
fn wait_subscribed(store: &Store, api: u16) {
    assert!(
        wait_until(Duration::from_secs(20), || store
            .query("", "SHOW SUBSCRIPTIONS")
            .to_string()
            .contains(&api.to_string())),
        "kapacitor-rs did not subscribe"
    );
}

/// A store with the `telegraf` database, so kapacitor-rs finds it to subscribe to.
fn store_with_telegraf(dir: &Path) -> Store {
    let store = Store::start(&dir.join("store"), free_port());
    tick_tests::dashboard_client()
        .post(store.url("/query"))
        .form(&[("q", "CREATE DATABASE telegraf")])
        .send()
        .unwrap();
    store
}

fn write(store: &Store, body: &str) {
    store.write("telegraf", body);
}

#[test]
fn threshold_alerts_reach_email_webhook_and_history_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = Smtp::start(dir.path()) else {
        return;
    };
    let webhook = HttpSink::start();
    let store = store_with_telegraf(dir.path());
    std::fs::create_dir_all(dir.path().join("load/tasks")).unwrap();
    std::fs::write(
        dir.path().join("load/tasks/cpu_idle.tick"),
        THRESHOLD.replace("WEBHOOK", &webhook.port.to_string()),
    )
    .unwrap();
    let api = free_port();
    let mut k = kapacitor(dir.path(), &store, smtp.port, api, "kapacitor1.log");

    // kapacitor-rs subscribes itself.
    let subscribed = wait_until(Duration::from_secs(20), || {
        let v = store.query("", "SHOW SUBSCRIPTIONS");
        v.to_string().contains(&format!("http://127.0.0.1:{api}"))
    });
    assert!(subscribed, "no subscription:\n{}", k.log());

    write(&store, "cpu,host=web1 usage_idle=50");
    write(&store, "cpu,host=web1 usage_idle=5");
    assert!(
        wait_until(Duration::from_secs(15), || smtp.messages().len() == 1),
        "no e-mail:\n{}",
        k.log()
    );
    let (path, body) = webhook.next(Duration::from_secs(10)).expect("webhook call");
    assert_eq!(path, "/alert");
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["id"], "cpu:web1");
    assert_eq!(event["level"], "CRITICAL");
    assert_eq!(event["previousLevel"], "OK");
    let mail = &smtp.messages()[0];
    assert!(mail.contains("X-Envelope-To: oncall@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: cpu:web1 is CRITICAL: idle 5"),
        "{mail}"
    );

    // The topics API shows the alert.
    let topic: serde_json::Value = reqwest::blocking::get(format!(
        "http://127.0.0.1:{api}/kapacitor/v1/alerts/topics/main:cpu_idle:alert2/events"
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(topic["events"][0]["id"], "cpu:web1", "{topic}");
    assert_eq!(topic["events"][0]["state"]["level"], "CRITICAL", "{topic}");

    // Still critical: state changes only, nothing more.
    write(&store, "cpu,host=web1 usage_idle=6");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(smtp.messages().len(), 1, "a repeated CRITICAL sent mail");
    write(&store, "cpu,host=web1 usage_idle=80");
    assert!(
        wait_until(Duration::from_secs(15), || smtp.messages().len() == 2),
        "no recovery e-mail"
    );
    assert!(smtp.messages()[1].contains("Subject: cpu:web1 is OK: idle 80"));
    let (_, body) = webhook
        .next(Duration::from_secs(10))
        .expect("recovery webhook call");
    assert!(body.contains("\"level\":\"OK\""), "{body}");

    // The history Chronograf reads.
    let history = wait_until(Duration::from_secs(10), || {
        rows(&store.query("chronograf", "SELECT level, value, message FROM alerts")).len() == 2
    });
    assert!(
        history,
        "alerts measurement: {}",
        store.query("chronograf", "SELECT * FROM alerts")
    );

    // Critical again, then a restart: the task comes back, and so does its state.
    write(&store, "cpu,host=web1 usage_idle=4");
    assert!(wait_until(Duration::from_secs(15), || smtp
        .messages()
        .len()
        == 3));
    webhook.next(Duration::from_secs(5));
    k.stop();
    let _k = kapacitor(dir.path(), &store, smtp.port, api, "kapacitor2.log");
    let task: serde_json::Value = reqwest::blocking::get(format!(
        "http://127.0.0.1:{api}/kapacitor/v1/tasks/cpu_idle"
    ))
    .unwrap()
    .json()
    .unwrap();
    assert_eq!(task["status"], "enabled");
    assert_eq!(task["executing"], true);
    write(&store, "cpu,host=web1 usage_idle=3");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        smtp.messages().len(),
        3,
        "the restored CRITICAL state was not kept"
    );
    write(&store, "cpu,host=web1 usage_idle=90");
    assert!(
        wait_until(Duration::from_secs(15), || smtp.messages().len() == 4),
        "no recovery after restart"
    );
}

#[test]
fn deadman_fires_when_writes_stop() {
    let dir = tempfile::tempdir().unwrap();
    let webhook = HttpSink::start();
    let store = store_with_telegraf(dir.path());
    std::fs::create_dir_all(dir.path().join("load")).unwrap();
    let api = free_port();
    let _k = kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");
    let script = format!(
        "stream\n    |from()\n        .measurement('heartbeat')\n    |deadman(0.0, 2s)\n        .post('http://127.0.0.1:{}/dead')\n",
        webhook.port
    );
    tick_tests::define_task(api, "beat", "stream", &script);
    wait_subscribed(&store, api);
    // Alive while beating.
    for _ in 0..6 {
        write(&store, "heartbeat v=1");
        std::thread::sleep(Duration::from_millis(500));
    }
    let first = webhook.next(Duration::from_millis(100));
    if let Some((_, body)) = &first {
        assert!(!body.contains("CRITICAL"), "dead while beating: {body}");
    }
    // Then silence: dead within two intervals.
    let (_, body) = webhook.next(Duration::from_secs(8)).expect("deadman event");
    let event: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["level"], "CRITICAL", "{body}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("is dead: 0.000 points/2s"),
        "{body}"
    );
}

fn cli(api: u16, args: &[&str]) -> std::process::Output {
    Command::new(tick_tests::binary("kapacitor-rs"))
        .args(args)
        .env("KAPACITOR_URL", format!("http://127.0.0.1:{api}"))
        .output()
        .unwrap()
}

#[test]
fn operators_define_with_the_cli_and_replay_yesterdays_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_telegraf(dir.path());
    let day = 86_400_000_000_000i64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let yesterday = now - day;
    let body: Vec<String> = [50.0, 5.0, 6.0, 70.0, 3.0]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "cpu,host=db1 usage_idle={v} {}",
                yesterday + i as i64 * 60_000_000_000
            )
        })
        .collect();
    write(&store, &body.join("\n"));
    std::fs::create_dir_all(dir.path().join("load")).unwrap();
    let api = free_port();
    let _k = kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");
    let tick = dir.path().join("cpu.tick");
    std::fs::write(&tick, "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10.0)\n").unwrap();

    let out = cli(
        api,
        &[
            "define",
            "cpu",
            "-tick",
            &tick.to_string_lossy(),
            "-dbrp",
            "telegraf.autogen",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(cli(api, &["list", "tasks"]).stdout).unwrap();
    assert!(
        list.lines().any(|l| l.starts_with("cpu ")
            && l.contains("disabled")
            && l.contains("[\"telegraf\".\"autogen\"]")),
        "{list}"
    );
    let bad = cli(
        api,
        &[
            "define",
            "broken",
            "-tick",
            &dir.path().join("nope.tick").to_string_lossy(),
        ],
    );
    assert!(!bad.status.success());
    std::fs::write(dir.path().join("broken.tick"), "stream|from().nope()").unwrap();
    let bad = cli(
        api,
        &[
            "define",
            "broken",
            "-tick",
            &dir.path().join("broken.tick").to_string_lossy(),
            "-dbrp",
            "telegraf.autogen",
        ],
    );
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no method or property \"nope\" on from"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let replay: serde_json::Value = tick_tests::dashboard_client()
        .post(format!("http://127.0.0.1:{api}/kapacitor/v1/replays/query"))
        .json(&serde_json::json!({ "task": "cpu", "query": format!("SELECT usage_idle FROM telegraf.autogen.cpu WHERE time > {} GROUP BY host", yesterday - 1) }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let levels: Vec<&str> = replay["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels,
        ["CRITICAL", "CRITICAL", "OK", "CRITICAL"],
        "{replay}"
    );
    assert_eq!(replay["events"][0]["id"], "cpu:host=db1");
    // The same over a time range, reading everything of the task's dbrp.
    let rfc = |ns: i64| {
        chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let by_range: serde_json::Value = tick_tests::dashboard_client()
        .post(format!("http://127.0.0.1:{api}/kapacitor/v1/replays/query"))
        .json(&serde_json::json!({ "task": "cpu", "start": rfc(yesterday - 1_000_000_000), "stop": rfc(now) }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let again: Vec<&str> = by_range["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["level"].as_str().unwrap())
        .collect();
    assert_eq!(again, levels, "{by_range}");

    assert!(cli(api, &["enable", "cpu"]).status.success());
    let show = String::from_utf8(cli(api, &["show", "cpu"]).stdout).unwrap();
    assert!(
        show.contains("Status: enabled") && show.contains("stream0 -> from1;"),
        "{show}"
    );
    assert!(cli(api, &["delete", "tasks", "cpu"]).status.success());
    let list = String::from_utf8(cli(api, &["list", "tasks"]).stdout).unwrap();
    assert!(!list.contains("cpu "), "{list}");
}

#[test]
fn batch_tasks_query_the_store_and_log_tcp_exec_handlers_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_telegraf(dir.path());
    std::fs::create_dir_all(dir.path().join("load")).unwrap();
    let api = free_port();
    let _k = kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let log = dir.path().join("alerts.log");
    let exec_out = dir.path().join("exec.json");
    let script = [
        "batch",
        "    |query('SELECT mean(\"usage_idle\") AS idle FROM \"telegraf\".\"autogen\".\"cpu\"')",
        "        .period(10s)",
        "        .every(1s)",
        "        .groupBy('host')",
        "    |alert()",
        "        .crit(lambda: \"idle\" < 10.0)",
        "        .id('{{ index .Tags \"host\" }}')",
        &format!("        .log('{}')", log.display()),
        &format!("        .tcp('127.0.0.1:{tcp_port}')"),
        &format!(
            "        .exec('/bin/sh', '-c', 'cat > {}')",
            exec_out.display()
        ),
    ]
    .join("\n");
    tick_tests::define_task(api, "batchy", "batch", &script);
    write(
        &store,
        "cpu,host=db9 usage_idle=3\ncpu,host=ok1 usage_idle=70",
    );
    tcp.set_nonblocking(false).unwrap();
    let (mut conn, _) = tcp.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&mut conn), &mut line).unwrap();
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["id"], "db9");
    assert_eq!(event["level"], "CRITICAL");
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("\"id\":\"db9\""))),
        "no log line"
    );
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(
            &exec_out
        )
        .is_ok_and(|t| t.contains("\"level\":\"CRITICAL\""))),
        "exec got nothing"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&log).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "log files are created 0600");
}

/// A store with `telegraf`, kapacitor-rs on it, and chronograf-rs driving that kapacitor-rs.
struct RuleStack {
    store: Store,
    api: u16,
    kapacitor_url: String,
    port: u16,
    /// chronograf-rs's rules endpoint.
    rules: String,
    _kapacitor: Daemon,
    _chronograf: Daemon,
}

fn rule_stack(dir: &Path) -> RuleStack {
    let store = store_with_telegraf(dir);
    std::fs::create_dir_all(dir.join("load")).unwrap();
    let api = free_port();
    let kapacitor = kapacitor(dir, &store, free_port(), api, "kapacitor.log");
    let kapacitor_url = format!("http://127.0.0.1:{api}");
    let (chronograf, port) =
        tick_tests::start_chronograf(dir, &store, &["--kapacitor-url", &kapacitor_url]);
    RuleStack {
        store,
        api,
        kapacitor_url,
        port,
        rules: format!("http://127.0.0.1:{port}/chronograf/v1/sources/1/kapacitors/1/rules"),
        _kapacitor: kapacitor,
        _chronograf: chronograf,
    }
}

#[test]
fn a_rule_made_in_chronograf_runs_in_kapacitor_and_shows_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let RuleStack {
        store,
        api,
        kapacitor_url,
        port,
        rules,
        _kapacitor,
        _chronograf,
    } = rule_stack(dir.path());
    let http = tick_tests::dashboard_client();
    let created = http
        .post(&rules)
        .json(&serde_json::json!({ "name": "cpu hot", "measurement": "cpu", "field": "usage_user", "operator": "greater than", "value": 90, "group_by": ["host"] }))
        .send()
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().unwrap_or_default()
    );
    let task: serde_json::Value = created.json().unwrap();
    let id = task["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("chronograf-v1-"), "{task}");
    assert_eq!(task["status"], "enabled");
    let page = reqwest::blocking::get(format!("http://127.0.0.1:{port}/sources/1/alert-rules"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains(&id) && page.contains("telegraf.autogen"),
        "{page}"
    );
    let bad = http.post(&rules).json(&serde_json::json!({ "name": "x", "measurement": "cpu", "field": "f", "operator": "bigger", "value": 1 })).send().unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    // The rule fires on data crossing it; the history page shows it by name.
    wait_subscribed(&store, api);
    write(&store, "cpu,host=web7 usage_user=95");
    let history = wait_until(Duration::from_secs(15), || {
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/sources/1/alerts?range=1h"))
            .unwrap()
            .text()
            .unwrap()
            .contains("cpu hot")
    });
    assert!(
        history,
        "{}",
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/sources/1/alerts"))
            .unwrap()
            .text()
            .unwrap()
    );
    let page = reqwest::blocking::get(format!("http://127.0.0.1:{port}/sources/1/alerts?range=1h"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("class=\"level critical\">CRITICAL") && page.contains("web7"),
        "{page}"
    );

    // Disable, then delete, through chronograf-rs.
    let disabled = http
        .patch(format!("{rules}/{id}"))
        .json(&serde_json::json!({ "status": "disabled" }))
        .send()
        .unwrap();
    assert_eq!(disabled.status().as_u16(), 200);
    let t: serde_json::Value =
        reqwest::blocking::get(format!("{kapacitor_url}/kapacitor/v1/tasks/{id}"))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(t["status"], "disabled");
    assert_eq!(
        http.delete(format!("{rules}/{id}"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        reqwest::blocking::get(format!("{kapacitor_url}/kapacitor/v1/tasks/{id}"))
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

/// Relative and deadman rules made in chronograf-rs run in kapacitor-rs and record their
/// events in `chronograf.alerts` with their trigger type.
#[test]
fn relative_and_deadman_rules_from_chronograf_fire() {
    let dir = tempfile::tempdir().unwrap();
    let stack = rule_stack(dir.path());
    let (store, api, rules) = (&stack.store, stack.api, &stack.rules);
    let http = tick_tests::dashboard_client();
    for rule in [
        serde_json::json!({ "trigger": "relative", "name": "jump", "measurement": "load", "field": "v",
            "operator": "greater than", "value": 50, "change": "% change", "shift": "1s", "group_by": ["host"] }),
        serde_json::json!({ "trigger": "deadman", "name": "silent", "measurement": "heartbeat",
            "period": "2s", "value": 0, "group_by": ["host"] }),
    ] {
        let created = http.post(rules).json(&rule).send().unwrap();
        assert_eq!(
            created.status().as_u16(),
            201,
            "{}",
            created.text().unwrap_or_default()
        );
    }
    wait_subscribed(store, api);
    // 10 → 100 one second later: a 900 % change. Heartbeats, then silence.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    write(store, &format!("load,host=a v=10 {}", now - 1_000_000_000));
    write(store, &format!("load,host=a v=100 {now}"));
    write(store, "heartbeat,host=b beat=1i");
    let fired = |name: &str, trigger: &str| {
        let q = format!(
            "SELECT count(\"value\") FROM alerts WHERE \"alertName\" = '{name}' AND \"triggerType\" = '{trigger}'"
        );
        wait_until(Duration::from_secs(20), || {
            rows(&store.query("chronograf", &q))
                .first()
                .is_some_and(|r| r[1].as_u64().unwrap_or(0) > 0)
        })
    };
    assert!(fired("jump", "relative"), "the relative rule did not fire");
    assert!(fired("silent", "deadman"), "the deadman rule did not fire");
}
