//! `WHERE` clauses: the time range they imply, and the row filter for everything else.

use super::QueryError;
use crate::storage::Value;
use influxql::{BinaryOp, Expr, VarType};
use std::collections::BTreeMap;

/// Evaluates a time expression (`now()`, `now() - 1h`, RFC3339 strings, integers, durations).
fn time_value(e: &Expr, now: i64) -> Result<i64, QueryError> {
    match e {
        Expr::Call { name, args } if name == "now" && args.is_empty() => Ok(now),
        Expr::Integer(i) => Ok(*i),
        Expr::Duration(d) => Ok(*d),
        Expr::Float(f) => Ok(*f as i64),
        Expr::Str(s) => parse_time_string(s).ok_or_else(|| {
            QueryError::Invalid(
                "invalid operation: time and *influxql.StringLiteral are not compatible"
                    .to_string(),
            )
        }),
        Expr::Paren(inner) => time_value(inner, now),
        Expr::Binary { op, lhs, rhs } => {
            let l = time_value(lhs, now)?;
            let r = time_value(rhs, now)?;
            match op {
                BinaryOp::Add => Ok(l.saturating_add(r)),
                BinaryOp::Sub => Ok(l.saturating_sub(r)),
                BinaryOp::Mul => Ok(l.saturating_mul(r)),
                BinaryOp::Div if r != 0 => Ok(l / r),
                _ => Err(QueryError::Invalid(format!("invalid time expression: {e}"))),
            }
        }
        _ => Err(QueryError::Invalid(format!("invalid time expression: {e}"))),
    }
}

/// RFC3339 and the RFC3339-like forms InfluxQL accepts (`2015-08-18 00:00:00`, `2015-08-18`).
pub(super) fn parse_time_string(s: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return dt.timestamp_nanos_opt();
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
}

/// Whether `e` compares `time` anywhere.
pub(super) fn mentions_time(e: &Expr) -> bool {
    match e {
        Expr::VarRef(n) => n.eq_ignore_ascii_case("time"),
        Expr::Binary { lhs, rhs, .. } => mentions_time(lhs) || mentions_time(rhs),
        Expr::Paren(inner) => mentions_time(inner),
        _ => false,
    }
}

/// What 1.x's index answers a `SHOW` condition comparing a tag (or anything but time) with
/// `<`, `<=`, `>` or `>=`: `invalid tag comparison operator`.
pub(super) fn check_tag_comparisons(e: &Expr) -> Result<(), QueryError> {
    match e {
        Expr::Paren(inner) => check_tag_comparisons(inner),
        Expr::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            lhs,
            rhs,
        } => check_tag_comparisons(lhs).and_then(|()| check_tag_comparisons(rhs)),
        Expr::Binary { op, lhs, rhs }
            if matches!(
                op,
                BinaryOp::Lt | BinaryOp::Lte | BinaryOp::Gt | BinaryOp::Gte
            ) && !is_time(lhs)
                && !is_time(rhs) =>
        {
            Err(QueryError::Invalid(
                "invalid tag comparison operator".into(),
            ))
        }
        _ => Ok(()),
    }
}

fn is_time(e: &Expr) -> bool {
    matches!(e, Expr::VarRef(n) if n.eq_ignore_ascii_case("time"))
}

/// The `[min, max]` time range implied by the condition's top-level `AND`ed time comparisons.
pub(super) fn time_range(cond: &Expr, now: i64) -> Result<(i64, i64), QueryError> {
    let mut range = (i64::MIN, i64::MAX);
    narrow(cond, now, &mut range)?;
    Ok(range)
}

