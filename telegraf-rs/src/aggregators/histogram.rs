//! `aggregators.histogram`: counts field values into buckets per series, pushed as one metric
//! per bucket with tag `le` (cumulative, the default, as Prometheus histograms) or `gt`/`le`,
//! and field `<field>_bucket`. Counts accumulate across periods unless `reset`.

use super::{series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::{FieldValue, Metric};
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.histogram]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HistogramConfig {
    /// Which measurements and fields get which buckets.
    pub config: Vec<BucketConfig>,
    /// Forget the counts at every period's end.
    pub reset: bool,
    /// Each bucket counts everything at or below its bound.
    pub cumulative: bool,
    /// Series not updated for this long are forgotten; `0s` keeps them.
    pub expiration_interval: GoDuration,
    /// Push only series updated since the last push.
    pub push_only_on_update: bool,
}

impl Default for HistogramConfig {
    fn default() -> Self {
        HistogramConfig {
            config: Vec::new(),
            reset: false,
            cumulative: true,
            expiration_interval: GoDuration::default(),
            push_only_on_update: false,
        }
    }
}

/// The buckets of one measurement's fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct BucketConfig {
    /// Upper bounds, ascending.
    pub buckets: Vec<f64>,
    /// The measurement.
    pub measurement_name: String,
    /// Its fields; every numeric field when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Builds the aggregator.
pub fn build(
    c: &HistogramConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    for b in &c.config {
        if b.buckets.windows(2).any(|w| w[0] >= w[1]) || b.buckets.iter().any(|v| v.is_nan()) {
            return Err(AggregatorError(format!(
                "config for {:?}: buckets must be ascending",
                b.measurement_name
            )));
        }
    }
    Ok(Box::new(Histogram {
        config: c.clone(),
        expiration: i64::try_from(c.expiration_interval.0.as_nanos()).unwrap_or(i64::MAX),
        series: BTreeMap::new(),
    }))
}

struct Counts {
    /// Per field: its buckets' counts (one more than bounds: the `+Inf` bucket).
    fields: Vec<(String, Vec<i64>)>,
    updated: i64,
    fresh: bool,
}

struct Histogram {
    config: HistogramConfig,
    expiration: i64,
    series: BTreeMap<SeriesKey, Counts>,
}

/// Go's `strconv.FormatFloat(b, 'f', -1, 64)`.
fn bound(b: f64) -> String {
    format!("{b}")
}

/// The bounds configured for `field` of `measurement`.
fn buckets<'a>(config: &'a [BucketConfig], measurement: &str, field: &str) -> Option<&'a [f64]> {
    config
        .iter()
        .find(|c| {
            c.measurement_name == measurement
                && (c.fields.is_empty() || c.fields.iter().any(|f| f == field))
        })
        .map(|c| c.buckets.as_slice())
}

impl Aggregator for Histogram {
    fn add(&mut self, m: &Metric) {
        let mut found = Vec::new();
        for (field, value) in &m.fields {
            let (Some(v), Some(bounds)) =
                (value.as_f64(), buckets(&self.config.config, &m.name, field))
            else {
                continue;
            };
            let index = bounds.partition_point(|b| *b < v);
            found.push((field.clone(), index, bounds.len() + 1));
        }
        if found.is_empty() {
            return;
        }
        let counts = self.series.entry(series_of(m)).or_insert_with(|| Counts {
            fields: Vec::new(),
            updated: m.time,
            fresh: true,
        });
        counts.updated = counts.updated.max(m.time);
        counts.fresh = true;
        for (field, index, len) in found {
            let slot = match counts.fields.iter().position(|(k, _)| *k == field) {
                Some(at) => at,
                None => {
                    counts.fields.push((field, vec![0; len]));
                    counts.fields.len() - 1
                }
            };
            if let Some(n) = counts.fields[slot].1.get_mut(index) {
                *n += 1;
            }
        }
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        if self.expiration > 0 {
            let expiration = self.expiration;
            self.series
                .retain(|_, c| now.saturating_sub(c.updated) < expiration);
        }
        // Fields of one series and bucket share a metric.
        let mut grouped: BTreeMap<SeriesKey, Vec<(String, FieldValue)>> = BTreeMap::new();
        for ((name, tags), counts) in &mut self.series {
            if self.config.push_only_on_update && !counts.fresh {
                continue;
            }
            counts.fresh = false;
            for (field, counted) in &counts.fields {
                let bounds = buckets(&self.config.config, name, field).unwrap_or_default();
                let mut sum = 0;
                for (i, count) in counted.iter().enumerate() {
                    sum = if self.config.cumulative {
                        sum + count
                    } else {
                        *count
                    };
                    let mut tags = tags.clone();
                    let le = bounds
                        .get(i)
                        .map_or_else(|| "+Inf".to_string(), |b| bound(*b));
                    tags.insert("le".into(), le);
                    if !self.config.cumulative {
                        let gt = match i {
                            0 => "-Inf".to_string(),
                            _ => bound(bounds[i - 1]),
                        };
                        tags.insert("gt".into(), gt);
                    }
                    grouped
                        .entry((name.clone(), tags))
                        .or_default()
                        .push((format!("{field}_bucket"), FieldValue::Int(sum)));
                }
            }
        }
        for ((name, tags), fields) in grouped {
            out.push(Metric {
                name,
                tags,
                fields,
                time: now,
            });
        }
    }

    fn reset(&mut self) {
        if self.config.reset {
            self.series.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregators::testing::{aggregator, push};

    const CONFIG: &str = r#"
        [[config]]
        buckets = [0.0, 10.0, 50.0]
        measurement_name = "cpu"
        fields = ["usage"]
    "#;

    fn cpu(v: f64) -> Metric {
        Metric::new("cpu", 1)
            .with_field("usage", v)
            .with_field("other", v)
    }

    fn bucket(out: &[Metric], le: &str) -> (i64, Option<String>) {
        let m = out
            .iter()
            .find(|m| m.tags.get("le").map(String::as_str) == Some(le))
            .unwrap();
        match m.field("usage_bucket") {
            Some(FieldValue::Int(n)) => (*n, m.tags.get("gt").cloned()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cumulative_buckets_persist_across_periods() {
        let mut a = aggregator("histogram", CONFIG);
        let out = push(&mut a, &[cpu(-1.0), cpu(10.0), cpu(20.0), cpu(99.0)], 5);
        assert_eq!(out.len(), 4);
        assert_eq!(bucket(&out, "0").0, 1);
        assert_eq!(bucket(&out, "10").0, 2);
        assert_eq!(bucket(&out, "50").0, 3);
        assert_eq!(bucket(&out, "+Inf").0, 4);
        assert!(out.iter().all(|m| m.field("other_bucket").is_none()));
        a.reset();
        let out = push(&mut a, &[cpu(5.0)], 6);
        assert_eq!(bucket(&out, "+Inf").0, 5);
    }

    #[test]
    fn non_cumulative_with_reset() {
        let config = format!("cumulative = false\nreset = true\n{CONFIG}");
        let mut a = aggregator("histogram", &config);
        let out = push(&mut a, &[cpu(-1.0), cpu(10.0), cpu(20.0), cpu(99.0)], 5);
        assert_eq!(bucket(&out, "0"), (1, Some("-Inf".into())));
        assert_eq!(bucket(&out, "50"), (1, Some("10".into())));
        assert_eq!(bucket(&out, "+Inf"), (1, Some("50".into())));
        a.reset();
        assert!(push(&mut a, &[], 6).is_empty());
    }
}
