//! `processors.topk`: holds the metrics of each `period`, groups them by measurement and the
//! tags matching `group_by`, aggregates each group's `fields` (`mean`, `sum`, `min`, `max`),
//! and passes on only the metrics of the `k` groups that rank highest (or lowest, `bottomk`)
//! for each field — the rest are dropped. As in Telegraf, the period is judged when metrics
//! arrive, and metrics without any of the fields are dropped.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// Options of `[[processors.topk]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TopkConfig {
    /// How long metrics are held before the top k are passed on (10 s).
    pub period: GoDuration,
    /// How many groups go on.
    pub k: usize,
    /// Tags (globs) whose values, with the measurement, make a group; empty: by measurement.
    pub group_by: Vec<String>,
    /// The fields ranked.
    pub fields: Vec<String>,
    /// `mean` (default), `sum`, `min` or `max`.
    pub aggregation: String,
    /// The lowest groups instead of the highest.
    pub bottomk: bool,
    /// A tag to add holding the group's key (`cpu&cpu=cpu0&host=h&`).
    pub add_groupby_tag: String,
    /// Fields whose rank (1 = first) is added as `<field>_topk_rank`.
    pub add_rank_fields: Vec<String>,
    /// Fields whose group aggregate is added as `<field>_topk_aggregate`.
    pub add_aggregate_fields: Vec<String>,
}

impl Default for TopkConfig {
    fn default() -> Self {
        TopkConfig {
            period: GoDuration::secs(10),
            k: 10,
            group_by: vec!["*".into()],
            fields: vec!["value".into()],
            aggregation: "mean".into(),
            bottomk: false,
            add_groupby_tag: String::new(),
            add_rank_fields: Vec::new(),
            add_aggregate_fields: Vec::new(),
        }
    }
}

/// How a group's values of one field become one number.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Aggregation {
    Mean,
    Sum,
    Min,
    Max,
}

/// Builds the processor; the aggregation must be one Telegraf knows.
pub fn build(c: &TopkConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    Ok(Box::new(new(c)?))
}

fn new(c: &TopkConfig) -> Result<Topk, ProcessorError> {
    let aggregation = match c.aggregation.as_str() {
        "mean" => Aggregation::Mean,
        "sum" => Aggregation::Sum,
        "min" => Aggregation::Min,
        "max" => Aggregation::Max,
        other => {
            return Err(ProcessorError(format!(
                "aggregation: unknown aggregation function {other:?} (sum, mean, min, max)"
            )))
        }
    };
    Ok(Topk {
        group_by: super::globs("group_by", &c.group_by)?,
        config: c.clone(),
        period: c.period.0,
        aggregation,
        groups: BTreeMap::new(),
        since: Instant::now(),
    })
}

struct Topk {
    config: TopkConfig,
    period: Duration,
    aggregation: Aggregation,
    group_by: Option<globset::GlobSet>,
    /// Group key → its metrics of this period.
    groups: BTreeMap<String, Vec<Metric>>,
    since: Instant,
}

impl Topk {
    /// `name&tag=value&…` over the tags `group_by` matches, sorted.
    fn group_key(&self, m: &Metric) -> String {
        let mut key = format!("{}&", m.name);
        if let Some(globs) = &self.group_by {
            for (tag, value) in &m.tags {
                if globs.is_match(tag) {
                    key.push_str(&format!("{tag}={value}&"));
                }
            }
        }
        key
    }

    /// The group's aggregate of `field` (0 when no metric of the group has it numeric, as
    /// Telegraf ranks such groups).
    fn aggregate(&self, metrics: &[Metric], field: &str) -> f64 {
        let values = metrics.iter().filter_map(|m| match m.field(field) {
            Some(FieldValue::Float(f)) => Some(*f),
            Some(FieldValue::Int(i)) => Some(*i as f64),
            Some(FieldValue::UInt(u)) => Some(*u as f64),
            _ => None,
        });
        let (count, folded) = values.fold((0usize, None::<f64>), |(n, acc), v| {
            let next = match (acc, self.aggregation) {
                (None, _) => v,
                (Some(a), Aggregation::Mean | Aggregation::Sum) => a + v,
                (Some(a), Aggregation::Min) => a.min(v),
                (Some(a), Aggregation::Max) => a.max(v),
            };
            (n + 1, Some(next))
        });
        match (folded, self.aggregation) {
            (None, _) => 0.0,
            (Some(sum), Aggregation::Mean) => sum / count as f64,
            (Some(v), _) => v,
        }
    }

