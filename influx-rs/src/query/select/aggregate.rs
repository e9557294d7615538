//! Aggregate `SELECT`: the select list's calls (aggregates, selectors, transformations and the
//! arithmetic over them), evaluated per group of series — over the whole time range, per
//! `GROUP BY time()` window with `fill()`, or point by point for transformations of raw fields.

use super::call::{check_field_type, parse_call, wildcard_types, Call};
use super::groups::{fold_groups, point_groups, GroupValues};
use super::windows::Windows;
use super::{
    column_names, dimensions, index_of, indices_of, limit, shown_tags, Grouping, Label, Scope,
};
use crate::query::aggregates::{Accumulator, Function};
use crate::query::cast;
use crate::query::condition::time_and_tags_only;
use crate::query::math::{self, Math};
use crate::query::sink::SeriesSink;
use crate::query::transforms::Transform;
use crate::query::{QueryError, Series};
use crate::storage::Value;
use influxql::{Expr, Fill, SelectStatement};
use std::collections::BTreeMap;

/// Aggregate `SELECT`: series per tag group, rows per time bucket.
pub(super) fn aggregate(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    now: i64,
    out: &mut dyn SeriesSink,
) -> Result<(), QueryError> {
    let list = SelectList::parse(scope, sel)?;
    let Grouping {
        tags: group_tags,
        interval,
    } = dimensions(scope, sel)?;
    let plan = Plan::new(&list.calls, sel, interval)?;
    // A transformation of buckets needs the buckets before the first one too.
    let scope = &match interval {
        Some((width, _)) if plan.lookback > 0 && scope.min != i64::MIN => Scope {
            min: scope
                .min
                .saturating_sub(width.saturating_mul(plan.lookback)),
            ..*scope
        },
        _ => *scope,
    };
    let calls = &list.calls;

    // `last()` alone, over whole series filtered by time and tags: the newest point of each
    // series is all it needs, and the shards' last-value caches have it.
    let by_time_and_tags = sel
        .condition
        .as_ref()
        .is_none_or(|c| time_and_tags_only(c, &scope.condition_tag_keys()));
    let only_last = by_time_and_tags
        && interval.is_none()
        && scope.derived.is_none()
        && calls
            .iter()
            .all(|c| c.transform.is_none() && c.function == Some(Function::Last));
    // Functions that can take points one at a time fold them as each series is read, so
    // memory grows with the groups and windows, not with the points.
    let fold = !only_last
        && (interval.is_some() || calls.iter().all(|c| c.transform.is_none()))
        && calls
            .iter()
            .all(|c| c.function.as_ref().is_some_and(Function::accumulates));
    let (groups, first_time) = if fold {
        fold_groups(
            scope,
            sel,
            &list.read,
            calls,
            &group_tags,
            interval,
            by_time_and_tags,
        )?
    } else {
        point_groups(
            scope,
            sel,
            &list.read,
            &group_tags,
            by_time_and_tags,
            only_last,
        )?
    };
    let Some(first_time) = first_time else {
        return Ok(());
    };

    // Each group's series goes out as soon as it is made. `ORDER BY time DESC` puts the series
    // in reverse order too, as InfluxDB.
    let groups: Box<dyn Iterator<Item = (Vec<String>, GroupValues)>> = if sel.descending {
        Box::new(groups.into_iter().rev())
    } else {
        Box::new(groups.into_iter())
    };
    for (key, group) in groups {
        let rows = match interval {
            // Aggregates beside transformations of raw points: their row at the range's
            // start among the transformations' rows, as InfluxDB.
            None if plan.raw_calls > 0 => {
                let aggregates = (plan.raw_calls < calls.len())
                    .then(|| whole_range_cells(scope, &plan, calls, &group))
                    .flatten();
                transformed_points(scope, calls, &group, aggregates, sel.descending)
            }
            None => whole_range_cells(scope, &plan, calls, &group)
                .map(|(t, cells)| {
                    std::iter::once(scope.epoch.render(t))
                        .chain(cells)
                        .collect()
                })
                .into_iter()
                .collect(),
            Some(interval) => {
                let span = WindowSpan::new(scope, &plan, interval, first_time, now);
                window_rows(scope, &plan, calls, &group, &span)?
            }
        };
        let mut rows = rows;
        if sel.descending {
            rows.reverse();
        }
        // Rows merged from calls that answer at times of their own (transformations of raw
        // points beside aggregates, samples): `LIMIT` and `OFFSET` count each call's values,
        // as InfluxDB limits each call's iterator.
        let rows = if plan.raw_calls > 0 {
            limit_each_column(rows, sel)
        } else {
            limit(rows.into_iter(), sel)
        };
        let values = list.evaluate(rows);
        if values.is_empty() {
            continue;
        }
        let series = Series {
            name: Some(scope.measurement.to_string()),
            tags: shown_tags(sel, &group_tags, key),
            columns: std::iter::once("time".to_string())
                .chain(list.names.iter().cloned())
                .collect(),
            values,
        };
        out.series(series, true)?;
    }
    Ok(())
}

