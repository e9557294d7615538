//! Raw `SELECT` of fields and tags: one series per measurement (per tag group with `GROUP BY`
//! tags), rows merged by time. Groups are read one after the other; when the answer is streamed
//! ([`SeriesSink::rows_per_read`]), each group is read a time slice at a time and its rows are
//! handed on slice by slice, so that the rows held stay near that count however many the query
//! returns (and a `LIMIT` stops the reading).

use super::math::{self, Math};
use super::{
    column_names, dimensions, index_of, indices_of, series_groups, skip_and_take, Grouping, Label,
    Scope,
};
use crate::query::cast;
use crate::query::sink::SeriesSink;
use crate::query::{QueryError, Series};
use crate::storage::Value;
use influxql::{Expr, SelectStatement, VarType};
use std::collections::BTreeSet;

/// What a raw select-list item refers to.
enum Column {
    Field(usize),
    Tag(String),
    /// Arithmetic over fields (cells are the fields read, in `read` order).
    Math(Math),
    /// `name::type`: the field read, cast.
    Cast(usize, VarType),
    /// `name::type` for a field that cannot be read as that type (or is no field): no values.
    Unreadable,
}

/// Runs a raw `SELECT` on one measurement, handing its series to `out`.
pub(super) fn raw(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    out: &mut dyn SeriesSink,
) -> Result<(), QueryError> {
    let all_fields = scope.field_names();
    if all_fields.is_empty() {
        return Ok(());
    }
    let Grouping {
        tags: group_tags,
        interval,
    } = dimensions(scope, sel)?;
    if interval.is_some() {
        return Err(QueryError::Invalid(
            "GROUP BY requires at least one aggregate function".into(),
        ));
    }
    let list = SelectList::of(scope, sel, &all_fields, &group_tags)?;
    if !list
        .columns
        .iter()
        .any(|(_, c)| matches!(c, Column::Field(_) | Column::Math(_) | Column::Cast(..)))
    {
        return Ok(());
    }
    let names: Vec<String> = std::iter::once("time".to_string())
        .chain(column_names(list.columns.iter().map(|(n, _)| n.clone())))
        .collect();
    let mut groups = series_groups(scope, sel, &group_tags);
    // `ORDER BY time DESC` puts the series in reverse order too (after `SLIMIT`), as InfluxDB.
    if sel.descending {
        groups.reverse();
    }
    for (key, series) in groups {
        let group = Scope {
            series: Some(&series),
            ..*scope
        };
        let series = Series {
            name: Some(scope.measurement.to_string()),
            tags: (!group_tags.is_empty()).then(|| group_tags.iter().cloned().zip(key).collect()),
            columns: names.clone(),
            values: Vec::new(),
        };
        send_group(&group, sel, &list, series, out)?;
    }
    Ok(())
}

/// Reads the rows of one group (`scope` lists its series) and hands them to `out` as pieces of
/// `series`, a time slice at a time when `out` wants them so, with `OFFSET` and `LIMIT`.
fn send_group(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    list: &SelectList,
    series: Series,
    out: &mut dyn SeriesSink,
) -> Result<(), QueryError> {
    let (mut to_skip, mut to_send) = skip_and_take(sel.offset, sel.limit);
    let mut started = false;
    let mut slices = match out.rows_per_read().filter(|_| scope.derived.is_none()) {
        None => TimeSlices::whole((scope.min, scope.max), sel.descending),
        Some(aim) => TimeSlices::over(
            scope.data_span(&list.read, sel.condition.as_ref()),
            aim,
            sel.descending,
        ),
    };
    while let Some((min, max)) = slices.next() {
        if to_send == 0 {
            break;
        }
        let slice = Scope { min, max, ..*scope };
        let Some(mut rows) = list.rows(&slice, sel, slices.most_rows())? else {
            slices.narrow();
            continue;
        };
        slices.held(rows.len());
        // Stable: rows of equal time keep the order of their series. A subquery that
        // aggregated its whole range gives its rows series by series, as InfluxDB, in that
        // order whatever `ORDER BY` says.
        if !scope.derived.is_some_and(|d| d.in_series_order()) {
            rows.sort_by_key(|(t, _)| *t);
            if sel.descending {
                rows.reverse();
            }
        }
        let skipped = to_skip.min(rows.len());
        to_skip -= skipped;
        let values: Vec<Vec<serde_json::Value>> = rows
            .into_iter()
            .skip(skipped)
            .take(to_send)
            .map(|(_, cells)| cells)
            .collect();
        if values.is_empty() {
            continue;
        }
        to_send -= values.len();
        let piece = Series {
            name: series.name.clone(),
            tags: series.tags.clone(),
            columns: series.columns.clone(),
            values,
        };
        out.series(piece, !started)?;
        started = true;
    }
    Ok(())
}

