//! Every system input, run against this machine: Telegraf's names, stable types, no NaN, no
//! negative counters, non-empty tags; and values equal to `/proc` read at the same moment.

use std::collections::BTreeMap;
use std::sync::Arc;
use telegraf_rs::config::load_str;
use telegraf_rs::inputs::{Accumulator, BuildContext, HostPaths, Input};
use telegraf_rs::metric::{FieldValue, Metric};
use telegraf_rs::stats::Stats;

const SYSTEM_INPUTS: &[&str] = &[
    "cpu",
    "mem",
    "swap",
    "disk",
    "diskio",
    "net",
    "system",
    "processes",
    "kernel",
    "internal",
];

/// Integer fields that may legitimately be negative.
fn may_be_negative(m: &Metric, field: &str) -> bool {
    m.name == "net" && (field == "speed" || m.tags.get("interface").is_some_and(|i| i == "all"))
}

fn build(name: &str) -> Box<dyn Input> {
    let config = load_str("compliance.conf", &format!("[[inputs.{name}]]\n"), &|_| {
        None
    })
    .unwrap();
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    let ctx = BuildContext {
        host: HostPaths::from_env(|_| None),
        stats: Arc::new(Stats::default()),
        state_dir: std::env::temp_dir(),
    };
    config.inputs[0].settings.build(&ctx).unwrap()
}

fn gather(rt: &tokio::runtime::Runtime, input: &mut Box<dyn Input>) -> Vec<Metric> {
    let mut acc = Accumulator::new(1);
    rt.block_on(input.gather(&mut acc)).unwrap();
    acc.metrics
}

fn kind(v: &FieldValue) -> &'static str {
    match v {
        FieldValue::Float(_) => "float",
        FieldValue::Int(_) | FieldValue::UInt(_) => "integer",
        FieldValue::Str(_) => "string",
        FieldValue::Bool(_) => "boolean",
    }
}

#[test]
fn every_system_input_passes_the_compliance_checks() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for name in SYSTEM_INPUTS {
        let mut input = build(name);
        let first = gather(&rt, &mut input);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let second = gather(&rt, &mut input);
        assert!(!second.is_empty(), "{name} gathered nothing");
        let mut types: BTreeMap<(String, String), &'static str> = BTreeMap::new();
        for m in first.iter().chain(&second) {
            assert!(
                m.name == *name || m.name.starts_with(&format!("{name}_")),
                "{name} produced {}",
                m.name
            );
            assert!(!m.fields.is_empty(), "{name}: metric without fields");
            for (k, v) in &m.tags {
                assert!(
                    !k.is_empty() && !v.is_empty(),
                    "{name}: empty tag {k:?}={v:?}"
                );
            }
            for (field, value) in &m.fields {
                match value {
                    FieldValue::Float(f) => assert!(f.is_finite(), "{name}.{field} = {f}"),
                    FieldValue::Int(i) => {
                        assert!(*i >= 0 || may_be_negative(m, field), "{name}.{field} = {i}")
                    }
                    _ => {}
                }
                let previous = types.insert((m.name.clone(), field.clone()), kind(value));
                assert!(
                    previous.is_none_or(|p| p == kind(value)),
                    "{name}.{field} changed type"
                );
                let line = m.to_line(false).unwrap();
                assert!(
                    lineproto::parse_lines(&line).all(|l| l.is_ok()),
                    "{name}: {line:?} does not parse"
                );
            }
        }
    }
}

