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

#[test]
fn mqtt_output_publishes_each_metric_to_mosquitto() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_sub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    let subscriber = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "telegraf/#",
            "-v",
            "-C",
            "2",
            "-W",
            "20",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
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
