//! `inputs.kernel`: boot time, context switches, interrupts and forks (`/proc/stat`) and the
//! entropy pool; with `collect = ["ksm"]` the kernel same-page merging counters
//! (`/sys/kernel/mm/ksm`), with `"psi"` the pressure stall information of `/proc/pressure` as
//! the `pressure` measurement.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.kernel]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct KernelConfig {
    /// Extra groups: `ksm`, `psi`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

/// The KSM counters Telegraf reads, each a file of `/sys/kernel/mm/ksm/`.
const KSM_FILES: &[&str] = &[
    "full_scans",
    "max_page_sharing",
    "merge_across_nodes",
    "pages_shared",
    "pages_sharing",
    "pages_to_scan",
    "pages_unshared",
    "pages_volatile",
    "run",
    "sleep_millisecs",
    "stable_node_chains",
    "stable_node_chains_prune_millisecs",
    "stable_node_dups",
    "use_zero_pages",
];

/// Builds the input; `ksm` needs the kernel's KSM directory.
pub fn build(c: &KernelConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let mut kernel = Kernel {
        host: ctx.host.clone(),
        ksm: false,
        psi: false,
    };
    for group in &c.collect {
        match group.as_str() {
            "ksm" => kernel.ksm = true,
            "psi" => kernel.psi = true,
            other => {
                return Err(InputError::Settings(format!(
                    "collect: unknown group {other:?} (known: ksm, psi)"
                )))
            }
        }
    }
    let ksm_dir = kernel.host.sys.join("kernel/mm/ksm");
    if kernel.ksm && !ksm_dir.is_dir() {
        return Err(InputError::Settings(format!(
            "directory {} does not exist: KSM is not enabled in this kernel",
            ksm_dir.display()
        )));
    }
    Ok(Box::new(kernel))
}

struct Kernel {
    host: HostPaths,
    ksm: bool,
    psi: bool,
}

impl Kernel {
    fn add_ksm(&self, m: &mut crate::metric::Metric) -> Result<(), InputError> {
        let dir = self.host.sys.join("kernel/mm/ksm");
        for name in KSM_FILES {
            // Older kernels lack some counters: those are left out.
            let Ok(text) = super::read_text(dir.join(name)) else {
                continue;
            };
            let value = text.trim().parse::<i64>().map_err(|e| InputError::Parse {
                what: dir.join(name).display().to_string(),
                message: e.to_string(),
            })?;
            m.add_field(format!("ksm_{name}"), value);
        }
        Ok(())
    }

    /// One `pressure` metric of averages and one of the total per resource and kind (`cpu`
    /// has no `full` in Telegraf's output).
    fn gather_pressure(&self, acc: &mut Accumulator) -> Result<(), InputError> {
        for resource in ["cpu", "memory", "io"] {
            let text = self.host.read_proc(&format!("pressure/{resource}"))?;
            for line in text.lines() {
                let mut parts = line.split_ascii_whitespace();
                let kind = parts.next().unwrap_or_default();
                if !matches!(kind, "some" | "full") || (resource == "cpu" && kind == "full") {
                    continue;
                }
                let metric = || {
                    acc.metric("pressure")
                        .with_tag("resource", resource)
                        .with_tag("type", kind)
                };
                let (mut averages, mut total) = (metric(), metric());
                for part in parts {
                    let bad = || InputError::Parse {
                        what: format!("/proc/pressure/{resource}"),
                        message: format!("bad value {part:?}"),
                    };
                    let (key, value) = part.split_once('=').ok_or_else(bad)?;
                    match key {
                        "avg10" | "avg60" | "avg300" => {
                            averages.add_field(key, value.parse::<f64>().map_err(|_| bad())?)
                        }
                        "total" => total.add_field(key, value.parse::<i64>().map_err(|_| bad())?),
                        _ => {}
                    }
                }
                acc.push(averages);
                acc.push(total);
            }
        }
        Ok(())
    }
}