/// The select list read as calls: what each call computes over which field, the columns shown
/// (each a call, or arithmetic over calls), their names, and the fields read.
struct SelectList {
    calls: Vec<Call>,
    outputs: Vec<Math>,
    names: Vec<String>,
    read: Vec<String>,
}

impl SelectList {
    fn parse(scope: &Scope<'_>, sel: &SelectStatement) -> Result<SelectList, QueryError> {
        let mut calls: Vec<Call> = Vec::new();
        let mut labels: Vec<Label> = Vec::new();
        let mut outputs: Vec<Math> = Vec::new();
        let mut read: Vec<String> = Vec::new();
        let all_fields = scope.field_names();
        let types = scope.field_types();
        for f in &sel.fields {
            // `f(/re/)` is `f(*)` over the fields the regex matches.
            let (expr, matching) = regex_as_wildcard(&f.expr)?;
            let resolved = cast::resolve_in_calls(&expr, &types);
            let f = &influxql::Field {
                expr: resolved,
                alias: f.alias.clone(),
            };
            if math::is_math(&f.expr) {
                let mut leaf = |e: &Expr| -> Result<usize, QueryError> {
                    let Expr::Call { name, args } = e else {
                        return Err(QueryError::Invalid(
                            "mixing aggregate and non-aggregate queries is not supported".into(),
                        ));
                    };
                    if let Some(with_regex) = call_over_regex(e) {
                        return Err(QueryError::Invalid(format!(
                            "unsupported expression with regex field: {with_regex}()"
                        )));
                    }
                    let (call, field) = parse_call(name, args, e)?;
                    if field == "*" {
                        return Err(QueryError::Invalid(format!(
                            "unsupported expression with wildcard: {}()",
                            wildcard_call_name(e)
                        )));
                    }
                    check_field_type(wildcard_call_name(e), &field, call.cast.is_some(), &types)?;
                    calls.push(Call {
                        field: index_of(&mut read, &field),
                        ..call
                    });
                    Ok(calls.len() - 1)
                };
                outputs.push(math::build(&f.expr, &mut leaf)?);
                labels.push(Label::of(f.alias.as_ref(), || math::name(&f.expr)));
                continue;
            }
            let Expr::Call { name, args } = &f.expr else {
                continue;
            };
            let (call, field) = parse_call(name, args, &f.expr)?;
            check_field_type(
                wildcard_call_name(&f.expr),
                &field,
                call.cast.is_some(),
                &types,
            )?;
            let label = f.alias.clone().unwrap_or_else(|| name.clone());
            // An alias names its one column as written. `f(*)` is `f` of every field it
            // takes, in columns named `f_<field>` (`a_<field>` with `AS a`) that count as
            // aliases, as in InfluxDB: kept even where two are equal.
            let aliased = f.alias.is_some() || field == "*";
            let targets: Vec<(String, String)> = if field == "*" {
                let takes = wildcard_types(wildcard_call_name(&f.expr));
                // Over several measurements, the fields of all of them (null where absent).
                let (all_fields, types) = match scope.wildcard {
                    Some(keys) => (&keys.fields, &keys.types),
                    None => (&all_fields, &types),
                };
                all_fields
                    .iter()
                    .filter(|n| types.get(*n).is_none_or(|t| takes.contains(t)))
                    .filter(|n| matching.as_ref().is_none_or(|re| re.is_match(n)))
                    // A subquery's columns that show tags are no fields of `f(*)`.
                    .filter(|n| scope.derived.is_none_or(|d| !d.is_tag_column(n)))
                    .map(|n| (n.clone(), format!("{label}_{n}")))
                    .collect()
            } else {
                vec![(field, label)]
            };
            let at = indices_of(&mut read, targets.iter().map(|(f, _)| f.as_str()));
            for ((_, label), field) in targets.into_iter().zip(at) {
                calls.push(Call {
                    function: call.function.clone(),
                    field,
                    transform: call.transform,
                    cast: call.cast,
                });
                outputs.push(Math::Cell(calls.len() - 1));
                labels.push(Label {
                    name: label,
                    alias: aliased,
                });
            }
        }
        Ok(SelectList {
            calls,
            outputs,
            names: column_names(labels.into_iter()),
            read,
        })
    }

