//! Service inputs against the real servers (Debian's packages, installed by `.ci/run`),
//! each started by the test on loopback with temporary data, and the values checked against
//! what the server reports of itself.

mod common;

use common::{field_of, free_port, installed, line_of, start, tag_of, test_run};
use std::process::Command;

/// What `redis-cli` answers on `port`.
fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `key` in an `INFO` answer.
fn info_value(info: &str, key: &str) -> String {
    info.lines()
        .find_map(|l| l.trim_end().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {info}"))
        .to_string()
}

#[test]
fn redis_reports_what_info_says() {
    let Some(redis) = installed("redis-server") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_text = port.to_string();
    let data = dir.path().to_string_lossy().into_owned();
    let _server = start(
        &redis,
        &[
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--dir",
            &data,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        &dir.path().join("redis.log"),
        port,
    );
    redis_cli(port, &["SET", "a", "1"]);
    redis_cli(port, &["SET", "b", "2", "EX", "1000"]);
    redis_cli(port, &["GET", "a"]);
    redis_cli(port, &["GET", "missing"]);
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.redis]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n\
             [[inputs.redis.commands]]\n    command = [\"get\", \"a\"]\n    field = \"a_value\"\n    type = \"integer\"\n"
        ),
    );
    let info = redis_cli(port, &["INFO", "ALL"]);
    let main = line_of(&lines, "redis");
    assert_eq!(tag_of(main, "server").as_deref(), Some("127.0.0.1"));
    assert_eq!(tag_of(main, "port"), Some(port_text.clone()));
    assert_eq!(tag_of(main, "replication_role").as_deref(), Some("master"));
    assert_eq!(
        field_of(main, "redis_version"),
        Some(format!("\"{}\"", info_value(&info, "redis_version")))
    );
    assert_eq!(field_of(main, "keyspace_hits").as_deref(), Some("1i"));
    assert_eq!(field_of(main, "keyspace_misses").as_deref(), Some("1i"));
    assert_eq!(field_of(main, "keyspace_hitrate").as_deref(), Some("0.5"));
    assert_eq!(
        field_of(main, "maxmemory"),
        Some(format!("{}i", info_value(&info, "maxmemory")))
    );
    let uptime: i64 = info_value(&info, "uptime_in_seconds").parse().unwrap();
    let ours: i64 = field_of(main, "uptime")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    assert!((uptime - ours).abs() <= 2, "{uptime} vs {ours}");
    let keyspace = line_of(&lines, "redis_keyspace");
    let db0 = info_value(&info, "db0");
    assert_eq!(tag_of(keyspace, "database").as_deref(), Some("db0"));
    assert!(db0.starts_with("keys=2,expires=1,"), "{db0}");
    assert_eq!(field_of(keyspace, "keys").as_deref(), Some("2i"));
    assert_eq!(field_of(keyspace, "expires").as_deref(), Some("1i"));
    let set = lines
        .iter()
        .find(|l| l.starts_with("redis_cmdstat,") && tag_of(l, "command").as_deref() == Some("set"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(field_of(set, "calls").as_deref(), Some("2i"));
    let commands = line_of(&lines, "redis_commands");
    assert_eq!(field_of(commands, "a_value").as_deref(), Some("1i"));
}

#[test]
fn redis_that_is_down_is_an_error_naming_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("telegraf.conf");
    std::fs::write(
        &path,
        format!("[[inputs.redis]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n  timeout = \"2s\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .args(["--test", "--config"])
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("tcp://127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// `stats` as memcached answers it on `port`: name → value.
fn memcached_stats(port: u16) -> std::collections::HashMap<String, String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"stats\r\n").unwrap();
    let mut stats = std::collections::HashMap::new();
    for line in BufReader::new(stream).lines().take(500) {
        let line = line.unwrap();
        if line.trim_end() == "END" {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["STAT", name, value] = words[..] {
            stats.insert(name.to_string(), value.to_string());
        }
    }
    stats
}

#[test]
fn memcached_reports_what_stats_says() {
    let Some(memcached) = installed("memcached") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_text = port.to_string();
    let _server = start(
        &memcached,
        &[
            "-l",
            "127.0.0.1",
            "-p",
            &port_text,
            "-U",
            "0",
            "-u",
            "root",
            "-m",
            "16",
        ],
        &dir.path().join("memcached.log"),
        port,
    );
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"set k 0 0 1\r\nv\r\nget k\r\nget nope\r\n")
            .unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
    }
    let lines = test_run(
        dir.path(),
        &format!("[agent]\n  omit_hostname = true\n[[inputs.memcached]]\n  servers = [\"127.0.0.1:{port}\"]\n"),
    );
    let stats = memcached_stats(port);
    let line = line_of(&lines, "memcached");
    assert_eq!(tag_of(line, "server"), Some(format!("127.0.0.1:{port}")));
    for key in [
        "curr_items",
        "total_items",
        "cmd_set",
        "limit_maxbytes",
        "threads",
        "evictions",
    ] {
        assert_eq!(
            field_of(line, key),
            Some(format!("{}i", stats[key])),
            "{key}: {line}"
        );
    }
    let ours: i64 = field_of(line, "total_connections")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    let theirs: i64 = stats["total_connections"].parse().unwrap();
    assert_eq!(theirs, ours + 1, "our own stats connection came after");
}

/// A minimal nginx configuration serving `stub_status` at `/status` on `port`.
fn nginx_conf(dir: &std::path::Path, port: u16) -> String {
    let d = dir.display();
    format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nworker_processes 1;\nevents {{}}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n    location /status {{ stub_status; }}\n  }}\n}}\n"
    )
}

