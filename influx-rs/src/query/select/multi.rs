//! Selectors that answer with many rows per window: `distinct()`, `top()`, `bottom()` and
//! `sample()`, with the fields and tags named beside them (`SELECT top(v, 3), host FROM m`),
//! following InfluxDB 1.x: `top`/`bottom`/`sample` rows carry the time of the point chosen,
//! `distinct` rows the start of their window; windows without points give no rows.

use super::{dimensions, limit, series_limit, shown_tags, Scope};
use crate::query::functions::compare;
use crate::query::{QueryError, Series};
use crate::storage::Value;
use influxql::{Expr, SelectStatement};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

/// Which many-row selector.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Distinct,
    Top,
    Bottom,
    Sample,
}

/// A many-row selector call of the select list.
struct Selector {
    kind: Kind,
    /// The function's name, for messages.
    name: String,
    field: String,
    /// `top(v, host, 3)`: one point per distinct value of these tags.
    tags: Vec<String>,
    /// How many points (not for `distinct`).
    n: usize,
}

/// Whether the select list holds a many-row selector, which [`select`] answers.
pub(super) fn is_multi_row(sel: &SelectStatement) -> bool {
    sel.fields
        .iter()
        .any(|f| matches!(&f.expr, Expr::Call { name, .. } if kind(name).is_some()))
}

fn kind(name: &str) -> Option<Kind> {
    match name {
        "distinct" => Some(Kind::Distinct),
        "top" => Some(Kind::Top),
        "bottom" => Some(Kind::Bottom),
        "sample" => Some(Kind::Sample),
        _ => None,
    }
}

impl Selector {
    /// Reads `name(args)` with InfluxDB's checks and messages.
    fn parse(name: &str, kind: Kind, args: &[Expr]) -> Result<Selector, QueryError> {
        let invalid = |m: String| Err(QueryError::Invalid(m));
        let field = match args.first() {
            Some(Expr::VarRef(f)) => f.clone(),
            Some(other) if matches!(kind, Kind::Top | Kind::Bottom) => {
                return invalid(format!(
                    "expected first argument to be a field in {name}(), found {other}"
                ))
            }
            _ if kind == Kind::Distinct && args.len() > 1 => {
                return invalid("distinct function can only have one argument".into())
            }
            _ => return invalid(format!("expected field argument in {name}()")),
        };
        let mut selector = Selector {
            kind,
            name: name.to_string(),
            field,
            tags: Vec::new(),
            n: 0,
        };
        match kind {
            Kind::Distinct if args.len() != 1 => {
                invalid("distinct function can only have one argument".into())
            }
            Kind::Distinct => Ok(selector),
            Kind::Sample => {
                if args.len() != 2 {
                    return invalid(format!(
                        "invalid number of arguments for sample, expected 2, got {}",
                        args.len()
                    ));
                }
                match args[1] {
                    Expr::Integer(n) if n > 0 => {
                        selector.n = usize::try_from(n).unwrap_or(usize::MAX);
                        Ok(selector)
                    }
                    Expr::Integer(n) => {
                        invalid(format!("sample window must be greater than 1, got {n}"))
                    }
                    ref other => invalid(format!(
                        "expected integer argument in sample(), found {other}"
                    )),
                }
            }
            Kind::Top | Kind::Bottom => {
                if args.len() < 2 {
                    return invalid(format!(
                        "invalid number of arguments for {name}, expected at least 2, got {}",
                        args.len()
                    ));
                }
                let last = &args[args.len() - 1];
                let n = match last {
                    Expr::Integer(n) if *n >= 1 => *n,
                    Expr::Integer(n) => {
                        return invalid(format!(
                            "limit ({n}) in {name} function must be at least 1"
                        ))
                    }
                    Expr::Float(f) => {
                        return invalid(format!(
                            "expected integer as last argument in {name}(), found {f:.3}"
                        ))
                    }
                    other => {
                        return invalid(format!(
                            "expected integer as last argument in {name}(), found {other}"
                        ))
                    }
                };
                for a in &args[1..args.len() - 1] {
                    match a {
                        Expr::VarRef(t) => selector.tags.push(t.clone()),
                        other => {
                            return invalid(format!(
                                "only fields or tags are allowed in {name}(), found {other}"
                            ))
                        }
                    }
                }
                selector.n = usize::try_from(n).unwrap_or(usize::MAX);
                Ok(selector)
            }
        }
    }
}

