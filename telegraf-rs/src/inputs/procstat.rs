//! `inputs.procstat`: CPU, memory, I/O and context switches of the processes picked by a pid
//! file, an executable name, a command-line pattern, a user, a systemd unit (its main process
//! as `systemctl show` names it, or with `include_systemd_children` every process of its
//! cgroup) or a cgroup (`cgroup.procs`, globs allowed), read from `/proc/[pid]/*`
//! (Telegraf's `native` finder: `exe` and `pattern` are regular expressions matched against
//! the process name and the whole command line, as `pgrep` and `pgrep -f` match them). One
//! `procstat` metric per process and one `procstat_lookup` metric per gather.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use crate::metric::Metric;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Options of `[[inputs.procstat]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcstatConfig {
    /// A file holding the pid.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pid_file: String,
    /// A regular expression matched against the process name (`pgrep`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// A regular expression matched against the whole command line (`pgrep -f`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pattern: String,
    /// The processes of this user (name or uid).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// The main process of this systemd unit (`nginx.service`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub systemd_unit: String,
    /// With `systemd_unit`: every process of the unit's cgroup.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_systemd_children: bool,
    /// The processes of this cgroup (relative to `/sys/fs/cgroup`, globs allowed).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
    /// Prefix of every field name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// Replaces the `process_name` tag.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub process_name: String,
    /// The pid as a tag rather than a field (one series per process).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pid_tag: bool,
    /// `pgrep` or `native`: both are read from `/proc` here.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pid_finder: String,
}

/// Which processes the input follows.
#[derive(Debug)]
enum Finder {
    PidFile(PathBuf),
    Exe(Regex),
    Pattern(Regex),
    User(String),
    SystemdUnit(String),
    Cgroup(String),
}

impl Finder {
    /// The filter's tag, as Telegraf names it.
    fn tag(&self, config: &ProcstatConfig) -> (&'static str, String) {
        match self {
            Finder::PidFile(_) => ("pidfile", config.pid_file.clone()),
            Finder::Exe(_) => ("exe", config.exe.clone()),
            Finder::Pattern(_) => ("pattern", config.pattern.clone()),
            Finder::User(_) => ("user", config.user.clone()),
            Finder::SystemdUnit(_) => ("systemd_unit", config.systemd_unit.clone()),
            Finder::Cgroup(_) => ("cgroup", config.cgroup.clone()),
        }
    }
}

/// Builds the input; exactly one of `pid_file`, `exe`, `pattern`, `user`, `systemd_unit` and
/// `cgroup` must be set.
pub fn build(config: &ProcstatConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(new(config, ctx)?))
}

fn new(config: &ProcstatConfig, ctx: &BuildContext) -> Result<Procstat, InputError> {
    let regex = |what: &str, text: &str| {
        Regex::new(text)
            .map_err(|e| InputError::Settings(format!("procstat: {what} {text:?}: {e}")))
    };
    let mut finders = Vec::new();
    if !config.pid_file.is_empty() {
        finders.push(Finder::PidFile(PathBuf::from(&config.pid_file)));
    }
    if !config.exe.is_empty() {
        finders.push(Finder::Exe(regex("exe", &config.exe)?));
    }
    if !config.pattern.is_empty() {
        finders.push(Finder::Pattern(regex("pattern", &config.pattern)?));
    }
    if !config.user.is_empty() {
        finders.push(Finder::User(config.user.clone()));
    }
    if !config.systemd_unit.is_empty() {
        finders.push(match config.include_systemd_children {
            true => Finder::Cgroup(format!("systemd/system.slice/{}", config.systemd_unit)),
            false => Finder::SystemdUnit(config.systemd_unit.clone()),
        });
    }
    if !config.cgroup.is_empty() {
        finders.push(Finder::Cgroup(config.cgroup.clone()));
    }
    if finders.len() != 1 {
        return Err(InputError::Settings(
            "procstat: set exactly one of pid_file, exe, pattern, user, systemd_unit and cgroup"
                .into(),
        ));
    }
    if !["", "pgrep", "native"].contains(&config.pid_finder.as_str()) {
        return Err(InputError::Settings(format!(
            "procstat: pid_finder {:?}: pgrep or native",
            config.pid_finder
        )));
    }
    Ok(Procstat {
        finder: finders.remove(0),
        config: config.clone(),
        host: ctx.host.clone(),
        ticks_per_second: super::cpu::clock_ticks(),
        page_size: page_size(),
        last_cpu: HashMap::new(),
        systemctl: PathBuf::from("systemctl"),
    })
}

