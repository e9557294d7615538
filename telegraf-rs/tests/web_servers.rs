//! Web-server and proxy inputs against the real servers (Debian's packages, installed by
//! `.ci/run`), each started by the test on loopback with temporary files: nginx `stub_status`,
//! Apache `server-status?auto`, HAProxy's `show stat`; the values checked against what the
//! server reports of itself.

mod common;

use common::{field_of, free_port, installed, line_of, start, tag_of, test_run};
use std::process::Command;

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
