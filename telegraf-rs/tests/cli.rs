//! The `telegraf-rs` binary as operators use it: `--test`, `--once`, `--print-config`, filters,
//! errors in broken files, SIGHUP reloads (a bad new file keeps the old configuration) and the
//! buffer limit while the store is unreachable.

mod common;

use common::{spawn, wait_for, Agent};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn run(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn test_mode_prints_sorted_line_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "t.conf", "[agent]\n  hostname = \"h1\"\n[[inputs.mem]]\n[[inputs.kernel]]\n  name_prefix = \"k_\"\n  [inputs.kernel.tags]\n    role = \"db\"\n");
    let out = run(&["--config", &conf, "--test"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mem = text
        .lines()
        .find(|l| l.starts_with("> mem,host=h1 "))
        .unwrap_or_else(|| panic!("{text}"));
    let fields: Vec<&str> = mem
        .split(' ')
        .nth(2)
        .unwrap()
        .split(',')
        .map(|f| f.split('=').next().unwrap())
        .collect();
    let mut sorted = fields.clone();
    sorted.sort();
    assert_eq!(fields, sorted);
    assert!(
        text.lines()
            .any(|l| l.starts_with("> k_kernel,host=h1,role=db ")),
        "{text}"
    );
    let only = run(
        &["--config", &conf, "--test", "--input-filter", "kernel"],
        dir.path(),
    );
    let text = String::from_utf8(only.stdout).unwrap();
    assert!(text.lines().all(|l| l.starts_with("> k_kernel")), "{text}");
}

#[test]
fn broken_files_fail_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "bad.conf",
        "[agent]\n  interval = \"10s\"\n\n[[inputs.cpu]]\n  percpu = \"yes\"\n",
    );
    let out = run(&["--config", &conf, "--test"], dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:5: inputs.cpu: percpu: "), "{err}");
    let none = run(
        &[
            "--config",
            &write(dir.path(), "empty.conf", "[agent]\n"),
            "--test",
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&none.stderr).contains("no inputs found"));
}

#[test]
fn print_config_shows_defaults_and_substitutions() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "p.conf",
        "[[inputs.cpu]]\n[[outputs.influxdb]]\n  urls = [\"${TG_URL}\"]\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .args(["--config", &conf, "--print-config"])
        .env("TG_URL", "http://store:8086")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("metric_buffer_limit = 10000"), "{text}");
    assert!(text.contains("totalcpu = true"), "{text}");
    assert!(text.contains("\"http://store:8086\""), "{text}");
}

#[test]
fn once_writes_to_the_outputs_and_fails_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.lp");
    let conf = write(
        dir.path(),
        "o.conf",
        &format!(
            "[[inputs.kernel]]\n[[outputs.file]]\n  files = [{:?}]\n",
            target.to_string_lossy()
        ),
    );
    let out = run(&["--config", &conf, "--once"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.starts_with("kernel,host="), "{written}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = write(dir.path(), "down.conf", &format!("[[inputs.kernel]]\n[[outputs.influxdb]]\n  urls = [\"http://127.0.0.1:{port}\"]\n  timeout = \"1s\"\n"));
    let out = run(&["--config", &conf, "--once"], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stay buffered"));
}

fn signal(agent: &Agent, sig: i32) {
    // SAFETY: kill(2) on our own running child.
    unsafe {
        libc::kill(agent.0.id() as i32, sig);
    }
}

#[test]
fn sighup_reloads_and_a_bad_file_keeps_the_running_config() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.lp");
    let config = |name: &str| {
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n[[inputs.kernel]]\n  name_override = \"{name}\"\n[[outputs.file]]\n  files = [{:?}]\n",
            target.to_string_lossy()
        )
    };
    let conf = write(dir.path(), "r.conf", &config("first"));
    let mut agent = spawn(&conf, dir.path());
    let seen = |prefix: &str| {
        std::fs::read_to_string(&target)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(prefix))
    };
    assert!(
        wait_for(Duration::from_secs(15), || seen("first,")),
        "no first metrics"
    );
    write(dir.path(), "r.conf", &config("second"));
    signal(&agent, libc::SIGHUP);
    assert!(
        wait_for(Duration::from_secs(15), || seen("second,")),
        "reload not applied"
    );

    write(dir.path(), "r.conf", "[[inputs.kernel]\n");
    signal(&agent, libc::SIGHUP);
    let log = || std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(10), || log()
            .contains("config reload failed")),
        "{}",
        log()
    );
    let count = |prefix: &str| {
        std::fs::read_to_string(&target)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(prefix))
            .count()
    };
    let before = count("second,");
    assert!(
        wait_for(Duration::from_secs(10), || count("second,") > before + 1),
        "the old configuration stopped running"
    );

    signal(&agent, libc::SIGTERM);
    let exited = wait_for(Duration::from_secs(10), || {
        matches!(agent.0.try_wait(), Ok(Some(_)))
    });
    assert!(
        exited && agent.0.try_wait().unwrap().unwrap().success(),
        "{}",
        log()
    );
}