/// Bytes per memory page.
fn page_size() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

struct Procstat {
    finder: Finder,
    config: ProcstatConfig,
    host: HostPaths,
    ticks_per_second: f64,
    page_size: u64,
    /// pid → (start time, CPU seconds, when), for `cpu_usage` between gathers.
    last_cpu: HashMap<u32, (u64, f64, i64)>,
    /// The program asked for a unit's main process.
    systemctl: PathBuf,
}

/// What `/proc/[pid]/stat` says of a process.
#[derive(Debug, Clone, PartialEq)]
struct Stat {
    name: String,
    utime: u64,
    stime: u64,
    iowait: u64,
    nice: i64,
    rt_priority: i64,
    threads: i64,
    start_ticks: u64,
}

/// Parses a `/proc/[pid]/stat` line (the name may hold spaces and parentheses).
fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    // Fields after the name start at field 3 (state): field N is rest[N - 3].
    let num = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<i64>().ok());
    Some(Stat {
        name,
        utime: num(14)?.max(0) as u64,
        stime: num(15)?.max(0) as u64,
        nice: num(19)?,
        threads: num(20)?,
        start_ticks: num(22)?.max(0) as u64,
        rt_priority: num(40).unwrap_or(0),
        iowait: num(42).unwrap_or(0).max(0) as u64,
    })
}

impl Procstat {
    fn proc_dir(&self, pid: u32) -> PathBuf {
        self.host.proc.join(pid.to_string())
    }

