//! Selectors that answer with points and the fields and tags beside them: `distinct()`,
//! `top()`, `bottom()` and `sample()` (many rows per window), and `max()`, `min()`,
//! `first()`, `last()` and `percentile()` when fields or tags are named beside them
//! (`SELECT max(v), host FROM m`), following InfluxDB 1.x: `top`/`bottom`/`sample` rows carry
//! the time of the point chosen, `distinct` rows the start of their window, and the one-point
//! selectors the point's time, or with `GROUP BY time()` the window's (empty windows filled
//! as `fill()` says); many-row windows without points give no rows.

use super::call::check_field_type;
use super::{column_names, dimensions, limit, shown_tags, Label, Scope};
use crate::query::aggregates::{compare, first_tie, Ordered};
use crate::query::reservoir::Reservoir;
use crate::query::{QueryError, Series};
use crate::storage::Value;
use influxql::{Expr, Fill, SelectStatement};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Which selector.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Distinct,
    Top,
    Bottom,
    Sample,
    Max,
    Min,
    First,
    Last,
    Percentile,
}

impl Kind {
    /// Selectors of one point per window.
    fn picks_one(self) -> bool {
        matches!(
            self,
            Kind::Max | Kind::Min | Kind::First | Kind::Last | Kind::Percentile
        )
    }
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
    /// `percentile(v, p)`: `p`.
    percentile: f64,
}

/// Whether [`select`] answers the select list: it holds a many-row selector, or one
/// one-point selector with fields or tags beside it and nothing else.
pub(super) fn is_multi_row(sel: &SelectStatement) -> bool {
    let calls: Vec<(&str, &[Expr])> = sel
        .fields
        .iter()
        .filter_map(|f| match &f.expr {
            Expr::Call { name, args } => Some((name.as_str(), args.as_slice())),
            _ => None,
        })
        .collect();
    // `sample` of one field is a selector alone; beside other functions or over `*` or a
    // regex it is a transformation of the raw points (InfluxDB merges their rows by time).
    let lone_sample = calls.len() == 1 && matches!(calls[0].1.first(), Some(Expr::VarRef(_)));
    let beside = sel
        .fields
        .iter()
        .filter(|f| matches!(f.expr, Expr::VarRef(_) | Expr::Wildcard))
        .count();
    calls.iter().any(|(name, _)| {
        kind(name).is_some_and(|k| !k.picks_one() && (k != Kind::Sample || lone_sample))
    }) || (calls.len() == 1
        && beside > 0
        && calls.len() + beside == sel.fields.len()
        && kind(calls[0].0).is_some_and(Kind::picks_one)
        && matches!(calls[0].1.first(), Some(Expr::VarRef(_))))
}

fn kind(name: &str) -> Option<Kind> {
    match name {
        "distinct" => Some(Kind::Distinct),
        "top" => Some(Kind::Top),
        "bottom" => Some(Kind::Bottom),
        "sample" => Some(Kind::Sample),
        "max" => Some(Kind::Max),
        "min" => Some(Kind::Min),
        "first" => Some(Kind::First),
        "last" => Some(Kind::Last),
        "percentile" => Some(Kind::Percentile),
        _ => None,
    }
}