/// Rows of a raw select: each its time, and its cells (the time as shown, then the columns).
type Rows = Vec<(i64, Vec<serde_json::Value>)>;

/// The columns of a raw select list and the fields they read.
struct SelectList {
    /// Fields read, in the order rows hold them.
    read: Vec<String>,
    /// Each column's name (before repeats are numbered) and what it shows.
    columns: Vec<(Label, Column)>,
}

impl SelectList {
    fn of(
        scope: &Scope<'_>,
        sel: &SelectStatement,
        all_fields: &[String],
        group_tags: &[String],
    ) -> Result<SelectList, QueryError> {
        let tag_keys: BTreeSet<String> = scope.tag_keys();
        let mut read: Vec<String> = Vec::new();
        let mut columns: Vec<(Label, Column)> = Vec::new();
        for f in &sel.fields {
            match &f.expr {
                Expr::Wildcard | Expr::TypedWildcard(_) => {
                    // Over several measurements, the keys of all of them.
                    let (fields, tags) = match scope.wildcard {
                        Some(keys) => (keys.fields.as_slice(), &keys.tags),
                        None => (all_fields, &tag_keys),
                    };
                    // `*::field` names the fields only, `*::tag` the tags only.
                    let (no_fields, no_tags) = match f.expr {
                        Expr::TypedWildcard(VarType::Tag) => (true, false),
                        Expr::TypedWildcard(_) => (false, true),
                        _ => (false, false),
                    };
                    let mut names: Vec<(String, bool)> = fields
                        .iter()
                        .filter(|_| !no_fields)
                        .map(|n| (n.clone(), true))
                        // Tags grouped by are in the series' tags, not in its columns.
                        .chain(
                            tags.iter()
                                .filter(|t| !no_tags && !group_tags.contains(t))
                                .map(|t| (t.clone(), false)),
                        )
                        .collect();
                    // By name; a field before a tag of the same name (which becomes `name_1`).
                    names.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                    let fields = names.iter().filter(|(_, f)| *f).map(|(n, _)| n.as_str());
                    let mut at = indices_of(&mut read, fields).into_iter();
                    for (name, is_field) in names {
                        let column = match is_field.then(|| at.next()).flatten() {
                            Some(i) => Column::Field(i),
                            None => Column::Tag(name.clone()),
                        };
                        columns.push((Label::generated(name), column));
                    }
                }
                e if math::wildcard_call(e).is_some() => {
                    let name = math::wildcard_call(e).unwrap_or_default();
                    let at = indices_of(&mut read, all_fields.iter().map(String::as_str));
                    for (field, at) in all_fields.iter().zip(at) {
                        let call = Expr::Call {
                            name: name.to_string(),
                            args: vec![Expr::VarRef(field.clone())],
                        };
                        let mut leaf = |_: &Expr| Ok(at);
                        columns.push((
                            Label::generated(format!("{name}_{field}")),
                            Column::Math(math::build(&call, &mut leaf)?),
                        ));
                    }
                }
                e if math::is_math(e) => {
                    let label = Label::of(f.alias.as_ref(), || math::name(e));
                    let mut leaf = |leaf: &Expr| match leaf {
                        Expr::VarRef(name) | Expr::Typed { name, .. } => {
                            Ok(index_of(&mut read, name))
                        }
                        other => Err(QueryError::Invalid(format!(
                            "invalid expression in the select list: {other}"
                        ))),
                    };
                    columns.push((label, Column::Math(math::build(e, &mut leaf)?)));
                }
                Expr::VarRef(name) if name != "time" => {
                    let label = Label::of(f.alias.as_ref(), || name.clone());
                    let column = if tag_keys.contains(name) && !all_fields.contains(name) {
                        Column::Tag(name.clone())
                    } else {
                        Column::Field(index_of(&mut read, name))
                    };
                    columns.push((label, column));
                }
                Expr::Typed {
                    name,
                    to: VarType::Tag,
                } => {
                    let label = Label::of(f.alias.as_ref(), || name.clone());
                    columns.push((label, Column::Tag(name.clone())));
                }
                Expr::Typed { name, to } if name != "time" => {
                    let label = Label::of(f.alias.as_ref(), || name.clone());
                    // A field of unknown type (a subquery's) is cast value by value.
                    let readable = all_fields.contains(name)
                        && scope
                            .field_type(name)
                            .is_none_or(|t| cast::can_read_as(t, *to));
                    let column = match readable {
                        true => Column::Cast(index_of(&mut read, name), *to),
                        false => Column::Unreadable,
                    };
                    columns.push((label, column));
                }
                _ => {}
            }
        }
        Ok(SelectList { read, columns })
    }

