//! Aggregator plugins: each sees copies of the metrics its filters select during a period
//! (`period`, default 30 s, aligned to the clock) and at its end pushes what it made of them —
//! statistics, histograms, the last value, merged metrics. The agent runs the window, `delay`,
//! `grace` and `drop_original` (see `agent::pipeline`); the plugins only aggregate.

use crate::metric::Metric;
use std::collections::BTreeMap;

pub mod basicstats;
pub mod derivative;
pub mod r#final;
pub mod histogram;
pub mod merge;
pub mod minmax;
pub mod valuecounter;

/// Settings that cannot work, found when the aggregator is built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AggregatorError(pub String);

/// A plugin that accumulates metrics over a period and pushes its results.
pub trait Aggregator: Send {
    /// Takes in one metric of the period.
    fn add(&mut self, m: &Metric);
    /// Pushes the results at time `now` (ns) to `out`; metrics the plugin makes without a
    /// time of their own take `now`.
    fn push(&mut self, now: i64, out: &mut Vec<Metric>);
    /// Starts a new period.
    fn reset(&mut self);
}

/// What aggregators are built with (nothing yet).
#[derive(Debug, Clone, Default)]
pub struct AggregatorContext;

crate::registry::registry! {
    kind = "aggregators", settings = AggregatorSettings, plugin = dyn Aggregator,
    context = AggregatorContext, error = AggregatorError;
    BasicStats => "basicstats", basicstats::BasicStatsConfig;
    Derivative => "derivative", derivative::DerivativeConfig;
    Final => "final", r#final::FinalConfig;
    Histogram => "histogram", histogram::HistogramConfig;
    Merge => "merge", merge::MergeConfig;
    MinMax => "minmax", minmax::MinMaxConfig;
    ValueCounter => "valuecounter", valuecounter::ValueCounterConfig;
}

/// A series: measurement and tags, what aggregators group by.
pub type SeriesKey = (String, BTreeMap<String, String>);

/// The series `m` belongs to.
pub fn series_of(m: &Metric) -> SeriesKey {
    (m.name.clone(), m.tags.clone())
}

/// A metric of series `key` at `time` with `fields`.
pub fn metric_of(
    key: &SeriesKey,
    time: i64,
    fields: Vec<(String, crate::metric::FieldValue)>,
) -> Metric {
    Metric {
        name: key.0.clone(),
        tags: key.1.clone(),
        fields,
        time,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builds an aggregator from TOML options, feeds it and pushes.
    use super::*;

    /// The aggregator `name` with the options in `options`.
    pub(crate) fn aggregator(name: &str, options: &str) -> Box<dyn Aggregator> {
        crate::registry::parse_for_test("aggregators", name, options, AggregatorSettings::parse_own)
            .build(&AggregatorContext)
            .unwrap()
    }

    /// Adds `metrics`, then pushes at `now`.
    pub(crate) fn push(a: &mut Box<dyn Aggregator>, metrics: &[Metric], now: i64) -> Vec<Metric> {
        for m in metrics {
            a.add(m);
        }
        let mut out = Vec::new();
        a.push(now, &mut out);
        out
    }
}