impl SyncInput for Kernel {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let stat = self.host.read_proc("stat")?;
        let mut m = acc.metric("kernel");
        for line in stat.lines() {
            let mut parts = line.split_ascii_whitespace();
            let key = parts.next().unwrap_or("");
            let first = parts.next().and_then(|v| v.parse::<i64>().ok());
            match (key, first) {
                ("ctxt", Some(v)) => m.add_field("context_switches", v),
                ("btime", Some(v)) => m.add_field("boot_time", v),
                ("intr", Some(v)) => m.add_field("interrupts", v),
                ("processes", Some(v)) => m.add_field("processes_forked", v),
                ("page", Some(v)) => {
                    m.add_field("disk_pages_in", v);
                    if let Some(out) = parts.next().and_then(|v| v.parse::<i64>().ok()) {
                        m.add_field("disk_pages_out", out);
                    }
                }
                _ => {}
            }
        }
        if let Ok(entropy) = self.host.read_proc("sys/kernel/random/entropy_avail") {
            let value = entropy
                .trim()
                .parse::<i64>()
                .map_err(|e| InputError::Parse {
                    what: "entropy_avail".into(),
                    message: e.to_string(),
                })?;
            m.add_field("entropy_avail", value);
        }
        if self.ksm {
            self.add_ksm(&mut m)?;
        }
        acc.push(m);
        if self.psi {
            self.gather_pressure(acc)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn stat_counters_and_entropy() {
        let fx = fixture(&[
            (
                "proc/stat",
                "cpu 1 2 3 4\nintr 1000 1 2\nctxt 5000\nbtime 1700000000\nprocesses 77\n",
            ),
            ("proc/sys/kernel/random/entropy_avail", "256\n"),
        ]);
        let mut input = build(&KernelConfig::default(), &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("interrupts"), Some(&FieldValue::Int(1000)));
        assert_eq!(m.field("context_switches"), Some(&FieldValue::Int(5000)));
        assert_eq!(m.field("boot_time"), Some(&FieldValue::Int(1_700_000_000)));
        assert_eq!(m.field("processes_forked"), Some(&FieldValue::Int(77)));
        assert_eq!(m.field("entropy_avail"), Some(&FieldValue::Int(256)));
    }

    #[test]
    fn ksm_and_pressure_groups() {
        let fx = fixture(&[
            ("proc/stat", "ctxt 5\n"),
            ("sys/kernel/mm/ksm/run", "1\n"),
            ("sys/kernel/mm/ksm/pages_shared", "42\n"),
            (
                "proc/pressure/cpu",
                "some avg10=0.13 avg60=1.50 avg300=0.66 total=2787386\n\
                 full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
            ),
            (
                "proc/pressure/memory",
                "some avg10=1.00 avg60=0.00 avg300=0.00 total=10\n\
                 full avg10=0.50 avg60=0.00 avg300=0.00 total=5\n",
            ),
            (
                "proc/pressure/io",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n\
                 full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n",
            ),
        ]);
        let config = KernelConfig {
            collect: vec!["ksm".into(), "psi".into()],
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].field("ksm_run"), Some(&FieldValue::Int(1)));
        assert_eq!(
            metrics[0].field("ksm_pages_shared"),
            Some(&FieldValue::Int(42))
        );
        assert_eq!(metrics[0].field("ksm_full_scans"), None);
        let pressure: Vec<_> = metrics[1..].iter().collect();
        // cpu some (2), memory some+full (4), io some+full (4).
        assert_eq!(pressure.len(), 10);
        assert_eq!(
            pressure[0].tags.get("resource").map(String::as_str),
            Some("cpu")
        );
        assert_eq!(pressure[0].field("avg60"), Some(&FieldValue::Float(1.5)));
        assert_eq!(
            pressure[1].field("total"),
            Some(&FieldValue::Int(2_787_386))
        );
        assert_eq!(
            pressure[4].tags.get("type").map(String::as_str),
            Some("full")
        );
        assert_eq!(pressure[4].field("avg10"), Some(&FieldValue::Float(0.5)));
    }

    #[test]
    fn ksm_without_the_directory_and_unknown_groups_are_refused() {
        let fx = fixture(&[("proc/stat", "ctxt 5\n")]);
        let ksm = KernelConfig {
            collect: vec!["ksm".into()],
        };
        assert!(build(&ksm, &fx.ctx())
            .err()
            .unwrap()
            .to_string()
            .contains("KSM"));
        let other = KernelConfig {
            collect: vec!["slab".into()],
        };
        assert!(build(&other, &fx.ctx()).is_err());
    }
}