    /// Rows of `time` and one cell per call, as rows of `time` and one cell per column shown.
    fn evaluate(&self, rows: Vec<Vec<serde_json::Value>>) -> Vec<Vec<serde_json::Value>> {
        rows.into_iter()
            .map(|row| {
                let mut out = Vec::with_capacity(self.outputs.len() + 1);
                out.push(row.first().cloned().unwrap_or(serde_json::Value::Null));
                out.extend(
                    self.outputs
                        .iter()
                        .map(|m| m.eval(row.get(1..).unwrap_or(&[]))),
                );
                out
            })
            .collect()
    }
}

/// The name of the call whose first argument is a regex, innermost first.
fn call_over_regex(e: &Expr) -> Option<&str> {
    match e {
        Expr::Call { name, args } => match args.first() {
            Some(Expr::Regex(_)) => Some(name),
            Some(inner) => call_over_regex(inner),
            None => None,
        },
        _ => None,
    }
}

/// A call over `/regex/` (innermost: `derivative(mean(/u/))`) as the same call over `*`, and
/// the regex that picks the fields.
fn regex_as_wildcard(e: &Expr) -> Result<(Expr, Option<regex::Regex>), QueryError> {
    let mut expr = e.clone();
    let mut at = &mut expr;
    while let Expr::Call { args, .. } = at {
        match args.first_mut() {
            Some(inner @ Expr::Call { .. }) => at = inner,
            Some(arg @ Expr::Regex(_)) => {
                let Expr::Regex(re) = std::mem::replace(arg, Expr::Wildcard) else {
                    break;
                };
                let re = regex::Regex::new(&re).map_err(|e| QueryError::Invalid(e.to_string()))?;
                return Ok((expr, Some(re)));
            }
            _ => break,
        }
    }
    Ok((expr, None))
}

/// The name of the call whose argument is `*` (the innermost: `derivative(mean(*))` → `mean`).
fn wildcard_call_name(e: &Expr) -> &str {
    match e {
        Expr::Call { name, args } => match args.first() {
            Some(inner @ Expr::Call { .. }) => wildcard_call_name(inner),
            _ => name,
        },
        _ => "",
    }
}

/// What the calls together ask of the reading and of the rows, checked against InfluxDB's
/// rules for mixing them.
struct Plan {
    /// Some call transforms buckets or points (`derivative`, `moving_average`, …).
    transforms: bool,
    /// Buckets before the first shown that the transformations need.
    lookback: i64,
    /// Calls that transform raw points rather than an aggregate's buckets.
    raw_calls: usize,
    /// One selector alone without `GROUP BY time()`: its row has the selected point's time.
    single_selector: bool,
    fill: Fill,
    /// InfluxDB 1.x shows no row for a window with no points when only integrals are asked.
    only_integrals: bool,
}