    /// The pids the filter picks, in order.
    fn find(&self) -> Result<Vec<u32>, InputError> {
        if let Finder::PidFile(path) = &self.finder {
            let text = super::read_text(path).map_err(|source| InputError::Read {
                path: path.clone(),
                source,
            })?;
            let pid = text.trim().parse::<u32>().map_err(|_| {
                InputError::Settings(format!(
                    "procstat: {}: {:?} is not a pid",
                    path.display(),
                    text.trim()
                ))
            })?;
            return Ok(vec![pid]);
        }
        match &self.finder {
            Finder::SystemdUnit(unit) => return self.unit_main_pid(unit),
            Finder::Cgroup(group) => return self.cgroup_pids(group),
            _ => {}
        }
        let entries = std::fs::read_dir(&self.host.proc).map_err(|source| InputError::Read {
            path: self.host.proc.clone(),
            source,
        })?;
        let uid = match &self.finder {
            Finder::User(user) => Some(uid_of(&self.host, user)?),
            _ => None,
        };
        let mut pids: Vec<u32> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| self.matches(*pid, uid))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// The unit's `MainPID` as `systemctl show` reports it (none when it is not running).
    fn unit_main_pid(&self, unit: &str) -> Result<Vec<u32>, InputError> {
        let fail = |message: String| InputError::Command {
            command: format!("systemctl show {unit}"),
            message,
        };
        let out = std::process::Command::new(&self.systemctl)
            .args(["show", unit, "--property", "MainPID"])
            .output()
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .filter_map(|l| l.strip_prefix("MainPID="))
            .filter_map(|v| v.trim().parse::<u32>().ok())
            .filter(|pid| *pid != 0)
            .collect())
    }

    /// The processes of the cgroups `group` (below `HOST_SYS`'s `fs/cgroup` unless absolute)
    /// matches, from their `cgroup.procs`.
    fn cgroup_pids(&self, group: &str) -> Result<Vec<u32>, InputError> {
        let pattern = match group.starts_with('/') {
            true => PathBuf::from(group),
            false => self.host.sys.join("fs/cgroup").join(group),
        };
        let procs = |dir: &Path| super::glob_paths(&format!("{}/cgroup.procs", dir.display()));
        let mut files = procs(&pattern);
        // A unit's cgroup is `systemd/system.slice/…` under cgroup v1, `system.slice/…` under v2.
        if let Ok(v2) = pattern.strip_prefix(self.host.sys.join("fs/cgroup/systemd")) {
            if !files.iter().any(|f| f.exists()) {
                files = procs(&self.host.sys.join("fs/cgroup").join(v2));
            }
        }
        let mut pids = Vec::new();
        for path in files {
            let text =
                super::read_text(&path).map_err(|source| InputError::Read { path, source })?;
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Whether process `pid` is one the filter picks (a process gone meanwhile is not).
    fn matches(&self, pid: u32, uid: Option<u32>) -> bool {
        let dir = self.proc_dir(pid);
        match &self.finder {
            Finder::PidFile(_) | Finder::SystemdUnit(_) | Finder::Cgroup(_) => true,
            Finder::Exe(re) => super::read_text(dir.join("comm"))
                .is_ok_and(|comm| re.is_match(comm.trim_end_matches('\n'))),
            Finder::Pattern(re) => std::fs::read(dir.join("cmdline")).is_ok_and(|raw| {
                let line: String = String::from_utf8_lossy(&raw)
                    .trim_end_matches('\0')
                    .replace('\0', " ");
                // pgrep -f never matches itself; kernel threads have no command line.
                !line.is_empty() && re.is_match(&line)
            }),
            Finder::User(_) => super::read_text(dir.join("status"))
                .ok()
                .and_then(|s| real_uid(&s))
                .is_some_and(|u| Some(u) == uid),
        }
    }

    /// The `procstat` metric of `pid`, or None when it is gone.
    fn process(&mut self, pid: u32, time: i64, mem_total: Option<u64>) -> Option<Metric> {
        let dir = self.proc_dir(pid);
        let stat = parse_stat(&super::read_text(dir.join("stat")).ok()?)?;
        let status = super::read_text(dir.join("status")).unwrap_or_default();
        let p = &self.config.prefix;
        let name = if self.config.process_name.is_empty() {
            stat.name.clone()
        } else {
            self.config.process_name.clone()
        };
        let (tag, value) = self.finder.tag(&self.config);
        let mut m = Metric::new("procstat", time)
            .with_tag("process_name", name)
            .with_tag(tag, value);
        if let Some(user) = real_uid(&status).and_then(|uid| user_name(&self.host, uid)) {
            if tag != "user" {
                m.tags.insert("user".into(), user);
            }
        }
        if self.config.pid_tag {
            m.tags.insert("pid".into(), pid.to_string());
        } else {
            m.add_field("pid", i64::from(pid));
        }
        let ticks = self.ticks_per_second;
        let cpu_user = stat.utime as f64 / ticks;
        let cpu_system = stat.stime as f64 / ticks;
        m.add_field(format!("{p}cpu_time_user"), cpu_user);
        m.add_field(format!("{p}cpu_time_system"), cpu_system);
        m.add_field(format!("{p}cpu_time_iowait"), stat.iowait as f64 / ticks);
        let cpu = cpu_user + cpu_system;
        if let Some((start, before, at)) = self.last_cpu.get(&pid) {
            let seconds = (time - at) as f64 / 1e9;
            if *start == stat.start_ticks && seconds > 0.0 {
                m.add_field(
                    format!("{p}cpu_usage"),
                    ((cpu - before) / seconds * 100.0).max(0.0),
                );
            }
        }
        self.last_cpu.insert(pid, (stat.start_ticks, cpu, time));
        m.add_field(format!("{p}num_threads"), stat.threads);
        m.add_field(format!("{p}nice_priority"), stat.nice);
        m.add_field(format!("{p}realtime_priority"), stat.rt_priority);
        if let Some(boot) = boot_time(&self.host) {
            let since_boot_ns = (stat.start_ticks as f64 / ticks * 1e9).round() as i64;
            let created_ns = (boot as i64).saturating_mul(1_000_000_000) + since_boot_ns;
            m.add_field(format!("{p}created_at"), created_ns);
        }
        if let Ok(statm) = super::read_text(dir.join("statm")) {
            let pages: Vec<u64> = statm
                .split_ascii_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            if let (Some(vms), Some(rss)) = (pages.first(), pages.get(1)) {
                let rss = rss * self.page_size;
                m.add_field(format!("{p}memory_vms"), (vms * self.page_size) as i64);
                m.add_field(format!("{p}memory_rss"), rss as i64);
                if let Some(total) = mem_total.filter(|t| *t > 0) {
                    m.add_field(
                        format!("{p}memory_usage"),
                        rss as f64 / total as f64 * 100.0,
                    );
                }
            }
        }
        for (key, field) in [
            ("VmSwap", "memory_swap"),
            ("VmData", "memory_data"),
            ("VmStk", "memory_stack"),
            ("VmLck", "memory_locked"),
        ] {
            if let Some(kb) = status_number(&status, key) {
                m.add_field(format!("{p}{field}"), (kb * 1024) as i64);
            }
        }
        for (key, field) in [
            ("voluntary_ctxt_switches", "voluntary_context_switches"),
            ("nonvoluntary_ctxt_switches", "involuntary_context_switches"),
        ] {
            if let Some(n) = status_number(&status, key) {
                m.add_field(format!("{p}{field}"), n as i64);
            }
        }
        // Another user's /proc/[pid]/io and fd are readable by root only: left out then.
        if let Ok(io) = super::read_text(dir.join("io")) {
            for (key, field) in [
                ("syscr", "read_count"),
                ("syscw", "write_count"),
                ("read_bytes", "read_bytes"),
                ("write_bytes", "write_bytes"),
            ] {
                if let Some(n) = status_number(&io, key) {
                    m.add_field(format!("{p}{field}"), n as i64);
                }
            }
        }
        if let Ok(fds) = std::fs::read_dir(dir.join("fd")) {
            m.add_field(format!("{p}num_fds"), fds.count() as i64);
        }
        Some(m)
    }
}

/// The number after `key:` in a `/proc/[pid]/status` or `io` text.
fn status_number(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, rest) = line.split_once(':')?;
        (k.trim() == key).then(|| rest.split_ascii_whitespace().next()?.parse().ok())?
    })
}

