//! Aggregate and selector functions over the points of one bucket (`count`, `mean`,
//! `percentile`, `first`, `max`, …), with InfluxDB's result types and tie rules, and their
//! accumulators that take points one at a time.

use super::QueryError;
use crate::storage::Value;
use influxql::Expr;
use std::collections::BTreeMap;

/// A function of the select list, applied to one field.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Function {
    Count,
    Sum,
    Mean,
    Median,
    Mode,
    Spread,
    Stddev,
    Min,
    Max,
    First,
    Last,
    Percentile(f64),
    /// Area under the curve (trapezoids between consecutive points), per `unit` ns.
    Integral(i64),
    /// `count(distinct(field))`: how many different values.
    CountDistinct,
}

impl Function {
    /// Reads `name(field[, arg])`; returns the function and its field (`*` for every field).
    pub(super) fn parse(name: &str, args: &[Expr]) -> Result<(Function, String), QueryError> {
        if let [Expr::Call {
            name: inner,
            args: inner_args,
        }] = args
        {
            return match (name, inner.as_str(), inner_args.as_slice()) {
                ("count", "distinct", [Expr::VarRef(field)]) => {
                    Ok((Function::CountDistinct, field.clone()))
                }
                ("count", "distinct", [_, _, ..]) => Err(QueryError::Invalid(
                    "distinct function can only have one argument".into(),
                )),
                ("count", "distinct", _) => Err(QueryError::Invalid(
                    "expected field argument in distinct()".into(),
                )),
                _ => Err(QueryError::Invalid(format!(
                    "expected field argument in {name}()"
                ))),
            };
        }
        let field = match args.first() {
            Some(Expr::VarRef(f)) => f.clone(),
            Some(Expr::Wildcard) => "*".to_string(),
            // InfluxDB counts the arguments first; `now()` is no function of a select list.
            None if name == "now" => {
                return Err(QueryError::Invalid("undefined function now()".into()))
            }
            None => {
                let expected = match name {
                    "percentile" | "sample" => "2",
                    "top" | "bottom" => "at least 2",
                    _ => "1",
                };
                return Err(QueryError::Invalid(format!(
                    "invalid number of arguments for {name}, expected {expected}, got 0"
                )));
            }
            _ => {
                return Err(QueryError::Invalid(format!(
                    "expected field argument in {name}()"
                )))
            }
        };
        let arity = |n: usize| expect_args(name, args, n);
        let f = match name {
            "count" => Function::Count,
            "sum" => Function::Sum,
            "mean" => Function::Mean,
            "median" => Function::Median,
            "mode" => Function::Mode,
            "spread" => Function::Spread,
            "stddev" => Function::Stddev,
            "min" => Function::Min,
            "max" => Function::Max,
            "first" => Function::First,
            "last" => Function::Last,
            "percentile" => {
                arity(2)?;
                let n = match args[1] {
                    Expr::Integer(i) => i as f64,
                    Expr::Float(f) => f,
                    _ => {
                        return Err(QueryError::Invalid(
                            "expected float argument in percentile()".into(),
                        ))
                    }
                };
                return Ok((Function::Percentile(n), field));
            }
            "integral" => {
                let unit = match args.get(1) {
                    None => 1_000_000_000,
                    Some(Expr::Duration(d)) if *d > 0 => *d,
                    Some(_) => {
                        return Err(QueryError::Invalid(
                            "second argument must be a duration".into(),
                        ))
                    }
                };
                if args.len() > 2 {
                    return Err(QueryError::Invalid(format!(
                        "invalid number of arguments for integral, expected at least 1 but no more than 2, got {}",
                        args.len()
                    )));
                }
                return Ok((Function::Integral(unit), field));
            }
            other => return Err(QueryError::Invalid(format!("undefined function {other}()"))),
        };
        arity(1)?;
        Ok((f, field))
    }

    /// Selectors return one of their input points, with its time.
    pub(super) fn is_selector(&self) -> bool {
        matches!(
            self,
            Function::Min
                | Function::Max
                | Function::First
                | Function::Last
                | Function::Percentile(_)
        )
    }

