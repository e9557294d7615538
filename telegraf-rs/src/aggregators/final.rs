//! `aggregators.final`: the last value of each field of a series, as `<field>_final` at the
//! time it was seen — pushed once the series has been quiet for `series_timeout`
//! (`output_strategy = "timeout"`, the default) or at every period's end (`"periodic"`).

use super::{series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.final]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FinalConfig {
    /// `timeout` or `periodic`.
    pub output_strategy: String,
    /// How long a series stays quiet before it is final (`timeout` strategy); 5 minutes.
    pub series_timeout: GoDuration,
    /// Keep field names instead of adding `_final`.
    pub keep_original_field_names: bool,
}

impl Default for FinalConfig {
    fn default() -> Self {
        FinalConfig {
            output_strategy: "timeout".into(),
            series_timeout: GoDuration::secs(300),
            keep_original_field_names: false,
        }
    }
}

/// Builds the aggregator.
pub fn build(
    c: &FinalConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    let periodic = match c.output_strategy.as_str() {
        "" | "timeout" => false,
        "periodic" => true,
        other => {
            return Err(AggregatorError(format!(
                "output_strategy {other:?}: expected timeout or periodic"
            )))
        }
    };
    Ok(Box::new(Final {
        periodic,
        timeout: i64::try_from(c.series_timeout.0.as_nanos()).unwrap_or(i64::MAX),
        keep_names: c.keep_original_field_names,
        last: BTreeMap::new(),
    }))
}

struct Final {
    periodic: bool,
    timeout: i64,
    keep_names: bool,
    last: BTreeMap<SeriesKey, Metric>,
}

impl Aggregator for Final {
    fn add(&mut self, m: &Metric) {
        self.last.insert(series_of(m), m.clone());
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        let (periodic, timeout, keep) = (self.periodic, self.timeout, self.keep_names);
        self.last.retain(|_, m| {
            if !periodic && now.saturating_sub(m.time) <= timeout {
                return true;
            }
            let mut last = m.clone();
            if !keep {
                for (k, _) in &mut last.fields {
                    k.push_str("_final");
                }
            }
            out.push(last);
            false
        });
    }

    fn reset(&mut self) {
        if self.periodic {
            self.last.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregators::testing::{aggregator, push};
    use crate::metric::FieldValue;

    const S: i64 = 1_000_000_000;

    #[test]
    fn pushes_a_series_once_it_is_quiet() {
        let mut a = aggregator("final", "series_timeout = \"10s\"");
        let m = |t: i64, v: i64| Metric::new("m", t * S).with_field("v", v);
        assert!(push(&mut a, &[m(1, 1), m(2, 2)], 5 * S).is_empty());
        a.reset();
        let out = push(&mut a, &[], 20 * S);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].field("v_final"), Some(&FieldValue::Int(2)));
        assert_eq!(out[0].time, 2 * S);
        assert!(push(&mut a, &[], 30 * S).is_empty());
    }

    #[test]
    fn periodic_pushes_every_period() {
        let mut a = aggregator(
            "final",
            "output_strategy = \"periodic\"\nkeep_original_field_names = true",
        );
        let out = push(&mut a, &[Metric::new("m", 1).with_field("v", 1i64)], 2);
        assert_eq!(out[0].field("v"), Some(&FieldValue::Int(1)));
    }
}