/// The real uid of a `/proc/[pid]/status` text.
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_ascii_whitespace().next()?.parse().ok())
}

/// `/etc/passwd` of the host (next to `HOST_PROC`'s parent when it is overridden).
fn passwd(host: &HostPaths) -> String {
    let root = if host.proc_overridden {
        host.proc.parent().unwrap_or(Path::new("/")).to_path_buf()
    } else {
        PathBuf::from("/")
    };
    super::read_text(root.join("etc/passwd")).unwrap_or_default()
}

/// The name of `uid`.
fn user_name(host: &HostPaths, uid: u32) -> Option<String> {
    passwd(host).lines().find_map(|l| {
        let mut parts = l.split(':');
        let name = parts.next()?;
        let id = parts.nth(1)?.parse::<u32>().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

/// The uid of `user` (a name, or a number).
fn uid_of(host: &HostPaths, user: &str) -> Result<u32, InputError> {
    if let Ok(uid) = user.parse::<u32>() {
        return Ok(uid);
    }
    passwd(host)
        .lines()
        .find_map(|l| {
            let mut parts = l.split(':');
            (parts.next()? == user).then(|| parts.nth(1)?.parse::<u32>().ok())?
        })
        .ok_or_else(|| InputError::Settings(format!("procstat: no user {user:?}")))
}

/// The host's boot time in seconds, from `/proc/stat`.
fn boot_time(host: &HostPaths) -> Option<u64> {
    super::read_text(host.proc.join("stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

impl SyncInput for Procstat {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let (tag, value) = self.finder.tag(&self.config);
        let finder = if self.config.pid_finder.is_empty() {
            "pgrep".to_string()
        } else {
            self.config.pid_finder.clone()
        };
        let lookup = move |pids: usize, result: &str, code: i64, time: i64| {
            Metric::new("procstat_lookup", time)
                .with_tag(tag, value.clone())
                .with_tag("pid_finder", finder.clone())
                .with_tag("result", result)
                .with_field("pid_count", pids as i64)
                .with_field("running", pids as i64)
                .with_field("result_code", code)
        };
        let pids = match self.find() {
            Ok(p) => p,
            Err(e) => {
                acc.push(lookup(0, "lookup_error", 1, acc.time));
                return Err(e);
            }
        };
        let mem_total = super::read_text(self.host.proc.join("meminfo"))
            .ok()
            .and_then(|m| status_number(&m, "MemTotal"))
            .map(|kb| kb * 1024);
        let mut running = 0;
        for pid in &pids {
            if let Some(m) = self.process(*pid, acc.time, mem_total) {
                acc.push(m);
                running += 1;
            }
        }
        self.last_cpu.retain(|pid, _| pids.contains(pid));
        acc.push(lookup(running, "success", 0, acc.time));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with, Fixture};
    use crate::metric::FieldValue;

    fn stat(pid: u32, name: &str, utime: u64, start: u64) -> String {
        format!("{pid} ({name}) S 1 1 1 0 -1 4194560 100 0 0 0 {utime} 50 0 0 20 5 3 0 {start} 1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 7 0 12 0 0")
    }

    fn tree(extra: &[(&str, &str)]) -> Fixture {
        let mut files: Vec<(&str, &str)> = vec![
            ("proc/stat", "cpu 1 2 3 4\nbtime 1700000000\n"),
            ("proc/meminfo", "MemTotal:       1000000 kB\n"),
            (
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/sh\n",
            ),
        ];
        files.extend_from_slice(extra);
        fixture(&files)
    }

    #[test]
    fn picks_by_cgroup_and_systemd_unit() {
        let fx = tree(&[
            ("proc/10/stat", &stat(10, "nginx", 300, 500)),
            ("proc/10/status", "Name:\tnginx\nUid:\t0\t0\t0\t0\n"),
            ("proc/11/stat", &stat(11, "nginx", 100, 600)),
            ("proc/11/status", "Name:\tnginx\nUid:\t0\t0\t0\t0\n"),
            ("sys/fs/cgroup/system.slice/nginx.service/cgroup.procs", "10\n11\n"),
            ("sys/fs/cgroup/system.slice/other.service/cgroup.procs", "12\n"),
            ("bin/systemctl", "#!/bin/sh\n[ \"$2\" = nginx.service ] && echo MainPID=10 && exit 0\necho MainPID=0\n"),
        ]);
        let run = |config: ProcstatConfig, systemctl: Option<PathBuf>| {
            let mut p = new(&config, &fx.ctx()).unwrap();
            if let Some(program) = systemctl {
                p.systemctl = program;
            }
            let mut acc = Accumulator::new(1);
            p.gather_now(&mut acc).unwrap();
            acc.metrics
        };
        let by_cgroup = run(
            ProcstatConfig {
                cgroup: "system.slice/nginx*".into(),
                ..ProcstatConfig::default()
            },
            None,
        );
        let pids: Vec<_> = by_cgroup
            .iter()
            .filter_map(|m| m.field("pid").cloned())
            .collect();
        assert_eq!(pids, [FieldValue::Int(10), FieldValue::Int(11)]);
        assert_eq!(by_cgroup[0].tags["cgroup"], "system.slice/nginx*");
        let script = fx.dir.path().join("bin/systemctl");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let by_unit = run(
            ProcstatConfig {
                systemd_unit: "nginx.service".into(),
                ..ProcstatConfig::default()
            },
            Some(script.clone()),
        );
        assert_eq!(
            by_unit.len(),
            2,
            "the main process and the lookup: {by_unit:?}"
        );
        assert_eq!(by_unit[0].field("pid"), Some(&FieldValue::Int(10)));
        assert_eq!(by_unit[1].tags["systemd_unit"], "nginx.service");
        let stopped = run(
            ProcstatConfig {
                systemd_unit: "stopped.service".into(),
                ..ProcstatConfig::default()
            },
            Some(script),
        );
        assert_eq!(stopped[0].field("pid_count"), Some(&FieldValue::Int(0)));
        let children = run(
            ProcstatConfig {
                systemd_unit: "nginx.service".into(),
                include_systemd_children: true,
                ..ProcstatConfig::default()
            },
            None,
        );
        assert_eq!(children.len(), 3);
    }

    #[test]
    fn picks_by_exe_pattern_user_and_pid_file_and_reads_what_telegraf_reports() {
        let nginx = stat(10, "nginx", 300, 500);
        let worker = stat(11, "nginx", 100, 600);
        let other = stat(12, "sh (x)", 5, 700);
        let fx = tree(&[
            ("proc/10/stat", &nginx),
            ("proc/10/comm", "nginx\n"),
            ("proc/10/cmdline", "nginx: master process /usr/sbin/nginx\0-g\0daemon off;\0"),
            ("proc/10/status", "Name:\tnginx\nUid:\t0\t0\t0\t0\nVmSwap:\t      8 kB\nvoluntary_ctxt_switches:\t42\nnonvoluntary_ctxt_switches:\t7\n"),
            ("proc/10/statm", "2000 500 100 1 0 300 0\n"),
            ("proc/10/io", "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\n"),
            ("proc/11/stat", &worker),
            ("proc/11/comm", "nginx\n"),
            ("proc/11/cmdline", "nginx: worker process\0"),
            ("proc/11/status", "Name:\tnginx\nUid:\t33\t33\t33\t33\n"),
            ("proc/12/stat", &other),
            ("proc/12/comm", "sh (x)\n"),
            ("proc/12/cmdline", "/bin/sh\0-c\0sleep 9\0"),
            ("proc/12/status", "Name:\tsh\nUid:\t33\t33\t33\t33\n"),
            ("run/nginx.pid", "10\n"),
        ]);
        let by = |toml: &str| {
            let config: ProcstatConfig = toml::from_str(toml).unwrap();
            let metrics = gather_with(&mut build(&config, &fx.ctx()).unwrap());
            let pids: Vec<i64> = metrics
                .iter()
                .filter(|m| m.name == "procstat")
                .filter_map(|m| match m.field("pid") {
                    Some(FieldValue::Int(p)) => Some(*p),
                    _ => None,
                })
                .collect();
            (metrics, pids)
        };
        assert_eq!(by("exe = \"^nginx$\"").1, [10, 11]);
        assert_eq!(by("pattern = \"worker\"").1, [11]);
        assert_eq!(by("user = \"www-data\"").1, [11, 12]);
        assert_eq!(by("user = \"0\"").1, [10]);
        let pid_file = format!(
            "pid_file = {:?}",
            fx.dir.path().join("run/nginx.pid").display().to_string()
        );
        let (metrics, pids) = by(&pid_file);
        assert_eq!(pids, [10]);
        let m = &metrics[0];
        assert_eq!(m.tags["process_name"], "nginx");
        assert_eq!(m.tags["user"], "root");
        assert_eq!(
            m.tags["pidfile"],
            fx.dir.path().join("run/nginx.pid").display().to_string()
        );
        let int = |k: &str| match m.field(k) {
            Some(FieldValue::Int(v)) => *v,
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(int("memory_rss"), 500 * page_size() as i64);
        assert_eq!(int("memory_vms"), 2000 * page_size() as i64);
        assert_eq!(int("memory_swap"), 8192);
        assert_eq!(int("voluntary_context_switches"), 42);
        assert_eq!(int("involuntary_context_switches"), 7);
        assert_eq!((int("read_count"), int("write_count")), (3, 4));
        assert_eq!((int("read_bytes"), int("write_bytes")), (4096, 8192));
        assert_eq!((int("num_threads"), int("nice_priority")), (3, 5));
        let ticks = super::super::cpu::clock_ticks();
        assert_eq!(
            int("created_at"),
            1_700_000_000_000_000_000 + (500.0 / ticks * 1e9).round() as i64
        );
        assert_eq!(
            m.field("cpu_time_user"),
            Some(&FieldValue::Float(300.0 / ticks))
        );
        assert!(
            m.field("cpu_usage").is_none(),
            "no usage before a second gather"
        );
        let lookup = metrics
            .iter()
            .find(|m| m.name == "procstat_lookup")
            .unwrap();
        assert_eq!(lookup.tags["result"], "success");
        assert_eq!(lookup.field("pid_count"), Some(&FieldValue::Int(1)));
        // A pid tag, a prefix and a process name of one's own.
        let (metrics, _) = by(&format!(
            "{pid_file}\npid_tag = true\nprefix = \"x_\"\nprocess_name = \"web\""
        ));
        assert_eq!(metrics[0].tags["pid"], "10");
        assert_eq!(metrics[0].tags["process_name"], "web");
        assert!(metrics[0].field("x_memory_rss").is_some() && metrics[0].field("pid").is_none());
    }

    #[test]
    fn cpu_usage_is_the_share_of_a_second_between_gathers() {
        let mut p = Procstat {
            finder: Finder::Exe(Regex::new("x").unwrap()),
            config: ProcstatConfig::default(),
            host: HostPaths::under(Path::new("/nonexistent")),
            ticks_per_second: 100.0,
            page_size: 4096,
            last_cpu: HashMap::new(),
            systemctl: PathBuf::from("systemctl"),
        };
        let dir = tempfile::tempdir().unwrap();
        p.host.proc = dir.path().to_path_buf();
        std::fs::create_dir(dir.path().join("7")).unwrap();
        let write = |utime: u64, start: u64| {
            std::fs::write(dir.path().join("7/stat"), stat(7, "x", utime, start)).unwrap();
        };
        write(100, 1);
        assert!(p.process(7, 0, None).unwrap().field("cpu_usage").is_none());
        // 50 ticks of user time in 2 s at 100 ticks/s: 25 %.
        write(150, 1);
        let m = p.process(7, 2_000_000_000, None).unwrap();
        assert_eq!(m.field("cpu_usage"), Some(&FieldValue::Float(25.0)));
        // The same pid, another process (its start time changed): no usage across them.
        write(10, 99);
        assert!(p
            .process(7, 4_000_000_000, None)
            .unwrap()
            .field("cpu_usage")
            .is_none());
    }

    #[test]
    fn exactly_one_filter_and_good_regexes() {
        let fx = fixture(&[]);
        let ctx = fx.ctx();
        let bad = |c: ProcstatConfig| {
            build(&c, &ctx)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(bad(ProcstatConfig::default()).contains("exactly one"));
        assert!(bad(ProcstatConfig {
            exe: "a".into(),
            user: "b".into(),
            ..Default::default()
        })
        .contains("exactly one"));
        assert!(bad(ProcstatConfig {
            exe: "(".into(),
            ..Default::default()
        })
        .contains("exe \"(\""));
        assert!(bad(ProcstatConfig {
            exe: "a".into(),
            pid_finder: "ps".into(),
            ..Default::default()
        })
        .contains("pgrep or native"));
    }

    #[test]
    fn stat_lines_with_odd_names() {
        let s = parse_stat(&stat(5, "a) (b", 7, 9)).unwrap();
        assert_eq!(
            (s.name.as_str(), s.utime, s.stime, s.start_ticks),
            ("a) (b", 7, 50, 9)
        );
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) S 1").is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_stat_text_parses_or_is_refused_without_panicking(text in ".{0,300}") {
            let _ = parse_stat(&text);
        }

        #[test]
        fn stat_lines_read_back_their_name_and_times(
            name in "[^\n]{0,20}", utime in 0u64..1u64 << 40, start in 0u64..1u64 << 40,
        ) {
            let s = parse_stat(&stat(1, &name, utime, start)).unwrap();
            proptest::prop_assert_eq!(s.name, name);
            proptest::prop_assert_eq!((s.utime, s.start_ticks), (utime, start));
        }
    }
}
