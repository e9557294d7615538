//! A running input: its schedule, and what the agent does to each metric it gathers (rename,
//! tags, `host`, filters) before the metrics go to the outputs.

use crate::config::{AgentConfig, InputInstance, Naming};
use crate::filter::Filter;
use crate::inputs::{Accumulator, BuildContext, Input};
use crate::metric::{now_nanos, Metric};
use crate::stats::Stats;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One input instance ready to gather.
pub struct RunningInput {
    /// Name in logs and `internal_gather`: the alias, else the plugin name.
    pub label: String,
    name: String,
    filter: Filter,
    input: Box<dyn Input>,
    /// Time between gathers.
    pub interval: Duration,
    precision: Duration,
    jitter: Duration,
    offset: Duration,
    round: bool,
    /// The instance's renaming, with the tags every metric gets unless it has them: the
    /// plugin's, then global ones and `host`.
    naming: Naming,
    stats: Arc<Stats>,
}

/// Telegraf's automatic precision: the largest of 1s, 1ms, 1µs not above the interval.
pub(crate) fn auto_precision(interval: Duration) -> Duration {
    [
        Duration::from_secs(1),
        Duration::from_millis(1),
        Duration::from_micros(1),
    ]
    .into_iter()
    .find(|p| interval >= *p)
    .unwrap_or(Duration::from_nanos(1))
}

/// `t` rounded to the nearest multiple of `precision`.
pub(crate) fn round_to(t: i64, precision: Duration) -> i64 {
    let p = i64::try_from(precision.as_nanos()).unwrap_or(1).max(1);
    (t + p / 2).div_euclid(p) * p
}

impl RunningInput {
    /// Builds the input of `instance` with the agent's defaults and the tags to add.
    pub fn new(
        instance: &InputInstance,
        agent: &AgentConfig,
        global_tags: &BTreeMap<String, String>,
        ctx: &BuildContext,
    ) -> Result<Self, String> {
        let input = instance
            .settings
            .build(ctx)
            .map_err(|e| format!("{}: inputs.{}: {e}", instance.origin, instance.name))?;
        let filter =
            Filter::new(&instance.filter).map_err(|e| format!("{}: {e}", instance.origin))?;
        let common = &instance.common;
        let interval = common
            .interval
            .unwrap_or(agent.interval)
            .0
            .max(Duration::from_millis(1));
        let precision = match common.precision.unwrap_or(agent.precision).0 {
            p if p.is_zero() => auto_precision(interval),
            p => p,
        };
        let mut naming = common.naming.clone();
        let plugin_tags = std::mem::replace(&mut naming.tags, global_tags.clone());
        naming.tags.extend(plugin_tags);
        Ok(RunningInput {
            label: common
                .alias
                .clone()
                .unwrap_or_else(|| instance.name.clone()),
            name: instance.name.clone(),
            filter,
            input,
            interval,
            precision,
            jitter: common
                .collection_jitter
                .unwrap_or(agent.collection_jitter)
                .0,
            offset: common
                .collection_offset
                .unwrap_or(agent.collection_offset)
                .0,
            round: agent.round_interval,
            naming,
            stats: ctx.stats.clone(),
        })
    }

    /// The plugin name.
    pub fn plugin(&self) -> &str {
        &self.name
    }

    /// How long to wait from now until the next gather.
    pub fn until_next(&self) -> Duration {
        let jitter = match self.jitter.as_nanos() {
            0 => Duration::ZERO,
            j => Duration::from_nanos(rand::random::<u64>() % u64::try_from(j).unwrap_or(u64::MAX)),
        };
        let base = if self.round {
            let step = self.interval.as_nanos().max(1);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let offset = self.offset.as_nanos() % step;
            let next = ((now + step - offset) / step) * step + offset;
            Duration::from_nanos(u64::try_from(next - now).unwrap_or(0))
        } else {
            self.interval + self.offset
        };
        base + jitter
    }

    /// Gathers once; returns the finished metrics (renamed, tagged, filtered) and logs errors.
    pub async fn gather(&mut self) -> Vec<Metric> {
        let started = Instant::now();
        let mut acc = Accumulator::new(round_to(now_nanos(), self.precision));
        let result = self.input.gather(&mut acc).await;
        if let Err(e) = &result {
            tracing::error!(input = %self.label, "error in plugin: {e}");
        }
        let metrics: Vec<Metric> = acc
            .metrics
            .into_iter()
            .filter_map(|m| self.finish(m))
            .collect();
        self.stats.gathered(
            &self.label,
            metrics.len(),
            started.elapsed(),
            result.is_err(),
        );
        metrics
    }

    /// For a service input: the future that serves, sending raw metrics to `sink`.
    pub fn serve(
        &mut self,
        sink: tokio::sync::mpsc::Sender<Vec<Metric>>,
    ) -> Option<crate::inputs::ServiceFuture> {
        self.input.serve(sink)
    }

    /// What a service input delivered, renamed, tagged and filtered like gathered metrics.
    pub fn finish_all(&self, metrics: Vec<Metric>) -> Vec<Metric> {
        let finished: Vec<Metric> = metrics.into_iter().filter_map(|m| self.finish(m)).collect();
        self.stats
            .gathered(&self.label, finished.len(), Duration::ZERO, false);
        finished
    }

    /// Gathers and throws the result away: inputs that compute rates need a first sample.
    pub async fn prime(&mut self) {
        let mut acc = Accumulator::new(now_nanos());
        let _ = self.input.gather(&mut acc).await;
    }

    fn finish(&self, mut m: Metric) -> Option<Metric> {
        self.naming.apply(&mut m, false);
        self.filter.apply(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_follows_the_interval() {
        assert_eq!(
            auto_precision(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            auto_precision(Duration::from_millis(10)),
            Duration::from_millis(1)
        );
        assert_eq!(
            auto_precision(Duration::from_nanos(10)),
            Duration::from_nanos(1)
        );
        assert_eq!(
            round_to(1_499_999_999, Duration::from_secs(1)),
            1_000_000_000
        );
        assert_eq!(
            round_to(1_500_000_000, Duration::from_secs(1)),
            2_000_000_000
        );
    }
}
