//! `aggregators.valuecounter`: how many times each value of the listed fields occurred per
//! series over the period, as integer fields `<field>_<value>`.

use super::{metric_of, series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.valuecounter]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ValueCounterConfig {
    /// The fields whose values are counted.
    pub fields: Vec<String>,
}

/// Builds the aggregator.
pub fn build(
    c: &ValueCounterConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    Ok(Box::new(ValueCounter {
        fields: c.fields.clone(),
        series: BTreeMap::new(),
    }))
}

struct ValueCounter {
    fields: Vec<String>,
    series: BTreeMap<SeriesKey, Vec<(String, i64)>>,
}

impl Aggregator for ValueCounter {
    fn add(&mut self, m: &Metric) {
        let counts = self.series.entry(series_of(m)).or_default();
        for (key, value) in &m.fields {
            if !self.fields.contains(key) {
                continue;
            }
            let name = format!("{key}_{}", value.to_text());
            match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, n)) => *n += 1,
                None => counts.push((name, 1)),
            }
        }
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        for (key, counts) in &self.series {
            if counts.is_empty() {
                continue;
            }
            let fields = counts
                .iter()
                .map(|(k, n)| (k.clone(), FieldValue::Int(*n)))
                .collect();
            out.push(metric_of(key, now, fields));
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
    fn counts_values_of_listed_fields() {
        let mut a = aggregator("valuecounter", "fields = [\"status\"]");
        let m = |s: i64| {
            Metric::new("access", 1)
                .with_field("status", s)
                .with_field("bytes", 5i64)
        };
        let out = push(&mut a, &[m(200), m(200), m(404)], 2);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field("status_200"), Some(&FieldValue::Int(2)));
        assert_eq!(out[0].field("status_404"), Some(&FieldValue::Int(1)));
        assert_eq!(out[0].fields.len(), 2);
    }
}
