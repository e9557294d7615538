//! `inputs.internal`: the agent's own counters as `internal_agent`, `internal_gather` (per
//! input) and `internal_write` (per output), with Telegraf's field names.

use super::{Accumulator, BuildContext, Input, InputError, SyncInput};
use crate::stats::Stats;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Options of `[[inputs.internal]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InternalConfig {
    /// Go runtime memory figures in Telegraf; accepted, there is no Go runtime here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collect_memstats: Option<bool>,
}

/// Builds the input.
pub fn build(_: &InternalConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Internal {
        stats: ctx.stats.clone(),
    }))
}

struct Internal {
    stats: Arc<Stats>,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SyncInput for Internal {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let (gathers, writes) = self.stats.snapshot();
        let gathered: u64 = gathers.values().map(|g| g.metrics_gathered).sum();
        let errors: u64 = gathers.values().map(|g| g.errors).sum();
        let written: u64 = writes.values().map(|w| w.metrics_written).sum();
        let dropped: u64 = writes.values().map(|w| w.metrics_dropped).sum();
        acc.push(
            acc.metric("internal_agent")
                .with_tag("version", VERSION)
                .with_field("metrics_gathered", int(gathered))
                .with_field("metrics_written", int(written))
                .with_field("metrics_dropped", int(dropped))
                .with_field("gather_errors", int(errors)),
        );
        for (input, g) in gathers {
            acc.push(
                acc.metric("internal_gather")
                    .with_tag("input", input)
                    .with_tag("version", VERSION)
                    .with_field("metrics_gathered", int(g.metrics_gathered))
                    .with_field("gather_time_ns", g.gather_time_ns)
                    .with_field("errors", int(g.errors)),
            );
        }
        for (output, w) in writes {
            acc.push(
                acc.metric("internal_write")
                    .with_tag("output", output)
                    .with_tag("version", VERSION)
                    .with_field("metrics_added", int(w.metrics_added))
                    .with_field("metrics_written", int(w.metrics_written))
                    .with_field("metrics_dropped", int(w.metrics_dropped))
                    .with_field("metrics_filtered", int(w.metrics_filtered))
                    .with_field("buffer_size", int(w.buffer_size))
                    .with_field("buffer_limit", int(w.buffer_limit))
                    .with_field("write_time_ns", w.write_time_ns)
                    .with_field("errors", int(w.errors)),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;
    use std::time::Duration;

    #[test]
    fn reports_what_the_agent_counted() {
        let fx = fixture(&[]);
        let ctx = fx.ctx();
        ctx.stats
            .gathered("cpu", 5, Duration::from_micros(3), false);
        ctx.stats.output("influxdb", |w| {
            w.metrics_written = 4;
            w.metrics_dropped = 1;
        });
        let mut input = build(&InternalConfig::default(), &ctx).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].name, "internal_agent");
        assert_eq!(
            metrics[0].field("metrics_gathered"),
            Some(&FieldValue::Int(5))
        );
        assert_eq!(
            metrics[0].field("metrics_dropped"),
            Some(&FieldValue::Int(1))
        );
        assert_eq!(metrics[1].tags["input"], "cpu");
        assert_eq!(
            metrics[1].field("gather_time_ns"),
            Some(&FieldValue::Int(3000))
        );
        assert_eq!(metrics[2].tags["output"], "influxdb");
        assert_eq!(
            metrics[2].field("metrics_written"),
            Some(&FieldValue::Int(4))
        );
    }
}