/// The numbers of the stub_status page at `url`, fetched now.
fn stub_status(url: &str) -> Vec<i64> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            url,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

#[test]
fn nginx_reports_what_stub_status_says() {
    let Some(nginx) = installed("nginx") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), port)).unwrap();
    let error_log = dir.path().join("early-error.log");
    let _server = start(
        &nginx,
        &[
            "-c",
            &conf.to_string_lossy(),
            "-p",
            &dir.path().to_string_lossy(),
            "-e",
            &error_log.to_string_lossy(),
            "-g",
            "daemon off;",
        ],
        &dir.path().join("nginx.out"),
        port,
    );
    let url = format!("http://127.0.0.1:{port}/status");
    let lines = test_run(
        dir.path(),
        &format!("[agent]\n  omit_hostname = true\n[[inputs.nginx]]\n  urls = [\"{url}\"]\n"),
    );
    let after = stub_status(&url);
    let line = line_of(&lines, "nginx");
    assert_eq!(tag_of(line, "server").as_deref(), Some("127.0.0.1"));
    assert_eq!(tag_of(line, "port"), Some(port.to_string()));
    let ours = |key: &str| -> i64 {
        field_of(line, key)
            .unwrap()
            .trim_end_matches('i')
            .parse()
            .unwrap()
    };
    // after = [active, accepts, handled, requests, reading, writing, waiting]; our fetch
    // came first, the test's own one after it.
    assert_eq!(after.len(), 7, "{after:?}");
    assert_eq!(after[1], ours("accepts") + 1);
    assert_eq!(after[2], ours("handled") + 1);
    assert_eq!(after[3], ours("requests") + 1);
    assert_eq!(
        ours("writing"),
        1,
        "our own request was being written: {line}"
    );
}

/// Starts Mosquitto on a free loopback port with its files in `dir`: the broker and its port.
fn start_mosquitto(mosquitto: &std::path::Path, dir: &std::path::Path) -> (common::Service, u16) {
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let broker = start(
        mosquitto,
        &["-c", &conf.to_string_lossy()],
        &dir.join("mosquitto.log"),
        port,
    );
    (broker, port)
}

/// Publishes `payload` on `topic` with QoS 1 through `mosquitto_pub`.
fn publish(port: u16, topic: &str, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "mosquitto_pub failed");
}