impl Plan {
    fn new(
        calls: &[Call],
        sel: &SelectStatement,
        interval: Option<(i64, i64)>,
    ) -> Result<Plan, QueryError> {
        if interval.is_none() {
            let forecast = sel.fields.iter().find_map(|f| match &f.expr {
                Expr::Call { name, .. } if name.starts_with("holt_winters") => Some(name),
                _ => None,
            });
            if let Some(name) = forecast {
                return Err(QueryError::Invalid(format!(
                    "{name} aggregate requires a GROUP BY interval"
                )));
            }
        }
        let raw_calls = calls.iter().filter(|c| c.function.is_none()).count();
        let sampled = |c: &Call| matches!(c.transform, Some(Transform::Sample { .. }));
        if interval.is_some() && calls.iter().any(|c| c.function.is_none() && !sampled(c)) {
            return Err(QueryError::Invalid(
                "aggregate function required inside the call to derivative".into(),
            ));
        }
        Ok(Plan {
            transforms: calls.iter().any(|c| c.transform.is_some()),
            lookback: calls
                .iter()
                .filter_map(|c| c.transform.map(|t| t.lookback_buckets()))
                .max()
                .unwrap_or(0),
            raw_calls,
            single_selector: calls.len() == 1
                && calls[0].transform.is_none()
                && calls[0]
                    .function
                    .as_ref()
                    .is_some_and(Function::is_selector)
                && interval.is_none(),
            fill: sel.fill.clone().unwrap_or(Fill::Null),
            only_integrals: calls
                .iter()
                .all(|c| matches!(c.function, Some(Function::Integral(_)))),
        })
    }
}

/// Transformations of raw points (`derivative(v)` without `GROUP BY time()`): a row per time
/// any of them has a value, and the `aggregates`' row (a cell per call) among them.
fn transformed_points(
    scope: &Scope<'_>,
    calls: &[Call],
    group: &GroupValues,
    aggregates: Option<(i64, Vec<serde_json::Value>)>,
    descending: bool,
) -> Vec<Vec<serde_json::Value>> {
    let GroupValues::Points(fields) = group else {
        return Vec::new();
    };
    let mut merged = MergedRows::new(calls.len());
    if let Some((t, cells)) = aggregates {
        merged.add_row(
            t,
            cells
                .into_iter()
                .map(|c| (!c.is_null()).then_some(c))
                .collect(),
        );
    }
    for (i, call) in calls.iter().enumerate() {
        let Some(transform) = call.transform else {
            continue;
        };
        // `ORDER BY time DESC` hands the points over newest first, as InfluxDB does: a
        // difference is then the older point minus the newer, at the older one's time.
        let mut points = call.points(&fields[call.field]).into_owned();
        if descending {
            points.reverse();
        }
        for (t, v) in transform.apply(&points, 1_000_000_000) {
            merged.put(t, i, v.to_json());
        }
    }
    merged
        .into_rows()
        .map(|(t, cells)| {
            std::iter::once(scope.epoch.render(t))
                .chain(
                    cells
                        .into_iter()
                        .map(|c| c.unwrap_or(serde_json::Value::Null)),
                )
                .collect()
        })
        .collect()
}

/// Rows merged by time from calls that answer at times of their own (aggregates at a window's
/// start, sampled and transformed points at theirs), as InfluxDB's cursor reads one iterator
/// per call: at one time, the k-th value of each call goes to the k-th row of that time.
struct MergedRows {
    calls: usize,
    by_time: BTreeMap<i64, Vec<Vec<Option<serde_json::Value>>>>,
}

impl MergedRows {
    fn new(calls: usize) -> MergedRows {
        MergedRows {
            calls,
            by_time: BTreeMap::new(),
        }
    }

    /// A whole row of cells (a window's, or the aggregates' over the range) at `t`.
    fn add_row(&mut self, t: i64, cells: Vec<Option<serde_json::Value>>) {
        self.by_time.entry(t).or_default().push(cells);
    }

    /// Call `call`'s next value at `t`: in the first row of `t` that has none of its yet.
    fn put(&mut self, t: i64, call: usize, v: serde_json::Value) {
        let rows = self.by_time.entry(t).or_default();
        let k = match rows.iter().position(|r| r[call].is_none()) {
            Some(k) => k,
            None => {
                rows.push(vec![None; self.calls]);
                rows.len() - 1
            }
        };
        rows[k][call] = Some(v);
    }

    fn into_rows(self) -> impl Iterator<Item = (i64, Vec<Option<serde_json::Value>>)> {
        self.by_time
            .into_iter()
            .flat_map(|(t, rows)| rows.into_iter().map(move |r| (t, r)))
    }
}

