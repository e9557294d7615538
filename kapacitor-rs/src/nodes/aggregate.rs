//! The InfluxQL function nodes: aggregations and selectors over a batch (`mean`, `count`,
//! `max`, `percentile`, `top`, …), one point per batch (n for `top`/`bottom`/`distinct`); and
//! the transformations (`difference`, `cumulativeSum`, `movingAverage`, `elapsed`) that also
//! work on a stream.

use super::map_points;
use super::{constructor, unknown, Node};
use crate::lambda::Value;
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{Batch, FieldValue, GroupKey, Message, Point};
use std::collections::{BTreeMap, HashMap, VecDeque};

const AGGREGATES: &[&str] = &[
    "count",
    "distinct",
    "mean",
    "median",
    "mode",
    "spread",
    "sum",
    "stddev",
    "first",
    "last",
    "min",
    "max",
    "percentile",
    "top",
    "bottom",
];
const TRANSFORMS: &[&str] = &["difference", "cumulativeSum", "movingAverage", "elapsed"];

/// Whether `kind` is a function node of this module.
pub fn is_function(kind: &str) -> bool {
    AGGREGATES.contains(&kind) || TRANSFORMS.contains(&kind)
}

/// One function node.
pub struct Aggregate {
    function: String,
    field: String,
    name: String,
    percentile: f64,
    n: usize,
    extra: Vec<String>,
    unit: i64,
    point_times: bool,
    state: HashMap<GroupKey, Running>,
}

#[derive(Default)]
struct Running {
    last: Option<(i64, FieldValue)>,
    sum: f64,
    window: VecDeque<f64>,
}