#[test]
fn past_the_buffer_limit_the_oldest_metrics_are_dropped_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = write(
        dir.path(),
        "l.conf",
        &format!("[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n  metric_buffer_limit = 3\n[[inputs.kernel]]\n[[outputs.influxdb]]\n  urls = [\"http://127.0.0.1:{port}\"]\n  timeout = \"1s\"\n"),
    );
    let _agent = spawn(&conf, dir.path());
    let log = || std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(20), || log()
            .contains("Metric buffer overflow; 1 metrics have been dropped")),
        "{}",
        log()
    );
    let segments: u64 = walk(&dir.path().join("data/buffers"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(segments > 0);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn processors_and_aggregators_run_in_test_mode() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "p.conf",
        "[agent]\n  omit_hostname = true\n\
         [[inputs.exec]]\n  commands = [\"printf 'web,code=200 ms=10,state=\\\"ok\\\"\\\\nweb,code=500 ms=30,state=\\\"bad\\\"\\\\n'\"]\n  data_format = \"influx\"\n\
         [[processors.regex]]\n  order = 1\n  [[processors.regex.tags]]\n    key = \"code\"\n    pattern = \"^(\\\\d)\\\\d\\\\d$\"\n    replacement = \"${1}xx\"\n\
         [[processors.enum]]\n  order = 2\n  [[processors.enum.mapping]]\n    field = \"state\"\n    [processors.enum.mapping.value_mappings]\n      ok = 1\n      bad = 0\n\
         [[aggregators.minmax]]\n  drop_original = true\n  name_suffix = \"_range\"\n",
    );
    let out = run(&["--config", &conf, "--test"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // Without their timestamps (the aggregators' push time).
    let mut lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.rsplit_once(' ').map(|(line, _)| line))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "> web_range,code=2xx ms_max=10,ms_min=10,state_max=1,state_min=1",
            "> web_range,code=5xx ms_max=30,ms_min=30,state_max=0,state_min=0",
        ],
        "{text}"
    );
}

#[test]
fn an_aggregator_pushes_each_period_to_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.lp");
    let conf = write(
        dir.path(),
        "a.conf",
        &format!(
            "[agent]\n  interval = \"200ms\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.exec]]\n  commands = [\"echo load v=2\"]\n  data_format = \"influx\"\n\
             [[aggregators.basicstats]]\n  period = \"1s\"\n  delay = \"50ms\"\n  stats = [\"count\", \"mean\"]\n\
             [[outputs.file]]\n  files = [{out_file:?}]\n"
        ),
    );
    let _agent = spawn(&conf, dir.path());
    let pushed = wait_for(Duration::from_secs(15), || {
        std::fs::read_to_string(&out_file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("load v_count=") && l.contains("v_mean=2 "))
    });
    let text = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert!(pushed, "{text}");
    assert!(text.lines().any(|l| l.starts_with("load v=2 ")), "{text}");
}

#[test]
fn tail_resumes_where_it_stopped_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let out = dir.path().join("out.lp");
    std::fs::write(&log, "old v=0\n").unwrap();
    let conf = write(
        dir.path(),
        "tail.conf",
        &format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.tail]]\n  files = [{:?}]\n  path_tag = \"\"\n[[outputs.file]]\n  files = [{out:?}]\n",
            log.to_string_lossy()
        ),
    );
    let append = |text: &str| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    let written = || std::fs::read_to_string(&out).unwrap_or_default();
    let mut agent = spawn(&conf, dir.path());
    // The agent starts at the end of the file: what it sees is what comes after.
    let seen = wait_for(Duration::from_secs(15), || {
        append("probe v=1\n");
        std::thread::sleep(Duration::from_millis(300));
        written().contains("probe v=1")
    });
    assert!(
        seen,
        "{}",
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    append("line v=1\n");
    assert!(wait_for(Duration::from_secs(10), || written().contains("line v=1 ")));
    std::thread::sleep(Duration::from_millis(600));
    signal(&agent, libc::SIGKILL);
    let _ = agent.0.wait();
    append("line v=2\nline v=3\n");
    let _agent = spawn(&conf, dir.path());
    assert!(
        wait_for(Duration::from_secs(10), || written().contains("line v=3 ")),
        "{}",
        written()
    );
    let text = written();
    assert!(!text.contains("old v=0"), "{text}");
    for v in 1..=3 {
        let count = text
            .lines()
            .filter(|l| l.starts_with(&format!("line v={v} ")))
            .count();
        assert_eq!(count, 1, "line v={v} read {count} times:\n{text}");
    }
}

