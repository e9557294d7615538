//! `inputs.kernel`: boot time, context switches, interrupts and forks (`/proc/stat`) and the
//! entropy pool.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.kernel]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct KernelConfig {
    /// Extra groups (`ksm`, `psi`); accepted, only the classic fields are gathered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collect: Vec<String>,
}

/// Builds the input.
pub fn build(_: &KernelConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Kernel {
        host: ctx.host.clone(),
    }))
}

struct Kernel {
    host: HostPaths,
}

impl SyncInput for Kernel {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let stat = self.host.read_proc("stat")?;
        let mut m = acc.metric("kernel");
        for line in stat.lines() {
            let mut parts = line.split_whitespace();
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
        acc.push(m);
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
}
