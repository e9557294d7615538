//! `inputs.system`: load averages, CPU and user counts, uptime (three metrics, as Telegraf's
//! classic `system` input emits them).

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Options of `[[inputs.system]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SystemConfig {
    /// Newer Telegraf's field groups: `load`, `cpus`, `users`, `uptime`, or `legacy` (all of
    /// them, the default).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
}

/// Which field groups a gather reports.
#[derive(Debug, Clone, Copy)]
struct Groups {
    load: bool,
    cpus: bool,
    users: bool,
    uptime: bool,
}

/// Builds the input; groups telegraf-rs does not gather (`os`, `dmi`) are refused by name.
pub fn build(c: &SystemConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let all = c.include.is_empty() || c.include.iter().any(|g| g == "legacy");
    let mut groups = Groups {
        load: all,
        cpus: all,
        users: all,
        uptime: all,
    };
    for group in &c.include {
        match group.as_str() {
            "legacy" => {}
            "load" => groups.load = true,
            "cpus" => groups.cpus = true,
            "users" => groups.users = true,
            "uptime" => groups.uptime = true,
            other => {
                return Err(InputError::Settings(format!(
                    "include: group {other:?} is not implemented by telegraf-rs \
                     (implemented: legacy, load, cpus, users, uptime)"
                )))
            }
        }
    }
    Ok(Box::new(System {
        host: ctx.host.clone(),
        groups,
    }))
}

struct System {
    host: HostPaths,
    groups: Groups,
}

fn parse_error(what: &str, message: impl ToString) -> InputError {
    InputError::Parse {
        what: what.into(),
        message: message.to_string(),
    }
}

/// `" 3:07"`, `"1 day,  2:05"`, `"14 days, 11:07"`.
pub fn format_uptime(seconds: u64) -> String {
    let days = seconds / 86_400;
    let hours = seconds % 86_400 / 3600;
    let minutes = seconds % 3600 / 60;
    let clock = format!("{hours:>2}:{minutes:02}");
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        d => format!("{d} days, {clock}"),
    }
}

/// Size of glibc's `struct utmp` on 64-bit Linux, and the offsets of what is read from it.
const UTMP_RECORD: usize = 384;
const UTMP_USER_OFFSET: usize = 44;
const UTMP_USER_LEN: usize = 32;
const USER_PROCESS: i16 = 7;

/// Logged-in sessions and distinct user names in a utmp file.
fn count_users(utmp: &[u8]) -> (i64, i64) {
    let mut sessions = 0;
    let mut names = BTreeSet::new();
    for record in utmp.chunks_exact(UTMP_RECORD) {
        if i16::from_ne_bytes([record[0], record[1]]) != USER_PROCESS {
            continue;
        }
        sessions += 1;
        let user = &record[UTMP_USER_OFFSET..UTMP_USER_OFFSET + UTMP_USER_LEN];
        let end = user.iter().position(|&b| b == 0).unwrap_or(user.len());
        names.insert(user[..end].to_vec());
    }
    (sessions, names.len() as i64)
}

impl System {
    fn load_averages(&self) -> Result<[f64; 3], InputError> {
        let loadavg = self.host.read_proc("loadavg")?;
        let loads: Vec<f64> = loadavg
            .split_ascii_whitespace()
            .take(3)
            .map(|v| v.parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| parse_error("/proc/loadavg", e))?;
        match loads[..] {
            [a, b, c] => Ok([a, b, c]),
            _ => Err(parse_error(
                "/proc/loadavg",
                "fewer than three load averages",
            )),
        }
    }

    fn cpu_count(&self) -> Result<usize, InputError> {
        let cpus = self
            .host
            .read_proc("cpuinfo")
            .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(0);
        if cpus > 0 {
            return Ok(cpus);
        }
        let stat = self.host.read_proc("stat")?;
        Ok(stat
            .lines()
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count())
    }
}

impl SyncInput for System {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let groups = self.groups;
        let mut gauges = acc.metric("system");
        if groups.load {
            let [load1, load5, load15] = self.load_averages()?;
            gauges.add_field("load1", load1);
            gauges.add_field("load5", load5);
            gauges.add_field("load15", load15);
        }
        if groups.cpus {
            gauges.add_field("n_cpus", self.cpu_count()? as i64);
        }
        if groups.users {
            if let Ok(utmp) = std::fs::read(self.host.var.join("run/utmp")) {
                let (sessions, unique) = count_users(&utmp);
                gauges.add_field("n_users", sessions);
                gauges.add_field("n_unique_users", unique);
            }
        }
        acc.push(gauges);
        if !groups.uptime {
            return Ok(());
        }
        let uptime_text = self.host.read_proc("uptime")?;
        let uptime = uptime_text
            .split_ascii_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| parse_error("/proc/uptime", uptime_text.trim()))?
            as u64;
        acc.push(acc.metric("system").with_field("uptime", uptime));
        acc.push(
            acc.metric("system")
                .with_field("uptime_format", format_uptime(uptime)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn uptime_format_as_telegraf() {
        assert_eq!(format_uptime(3 * 3600 + 7 * 60), " 3:07");
        assert_eq!(
            format_uptime(86_400 + 2 * 3600 + 5 * 60 + 59),
            "1 day,  2:05"
        );
        assert_eq!(
            format_uptime(14 * 86_400 + 11 * 3600 + 7 * 60),
            "14 days, 11:07"
        );
    }

    fn utmp_record(kind: i16, user: &str) -> Vec<u8> {
        let mut r = vec![0u8; UTMP_RECORD];
        r[..2].copy_from_slice(&kind.to_ne_bytes());
        r[UTMP_USER_OFFSET..UTMP_USER_OFFSET + user.len()].copy_from_slice(user.as_bytes());
        r
    }

    #[test]
    fn three_metrics_with_users() {
        let fx = fixture(&[
            ("proc/loadavg", "0.50 0.25 0.10 1/100 12345\n"),
            (
                "proc/cpuinfo",
                "processor\t: 0\nmodel\t: x\n\nprocessor\t: 1\n",
            ),
            ("proc/uptime", "90061.52 1000.0\n"),
        ]);
        let utmp = [
            utmp_record(7, "ann"),
            utmp_record(7, "ann"),
            utmp_record(7, "bob"),
            utmp_record(8, "x"),
        ]
        .concat();
        std::fs::create_dir_all(fx.dir.path().join("var/run")).unwrap();
        std::fs::write(fx.dir.path().join("var/run/utmp"), utmp).unwrap();
        let mut input = build(&SystemConfig::default(), &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 3);
        assert_eq!(metrics[0].field("load5"), Some(&FieldValue::Float(0.25)));
        assert_eq!(metrics[0].field("n_cpus"), Some(&FieldValue::Int(2)));
        assert_eq!(metrics[0].field("n_users"), Some(&FieldValue::Int(3)));
        assert_eq!(
            metrics[0].field("n_unique_users"),
            Some(&FieldValue::Int(2))
        );
        assert_eq!(metrics[1].field("uptime"), Some(&FieldValue::UInt(90061)));
        assert_eq!(
            metrics[2].field("uptime_format"),
            Some(&FieldValue::Str("1 day,  1:01".into()))
        );
    }

    #[test]
    fn include_picks_field_groups() {
        let fx = fixture(&[
            ("proc/loadavg", "0.50 0.25 0.10 1/100 12345\n"),
            ("proc/cpuinfo", "processor\t: 0\n"),
            ("proc/uptime", "100.0 1.0\n"),
        ]);
        let config = SystemConfig {
            include: vec!["load".into()],
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].fields.len(), 3);
        let config = SystemConfig {
            include: vec!["uptime".into(), "cpus".into()],
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].field("n_cpus"), Some(&FieldValue::Int(1)));
        assert_eq!(metrics[0].field("load1"), None);
        assert_eq!(metrics[1].field("uptime"), Some(&FieldValue::UInt(100)));
        let config = SystemConfig {
            include: vec!["dmi".into()],
        };
        assert!(build(&config, &fx.ctx())
            .err()
            .unwrap()
            .to_string()
            .contains("\"dmi\""));
    }
}