#[test]
fn json_v2_tables_under_an_input_configure_its_parser() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "readings.json",
        r#"{"device":{"id":"d7"},"ts":"2024-03-01T10:00:00Z","readings":[{"temp":20.5,"hum":41},{"temp":21,"hum":40}]}"#,
    );
    let conf = write(
        dir.path(),
        "t.conf",
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.file]]\n  files = [{data:?}]\n  \
             data_format = \"json_v2\"\n  [[inputs.file.json_v2]]\n    measurement_name = \"climate\"\n    \
             timestamp_path = \"ts\"\n    timestamp_format = \"2006-01-02T15:04:05Z07:00\"\n    \
             [[inputs.file.json_v2.tag]]\n      path = \"device.id\"\n      rename = \"device\"\n    \
             [[inputs.file.json_v2.object]]\n      path = \"readings\"\n      unknown_option = 1\n"
        ),
    );
    let out = run(&["--config", &conf, "--test"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("unknown_option"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "> climate,device=d7 hum=41,temp=20.5 1709287200000000000",
            "> climate,device=d7 hum=40,temp=21 1709287200000000000"
        ],
        "{stderr}"
    );
}

#[test]
fn xpath_tables_under_an_input_read_xml_as_telegrafs_readme_configures_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "example.xml",
        "<?xml version=\"1.0\"?>\n<Gateway>\n  <Name>Main Gateway</Name>\n  \
         <Timestamp>2020-08-01T15:04:03Z</Timestamp>\n  <Sequence>12</Sequence>\n  \
         <Status>ok</Status>\n</Gateway>\n",
    );
    // The "Basic Parsing" example of Telegraf's XPath parser, as written there.
    let conf = write(
        dir.path(),
        "t.conf",
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.file]]\n  files = [{data:?}]\n  \
             data_format = \"xml\"\n\n  [[inputs.file.xpath]]\n    [inputs.file.xpath.tags]\n      \
             gateway = \"substring-before(/Gateway/Name, ' ')\"\n\n    [inputs.file.xpath.fields_int]\n      \
             seqnr = \"/Gateway/Sequence\"\n\n    [inputs.file.xpath.fields]\n      \
             ok = \"/Gateway/Status = 'ok'\"\n"
        ),
    );
    let out = run(&["--config", &conf, "--test"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("> file,gateway=Main ok=true,seqnr=12i "),
        "{text}{stderr}"
    );
}

#[test]
fn grok_patterns_read_an_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "access.log",
        "192.168.1.10 - - [06/Dec/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n\
         not an access log line\n\
         192.168.1.11 - bob [06/Dec/2026:10:00:00 +0000] \"POST /api HTTP/1.1\" 503 - \"-\" \"python\"\n",
    );
    let conf = write(
        dir.path(),
        "t.conf",
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.file]]\n  files = [{log:?}]\n  \
             data_format = \"grok\"\n  grok_patterns = [\"%{{COMBINED_LOG_FORMAT}}\"]\n  \
             name_override = \"access\"\n"
        ),
    );
    let out = run(&["--config", &conf, "--test"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "the line that is no access log is skipped: {text}"
    );
    assert!(
        lines[0].starts_with("> access,resp_code=200,verb=GET "),
        "{text}"
    );
    assert!(lines[0].contains("resp_bytes=512i"), "{text}");
    assert!(lines[0].ends_with(" 1796551200000000000"), "{text}");
    assert!(
        lines[1].starts_with("> access,resp_code=503,verb=POST ")
            && lines[1].contains("auth=\"bob\"")
            && !lines[1].contains("resp_bytes"),
        "{text}"
    );
    assert!(
        lines[1].ends_with(" 1796551200001000000"),
        "the repeated second is moved on: {text}"
    );
}
