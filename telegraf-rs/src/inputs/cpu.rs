//! `inputs.cpu`: per-CPU and total CPU time and usage percentages from `/proc/stat`.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Options of `[[inputs.cpu]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct CpuConfig {
    /// One series per CPU (`cpu0`, …).
    pub percpu: bool,
    /// The `cpu-total` series.
    pub totalcpu: bool,
    /// Also the cumulative `time_*` fields.
    pub collect_cpu_time: bool,
    /// Add `time_active` / `usage_active`.
    pub report_active: bool,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            percpu: true,
            totalcpu: true,
            collect_cpu_time: false,
            report_active: false,
        }
    }
}

/// Builds the input.
pub fn build(config: &CpuConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Cpu {
        config: config.clone(),
        host: ctx.host.clone(),
        ticks_per_second: clock_ticks(),
        previous: HashMap::new(),
    }))
}

/// The kernel's clock ticks per second (`USER_HZ`), the unit of `/proc` CPU times.
pub(crate) fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// Columns of a `cpu` line, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Times {
    user: f64,
    nice: f64,
    system: f64,
    idle: f64,
    iowait: f64,
    irq: f64,
    softirq: f64,
    steal: f64,
    guest: f64,
    guest_nice: f64,
}

impl Times {
    /// Guest time is already inside user and nice, so it is not added again.
    fn total(&self) -> f64 {
        self.user
            + self.system
            + self.nice
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
            + self.idle
    }
}

struct Cpu {
    config: CpuConfig,
    host: HostPaths,
    ticks_per_second: f64,
    previous: HashMap<String, Times>,
}

fn parse_stat(text: &str, ticks: f64) -> Result<Vec<(String, Times)>, InputError> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("cpu")) {
        let mut parts = line.split_ascii_whitespace();
        let Some(name) = parts.next() else { continue };
        let values: Vec<f64> = parts
            .map(|p| p.parse::<f64>().map(|v| v / ticks))
            .collect::<Result<_, _>>()
            .map_err(|e| InputError::Parse {
                what: "/proc/stat".into(),
                message: format!("{line:?}: {e}"),
            })?;
        if values.len() < 4 {
            return Err(InputError::Parse {
                what: "/proc/stat".into(),
                message: format!("{line:?}: fewer than 4 columns"),
            });
        }
        let at = |i: usize| values.get(i).copied().unwrap_or(0.0);
        let tag = if name == "cpu" {
            "cpu-total".to_string()
        } else {
            name.to_string()
        };
        out.push((
            tag,
            Times {
                user: at(0),
                nice: at(1),
                system: at(2),
                idle: at(3),
                iowait: at(4),
                irq: at(5),
                softirq: at(6),
                steal: at(7),
                guest: at(8),
                guest_nice: at(9),
            },
        ));
    }
    Ok(out)
}

