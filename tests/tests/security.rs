//! The stack probed as an attacker would, against the real binaries on loopback: each class of
//! attack from the hardening issue, and after each the daemon still answers its health check.
//!
//! - deep nesting in InfluxQL (parentheses, subqueries) and TICKscript (lambdas, chains,
//!   templates) is a normal error naming the line and column, with or without credentials;
//! - half-sent requests are dropped within the header timeout, on every HTTP server;
//! - chronograf-rs refuses cross-site and non-JSON state changes, and write statements over
//!   `GET`, with login on or off;
//! - kapacitor-rs demands credentials when `[http] auth-enabled`, and runs no program and
//!   writes no file outside its `[sandbox]`; chronograf-rs reaches it with its credentials;
//! - telegraf-rs's `socket_listener` keeps its memory and its log bounded whatever a client
//!   sends (a line without end, a flood of bad lines);
//! - the store sets up the daemons' own users, each with only its grants, from its
//!   environment (what compose passes), and refuses a wrong setting by name.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tick_tests::{
    dashboard_client, free_port, start_chronograf, start_kapacitor_with, wait_until, Daemon, Store,
};

/// `POST /query` with `q` (and optional Basic credentials): status and body.
fn query(store: &Store, q: &str, auth: Option<(&str, &str)>) -> (u16, String) {
    let mut req = reqwest::blocking::Client::new()
        .post(store.url("/query"))
        .form(&[("q", q)]);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let res = req.send().unwrap_or_else(|e| panic!("query: {e}"));
    (res.status().as_u16(), res.text().unwrap_or_default())
}

fn alive(url: &str) -> bool {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(url)
        .send()
        .is_ok_and(|r| r.status().is_success())
}

#[test]
fn deep_nesting_in_influxql_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    for auth in [false, true] {
        let data = dir.path().join(format!("store-{auth}"));
        let env: &[(&str, &str)] = if auth {
            &[("INFLUX_RS_HTTP_AUTH_ENABLED", "true")]
        } else {
            &[]
        };
        let store = Store::start_with_env(&data, free_port(), env);
        if auth {
            let (status, _) = query(
                &store,
                "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
                None,
            );
            assert_eq!(status, 200);
        }
        let parens = format!(
            "SELECT v FROM m WHERE {}v > 1{}",
            "(".repeat(3000),
            ")".repeat(3000)
        );
        let mut subqueries = "SELECT v FROM m".to_string();
        for _ in 0..1000 {
            subqueries = format!("SELECT v FROM ({subqueries})");
        }
        let chain = format!("SELECT {} FROM m", vec!["v"; 20_000].join(" + "));
        let creds = auth.then_some(("admin", "pw"));
        for q in [&parens, &subqueries, &chain] {
            // Without credentials an auth-enabled store refuses before parsing; with them (or
            // with auth off) the query is parsed, and refused at its depth.
            let (status, body) = query(&store, q, None);
            if auth {
                assert_eq!(status, 401, "{body}");
            }
            let (status, body) = query(&store, q, creds);
            assert_eq!(status, 400, "{body}");
            assert!(body.contains("nested too deeply"), "{status} {body}");
            assert!(body.contains("at line 1, char"), "{body}");
            assert!(
                alive(&store.url("/ping")),
                "influx-rs died:\n{}",
                store.daemon.log()
            );
        }
        // Nesting within the bound is answered normally, even on an unoptimized build.
        let fine = format!(
            "SELECT v FROM m WHERE {}v > 1{}",
            "(".repeat(900),
            ")".repeat(900)
        );
        let (status, body) = query(&store, &format!("CREATE DATABASE d; {fine}"), creds);
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains("nested too deeply"), "{body}");
        assert!(alive(&store.url("/ping")));
    }
}

/// Sends the start of a request and never its end; whether the server closed the connection
/// within `limit`.
fn drops_half_sent_request(addr: &str, limit: Duration) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    if s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .is_err()
    {
        return false;
    }
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let start = Instant::now();
    let mut buf = [0u8; 512];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