impl Aggregate {
    /// Reads the arguments: the field, and the function's own (`percentile('f', 95.0)`,
    /// `top(3, 'f', 'host')`, `movingAverage('f', 10)`, `elapsed('f', 1s)`).
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let function = decl.kind.clone();
        let c = constructor(decl);
        let bad = |what: &str| PipelineError::at(decl.pos, format!("{function}: {what}"));
        let mut a = Aggregate {
            name: function.clone(),
            field: String::new(),
            function: function.clone(),
            percentile: 0.0,
            n: 0,
            extra: Vec::new(),
            unit: 1_000_000_000,
            point_times: false,
            state: HashMap::new(),
        };
        let text = |arg: &Arg| match arg {
            Arg::Value(Value::Str(s)) => Some(s.clone()),
            _ => None,
        };
        match (function.as_str(), c.args.as_slice()) {
            ("percentile", [f, p]) => {
                a.field = text(f).ok_or_else(|| bad("field must be a string"))?;
                a.percentile = match p {
                    Arg::Value(Value::Float(x)) => *x,
                    Arg::Value(Value::Int(x)) => *x as f64,
                    _ => return Err(bad("percentile must be a number")),
                };
            }
            ("top" | "bottom", [Arg::Value(Value::Int(n)), f, rest @ ..]) => {
                a.n = usize::try_from(*n).map_err(|_| bad("n must be positive"))?;
                a.field = text(f).ok_or_else(|| bad("field must be a string"))?;
                a.extra = rest.iter().filter_map(text).collect();
            }
            ("movingAverage", [f, Arg::Value(Value::Int(n))]) => {
                a.field = text(f).ok_or_else(|| bad("field must be a string"))?;
                a.n = usize::try_from(*n)
                    .map_err(|_| bad("window must be positive"))?
                    .max(1);
            }
            ("elapsed", [f, Arg::Value(Value::Duration(u))]) => {
                a.field = text(f).ok_or_else(|| bad("field must be a string"))?;
                a.unit = (*u).max(1);
            }
            (_, [f]) => a.field = text(f).ok_or_else(|| bad("field must be a string"))?,
            _ => return Err(bad("wrong arguments")),
        }
        for p in &decl.props {
            match p.name.as_str() {
                "as" => a.name = args::string(p)?,
                "usePointTimes" => a.point_times = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(a)
    }

    fn out_point(
        &self,
        b: &Batch,
        time: i64,
        value: FieldValue,
        tags: BTreeMap<String, String>,
    ) -> Message {
        Message::Point(Point {
            name: b.name.clone(),
            db: b.points.first().map(|p| p.db.clone()).unwrap_or_default(),
            rp: b.points.first().map(|p| p.rp.clone()).unwrap_or_default(),
            tags,
            fields: BTreeMap::from([(self.name.clone(), value)]),
            time,
            group: b.group.clone(),
            dims: b.dims.clone(),
        })
    }

    fn aggregate(&self, b: &Batch) -> Vec<Message> {
        let values: Vec<(&Point, &FieldValue)> = b
            .points
            .iter()
            .filter_map(|p| p.fields.get(&self.field).map(|v| (p, v)))
            .collect();
        if values.is_empty() {
            return match self.function.as_str() {
                "count" => vec![self.out_point(b, b.time, FieldValue::Int(0), b.tags.clone())],
                _ => Vec::new(),
            };
        }
        let nums: Vec<f64> = values.iter().filter_map(|(_, v)| v.as_f64()).collect();
        let ints = values.iter().all(|(_, v)| matches!(v, FieldValue::Int(_)));
        let number = |x: f64| {
            if ints {
                FieldValue::Int(x as i64)
            } else {
                FieldValue::Float(x)
            }
        };
        let time_of = |p: &Point| if self.point_times { p.time } else { b.time };
        let one = |t: i64, v: FieldValue| vec![self.out_point(b, t, v, b.tags.clone())];
        let select = |pick: fn(f64, f64) -> bool| -> Vec<Message> {
            let mut best: Option<(&Point, f64, &FieldValue)> = None;
            for (p, v) in &values {
                if let Some(x) = v.as_f64() {
                    if best.is_none_or(|(_, y, _)| pick(x, y)) {
                        best = Some((p, x, v));
                    }
                }
            }
            best.map(|(p, _, v)| one(time_of(p), v.clone()))
                .unwrap_or_default()
        };
        let mean = || nums.iter().sum::<f64>() / nums.len() as f64;
        match self.function.as_str() {
            "count" => one(b.time, FieldValue::Int(values.len() as i64)),
            "sum" => one(b.time, number(nums.iter().sum())),
            "mean" => one(b.time, FieldValue::Float(mean())),
            "median" => {
                let mut s = nums.clone();
                s.sort_by(f64::total_cmp);
                let m = if s.len() % 2 == 1 {
                    s[s.len() / 2]
                } else {
                    (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
                };
                one(b.time, FieldValue::Float(m))
            }
            "mode" => {
                let mut counts: Vec<(String, usize, FieldValue)> = Vec::new();
                for (_, v) in &values {
                    let key = v.to_string();
                    match counts.iter_mut().find(|(k, _, _)| *k == key) {
                        Some(c) => c.1 += 1,
                        None => counts.push((key, 1, (*v).clone())),
                    }
                }
                let best = counts
                    .iter()
                    .max_by_key(|(_, n, _)| *n)
                    .map(|(_, _, v)| v.clone());
                best.map(|v| one(b.time, v)).unwrap_or_default()
            }
            "spread" => {
                let max = nums.iter().copied().fold(f64::MIN, f64::max);
                let min = nums.iter().copied().fold(f64::MAX, f64::min);
                one(b.time, number(max - min))
            }
            "stddev" => {
                if nums.len() < 2 {
                    return Vec::new();
                }
                let m = mean();
                let var =
                    nums.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (nums.len() - 1) as f64;
                one(b.time, FieldValue::Float(var.sqrt()))
            }
            "first" => one(time_of(values[0].0), values[0].1.clone()),
            "last" => {
                let (p, v) = values[values.len() - 1];
                one(time_of(p), v.clone())
            }
            "max" => select(|x, y| x > y),
            "min" => select(|x, y| x < y),
            "percentile" => {
                let mut sorted: Vec<(&Point, f64, &FieldValue)> = values
                    .iter()
                    .filter_map(|(p, v)| v.as_f64().map(|x| (*p, x, *v)))
                    .collect();
                sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
                let i = ((sorted.len() as f64 * self.percentile / 100.0 + 0.5).floor() as usize)
                    .saturating_sub(1);
                match sorted.get(i) {
                    Some((p, _, v)) if self.percentile > 0.0 && self.percentile <= 100.0 => {
                        one(time_of(p), (*v).clone())
                    }
                    _ => Vec::new(),
                }
            }
            "distinct" => {
                let mut seen: Vec<String> = Vec::new();
                let mut out = Vec::new();
                for (_, v) in &values {
                    let key = v.to_string();
                    if !seen.contains(&key) {
                        seen.push(key);
                        out.push(self.out_point(b, b.time, (*v).clone(), b.tags.clone()));
                    }
                }
                out
            }
            "top" | "bottom" => {
                let mut sorted: Vec<(&Point, f64, &FieldValue)> = values
                    .iter()
                    .filter_map(|(p, v)| v.as_f64().map(|x| (*p, x, *v)))
                    .collect();
                if self.function == "top" {
                    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
                } else {
                    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
                }
                sorted
                    .into_iter()
                    .take(self.n)
                    .map(|(p, _, v)| {
                        let mut m = self.out_point(b, time_of(p), v.clone(), b.tags.clone());
                        if let Message::Point(q) = &mut m {
                            for extra in &self.extra {
                                if let Some(t) = p.tags.get(extra) {
                                    q.tags.insert(extra.clone(), t.clone());
                                } else if let Some(f) = p.fields.get(extra) {
                                    q.fields.insert(extra.clone(), f.clone());
                                }
                            }
                        }
                        m
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    fn transform(&mut self, mut p: Point) -> Option<Point> {
        let value = p.fields.get(&self.field)?.clone();
        let x = value.as_f64();
        let st = self.state.entry(p.group.clone()).or_default();
        let out = match self.function.as_str() {
            "difference" => {
                let previous = st.last.replace((p.time, value.clone()));
                match (previous?.1, &value) {
                    (FieldValue::Int(a), FieldValue::Int(b)) => FieldValue::Int(b - a),
                    (a, b) => FieldValue::Float(b.as_f64()? - a.as_f64()?),
                }
            }
            "cumulativeSum" => {
                st.sum += x?;
                if matches!(value, FieldValue::Int(_)) {
                    FieldValue::Int(st.sum as i64)
                } else {
                    FieldValue::Float(st.sum)
                }
            }
            "movingAverage" => {
                st.window.push_back(x?);
                if st.window.len() > self.n {
                    st.window.pop_front();
                }
                if st.window.len() < self.n {
                    return None;
                }
                FieldValue::Float(st.window.iter().sum::<f64>() / self.n as f64)
            }
            _ => {
                let previous = st.last.replace((p.time, value));
                FieldValue::Int((p.time - previous?.0) / self.unit)
            }
        };
        p.fields = BTreeMap::from([(self.name.clone(), out)]);
        Some(p)
    }
}

impl Node for Aggregate {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        if TRANSFORMS.contains(&self.function.as_str()) {
            if let Message::Batch(b) = &msg {
                // Within a batch the transformation starts afresh.
                self.state.remove(&b.group);
            }
            return map_points(msg, |p| self.transform(p)).into_iter().collect();
        }
        match msg {
            Message::Batch(b) => self.aggregate(&b),
            Message::Point(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::build;

    fn batch(values: &[f64]) -> Message {
        let points = values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                name: "cpu".into(),
                db: String::new(),
                rp: String::new(),
                tags: BTreeMap::from([("host".to_string(), format!("h{i}"))]),
                fields: BTreeMap::from([("v".to_string(), FieldValue::Float(*v))]),
                time: i as i64,
                group: GroupKey::default(),
                dims: Default::default(),
            })
            .collect();
        Message::Batch(Batch {
            name: "cpu".into(),
            group: GroupKey::default(),
            dims: Default::default(),
            tags: BTreeMap::new(),
            time: 100,
            points,
        })
    }

    fn run(node: &str, values: &[f64]) -> Vec<(i64, FieldValue)> {
        let g = build(
            &format!("stream|window().period(1s)|{node}"),
            &Default::default(),
        )
        .unwrap();
        let mut a = Aggregate::build(&g.nodes[2]).unwrap();
        a.process(0, batch(values))
            .into_iter()
            .map(|m| match m {
                Message::Point(p) => (p.time, p.fields.into_values().next().unwrap()),
                _ => panic!(),
            })
            .collect()
    }

    #[test]
    fn aggregations_and_selectors() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        assert_eq!(run("mean('v')", &v), vec![(100, FieldValue::Float(2.8))]);
        assert_eq!(run("count('v')", &v), vec![(100, FieldValue::Int(5))]);
        assert_eq!(run("median('v')", &v), vec![(100, FieldValue::Float(3.0))]);
        assert_eq!(run("max('v')", &v), vec![(100, FieldValue::Float(5.0))]);
        assert_eq!(
            run("max('v').usePointTimes()", &v),
            vec![(4, FieldValue::Float(5.0))]
        );
        assert_eq!(
            run("percentile('v', 50.0)", &v),
            vec![(100, FieldValue::Float(3.0))]
        );
        assert_eq!(run("spread('v')", &v), vec![(100, FieldValue::Float(4.0))]);
        assert_eq!(run("top(2, 'v')", &v).len(), 2);
        assert_eq!(run("mode('v')", &v), vec![(100, FieldValue::Float(1.0))]);
        assert_eq!(run("mean('v')", &[]), vec![]);
        assert_eq!(run("count('v')", &[]), vec![(100, FieldValue::Int(0))]);
    }

    #[test]
    fn as_names_the_field() {
        let g = build(
            "stream|window().period(1s)|mean('v').as('value')",
            &Default::default(),
        )
        .unwrap();
        let mut a = Aggregate::build(&g.nodes[2]).unwrap();
        let Message::Point(p) = a.process(0, batch(&[1.0])).remove(0) else {
            panic!()
        };
        assert!(p.fields.contains_key("value"));
    }
}