fn narrow(e: &Expr, now: i64, range: &mut (i64, i64)) -> Result<(), QueryError> {
    match e {
        Expr::Paren(inner) => narrow(inner, now, range),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => {
            narrow(lhs, now, range)?;
            narrow(rhs, now, range)
        }
        Expr::Binary { op, lhs, rhs } if is_time(lhs) || is_time(rhs) => {
            let (value, op) = if is_time(lhs) {
                (time_value(rhs, now)?, *op)
            } else {
                (time_value(lhs, now)?, flip(*op))
            };
            match op {
                BinaryOp::Gt => range.0 = range.0.max(value.saturating_add(1)),
                BinaryOp::Gte => range.0 = range.0.max(value),
                BinaryOp::Lt => range.1 = range.1.min(value.saturating_sub(1)),
                BinaryOp::Lte => range.1 = range.1.min(value),
                BinaryOp::Eq => {
                    range.0 = range.0.max(value);
                    range.1 = range.1.min(value);
                }
                _ => {}
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        other => other,
    }
}

/// A value during condition evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Num(f64),
    Str(String),
    /// A tag's value: compared with `=`, `!=` and regexes only (InfluxDB's index answers no
    /// other comparison of tags: `host > 'a'` matches nothing).
    Tag(String),
    Bool(bool),
    Missing,
}

/// Field values of the row being filtered, by name.
pub(super) type FieldLookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

fn operand(e: &Expr, tags: &BTreeMap<String, String>, values: FieldLookup<'_>) -> Operand {
    let tag = |n: &str| Operand::Tag(tags.get(n).cloned().unwrap_or_default());
    match e {
        Expr::VarRef(n) => values(n.as_str()).as_ref().map_or_else(|| tag(n), field),
        // `::tag` is the tag even where a field has its name; any other type, the field.
        Expr::Typed {
            name,
            to: VarType::Tag,
        } => tag(name),
        Expr::Typed { name, to } => values(name.as_str())
            .and_then(|v| super::cast::cast(&v, *to))
            .as_ref()
            .map_or(Operand::Missing, field),
        Expr::Str(s) => Operand::Str(s.clone()),
        Expr::Integer(i) => Operand::Num(*i as f64),
        Expr::Float(f) => Operand::Num(*f),
        Expr::Bool(b) => Operand::Bool(*b),
        Expr::Paren(inner) => operand(inner, tags, values),
        // A comparison inside a comparison (`usage > 1 = true`) is a boolean.
        Expr::Binary { op, .. } if op.is_comparison() => {
            Operand::Bool(eval_condition(e, tags, values))
        }
        // Arithmetic over numbers (`count % 5 = 0`, `usage > count * 5`).
        Expr::Binary { op, lhs, rhs } if op.is_arithmetic() => {
            match (operand(lhs, tags, values), operand(rhs, tags, values)) {
                (Operand::Num(a), Operand::Num(b)) => Operand::Num(match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    BinaryOp::Div => a / b,
                    _ => a % b,
                }),
                _ => Operand::Missing,
            }
        }
        _ => Operand::Missing,
    }
}

/// How many compiled patterns each thread keeps for [`with_regex`] (a query has a few; the
/// bound keeps patterns of past queries from piling up in every thread of the query pool).
const REGEX_CACHE: usize = 8;

