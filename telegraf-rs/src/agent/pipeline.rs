//! What happens to metrics between the inputs and the outputs' buffers: the processors in
//! order, then every aggregator takes a copy of what it selects (the original goes on unless
//! `drop_original`), and at each aggregation window's end what the aggregators push goes
//! through a second, separate set of the same processors, as in Telegraf.

use super::input::{auto_precision, round_to};
use crate::aggregators::{Aggregator, AggregatorContext};
use crate::config::{AggregatorInstance, Config, ProcessorInstance};
use crate::filter::Filter;
use crate::metric::Metric;
use crate::processors::{Processor, ProcessorContext};
use std::time::Duration;

/// One processor instance with its filters.
struct RunningProcessor {
    filter: Filter,
    processor: Box<dyn Processor>,
}

impl RunningProcessor {
    fn new(instance: &ProcessorInstance) -> Result<Self, String> {
        let processor = instance
            .settings
            .build(&ProcessorContext)
            .map_err(|e| format!("{}: processors.{}: {e}", instance.origin, instance.name))?;
        let filter =
            Filter::new(&instance.filter).map_err(|e| format!("{}: {e}", instance.origin))?;
        Ok(RunningProcessor { filter, processor })
    }

    /// Metrics the selectors leave out pass unchanged; the rest are modified by the filters'
    /// modifiers, then processed.
    fn apply(&mut self, m: Metric, out: &mut Vec<Metric>) {
        if !self.filter.selects(&m) {
            out.push(m);
        } else if let Some(m) = self.filter.modify(m) {
            self.processor.apply(m, out);
        }
    }
}

/// Runs `metrics` through `processors` in order.
fn run_processors(processors: &mut [RunningProcessor], mut metrics: Vec<Metric>) -> Vec<Metric> {
    for p in processors {
        let mut out = Vec::with_capacity(metrics.len());
        for m in metrics {
            p.apply(m, &mut out);
        }
        metrics = out;
    }
    metrics
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// One aggregator instance: its filters, window and naming.
struct RunningAggregator {
    label: String,
    instance: AggregatorInstance,
    filter: Filter,
    aggregator: Box<dyn Aggregator>,
    period: i64,
    delay: i64,
    grace: i64,
    /// The current window, `[start, end)` in ns.
    start: i64,
    end: i64,
    precision: Duration,
}

impl RunningAggregator {
    fn new(instance: &AggregatorInstance, config: &Config, now: i64) -> Result<Self, String> {
        let aggregator = instance
            .settings
            .build(&AggregatorContext)
            .map_err(|e| format!("{}: aggregators.{}: {e}", instance.origin, instance.name))?;
        let filter =
            Filter::new(&instance.filter).map_err(|e| format!("{}: {e}", instance.origin))?;
        let common = &instance.common;
        let period = nanos(common.period.0).max(1);
        let start = match config.agent.round_interval {
            true => now - now.rem_euclid(period),
            false => now,
        };
        let precision = match config.agent.precision.0 {
            p if p.is_zero() => auto_precision(config.agent.interval.0),
            p => p,
        };
        Ok(RunningAggregator {
            label: common
                .alias
                .clone()
                .unwrap_or_else(|| instance.name.clone()),
            instance: instance.clone(),
            filter,
            aggregator,
            period,
            delay: nanos(common.delay.0),
            grace: nanos(common.grace.0),
            start,
            end: start.saturating_add(period),
            precision,
        })
    }

    /// Gives the aggregator a copy of `m` if it selects it and it falls in the window (less
    /// `grace`, plus `delay`); whether the original is to be dropped.
    fn add(&mut self, m: &Metric) -> bool {
        let drop_original = self.instance.common.drop_original;
        if !self.filter.selects(m) {
            return false;
        }
        let Some(copy) = self.filter.modify(m.clone()) else {
            return drop_original;
        };
        let earliest = self.start.saturating_sub(self.grace);
        let latest = self.end.saturating_add(self.delay);
        if copy.time < earliest || copy.time > latest {
            tracing::debug!(
                aggregator = %self.label,
                "metric is outside the aggregation window; discarded"
            );
            return drop_original;
        }
        self.aggregator.add(&copy);
        drop_original
    }

    /// When the current window's results are due.
    fn due(&self) -> i64 {
        self.end.saturating_add(self.delay)
    }

    /// Pushes the window's results (named and tagged by the instance's options), resets the
    /// aggregator and moves to the window after.
    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        let mut pushed = Vec::new();
        self.aggregator
            .push(round_to(now, self.precision), &mut pushed);
        self.aggregator.reset();
        for mut m in pushed {
            self.instance.common.naming.apply(&mut m, false);
            if !m.fields.is_empty() {
                out.push(m);
            }
        }
        // A window whose end has passed long ago (the machine slept) is skipped.
        self.start = self.end;
        self.end = self.start.saturating_add(self.period);
        while self.due() <= now {
            self.start = self.end;
            self.end = self.start.saturating_add(self.period);
        }
    }
}

/// The processors and aggregators of a configuration, running.
pub struct Pipeline {
    processors: Vec<RunningProcessor>,
    aggregators: Vec<RunningAggregator>,
    /// The processors again, with state of their own, for what aggregators push.
    after_aggregators: Vec<RunningProcessor>,
}

