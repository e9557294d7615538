//! `aggregators.derivative`: the rate of change of each numeric field per series between the
//! first and last metric of the period — over time (`<field>_rate`, per second) or over
//! another field (`variable`). A series seen once keeps its last metric as the next period's
//! first, at most `max_roll_over` times, so slow series still get a rate.

use super::{series_of, Aggregator, AggregatorContext, AggregatorError, SeriesKey};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[aggregators.derivative]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DerivativeConfig {
    /// Appended to each field's name (`_rate`).
    pub suffix: String,
    /// A field to derive by instead of time.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variable: String,
    /// How many periods a series seen once is carried over.
    pub max_roll_over: u32,
}

impl Default for DerivativeConfig {
    fn default() -> Self {
        DerivativeConfig {
            suffix: "_rate".into(),
            variable: String::new(),
            max_roll_over: 10,
        }
    }
}

/// Builds the aggregator.
pub fn build(
    c: &DerivativeConfig,
    _: &AggregatorContext,
) -> Result<Box<dyn Aggregator>, AggregatorError> {
    Ok(Box::new(Derivative {
        suffix: c.suffix.trim().to_string(),
        variable: c.variable.trim().to_string(),
        max_roll_over: c.max_roll_over,
        series: BTreeMap::new(),
    }))
}

/// The numeric fields of one metric and its time.
#[derive(Debug, Clone, PartialEq)]
struct Event {
    time: i64,
    fields: BTreeMap<String, f64>,
}

impl Event {
    fn of(m: &Metric) -> Event {
        let mut e = Event {
            time: m.time,
            fields: BTreeMap::new(),
        };
        e.merge(m);
        e
    }

    fn merge(&mut self, m: &Metric) {
        for (k, v) in &m.fields {
            let value = match v {
                FieldValue::Bool(b) => f64::from(u8::from(*b)),
                other => match other.as_f64() {
                    Some(f) => f,
                    None => continue,
                },
            };
            self.fields.insert(k.clone(), value);
        }
    }
}

struct Series {
    first: Event,
    last: Event,
    /// Whether `first` and `last` are one and the same metric (nothing to derive).
    same: bool,
    roll_overs: u32,
}

struct Derivative {
    suffix: String,
    variable: String,
    max_roll_over: u32,
    series: BTreeMap<SeriesKey, Series>,
}

impl Aggregator for Derivative {
    fn add(&mut self, m: &Metric) {
        let Some(s) = self.series.get_mut(&series_of(m)) else {
            let first = Event::of(m);
            self.series.insert(
                series_of(m),
                Series {
                    last: first.clone(),
                    first,
                    same: true,
                    roll_overs: 0,
                },
            );
            return;
        };
        if m.time < s.first.time {
            s.first = Event::of(m);
            s.same = false;
            s.roll_overs = 0;
        } else if m.time == s.first.time {
            s.first.merge(m);
            s.roll_overs = 0;
        }
        if m.time > s.last.time {
            s.last = Event::of(m);
            s.same = false;
            s.roll_overs = 0;
        } else if m.time == s.last.time {
            s.last.merge(m);
            s.roll_overs = 0;
        }
        if s.same {
            s.first = s.last.clone();
        }
    }

    fn push(&mut self, now: i64, out: &mut Vec<Metric>) {
        for ((name, tags), s) in &self.series {
            if s.same {
                continue;
            }
            let denominator = match self.variable.as_str() {
                "" => (s.last.time - s.first.time) as f64 / 1e9,
                v => match (s.first.fields.get(v), s.last.fields.get(v)) {
                    (Some(a), Some(b)) => b - a,
                    _ => continue,
                },
            };
            if denominator == 0.0 {
                continue;
            }
            let mut m = Metric::new(name.clone(), now);
            m.tags = tags.clone();
            for (key, start) in &s.first.fields {
                if *key == self.variable {
                    continue;
                }
                if let Some(end) = s.last.fields.get(key) {
                    m.add_field(format!("{key}{}", self.suffix), (end - start) / denominator);
                }
            }
            if !m.fields.is_empty() {
                out.push(m);
            }
        }
    }

    fn reset(&mut self) {
        let max = self.max_roll_over;
        self.series.retain(|_, s| {
            if s.roll_overs >= max {
                return false;
            }
            s.first = s.last.clone();
            s.same = true;
            s.roll_overs += 1;
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregators::testing::{aggregator, push};

    const S: i64 = 1_000_000_000;

    fn m(t: i64, bytes: i64, packets: i64) -> Metric {
        Metric::new("net", t * S)
            .with_tag("interface", "eth0")
            .with_field("bytes", bytes)
            .with_field("packets", packets)
    }

    #[test]
    fn rate_over_time_and_roll_over() {
        let mut a = aggregator("derivative", "max_roll_over = 1");
        let out = push(
            &mut a,
            &[m(0, 100, 10), m(5, 600, 20), m(10, 1100, 30)],
            11 * S,
        );
        assert_eq!(out[0].field("bytes_rate"), Some(&FieldValue::Float(100.0)));
        assert_eq!(out[0].field("packets_rate"), Some(&FieldValue::Float(2.0)));
        a.reset();
        // One metric in the next period: derived against the last one of the previous.
        let out = push(&mut a, &[m(20, 2100, 40)], 21 * S);
        assert_eq!(out[0].field("bytes_rate"), Some(&FieldValue::Float(100.0)));
        a.reset();
        a.reset();
        // Past max_roll_over without metrics, the series is forgotten.
        assert!(push(&mut a, &[m(30, 0, 0)], 31 * S).is_empty());
    }

    #[test]
    fn rate_over_another_field() {
        let mut a = aggregator(
            "derivative",
            "variable = \"packets\"\nsuffix = \"_by_packets\"",
        );
        let out = push(&mut a, &[m(0, 100, 10), m(5, 600, 20)], 6 * S);
        assert_eq!(
            out[0].field("bytes_by_packets"),
            Some(&FieldValue::Float(50.0))
        );
        assert_eq!(out[0].field("packets_by_packets"), None);
        let mut a = aggregator("derivative", "");
        assert!(
            push(&mut a, &[m(0, 1, 1)], S).is_empty(),
            "one metric: nothing to derive"
        );
    }
}