impl SyncInput for Cpu {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let text = self.host.read_proc("stat")?;
        let samples = parse_stat(&text, self.ticks_per_second)?;
        let mut errors = Vec::new();
        for (tag, now) in samples {
            let is_total = tag == "cpu-total";
            if (is_total && !self.config.totalcpu) || (!is_total && !self.config.percpu) {
                continue;
            }
            if self.config.collect_cpu_time {
                let mut m = acc
                    .metric("cpu")
                    .with_tag("cpu", tag.as_str())
                    .with_field("time_user", now.user)
                    .with_field("time_system", now.system)
                    .with_field("time_idle", now.idle)
                    .with_field("time_nice", now.nice)
                    .with_field("time_iowait", now.iowait)
                    .with_field("time_irq", now.irq)
                    .with_field("time_softirq", now.softirq)
                    .with_field("time_steal", now.steal)
                    .with_field("time_guest", now.guest)
                    .with_field("time_guest_nice", now.guest_nice);
                if self.config.report_active {
                    m.add_field("time_active", now.total() - now.idle);
                }
                acc.push(m);
            }
            let Some(last) = self.previous.insert(tag.clone(), now) else {
                continue;
            };
            let total = now.total() - last.total();
            if total < 0.0 {
                errors.push(format!(
                    "current total CPU time of {tag} is less than the previous one"
                ));
                continue;
            }
            if total == 0.0 {
                continue;
            }
            let pct = |d: f64| 100.0 * d / total;
            let mut m = acc
                .metric("cpu")
                .with_tag("cpu", tag.as_str())
                .with_field(
                    "usage_user",
                    pct((now.user - now.guest) - (last.user - last.guest)),
                )
                .with_field("usage_system", pct(now.system - last.system))
                .with_field("usage_idle", pct(now.idle - last.idle))
                .with_field(
                    "usage_nice",
                    pct((now.nice - now.guest_nice) - (last.nice - last.guest_nice)),
                )
                .with_field("usage_iowait", pct(now.iowait - last.iowait))
                .with_field("usage_irq", pct(now.irq - last.irq))
                .with_field("usage_softirq", pct(now.softirq - last.softirq))
                .with_field("usage_steal", pct(now.steal - last.steal))
                .with_field("usage_guest", pct(now.guest - last.guest))
                .with_field("usage_guest_nice", pct(now.guest_nice - last.guest_nice));
            if self.config.report_active {
                m.add_field("usage_active", pct(total - (now.idle - last.idle)));
            }
            acc.push(m);
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(InputError::Parse {
                what: "/proc/stat".into(),
                message: errors.join("; "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with, Fixture};
    use crate::metric::FieldValue;

    const STAT1: &str =
        "cpu  100 10 50 800 20 5 5 10 0 0\ncpu0 100 10 50 800 20 5 5 10 0 0\nintr 1\n";
    const STAT2: &str =
        "cpu  160 10 70 880 20 5 5 30 20 0\ncpu0 160 10 70 880 20 5 5 30 20 0\nintr 1\n";

    #[test]
    fn usage_from_the_second_gather_on() {
        let fx: Fixture = fixture(&[("proc/stat", STAT1)]);
        let config = CpuConfig {
            collect_cpu_time: true,
            report_active: true,
            ..CpuConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let first = gather_with(&mut input);
        assert_eq!(first.len(), 2, "time metrics only: {first:?}");
        let total = first.iter().find(|m| m.tags["cpu"] == "cpu-total").unwrap();
        let ticks = clock_ticks();
        assert_eq!(
            total.field("time_user"),
            Some(&FieldValue::Float(100.0 / ticks))
        );
        assert_eq!(
            total.field("time_active"),
            Some(&FieldValue::Float(200.0 / ticks))
        );

        fx.write("proc/stat", STAT2);
        let second = gather_with(&mut input);
        let usage = second
            .iter()
            .find(|m| m.tags["cpu"] == "cpu0" && m.field("usage_user").is_some())
            .unwrap();
        // Δtotal = 60+20+80+20 = 180 ticks; Δuser − Δguest = 40.
        let f = |k: &str| match usage.field(k) {
            Some(FieldValue::Float(v)) => *v,
            other => panic!("{k}: {other:?}"),
        };
        assert!((f("usage_user") - 100.0 * 40.0 / 180.0).abs() < 1e-9);
        assert!((f("usage_idle") - 100.0 * 80.0 / 180.0).abs() < 1e-9);
        assert!((f("usage_guest") - 100.0 * 20.0 / 180.0).abs() < 1e-9);
        assert!((f("usage_active") - 100.0 * 100.0 / 180.0).abs() < 1e-9);
    }

    #[test]
    fn percpu_and_totalcpu_select_series() {
        let fx = fixture(&[("proc/stat", STAT1)]);
        let config = CpuConfig {
            percpu: false,
            collect_cpu_time: true,
            ..CpuConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert!(metrics.iter().all(|m| m.tags["cpu"] == "cpu-total"));
    }
}
