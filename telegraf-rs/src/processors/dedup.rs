//! `processors.dedup`: drops a metric when its series sent the same field values less than
//! `dedup_interval` before (by the metrics' own timestamps), so only changes and a periodic
//! refresh go on.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Options of `[processors.dedup]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DedupConfig {
    /// How long an unchanged series stays quiet; 10 minutes by default.
    pub dedup_interval: GoDuration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            dedup_interval: GoDuration::secs(600),
        }
    }
}

/// Builds the processor.
pub fn build(c: &DedupConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    Ok(Box::new(Dedup {
        interval: i64::try_from(c.dedup_interval.0.as_nanos()).unwrap_or(i64::MAX),
        last: HashMap::new(),
        cleaned: i64::MIN,
    }))
}

type SeriesKey = (String, BTreeMap<String, String>);

struct Dedup {
    interval: i64,
    /// Per series: when it last went on, and with which fields.
    last: HashMap<SeriesKey, (i64, Vec<(String, FieldValue)>)>,
    /// The newest time at which entries past the interval were forgotten.
    cleaned: i64,
}

fn same_fields(a: &[(String, FieldValue)], b: &[(String, FieldValue)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
}

impl Processor for Dedup {
    fn apply(&mut self, m: Metric, out: &mut Vec<Metric>) {
        let key = (m.name.clone(), m.tags.clone());
        let duplicate = self.last.get(&key).is_some_and(|(time, fields)| {
            m.time.saturating_sub(*time) < self.interval && same_fields(fields, &m.fields)
        });
        if duplicate {
            return;
        }
        let newest = m.time;
        self.last.insert(key, (m.time, m.fields.clone()));
        // Entries past the interval can no longer suppress anything; they are forgotten once
        // per interval, so the cost stays linear.
        let interval = self.interval;
        if newest.saturating_sub(self.cleaned) >= interval {
            self.last
                .retain(|_, (time, _)| newest.saturating_sub(*time) < interval);
            self.cleaned = newest;
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    const S: i64 = 1_000_000_000;

    #[test]
    fn drops_repeats_within_the_interval_only() {
        let mut p = processor("dedup", "dedup_interval = \"10s\"");
        let m = |t: i64, v: i64| {
            Metric::new("m", t * S)
                .with_tag("h", "a")
                .with_field("v", v)
        };
        let out = run(
            &mut p,
            vec![m(0, 1), m(1, 1), m(2, 2), m(3, 2), m(13, 2), m(14, 2)],
        );
        let times: Vec<i64> = out.iter().map(|m| m.time / S).collect();
        assert_eq!(times, [0, 2, 13]);
        let other = Metric::new("m", 14 * S)
            .with_tag("h", "b")
            .with_field("v", 2i64);
        assert_eq!(run(&mut p, vec![other]).len(), 1);
    }
}