impl Selector {
    /// Reads `name(args)` with InfluxDB's checks and messages.
    fn parse(name: &str, kind: Kind, args: &[Expr]) -> Result<Selector, QueryError> {
        let invalid = |m: String| Err(QueryError::Invalid(m));
        if args.is_empty() {
            let expected = match kind {
                Kind::Percentile | Kind::Sample => "2",
                Kind::Top | Kind::Bottom => "at least 2",
                _ => "1",
            };
            return invalid(format!(
                "invalid number of arguments for {name}, expected {expected}, got 0"
            ));
        }
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
            n: 1,
            percentile: 0.0,
        };
        match kind {
            Kind::Max | Kind::Min | Kind::First | Kind::Last if args.len() != 1 => {
                invalid(format!(
                    "invalid number of arguments for {name}, expected 1, got {}",
                    args.len()
                ))
            }
            Kind::Max | Kind::Min | Kind::First | Kind::Last => Ok(selector),
            Kind::Percentile => {
                selector.percentile = match args.get(1) {
                    Some(Expr::Integer(i)) if args.len() == 2 => *i as f64,
                    Some(Expr::Float(f)) if args.len() == 2 => *f,
                    _ => return invalid("expected float argument in percentile()".into()),
                };
                Ok(selector)
            }
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
struct Candidate {
    time: i64,
    /// Its place in the order the points were read: breaks ties between equal times as the
    /// order of the series does in InfluxDB.
    arrival: u64,
    value: Value,
    tags: Rc<BTreeMap<String, String>>,
    aux: Vec<Option<Value>>,
}

impl Candidate {
    /// Earlier points first; of equal times, the one read first.
    fn order(&self) -> (i64, u64) {
        (self.time, self.arrival)
    }
}

/// A column shown beside the selector's value.
enum Aux {
    Tag(String),
    /// Index into the fields read (0 is the selector's own field).
    Field(usize),
}

/// Runs a `SELECT` whose select list has `distinct`, `top`, `bottom` or `sample`.
pub(super) fn select(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    now: i64,
) -> Result<Vec<Series>, QueryError> {
    let mut selector: Option<(Selector, Label)> = None;
    let mut read: Vec<String> = Vec::new();
    let mut aux: Vec<(Label, Expr)> = Vec::new();
    // The select list's order: the columns named before the selector come before it.
    let mut selector_at = 0;
    let is_time = |e: &Expr| matches!(e, Expr::VarRef(n) if n.eq_ignore_ascii_case("time"));
    for f in &sel.fields {
        match &f.expr {
            Expr::Call { name, args } => {
                let Some(kind) = kind(name) else {
                    continue;
                };
                if let Some((first, _)) = &selector {
                    // `sample` may be combined; the other one is named.
                    let named = if first.kind == Kind::Sample {
                        name
                    } else {
                        &first.name
                    };
                    return Err(combined(named));
                }
                let label = Label::of(f.alias.as_ref(), || name.clone());
                let parsed = Selector::parse(name, kind, args)?;
                check_field_type(name, &parsed.field, false, &scope.field_types())?;
                selector = Some((parsed, label));
                selector_at = aux.len();
            }
            // `time` written in the list is the time column, always first.
            e if is_time(e) => {}
            Expr::VarRef(name) => {
                aux.push((Label::of(f.alias.as_ref(), || name.clone()), f.expr.clone()))
            }
            // Every field and tag, by name.
            Expr::Wildcard => {
                let mut names: Vec<String> = scope.field_names();
                names.extend(scope.tag_keys());
                names.sort();
                names.dedup();
                aux.extend(
                    names
                        .into_iter()
                        .map(|n| (Label::generated(n.clone()), Expr::VarRef(n))),
                );
            }
            _ => {}
        }
    }
    let Some((selector, label)) = selector else {
        return Ok(Vec::new());
    };
    let wildcards = sel
        .fields
        .iter()
        .filter(|f| f.expr == Expr::Wildcard)
        .count();
    let times = sel.fields.iter().filter(|f| is_time(&f.expr)).count();
    if sel.fields.len() > aux.len() + wildcards + times + 1 {
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
    let aux: Vec<(Label, Aux)> = aux
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

    // Each window keeps only what its selector may still pick, as the series are read.
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, Picker>> = BTreeMap::new();
    let mut arrival = 0u64;
    scope.visit_rows(&read, sel.condition.as_ref(), &mut |s| {
        let key: Vec<String> = grouping
            .tags
            .iter()
            .map(|t| s.tags.get(t).cloned().unwrap_or_default())
            .collect();
        let windows = groups.entry(key).or_default();
        let tags = Rc::new(s.tags);
        for row in s.rows {
            let mut values = row.values.into_iter();
            let Some(Some(value)) = values.next() else {
                continue;
            };
            let window = match grouping.interval {
                Some(interval) => scope.windows(interval).start(row.time),
                None if scope.min == i64::MIN => 0,
                None => scope.min,
            };
            arrival += 1;
            windows
                .entry(window)
                .or_insert_with(|| Picker::new(&selector))
                .offer(
                    &selector,
                    Candidate {
                        time: row.time,
                        arrival,
                        value,
                        tags: Rc::clone(&tags),
                        aux: values.take(read.len() - 1).collect(),
                    },
                );
        }
    })?;
    let (before, after) = aux.split_at(selector_at);
    // Names taken twice are numbered (`host`, `host_1`), aliases kept, as InfluxDB.
    let labels = before
        .iter()
        .map(|(l, _)| l.clone())
        .chain(std::iter::once(label))
        .chain(selector.tags.iter().cloned().map(Label::generated))
        .chain(after.iter().map(|(l, _)| l.clone()));
    let columns: Vec<String> = std::iter::once("time".to_string())
        .chain(column_names(labels))
        .collect();
    let fill = sel.fill.clone().unwrap_or(Fill::Null);
    let mut out = Vec::new();
    for (key, mut windows) in groups {
        let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
        let every_window = match grouping.interval {
            Some(interval) if selector.kind.picks_one() => {
                let windows_of = scope.windows(interval);
                let first = windows.keys().next().copied().unwrap_or(0);
                let last = windows.keys().next_back().copied().unwrap_or(0);
                let from = if scope.min == i64::MIN {
                    first
                } else {
                    scope.min
                };
                // Without an upper bound, windows run to now, as for other aggregates.
                let to = if scope.max == i64::MAX {
                    now.max(last)
                } else {
                    scope.max
                };
                scope
                    .interrupt
                    .charge_windows(windows_of.count(from, to), columns.len() as u64)?;
                windows_of.list(from, to)
            }
            _ => windows.keys().copied().collect(),
        };
        for window in every_window {
            let Some(picker) = windows.remove(&window) else {
                if let Some(row) = filled_row(&fill, rows.last(), columns.len() - 1) {
                    rows.push(
                        std::iter::once(scope.epoch.render(window))
                            .chain(row)
                            .collect(),
                    );
                }
                continue;
            };
            for (time, c) in picker.picked(&selector, window, grouping.interval.is_some()) {
                let cell = |(_, a): &(Label, Aux)| match a {
                    Aux::Tag(t) => c
                        .tags
                        .get(t)
                        .map_or(serde_json::Value::Null, |v| v.clone().into()),
                    Aux::Field(i) => c.aux[i - 1]
                        .as_ref()
                        .map_or(serde_json::Value::Null, Value::to_json),
                };
                let mut row = vec![scope.epoch.render(time)];
                row.extend(before.iter().map(cell));
                row.push(c.value.to_json());
                row.extend(selector.tags.iter().map(|t| {
                    c.tags
                        .get(t)
                        .map_or(serde_json::Value::Null, |v| v.clone().into())
                }));
                row.extend(after.iter().map(cell));
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
    Ok(out)
}

/// InfluxDB's refusal to combine a many-row selector with other functions.
fn combined(name: &str) -> QueryError {
    QueryError::Invalid(if name == "distinct" {
        "aggregate function distinct() cannot be combined with other functions or fields".into()
    } else {
        format!("selector function {name}() cannot be combined with other functions")
    })
}

/// What one window keeps of the candidates offered to it: no more than its selector can
/// still pick, so memory grows with the rows answered, not with the points read.
enum Picker {
    /// `distinct`: the earliest point of each value.
    Distinct(BTreeMap<Ordered, Candidate>),
    /// `top`/`bottom`: the best `n` points, best first.
    Best(Vec<Candidate>),
    /// `top`/`bottom` with tags: the best point of each combination of the tags' values.
    BestPerTags(BTreeMap<Vec<Option<String>>, Candidate>),
    /// `sample`.
    Sample(Reservoir<Candidate>),
    /// `max`, `min`, `first`, `last`: the best point so far.
    One(Option<Candidate>),
    /// `percentile`: every point (the rank needs them all).
    All(Vec<Candidate>),
}

impl Picker {
    fn new(selector: &Selector) -> Picker {
        match selector.kind {
            Kind::Distinct => Picker::Distinct(BTreeMap::new()),
            Kind::Top | Kind::Bottom if selector.tags.is_empty() => Picker::Best(Vec::new()),
            Kind::Top | Kind::Bottom => Picker::BestPerTags(BTreeMap::new()),
            Kind::Sample => Picker::Sample(Reservoir::new(selector.n)),
            Kind::Percentile => Picker::All(Vec::new()),
            Kind::Max | Kind::Min | Kind::First | Kind::Last => Picker::One(None),
        }
    }

    /// Considers one more point.
    fn offer(&mut self, selector: &Selector, c: Candidate) {
        match self {
            Picker::Distinct(first) => match first.entry(Ordered(c.value.clone())) {
                Entry::Vacant(e) => {
                    e.insert(c);
                }
                Entry::Occupied(mut e) => {
                    if c.order() < e.get().order() {
                        e.insert(c);
                    }
                }
            },
            Picker::Best(best) => {
                let at = best.partition_point(|b| selector.better(b, &c).is_lt());
                if at < selector.n {
                    best.insert(at, c);
                    best.truncate(selector.n);
                }
            }
            Picker::BestPerTags(best) => {
                let key: Vec<Option<String>> = selector
                    .tags
                    .iter()
                    .map(|t| c.tags.get(t).cloned())
                    .collect();
                match best.entry(key) {
                    Entry::Vacant(e) => {
                        e.insert(c);
                    }
                    Entry::Occupied(mut e) => {
                        if selector.better(&c, e.get()).is_lt() {
                            e.insert(c);
                        }
                    }
                }
            }
            Picker::Sample(reservoir) => reservoir.offer(c),
            Picker::One(best) => {
                if best.as_ref().is_none_or(|b| selector.better(&c, b).is_lt()) {
                    *best = Some(c);
                }
            }
            Picker::All(all) => all.push(c),
        }
    }

    /// The points picked, in time order, with the time each row shows: the point's own, or
    /// the window's start for `distinct` and, with `GROUP BY time()` (`windowed`), for the
    /// one-point selectors.
    fn picked(self, selector: &Selector, window: i64, windowed: bool) -> Vec<(i64, Candidate)> {
        let shown = |c: Candidate| (if windowed { window } else { c.time }, c);
        match self {
            Picker::One(best) => return best.into_iter().map(shown).collect(),
            // InfluxDB's rank: the value at floor(n * p / 100 + 0.5), 1-based.
            Picker::All(mut all) => {
                all.sort_by(|a, b| compare(&a.value, &b.value).then(a.order().cmp(&b.order())));
                let rank =
                    (all.len() as f64 * selector.percentile / 100.0 + 0.5).floor() as i64 - 1;
                return usize::try_from(rank)
                    .ok()
                    .filter(|&r| r < all.len())
                    .map(|r| all.swap_remove(r))
                    .into_iter()
                    .map(shown)
                    .collect();
            }
            _ => {}
        }
        let mut picked: Vec<Candidate> = match self {
            Picker::Distinct(first) => {
                let mut seen: Vec<Candidate> = first.into_values().collect();
                seen.sort_by_key(Candidate::order);
                return seen.into_iter().map(|c| (window, c)).collect();
            }
            Picker::Best(best) => best,
            Picker::BestPerTags(best) => {
                let mut best: Vec<Candidate> = best.into_values().collect();
                best.sort_by(|a, b| selector.better(a, b));
                best.truncate(selector.n);
                best
            }
            Picker::Sample(reservoir) => reservoir.kept,
            Picker::One(_) | Picker::All(_) => Vec::new(),
        };
        picked.sort_by_key(|c| c.time);
        picked.into_iter().map(|c| (c.time, c)).collect()
    }
}

impl Selector {
    /// Which of two points the selector prefers (`Less`: `a`). `top`/`max`: the larger value,
    /// `bottom`/`min`: the smaller, then the earlier point; `first`: the earlier point,
    /// `last`: the later, then the larger value; last of all, the one read first.
    fn better(&self, a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
        let by_value = compare(&a.value, &b.value);
        match self.kind {
            Kind::Top | Kind::Max => by_value.reverse().then(a.order().cmp(&b.order())),
            Kind::First => a
                .time
                .cmp(&b.time)
                .then(first_tie(&a.value, &b.value).reverse())
                .then(a.arrival.cmp(&b.arrival)),
            Kind::Last => b
                .time
                .cmp(&a.time)
                .then(by_value.reverse())
                .then(a.arrival.cmp(&b.arrival)),
            _ => by_value.then(a.order().cmp(&b.order())),
        }
    }
}

/// The cells (after `time`) of an empty window's row under `fill`, given the row before it;
/// `None` when the window shows no row.
fn filled_row(
    fill: &Fill,
    previous: Option<&Vec<serde_json::Value>>,
    cells: usize,
) -> Option<Vec<serde_json::Value>> {
    let value = match fill {
        Fill::None => return None,
        Fill::Null | Fill::Linear => serde_json::Value::Null,
        Fill::Integer(i) => (*i).into(),
        Fill::Float(f) => Value::Float(*f).to_json(),
        Fill::Previous => {
            return Some(match previous {
                Some(row) => row[1..].to_vec(),
                None => vec![serde_json::Value::Null; cells],
            })
        }
    };
    Some(vec![value; cells])
}