/// A point a selector may pick: its time, value, the tags of its series and the values of
/// the fields read beside it.
struct Candidate<'a> {
    time: i64,
    value: Value,
    tags: &'a BTreeMap<String, String>,
    aux: Vec<Option<Value>>,
}

/// A column shown beside the selector's value.
enum Aux {
    Tag(String),
    /// Index into the fields read (0 is the selector's own field).
    Field(usize),
}

/// Runs a `SELECT` whose select list has `distinct`, `top`, `bottom` or `sample`.
pub(super) fn select(scope: &Scope<'_>, sel: &SelectStatement) -> Result<Vec<Series>, QueryError> {
    let mut selector: Option<(Selector, String)> = None;
    let mut read: Vec<String> = Vec::new();
    let mut aux: Vec<(String, Expr)> = Vec::new();
    for f in &sel.fields {
        match &f.expr {
            Expr::Call { name, args } => {
                let Some(kind) = kind(name) else {
                    continue;
                };
                if let Some((first, _)) = &selector {
                    return Err(combined(&first.name));
                }
                let label = f.alias.clone().unwrap_or_else(|| name.clone());
                selector = Some((Selector::parse(name, kind, args)?, label));
            }
            Expr::VarRef(name) => {
                aux.push((f.alias.clone().unwrap_or(name.clone()), f.expr.clone()))
            }
            _ => {}
        }
    }
    let Some((selector, label)) = selector else {
        return Ok(Vec::new());
    };
    if sel.fields.len() > aux.len() + 1 {
        return Err(combined(&selector.name));
    }
    if selector.kind == Kind::Distinct && !aux.is_empty() {
        return Err(combined(&selector.name));
    }
    if let (Kind::Top | Kind::Bottom, Some(l)) = (selector.kind, sel.limit.filter(|l| *l > 0)) {
        if usize::try_from(l).is_ok_and(|l| l < selector.n) {
            return Err(QueryError::Invalid(format!(
                "limit ({}) in {} function can not be larger than the LIMIT ({l}) in the select statement",
                selector.n, selector.name
            )));
        }
    }
    let grouping = dimensions(scope, sel)?;
    let tag_keys = scope.tag_keys();
    read.push(selector.field.clone());
    let aux: Vec<(String, Aux)> = aux
        .into_iter()
        .map(|(label, e)| {
            let name = match e {
                Expr::VarRef(n) => n,
                _ => String::new(),
            };
            let column = if tag_keys.contains(&name) {
                Aux::Tag(name)
            } else {
                read.push(name);
                Aux::Field(read.len() - 1)
            };
            (label, column)
        })
        .collect();

    let series = scope.rows(&read, sel.condition.as_ref())?;
    let mut groups: BTreeMap<Vec<String>, Vec<Candidate<'_>>> = BTreeMap::new();
    for s in &series {
        let key: Vec<String> = grouping
            .tags
            .iter()
            .map(|t| s.tags.get(t).cloned().unwrap_or_default())
            .collect();
        let group = groups.entry(key).or_default();
        for row in &s.rows {
            let Some(value) = row.values[0].clone() else {
                continue;
            };
            group.push(Candidate {
                time: row.time,
                value,
                tags: &s.tags,
                aux: row.values[1..read.len()].to_vec(),
            });
        }
    }
    let columns: Vec<String> = std::iter::once("time".to_string())
        .chain(std::iter::once(label))
        .chain(selector.tags.iter().cloned())
        .chain(aux.iter().map(|(l, _)| l.clone()))
        .collect();
    let mut out = Vec::new();
    for (key, mut candidates) in groups {
        candidates.sort_by_key(|c| c.time);
        let mut windows: BTreeMap<i64, Vec<Candidate<'_>>> = BTreeMap::new();
        for c in candidates {
            let window = match grouping.interval {
                Some(interval) => scope.windows(interval).start(c.time),
                None if scope.min == i64::MIN => 0,
                None => scope.min,
            };
            windows.entry(window).or_default().push(c);
        }
        let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
        for (window, candidates) in windows {
            for (time, c) in pick(&selector, window, candidates) {
                let mut row = vec![scope.epoch.render(time), c.value.to_json()];
                row.extend(selector.tags.iter().map(|t| {
                    c.tags
                        .get(t)
                        .map_or(serde_json::Value::Null, |v| v.clone().into())
                }));
                row.extend(aux.iter().map(|(_, a)| {
                    match a {
                        Aux::Tag(t) => c
                            .tags
                            .get(t)
                            .map_or(serde_json::Value::Null, |v| v.clone().into()),
                        Aux::Field(i) => c.aux[i - 1]
                            .as_ref()
                            .map_or(serde_json::Value::Null, Value::to_json),
                    }
                }));
                rows.push(row);
            }
        }
        if sel.descending {
            rows.reverse();
        }
        let values = limit(rows.into_iter(), sel);
        if values.is_empty() {
            continue;
        }
        let tags = shown_tags(sel, &grouping.tags, key);
        out.push(Series {
            name: Some(scope.measurement.to_string()),
            tags,
            columns: columns.clone(),
            values,
        });
    }
    Ok(series_limit(out, sel))
}