#[test]
fn mqtt_consumer_reads_json_readings_from_mosquitto() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_pub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    let out = dir.path().join("out.lp");
    let conf = dir.path().join("agent.conf");
    std::fs::write(
        &conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.mqtt_consumer]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n  topics = [\"sensors/#\"]\n  qos = 1\n\
             data_format = \"json\"\n  tag_keys = [\"device\"]\n  json_string_fields = [\"state\"]\n\
             [[inputs.mqtt_consumer.topic_parsing]]\n    topic = \"sensors/+/+\"\n    tags = \"_/room/_\"\n    measurement = \"_/_/measurement\"\n\
             [[outputs.file]]\n  files = [{out:?}]\n"
        ),
    )
    .unwrap();
    let _agent = common::spawn(&conf.to_string_lossy(), dir.path());
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    // Until the agent has subscribed, messages published are not for it: probe until one lands.
    let subscribed = common::wait_for(std::time::Duration::from_secs(15), || {
        publish(port, "sensors/probe/probe", "{\"v\": 1}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        text().contains("probe,")
    });
    assert!(
        subscribed,
        "{}",
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    publish(
        port,
        "sensors/kitchen/climate",
        "{\"device\": \"d1\", \"temperature\": 21.5, \"humidity\": 40, \"state\": \"ok\"}",
    );
    publish(port, "sensors/kitchen/climate", "{not json");
    publish(
        port,
        "sensors/attic/climate",
        "[{\"device\": \"d2\", \"temperature\": 30}]",
    );
    let arrived = common::wait_for(std::time::Duration::from_secs(10), || {
        let t = text();
        t.contains("room=attic") && t.contains("room=kitchen")
    });
    let lines = text();
    assert!(arrived, "{lines}");
    let kitchen = lines.lines().find(|l| l.contains("room=kitchen")).unwrap();
    assert!(
        kitchen.starts_with("climate,device=d1,room=kitchen,topic=sensors/kitchen/climate "),
        "{kitchen}"
    );
    assert!(
        kitchen.contains("temperature=21.5")
            && kitchen.contains("humidity=40")
            && kitchen.contains("state=\"ok\""),
        "{kitchen}"
    );
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(
        log.contains("message on \"sensors/kitchen/climate\" dropped"),
        "{log}"
    );
}

/// `mosquitto_sub -v` on 127.0.0.1:`port` with `args` (topic, count, TLS), giving up after
/// 20 s; started half a second before it returns, so that it has subscribed.
fn subscribe(port: u16, args: &[&str]) -> std::process::Child {
    let child = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-v", "-W", "20"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
}

#[test]
fn mqtt_output_publishes_each_metric_to_mosquitto() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_sub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    let subscriber = subscribe(port, &["-t", "telegraf/#", "-C", "2"]);
    let conf = dir.path().join("agent.conf");
    std::fs::write(
        &conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  hostname = \"h1\"\n\
             [[inputs.exec]]\n  commands = [\"echo room,site=lab temp=21.5\"]\n  data_format = \"influx\"\n\
             [[outputs.mqtt]]\n  servers = [\"127.0.0.1:{port}\"]\n  qos = 1\n  data_format = \"json\"\n"
        ),
    )
    .unwrap();
    let _agent = common::spawn(&conf.to_string_lossy(), dir.path());
    // mosquitto_sub exits after two messages or 20 s (`-C 2 -W 20`).
    let out = subscriber.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_else(|| {
        panic!(
            "nothing published: {}",
            std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
        )
    });
    let (topic, payload) = first.split_once(' ').unwrap();
    assert_eq!(topic, "telegraf/h1/room");
    let json: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(json["fields"]["temp"], 21.5);
    assert_eq!(json["tags"]["site"], "lab");
}

