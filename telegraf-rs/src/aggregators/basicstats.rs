//! `aggregators.basicstats`: count, min, max, mean, variance (`s2`), standard deviation,
//! sum, first/last, difference, rate and interval of each numeric field per series over the
//! period, as `<field>_<stat>` (Welford's running variance, sample form, as Telegraf).

use super::{metric_of, series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.basicstats]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct BasicStatsConfig {
    /// The statistics to push; `count`, `min`, `max`, `mean`, `stdev` and `s2` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<String>>,
}

/// The statistics Telegraf knows, in the order they are written.
const STATS: &[&str] = &[
    "count",
    "min",
    "max",
    "mean",
    "sum",
    "last",
    "first",
    "s2",
    "stdev",
    "diff",
    "non_negative_diff",
    "rate",
    "non_negative_rate",
    "percent_change",
    "interval",
];

/// Builds the aggregator.
pub fn build(
    c: &BasicStatsConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    let default = ["count", "min", "max", "mean", "stdev", "s2"].map(String::from);
    let wanted = c.stats.clone().unwrap_or_else(|| default.to_vec());
    if let Some(bad) = wanted.iter().find(|s| !STATS.contains(&s.as_str())) {
        return Err(AggregatorError(format!(
            "stats: unknown statistic {bad:?} (known: {})",
            STATS.join(", ")
        )));
    }
    Ok(Box::new(BasicStats {
        stats: STATS
            .iter()
            .filter(|s| wanted.iter().any(|w| w == *s))
            .copied()
            .collect(),
        series: BTreeMap::new(),
    }))
}

struct BasicStats {
    stats: Vec<&'static str>,
    series: BTreeMap<SeriesKey, Vec<(String, Running)>>,
}

/// The running statistics of one field.
#[derive(Debug, Clone)]
struct Running {
    count: f64,
    min: f64,
    max: f64,
    sum: f64,
    mean: f64,
    m2: f64,
    first: f64,
    first_time: i64,
    last: f64,
    last_time: i64,
}

impl Running {
    fn new(v: f64, time: i64) -> Self {
        Running {
            count: 1.0,
            min: v,
            max: v,
            sum: v,
            mean: v,
            m2: 0.0,
            first: v,
            first_time: time,
            last: v,
            last_time: time,
        }
    }

    fn add(&mut self, v: f64, time: i64) {
        self.count += 1.0;
        let delta = v - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (v - self.mean);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.last = v;
        self.last_time = time;
    }

    /// The value of `stat`; `None` for those that need two values, or are negative where
    /// only non-negative ones are wanted.
    fn stat(&self, stat: &str) -> Option<FieldValue> {
        let diff = self.last - self.first;
        let interval = self.last_time - self.first_time;
        let rate = match interval {
            0 => 0.0,
            ns => diff / (ns as f64 / 1e9),
        };
        let variance = self.m2 / (self.count - 1.0);
        let several = self.count > 1.0;
        Some(FieldValue::Float(match stat {
            "count" => self.count,
            "min" => self.min,
            "max" => self.max,
            "mean" => self.mean,
            "sum" => self.sum,
            "last" => self.last,
            "first" => self.first,
            _ if !several => return None,
            "s2" => variance,
            "stdev" => variance.sqrt(),
            "diff" => diff,
            "non_negative_diff" if diff >= 0.0 => diff,
            "rate" => rate,
            "non_negative_rate" if diff >= 0.0 => rate,
            "percent_change" => diff / self.first * 100.0,
            "interval" => return Some(FieldValue::Int(interval)),
            _ => return None,
        }))
    }
}

impl Aggregator for BasicStats {
    fn add(&mut self, m: &Metric) {
        let fields = self.series.entry(series_of(m)).or_default();
        for (key, value) in &m.fields {
            let v = match value {
                FieldValue::Bool(b) => f64::from(u8::from(*b)),
                other => match other.as_f64() {
                    Some(v) => v,
                    None => continue,
                },
            };
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some((_, running)) => running.add(v, m.time),
                None => fields.push((key.clone(), Running::new(v, m.time))),
            }
        }
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        for (key, fields) in &self.series {
            let mut values = Vec::new();
            for (field, running) in fields {
                for stat in &self.stats {
                    if let Some(v) = running.stat(stat) {
                        values.push((format!("{field}_{stat}"), v));
                    }
                }
            }
            if !values.is_empty() {
                out.push(metric_of(key, now, values));
            }
        }
    }

    fn reset(&mut self) {
        self.series.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregators::testing::{aggregator, push};

    const S: i64 = 1_000_000_000;

    fn metrics() -> Vec<Metric> {
        [
            (0, 2.0),
            (1, 4.0),
            (2, 4.0),
            (3, 4.0),
            (4, 5.0),
            (5, 5.0),
            (6, 7.0),
            (7, 9.0),
        ]
        .iter()
        .map(|(t, v)| {
            Metric::new("m", t * S)
                .with_field("v", *v)
                .with_field("s", "x")
        })
        .collect()
    }

    fn float(m: &Metric, k: &str) -> f64 {
        match m.field(k) {
            Some(FieldValue::Float(f)) => *f,
            other => panic!("{k}: {other:?}"),
        }
    }

    #[test]
    fn default_stats() {
        let mut a = aggregator("basicstats", "");
        let out = push(&mut a, &metrics(), 99);
        let m = &out[0];
        assert_eq!(float(m, "v_count"), 8.0);
        assert_eq!(float(m, "v_min"), 2.0);
        assert_eq!(float(m, "v_max"), 9.0);
        assert_eq!(float(m, "v_mean"), 5.0);
        assert!((float(m, "v_s2") - 32.0 / 7.0).abs() < 1e-12);
        assert!((float(m, "v_stdev") - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(m.fields.len(), 6);
    }

    #[test]
    fn difference_rate_and_interval() {
        let mut a = aggregator(
            "basicstats",
            "stats = [\"diff\", \"rate\", \"interval\", \"non_negative_diff\", \"sum\", \"first\", \"last\"]",
        );
        let out = push(&mut a, &metrics(), 99);
        let m = &out[0];
        assert_eq!(float(m, "v_diff"), 7.0);
        assert_eq!(float(m, "v_rate"), 1.0);
        assert_eq!(m.field("v_interval"), Some(&FieldValue::Int(7 * S)));
        assert_eq!(float(m, "v_non_negative_diff"), 7.0);
        assert_eq!(float(m, "v_sum"), 40.0);
        // One value: only the statistics of a single value.
        a.reset();
        let out = push(&mut a, &metrics()[..1], 99);
        assert_eq!(out[0].field("v_diff"), None);
        assert_eq!(float(&out[0], "v_sum"), 2.0);
    }

    #[test]
    fn unknown_stat_is_refused() {
        let c: BasicStatsConfig = toml::from_str("stats = [\"median\"]").unwrap();
        assert!(build(&c, &AggregatorContext).is_err());
    }
}
