//! The stack as a user starts it: `deploy/compose.yml` on a real Docker engine, with the image
//! built by `deploy/compose.prebuilt.yml` from the static binaries `scripts/build-static` made
//! (no image can be pulled here; the override changes only how the image is built). The test
//! reaches the stack through the dashboard's port and the store's (`deploy/compose.ports.yml`),
//! published on free ports of 127.0.0.1, and an SMTP sink container of its own on the compose
//! network; everything it started is removed at the end, also when it fails.
//!
//! Without a Docker engine (or without the static binaries) it says SKIPPED; under `CI=true`
//! either is a failure.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tick_tests::compose::{docker, engine_unavailable, Compose};
use tick_tests::{
    alert_count_query, check_stack_is_live, free_port, repo_root, required, wait_until,
    DashboardClient, HOST_MEASUREMENTS, RULES_PATH,
};

/// Says why the test is skipped; under CI it fails instead.
fn skip(why: &str) {
    assert!(!required(), "compose test cannot run under CI: {why}");
    eprintln!("SKIPPED: compose test: {why}");
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The host name the agent reports from the host's `/etc/hostname` (`None`: the file is
/// missing, any host will do).
fn host_name() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The test's SMTP server: a container of its own image on the project's network, known
/// there as `smtp-sink`, storing each message in `mail_dir` as the test's own user.
struct SmtpSink {
    name: String,
    image: String,
    mail_dir: PathBuf,
}

impl SmtpSink {
    fn start(&self, compose: &Compose) {
        // SAFETY: getuid and getgid cannot fail.
        let user = unsafe { format!("{}:{}", libc::getuid(), libc::getgid()) };
        docker(&[
            "run",
            "-d",
            "--name",
            &self.name,
            "--network",
            &compose.network(),
            "--network-alias",
            "smtp-sink",
            "--user",
            &user,
            "-v",
            &format!("{}:/mail", self.mail_dir.display()),
            &self.image,
            "0.0.0.0:2525",
            "/mail",
        ])
        .unwrap_or_else(|e| panic!("starting the SMTP sink: {e}"));
    }

    fn remove(&self) {
        docker(&["rm", "-f", &self.name]).unwrap_or_else(|e| panic!("removing the sink: {e}"));
    }
}

const SERVICES: [&str; 4] = ["influxdb", "telegraf", "kapacitor", "chronograf"];

/// The store's API, published on loopback for the test.
struct Store(String);

impl Store {
    /// `POST /query` as `user`: the status and the body.
    fn query(&self, (user, password): (&str, &str), q: &str) -> (u16, String) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/query", self.0))
            .basic_auth(user, Some(password))
            .form(&[("q", q), ("db", "telegraf")])
            .send()
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    /// `POST /write?db=telegraf` as `user`: the status and the body.
    fn write(&self, (user, password): (&str, &str), lines: &str) -> (u16, String) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/write?db=telegraf", self.0))
            .basic_auth(user, Some(password))
            .body(lines.to_string())
            .send()
            .unwrap_or_else(|e| panic!("write: {e}"));
        (r.status().as_u16(), r.text().unwrap_or_default())
    }
}

