//! Aggregate and selector functions over the points of one bucket, with InfluxDB's result
//! types and tie rules.

use super::holt_winters::HoltWinters;
use super::technical::Technical;
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
                Value::Integer(_) => Some((
                    first.0,
                    Value::Integer(
                        points
                            .iter()
                            .map(|(_, v)| as_i64(v))
                            .fold(0i64, i64::wrapping_add),
                    ),
                )),
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
                if v.len() < 2 {
                    return (!v.is_empty()).then_some((first.0, Value::Float(0.0)));
                }
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
                Some((first.0, Value::Float(var.sqrt())))
            }
            Function::Spread => {
                let (min, max) = min_max(points)?;
                Some((first.0, difference(&max.1, &min.1)))
            }
            Function::Min => min_max(points).map(|(min, _)| min.clone()),
            Function::Max => min_max(points).map(|(_, max)| max.clone()),
            // Of points at the same time, InfluxDB keeps the larger value.
            Function::First => points
                .iter()
                .take_while(|(t, _)| *t == first.0)
                .max_by(|a, b| compare(&a.1, &b.1))
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
    /// `stddev`: the numeric values' running mean and sum of squared deviations (Welford).
    spread_of: Welford,
    /// `mode`, `count(distinct())`: how often each value was seen.
    seen: BTreeMap<Ordered, i64>,
}

/// Welford's running mean and variance: one pass, stable.
#[derive(Debug, Clone, Default)]
struct Welford {
    n: u64,
    mean: f64,
    squares: f64,
}

impl Welford {
    fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.squares += delta * (x - self.mean);
    }

    /// The sample standard deviation (0 for one value, as InfluxDB), `None` for no values.
    fn stddev(&self) -> Option<f64> {
        match self.n {
            0 => None,
            1 => Some(0.0),
            n => Some((self.squares / (n - 1) as f64).sqrt()),
        }
    }
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
            spread_of: Welford::default(),
            seen: BTreeMap::new(),
        }
    }
}

impl Accumulator {
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
                    .is_none_or(|(ct, cv)| t < *ct || (t == *ct && compare(&v, cv).is_gt()));
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
                    self.spread_of.add(x);
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
                    Value::Integer(_) => Value::Integer(self.int_sum),
                    _ => Value::Float(self.float_sum),
                },
            )),
            Function::Mean => {
                numeric_first.then(|| (*t0, Value::Float(self.float_sum / self.count as f64)))
            }
            Function::Min => self.low.clone().filter(|_| numeric_first),
            Function::Max => self.high.clone().filter(|_| numeric_first),
            Function::Spread if numeric_first => {
                let (low, high) = (self.low.as_ref()?, self.high.as_ref()?);
                Some((*t0, difference(&high.1, &low.1)))
            }
            Function::First | Function::Last => self.low.clone(),
            Function::Stddev => Some((*t0, Value::Float(self.spread_of.stddev()?))),
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

/// `derivative`, `non_negative_derivative`, `difference`, `non_negative_difference`,
/// `cumulative_sum`, `moving_average`, `elapsed` and the technical-analysis functions:
/// functions of consecutive points (raw, or the buckets of an inner aggregate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Transform {
    /// Change per `unit` of time (ns; `None` = 1 s raw, the `GROUP BY` interval aggregated).
    Derivative {
        unit: Option<i64>,
        non_negative: bool,
    },
    /// Change from the previous point.
    Difference { non_negative: bool },
    /// Running total, at every point.
    CumulativeSum,
    /// Mean of the last `window` points, from the `window`-th on.
    MovingAverage { window: usize },
    /// Time since the previous point, in `unit` ns.
    Elapsed { unit: i64 },
    /// A technical-analysis function: the exponential moving averages, TRIX, RSI, CMO and
    /// Kaufman's ratio and average.
    Technical(Technical),
    /// `holt_winters` / `holt_winters_with_fit` of an aggregate's windows: values at times of
    /// their own, past the windows.
    HoltWinters(HoltWinters),
}

