//! `aggregators.merge`: joins the metrics of one series at one timestamp into a single metric
//! (inputs that emit one field per metric), optionally after rounding timestamps.

use super::{Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};

/// Options of `[[aggregators.merge]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MergeConfig {
    /// Timestamps are rounded to this first; `0s` (default) keeps them.
    pub round_timestamp_to: GoDuration,
}

/// Builds the aggregator.
pub fn build(
    c: &MergeConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    Ok(Box::new(Merge {
        round: i64::try_from(c.round_timestamp_to.0.as_nanos()).unwrap_or(i64::MAX),
        merged: Vec::new(),
        index: std::collections::HashMap::new(),
    }))
}

struct Merge {
    round: i64,
    /// Merged metrics in the order their series and time first came.
    merged: Vec<Metric>,
    index: std::collections::HashMap<(SeriesKey, i64), usize>,
}

impl Aggregator for Merge {
    fn add(&mut self, m: &Metric) {
        let time = match self.round {
            r if r > 0 => (m.time + r / 2).div_euclid(r) * r,
            _ => m.time,
        };
        let key = (super::series_of(m), time);
        match self.index.get(&key) {
            Some(&at) => {
                for (k, v) in &m.fields {
                    self.merged[at].add_field(k.clone(), v.clone());
                }
            }
            None => {
                let mut first = m.clone();
                first.time = time;
                self.index.insert(key, self.merged.len());
                self.merged.push(first);
            }
        }
    }

    fn push(&mut self, _: i64, out: &mut Vec<Metric>) {
        out.extend(self.merged.iter().cloned());
    }

    fn reset(&mut self) {
        self.merged.clear();
        self.index.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregators::testing::{aggregator, push};
    use crate::metric::FieldValue;

    #[test]
    fn joins_fields_of_one_series_and_time() {
        let mut a = aggregator("merge", "");
        let m =
            |t: i64, k: &str, v: i64| Metric::new("cpu", t).with_tag("cpu", "0").with_field(k, v);
        let out = push(
            &mut a,
            &[m(1, "a", 1), m(1, "b", 2), m(2, "a", 3), m(1, "a", 4)],
            9,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].time, 1);
        assert_eq!(out[0].field("a"), Some(&FieldValue::Int(4)));
        assert_eq!(out[0].field("b"), Some(&FieldValue::Int(2)));
        assert_eq!(out[1].time, 2);
    }

    #[test]
    fn rounds_timestamps_first() {
        let mut a = aggregator("merge", "round_timestamp_to = \"1s\"");
        let s = 1_000_000_000;
        let m = |t: i64, k: &str| Metric::new("x", t).with_field(k, 1i64);
        let out = push(&mut a, &[m(s + 100, "a"), m(s - 100, "b")], 0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].time, s);
    }
}
