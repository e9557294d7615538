//! `aggregators.minmax`: the smallest and largest value of each numeric field per series over
//! the period, as `<field>_min` and `<field>_max` floats.

use super::{metric_of, series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.minmax]]` (it has none of its own).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct MinMaxConfig {}

/// Builds the aggregator.
pub fn build(
    _: &MinMaxConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    Ok(Box::new(MinMax::default()))
}

#[derive(Default)]
struct MinMax {
    series: BTreeMap<SeriesKey, Vec<(String, f64, f64)>>,
}

impl Aggregator for MinMax {
    fn add(&mut self, m: &Metric) {
        let fields = self.series.entry(series_of(m)).or_default();
        for (key, value) in &m.fields {
            let Some(v) = value.as_f64() else {
                continue;
            };
            match fields.iter_mut().find(|(k, _, _)| k == key) {
                Some((_, min, max)) => {
                    *min = min.min(v);
                    *max = max.max(v);
                }
                None => fields.push((key.clone(), v, v)),
            }
        }
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        for (key, fields) in &self.series {
            let values = fields
                .iter()
                .flat_map(|(k, min, max)| {
                    [
                        (format!("{k}_min"), FieldValue::Float(*min)),
                        (format!("{k}_max"), FieldValue::Float(*max)),
                    ]
                })
                .collect();
            out.push(metric_of(key, now, values));
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

    #[test]
    fn min_and_max_per_series_and_field() {
        let mut a = aggregator("minmax", "");
        let m = |v: i64, host: &str| {
            Metric::new("cpu", 1)
                .with_tag("host", host)
                .with_field("a", v)
                .with_field("s", "text")
        };
        let out = push(&mut a, &[m(3, "x"), m(-1, "x"), m(7, "x"), m(5, "y")], 9);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].field("a_min"), Some(&FieldValue::Float(-1.0)));
        assert_eq!(out[0].field("a_max"), Some(&FieldValue::Float(7.0)));
        assert_eq!(out[0].field("s_min"), None);
        assert_eq!(out[0].time, 9);
        assert_eq!(out[1].field("a_min"), Some(&FieldValue::Float(5.0)));
        a.reset();
        assert!(push(&mut a, &[], 10).is_empty());
    }
}