/// A JSON request to kapacitor-rs with optional Basic credentials: status and body.
fn kapacitor(
    method: reqwest::Method,
    url: &str,
    auth: Option<(&str, &str)>,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let mut req = reqwest::blocking::Client::new().request(method, url);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().unwrap_or_else(|e| panic!("{url}: {e}"));
    (res.status().as_u16(), res.text().unwrap_or_default())
}

fn task(id: &str, script: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "type": "stream", "script": script, "status": "enabled",
        "dbrps": [{ "db": "telegraf", "rp": "autogen" }],
    })
}

#[test]
fn tickscript_nesting_sandbox_and_credentials_in_kapacitor() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
    store.query("", "CREATE DATABASE telegraf");
    let api = free_port();
    let base = format!("http://127.0.0.1:{api}");
    let _k = start_kapacitor_with(
        dir.path(),
        &store,
        free_port(),
        api,
        "kapacitor.log",
        "auth-enabled = true\n[auth]\nenabled = true\nbcrypt-cost = 4\n\
         [[auth.users]]\nname = \"admin\"\npassword = \"pw\"\ntype = \"admin\"\n\
         [[auth.users]]\nname = \"chronograf\"\npassword = \"cg\"\ntype = \"normal\"\npermissions = [\"api\"]\n\
         [sandbox]\nexec-allowed = []\nlog-allowed-dirs = []\n",
    );
    let tasks = format!("{base}/kapacitor/v1/tasks");
    let ping = format!("{base}/kapacitor/v1/ping");
    let admin = Some(("admin", "pw"));

    // No login, no way in: every endpoint but ping asks for credentials.
    for (method, url) in [
        (reqwest::Method::GET, tasks.clone()),
        (reqwest::Method::POST, tasks.clone()),
        (
            reqwest::Method::GET,
            format!("{base}/kapacitor/v1/alerts/topics"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/write?db=telegraf&rp=autogen"),
        ),
    ] {
        let (status, body) = kapacitor(method, &url, None, None);
        assert_eq!(status, 401, "{url}: {body}");
    }
    assert_eq!(
        kapacitor(reqwest::Method::GET, &tasks, Some(("admin", "bad")), None).0,
        401
    );
    let (status, body) = kapacitor(
        reqwest::Method::GET,
        &tasks,
        Some(("chronograf", "cg")),
        None,
    );
    assert_eq!(status, 200, "{body}");
    // A normal user may use the API it was given, and not manage users.
    let (status, body) = kapacitor(
        reqwest::Method::POST,
        &format!("{base}/kapacitor/v1/users"),
        Some(("chronograf", "cg")),
        Some(serde_json::json!({"name": "eve", "password": "e", "type": "admin"})),
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = kapacitor(
        reqwest::Method::POST,
        &format!("{base}/kapacitor/v1/users"),
        admin,
        Some(
            serde_json::json!({"name": "writer", "password": "w", "type": "normal", "permissions": ["write_points"]}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = kapacitor(reqwest::Method::GET, &tasks, Some(("writer", "w")), None);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("does not have \\\"read\\\" privilege"),
        "{body}"
    );

    // Deep nesting: an error naming line and char, and the engine goes on.
    let lambda = format!(
        "stream\n    |from()\n    |where(lambda: {}\"v\" > 1{})\n",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    let chain = format!("stream\n    |from()\n{}", "    |log()\n".repeat(6000));
    let template = format!(
        "stream\n    |from()\n    |alert()\n        .message('{}x{}')\n",
        "{{ if true }}".repeat(3000),
        "{{ end }}".repeat(3000)
    );
    for (id, script) in [
        ("lambda", &lambda),
        ("chain", &chain),
        ("template", &template),
    ] {
        let (status, body) =
            kapacitor(reqwest::Method::POST, &tasks, admin, Some(task(id, script)));
        assert_eq!(status, 400, "{id}: {body}");
        assert!(
            body.contains("too deeply") || body.contains("too long"),
            "{id}: {body}"
        );
        assert!(alive(&ping), "kapacitor-rs died on {id}");
    }
    assert!(
        kapacitor(
            reqwest::Method::POST,
            &tasks,
            admin,
            Some(task("lambda", &lambda))
        )
        .1
        .contains("3:"),
        "the lambda's error names its line"
    );
    // Just inside the bound: compiled, and evaluated on every point, without harm.
    let deep_ok = format!(
        "stream\n    |from()\n        .measurement('cpu')\n    |where(lambda: {}\"v\" > 0{})\n    |httpOut('deep')\n",
        "(".repeat(900),
        ")".repeat(900)
    );
    let (status, body) = kapacitor(
        reqwest::Method::POST,
        &tasks,
        admin,
        Some(task("deep", &deep_ok)),
    );
    assert_eq!(status, 200, "{body}");

    // Outside the sandbox: no program runs, no file is written.
    let marker = dir.path().join("pwned");
    for (id, handler) in [
        (
            "exec",
            format!(".exec('/bin/sh', '-c', 'touch {}')", marker.display()),
        ),
        ("log", format!(".log('{}')", marker.display())),
    ] {
        let script = format!("stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        {handler}\n");
        let (status, body) = kapacitor(
            reqwest::Method::POST,
            &tasks,
            admin,
            Some(task(id, &script)),
        );
        assert_eq!(status, 400, "{id}: {body}");
        assert!(
            body.contains("is not allowed") && body.contains("[sandbox]"),
            "{body}"
        );
    }
    assert!(!marker.exists());

    // The store's subscription writes come in as the subscriber user.
    let (status, body) = kapacitor(
        reqwest::Method::POST,
        &tasks,
        admin,
        Some(task(
            "seen",
            "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('seen')\n",
        )),
    );
    assert_eq!(status, 200, "{body}");
    let subscribed = wait_until(Duration::from_secs(20), || {
        store
            .query("", "SHOW SUBSCRIPTIONS")
            .to_string()
            .contains("kapacitor-subscriber:")
    });
    assert!(
        subscribed,
        "{}\n{}",
        store.query("", "SHOW SUBSCRIPTIONS"),
        _k.log()
    );
    let seen = format!("{tasks}/seen/seen");
    let arrived = wait_until(Duration::from_secs(20), || {
        let _ = reqwest::blocking::Client::new()
            .post(store.url("/write?db=telegraf"))
            .body("cpu,host=a v=1")
            .send();
        kapacitor(reqwest::Method::GET, &seen, admin, None)
            .1
            .contains("\"cpu\"")
    });
    assert!(arrived, "the store's writes did not reach kapacitor-rs");
    let deep = format!("{tasks}/deep/deep");
    let evaluated = wait_until(Duration::from_secs(10), || {
        kapacitor(reqwest::Method::GET, &deep, admin, None)
            .1
            .contains("\"cpu\"")
    });
    assert!(evaluated, "the deep lambda passed nothing");
    assert!(alive(&ping));

    // chronograf-rs reaches it with its credentials, and only with them.
    let proxy = "/chronograf/v1/sources/1/kapacitors/1/proxy?path=/kapacitor/v1/tasks";
    let kapacitor_url = base.clone();
    for d in ["with", "without"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let (_with, with_port) = start_chronograf(
        &dir.path().join("with"),
        &store,
        &[
            "--kapacitor-url",
            &kapacitor_url,
            "--kapacitor-username",
            "chronograf",
            "--kapacitor-password",
            "cg",
        ],
    );
    let res = dashboard_client()
        .get(format!("http://127.0.0.1:{with_port}{proxy}"))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_without, without_port) = start_chronograf(
        &dir.path().join("without"),
        &store,
        &["--kapacitor-url", &kapacitor_url],
    );
    let res = dashboard_client()
        .get(format!("http://127.0.0.1:{without_port}{proxy}"))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[test]
fn half_sent_requests_are_dropped_by_every_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
    let api = free_port();
    let _k = start_kapacitor_with(dir.path(), &store, free_port(), api, "kapacitor.log", "");
    let (_c, chronograf) = start_chronograf(dir.path(), &store, &[]);
    let servers = [
        format!("127.0.0.1:{}", store.port),
        format!("127.0.0.1:{api}"),
        format!("127.0.0.1:{chronograf}"),
    ];
    // In parallel: each has 10 s to give up on the header.
    let checks: Vec<_> = servers
        .iter()
        .cloned()
        .map(|addr| {
            std::thread::spawn(move || {
                (
                    drops_half_sent_request(&addr, Duration::from_secs(15)),
                    addr,
                )
            })
        })
        .collect();
    for c in checks {
        let (dropped, addr) = c.join().unwrap();
        assert!(dropped, "{addr} kept a half-sent request open");
    }
    assert!(alive(&store.url("/ping")));
}

#[test]
fn the_dashboard_refuses_cross_site_and_write_statements_over_get() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
    store.query("", "CREATE DATABASE victim");
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let body = serde_json::json!({ "name": "mine" });
    let dashboards = format!("{base}/chronograf/v1/dashboards");
    // Another site, as browsers say it: refused whatever else the request has.
    for (header, value) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "https://evil.example"),
    ] {
        let res = dashboard_client()
            .post(&dashboards)
            .header(header, value)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 403, "{header}");
    }
    // No token, or a form-encodable content type: refused.
    let res = http.post(&dashboards).json(&body).send().unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = dashboard_client()
        .post(format!(
            "{base}/chronograf/v1/sources/1/kapacitors/1/proxy?path=/kapacitor/v1/tasks"
        ))
        .header("Content-Type", "text/plain")
        .body(r#"{"id":"x","type":"stream","script":"stream|from()"}"#)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    // Same origin with the token: accepted.
    let res = dashboard_client()
        .post(&dashboards)
        .header("Origin", base.as_str())
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    // GET runs reads only: a write statement is 405 and changes nothing.
    for q in [
        "DROP DATABASE victim",
        "SELECT * INTO victim..x FROM victim..y",
        "SHOW DATABASES; DROP DATABASE victim",
    ] {
        let res = http
            .get(format!("{base}/chronograf/v1/sources/1/csv"))
            .query(&[("db", "victim"), ("q", q)])
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 405, "{q}");
    }
    assert!(store
        .query("", "SHOW DATABASES")
        .to_string()
        .contains("victim"));
    let res = http
        .get(format!("{base}/chronograf/v1/sources/1/csv"))
        .query(&[("db", "victim"), ("q", "SHOW MEASUREMENTS")])
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(alive(&format!("{base}/ping")));
}