/// The admin and the three daemons' users exist, and each daemon's user can do what its
/// daemon needs and nothing more.
fn check_least_privilege(store: &Store) {
    let admin = ("admin", "compose-secret");
    let (status, users) = store.query(admin, "SHOW USERS");
    assert_eq!(status, 200, "{users}");
    for row in [
        r#"["admin",true]"#,
        r#"["telegraf",false]"#,
        r#"["kapacitor",false]"#,
        r#"["chronograf",false]"#,
    ] {
        assert!(users.contains(row), "{row} missing: {users}");
    }
    let grants = |user: &str| store.query(admin, &format!("SHOW GRANTS FOR {user}")).1;
    assert!(grants("telegraf").contains(r#"["telegraf","WRITE"]"#));
    let k = grants("kapacitor");
    assert!(
        k.contains(r#"["telegraf","READ"]"#) && k.contains(r#"["chronograf","WRITE"]"#),
        "{k}"
    );
    let c = grants("chronograf");
    assert!(
        c.contains(r#"["telegraf","READ"]"#) && c.contains(r#"["chronograf","READ"]"#),
        "{c}"
    );
    let (_, subscriptions) = store.query(admin, "SHOW SUBSCRIPTIONS");
    assert!(
        subscriptions.contains("http://kapacitor:9092"),
        "{subscriptions}"
    );

    let agent = ("telegraf", "agent's secret");
    let alerting = ("kapacitor", "alerting\\secret");
    let dashboard = ("chronograf", "dashboard secret");
    let refused = [
        (agent, "SELECT * FROM cpu LIMIT 1"),
        (agent, "CREATE DATABASE x"),
        (alerting, "DROP DATABASE telegraf"),
        (
            alerting,
            "CREATE USER x WITH PASSWORD 'x' WITH ALL PRIVILEGES",
        ),
        (dashboard, "DROP MEASUREMENT cpu"),
        (dashboard, "SHOW USERS"),
    ];
    for (user, q) in refused {
        let (status, body) = store.query(user, q);
        assert_eq!(status, 403, "{} may run {q}: {body}", user.0);
    }
    for user in [alerting, dashboard] {
        let (status, body) = store.query(user, "SELECT * FROM cpu LIMIT 1");
        assert_eq!(status, 200, "{} cannot read: {body}", user.0);
        let (status, body) = store.write(user, "not_theirs value=1");
        assert_eq!(status, 403, "{} may write telegraf: {body}", user.0);
    }
}

#[test]
fn docker_compose_runs_the_whole_stack() {
    if let Some(why) = engine_unavailable() {
        return skip(&why);
    }
    let root = repo_root();
    let context = root.join("target/docker-prebuilt");
    let sink_binary = context.join("test/tick-smtp-sink");
    if !(context.join("Dockerfile").is_file() && sink_binary.is_file()) {
        return skip(&format!(
            "{} is not prepared: run scripts/build-static (scripts/test does)",
            context.display()
        ));
    }
    let started = Instant::now();
    let project = format!("tickrstest{}", std::process::id());
    let image = format!("tick-rs:{project}");
    let sink_image = format!("tick-smtp-sink:{project}");
    let port = free_port();
    let store_port = free_port();
    let mail_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let env = [
        ("TICK_RS_IMAGE", image.clone()),
        ("CHRONOGRAF_PUBLISH", format!("127.0.0.1:{port}")),
        ("SMTP_HOST", "smtp-sink".to_string()),
        ("SMTP_PORT", "2525".to_string()),
        ("ALERT_EMAIL_TO", "oncall@example.com".to_string()),
        // The whole stack under authentication: the admin and each daemon's own user are
        // created at the store's first start.
        ("INFLUXDB_AUTH_ENABLED", "true".to_string()),
        ("INFLUXDB_ADMIN_USER", "admin".to_string()),
        ("INFLUXDB_ADMIN_PASSWORD", "compose-secret".to_string()),
        ("INFLUXDB_TELEGRAF_PASSWORD", "agent's secret".to_string()),
        (
            "INFLUXDB_KAPACITOR_PASSWORD",
            "alerting\\secret".to_string(),
        ),
        (
            "INFLUXDB_CHRONOGRAF_PASSWORD",
            "dashboard secret".to_string(),
        ),
        ("INFLUXDB_PUBLISH", format!("127.0.0.1:{store_port}")),
        ("KAPACITOR_PUBLISH", format!("127.0.0.1:{}", free_port())),
    ];
    let compose_file = root.join("deploy/compose.yml");
    let prebuilt = root.join("deploy/compose.prebuilt.yml");
    let ports = root.join("deploy/compose.ports.yml");
    let Some(mut compose) = Compose::new(&project, &[&compose_file, &prebuilt, &ports], &env)
    else {
        return skip("neither `docker compose` nor `docker-compose` is installed");
    };
    compose.own_image(&image);
    eprintln!("compose test: {} project {project}", compose.tool());

    // The SMTP sink: its own image from scratch, on the compose network, writing each message
    // into a directory of the test (as the test's user, so it can be read and removed).
    let sink_context = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    std::fs::copy(&sink_binary, sink_context.path().join("tick-smtp-sink"))
        .unwrap_or_else(|e| panic!("copying the sink: {e}"));
    std::fs::write(
        sink_context.path().join("Dockerfile"),
        "FROM scratch\nCOPY tick-smtp-sink /tick-smtp-sink\nENTRYPOINT [\"/tick-smtp-sink\"]\n",
    )
    .unwrap_or_else(|e| panic!("sink Dockerfile: {e}"));
    compose.own_image(&sink_image);
    docker(&[
        "build",
        "-q",
        "-t",
        &sink_image,
        &sink_context.path().to_string_lossy(),
    ])
    .unwrap_or_else(|e| panic!("building the SMTP sink image: {e}"));

    // Up: the image is built from the static binaries, all four become healthy.
    compose.ok(&["build"]);
    compose.ok(&["up", "-d"]);
    let sink_name = format!("{project}-smtp-sink");
    compose.own_container(&sink_name);
    let sink = SmtpSink {
        name: sink_name,
        image: sink_image.clone(),
        mail_dir: mail_dir.path().to_path_buf(),
    };
    sink.start(&compose);
    compose.wait_healthy(&SERVICES, Duration::from_secs(120));
    eprintln!("compose test: healthy after {:?}", started.elapsed());

    let dash = DashboardClient::new(port);
    let store = Store(format!("http://127.0.0.1:{store_port}"));
    check_least_privilege(&store);
    // The dashboard's source reads as its own user: it sees its two databases only.
    let mut databases = dash.column("", "SHOW DATABASES", 0);
    databases.sort();
    assert_eq!(databases, ["chronograf", "telegraf"], "{databases:?}");

    // Within 60 s the store holds the host's metrics, tagged with the host's own name.
    let expected_host = host_name();
    let mut hosts = Vec::new();
    let metrics_arrived = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(900));
        hosts = dash.column(
            "telegraf",
            "SHOW TAG VALUES FROM \"system\" WITH KEY = \"host\"",
            1,
        );
        match &expected_host {
            Some(h) => dash.has_host_metrics(&HOST_MEASUREMENTS, h),
            None => !hosts.is_empty(),
        }
    });
    assert!(
        metrics_arrived,
        "cpu/mem/disk/system for host {expected_host:?} not in the store within 60 s (hosts seen: {hosts:?})\n{}",
        compose.logs()
    );
    let host = expected_host.unwrap_or_else(|| hosts[0].clone());
    eprintln!(
        "compose test: metrics of {host} after {:?}",
        started.elapsed()
    );

    // The dashboard lists the host, the daemons watch each other, alerting is live.
    check_stack_is_live(&dash, &host, "compose mem seen", mail_dir.path(), || {
        compose.logs()
    });
    let alerts = alert_count_query("compose mem seen");
    eprintln!("compose test: alert e-mailed after {:?}", started.elapsed());

    // A write acknowledged before `restart influxdb` is there after it.
    let (status, body) = store.write(
        ("telegraf", "agent's secret"),
        &format!("compose_marker,run={project} value=42i {}", now_ns()),
    );
    assert_eq!(status, 204, "{body}");
    let marker = format!("SELECT count(\"value\") FROM compose_marker WHERE \"run\" = '{project}'");
    let marker_kept = || {
        wait_until(Duration::from_secs(20), || {
            dash.count("telegraf", &marker) == 1
        })
    };
    compose.ok(&["restart", "influxdb"]);
    compose.wait_healthy(&["influxdb"], Duration::from_secs(60));
    assert!(marker_kept(), "acknowledged write lost across restart");

    // While the store is stopped the agent buffers; after it starts, the gap fills in.
    compose.ok(&["stop", "influxdb"]);
    let gap_start = now_ns();
    std::thread::sleep(Duration::from_secs(25));
    let gap_end = now_ns();
    compose.ok(&["start", "influxdb"]);
    compose.wait_healthy(&["influxdb"], Duration::from_secs(60));
    let gap = format!("SELECT count(usage_idle) FROM cpu WHERE \"cpu\" = 'cpu-total' AND time >= {gap_start} AND time <= {gap_end}");
    let filled = wait_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(900));
        dash.count("telegraf", &gap) >= 2
    });
    assert!(
        filled,
        "the agent's buffered metrics of the outage did not arrive ({} points)\n{}",
        dash.count("telegraf", &gap),
        compose.logs()
    );
    eprintln!(
        "compose test: outage filled in after {:?}",
        started.elapsed()
    );

    // `down` then `up` keeps every volume: points, alert history, tasks and dashboards.
    let (status, _) = dash.post_json(
        "/chronograf/v1/dashboards",
        &serde_json::json!({ "name": "compose survives" }),
    );
    assert_eq!(status, 201);
    let gap_points = dash.count("telegraf", &gap);
    // The sink holds an endpoint on the project's network: off it while the network goes.
    sink.remove();
    compose.ok(&["down"]);
    compose.ok(&["up", "-d"]);
    sink.start(&compose);
    compose.wait_healthy(&SERVICES, Duration::from_secs(120));
    assert!(marker_kept(), "the marker did not survive down/up");
    assert_eq!(dash.count("telegraf", &gap), gap_points);
    assert!(dash.count("chronograf", &alerts) > 0);
    let rules = dash.text(RULES_PATH);
    assert!(
        rules.contains("compose mem seen"),
        "the rule's task did not survive: {rules}"
    );
    let dashboards = dash.text("/chronograf/v1/dashboards");
    assert!(
        dashboards.contains("compose survives"),
        "the dashboard did not survive: {dashboards}"
    );
    eprintln!("compose test: done in {:?}", started.elapsed());
}