/// `LIMIT`/`OFFSET` applied to each column of `rows` (time first, then a cell per call) on
/// its own: a column keeps the values from the offset on, up to the limit; rows left without
/// a value go.
fn limit_each_column(
    mut rows: Vec<Vec<serde_json::Value>>,
    sel: &SelectStatement,
) -> Vec<Vec<serde_json::Value>> {
    if sel.limit.is_none() && sel.offset.is_none() {
        return rows;
    }
    let (skip, take) = super::skip_and_take(sel.offset, sel.limit);
    let columns = rows.first().map_or(0, Vec::len);
    for c in 1..columns {
        let mut seen = 0usize;
        for row in rows.iter_mut() {
            if row[c].is_null() {
                continue;
            }
            if seen < skip || seen - skip >= take {
                row[c] = serde_json::Value::Null;
            }
            seen += 1;
        }
    }
    rows.retain(|row| row.iter().skip(1).any(|c| !c.is_null()));
    rows
}

/// Without `GROUP BY time()`: the time and cells (one per call; null for a call that is no
/// aggregate) of the one row over the whole range, unless every call came back empty (a
/// `stddev` of one point is not empty: InfluxDB shows its row, with null).
fn whole_range_cells(
    scope: &Scope<'_>,
    plan: &Plan,
    calls: &[Call],
    group: &GroupValues,
) -> Option<(i64, Vec<serde_json::Value>)> {
    let mut time = if scope.min == i64::MIN { 0 } else { scope.min };
    let mut cells = Vec::with_capacity(calls.len());
    let mut null_but_shown = false;
    for (n, call) in calls.iter().enumerate() {
        let Some(function) = &call.function else {
            cells.push(serde_json::Value::Null);
            continue;
        };
        if matches!(function, Function::Stddev) {
            null_but_shown |= match group {
                GroupValues::Points(fields) => !call.points(&fields[call.field]).is_empty(),
                GroupValues::Folded(folded) => !folded[n].whole.is_empty(),
            };
        }
        let value = match group {
            GroupValues::Points(fields) => function.apply(&call.points(&fields[call.field])),
            GroupValues::Folded(folded) => folded[n].whole.result(),
        };
        match value {
            Some((t, v)) => {
                if plan.single_selector {
                    time = t;
                }
                cells.push(v.to_json());
            }
            None => cells.push(serde_json::Value::Null),
        }
    }
    (null_but_shown || cells.iter().any(|c| !c.is_null())).then_some((time, cells))
}

/// The `GROUP BY time()` windows of one query's answer: which are computed and which shown.
struct WindowSpan {
    windows: Windows,
    width: i64,
    /// The first window computed (earlier than the first shown when transformations look back).
    start: i64,
    /// The first window shown.
    start_shown: i64,
    /// Where the windows end: the query's upper time bound, else now.
    end: i64,
}

impl WindowSpan {
    fn new(
        scope: &Scope<'_>,
        plan: &Plan,
        (width, offset): (i64, i64),
        first_time: i64,
        now: i64,
    ) -> WindowSpan {
        let windows = scope.windows((width, offset));
        let start = windows.start(if scope.min == i64::MIN {
            first_time
        } else {
            scope.min
        });
        let start_shown = if plan.transforms && scope.min != i64::MIN {
            start + width * plan.lookback
        } else {
            start
        };
        let end = if scope.max == i64::MAX {
            now
        } else {
            scope.max
        };
        WindowSpan {
            windows,
            width,
            start,
            start_shown,
            end,
        }
    }
}