#[test]
fn deep_json_and_a_100k_field_measurement_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let base = format!("http://127.0.0.1:{port}");
    // JSON nested past serde_json's 128 levels: refused as bad JSON, the dashboard goes on.
    let deep = format!(
        "{{\"name\":\"x\",\"cells\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let res = dashboard_client()
        .post(format!("{base}/chronograf/v1/dashboards"))
        .header("Content-Type", "application/json")
        .body(deep)
        .send()
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert!(alive(&format!("{base}/ping")));

    // One point of 100,000 fields: written, listed and read back whole (each step used to
    // take minutes, quadratic in the number of fields).
    store.query("", "CREATE DATABASE wide");
    let fields = 100_000;
    let line = format!(
        "m {} 1000000000\n",
        (0..fields)
            .map(|i| format!("f{i}={i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let res = reqwest::blocking::Client::new()
        .post(store.url("/write?db=wide"))
        .body(line)
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let keys = store.query("wide", "SHOW FIELD KEYS FROM m");
    assert_eq!(
        keys["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(fields)
    );
    let row = store.query("wide", "SELECT * FROM m LIMIT 1");
    let columns = &row["results"][0]["series"][0]["columns"];
    assert_eq!(
        columns.as_array().map(Vec::len),
        Some(fields + 1),
        "time and every field"
    );
    assert_eq!(row["results"][0]["series"][0]["values"][0][1], 0);
    let means = store.query("wide", "SELECT mean(*) FROM m");
    assert_eq!(
        means["results"][0]["series"][0]["columns"]
            .as_array()
            .map(Vec::len),
        Some(fields + 1)
    );
    assert!(alive(&store.url("/ping")));
}

/// The environment compose gives the store: an admin, a user per daemon, a subscription.
const SERVICE_USERS: [(&str, &str); 13] = [
    ("INFLUX_RS_HTTP_AUTH_ENABLED", "true"),
    ("INFLUX_RS_ADMIN_USER", "admin"),
    ("INFLUX_RS_ADMIN_PASSWORD", "admin's"),
    ("INFLUX_RS_USERS_0_NAME", "telegraf"),
    (
        "INFLUX_RS_USERS_0_PASSWORD",
        "w'; DROP DATABASE telegraf; --",
    ),
    ("INFLUX_RS_USERS_0_GRANTS", "telegraf=WRITE"),
    ("INFLUX_RS_USERS_1_NAME", "kapacitor"),
    ("INFLUX_RS_USERS_1_PASSWORD", "k\\"),
    ("INFLUX_RS_USERS_1_GRANTS", "telegraf=READ,chronograf=WRITE"),
    ("INFLUX_RS_USERS_2_NAME", "chronograf"),
    ("INFLUX_RS_USERS_2_PASSWORD", ""),
    ("INFLUX_RS_USERS_2_GRANTS", "telegraf=READ"),
    (
        "INFLUX_RS_INIT_STATEMENTS",
        "CREATE SUBSCRIPTION k ON telegraf.autogen DESTINATIONS ALL 'http://127.0.0.1:9'",
    ),
];

#[test]
fn the_store_sets_up_each_daemon_user_with_only_its_grants() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let admin = Some(("admin", "admin's"));
    let agent = Some(("telegraf", "w'; DROP DATABASE telegraf; --"));
    let alerting = Some(("kapacitor", "k\\"));
    for start in 0..2 {
        // The second start finds everything in place and changes nothing.
        let store = Store::start_with_env(&data, port, &SERVICE_USERS);
        let (_, users) = query(&store, "SHOW USERS", admin);
        assert!(
            users.contains(r#"["admin",true],["kapacitor",false],["telegraf",false]"#),
            "start {start}: {users}"
        );
        // A user without a password is not created.
        assert!(!users.contains("chronograf"), "{users}");
        let (_, grants) = query(&store, "SHOW GRANTS FOR kapacitor", admin);
        assert!(
            grants.contains(r#"["chronograf","WRITE"],["telegraf","READ"]"#)
                || grants.contains(r#"["telegraf","READ"],["chronograf","WRITE"]"#),
            "{grants}"
        );
        let (_, subscriptions) = query(&store, "SHOW SUBSCRIPTIONS", admin);
        assert!(
            subscriptions.contains("http://127.0.0.1:9"),
            "{subscriptions}"
        );
        // Each user can do its daemon's work and no more.
        let write = |user: Option<(&str, &str)>| {
            let (u, p) = user.unwrap_or_default();
            reqwest::blocking::Client::new()
                .post(store.url("/write?db=telegraf"))
                .basic_auth(u, Some(p))
                .body(format!("m v={start}"))
                .send()
                .map(|r| r.status().as_u16())
                .unwrap()
        };
        assert_eq!(write(agent), 204);
        assert_eq!(write(alerting), 403);
        assert_eq!(query(&store, "SELECT * FROM telegraf..m", agent).0, 403);
        assert_eq!(query(&store, "SELECT * FROM telegraf..m", alerting).0, 200);
        assert_eq!(query(&store, "DROP DATABASE telegraf", alerting).0, 403);
        assert_eq!(query(&store, "CREATE DATABASE x", agent).0, 403);
    }

    // A wrong setting stops the start, naming the variable.
    let log = dir.path().join("refused.log");
    let mut env = SERVICE_USERS.to_vec();
    env[5] = ("INFLUX_RS_USERS_0_GRANTS", "telegraf=OWNER");
    let bind = format!("127.0.0.1:{}", free_port());
    let other = dir.path().join("other");
    let mut refused = Daemon::spawn(
        "influx-rs",
        &["--bind", &bind, "--data-dir", &other.to_string_lossy()],
        &env,
        &log,
    );
    assert!(wait_until(Duration::from_secs(20), || !refused.running()));
    let text = refused.log();
    assert!(
        text.contains("INFLUX_RS_USERS_0_GRANTS") && text.contains("OWNER"),
        "{text}"
    );
}

/// The peak resident memory of process `pid`, in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_agent_listener_bounds_lines_and_its_error_log() {
    let dir = tempfile::tempdir().unwrap();
    let store_port = free_port();
    let store = Store::start(&dir.path().join("store"), store_port);
    let listen = free_port();
    let config = format!(
        "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n\n[[outputs.influxdb]]\n  urls = [\"http://127.0.0.1:{store_port}\"]\n  database = \"telegraf\"\n\n[[inputs.socket_listener]]\n  service_address = \"tcp://127.0.0.1:{listen}\"\n"
    );
    let path = dir.path().join("telegraf.conf");
    std::fs::write(&path, config).unwrap();
    let log = dir.path().join("agent.log");
    let agent = Daemon::spawn(
        "telegraf-rs",
        &[
            "--config",
            &path.to_string_lossy(),
            "--data-dir",
            &dir.path().join("agent").to_string_lossy(),
        ],
        &[("RUST_LOG", "info")],
        &log,
    );
    let address = format!("127.0.0.1:{listen}");
    assert!(
        wait_until(Duration::from_secs(20), || TcpStream::connect(&address)
            .is_ok()),
        "the listener did not open:\n{}",
        agent.log()
    );
    let pid = agent.pid().unwrap();
    let before = peak_rss_kib(pid);

    // 64 MiB without a newline, after one good line: the agent closes the connection past
    // 64 KiB (our writes then fail, which is the point) and keeps the good line.
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.write_all(b"kept,via=long v=1\n").unwrap();
    let block = vec![b'x'; 1 << 20];
    let mut sent = 0usize;
    for _ in 0..64 {
        match stream.write_all(&block) {
            Ok(()) => sent += block.len(),
            Err(_) => break,
        }
    }
    drop(stream);
    // 20,000 bad lines, each 2 KiB, in one second: the log takes a few of them, cut.
    let mut stream = TcpStream::connect(&address).unwrap();
    let bad = format!("{}\n", "y".repeat(2048));
    for _ in 0..20_000 {
        if stream.write_all(bad.as_bytes()).is_err() {
            break;
        }
    }
    stream.write_all(b"kept,via=after v=2\n").unwrap();
    drop(stream);

    let arrived = wait_until(Duration::from_secs(20), || {
        let answer = store.query("telegraf", "SELECT count(v) FROM kept GROUP BY via");
        answer["results"][0]["series"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
    });
    assert!(arrived, "the good lines did not arrive:\n{}", agent.log());
    let grown = peak_rss_kib(pid).saturating_sub(before);
    let log_bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "socket_listener: {sent} bytes of one line accepted before the close, peak RSS grew {grown} KiB, log {log_bytes} bytes"
    );
    assert!(grown < 32 * 1024, "RSS grew {grown} KiB for a bounded line");
    assert!(
        log_bytes < 256 * 1024,
        "the parse-error log is not bounded: {log_bytes} bytes"
    );
}