/// InfluxDB's refusal to combine a many-row selector with other functions.
fn combined(name: &str) -> QueryError {
    QueryError::Invalid(if name == "distinct" {
        "aggregate function distinct() cannot be combined with other functions or fields".into()
    } else {
        format!("selector function {name}() cannot be combined with other functions")
    })
}

/// The points `selector` picks from one window's time-ordered `candidates`, with the time each
/// row shows, in time order.
fn pick<'a>(
    selector: &Selector,
    window: i64,
    candidates: Vec<Candidate<'a>>,
) -> Vec<(i64, Candidate<'a>)> {
    let mut picked: Vec<Candidate<'a>> = match selector.kind {
        Kind::Distinct => {
            let mut seen: Vec<Candidate<'a>> = Vec::new();
            for c in candidates {
                if !seen.iter().any(|s| compare(&s.value, &c.value).is_eq()) {
                    seen.push(c);
                }
            }
            return seen.into_iter().map(|c| (window, c)).collect();
        }
        Kind::Top | Kind::Bottom => {
            let top = selector.kind == Kind::Top;
            // Better first: larger (top) or smaller (bottom) value, then the earlier point.
            let better = |a: &Candidate<'_>, b: &Candidate<'_>| {
                let by_value = compare(&a.value, &b.value);
                (if top { by_value.reverse() } else { by_value }).then(a.time.cmp(&b.time))
            };
            let mut candidates = candidates;
            if !selector.tags.is_empty() {
                // The best point of each combination of the named tags' values.
                let mut best: BTreeMap<Vec<Option<&String>>, Candidate<'a>> = BTreeMap::new();
                for c in candidates {
                    let key: Vec<Option<&String>> =
                        selector.tags.iter().map(|t| c.tags.get(t)).collect();
                    match best.get(&key) {
                        Some(b) if better(b, &c).is_le() => {}
                        _ => {
                            best.insert(key, c);
                        }
                    }
                }
                candidates = best.into_values().collect();
            }
            candidates.sort_by(&better);
            candidates.truncate(selector.n);
            candidates
        }
        Kind::Sample => reservoir(candidates, selector.n),
    };
    picked.sort_by_key(|c| c.time);
    picked.into_iter().map(|c| (c.time, c)).collect()
}

/// `n` of `items` chosen uniformly at random (reservoir sampling); all of them when there are
/// no more than `n`.
fn reservoir<T>(items: Vec<T>, n: usize) -> Vec<T> {
    if items.len() <= n {
        return items;
    }
    let seed = std::collections::hash_map::RandomState::new();
    let random = |bound: usize| {
        let mut h = seed.build_hasher();
        h.write_usize(bound);
        (h.finish() % bound as u64) as usize
    };
    let mut kept: Vec<T> = Vec::with_capacity(n);
    for (i, item) in items.into_iter().enumerate() {
        if i < n {
            kept.push(item);
            continue;
        }
        let j = random(i + 1);
        if j < n {
            kept[j] = item;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_keeps_n_distinct_items() {
        let picked = reservoir((0..1000).collect(), 10);
        assert_eq!(picked.len(), 10);
        let mut sorted = picked.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(reservoir(vec![1, 2], 5), vec![1, 2]);
    }
}