thread_local! {
    /// Patterns compiled by [`with_regex`] on this thread, oldest first (`None`: invalid).
    static REGEXES: std::cell::RefCell<Vec<(String, Option<regex::Regex>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Calls `f` with `pattern` compiled (`None` when it does not compile), compiling it once per
/// thread: a condition is evaluated per series and per row, and compiling its pattern each
/// time took 4 s for the 50,000 series of `WHERE region = 'r7' AND rack =~ /k1.*/`.
fn with_regex<R>(pattern: &str, f: impl FnOnce(Option<&regex::Regex>) -> R) -> R {
    REGEXES.with_borrow_mut(|cache| {
        let at = match cache.iter().position(|(p, _)| p == pattern) {
            Some(at) => at,
            None => {
                if cache.len() == REGEX_CACHE {
                    cache.remove(0);
                }
                cache.push((pattern.to_string(), regex::Regex::new(pattern).ok()));
                cache.len() - 1
            }
        };
        f(cache[at].1.as_ref())
    })
}

/// Row filter: time comparisons were applied as a range; the rest is evaluated here.
pub(super) fn eval_condition(
    e: &Expr,
    tags: &BTreeMap<String, String>,
    values: FieldLookup<'_>,
) -> bool {
    match e {
        Expr::Paren(inner) => eval_condition(inner, tags, values),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => eval_condition(lhs, tags, values) && eval_condition(rhs, tags, values),
        Expr::Binary {
            op: BinaryOp::Or,
            lhs,
            rhs,
        } => eval_condition(lhs, tags, values) || eval_condition(rhs, tags, values),
        Expr::Binary { lhs, rhs, .. } if is_time(lhs) || is_time(rhs) => true,
        Expr::Binary { op, lhs, rhs } => {
            if let (BinaryOp::EqRegex | BinaryOp::NeqRegex, Expr::Regex(re)) = (op, &**rhs) {
                let (Operand::Str(s) | Operand::Tag(s)) = operand(lhs, tags, values) else {
                    return false;
                };
                let matched = with_regex(re, |r| r.is_some_and(|r| r.is_match(&s)));
                return matched == (*op == BinaryOp::EqRegex);
            }
            let (l, r) = (operand(lhs, tags, values), operand(rhs, tags, values));
            match (l, r) {
                (Operand::Num(a), Operand::Num(b)) => compare(*op, a.partial_cmp(&b)),
                (Operand::Str(a), Operand::Str(b)) => compare(*op, Some(a.cmp(&b))),
                (Operand::Tag(a), Operand::Str(b) | Operand::Tag(b))
                | (Operand::Str(a), Operand::Tag(b))
                    if matches!(op, BinaryOp::Eq | BinaryOp::Neq) =>
                {
                    compare(*op, Some(a.cmp(&b)))
                }
                (Operand::Bool(a), Operand::Bool(b)) => compare(*op, Some(a.cmp(&b))),
                _ => false,
            }
        }
        Expr::Bool(b) => *b,
        _ => false,
    }
}

fn compare(op: BinaryOp, ord: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    let Some(ord) = ord else {
        return false;
    };
    match op {
        BinaryOp::Eq => ord == Equal,
        BinaryOp::Neq => ord != Equal,
        BinaryOp::Lt => ord == Less,
        BinaryOp::Lte => ord != Greater,
        BinaryOp::Gt => ord == Greater,
        BinaryOp::Gte => ord != Less,
        _ => false,
    }
}

/// Whether every conjunct of the top-level `AND`s of `e` compares `time` or refers to tags only:
/// then the time range and the series decide which points pass, not their values.
pub(super) fn time_and_tags_only(e: &Expr, tag_keys: &std::collections::BTreeSet<String>) -> bool {
    match e {
        Expr::Paren(inner) => time_and_tags_only(inner, tag_keys),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => time_and_tags_only(lhs, tag_keys) && time_and_tags_only(rhs, tag_keys),
        Expr::Binary { lhs, rhs, .. } if is_time(lhs) || is_time(rhs) => true,
        other => tags_only(other, tag_keys),
    }
}

/// `e` with every name in `both` (a field and a tag) written `name::field`: in a `WHERE`
/// clause such a name is the field, as in InfluxDB, even in a row without that field.
pub(super) fn fields_before_tags(e: &Expr, both: &std::collections::BTreeSet<String>) -> Expr {
    e.rewrite(&mut |e| match e {
        Expr::VarRef(n) if both.contains(n) => Some(Expr::Typed {
            name: n.clone(),
            to: VarType::Field,
        }),
        _ => None,
    })
}

/// An operand from a field's value.
fn field(v: &Value) -> Operand {
    match v {
        Value::Float(f) => Operand::Num(*f),
        Value::Integer(i) => Operand::Num(*i as f64),
        Value::Unsigned(u) => Operand::Num(*u as f64),
        Value::String(s) => Operand::Str(s.clone()),
        Value::Boolean(b) => Operand::Bool(*b),
    }
}

/// Whether `e` refers to tags only (no fields, no time), so it can be decided per series.
/// `tag_keys` are the keys that name a tag and no field: a name that is both is the field
/// unless written `name::tag`, as in InfluxDB.
fn tags_only(e: &Expr, tag_keys: &std::collections::BTreeSet<String>) -> bool {
    let is_ref = |e: &Expr| matches!(e, Expr::VarRef(_) | Expr::Typed { .. });
    match e {
        Expr::VarRef(n) => tag_keys.contains(n),
        Expr::Typed { to, .. } => *to == VarType::Tag,
        Expr::Str(_) | Expr::Regex(_) | Expr::Integer(_) | Expr::Float(_) | Expr::Bool(_) => true,
        Expr::Paren(inner) => tags_only(inner, tag_keys),
        Expr::Binary { lhs, rhs, .. } => {
            (is_ref(lhs) || is_ref(rhs) || is_logical(e))
                && tags_only(lhs, tag_keys)
                && tags_only(rhs, tag_keys)
        }
        _ => false,
    }
}

fn is_logical(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            ..
        }
    )
}