impl Transform {
    /// Reads `name(inner[, unit])` when `name` is a transformation; returns it and `inner`.
    pub(super) fn parse<'e>(
        name: &str,
        args: &'e [Expr],
    ) -> Result<Option<(Transform, &'e Expr)>, QueryError> {
        let non_negative = name.starts_with("non_negative_");
        if let Some(hw) = holt_winters(name, args)? {
            return match args.first() {
                Some(inner @ Expr::Call { .. }) => Ok(Some((Transform::HoltWinters(hw), inner))),
                _ => Err(QueryError::Invalid(format!(
                    "must use aggregate function with {name}"
                ))),
            };
        }
        if let Some(call) = Technical::parse(name, args)? {
            return match args.first() {
                Some(inner @ (Expr::VarRef(_) | Expr::Call { .. })) => {
                    Ok(Some((Transform::Technical(call), inner)))
                }
                _ => Err(QueryError::Invalid(format!(
                    "expected field argument in {name}()"
                ))),
            };
        }
        let transform = match name.trim_start_matches("non_negative_") {
            "derivative" => {
                let unit = match args.get(1) {
                    None => None,
                    Some(Expr::Duration(d)) if *d > 0 => Some(*d),
                    Some(other) => {
                        return Err(QueryError::Invalid(format!(
                            "second argument to {name} must be a duration, got {other}"
                        )))
                    }
                };
                Transform::Derivative { unit, non_negative }
            }
            "difference" if args.len() == 1 => Transform::Difference { non_negative },
            "difference" => {
                return Err(QueryError::Invalid(format!(
                    "invalid number of arguments for {name}, expected 1, got {}",
                    args.len()
                )))
            }
            "cumulative_sum" if !non_negative => {
                expect_args(name, args, 1)?;
                Transform::CumulativeSum
            }
            "moving_average" if !non_negative => {
                expect_args(name, args, 2)?;
                // Two arguments, checked above.
                match &args[1] {
                    Expr::Integer(n) if *n > 1 => Transform::MovingAverage {
                        window: usize::try_from(*n).unwrap_or(usize::MAX),
                    },
                    Expr::Integer(n) => {
                        return Err(QueryError::Invalid(format!(
                            "moving_average window must be greater than 1, got {n}"
                        )))
                    }
                    other => {
                        return Err(QueryError::Invalid(format!(
                            "second argument for moving_average must be an integer, got {}",
                            expr_kind(other)
                        )))
                    }
                }
            }
            "elapsed" if !non_negative => {
                let unit = match args.get(1) {
                    None => 1,
                    Some(Expr::Duration(d)) if *d > 0 => *d,
                    Some(other) => {
                        return Err(QueryError::Invalid(format!(
                            "second argument to elapsed must be a duration, got {}",
                            expr_kind(other)
                        )))
                    }
                };
                Transform::Elapsed { unit }
            }
            _ => return Ok(None),
        };
        match args.first() {
            Some(inner @ (Expr::VarRef(_) | Expr::Call { .. })) if args.len() <= 2 => {
                Ok(Some((transform, inner)))
            }
            _ => Err(QueryError::Invalid(format!(
                "expected field or aggregate argument in {name}()"
            ))),
        }
    }

    /// The transformation of time-ordered `points`; a point at the same time as the one before
    /// it is skipped, as InfluxDB does.
    pub(super) fn apply(&self, points: &[(i64, Value)], default_unit: i64) -> Vec<(i64, Value)> {
        let mut distinct: Vec<&(i64, Value)> = Vec::with_capacity(points.len());
        for p in points {
            if distinct.last().is_none_or(|q| q.0 != p.0) {
                distinct.push(p);
            }
        }
        match *self {
            Transform::CumulativeSum => cumulative_sum(&distinct),
            Transform::Technical(call) => {
                let numbers: Vec<(i64, f64)> = distinct
                    .iter()
                    .filter_map(|p| Some((p.0, as_f64(&p.1)?)))
                    .collect();
                let outputs = call.outputs(numbers.iter().map(|(_, v)| *v));
                numbers
                    .iter()
                    .zip(outputs)
                    .skip(call.hold)
                    .map(|((t, _), v)| (*t, Value::Float(v)))
                    .collect()
            }
            Transform::HoltWinters(hw) => {
                let numbers: Vec<(i64, f64)> = distinct
                    .iter()
                    .filter_map(|p| Some((p.0, as_f64(&p.1)?)))
                    .collect();
                hw.forecast(&numbers, default_unit)
                    .into_iter()
                    .map(|(t, v)| (t, Value::Float(v)))
                    .collect()
            }
            Transform::MovingAverage { window } => {
                let numbers: Vec<(i64, f64)> = distinct
                    .iter()
                    .filter_map(|p| Some((p.0, as_f64(&p.1)?)))
                    .collect();
                numbers
                    .windows(window)
                    .map(|w| {
                        let sum: f64 = w.iter().map(|(_, v)| v).sum();
                        (w[w.len() - 1].0, Value::Float(sum / window as f64))
                    })
                    .collect()
            }
            _ => distinct
                .windows(2)
                .filter_map(|pair| {
                    let (q, p) = (pair[0], pair[1]);
                    Some((p.0, self.between(q, p, default_unit)?))
                })
                .collect(),
        }
    }

    /// How many buckets before the first one InfluxDB 1.x reads when this transforms
    /// aggregates: one for all but `cumulative_sum` (even for `moving_average` of a wider
    /// window, whose first values then come later).
    pub(super) fn lookback_buckets(&self) -> i64 {
        match *self {
            Transform::CumulativeSum | Transform::HoltWinters(_) => 0,
            _ => 1,
        }
    }

    /// The value of a pairwise transformation at `p`, given the point `q` before it.
    fn between(&self, q: &(i64, Value), p: &(i64, Value), default_unit: i64) -> Option<Value> {
        match *self {
            Transform::Derivative { unit, non_negative } => {
                let (a, b) = (as_f64(&p.1)?, as_f64(&q.1)?);
                let per = (p.0 - q.0) as f64 / unit.unwrap_or(default_unit) as f64;
                let d = (a - b) / per;
                (!non_negative || d >= 0.0).then_some(Value::Float(d))
            }
            Transform::Difference { non_negative } => {
                let d = difference(&p.1, &q.1);
                let negative = as_f64(&d).is_some_and(|x| x < 0.0);
                (!non_negative || !negative).then_some(d)
            }
            Transform::Elapsed { unit } => Some(Value::Integer((p.0 - q.0) / unit)),
            Transform::CumulativeSum
            | Transform::MovingAverage { .. }
            | Transform::Technical(_)
            | Transform::HoltWinters(_) => None,
        }
    }
}

