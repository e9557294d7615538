//! Inputs of the network: `ping` on the loopback (the binary and native ICMP) and collectd's
//! binary protocol, sent by a real collectd (Debian's `collectd-core`) to a `socket_listener`.

mod common;

use common::{field_of, free_port, installed, line_of, tag_of, test_run};
use std::process::Command;

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

/// Runs the agent with a collectd `socket_listener` (`options` added to it) and collectd
/// sending `load` and `memory` to it through a `<Server>` block holding `server`; the agent's
/// output once both arrived, or a panic with both logs.
fn collectd_to_agent(options: &str, server: &str) -> String {
    let collectd = installed("collectd").expect("collectd");
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
             data_format = \"collectd\"\n  collectd_typesdb = [{types_db:?}]\n{options}\n\
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
             <Plugin network>\n  <Server \"127.0.0.1\" \"{port}\">\n{server}\n  </Server>\n</Plugin>\n",
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
        "{}\n{}\n{}",
        text(),
        std::fs::read_to_string(dir.path().join("collectd.log")).unwrap_or_default(),
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    text()
}

#[test]
fn collectd_sends_to_a_socket_listener_in_its_binary_protocol() {
    if installed("collectd").is_none() {
        return;
    }
    let lines = collectd_to_agent("", "");
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
fn collectd_signs_and_encrypts_with_the_agents_auth_file() {
    if installed("collectd").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("collectd.auth");
    std::fs::write(&auth, "alice: w0nderl4nd\n").unwrap();
    for (level, collectd_level) in [("sign", "Sign"), ("encrypt", "Encrypt")] {
        let lines = collectd_to_agent(
            &format!("  collectd_security_level = {level:?}\n  collectd_auth_file = {auth:?}"),
            &format!(
                "    SecurityLevel {collectd_level}\n    Username \"alice\"\n    Password \"w0nderl4nd\""
            ),
        );
        let load = lines
            .lines()
            .find(|l| l.starts_with("load_shortterm,"))
            .unwrap_or_else(|| panic!("{level}: {lines}"));
        assert_eq!(
            tag_of(load, "host").as_deref(),
            Some("tick-collectd"),
            "{level}"
        );
    }
}