    /// The rows of `scope` (time, then the cells of the columns) that pass the condition, in
    /// series order; `None` when they are more than `most`.
    fn rows(
        &self,
        scope: &Scope<'_>,
        sel: &SelectStatement,
        most: Option<usize>,
    ) -> Result<Option<Rows>, QueryError> {
        let read = &self.read;
        let mut rows: Rows = Vec::new();
        let mut too_many = false;
        scope.visit_rows(read, sel.condition.as_ref(), &mut |s| {
            too_many = too_many || most.is_some_and(|most| rows.len() + s.rows.len() > most);
            if too_many {
                rows = Vec::new();
                return;
            }
            for row in s.rows {
                if !row.values[..read.len()].iter().any(Option::is_some) {
                    continue;
                }
                let field = |i: usize| {
                    row.values[i]
                        .as_ref()
                        .map_or(serde_json::Value::Null, Value::to_json)
                };
                let cells = std::iter::once(scope.epoch.render(row.time))
                    .chain(self.columns.iter().map(|(_, c)| {
                        match c {
                            Column::Field(i) => field(*i),
                            Column::Tag(k) => s
                                .tags
                                .get(k)
                                .map_or(serde_json::Value::Null, |v| v.clone().into()),
                            Column::Math(m) => {
                                let cells: Vec<serde_json::Value> =
                                    (0..read.len()).map(field).collect();
                                m.eval(&cells)
                            }
                            Column::Cast(i, to) => row.values[*i]
                                .as_ref()
                                .and_then(|v| cast::cast(v, *to))
                                .map_or(serde_json::Value::Null, |v| v.to_json()),
                            Column::Unreadable => serde_json::Value::Null,
                        }
                    }))
                    .collect();
                rows.push((row.time, cells));
            }
        })?;
        Ok((!too_many).then_some(rows))
    }
}

/// The time ranges a group is read in, in the order its rows go out: its whole range at once,
/// or, with a count of rows to aim at, slices of the span its points lie in (from the storage's
/// metadata): first the whole span, read again narrower whenever a slice meets far more rows
/// than aimed at, then each slice as wide as the rows the one before held suggest (widening
/// fast over gaps).
struct TimeSlices {
    /// Next instant to read, and the last one (both included; `next` moves towards `last`).
    next: i128,
    last: i128,
    /// Width of the next slice, ns; 0 when the range is read whole.
    width: i128,
    /// Where the slice last handed out starts, and its width.
    current: (i128, i128),
    aim: usize,
    descending: bool,
}