    /// The function over `points` (time-ordered): the value, and for selectors the time of the
    /// selected point. `None` when there is nothing to report.
    pub(super) fn apply(&self, points: &[(i64, Value)]) -> Option<(i64, Value)> {
        let first = points.first()?;
        let numbers = || points.iter().filter_map(|(_, v)| as_f64(v));
        match self {
            Function::Count => Some((first.0, Value::Integer(points.len() as i64))),
            Function::CountDistinct => {
                let mut values: Vec<&Value> = points.iter().map(|(_, v)| v).collect();
                values.sort_by(|a, b| compare(a, b));
                values.dedup_by(|a, b| compare(a, b).is_eq());
                Some((first.0, Value::Integer(values.len() as i64)))
            }
            Function::Sum => match &first.1 {
                Value::Integer(_) | Value::Unsigned(_) => {
                    let sum = points
                        .iter()
                        .map(|(_, v)| as_i64(v))
                        .fold(0i64, i64::wrapping_add);
                    Some((first.0, integer_like(&first.1, sum)))
                }
                _ => Some((first.0, Value::Float(numbers().sum()))),
            },
            Function::Mean => {
                let n = points.len() as f64;
                numeric(first).then(|| (first.0, Value::Float(numbers().sum::<f64>() / n)))
            }
            Function::Median => {
                let mut v: Vec<f64> = numbers().collect();
                if v.is_empty() {
                    return None;
                }
                v.sort_by(f64::total_cmp);
                let mid = v.len() / 2;
                let m = if v.len().is_multiple_of(2) {
                    (v[mid - 1] + v[mid]) / 2.0
                } else {
                    v[mid]
                };
                Some((first.0, Value::Float(m)))
            }
            Function::Stddev => {
                let v: Vec<f64> = numbers().collect();
                Some((first.0, Value::Float(stddev(&v)?)))
            }
            Function::Spread => {
                let (min, max) = min_max(points)?;
                Some((first.0, difference(&max.1, &min.1)))
            }
            Function::Min => min_max(points).map(|(min, _)| min.clone()),
            Function::Max => min_max(points).map(|(_, max)| max.clone()),
            // Of points at the same time, InfluxDB keeps the larger value (`false` first).
            Function::First => points
                .iter()
                .take_while(|(t, _)| *t == first.0)
                .max_by(|a, b| first_tie(&a.1, &b.1))
                .cloned(),
            Function::Last => {
                let last_time = points.last()?.0;
                points
                    .iter()
                    .rev()
                    .take_while(|(t, _)| *t == last_time)
                    .max_by(|a, b| compare(&a.1, &b.1))
                    .cloned()
            }
            Function::Mode => {
                let mut sorted: Vec<&Value> = points.iter().map(|(_, v)| v).collect();
                sorted.sort_by(|a, b| compare(a, b));
                let mut best: Option<(&Value, usize)> = None;
                let mut i = 0;
                while i < sorted.len() {
                    let run = sorted[i..]
                        .iter()
                        .take_while(|v| compare(v, sorted[i]).is_eq())
                        .count();
                    if best.is_none_or(|(_, n)| run > n) {
                        best = Some((sorted[i], run));
                    }
                    i += run;
                }
                best.map(|(v, _)| (first.0, v.clone()))
            }
            Function::Integral(unit) => {
                let numeric: Vec<(i64, f64)> = points
                    .iter()
                    .filter_map(|(t, v)| Some((*t, as_f64(v)?)))
                    .collect();
                let area: f64 = numeric
                    .windows(2)
                    .filter(|w| w[1].0 != w[0].0)
                    .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0) as f64 / *unit as f64)
                    .sum();
                Some((first.0, Value::Float(area)))
            }
            Function::Percentile(p) => {
                let mut sorted: Vec<&(i64, Value)> = points.iter().collect();
                sorted.sort_by(|a, b| compare(&a.1, &b.1));
                let i = (sorted.len() as f64 * p / 100.0 + 0.5).floor() as i64 - 1;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| sorted.get(i))
                    .map(|p| (*p).clone())
            }
        }
    }
}

