//! The data an aggregate `SELECT` works on, read per group of series (the values of its
//! `GROUP BY` tags): either every point of each field read, sorted by time, or — for functions
//! that can take points one at a time — the functions' accumulators, folded as each series is
//! read, so that memory grows with the groups and windows rather than with the points.

use super::call::Call;
use super::windows::Windows;
use super::{columns_named, group_key, series_tags, Scope, SeriesPoints};
use crate::query::aggregates::{Accumulator, Function};
use crate::query::QueryError;
use crate::storage::Value;
use influxql::SelectStatement;
use std::collections::BTreeMap;

/// One group's data for its calls: every point of each field read (sorted by time), or the
/// calls' accumulators (whole, and per `GROUP BY time` window).
pub(super) enum GroupValues {
    Points(Vec<Vec<(i64, Value)>>),
    Folded(Vec<FoldedCall>),
}

/// A call folded over one group.
pub(super) struct FoldedCall {
    /// Over all the group's points (no `GROUP BY time`).
    pub(super) whole: Accumulator,
    /// Per window start.
    pub(super) windows: BTreeMap<i64, Accumulator>,
}

/// Groups (by their tag values) with their data, and the earliest time seen.
pub(super) type Groups = (BTreeMap<Vec<String>, GroupValues>, Option<i64>);

/// Reads every point of the fields, per group (see [`Scope::points`] and [`Scope::rows`]).
pub(super) fn point_groups(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    read: &[String],
    group_tags: &[String],
    by_time_and_tags: bool,
    only_last: bool,
) -> Result<Groups, QueryError> {
    // Without conditions on fields, no row needs building: the fields' points are read as
    // they are stored.
    let series: Vec<SeriesPoints> = if by_time_and_tags {
        scope.points(read, sel.condition.as_ref(), only_last)?
    } else {
        scope
            .rows(read, sel.condition.as_ref())?
            .into_iter()
            .map(|s| {
                let mut points = vec![Vec::new(); read.len()];
                for row in s.rows {
                    for (i, v) in row.values.into_iter().enumerate().take(read.len()) {
                        if let Some(v) = v {
                            points[i].push((row.time, v));
                        }
                    }
                }
                SeriesPoints {
                    tags: s.tags,
                    points,
                }
            })
            .collect()
    };
    let mut groups: BTreeMap<Vec<String>, Vec<Vec<(i64, Value)>>> = BTreeMap::new();
    for s in series {
        let key = group_key(group_tags, &s.tags);
        let points = groups
            .entry(key)
            .or_insert_with(|| vec![Vec::new(); read.len()]);
        for (i, p) in s.points.into_iter().enumerate() {
            if points[i].is_empty() {
                points[i] = p;
            } else {
                points[i].extend(p);
            }
        }
    }
    let mut first_time = None;
    let groups = groups
        .into_iter()
        .map(|(key, mut fields)| {
            for points in &mut fields {
                points.sort_by_key(|(t, _)| *t);
                if let Some((t, _)) = points.first() {
                    first_time = Some(first_time.map_or(*t, |f: i64| f.min(*t)));
                }
            }
            (key, GroupValues::Points(fields))
        })
        .collect();
    Ok((groups, first_time))
}

/// Folds every point of the calls' fields into the calls' accumulators, per group and window,
/// reading one series at a time.
pub(super) fn fold_groups(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    read: &[String],
    calls: &[Call],
    group_tags: &[String],
    interval: Option<(i64, i64)>,
    by_time_and_tags: bool,
) -> Result<Groups, QueryError> {
    let mut groups: BTreeMap<Vec<String>, Vec<FoldedCall>> = BTreeMap::new();
    let mut first_time: Option<i64> = None;
    let windows = interval.map(|i| scope.windows(i));
    let fresh = || {
        calls
            .iter()
            .map(|c| {
                let function = c.function.clone().unwrap_or(Function::Count);
                FoldedCall {
                    whole: function.accumulator(),
                    windows: BTreeMap::new(),
                }
            })
            .collect::<Vec<_>>()
    };
    let mut earliest = |t: Option<i64>| {
        if let Some(t) = t {
            first_time = Some(first_time.map_or(t, |f: i64| f.min(t)));
        }
    };
    if by_time_and_tags {
        // No row needs building: each field's column is folded as it is stored.
        scope.visit_series(read, sel.condition.as_ref(), false, &mut |s| {
            let key = group_key(group_tags, &series_tags(&s.key));
            let folded = groups.entry(key).or_insert_with(fresh);
            let columns = columns_named(&s.fields, calls.iter().map(|c| read[c.field].as_str()));
            for ((column, state), call) in columns.into_iter().zip(folded.iter_mut()).zip(calls) {
                if let Some(column) = column {
                    earliest(
                        state.fold(windows, &column.times, |i| call.value(column.values.get(i))),
                    );
                }
            }
        });
    } else {
        // Rows that passed the field conditions, one series at a time.
        scope.visit_rows(read, sel.condition.as_ref(), &mut |s| {
            let key = group_key(group_tags, &s.tags);
            let folded = groups.entry(key).or_insert_with(fresh);
            let times: Vec<i64> = s.rows.iter().map(|r| r.time).collect();
            for (call, state) in calls.iter().zip(folded.iter_mut()) {
                earliest(state.fold(windows, &times, |i| {
                    call.value(s.rows[i].values.get(call.field).cloned().flatten())
                }));
            }
        })?;
    }
    scope.interrupt.check()?;
    let groups = groups
        .into_iter()
        .map(|(key, folded)| (key, GroupValues::Folded(folded)))
        .collect();
    Ok((groups, first_time))
}

impl FoldedCall {
    /// Folds the points at `times` (ascending) whose value `value_at` gives into the whole or
    /// into their windows; returns the time of the first point folded.
    fn fold(
        &mut self,
        windows: Option<Windows>,
        times: &[i64],
        value_at: impl Fn(usize) -> Option<Value>,
    ) -> Option<i64> {
        let mut first = None;
        let Some(w) = windows else {
            for (i, &t) in times.iter().enumerate() {
                if let Some(v) = value_at(i) {
                    first.get_or_insert(t);
                    self.whole.add(t, v);
                }
            }
            return first;
        };
        // Points come window by window, so the window is looked up once per run of points,
        // not per point.
        let mut i = 0;
        while let Some(&t) = times.get(i) {
            let start = w.start(t);
            let end = w.after(start);
            let run_end = (i + times[i..].partition_point(|&t| t < end)).max(i + 1);
            let accumulator = self
                .windows
                .entry(start)
                // `whole` is left empty when there are windows: a fresh copy.
                .or_insert_with(|| self.whole.clone());
            for (j, &t) in times.iter().enumerate().take(run_end).skip(i) {
                if let Some(v) = value_at(j) {
                    first.get_or_insert(t);
                    accumulator.add(t, v);
                }
            }
            i = run_end;
        }
        first
    }
}