/// `integral` per `GROUP BY time()` window, as InfluxDB 1.x computes it in one pass: a segment
/// between two points of the same window adds to it; a segment crossing the end of a window is
/// cut there at the interpolated value, the part before the end going to the first window and
/// the rest to the window of the later point. Windows without points have no value.
pub(super) fn integral_buckets(
    points: &[(i64, Value)],
    buckets: &[i64],
    width: i64,
    unit: i64,
) -> Vec<Option<Value>> {
    let mut out: Vec<Option<f64>> = vec![None; buckets.len()];
    let Some(&first_bucket) = buckets.first() else {
        return Vec::new();
    };
    let index = |t: i64| usize::try_from((t - first_bucket).div_euclid(width)).ok();
    let numeric: Vec<(i64, f64)> = points
        .iter()
        .filter_map(|(t, v)| Some((*t, as_f64(v)?)))
        .collect();
    let area =
        |t0: i64, v0: f64, t1: i64, v1: f64| (v0 + v1) / 2.0 * (t1 - t0) as f64 / unit as f64;
    for (n, &(t, _)) in numeric.iter().enumerate() {
        if let Some(slot) = index(t).and_then(|i| out.get_mut(i)) {
            slot.get_or_insert(0.0);
        }
        let Some(&(t1, v1)) = numeric.get(n + 1) else {
            continue;
        };
        let v0 = numeric[n].1;
        if t1 == t {
            continue;
        }
        let (Some(i0), Some(i1)) = (index(t), index(t1)) else {
            continue;
        };
        if i0 == i1 {
            if let Some(Some(a)) = out.get_mut(i0) {
                *a += area(t, v0, t1, v1);
            }
            continue;
        }
        let end = first_bucket + (i0 as i64 + 1) * width;
        let at_end = v0 + (v1 - v0) * (end - t) as f64 / (t1 - t) as f64;
        if let Some(Some(a)) = out.get_mut(i0) {
            *a += area(t, v0, end, at_end);
        }
        if let Some(slot) = out.get_mut(i1) {
            *slot.get_or_insert(0.0) += area(end, at_end, t1, v1);
        }
    }
    out.into_iter().map(|a| a.map(Value::Float)).collect()
}

/// Running totals: integers stay integers (wrapping as Go does), anything else sums as floats.
fn cumulative_sum(points: &[&(i64, Value)]) -> Vec<(i64, Value)> {
    let mut int_total: i64 = 0;
    let mut float_total = 0.0;
    points
        .iter()
        .filter_map(|p| match &p.1 {
            Value::Integer(i) => {
                int_total = int_total.wrapping_add(*i);
                Some((p.0, Value::Integer(int_total)))
            }
            v => {
                float_total += as_f64(v)?;
                Some((p.0, Value::Float(float_total)))
            }
        })
        .collect()
}

/// Reads `holt_winters(agg, N, S)` (or `holt_winters_with_fit`) with InfluxDB's checks and
/// words; `None` when `name` is neither.
fn holt_winters(name: &str, args: &[Expr]) -> Result<Option<HoltWinters>, QueryError> {
    let with_fit = match name {
        "holt_winters" => false,
        "holt_winters_with_fit" => true,
        _ => return Ok(None),
    };
    expect_args(name, args, 3)?;
    let invalid = |m: String| Err(QueryError::Invalid(m));
    let horizon = match &args[1] {
        Expr::Integer(n) if *n > 0 => usize::try_from(*n).unwrap_or(usize::MAX),
        Expr::Integer(n) => {
            return invalid(format!(
                "second arg to {name} must be greater than 0, got {n}"
            ))
        }
        _ => return invalid(format!("expected integer argument as second arg in {name}")),
    };
    let season = match &args[2] {
        Expr::Integer(n) if *n >= 0 => usize::try_from(*n).unwrap_or(usize::MAX),
        Expr::Integer(n) => {
            return invalid(format!("third arg to {name} cannot be negative, got {n}"))
        }
        _ => return invalid(format!("expected integer argument as third arg in {name}")),
    };
    Ok(Some(HoltWinters {
        horizon,
        season,
        with_fit,
    }))
}