/// The running state of an aggregate that can take its points one at a time, in any order,
/// and give what [`Function::apply`] gives over all of them: `count`, `sum`, `mean`, `min`,
/// `max`, `first`, `last`, `spread`, `stddev`, `mode` and `count(distinct())`. A query folds
/// points into these instead of keeping them: memory grows with the windows (and for `mode`
/// and `count(distinct())` with the different values), not with the points.
#[derive(Debug, Clone)]
pub(super) struct Accumulator {
    function: Function,
    count: i64,
    /// The earliest point: its type decides `sum` and whether `mean` and `min`/`max` apply.
    earliest: Option<(i64, Value)>,
    int_sum: i64,
    float_sum: f64,
    /// `min`: the smallest value (earliest on ties); `first`/`last`: the point chosen.
    low: Option<(i64, Value)>,
    /// `max`: the largest value (earliest on ties).
    high: Option<(i64, Value)>,
    /// `stddev`: the numeric values, in the order read (InfluxDB makes two passes).
    stddev_of: Vec<f64>,
    /// `mode`, `count(distinct())`: how often each value was seen.
    seen: BTreeMap<Ordered, i64>,
}

/// The sample standard deviation as InfluxDB computes it (its last digits too): a running
/// mean, then the squared deviations from it summed in order; `None` (null, as InfluxDB
/// answers) for fewer than two values.
fn stddev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let mut mean = 0.0;
    for (n, v) in values.iter().enumerate() {
        mean += (v - mean) / (n + 1) as f64;
    }
    let variance: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    Some((variance / (values.len() - 1) as f64).sqrt())
}

/// A value ordered by [`compare`], to key a map.
#[derive(Debug, Clone)]
pub(super) struct Ordered(pub(super) Value);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        compare(&self.0, &other.0)
    }
}

impl Function {
    /// Whether the function can be computed by an [`Accumulator`].
    pub(super) fn accumulates(&self) -> bool {
        matches!(
            self,
            Function::Count
                | Function::Sum
                | Function::Mean
                | Function::Min
                | Function::Max
                | Function::First
                | Function::Last
                | Function::Spread
                | Function::Stddev
                | Function::Mode
                | Function::CountDistinct
        )
    }

    /// A fresh accumulator for this function.
    pub(super) fn accumulator(&self) -> Accumulator {
        Accumulator {
            function: self.clone(),
            count: 0,
            earliest: None,
            int_sum: 0,
            float_sum: 0.0,
            low: None,
            high: None,
            stddev_of: Vec::new(),
            seen: BTreeMap::new(),
        }
    }
}

impl Accumulator {
    /// Whether it took no point yet.
    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Takes one point.
    pub(super) fn add(&mut self, t: i64, v: Value) {
        self.count += 1;
        if self.earliest.as_ref().is_none_or(|(e, _)| t < *e) {
            self.earliest = Some((t, v.clone()));
        }
        match self.function {
            Function::Sum | Function::Mean => {
                self.int_sum = self.int_sum.wrapping_add(as_i64(&v));
                if let Some(f) = as_f64(&v) {
                    self.float_sum += f;
                }
            }
            Function::Min | Function::Max | Function::Spread => {
                let lower = self.low.as_ref().is_none_or(|(lt, lv)| {
                    let c = compare(&v, lv);
                    c.is_lt() || (c.is_eq() && t < *lt)
                });
                let higher = self.high.as_ref().is_none_or(|(ht, hv)| {
                    let c = compare(&v, hv);
                    c.is_gt() || (c.is_eq() && t < *ht)
                });
                if higher {
                    self.high = Some((t, v.clone()));
                }
                if lower {
                    self.low = Some((t, v));
                }
            }
            // Of points at the same time, the larger value, as `apply` picks.
            Function::First => {
                let better = self
                    .low
                    .as_ref()
                    .is_none_or(|(ct, cv)| t < *ct || (t == *ct && first_tie(&v, cv).is_gt()));
                if better {
                    self.low = Some((t, v));
                }
            }
            Function::Last => {
                let better = self
                    .low
                    .as_ref()
                    .is_none_or(|(ct, cv)| t > *ct || (t == *ct && compare(&v, cv).is_gt()));
                if better {
                    self.low = Some((t, v));
                }
            }
            Function::Stddev => {
                if let Some(x) = as_f64(&v) {
                    self.stddev_of.push(x);
                }
            }
            Function::Mode | Function::CountDistinct => {
                *self.seen.entry(Ordered(v)).or_insert(0) += 1;
            }
            _ => {}
        }
    }

