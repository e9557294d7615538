//! `inputs.swap`: swap size and use (`/proc/meminfo`) and pages swapped in and out (`/proc/vmstat`).

use super::{key_numbers, Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

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

/// The numbers of `keys` in a `/proc/meminfo`-style text (0 for a key it lacks), without
/// hashing the other lines (`/proc/vmstat` has some 170, read each second for two).
fn pick<const N: usize>(text: &str, keys: [&str; N]) -> [u64; N] {
    let mut found = [0; N];
    for (key, number) in key_numbers(text) {
        if let Some(i) = keys.iter().position(|k| *k == key) {
            found[i] = number;
        }
    }
    found
}

impl SyncInput for Swap {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let meminfo = self.host.read_proc("meminfo")?;
        let [total, free] = pick(&meminfo, ["SwapTotal", "SwapFree"]).map(|kib| kib * 1024);
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
        let [pages_in, pages_out] = pick(&vmstat, ["pswpin", "pswpout"]);
        acc.push(
            acc.metric("swap")
                .with_field("in", pages_in * PAGE_BYTES)
                .with_field("out", pages_out * PAGE_BYTES),
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