/// With `GROUP BY time()`: a row per window (filled as `fill()` says), then the rows of
/// forecasts past the windows.
fn window_rows(
    scope: &Scope<'_>,
    plan: &Plan,
    calls: &[Call],
    group: &GroupValues,
    span: &WindowSpan,
) -> Result<Vec<Vec<serde_json::Value>>, QueryError> {
    let windows = &span.windows;
    scope
        .interrupt
        .charge_windows(windows.count(span.start, span.end), calls.len() as u64)?;
    let buckets: Vec<i64> = windows.list(span.start, span.end);
    let mut columns: Vec<Vec<Option<serde_json::Value>>> = Vec::new();
    // Raw points sampled per window, at their own times.
    let mut sampled: Vec<(i64, usize, serde_json::Value)> = Vec::new();
    for (n, call) in calls.iter().enumerate() {
        let Some(function) = &call.function else {
            if let (Some(t), GroupValues::Points(fields)) = (call.transform, group) {
                let points = call.points(&fields[call.field]);
                for (b, (from, to)) in buckets
                    .iter()
                    .zip(window_ranges(&points, &buckets, windows))
                {
                    if *b < span.start_shown {
                        continue;
                    }
                    for (time, v) in t.apply(&points[from..to], span.width) {
                        sampled.push((time, n, v.to_json()));
                    }
                }
            }
            columns.push(vec![None; buckets.len()]);
            continue;
        };
        let values = match group {
            GroupValues::Points(fields) => window_values(
                function,
                &call.points(&fields[call.field]),
                &buckets,
                windows,
            ),
            GroupValues::Folded(folded) => buckets
                .iter()
                .map(|b| {
                    folded[n]
                        .windows
                        .get(b)
                        .and_then(Accumulator::result)
                        .map(|(_, v)| v)
                })
                .collect(),
        };
        let mut column = Vec::with_capacity(buckets.len());
        for value in values {
            column.push(match value {
                Some(v) => Some(v.to_json()),
                // An empty window counts 0, also under a transformation (whose input it is).
                None if matches!(function, Function::Count | Function::CountDistinct)
                    && plan.fill == Fill::Null =>
                {
                    Some(0.into())
                }
                None => None,
            });
        }
        columns.push(column);
    }
    // Sampled calls' cells are filled once their points are merged in (below).
    for (call, column) in calls.iter().zip(columns.iter_mut()) {
        let Some(function) = &call.function else {
            continue;
        };
        // A number fills a column of integers as an integer (`count` with `fill(-1.5)` is
        // -1), as InfluxDB casts it to the column's type.
        let integers = matches!(function, Function::Count | Function::CountDistinct)
            || column
                .iter()
                .flatten()
                .next()
                .is_some_and(|v| v.is_i64() || v.is_u64());
        let fill = match plan.fill {
            Fill::Float(f) if integers => Fill::Integer(f as i64),
            ref other => other.clone(),
        };
        fill_columns(std::slice::from_mut(column), &fill);
    }
    // Forecasts past the windows, by time: a row each, after the windows' rows.
    let mut beyond: BTreeMap<i64, Vec<Option<serde_json::Value>>> = BTreeMap::new();
    for (i, (call, column)) in calls.iter().zip(columns.iter_mut()).enumerate() {
        if let (Some(transform), Some(_)) = (call.transform, &call.function) {
            let (aligned, after) = transform_buckets(transform, &buckets, column, span.width);
            *column = aligned;
            for (t, v) in after {
                beyond.entry(t).or_insert_with(|| vec![None; calls.len()])[i] = Some(v);
            }
        }
    }
    // The bucket read only to transform the first one is not shown.
    let first_shown = buckets.partition_point(|&b| plan.transforms && b < span.start_shown);
    let in_windows = buckets.iter().enumerate().skip(first_shown).map(|(n, &b)| {
        let cells: Vec<Option<serde_json::Value>> = columns.iter().map(|c| c[n].clone()).collect();
        (b, cells)
    });
    // Transformations show no row where they have no value, but a plain aggregate beside
    // them shows every window (as its own column would), as in InfluxDB.
    let only_transformed = calls.iter().all(|c| c.transform.is_some());
    let mut merged = MergedRows::new(calls.len());
    for (b, cells) in in_windows.chain(beyond) {
        merged.add_row(b, cells);
    }
    let has_samples = !sampled.is_empty();
    for (t, call, v) in sampled {
        merged.put(t, call, v);
    }
    let mut merged: Vec<(i64, Vec<Option<serde_json::Value>>)> = merged.into_rows().collect();
    // Sampled points add rows of their own; `fill()` fills the other calls' cells there too,
    // and the samples' cells in the windows' rows, as InfluxDB fills each call's answer.
    if has_samples {
        fill_rows(merged.iter_mut().map(|(_, cells)| cells), &plan.fill);
    }
    let mut rows = Vec::new();
    for (b, cells) in merged {
        if (plan.fill == Fill::None || (plan.transforms && only_transformed) || plan.only_integrals)
            && cells.iter().all(Option::is_none)
        {
            continue;
        }
        rows.push(
            std::iter::once(scope.epoch.render(b))
                .chain(
                    cells
                        .into_iter()
                        .map(|c| c.unwrap_or(serde_json::Value::Null)),
                )
                .collect(),
        );
    }
    Ok(rows)
}