    /// The function's value (and for selectors the time of the chosen point).
    pub(super) fn result(&self) -> Option<(i64, Value)> {
        let (t0, first) = self.earliest.as_ref()?;
        let numeric_first = as_f64(first).is_some();
        match self.function {
            Function::Count => Some((*t0, Value::Integer(self.count))),
            Function::Sum => Some((
                *t0,
                match first {
                    Value::Integer(_) | Value::Unsigned(_) => integer_like(first, self.int_sum),
                    _ => Value::Float(self.float_sum),
                },
            )),
            Function::Mean => {
                numeric_first.then(|| (*t0, Value::Float(self.float_sum / self.count as f64)))
            }
            Function::Min => self.low.clone().filter(|(_, v)| orderable(v)),
            Function::Max => self.high.clone().filter(|(_, v)| orderable(v)),
            Function::Spread if numeric_first => {
                let (low, high) = (self.low.as_ref()?, self.high.as_ref()?);
                Some((*t0, difference(&high.1, &low.1)))
            }
            Function::First | Function::Last => self.low.clone(),
            Function::Stddev => Some((*t0, Value::Float(stddev(&self.stddev_of)?))),
            Function::CountDistinct => Some((*t0, Value::Integer(self.seen.len() as i64))),
            // The most frequent value; of equally frequent ones the smallest, as `apply`.
            Function::Mode => {
                let mut best: Option<(&Ordered, i64)> = None;
                for (value, &n) in &self.seen {
                    if best.is_none_or(|(_, most)| n > most) {
                        best = Some((value, n));
                    }
                }
                best.map(|(v, _)| (*t0, v.0.clone()))
            }
            _ => None,
        }
    }
}

/// `Ok` when `name` got exactly `n` arguments, else InfluxDB's error.
pub(super) fn expect_args(name: &str, args: &[Expr], n: usize) -> Result<(), QueryError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(QueryError::Invalid(format!(
            "invalid number of arguments for {name}, expected {n}, got {}",
            args.len()
        )))
    }
}

fn numeric(p: &(i64, Value)) -> bool {
    as_f64(&p.1).is_some()
}

pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(*f),
        Value::Integer(i) => Some(*i as f64),
        Value::Unsigned(u) => Some(*u as f64),
        _ => None,
    }
}

fn as_i64(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        // Same bits: a wrapping sum of these, read back as u64, is the unsigned sum.
        Value::Unsigned(u) => *u as i64,
        _ => 0,
    }
}

/// A sum taken in wrapping 64-bit arithmetic, as the type of `like` (unsigned sums wrap
/// modulo 2^64, as InfluxDB's).
fn integer_like(like: &Value, sum: i64) -> Value {
    match like {
        Value::Unsigned(_) => Value::Unsigned(sum as u64),
        _ => Value::Integer(sum),
    }
}

/// Whether `min`/`max` take the point: numbers, and booleans (`false` before `true`).
fn orderable(v: &Value) -> bool {
    as_f64(v).is_some() || matches!(v, Value::Boolean(_))
}

/// InfluxDB's order of two values of one field (numbers by value, strings and booleans as such).
pub(super) fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Unsigned(x), Value::Unsigned(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        _ => as_f64(a)
            .unwrap_or(f64::NAN)
            .total_cmp(&as_f64(b).unwrap_or(f64::NAN)),
    }
}

/// How `first` ranks two values of one time: the larger wins, except that of booleans
/// `false` does (InfluxDB's `BooleanFirstReduce`; `last` keeps `true`).
pub(super) fn first_tie(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => y.cmp(x),
        _ => compare(a, b),
    }
}

/// A point of a bucket: time and value.
type Point = (i64, Value);

/// The earliest minimum and the earliest maximum (ties go to the earlier point, as InfluxDB).
fn min_max(points: &[Point]) -> Option<(&Point, &Point)> {
    if !orderable(&points.first()?.1) {
        return None;
    }
    let mut min = &points[0];
    let mut max = &points[0];
    for p in &points[1..] {
        if compare(&p.1, &min.1).is_lt() {
            min = p;
        }
        if compare(&p.1, &max.1).is_gt() {
            max = p;
        }
    }
    Some((min, max))
}

