//! Transformations of a series of values (`derivative`, `difference`, `moving_average`,
//! `cumulative_sum`, `elapsed`, `integral`, `holt_winters`, the technical-analysis functions):
//! what they compute from points or buckets, with InfluxDB's rules for their arguments.

use super::aggregates::{as_f64, difference, expect_args};
use super::holt_winters::HoltWinters;
use super::reservoir::Reservoir;
use super::technical::Technical;
use super::QueryError;
use crate::storage::Value;
use influxql::Expr;

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
    /// `sample(field, n)` beside other functions, over `*` or a regex, or in arithmetic: `n`
    /// raw points chosen at random, at their own times (alone, `sample` is a selector).
    Sample { n: usize },
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
                Some(inner @ (Expr::VarRef(_) | Expr::Typed { .. } | Expr::Call { .. })) => {
                    Ok(Some((Transform::Technical(call), inner)))
                }
                _ => Err(QueryError::Invalid(format!(
                    "expected field argument in {name}()"
                ))),
            };
        }
        let transform = match name.trim_start_matches("non_negative_") {
            "sample" if !non_negative => {
                expect_args(name, args, 2)?;
                match args[1] {
                    Expr::Integer(n) if n > 0 => Transform::Sample {
                        n: usize::try_from(n).unwrap_or(usize::MAX),
                    },
                    Expr::Integer(n) => {
                        return Err(QueryError::Invalid(format!(
                            "sample window must be greater than 1, got {n}"
                        )))
                    }
                    ref other => {
                        return Err(QueryError::Invalid(format!(
                            "expected integer argument in sample(), found {other}"
                        )))
                    }
                }
            }
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
            Some(inner @ (Expr::VarRef(_) | Expr::Typed { .. } | Expr::Call { .. }))
                if args.len() <= 2 =>
            {
                Ok(Some((transform, inner)))
            }
            Some(inner @ (Expr::Wildcard | Expr::Regex(_)))
                if matches!(transform, Transform::Sample { .. }) =>
            {
                Ok(Some((transform, inner)))
            }
            _ => Err(QueryError::Invalid(format!(
                "expected field or aggregate argument in {name}()"
            ))),
        }
    }

    /// The transformation of time-ordered `points`. `derivative` and `difference` skip a point
    /// at the same time as the one before it (InfluxDB's reducers do: it "does not advance the
    /// stream"); the others take every point.
    pub(super) fn apply(&self, points: &[(i64, Value)], default_unit: i64) -> Vec<(i64, Value)> {
        let skips_ties = matches!(
            self,
            Transform::Derivative { .. } | Transform::Difference { .. }
        );
        let mut stream: Vec<&(i64, Value)> = Vec::with_capacity(points.len());
        for p in points {
            if !skips_ties || stream.last().is_none_or(|q| q.0 != p.0) {
                stream.push(p);
            }
        }
        match *self {
            // Every point may be picked, those of one time too.
            Transform::Sample { n } => {
                let mut reservoir = Reservoir::new(n);
                points.iter().for_each(|p| reservoir.offer(p.clone()));
                let mut kept = reservoir.kept;
                kept.sort_by_key(|p| p.0);
                kept
            }
            Transform::CumulativeSum => cumulative_sum(&stream),
            Transform::Technical(call) => {
                let numbers: Vec<(i64, f64)> = stream
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
                let numbers: Vec<(i64, f64)> = stream
                    .iter()
                    .filter_map(|p| Some((p.0, as_f64(&p.1)?)))
                    .collect();
                hw.forecast(&numbers, default_unit)
                    .into_iter()
                    .map(|(t, v)| (t, Value::Float(v)))
                    .collect()
            }
            Transform::MovingAverage { window } => {
                let numbers: Vec<(i64, f64)> = stream
                    .iter()
                    .filter_map(|p| Some((p.0, as_f64(&p.1)?)))
                    .collect();
                // A running sum (the newest value added, the oldest taken off), as InfluxDB
                // keeps it: the same last digits as 1.x.
                let mut sum = 0.0;
                numbers
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (t, v))| {
                        if i >= window {
                            sum -= numbers[i - window].1;
                        }
                        sum += v;
                        (i + 1 >= window).then(|| (*t, Value::Float(sum / window as f64)))
                    })
                    .collect()
            }
            _ => stream
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
            Transform::CumulativeSum | Transform::HoltWinters(_) | Transform::Sample { .. } => 0,
            _ => 1,
        }
    }

    /// The value of a pairwise transformation at `p`, given the point `q` before it.
    fn between(&self, q: &(i64, Value), p: &(i64, Value), default_unit: i64) -> Option<Value> {
        match *self {
            Transform::Derivative { unit, non_negative } => {
                let (a, b) = (as_f64(&p.1)?, as_f64(&q.1)?);
                // Per unit of time elapsed, forward or (newest first) backward.
                let per = (p.0 - q.0).abs() as f64 / unit.unwrap_or(default_unit) as f64;
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
            | Transform::HoltWinters(_)
            | Transform::Sample { .. } => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::aggregates::tests::ints;

    #[test]
    fn derivative_and_difference_follow_influxdb() {
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
            vec![
                (10_000, Value::Integer(10)),
                (10_000, Value::Integer(0)),
                (40_000, Value::Integer(30))
            ],
            "elapsed takes every point, one at the time of the one before too"
        );
        assert_eq!(
            Transform::Difference {
                non_negative: false
            }
            .apply(&spaced, 1),
            vec![(10_000, Value::Float(1.0)), (40_000, Value::Float(1.0))],
            "difference skips a point at the time of the one before"
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