/// What `url` answers now (fetched by Python, so the agent's client is not involved).
fn fetch(url: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            url,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A minimal Apache configuration (event MPM, `mod_status` at `/server-status`) on `port`.
fn apache_conf(dir: &std::path::Path, port: u16) -> String {
    let d = dir.display();
    let m = "/usr/lib/apache2/modules";
    format!(
        "ServerName 127.0.0.1\nListen 127.0.0.1:{port}\nPidFile {d}/apache.pid\n\
         ErrorLog {d}/error.log\nDefaultRuntimeDir {d}\nMutex file:{d} default\n\
         LoadModule mpm_event_module {m}/mod_mpm_event.so\n\
         LoadModule authz_core_module {m}/mod_authz_core.so\n\
         LoadModule status_module {m}/mod_status.so\nExtendedStatus On\n\
         <Location /server-status>\n  SetHandler server-status\n</Location>\n"
    )
}

/// The value of `key` on a `server-status?auto` page.
fn auto_value(page: &str, key: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {page}"))
}

#[test]
fn apache_reports_what_server_status_says() {
    let Some(apache) = installed("apache2") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("apache.conf");
    std::fs::write(&conf, apache_conf(dir.path(), port)).unwrap();
    let _server = start(
        &apache,
        &[
            "-f",
            &conf.to_string_lossy(),
            "-d",
            &dir.path().to_string_lossy(),
            "-DFOREGROUND",
        ],
        &dir.path().join("apache.out"),
        port,
    );
    let url = format!("http://127.0.0.1:{port}/server-status?auto");
    // Two requests of the test's own first, so that the counters are not all zero.
    fetch(&url);
    fetch(&url);
    let lines = test_run(
        dir.path(),
        &format!("[agent]\n  omit_hostname = true\n[[inputs.apache]]\n  urls = [\"{url}\"]\n"),
    );
    let after = fetch(&url);
    let line = line_of(&lines, "apache");
    assert_eq!(tag_of(line, "server").as_deref(), Some("127.0.0.1"));
    assert_eq!(tag_of(line, "port"), Some(port.to_string()));
    let ours = |key: &str| -> f64 {
        field_of(line, key)
            .unwrap_or_else(|| panic!("no {key} in {line}"))
            .parse()
            .unwrap()
    };
    // The agent's request was the third; the test's fetch after it sees it counted.
    assert_eq!(ours("TotalAccesses"), 2.0, "{line}");
    assert_eq!(auto_value(&after, "Total Accesses"), 3.0, "{after}");
    assert!(ours("scboard_sending") >= 1.0, "our own request: {line}");
    let slots: f64 = [
        "waiting",
        "starting",
        "reading",
        "sending",
        "keepalive",
        "dnslookup",
        "closing",
        "logging",
        "finishing",
        "idle_cleanup",
        "open",
    ]
    .iter()
    .map(|s| ours(&format!("scboard_{s}")))
    .sum();
    let scoreboard = after
        .lines()
        .find_map(|l| l.strip_prefix("Scoreboard: "))
        .unwrap();
    assert_eq!(
        slots as usize,
        scoreboard.trim().len(),
        "every slot counted"
    );
    assert_eq!(ours("BusyWorkers"), auto_value(&after, "BusyWorkers"));
    assert!(ours("ServerUptimeSeconds") <= auto_value(&after, "ServerUptimeSeconds"));
}

/// A HAProxy configuration: the stats page on `port`, the runtime API at `dir/admin.sock`,
/// and a frontend `web` on `web_port` whose backend `app` has one server, `s1`, that is down.
fn haproxy_conf(dir: &std::path::Path, port: u16, web_port: u16, down_port: u16) -> String {
    let d = dir.display();
    format!(
        "global\n  stats socket {d}/admin.sock mode 600 level admin\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
         frontend stats\n  bind 127.0.0.1:{port}\n  stats enable\n  stats uri /haproxy?stats\n\
         frontend web\n  bind 127.0.0.1:{web_port}\n  default_backend app\n\
         backend app\n  server s1 127.0.0.1:{down_port} check inter 200ms\n"
    )
}

/// HAProxy's own `show stat`, asked on its runtime API.
fn show_stat(socket: &std::path::Path) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.write_all(b"show stat\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

/// The text of string field `key` in one line (these may hold spaces: `last_chk`).
fn string_field(line: &str, key: &str) -> String {
    let start = [format!(" {key}=\""), format!(",{key}=\"")]
        .iter()
        .find_map(|p| line.find(p.as_str()).map(|at| at + p.len()))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    line[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn haproxy_reports_what_show_stat_says() {
    let Some(haproxy) = installed("haproxy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (port, web_port, down_port) = (free_port(), free_port(), free_port());
    let conf = dir.path().join("haproxy.cfg");
    std::fs::write(&conf, haproxy_conf(dir.path(), port, web_port, down_port)).unwrap();
    let _server = start(
        &haproxy,
        &["-db", "-f", &conf.to_string_lossy()],
        &dir.path().join("haproxy.out"),
        port,
    );
    let socket = dir.path().join("admin.sock");
    assert!(common::wait_for(
        std::time::Duration::from_secs(10),
        || show_stat(&socket).contains("app,s1,") && show_stat(&socket).contains(",DOWN,")
    ));
    // Three requests to the web frontend (answered 503: its only server is down).
    for _ in 0..3 {
        fetch(&format!("http://127.0.0.1:{web_port}/"));
    }
    let page = format!("http://127.0.0.1:{port}/haproxy?stats");
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.haproxy]]\n  servers = [\"socket:{}\", \"{page}\"]\n",
            socket.display()
        ),
    );
    let theirs = show_stat(&socket);
    let row = |proxy: &str, sv: &str| -> std::collections::HashMap<String, String> {
        let header: Vec<&str> = theirs.lines().next().unwrap()[2..].split(',').collect();
        let line = theirs
            .lines()
            .find(|l| l.starts_with(&format!("{proxy},{sv},")))
            .unwrap();
        header
            .iter()
            .zip(line.split(','))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let ours = |server: &str, proxy: &str, sv: &str| -> &str {
        lines
            .iter()
            .find(|l| {
                l.starts_with("haproxy,")
                    && tag_of(l, "server").as_deref() == Some(server)
                    && tag_of(l, "proxy").as_deref() == Some(proxy)
                    && tag_of(l, "sv").as_deref() == Some(sv)
            })
            .unwrap_or_else(|| panic!("no {server} {proxy}/{sv} in {lines:#?}"))
    };
    let socket_name = socket.to_string_lossy();
    let web = ours(&socket_name, "web", "FRONTEND");
    assert_eq!(tag_of(web, "type").as_deref(), Some("frontend"));
    let front = row("web", "FRONTEND");
    assert_eq!(field_of(web, "stot"), Some(format!("{}i", front["stot"])));
    assert_eq!(front["stot"], "3");
    assert_eq!(
        field_of(web, "http_response.5xx"),
        Some(format!("{}i", front["hrsp_5xx"]))
    );
    let s1 = ours(&socket_name, "app", "s1");
    assert_eq!(tag_of(s1, "type").as_deref(), Some("server"));
    assert_eq!(string_field(s1, "status"), "DOWN");
    // A check runs every 200 ms: HAProxy marks one in progress with "* ", which may differ
    // between the agent's read and the test's.
    let settled = |s: &str| s.trim_start_matches("* ").to_string();
    assert_eq!(
        settled(&string_field(s1, "check_status")),
        settled(&row("app", "s1")["check_status"])
    );
    // While a check runs, HAProxy leaves `last_chk` empty, and empty cells are left out.
    if let Some(last) = field_of(s1, "last_chk") {
        assert!(last.len() > 2, "{s1}");
    }
    // The stats page gives the same proxies, tagged with its host:port.
    let by_page = ours(&format!("127.0.0.1:{port}"), "web", "FRONTEND");
    assert_eq!(field_of(by_page, "stot"), Some("3i".into()));
}

/// A PostgreSQL program of Debian's package (`/usr/lib/postgresql/<version>/bin/<name>`).
fn postgres_program(name: &str) -> Option<std::path::PathBuf> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|v| v.path().join("bin").join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("{name} of PostgreSQL is not installed (.ci/run installs it): test skipped");
    }
    found
}

/// `program` with `args`, as the `postgres` user when this runs as root (PostgreSQL refuses
/// to run as root); `setpriv` execs it, so its PID is the server's.
fn as_postgres(program: &std::path::Path, args: &[&str]) -> (std::path::PathBuf, Vec<String>) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let args = args.iter().map(|a| a.to_string()).collect();
        return (program.to_path_buf(), args);
    }
    let mut all: Vec<String> = [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    all.push(program.to_string_lossy().into_owned());
    all.extend(args.iter().map(|a| a.to_string()));
    (std::path::PathBuf::from("setpriv"), all)
}

