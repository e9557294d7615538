//! `inputs.mem`: memory figures from `/proc/meminfo`, in bytes.
//!
//! `used` is `total − free − buffered − cached` (with `cached` including `SReclaimable`), the
//! definition of Telegraf up to 1.36 that most stored dashboards were built on.

use super::{key_numbers, Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Options of `[[inputs.mem]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MemConfig {
    /// Also `active_anon`, `active_file`, `inactive_anon`, `inactive_file`, `percpu`, `unevictable`.
    pub collect_extended: bool,
}

/// Builds the input.
pub fn build(config: &MemConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Mem {
        config: config.clone(),
        host: ctx.host.clone(),
    }))
}

struct Mem {
    config: MemConfig,
    host: HostPaths,
}

/// meminfo keys → field names, in Telegraf's field order; all bytes except the huge page counts.
const FIELDS: &[(&str, &str)] = &[
    ("Active", "active"),
    ("CommitLimit", "commit_limit"),
    ("Committed_AS", "committed_as"),
    ("Dirty", "dirty"),
    ("HighFree", "high_free"),
    ("HighTotal", "high_total"),
    ("Hugepagesize", "huge_page_size"),
    ("HugePages_Free", "huge_pages_free"),
    ("HugePages_Total", "huge_pages_total"),
    ("Inactive", "inactive"),
    ("LowFree", "low_free"),
    ("LowTotal", "low_total"),
    ("Mapped", "mapped"),
    ("PageTables", "page_tables"),
    ("Shmem", "shared"),
    ("Slab", "slab"),
    ("SReclaimable", "sreclaimable"),
    ("SUnreclaim", "sunreclaim"),
    ("SwapCached", "swap_cached"),
    ("SwapFree", "swap_free"),
    ("SwapTotal", "swap_total"),
    ("VmallocChunk", "vmalloc_chunk"),
    ("VmallocTotal", "vmalloc_total"),
    ("VmallocUsed", "vmalloc_used"),
    ("Writeback", "write_back"),
    ("WritebackTmp", "write_back_tmp"),
];

const EXTENDED: &[(&str, &str)] = &[
    ("Active(anon)", "active_anon"),
    ("Active(file)", "active_file"),
    ("Inactive(anon)", "inactive_anon"),
    ("Inactive(file)", "inactive_file"),
    ("Percpu", "percpu"),
    ("Unevictable", "unevictable"),
];

impl SyncInput for Mem {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let text = self.host.read_proc("meminfo")?;
        let info: HashMap<&str, u64> = key_numbers(&text).collect();
        let bytes = |key: &str| {
            let v = info.get(key).copied().unwrap_or(0);
            if key.starts_with("HugePages_") {
                v
            } else {
                v.saturating_mul(1024)
            }
        };
        let total = bytes("MemTotal");
        let free = bytes("MemFree");
        let buffered = bytes("Buffers");
        let cached = bytes("Cached") + bytes("SReclaimable");
        let available = match info.contains_key("MemAvailable") {
            true => bytes("MemAvailable"),
            false => free + cached,
        };
        let used = total
            .saturating_sub(free)
            .saturating_sub(buffered)
            .saturating_sub(cached);
        let percent = |v: u64| {
            if total == 0 {
                0.0
            } else {
                100.0 * v as f64 / total as f64
            }
        };
        let mut m = acc
            .metric("mem")
            .with_field("total", total)
            .with_field("available", available)
            .with_field("used", used)
            .with_field("free", free)
            .with_field("buffered", buffered)
            .with_field("cached", cached)
            .with_field("used_percent", percent(used))
            .with_field("available_percent", percent(available));
        for (key, field) in FIELDS {
            m.add_field(*field, bytes(key));
        }
        if self.config.collect_extended {
            for (key, field) in EXTENDED {
                m.add_field(*field, bytes(key));
            }
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

    const MEMINFO: &str = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\nBuffers:          50 kB\nCached:          200 kB\nSReclaimable:     30 kB\nHugePages_Total:       2\nHugepagesize:       2048 kB\nActive(anon):      7 kB\n";

    #[test]
    fn bytes_and_percentages() {
        let fx = fixture(&[("proc/meminfo", MEMINFO)]);
        let mut input = build(
            &MemConfig {
                collect_extended: true,
            },
            &fx.ctx(),
        )
        .unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("total"), Some(&FieldValue::UInt(1_024_000)));
        assert_eq!(m.field("cached"), Some(&FieldValue::UInt(230 * 1024)));
        assert_eq!(
            m.field("used"),
            Some(&FieldValue::UInt((1000 - 100 - 50 - 230) * 1024))
        );
        assert_eq!(m.field("used_percent"), Some(&FieldValue::Float(62.0)));
        assert_eq!(m.field("available_percent"), Some(&FieldValue::Float(60.0)));
        assert_eq!(m.field("huge_pages_total"), Some(&FieldValue::UInt(2)));
        assert_eq!(
            m.field("huge_page_size"),
            Some(&FieldValue::UInt(2048 * 1024))
        );
        assert_eq!(m.field("active_anon"), Some(&FieldValue::UInt(7 * 1024)));
    }
}
