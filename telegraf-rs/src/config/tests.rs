//! Loading whole files: Telegraf's samples, warnings and errors with their lines.

use super::*;
use crate::inputs::InputSettings;
use crate::outputs::OutputSettings;

fn env(name: &str) -> Option<String> {
    match name {
        "INFLUX_URL" => Some("http://db:8086".into()),
        "INTERVAL" => Some("5s".into()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    load_str("telegraf.conf", text, &env)
}

const SAMPLE: &str = r#"
# Global tags can be specified here in key="value" format.
[global_tags]
  dc = "us-east-1" # will tag all metrics with dc=us-east-1
  user = "${USER_NOT_SET}"

[agent]
  interval = "${INTERVAL}"
  round_interval = true
  metric_batch_size = 1000
  metric_buffer_limit = 10000
  collection_jitter = "0s"
  flush_interval = "10s"
  flush_jitter = "0s"
  precision = ""
  hostname = ""
  omit_hostname = false

[[outputs.influxdb]]
  urls = ["${INFLUX_URL}"]
  database = "telegraf"
  retention_policy = ""
  timeout = "5s"
  content_encoding = "gzip"

[[inputs.cpu]]
  percpu = true
  totalcpu = true
  collect_cpu_time = false
  report_active = false
  core_tags = false

[[inputs.disk]]
  ignore_fs = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"]

[[inputs.mem]]
[[inputs.system]]
[[inputs.mongodb]]
  servers = ["mongodb://127.0.0.1:27017"]

[[inputs.cpu]]
  percpu = false
  name_suffix = "_total"
  fieldpass = ["usage_*"]
  [inputs.cpu.tags]
    role = "db"
  [inputs.cpu.tagdrop]
    cpu = ["cpu1*"]
"#;

#[test]
fn telegraf_sample_loads_with_warnings_for_what_is_missing() {
    let c = load(SAMPLE).unwrap();
    assert_eq!(c.agent.interval, GoDuration::secs(5));
    assert_eq!(c.agent.flush_interval, GoDuration::secs(10));
    assert_eq!(c.global_tags["dc"], "us-east-1");
    assert_eq!(
        c.global_tags["user"], "${USER_NOT_SET}",
        "unset variables stay as written"
    );
    assert_eq!(c.inputs.len(), 5);
    let OutputSettings::InfluxDb(out) = &c.outputs[0].settings else {
        panic!()
    };
    assert_eq!(out.urls, ["http://db:8086"]);
    let second_cpu = &c.inputs[1];
    assert_eq!(second_cpu.common.naming.name_suffix, "_total");
    assert_eq!(second_cpu.common.naming.tags["role"], "db");
    assert_eq!(second_cpu.filter.fieldpass, ["usage_*"]);
    assert_eq!(second_cpu.filter.tagdrop["cpu"], ["cpu1*"]);
    assert!(matches!(&second_cpu.settings, InputSettings::Cpu(cpu) if !cpu.percpu));
    let warnings = c.warnings.join("\n");
    assert!(
        warnings.contains("telegraf.conf:38: plugin \"inputs.mongodb\" is not implemented"),
        "{warnings}"
    );
    assert!(
        warnings.contains("telegraf.conf:31: inputs.cpu: option \"core_tags\" is not implemented"),
        "{warnings}"
    );
    assert_eq!(c.warnings.len(), 2, "{warnings}");
}

#[test]
fn wrong_types_name_file_line_and_key() {
    let err = load("[agent]\n  interval = \"10s\"\n  metric_batch_size = \"many\"\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("telegraf.conf:3: agent: metric_batch_size: "),
        "{text}"
    );
    let err = load("[[inputs.cpu]]\n  percpu = true\n\n[[inputs.cpu]]\n  totalcpu = \"yes\"\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("telegraf.conf:5: inputs.cpu: totalcpu: "),
        "{err}"
    );
    let err = load("[[inputs.mem]]\n  interval = \"ten\"\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("telegraf.conf:2: inputs.mem: interval: invalid duration"),
        "{err}"
    );
}

#[test]
fn bad_toml_names_line_and_column() {
    let err = load("[agent]\ninterval = \"10s\n").unwrap_err().to_string();
    assert!(err.starts_with("telegraf.conf: "), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn bad_filter_patterns_are_errors() {
    let err = load("[[inputs.mem]]\n  namepass = [\"a[\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("telegraf.conf:1: inputs.mem: invalid pattern \"a[\" in namepass"),
        "{err}"
    );
}

#[test]
fn required_variables_stop_the_load() {
    let err = load("[agent]\n  hostname = \"${NAME:?hostname needed}\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("NAME") && err.contains("hostname needed"),
        "{err}"
    );
}

#[test]
fn single_bracket_tables_and_inline_tags_work() {
    let c = load("[inputs.mem]\n  tags = {a = \"b\"}\n[outputs.file]\n").unwrap();
    assert_eq!(c.inputs[0].common.naming.tags["a"], "b");
    assert!(matches!(&c.outputs[0].settings, OutputSettings::File(f) if f.files == ["stdout"]));
}

#[test]
fn a_bom_is_tolerated_and_unknown_processors_are_warned_about() {
    let c =
        load("\u{feff}[[inputs.mem]]\n[[processors.starlark]]\n[[processors.rename]]\n").unwrap();
    assert_eq!(c.inputs.len(), 1);
    assert_eq!(c.processors.len(), 1);
    assert!(
        c.warnings[0]
            .contains("telegraf.conf:2: plugin \"processors.starlark\" is not implemented"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn processors_and_aggregators_keep_their_options_and_print_back() {
    let c = load(
        "[[inputs.mem]]\n[[processors.rename]]\norder = 3\nnamepass = [\"mem\"]\n\
         [[processors.rename.replace]]\nfield = \"a\"\ndest = \"b\"\n\
         [[processors.strings]]\norder = 1\n\
         [[aggregators.basicstats]]\nperiod = \"1m\"\ndrop_original = true\nstats = [\"mean\"]\n\
         [[aggregators.minmax]]\nnope = 1\n",
    )
    .unwrap();
    let names: Vec<&str> = c.processors.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["strings", "rename"]);
    assert_eq!(c.processors[1].filter.namepass, ["mem"]);
    assert_eq!(c.aggregators[0].common.period, GoDuration::secs(60));
    assert!(c.aggregators[0].common.drop_original);
    assert_eq!(c.aggregators[1].common.period, GoDuration::secs(30));
    assert!(
        c.warnings[0].contains("telegraf.conf:15: aggregators.minmax: option \"nope\""),
        "{:?}",
        c.warnings
    );
    let again = load(&c.to_toml()).unwrap();
    assert_eq!(again.processors.len(), 2);
    assert_eq!(again.aggregators[0].common.period, GoDuration::secs(60));
}

#[test]
fn print_config_loads_back_to_the_same_settings() {
    let c = load(SAMPLE).unwrap();
    let printed = c.to_toml();
    let again = load(&printed).unwrap();
    assert_eq!(again.agent, c.agent);
    assert_eq!(again.inputs.len(), c.inputs.len());
    assert_eq!(again.warnings.len(), 0, "{:?}\n{printed}", again.warnings);
    assert_eq!(again.to_toml(), printed);
}

#[test]
fn later_files_override_agent_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    std::fs::write(
        &a,
        "[agent]\n  interval = \"1s\"\n  flush_interval = \"2s\"\n[[inputs.mem]]\n",
    )
    .unwrap();
    let d = dir.path().join("telegraf.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("b.conf"),
        "[agent]\n  interval = \"3s\"\n[[inputs.swap]]\n",
    )
    .unwrap();
    std::fs::write(d.join("ignored.txt"), "not toml").unwrap();
    let c = super::load(&[a], &[d], &env).unwrap();
    assert_eq!(c.agent.interval, GoDuration::secs(3));
    assert_eq!(c.agent.flush_interval, GoDuration::secs(2));
    assert_eq!(c.inputs.len(), 2);
}

#[test]
fn the_shipped_sample_loads_without_warnings() {
    let text = include_str!("../../../deploy/telegraf.conf");
    let c = load_str("deploy/telegraf.conf", text, &|_| None).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let names: Vec<&str> = c.inputs.iter().map(|i| i.name.as_str()).collect();
    for expected in [
        "cpu",
        "disk",
        "diskio",
        "kernel",
        "mem",
        "processes",
        "swap",
        "system",
        "net",
        "internal",
        "prometheus",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let OutputSettings::InfluxDb(out) = &c.outputs[0].settings else {
        panic!()
    };
    assert_eq!(out.urls, ["http://127.0.0.1:8086"]);
    assert_eq!(c.agent.hostname, "");
    let health = c
        .outputs
        .iter()
        .find_map(|o| match &o.settings {
            OutputSettings::Health(h) => Some(h),
            _ => None,
        })
        .unwrap();
    assert_eq!(health.service_address, "http://127.0.0.1:8095");
    assert_eq!(health.compares[0].field, "buffer_size");
}

#[test]
fn options_without_effect_are_warnings_naming_their_line() {
    let c = load(
        "[[inputs.statsd]]\n  service_address = \"127.0.0.1:0\"\n  tcp_keep_alive = true\n\
         [[inputs.tail]]\n  files = [\"/x\"]\n  watch_method = \"inotify\"\n",
    )
    .unwrap();
    assert_eq!(c.inputs.len(), 2);
    assert!(
        c.warnings[0].contains(
            "telegraf.conf:3: inputs.statsd: option \"tcp_keep_alive\" is not implemented"
        ),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings[1].contains("telegraf.conf:6: inputs.tail: option \"watch_method\""),
        "{:?}",
        c.warnings
    );
}