/// How much one slice may be wider or narrower than the one before; also how many times the
/// rows aimed at a slice may hold before it is read again narrower.
const MAX_SLICE_CHANGE: i128 = 4;

impl TimeSlices {
    /// The whole of `[min, max]` in one read.
    fn whole((min, max): (i64, i64), descending: bool) -> TimeSlices {
        let (min, max) = (i128::from(min), i128::from(max));
        TimeSlices {
            next: if descending { max } else { min },
            last: if descending { min } else { max },
            width: 0,
            current: (0, 0),
            aim: 0,
            descending,
        }
    }

    /// Slices of `span` (where the points lie; none to read when `None`) of about `aim` rows.
    fn over(span: Option<(i64, i64)>, aim: usize, descending: bool) -> TimeSlices {
        let Some((first, last)) = span else {
            return TimeSlices::whole((1, 0), descending);
        };
        let (first, last) = (i128::from(first), i128::from(last));
        let (next, last) = if descending {
            (last, first)
        } else {
            (first, last)
        };
        TimeSlices {
            next,
            last,
            // The whole span first: most groups fit in one read.
            width: (last - next).abs() + 1,
            current: (next, 0),
            aim: aim.max(1),
            descending,
        }
    }

    /// The next slice, `(min, max)`.
    fn next(&mut self) -> Option<(i64, i64)> {
        let remaining = if self.descending {
            self.next - self.last
        } else {
            self.last - self.next
        };
        if remaining < 0 {
            return None;
        }
        let step = if self.width == 0 {
            remaining
        } else {
            (self.width - 1).min(remaining)
        };
        let (min, max) = if self.descending {
            (self.next - step, self.next)
        } else {
            (self.next, self.next + step)
        };
        self.current = (self.next, step + 1);
        self.next = if self.descending { min - 1 } else { max + 1 };
        Some((i64::try_from(min).ok()?, i64::try_from(max).ok()?))
    }

    /// The rows past which the slice last handed out is read again narrower ([`Self::narrow`]);
    /// `None` when it is read whatever it holds (read whole, or one nanosecond wide).
    fn most_rows(&self) -> Option<usize> {
        (self.width > 0 && self.current.1 > 1).then(|| self.aim * MAX_SLICE_CHANGE as usize)
    }

    /// The slice last handed out held too many rows: it is handed out again, narrower.
    fn narrow(&mut self) {
        let (start, width) = self.current;
        self.next = start;
        self.width = (width / (MAX_SLICE_CHANGE * MAX_SLICE_CHANGE)).max(1);
    }