pub(super) fn difference(max: &Value, min: &Value) -> Value {
    match (max, min) {
        (Value::Integer(a), Value::Integer(b)) => Value::Integer(a.wrapping_sub(*b)),
        (Value::Unsigned(a), Value::Unsigned(b)) => Value::Unsigned(a.wrapping_sub(*b)),
        _ => Value::Float(as_f64(max).unwrap_or(0.0) - as_f64(min).unwrap_or(0.0)),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Points of integer values `v`, at times 0, 1, 2, ….
    pub(in crate::query) fn ints(v: &[i64]) -> Vec<(i64, Value)> {
        v.iter()
            .enumerate()
            .map(|(i, x)| (i as i64, Value::Integer(*x)))
            .collect()
    }

    #[test]
    fn results_follow_influxdb() {
        let p = ints(&[1, 3, 5, 7]);
        assert_eq!(Function::Count.apply(&p), Some((0, Value::Integer(4))));
        assert_eq!(Function::Sum.apply(&p), Some((0, Value::Integer(16))));
        assert_eq!(Function::Mean.apply(&p), Some((0, Value::Float(4.0))));
        assert_eq!(Function::Median.apply(&p), Some((0, Value::Float(4.0))));
        assert_eq!(Function::Spread.apply(&p), Some((0, Value::Integer(6))));
        assert_eq!(Function::Max.apply(&p), Some((3, Value::Integer(7))));
        assert_eq!(
            Function::Min.apply(&ints(&[2, 1, 1])),
            Some((1, Value::Integer(1)))
        );
        assert_eq!(
            Function::Mode.apply(&ints(&[3, 1, 3, 1])),
            Some((0, Value::Integer(1)))
        );
        assert_eq!(
            Function::Percentile(50.0).apply(&ints(&[5, 7])),
            Some((0, Value::Integer(5)))
        );
        let s = Function::Stddev.apply(&p).map(|(_, v)| v);
        assert_eq!(s, Some(Value::Float(2.581988897471611)));
        assert_eq!(Function::Count.apply(&[]), None);
        let same_time = [
            (5, Value::Float(1.0)),
            (5, Value::Float(3.0)),
            (6, Value::Float(2.0)),
        ];
        assert_eq!(
            Function::First.apply(&same_time),
            Some((5, Value::Float(3.0)))
        );
        assert_eq!(
            Function::Last.apply(&same_time),
            Some((6, Value::Float(2.0)))
        );
        let bools = [(5, Value::Boolean(true)), (5, Value::Boolean(false))];
        assert_eq!(
            Function::First.apply(&bools),
            Some((5, Value::Boolean(false)))
        );
        assert_eq!(
            Function::Last.apply(&bools),
            Some((5, Value::Boolean(true)))
        );
    }

    proptest::proptest! {
        /// Folding the points in any order gives what `apply` gives over the sorted points.
        #[test]
        fn accumulators_agree_with_apply(
            points in proptest::collection::vec((0i64..20, -5i64..5), 1..40),
            float in proptest::bool::ANY,
            rotate in 0usize..40,
        ) {
            let value = |v: i64| if float { Value::Float(v as f64 / 2.0) } else { Value::Integer(v) };
            let mut sorted: Vec<(i64, Value)> = points.iter().map(|(t, v)| (*t, value(*v))).collect();
            sorted.sort_by_key(|(t, _)| *t);
            let mut shuffled = sorted.clone();
            let n = shuffled.len();
            shuffled.rotate_left(rotate % n);
            for f in [Function::Count, Function::Sum, Function::Mean, Function::Min, Function::Max,
                      Function::First, Function::Last, Function::Spread, Function::Stddev,
                      Function::Mode, Function::CountDistinct] {
                let mut acc = f.accumulator();
                for (t, v) in &shuffled {
                    acc.add(*t, v.clone());
                }
                let (got, want) = (acc.result(), f.apply(&sorted));
                match f {
                    // Only the value matters for these: the caller shows a bucket's time.
                    Function::Count | Function::Sum | Function::Mean | Function::Spread
                    | Function::Stddev | Function::Mode | Function::CountDistinct => {
                        let close = match (got.map(|g| g.1), want.map(|w| w.1)) {
                            (Some(Value::Float(a)), Some(Value::Float(b))) => (a - b).abs() < 1e-9,
                            (a, b) => a == b,
                        };
                        proptest::prop_assert!(close, "{:?}", f);
                    }
                    _ => proptest::prop_assert_eq!(got, want, "{:?}", f),
                }
            }
        }
    }
}