    /// The metrics of the top groups of every field, in ranking order; the period restarts.
    fn push(&mut self, now: Instant, out: &mut Vec<Metric>) {
        let mut groups = std::mem::take(&mut self.groups);
        self.since = now;
        let mut passed: HashSet<String> = HashSet::new();
        let mut order: Vec<String> = Vec::new();
        for field in &self.config.fields {
            let mut ranked: Vec<(String, f64)> = groups
                .iter()
                .map(|(key, metrics)| (key.clone(), self.aggregate(metrics, field)))
                .collect();
            // Stable, so that equal groups keep their key order.
            ranked.sort_by(|a, b| match self.config.bottomk {
                true => a.1.total_cmp(&b.1),
                false => b.1.total_cmp(&a.1),
            });
            for (rank, (key, value)) in ranked.into_iter().take(self.config.k).enumerate() {
                let rank_field = self.config.add_rank_fields.contains(field);
                let aggregate_field = self.config.add_aggregate_fields.contains(field);
                if let Some(metrics) = groups.get_mut(&key) {
                    for m in metrics.iter_mut().filter(|m| m.field(field).is_some()) {
                        if aggregate_field {
                            m.add_field(format!("{field}_topk_aggregate"), value);
                        }
                        if rank_field {
                            m.add_field(format!("{field}_topk_rank"), rank as i64 + 1);
                        }
                    }
                }
                if passed.insert(key.clone()) {
                    order.push(key);
                }
            }
        }
        for key in order {
            out.extend(groups.remove(&key).unwrap_or_default());
        }
    }
}

impl Topk {
    /// [`Processor::apply`] at instant `now` (the tests' clock).
    fn apply_at(&mut self, mut m: Metric, now: Instant, out: &mut Vec<Metric>) {
        if self.config.fields.iter().any(|f| m.field(f).is_some()) {
            let key = self.group_key(&m);
            if !self.config.add_groupby_tag.is_empty() {
                m.tags
                    .insert(self.config.add_groupby_tag.clone(), key.clone());
            }
            self.groups.entry(key).or_default().push(m);
        }
        if now.saturating_duration_since(self.since) >= self.period {
            self.push(now, out);
        }
    }
}

impl Processor for Topk {
    fn apply(&mut self, m: Metric, out: &mut Vec<Metric>) {
        self.apply_at(m, Instant::now(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(host: &str, value: f64, time: i64) -> Metric {
        Metric::new("cpu", time)
            .with_tag("host", host)
            .with_field("value", value)
    }

    /// Feeds `metrics` within one 10 s period, then one more metric after it: what went on.
    fn run(options: &str, metrics: Vec<Metric>) -> Vec<String> {
        let config: TopkConfig = toml::from_str(&format!("period = \"10s\"\n{options}")).unwrap();
        let mut p = new(&config).unwrap();
        let start = p.since;
        let mut out = Vec::new();
        for m in metrics {
            p.apply_at(m, start + Duration::from_secs(1), &mut out);
        }
        assert!(out.is_empty(), "held until the period ends: {out:?}");
        p.apply_at(
            Metric::new("late", 9).with_field("other", 1.0),
            start + Duration::from_secs(10),
            &mut out,
        );
        out.iter()
            .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    fn sample() -> Vec<Metric> {
        vec![
            cpu("a", 1.0, 1),
            cpu("b", 5.0, 1),
            cpu("c", 3.0, 1),
            cpu("a", 10.0, 2),
            Metric::new("cpu", 3)
                .with_tag("host", "d")
                .with_field("text", "x"),
        ]
    }

    #[test]
    fn keeps_the_metrics_of_the_k_highest_groups_by_mean() {
        assert_eq!(
            run("k = 2", sample()),
            [
                "cpu,host=a value=1 1",
                "cpu,host=a value=10 2",
                "cpu,host=b value=5 1"
            ]
        );
    }

    #[test]
    fn bottomk_other_aggregations_ranks_and_group_tags() {
        assert_eq!(
            run(
                "k = 1\nbottomk = true\naggregation = \"max\"\nadd_rank_fields = [\"value\"]\n\
                 add_aggregate_fields = [\"value\"]\nadd_groupby_tag = \"g\"",
                sample()
            ),
            ["cpu,g=cpu&host\\=c&,host=c value=3,value_topk_aggregate=3,value_topk_rank=1i 1"]
        );
        assert_eq!(
            run("k = 1\naggregation = \"sum\"\ngroup_by = []", sample()).len(),
            4,
            "one group: the measurement"
        );
    }

    #[test]
    fn unknown_aggregations_are_refused() {
        let config: TopkConfig = toml::from_str("aggregation = \"median\"").unwrap();
        assert!(new(&config).err().unwrap().0.contains("median"));
    }
}