/// `function` of the points (time-ordered) of each window starting at `buckets`.
fn window_values(
    function: &Function,
    points: &[(i64, Value)],
    buckets: &[i64],
    windows: &Windows,
) -> Vec<Option<Value>> {
    if let Function::Integral(unit) = function {
        return crate::query::transforms::integral_buckets(points, buckets, windows.width(), *unit);
    }
    window_ranges(points, buckets, windows)
        .map(|(from, to)| function.apply(&points[from..to]).map(|(_, v)| v))
        .collect()
}

/// The index range of the points (time-ordered) of each window starting at `buckets`.
fn window_ranges<'a>(
    points: &'a [(i64, Value)],
    buckets: &'a [i64],
    windows: &'a Windows,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut cursor = 0;
    buckets.iter().map(move |&b| {
        let end = windows.after(b);
        let from = cursor + points[cursor..].partition_point(|(t, _)| *t < b);
        let to = from + points[from..].partition_point(|(t, _)| *t < end);
        cursor = to;
        (from, to)
    })
}

/// A transformation of a column of bucket values (nulls skipped): the results at the buckets'
/// own times, aligned with them, and those at other times (forecasts), in time order.
fn transform_buckets(
    transform: Transform,
    buckets: &[i64],
    column: &[Option<serde_json::Value>],
    width: i64,
) -> (
    Vec<Option<serde_json::Value>>,
    Vec<(i64, serde_json::Value)>,
) {
    let points: Vec<(i64, Value)> = buckets
        .iter()
        .zip(column)
        .filter_map(|(&b, cell)| {
            let v = cell.as_ref()?;
            let value = match v.as_i64() {
                Some(i) if !v.is_f64() => Value::Integer(i),
                _ => Value::Float(v.as_f64()?),
            };
            Some((b, value))
        })
        .collect();
    let mut aligned = vec![None; buckets.len()];
    let mut elsewhere = Vec::new();
    for (t, v) in transform.apply(&points, width) {
        match buckets.binary_search(&t) {
            Ok(i) => aligned[i] = Some(v.to_json()),
            Err(_) => elsewhere.push((t, v.to_json())),
        }
    }
    (aligned, elsewhere)
}

/// Applies `fill(previous|<number>)` to the empty cells of merged rows, column by column.
fn fill_rows<'a>(rows: impl Iterator<Item = &'a mut Vec<Option<serde_json::Value>>>, fill: &Fill) {
    let mut previous: Vec<Option<serde_json::Value>> = Vec::new();
    for row in rows {
        previous.resize(row.len(), None);
        for (cell, last) in row.iter_mut().zip(previous.iter_mut()) {
            match (cell.as_ref(), fill) {
                (Some(v), _) => *last = Some(v.clone()),
                (None, Fill::Previous) => *cell = last.clone(),
                (None, Fill::Integer(i)) => *cell = Some((*i).into()),
                (None, Fill::Float(f)) => *cell = Value::Float(*f).to_json().into(),
                (None, _) => {}
            }
        }
    }
}

/// Applies `fill(previous|linear|<number>)` to empty buckets (null and none need nothing here).
fn fill_columns(columns: &mut [Vec<Option<serde_json::Value>>], fill: &Fill) {
    for column in columns.iter_mut() {
        match fill {
            Fill::Null | Fill::None => {}
            Fill::Integer(i) => column
                .iter_mut()
                .filter(|c| c.is_none())
                .for_each(|c| *c = Some((*i).into())),
            Fill::Float(f) => column
                .iter_mut()
                .filter(|c| c.is_none())
                .for_each(|c| *c = Value::Float(*f).to_json().into()),
            Fill::Previous => {
                let mut last = None;
                for c in column.iter_mut() {
                    match c {
                        Some(v) => last = Some(v.clone()),
                        None => *c = last.clone(),
                    }
                }
            }
            Fill::Linear => {
                let known: Vec<(usize, f64)> = column
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.as_ref().and_then(|v| v.as_f64()).map(|v| (i, v)))
                    .collect();
                for pair in known.windows(2) {
                    let ((i0, v0), (i1, v1)) = (pair[0], pair[1]);
                    for (i, cell) in column.iter_mut().enumerate().take(i1).skip(i0 + 1) {
                        let v = v0 + (v1 - v0) * (i - i0) as f64 / (i1 - i0) as f64;
                        *cell = Value::Float(v).to_json().into();
                    }
                }
            }
        }
    }
}