/// The conjuncts of the top-level `AND`s of `e` that mention tags only: a series whose tags
/// fail one of them has no row that passes `e`.
pub(super) fn series_filters<'e>(
    e: &'e Expr,
    tag_keys: &std::collections::BTreeSet<String>,
) -> Vec<&'e Expr> {
    match e {
        Expr::Paren(inner) => series_filters(inner, tag_keys),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => {
            let mut v = series_filters(lhs, tag_keys);
            v.extend(series_filters(rhs, tag_keys));
            v
        }
        other if tags_only(other, tag_keys) => vec![other],
        _ => Vec::new(),
    }
}

/// The `(tag, values)` constraints a condition is exactly, for the index's postings to answer
/// alone: an `AND` of [`tag_values_wanted`] terms and of comparisons of `time` (which pick
/// shards, not series; rows pass them); `None` when it says anything else.
pub(super) fn postings_only(
    e: &Expr,
    tag_keys: &std::collections::BTreeSet<String>,
) -> Option<Vec<(String, Vec<String>)>> {
    match e {
        Expr::Paren(inner) => postings_only(inner, tag_keys),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => {
            let mut wanted = postings_only(lhs, tag_keys)?;
            wanted.extend(postings_only(rhs, tag_keys)?);
            Some(wanted)
        }
        Expr::Binary { op, lhs, rhs } if *op != BinaryOp::Or && (is_time(lhs) || is_time(rhs)) => {
            Some(Vec::new())
        }
        other => tag_values_wanted(other, tag_keys).map(|t| vec![t]),
    }
}

/// `tag = 'v'`, or an `OR` of such on one tag: the tag and the values it may have, for the
/// index to look up (none when a value is empty, which means the tag is absent).
pub(super) fn tag_values_wanted(
    e: &Expr,
    tag_keys: &std::collections::BTreeSet<String>,
) -> Option<(String, Vec<String>)> {
    match e {
        Expr::Paren(inner) => tag_values_wanted(inner, tag_keys),
        Expr::Binary {
            op: BinaryOp::Or,
            lhs,
            rhs,
        } => {
            let (tag, mut values) = tag_values_wanted(lhs, tag_keys)?;
            let (other, more) = tag_values_wanted(rhs, tag_keys)?;
            (tag == other).then(|| {
                values.extend(more);
                (tag, values)
            })
        }
        Expr::Binary {
            op: BinaryOp::Eq,
            lhs,
            rhs,
        } => match (&**lhs, &**rhs) {
            (Expr::VarRef(t), Expr::Str(v)) | (Expr::Str(v), Expr::VarRef(t))
                if tag_keys.contains(t) && !v.is_empty() =>
            {
                Some((t.clone(), vec![v.clone()]))
            }
            (
                Expr::Typed {
                    name: t,
                    to: VarType::Tag,
                },
                Expr::Str(v),
            )
            | (
                Expr::Str(v),
                Expr::Typed {
                    name: t,
                    to: VarType::Tag,
                },
            ) if !v.is_empty() => Some((t.clone(), vec![v.clone()])),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patterns are compiled once per thread and the cache stays bounded; an invalid pattern
    /// matches nothing, as it did when compiled per evaluation.
    #[test]
    fn patterns_are_kept_compiled_and_bounded() {
        assert!(with_regex("^k1", |r| r.is_some_and(|r| r.is_match("k10"))));
        assert!(!with_regex("^k1", |r| r.is_some_and(|r| r.is_match("k2"))));
        assert!(with_regex("(", |r| r.is_none()));
        for i in 0..3 * REGEX_CACHE {
            let pattern = format!("^h{i}$");
            assert!(with_regex(&pattern, |r| r
                .is_some_and(|r| r.is_match(&format!("h{i}")))));
        }
        REGEXES.with_borrow(|cache| assert_eq!(cache.len(), REGEX_CACHE));
        assert!(with_regex("^k1", |r| r.is_some_and(|r| r.is_match("k1"))));
    }
}