#[test]
fn postgresql_reports_what_pg_stat_database_says() {
    let (Some(initdb), Some(postgres), Some(psql)) = (
        postgres_program("initdb"),
        postgres_program("postgres"),
        postgres_program("psql"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let uid = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
    }
    let data = dir.path().join("data");
    let (program, args) = as_postgres(
        &initdb,
        &[
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
    );
    let init = Command::new(program).args(&args).output().unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let (program, args) = as_postgres(
        &postgres,
        &[
            "-D",
            &data.to_string_lossy(),
            "-k",
            &dir.path().to_string_lossy(),
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = start(&program, &args, &dir.path().join("postgres.log"), port);
    let sql = |db: &str, statement: &str| -> String {
        let out = Command::new(&psql)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", db, "-At", "-c", statement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    sql("postgres", "CREATE DATABASE tick");
    sql(
        "tick",
        "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 42)",
    );
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.postgresql]]\n  \
             address = \"postgres://postgres:secret@127.0.0.1:{port}/postgres?sslmode=disable\"\n  \
             outputaddress = \"pg-test\"\n  databases = [\"tick\"]\n"
        ),
    );
    let theirs = sql(
        "postgres",
        "SELECT datid, tup_inserted, numbackends FROM pg_stat_database WHERE datname = 'tick'",
    );
    let theirs: Vec<&str> = theirs.split('|').collect();
    let tick = lines
        .iter()
        .find(|l| tag_of(l, "db").as_deref() == Some("tick"))
        .unwrap_or_else(|| panic!("no db=tick in {lines:#?}"));
    assert_eq!(tag_of(tick, "server").as_deref(), Some("pg-test"));
    assert_eq!(field_of(tick, "datid"), Some(format!("{}i", theirs[0])));
    assert_eq!(
        field_of(tick, "tup_inserted"),
        Some(format!("{}i", theirs[1]))
    );
    assert!(theirs[1].parse::<i64>().unwrap() >= 42, "{theirs:?}");
    assert_eq!(field_of(tick, "datname").as_deref(), Some("\"tick\""));
    assert_eq!(field_of(tick, "stats_reset"), None);
    assert!(
        lines
            .iter()
            .all(|l| tag_of(l, "db").as_deref() != Some("template1")),
        "only the databases asked for: {lines:#?}"
    );
    let bgwriter = lines
        .iter()
        .find(|l| field_of(l, "buffers_clean").is_some())
        .unwrap_or_else(|| panic!("no pg_stat_bgwriter row in {lines:#?}"));
    assert_eq!(tag_of(bgwriter, "db").as_deref(), Some("postgres"));
}

#[test]
fn ping_measures_the_loopback_with_the_binary_and_natively() {
    let Some(ping) = installed("ping") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.ping]]\n  urls = [\"127.0.0.1\"]\n  count = 3\n  \
             ping_interval = 0.2\n  binary = {:?}\n  name_suffix = \"_exec\"\n\
             [[inputs.ping]]\n  urls = [\"127.0.0.1\"]\n  method = \"native\"\n  count = 3\n  \
             ping_interval = 0.2\n  percentiles = [50, 99]\n  name_suffix = \"_native\"\n",
            ping.to_string_lossy()
        ),
    );
    for kind in ["exec", "native"] {
        let line = line_of(&lines, &format!("ping_{kind}"));
        assert_eq!(tag_of(line, "url").as_deref(), Some("127.0.0.1"), "{line}");
        assert_eq!(
            field_of(line, "packets_transmitted").as_deref(),
            Some("3i"),
            "{line}"
        );
        assert_eq!(
            field_of(line, "packets_received").as_deref(),
            Some("3i"),
            "{line}"
        );
        assert_eq!(
            field_of(line, "percent_packet_loss").as_deref(),
            Some("0"),
            "{line}"
        );
        assert_eq!(
            field_of(line, "result_code").as_deref(),
            Some("0i"),
            "{line}"
        );
        let avg: f64 = field_of(line, "average_response_ms")
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..100.0).contains(&avg), "{line}");
    }
    let native = line_of(&lines, "ping_native");
    assert!(field_of(native, "percentile99_ms").is_some(), "{native}");

    // An unknown host: result_code 1 in the metric, and an error naming the host.
    let conf = dir.path().join("unknown.conf");
    std::fs::write(
        &conf,
        "[agent]\n  omit_hostname = true\n[[inputs.ping]]\n  urls = [\"no-such-host.invalid\"]\n  \
         method = \"native\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .args(["--config", &conf.to_string_lossy(), "--test", "--data-dir"])
        .arg(dir.path().join("data2"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("ping,url=no-such-host.invalid result_code=1i"),
        "{stdout}"
    );
    assert!(
        stderr.contains("no-such-host.invalid: unknown host"),
        "{stderr}"
    );
}

#[test]
fn mysql_reports_what_show_global_status_says() {
    let (Some(mariadbd), Some(install_db), Some(client)) = (
        installed("mariadbd"),
        installed("mariadb-install-db"),
        installed("mariadb"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let socket = dir.path().join("mysqld.sock");
    let init = Command::new(install_db)
        .args([
            &format!("--datadir={}", data.display()),
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let _server = start(
        &mariadbd,
        &[
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            &format!("--socket={}", socket.display()),
            &format!("--pid-file={}", dir.path().join("mysqld.pid").display()),
            "--bind-address=127.0.0.1",
            &format!("--port={port}"),
            "--user=root",
            "--skip-grant-tables",
            "--skip-log-bin",
        ],
        &dir.path().join("mariadb.log"),
        port,
    );
    let sql = |statement: &str| -> String {
        let out = Command::new(&client)
            .args([
                "--protocol=tcp",
                "-h",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-u",
                "root",
            ])
            .args(["-N", "-B", "-e", statement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let value = |text: String| text.split('\t').nth(1).unwrap_or_default().to_string();
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/\"]\n"
        ),
    );
    let connections = value(sql("SHOW GLOBAL STATUS LIKE 'Connections'"));
    let status = line_of(&lines, "mysql");
    assert_eq!(tag_of(status, "server"), Some(format!("127.0.0.1:{port}")));
    // The agent's connection came before the test's own.
    let ours: i64 = field_of(status, "connections")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    assert_eq!(ours + 1, connections.parse::<i64>().unwrap(), "{status}");
    assert!(
        field_of(status, "uptime").is_some_and(|u| u.ends_with('i')),
        "{status}"
    );
    let variables = line_of(&lines, "mysql_variables");
    let max_connections = value(sql("SHOW GLOBAL VARIABLES LIKE 'max_connections'"));
    assert_eq!(
        field_of(variables, "max_connections"),
        Some(format!("{max_connections}i"))
    );
    assert_eq!(
        field_of(variables, "port"),
        Some(format!("{port}i")),
        "{variables}"
    );
}

/// A certificate authority and a certificate for 127.0.0.1 it signed, made by `openssl` in
/// `dir`: the CA's, the server's and its key's paths.
fn test_certificates(dir: &std::path::Path) -> Option<[std::path::PathBuf; 3]> {
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

/// Mosquitto listening over TLS on 127.0.0.1 with a certificate from [`test_certificates`]:
/// the broker, its port and the CA's path; `None` when Mosquitto or openssl is missing.
fn start_tls_mosquitto(
    dir: &std::path::Path,
) -> Option<(common::Service, u16, std::path::PathBuf)> {
    let mosquitto = installed("mosquitto")?;
    let [ca, cert, key] = test_certificates(dir)?;
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    // `user root`: started as root, Mosquitto would read the key after dropping to its own
    // user, who may not read the test's directory.
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             user root\ncafile {}\ncertfile {}\nkeyfile {}\n",
            ca.display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let broker = start(
        &mosquitto,
        &["-c", &conf.to_string_lossy()],
        &dir.join("mosquitto.log"),
        port,
    );
    Some((broker, port, ca))
}

#[test]
fn mqtt_consumer_speaks_mqtt_5_over_tls_and_keeps_its_session() {
    if installed("mosquitto_pub").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port, ca)) = start_tls_mosquitto(dir.path()) else {
        return;
    };
    let publish_tls = |payload: &str| {
        let status = Command::new("mosquitto_pub")
            .args([
                "--cafile",
                &ca.to_string_lossy(),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args([
                "-V",
                "mqttv5",
                "-q",
                "1",
                "-t",
                "plant/line1",
                "-m",
                payload,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "mosquitto_pub over TLS failed");
    };
    let out = dir.path().join("out.lp");
    let agent_conf = dir.path().join("agent.conf");
    std::fs::write(
        &agent_conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.mqtt_consumer]]\n  servers = [\"ssl://127.0.0.1:{port}\"]\n  topics = [\"plant/#\"]\n  \
             protocol = \"5\"\n  qos = 1\n  persistent_session = true\n  client_id = \"tick-tls-test\"\n  \
             tls_ca = {:?}\n  data_format = \"influx\"\n\
             [[outputs.file]]\n  files = [{out:?}]\n",
            ca.to_string_lossy()
        ),
    )
    .unwrap();
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    let agent = common::spawn(&agent_conf.to_string_lossy(), dir.path());
    let subscribed = common::wait_for(std::time::Duration::from_secs(15), || {
        publish_tls("probe v=1i");
        std::thread::sleep(std::time::Duration::from_millis(200));
        text().contains("probe,")
    });
    let log = || std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(subscribed, "{}", log());
    assert!(log().contains("(MQTT 5)"), "{}", log());
    // Stopped, the agent's session lives on at the broker: what is published meanwhile
    // (QoS 1) is delivered when it comes back.
    drop(agent);
    publish_tls("while_away v=42i");
    let _agent = common::spawn(&agent_conf.to_string_lossy(), dir.path());
    let delivered = common::wait_for(std::time::Duration::from_secs(15), || {
        text().contains("while_away,")
    });
    assert!(delivered, "{}\n{}", text(), log());
    let line = text()
        .lines()
        .find(|l| l.starts_with("while_away,"))
        .unwrap()
        .to_string();
    assert_eq!(tag_of(&line, "topic").as_deref(), Some("plant/line1"));
    assert_eq!(field_of(&line, "v").as_deref(), Some("42i"));
}

#[test]
fn collectd_sends_to_a_socket_listener_in_its_binary_protocol() {
    let Some(collectd) = installed("collectd") else {
        return;
    };
    let types_db = std::path::Path::new("/usr/share/collectd/types.db");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = dir.path().join("out.lp");
    let agent_conf = dir.path().join("agent.conf");
    std::fs::write(
        &agent_conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.socket_listener]]\n  service_address = \"udp://127.0.0.1:{port}\"\n  \
             data_format = \"collectd\"\n  collectd_typesdb = [{types_db:?}]\n\
             [[outputs.file]]\n  files = [{out:?}]\n"
        ),
    )
    .unwrap();
    let _agent = common::spawn(&agent_conf.to_string_lossy(), dir.path());
    let conf = dir.path().join("collectd.conf");
    std::fs::write(
        &conf,
        format!(
            "Hostname \"tick-collectd\"\nFQDNLookup false\nInterval 1\nBaseDir \"{d}\"\n\
             PIDFile \"{d}/collectd.pid\"\nPluginDir \"/usr/lib/collectd\"\nTypesDB \"{}\"\n\
             LoadPlugin load\nLoadPlugin memory\nLoadPlugin network\n\
             <Plugin network>\n  Server \"127.0.0.1\" \"{port}\"\n</Plugin>\n",
            types_db.display(),
            d = dir.path().display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("collectd.log")).unwrap();
    let _collectd = common::Service(
        Command::new(collectd)
            .args(["-f", "-C", &conf.to_string_lossy()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    let arrived = common::wait_for(std::time::Duration::from_secs(20), || {
        text().contains("load_longterm,") && text().contains("memory_value,")
    });
    assert!(
        arrived,
        "{}\n{}",
        text(),
        std::fs::read_to_string(dir.path().join("collectd.log")).unwrap_or_default()
    );
    let lines = text();
    let load = lines
        .lines()
        .find(|l| l.starts_with("load_shortterm,"))
        .unwrap();
    assert_eq!(tag_of(load, "host").as_deref(), Some("tick-collectd"));
    assert_eq!(tag_of(load, "type").as_deref(), Some("load"));
    let shortterm: f64 = field_of(load, "value").unwrap().parse().unwrap();
    assert!((0.0..1000.0).contains(&shortterm), "{load}");
    let used = lines
        .lines()
        .find(|l| {
            l.starts_with("memory_value,") && tag_of(l, "type_instance").as_deref() == Some("used")
        })
        .unwrap_or_else(|| panic!("no used memory in {lines}"));
    let bytes: f64 = field_of(used, "value").unwrap().parse().unwrap();
    let total_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(bytes > 0.0 && bytes < total_kib * 1024.0, "{used}");
}

#[test]
fn mqtt_output_publishes_over_tls() {
    if installed("mosquitto_sub").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port, ca)) = start_tls_mosquitto(dir.path()) else {
        return;
    };
    let cafile = ca.to_string_lossy().into_owned();
    let subscriber = subscribe(port, &["--cafile", &cafile, "-t", "secure/#", "-C", "1"]);
    let conf = dir.path().join("agent.conf");
    std::fs::write(
        &conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  hostname = \"h1\"\n\
             [[inputs.exec]]\n  commands = [\"echo room temp=20.5\"]\n  data_format = \"influx\"\n\
             [[outputs.mqtt]]\n  servers = [\"ssl://127.0.0.1:{port}\"]\n  tls_ca = {:?}\n  \
             topic_prefix = \"secure\"\n  qos = 1\n",
            ca.to_string_lossy()
        ),
    )
    .unwrap();
    let _agent = common::spawn(&conf.to_string_lossy(), dir.path());
    let out = subscriber.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_else(|| {
        panic!(
            "nothing published over TLS: {}",
            std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
        )
    });
    assert!(
        first.starts_with("secure/h1/room room,host=h1 temp=20.5 "),
        "{first}"
    );
}