impl Pipeline {
    /// Builds every processor (twice) and aggregator; every failure is reported.
    pub fn build(config: &Config, now: i64) -> Result<Pipeline, Vec<String>> {
        let mut errors = Vec::new();
        let processors = |errors: &mut Vec<String>| -> Vec<RunningProcessor> {
            config
                .processors
                .iter()
                .filter_map(|p| RunningProcessor::new(p).map_err(|e| errors.push(e)).ok())
                .collect()
        };
        let first = processors(&mut errors);
        let mut ignored = Vec::new();
        let second = processors(&mut ignored);
        let aggregators = config
            .aggregators
            .iter()
            .filter_map(|a| {
                RunningAggregator::new(a, config, now)
                    .map_err(|e| errors.push(e))
                    .ok()
            })
            .collect();
        match errors.is_empty() {
            true => Ok(Pipeline {
                processors: first,
                aggregators,
                after_aggregators: second,
            }),
            false => Err(errors),
        }
    }

    /// Runs gathered metrics through the processors and into the aggregators; what goes on
    /// to the outputs.
    pub fn process(&mut self, metrics: Vec<Metric>) -> Vec<Metric> {
        let metrics = run_processors(&mut self.processors, metrics);
        if self.aggregators.is_empty() {
            return metrics;
        }
        metrics
            .into_iter()
            .filter(|m| {
                let mut dropped = false;
                for a in &mut self.aggregators {
                    dropped |= a.add(m);
                }
                !dropped
            })
            .collect()
    }

    /// When the next aggregation window is due (ns), if there are aggregators.
    pub fn next_push(&self) -> Option<i64> {
        self.aggregators.iter().map(RunningAggregator::due).min()
    }

    /// The results of every aggregator whose window is due at `now`, processed.
    pub fn push_due(&mut self, now: i64) -> Vec<Metric> {
        let mut out = Vec::new();
        for a in self.aggregators.iter_mut().filter(|a| a.due() <= now) {
            a.push(now, &mut out);
        }
        run_processors(&mut self.after_aggregators, out)
    }

    /// The results of every aggregator now, due or not (at shutdown, and for `--test`).
    pub fn push_all(&mut self, now: i64) -> Vec<Metric> {
        let mut out = Vec::new();
        for a in &mut self.aggregators {
            a.push(now, &mut out);
        }
        run_processors(&mut self.after_aggregators, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    const S: i64 = 1_000_000_000;

    fn pipeline(toml_text: &str, now: i64) -> Pipeline {
        let text = format!("[[inputs.mem]]\n{toml_text}");
        let config = crate::config::load_str("t.conf", &text, &|_| None).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        Pipeline::build(&config, now).unwrap()
    }

    fn cpu(t: i64, v: f64) -> Metric {
        Metric::new("cpu", t)
            .with_tag("host", "a")
            .with_field("usage", v)
    }

    #[test]
    fn processors_run_by_order_then_file_order_and_filters_select() {
        let mut p = pipeline(
            r#"
            [[processors.rename]]
              order = 2
              [[processors.rename.replace]]
                measurement = "step1"
                dest = "step2"
            [[processors.override]]
              order = 1
              namepass = ["cpu"]
              name_override = "step1"
            [[processors.override]]
              namepass = ["nothing"]
              name_override = "never"
            "#,
            0,
        );
        let out = p.process(vec![
            cpu(1, 1.0),
            Metric::new("mem", 1).with_field("v", 1i64),
        ]);
        assert_eq!(out[0].name, "step2");
        assert_eq!(out[1].name, "mem");
    }

    #[test]
    fn aggregators_take_copies_in_the_window_and_push_when_due() {
        let mut p = pipeline(
            r#"
            [[processors.override]]
              [processors.override.tags]
                seen = "yes"
            [[aggregators.minmax]]
              period = "10s"
              delay = "1s"
              drop_original = true
              name_suffix = "_agg"
              [aggregators.minmax.tags]
                agg = "minmax"
            "#,
            3 * S,
        );
        assert_eq!(p.next_push(), Some(11 * S));
        // The last metric is outside the window (after its end plus delay): not taken.
        let out = p.process(vec![cpu(2 * S, 5.0), cpu(9 * S, 1.0), cpu(12 * S, 99.0)]);
        assert!(out.is_empty(), "originals are dropped");
        assert!(p.push_due(10 * S).is_empty());
        let pushed = p.push_due(11 * S);
        assert_eq!(pushed.len(), 1);
        let m = &pushed[0];
        assert_eq!(m.name, "cpu_agg");
        assert_eq!(m.field("usage_min"), Some(&FieldValue::Float(1.0)));
        assert_eq!(m.field("usage_max"), Some(&FieldValue::Float(5.0)));
        assert_eq!(m.tags.get("agg").map(String::as_str), Some("minmax"));
        assert_eq!(m.tags.get("seen").map(String::as_str), Some("yes"));
        assert_eq!(p.next_push(), Some(21 * S));
    }

    #[test]
    fn originals_go_on_unless_dropped() {
        let mut p = pipeline("[[aggregators.minmax]]\nnamepass = [\"cpu\"]", 0);
        let out = p.process(vec![cpu(1, 1.0)]);
        assert_eq!(out.len(), 1);
        let pushed = p.push_all(5 * S);
        assert_eq!(pushed.len(), 1);
        assert!(p.push_all(6 * S).is_empty());
    }

    #[test]
    fn a_processor_that_cannot_be_built_is_an_error_naming_it() {
        let config = crate::config::load_str(
            "t.conf",
            "[[inputs.mem]]\n[[processors.regex]]\n[[processors.regex.tags]]\nkey = \"a\"\npattern = \"(\"\n",
            &|_| None,
        )
        .unwrap();
        let errors = Pipeline::build(&config, 0).err().unwrap();
        assert!(
            errors[0].contains("t.conf:2: processors.regex"),
            "{errors:?}"
        );
    }
}
