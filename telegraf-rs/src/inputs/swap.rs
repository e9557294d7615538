//! `inputs.swap`: swap size and use (`/proc/meminfo`) and pages swapped in and out (`/proc/vmstat`).

use super::{key_numbers, Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// `[[inputs.swap]]` has no options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SwapConfig {}

/// Builds the input.
pub fn build(_: &SwapConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Swap {
        host: ctx.host.clone(),
    }))
}

struct Swap {
    host: HostPaths,
}

/// The kernel counts swapped pages in 4 KiB units on every architecture Telegraf reports bytes for.
const PAGE_BYTES: u64 = 4096;

impl SyncInput for Swap {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let meminfo = self.host.read_proc("meminfo")?;
        let info: HashMap<&str, u64> = key_numbers(&meminfo).collect();
        let total = info.get("SwapTotal").copied().unwrap_or(0) * 1024;
        let free = info.get("SwapFree").copied().unwrap_or(0) * 1024;
        let used = total.saturating_sub(free);
        let used_percent = if total == 0 {
            0.0
        } else {
            100.0 * used as f64 / total as f64
        };
        acc.push(
            acc.metric("swap")
                .with_field("total", total)
                .with_field("used", used)
                .with_field("free", free)
                .with_field("used_percent", used_percent),
        );
        let vmstat = self.host.read_proc("vmstat")?;
        let counters: HashMap<&str, u64> = key_numbers(&vmstat).collect();
        acc.push(
            acc.metric("swap")
                .with_field(
                    "in",
                    counters.get("pswpin").copied().unwrap_or(0) * PAGE_BYTES,
                )
                .with_field(
                    "out",
                    counters.get("pswpout").copied().unwrap_or(0) * PAGE_BYTES,
                ),
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
    fn gauges_and_counters() {
        let fx = fixture(&[
            ("proc/meminfo", "SwapTotal: 400 kB\nSwapFree: 100 kB\n"),
            ("proc/vmstat", "pswpin 3\npswpout 5\n"),
        ]);
        let mut input = build(&SwapConfig {}, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(
            metrics[0].field("used"),
            Some(&FieldValue::UInt(300 * 1024))
        );
        assert_eq!(
            metrics[0].field("used_percent"),
            Some(&FieldValue::Float(75.0))
        );
        assert_eq!(metrics[1].field("in"), Some(&FieldValue::UInt(3 * 4096)));
        assert_eq!(metrics[1].field("out"), Some(&FieldValue::UInt(5 * 4096)));
    }
}