/// `Ok` when `name` got exactly `n` arguments, else InfluxDB's error.
fn expect_args(name: &str, args: &[Expr], n: usize) -> Result<(), QueryError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(QueryError::Invalid(format!(
            "invalid number of arguments for {name}, expected {n}, got {}",
            args.len()
        )))
    }
}

/// The kind of a literal as InfluxDB names it in errors.
fn expr_kind(e: &Expr) -> &'static str {
    match e {
        Expr::Integer(_) => "integer",
        Expr::Float(_) => "float",
        Expr::Str(_) => "string",
        Expr::Duration(_) => "duration",
        _ => "expression",
    }
}

fn numeric(p: &(i64, Value)) -> bool {
    as_f64(&p.1).is_some()
}

fn as_f64(v: &Value) -> Option<f64> {
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
        _ => 0,
    }
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

/// A point of a bucket: time and value.
type Point = (i64, Value);

/// The earliest minimum and the earliest maximum (ties go to the earlier point, as InfluxDB).
fn min_max(points: &[Point]) -> Option<(&Point, &Point)> {
    if !numeric(points.first()?) {
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

fn difference(max: &Value, min: &Value) -> Value {
    match (max, min) {
        (Value::Integer(a), Value::Integer(b)) => Value::Integer(a.wrapping_sub(*b)),
        (Value::Unsigned(a), Value::Unsigned(b)) => Value::Unsigned(a.wrapping_sub(*b)),
        _ => Value::Float(as_f64(max).unwrap_or(0.0) - as_f64(min).unwrap_or(0.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[i64]) -> Vec<(i64, Value)> {
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
        let series = [
            (0, Value::Integer(10)),
            (0, Value::Integer(99)),
            (60, Value::Integer(13)),
            (120, Value::Integer(12)),
        ];
        let derivative = Transform::Derivative {
            unit: Some(60),
            non_negative: false,
        };
        assert_eq!(
            derivative.apply(&series, 1),
            vec![(60, Value::Float(3.0)), (120, Value::Float(-1.0))]
        );
        let non_negative = Transform::Difference { non_negative: true };
        assert_eq!(
            non_negative.apply(&series, 1),
            vec![(60, Value::Integer(3))]
        );
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

    #[test]
    fn running_transformations_follow_influxdb() {
        let p = ints(&[1, 3, 5, 7]);
        assert_eq!(
            Transform::CumulativeSum.apply(&p, 1),
            vec![
                (0, Value::Integer(1)),
                (1, Value::Integer(4)),
                (2, Value::Integer(9)),
                (3, Value::Integer(16))
            ]
        );
        assert_eq!(
            Transform::MovingAverage { window: 3 }.apply(&p, 1),
            vec![(2, Value::Float(3.0)), (3, Value::Float(5.0))]
        );
        let spaced = [
            (0, Value::Float(1.0)),
            (10_000, Value::Float(2.0)),
            (10_000, Value::Float(9.0)),
            (40_000, Value::Float(3.0)),
        ];
        assert_eq!(
            Transform::Elapsed { unit: 1_000 }.apply(&spaced, 1),
            vec![(10_000, Value::Integer(10)), (40_000, Value::Integer(30))],
            "points at the time of the one before are skipped"
        );
        let parse = |q: &str| {
            let Ok(influxql::Statement::Select(s)) = influxql::parse_statement(q) else {
                panic!("{q}")
            };
            let influxql::Expr::Call { name, args } = &s.fields[0].expr else {
                panic!("{q}")
            };
            Transform::parse(name, args).map(|t| t.map(|(t, _)| t))
        };
        assert_eq!(
            parse("SELECT moving_average(v, 1) FROM m")
                .unwrap_err()
                .to_string(),
            "moving_average window must be greater than 1, got 1"
        );
        assert_eq!(
            parse("SELECT cumulative_sum(v, 2) FROM m")
                .unwrap_err()
                .to_string(),
            "invalid number of arguments for cumulative_sum, expected 1, got 2"
        );
        assert_eq!(
            parse("SELECT elapsed(v, 1s) FROM m").unwrap(),
            Some(Transform::Elapsed {
                unit: 1_000_000_000
            })
        );
    }
}