    /// The last slice held `rows` rows: sizes the next one.
    fn held(&mut self, rows: usize) {
        if self.width == 0 {
            return;
        }
        let wanted = if rows == 0 {
            self.width * MAX_SLICE_CHANGE
        } else {
            self.width * self.aim as i128 / rows as i128
        };
        self.width = wanted
            .clamp(self.width / MAX_SLICE_CHANGE, self.width * MAX_SLICE_CHANGE)
            .max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DataConfig;
    use crate::query::QueryContext;
    use crate::storage::{Engine, Point};

    /// Takes pieces as a streamed answer would, asking for reads of `aim` rows.
    struct Pieces {
        aim: usize,
        whole: Vec<Series>,
        largest: usize,
    }

    impl SeriesSink for Pieces {
        fn series(&mut self, piece: Series, starts: bool) -> Result<(), QueryError> {
            self.largest = self.largest.max(piece.values.len());
            self.whole.series(piece, starts)
        }

        fn rows_per_read(&self) -> Option<usize> {
            Some(self.aim)
        }
    }

    /// A streamed raw select hands its rows on in pieces near the rows asked for, and they
    /// add up to the answer read whole.
    #[test]
    fn streamed_rows_come_in_small_pieces_and_add_up() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let engine = Engine::open(DataConfig {
            dir: dir.path().to_path_buf(),
            ..DataConfig::default()
        })?;
        engine.create_database("d", None, Default::default())?;
        // 3 series of 20,000 points a second apart; one series has a gap of an hour.
        let points: Vec<Point> = (0..3)
            .flat_map(|s| {
                (0..20_000i64).map(move |i| {
                    let gap = if s == 2 && i >= 10_000 { 3_600 } else { 0 };
                    Point {
                        measurement: "m".into(),
                        series_key: format!("m,s={s}").into_bytes(),
                        time: (i + gap) * 1_000_000_000,
                        fields: vec![("v".into(), crate::storage::Value::Integer(i))],
                    }
                })
            })
            .collect();
        engine.write("d", "", &points)?;
        let ctx = QueryContext {
            database: Some("d".into()),
            ..Default::default()
        };
        for q in [
            "SELECT v FROM m",
            "SELECT v FROM m GROUP BY s ORDER BY time DESC",
            "SELECT v FROM m WHERE v > 5000 GROUP BY * LIMIT 12000 OFFSET 7",
        ] {
            let Ok(influxql::Statement::Select(sel)) = influxql::parse_statement(q) else {
                return Err(format!("{q} does not parse").into());
            };
            let whole = super::super::select(&engine, &sel, &ctx)?;
            let mut pieces = Pieces {
                aim: 1000,
                whole: Vec::new(),
                largest: 0,
            };
            super::super::select_to(&engine, &sel, &ctx, &mut pieces)?;
            assert_eq!(pieces.whole, whole, "{q}");
            assert!(!whole.is_empty(), "{q}");
            // Slices adapt by at most 4x from one to the next.
            assert!(
                pieces.largest <= 4 * 1000,
                "{q}: a piece of {}",
                pieces.largest
            );
        }
        Ok(())
    }

    fn slices(next: i128, last: i128, width: i128, descending: bool) -> TimeSlices {
        TimeSlices {
            next,
            last,
            width,
            current: (next, 0),
            aim: 10,
            descending,
        }
    }

    /// Every slice of `s`, each read as holding `rows(slice)` rows.
    fn all(mut s: TimeSlices, rows: impl Fn((i64, i64)) -> usize) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        while let Some(slice) = s.next() {
            s.held(rows(slice));
            out.push(slice);
            assert!(out.len() < 10_000, "slices never end");
        }
        out
    }

    #[test]
    fn a_whole_read_is_one_slice() {
        assert_eq!(all(slices(-5, 5, 0, false), |_| 3), [(-5, 5)]);
        assert_eq!(all(slices(5, -5, 0, true), |_| 3), [(-5, 5)]);
    }

    #[test]
    fn slices_cover_the_span_once_in_order() {
        // One row per nanosecond; aiming at 10 rows a slice.
        let rows = |(min, max): (i64, i64)| usize::try_from(max - min + 1).unwrap_or(0);
        for descending in [false, true] {
            let (next, last) = if descending { (999, 0) } else { (0, 999) };
            let got = all(slices(next, last, 1, descending), rows);
            // Descending slices come newest first: in time order, they are reversed.
            let in_time_order: Vec<&(i64, i64)> = if descending {
                got.iter().rev().collect()
            } else {
                got.iter().collect()
            };
            let covered: Vec<i64> = in_time_order.iter().flat_map(|&&(a, b)| a..=b).collect();
            assert_eq!(covered, (0..1000).collect::<Vec<_>>());
            // Widths grow by at most 4x to the aim, then hold there.
            assert_eq!(
                got.iter()
                    .map(|&(a, b)| b - a + 1)
                    .take(4)
                    .collect::<Vec<_>>(),
                [1, 4, 10, 10]
            );
        }
    }

    #[test]
    fn gaps_are_crossed_in_few_slices() {
        let got = all(slices(0, i128::from(i64::MAX), 1, false), |_| 0);
        assert!(got.len() < 40, "{} slices", got.len());
        assert_eq!(got.last().map(|s| s.1), Some(i64::MAX));
    }
}