fn meminfo(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn field(metrics: &[Metric], name: &str, field: &str) -> FieldValue {
    metrics
        .iter()
        .find_map(|m| (m.name == name).then(|| m.field(field)).flatten())
        .cloned()
        .unwrap_or_else(|| panic!("{name}.{field} missing"))
}

#[test]
fn values_equal_proc_read_at_the_same_moment() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mem = gather(&rt, &mut build("mem"));
    assert_eq!(
        field(&mem, "mem", "total"),
        FieldValue::UInt(meminfo("MemTotal") * 1024)
    );
    let swap = gather(&rt, &mut build("swap"));
    assert_eq!(
        field(&swap, "swap", "total"),
        FieldValue::UInt(meminfo("SwapTotal") * 1024)
    );

    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let btime: i64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let kernel = gather(&rt, &mut build("kernel"));
    assert_eq!(
        field(&kernel, "kernel", "boot_time"),
        FieldValue::Int(btime)
    );

    let cpus = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let system = gather(&rt, &mut build("system"));
    assert_eq!(
        field(&system, "system", "n_cpus"),
        FieldValue::Int(cpus as i64)
    );

    let read_uptime = || -> u64 {
        let t = std::fs::read_to_string("/proc/uptime").unwrap();
        t.split_whitespace().next().unwrap().parse::<f64>().unwrap() as u64
    };
    let before = read_uptime();
    let FieldValue::UInt(uptime) = field(&system, "system", "uptime") else {
        panic!()
    };
    assert!(
        uptime <= read_uptime() && uptime + 2 >= before,
        "uptime {uptime} vs {before}"
    );

    let ctxt = |s: &str| -> i64 {
        s.lines()
            .find_map(|l| l.strip_prefix("ctxt "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = ctxt(&std::fs::read_to_string("/proc/stat").unwrap());
    let kernel = gather(&rt, &mut build("kernel"));
    let after = ctxt(&std::fs::read_to_string("/proc/stat").unwrap());
    let FieldValue::Int(switches) = field(&kernel, "kernel", "context_switches") else {
        panic!()
    };
    assert!(
        before <= switches && switches <= after,
        "{before} <= {switches} <= {after}"
    );
}

/// The first number after `key` on the line of `file` that starts with `prefix`.
fn proc_number(file: &str, prefix: &str, column: usize) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} in {file}"));
    line.split_whitespace()
        .nth(column)
        .unwrap()
        .parse()
        .unwrap()
}

fn uint(v: FieldValue) -> u64 {
    match v {
        FieldValue::UInt(u) => u,
        FieldValue::Int(i) => i as u64,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn counters_lie_between_proc_read_before_and_after() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // cpu: time_user of cpu-total, in seconds of USER_HZ ticks.
    let config = load_str(
        "c.conf",
        "[[inputs.cpu]]\n  collect_cpu_time = true\n  percpu = false\n",
        &|_| None,
    )
    .unwrap();
    let ctx = BuildContext {
        host: HostPaths::from_env(|_| None),
        stats: Arc::new(Stats::default()),
        state_dir: std::env::temp_dir(),
    };
    let mut cpu = config.inputs[0].settings.build(&ctx).unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let before = proc_number("/proc/stat", "cpu ", 1) as f64 / ticks;
    let metrics = gather(&rt, &mut cpu);
    let after = proc_number("/proc/stat", "cpu ", 1) as f64 / ticks;
    let FieldValue::Float(user) = field(&metrics, "cpu", "time_user") else {
        panic!()
    };
    assert!(
        before <= user && user <= after,
        "{before} <= {user} <= {after}"
    );

    // diskio: reads of the first device with any.
    let stats = std::fs::read_to_string("/proc/diskstats").unwrap();
    if let Some(dev) = stats
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|c| c.len() >= 14 && c[3] != "0")
        .map(|c| c[2].to_string())
    {
        let reads = || -> u64 {
            let text = std::fs::read_to_string("/proc/diskstats").unwrap();
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|c| c[2] == dev)
                .unwrap()[3]
                .parse()
                .unwrap()
        };
        let before = reads();
        let metrics = gather(&rt, &mut build("diskio"));
        let after = reads();
        let m = metrics.iter().find(|m| m.tags["name"] == dev).unwrap();
        let got = uint(m.field("reads").cloned().unwrap());
        assert!(
            before <= got && got <= after,
            "{dev}: {before} <= {got} <= {after}"
        );
    }

    // net: bytes_recv of every reported interface.
    let recv = |iface: &str| -> u64 {
        let text = std::fs::read_to_string("/proc/net/dev").unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{iface}:")))
            .unwrap();
        line.split_once(':')
            .unwrap()
            .1
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let metrics = gather(&rt, &mut build("net"));
    for m in metrics.iter().filter(|m| m.tags["interface"] != "all") {
        let iface = &m.tags["interface"];
        let got = uint(m.field("bytes_recv").cloned().unwrap());
        assert!(got <= recv(iface), "{iface}");
    }

    // processes: the total is the number of /proc/<pid> directories, give or take a few.
    let count = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .count() as i64
    };
    let before = count();
    let metrics = gather(&rt, &mut build("processes"));
    let FieldValue::Int(total) = field(&metrics, "processes", "total") else {
        panic!()
    };
    assert!(
        (total - before).abs() <= 10 && (total - count()).abs() <= 10,
        "{total} vs {before}"
    );

    // disk: the root filesystem's size equals statfs(2) of "/".
    let metrics = gather(&rt, &mut build("disk"));
    if let Some(root) = metrics.iter().find(|m| m.tags["path"] == "/") {
        // SAFETY: statfs fills the zeroed struct we own; the path is a C string literal.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statfs(c"/".as_ptr(), &mut st) }, 0);
        assert_eq!(
            uint(root.field("total").cloned().unwrap()),
            st.f_blocks as u64 * st.f_bsize as u64
        );
        assert_eq!(
            uint(root.field("inodes_total").cloned().unwrap()),
            st.f_files as u64
        );
    }
}
