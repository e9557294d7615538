//! `SELECT`: raw points, and aggregates grouped by time buckets and tags, with `fill()`.

use super::condition::{eval_condition, series_filters, time_and_tags_only, time_range};
use super::functions::{Accumulator, Function, Transform};
use super::math::{self, Math};
use super::sink::SeriesSink;
use super::{Epoch, QueryContext, QueryError, Series};
use crate::storage::{Engine, Value};
use influxql::{Dimension, Expr, Fill, MeasurementName, SelectStatement};
use std::collections::{BTreeMap, BTreeSet};

mod multi;
mod raw;
mod subquery;
mod windows;

pub(crate) use windows::zone;
use windows::Windows;

/// One point-in-time of one series: its time and the values of the fields read.
struct Row {
    time: i64,
    values: Vec<Option<Value>>,
}

/// A series' tags and its rows that passed the `WHERE` clause.
struct SeriesRows {
    tags: BTreeMap<String, String>,
    rows: Vec<Row>,
}

/// A series' tags and the points of each field read (in the order asked for).
struct SeriesPoints {
    tags: BTreeMap<String, String>,
    points: Vec<Vec<(i64, Value)>>,
}

/// Hands series `s`, read from storage, to `visit` if the query's `max-select-series` and
/// `max-select-point` still allow; past them the query stops at its next check.
fn counted(
    interrupt: &super::running::Interrupt,
    s: crate::storage::SeriesData,
    visit: &mut dyn FnMut(crate::storage::SeriesData),
) {
    let points = s.fields.iter().map(|(_, c)| c.times.len()).sum();
    if interrupt.count_series(points) {
        visit(s);
    }
}

/// A series with more fields than this is searched through a map of their names.
const SEARCHED_BY_MAP_FROM: usize = 16;

/// The column of each of `names` in a series' `fields`, `None` where it has none. Few fields
/// are searched in place (no allocation on the read path); many through a map, so that
/// `SELECT *` or `f(*)` over 100,000 fields is not quadratic.
fn columns_named<'a, 'n>(
    fields: &'a [(String, crate::storage::column::Column)],
    names: impl Iterator<Item = &'n str>,
) -> Vec<Option<&'a crate::storage::column::Column>> {
    if fields.len() < SEARCHED_BY_MAP_FROM {
        return names
            .map(|n| fields.iter().find(|(f, _)| f == n).map(|(_, c)| c))
            .collect();
    }
    let by_name: ahash::AHashMap<&str, &crate::storage::column::Column> =
        fields.iter().map(|(n, c)| (n.as_str(), c)).collect();
    names.map(|n| by_name.get(n).copied()).collect()
}

/// Runs a `SELECT` over each of its sources and returns its series whole.
pub(super) fn select(
    engine: &Engine,
    sel: &SelectStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let mut out = Vec::new();
    select_to(engine, sel, ctx, &mut out)?;
    Ok(out)
}

/// Runs a `SELECT` over each of its sources, handing its series to `out` as they are made.
pub(super) fn select_to(
    engine: &Engine,
    sel: &SelectStatement,
    ctx: &QueryContext,
    out: &mut dyn SeriesSink,
) -> Result<(), QueryError> {
    ctx.interrupt.start_select();
    let calls = sel
        .fields
        .iter()
        .filter(|f| math::has_call(&f.expr))
        .count();
    let bare = sel
        .fields
        .iter()
        .any(|f| math::has_bare_ref(&f.expr) || matches!(f.expr, Expr::Wildcard));
    let multi_row = multi::is_multi_row(sel);
    if calls > 0 && bare && !multi_row {
        return Err(QueryError::Invalid(
            "mixing aggregate and non-aggregate queries is not supported".into(),
        ));
    }
    for f in &sel.fields {
        let supported = matches!(f.expr, Expr::Wildcard | Expr::VarRef(_) | Expr::Call { .. })
            || math::is_math(&f.expr);
        if !supported {
            return Err(QueryError::Invalid(format!(
                "unsupported expression in this version of influx-rs: {}",
                f.expr
            )));
        }
    }
    let (min, max) = match &sel.condition {
        Some(c) => time_range(c, ctx.now)?,
        None => (i64::MIN, i64::MAX),
    };
    let tz = sel
        .timezone
        .as_deref()
        .map(zone)
        .transpose()
        .map_err(QueryError::Invalid)?;
    let epoch = match (ctx.epoch.unwrap_or(Epoch::Rfc3339), tz) {
        (Epoch::Rfc3339, Some(tz)) => Epoch::Local(tz),
        (epoch, _) => epoch,
    };
    // `max-select-buckets` is checked before anything is read, as InfluxDB checks it: the
    // windows of the query's time range (up to now when it has no end).
    let interval = sel.dimensions.iter().find_map(|d| match d {
        Dimension::Time { interval, offset } => Some((*interval, *offset)),
        _ => None,
    });
    if let Some((width, offset)) = interval.filter(|_| min != i64::MIN && (calls > 0 || multi_row))
    {
        let end = if max == i64::MAX { ctx.now } else { max };
        let windows = Windows::new(width, offset, tz);
        ctx.interrupt.check_buckets(windows.count(min, end))?;
    }
    let run = |scope: &Scope<'_>, out: &mut dyn SeriesSink| -> Result<(), QueryError> {
        if !multi_row && calls == 0 {
            return raw::raw(scope, sel, out);
        }
        // `SLIMIT`/`SOFFSET` pick among the groups of series the tags let through, whatever
        // their points: as InfluxDB, which applies them to its index.
        let limited;
        let scope = match series_limit(scope, sel)? {
            Some(series) => {
                limited = series;
                &Scope {
                    series: Some(&limited),
                    ..*scope
                }
            }
            None => scope,
        };
        if !multi_row {
            return aggregate(scope, sel, ctx.now, out);
        }
        let mut series = multi::select(scope, sel)?;
        // `ORDER BY time DESC` puts the series in reverse order too, as InfluxDB.
        if sel.descending {
            series.reverse();
        }
        series.into_iter().try_for_each(|s| out.series(s, true))
    };
    // What every source shares; each sets where it reads.
    let base = Scope {
        engine,
        derived: None,
        series: None,
        interrupt: &ctx.interrupt,
        planner: ctx.planner.as_deref(),
        db: "",
        rp: "",
        measurement: "",
        min,
        max,
        epoch,
        tz,
    };
    for source in &sel.sources {
        if let MeasurementName::Subquery(inner) = &source.name {
            for derived in subquery::run(engine, inner, (min, max), ctx)? {
                ctx.interrupt.check()?;
                let scope = Scope {
                    derived: Some(&derived),
                    measurement: &derived.name,
                    ..base
                };
                run(&scope, out)?;
            }
            continue;
        }
        let db = source
            .database
            .as_deref()
            .or(ctx.database.as_deref())
            .filter(|d| !d.is_empty())
            .ok_or(QueryError::DatabaseRequired)?;
        let catalog = engine.catalog();
        let rp_param = source
            .retention_policy
            .as_deref()
            .or(ctx.retention_policy.as_deref())
            .unwrap_or("");
        let rp = catalog.resolve_policy(db, rp_param)?.to_string();
        let measurements: Vec<String> = match &source.name {
            MeasurementName::Name(n) => vec![n.clone()],
            MeasurementName::Regex(re) => {
                let re = regex::Regex::new(re).map_err(|e| QueryError::Invalid(e.to_string()))?;
                engine
                    .measurements(db)
                    .into_iter()
                    .filter(|m| re.is_match(m))
                    .collect()
            }
            MeasurementName::Source => return Err(QueryError::TargetAsSource),
            MeasurementName::Subquery(_) => Vec::new(),
        };
        for m in measurements {
            ctx.interrupt.check()?;
            let scope = Scope {
                db,
                rp: &rp,
                measurement: &m,
                ..base
            };
            run(&scope, out)?;
        }
    }
    // A limit passed during the last reads ends the statement with its error, never with
    // an answer silently missing what was not read.
    ctx.interrupt.check()
}

/// What one measurement of one source is read with.
#[derive(Clone, Copy)]
struct Scope<'a> {
    engine: &'a Engine,
    /// Set when the source is a subquery: its rows, read instead of the engine's.
    derived: Option<&'a subquery::Derived>,
    interrupt: &'a super::running::Interrupt,
    /// `EXPLAIN`: reads of the engine are counted here instead of done.
    planner: Option<&'a super::explain::Planner>,
    /// When set, only these series (sorted) are read: a group of them, or those `SLIMIT` left.
    series: Option<&'a [std::sync::Arc<[u8]>]>,
    db: &'a str,
    rp: &'a str,
    measurement: &'a str,
    min: i64,
    max: i64,
    epoch: Epoch,
    /// `tz('…')`: the clock `GROUP BY time()` windows follow.
    tz: Option<chrono_tz::Tz>,
}

impl Scope<'_> {
    /// The query's `GROUP BY time()` windows.
    fn windows(&self, (width, offset): (i64, i64)) -> Windows {
        Windows::new(width, offset, self.tz)
    }

    /// Field names of the measurement in range, sorted.
    fn field_names(&self) -> Vec<String> {
        match self.derived {
            Some(d) => d.fields(),
            None => self
                .engine
                .fields(self.db, self.rp, self.measurement, self.min, self.max)
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
        }
    }

    /// Tag keys of the measurement in range.
    fn tag_keys(&self) -> BTreeSet<String> {
        match self.derived {
            Some(d) => d.tag_keys(),
            None => self
                .engine
                .tag_keys(self.db, self.measurement, self.min, self.max),
        }
    }

    /// Every series with rows for `fields` in range that pass the condition (which may use
    /// further fields: they are read too, at the end of each row).
    fn rows(
        &self,
        fields: &[String],
        condition: Option<&Expr>,
    ) -> Result<Vec<SeriesRows>, QueryError> {
        let mut out = Vec::new();
        self.visit_rows(fields, condition, &mut |rows| out.push(rows))?;
        Ok(out)
    }

    /// [`Scope::rows`] handing each series' rows to `visit` as the series is read, so that
    /// the rows of one series at a time are held.
    fn visit_rows(
        &self,
        fields: &[String],
        condition: Option<&Expr>,
        visit: &mut dyn FnMut(SeriesRows),
    ) -> Result<(), QueryError> {
        let wanted = self.wanted_fields(fields, condition);
        let mut status = Ok(());
        self.visit_series(fields, condition, false, &mut |s| {
            if status.is_ok() {
                status = self.interrupt.check();
            }
            if status.is_ok() {
                if let Some(rows) = series_rows(&s, &wanted, condition) {
                    visit(rows);
                }
            }
        });
        status
    }

    /// The points of each of `fields` of every series that passes `condition`, which must be on
    /// time and tags only ([`time_and_tags_only`]): no row needs to be evaluated, so none is
    /// built. With `last_only`, only the newest point of each field, from the shards'
    /// last-value caches (enough for `last()`).
    fn points(
        &self,
        fields: &[String],
        condition: Option<&Expr>,
        last_only: bool,
    ) -> Result<Vec<SeriesPoints>, QueryError> {
        let (_, data) = self.read_series(fields, condition, last_only);
        let mut out = Vec::with_capacity(data.len());
        for s in data {
            self.interrupt.check()?;
            let points = fields
                .iter()
                .map(|f| {
                    s.fields
                        .iter()
                        .find(|(n, _)| n == f)
                        .map(|(_, c)| {
                            (0..c.len())
                                .filter_map(|i| Some((c.times[i], c.values.get(i)?)))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect();
            out.push(SeriesPoints {
                tags: series_tags(&s.key),
                points,
            });
        }
        Ok(out)
    }

    /// The series of the measurement whose tags pass the tag-only parts of `condition`, with
    /// `fields` and the fields `condition` names (returned: the fields read, in column order).
    fn read_series(
        &self,
        fields: &[String],
        condition: Option<&Expr>,
        last_only: bool,
    ) -> (Vec<String>, Vec<crate::storage::SeriesData>) {
        let mut data = Vec::new();
        let wanted = self.visit_series(fields, condition, last_only, &mut |s| data.push(s));
        (wanted, data)
    }

    /// `fields`, then the fields `condition` names: the columns read, in order.
    fn wanted_fields(&self, fields: &[String], condition: Option<&Expr>) -> Vec<String> {
        let mut wanted: Vec<String> = fields.to_vec();
        let known: BTreeSet<String> = self.field_names().into_iter().collect();
        if let Some(c) = condition {
            for name in var_refs(c) {
                if known.contains(&name) && !wanted.contains(&name) {
                    wanted.push(name);
                }
            }
        }
        wanted
    }

    /// [`Scope::read_series`] handing the series to `visit` one at a time; returns the fields
    /// read.
    fn visit_series(
        &self,
        fields: &[String],
        condition: Option<&Expr>,
        last_only: bool,
        visit: &mut dyn FnMut(crate::storage::SeriesData),
    ) -> Vec<String> {
        let wanted = self.wanted_fields(fields, condition);
        self.with_filter(condition, |filter| match self.derived {
            Some(d) => d
                .read(&wanted, (self.min, self.max), filter.keep)
                .into_iter()
                .for_each(visit),
            None if last_only && self.planner.is_none() => self
                .last_points(&wanted, filter.keep)
                .into_iter()
                .for_each(|s| counted(self.interrupt, s, visit)),
            None => {
                let read = self.measurement_read(&wanted, filter);
                match self.planner {
                    Some(planner) => planner.add(
                        self.measurement,
                        self.engine
                            .fields(self.db, self.rp, self.measurement, self.min, self.max),
                        self.engine.plan_measurement(&read),
                    ),
                    None => self
                        .engine
                        .visit_measurement(&read, &mut |s| counted(self.interrupt, s, visit)),
                }
            }
        });
        wanted
    }

    /// The keys of the series that pass the tag-only parts of `condition`, sorted, without
    /// reading their points.
    fn series_keys(&self, condition: Option<&Expr>) -> Vec<std::sync::Arc<[u8]>> {
        self.with_filter(condition, |filter| match self.derived {
            Some(d) => {
                let keys: BTreeSet<_> = d.keys().filter(|k| (filter.keep)(k)).collect();
                keys.into_iter().collect()
            }
            None => self
                .engine
                .series_to_visit(&self.measurement_read(&[], filter))
                .into_iter()
                .collect(),
        })
    }

    /// The first and last time the points of `fields` (and of the fields `condition` names)
    /// of the scope's series may have, from the storage's metadata alone.
    fn data_span(&self, fields: &[String], condition: Option<&Expr>) -> Option<(i64, i64)> {
        let wanted = self.wanted_fields(fields, condition);
        self.with_filter(condition, |filter| {
            self.engine
                .time_bounds(&self.measurement_read(&wanted, filter))
        })
    }

    fn measurement_read<'r>(
        &'r self,
        fields: &'r [String],
        filter: crate::storage::SeriesFilter<'r>,
    ) -> crate::storage::MeasurementRead<'r> {
        crate::storage::MeasurementRead {
            db: self.db,
            rp: self.rp,
            measurement: self.measurement,
            fields,
            range: (self.min, self.max),
            filter,
        }
    }

    /// Hands `f` the series filter of the scope: conditions on tags alone (which decide whole
    /// series before any data is read) and the series the scope is limited to.
    fn with_filter<R>(
        &self,
        condition: Option<&Expr>,
        f: impl FnOnce(crate::storage::SeriesFilter<'_>) -> R,
    ) -> R {
        let tag_keys = self.tag_keys();
        let filters = condition
            .map(|c| series_filters(c, &tag_keys))
            .unwrap_or_default();
        let no_fields = |_: &str| None;
        let keep = |key: &[u8]| {
            let listed = self
                .series
                .is_none_or(|keys| keys.binary_search_by(|k| (**k).cmp(key)).is_ok());
            listed
                && (filters.is_empty()
                    || lineproto::series_key::split(key).is_some_and(|k| {
                        let tags: BTreeMap<String, String> = k.tags.into_iter().collect();
                        filters.iter().all(|f| eval_condition(f, &tags, &no_fields))
                    }))
        };
        let tags: Vec<(String, Vec<String>)> = filters
            .iter()
            .filter_map(|f| tag_values_wanted(f, &tag_keys))
            .collect();
        f(crate::storage::SeriesFilter {
            tags: &tags,
            keep: &keep,
            keys: self.series,
        })
    }
}

/// `tag = 'v'`, or an `OR` of such on one tag: the tag and the values it may have, for the
/// index to look up (none when a value is empty, which means the tag is absent).
fn tag_values_wanted(e: &Expr, tag_keys: &BTreeSet<String>) -> Option<(String, Vec<String>)> {
    match e {
        Expr::Paren(inner) => tag_values_wanted(inner, tag_keys),
        Expr::Binary {
            op: influxql::BinaryOp::Or,
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
            op: influxql::BinaryOp::Eq,
            lhs,
            rhs,
        } => match (&**lhs, &**rhs) {
            (Expr::VarRef(t), Expr::Str(v)) | (Expr::Str(v), Expr::VarRef(t))
                if tag_keys.contains(t) && !v.is_empty() =>
            {
                Some((t.clone(), vec![v.clone()]))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A series' tags, from its key.
fn series_tags(key: &[u8]) -> BTreeMap<String, String> {
    lineproto::series_key::split(key)
        .map(|k| k.tags.into_iter().collect())
        .unwrap_or_default()
}

/// The rows of series `s` (columns in `wanted` order) that pass `condition`; `None` if none.
fn series_rows(
    s: &crate::storage::SeriesData,
    wanted: &[String],
    condition: Option<&Expr>,
) -> Option<SeriesRows> {
    let tags = series_tags(&s.key);
    let columns = columns_named(&s.fields, wanted.iter().map(String::as_str));
    // Fields written together share their times (the usual case): no merge is needed then.
    let mut present = columns.iter().flatten();
    let first = present.next().map(|c| &c.times);
    let times: Vec<i64> = match first {
        Some(times) if present.all(|c| &c.times == times) => times.clone(),
        _ => columns
            .iter()
            .flatten()
            .flat_map(|c| c.times.iter().copied())
            .collect::<BTreeSet<i64>>()
            .into_iter()
            .collect(),
    };
    let mut cursors = vec![0usize; columns.len()];
    let mut rows = Vec::new();
    for t in times {
        let values: Vec<Option<Value>> = columns
            .iter()
            .zip(cursors.iter_mut())
            .map(|(c, cur)| {
                let c = (*c)?;
                if c.times.get(*cur) == Some(&t) {
                    *cur += 1;
                    c.values.get(*cur - 1)
                } else {
                    None
                }
            })
            .collect();
        if let Some(cond) = condition {
            let lookup = |name: &str| {
                wanted
                    .iter()
                    .position(|w| w == name)
                    .and_then(|i| values[i].clone())
            };
            if !eval_condition(cond, &tags, &lookup) {
                continue;
            }
        }
        rows.push(Row { time: t, values });
    }
    (!rows.is_empty()).then_some(SeriesRows { tags, rows })
}

impl Scope<'_> {
    /// The newest point in range of each of `fields` of each series `keep` accepts, as
    /// one-point columns.
    fn last_points(
        &self,
        fields: &[String],
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Vec<crate::storage::SeriesData> {
        let keys = self
            .engine
            .series_keys(self.db, self.measurement, self.min, self.max);
        keys.into_iter()
            .filter(|k| keep(k))
            .filter_map(|key| {
                let columns: Vec<(String, crate::storage::column::Column)> = fields
                    .iter()
                    .filter_map(|f| {
                        let (t, v) = self.engine.last_point(
                            self.db,
                            self.rp,
                            &key,
                            f,
                            (self.min, self.max),
                        )?;
                        let mut c = crate::storage::column::Column::new(v.field_type());
                        c.push(t, &v);
                        Some((f.clone(), c))
                    })
                    .collect();
                (!columns.is_empty()).then_some(crate::storage::SeriesData {
                    key,
                    fields: columns,
                })
            })
            .collect()
    }
}

/// The names of the fields and tags `e` refers to.
pub(super) fn var_refs(e: &Expr) -> Vec<String> {
    match e {
        Expr::VarRef(n) => vec![n.clone()],
        Expr::Binary { lhs, rhs, .. } => {
            let mut v = var_refs(lhs);
            v.extend(var_refs(rhs));
            v
        }
        Expr::Paren(inner) => var_refs(inner),
        Expr::Call { args, .. } => args.iter().flat_map(var_refs).collect(),
        _ => Vec::new(),
    }
}

/// Positions of `names` in the list of fields to read, new ones added at the end: one pass
/// however many there are (a wildcard over 100,000 fields must not search the list for each).
fn indices_of<'n>(read: &mut Vec<String>, names: impl IntoIterator<Item = &'n str>) -> Vec<usize> {
    let mut at: ahash::AHashMap<String, usize> = read
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    names
        .into_iter()
        .map(|name| {
            *at.entry(name.to_string()).or_insert_with(|| {
                read.push(name.to_string());
                read.len() - 1
            })
        })
        .collect()
}

/// Position of field `name` in the list of fields to read, added at the end when new.
fn index_of(read: &mut Vec<String>, name: &str) -> usize {
    match read.iter().position(|r| r == name) {
        Some(i) => i,
        None => {
            read.push(name.to_string());
            read.len() - 1
        }
    }
}

/// What `GROUP BY` asks for.
struct Grouping {
    /// Tag keys (from tags, `*` and regexes), sorted.
    tags: Vec<String>,
    /// `time(interval, offset)`, if given.
    interval: Option<(i64, i64)>,
}

/// The `GROUP BY` of `sel` resolved against the measurement's tag keys.
fn dimensions(scope: &Scope<'_>, sel: &SelectStatement) -> Result<Grouping, QueryError> {
    let mut interval = None;
    let mut group_tags: Vec<String> = Vec::new();
    let all_tags = scope.tag_keys();
    for d in &sel.dimensions {
        match d {
            Dimension::Time {
                interval: i,
                offset,
            } => interval = Some((*i, *offset)),
            Dimension::Tag(t) => group_tags.push(t.clone()),
            Dimension::Wildcard => group_tags.extend(all_tags.iter().cloned()),
            Dimension::Regex(re) => {
                let re = regex::Regex::new(re).map_err(|e| QueryError::Invalid(e.to_string()))?;
                group_tags.extend(all_tags.iter().filter(|t| re.is_match(t)).cloned());
            }
        }
    }
    group_tags.sort();
    group_tags.dedup();
    Ok(Grouping {
        tags: group_tags,
        interval,
    })
}

/// `OFFSET`/`LIMIT` (or `SOFFSET`/`SLIMIT`) as counts: what to skip, then how many to keep at
/// most (no limit, or 0, keeps all).
fn skip_and_take(offset: Option<u64>, limit: Option<u64>) -> (usize, usize) {
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    (
        offset.map_or(0, count),
        limit.filter(|&l| l > 0).map_or(usize::MAX, count),
    )
}

fn limit<T>(rows: impl Iterator<Item = T>, sel: &SelectStatement) -> Vec<T> {
    let (skip, take) = skip_and_take(sel.offset, sel.limit);
    rows.skip(skip).take(take).collect()
}

/// Column names as InfluxDB gives them: alias or function name, repeats suffixed `_1`, `_2`.
fn column_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // The names taken so far, so that 100,000 columns are named in linear time.
    let mut taken: ahash::AHashSet<String> = ahash::AHashSet::new();
    for name in names {
        let mut candidate = name.clone();
        let mut n = 0;
        while taken.contains(&candidate) {
            n += 1;
            candidate = format!("{name}_{n}");
        }
        taken.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// Aggregate `SELECT`: series per tag group, rows per time bucket.
fn aggregate(
    scope: &Scope<'_>,
    sel: &SelectStatement,
    now: i64,
    out: &mut dyn SeriesSink,
) -> Result<(), QueryError> {
    let mut calls: Vec<Call> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut outputs: Vec<Math> = Vec::new();
    let mut read: Vec<String> = Vec::new();
    let all_fields = scope.field_names();
    for f in &sel.fields {
        if math::is_math(&f.expr) {
            let mut leaf = |e: &Expr| -> Result<usize, QueryError> {
                let Expr::Call { name, args } = e else {
                    return Err(QueryError::Invalid(
                        "mixing aggregate and non-aggregate queries is not supported".into(),
                    ));
                };
                let (call, field) = parse_call(name, args, e)?;
                if field == "*" {
                    return Err(QueryError::Invalid(format!(
                        "unsupported expression with wildcard: {e}"
                    )));
                }
                calls.push(Call {
                    field: index_of(&mut read, &field),
                    ..call
                });
                Ok(calls.len() - 1)
            };
            outputs.push(math::build(&f.expr, &mut leaf)?);
            labels.push(f.alias.clone().unwrap_or_else(|| math::name(&f.expr)));
            continue;
        }
        let Expr::Call { name, args } = &f.expr else {
            continue;
        };
        let (call, field) = parse_call(name, args, &f.expr)?;
        let label = f.alias.clone().unwrap_or_else(|| name.clone());
        // `f(*)` is `f` of every field, in columns named `f_<field>`.
        let targets: Vec<(String, String)> = if field == "*" {
            all_fields
                .iter()
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
            });
            outputs.push(Math::Cell(calls.len() - 1));
            labels.push(label);
        }
    }
    let names = column_names(labels.into_iter());
    let Grouping {
        tags: group_tags,
        interval,
    } = dimensions(scope, sel)?;
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
    let transforms = calls.iter().any(|c| c.transform.is_some());
    let lookback = calls
        .iter()
        .filter_map(|c| c.transform.map(|t| t.lookback_buckets()))
        .max()
        .unwrap_or(0);
    let raw_calls = calls.iter().filter(|c| c.function.is_none()).count();
    if raw_calls > 0 && (raw_calls < calls.len() || interval.is_some()) {
        return Err(QueryError::Invalid(match interval {
            Some(_) => "aggregate function required inside the call to derivative".into(),
            None => "mixing aggregate and non-aggregate queries is not supported".into(),
        }));
    }
    // A transformation of buckets needs the buckets before the first one too.
    let scope = &match interval {
        Some((width, _)) if lookback > 0 && scope.min != i64::MIN => Scope {
            min: scope.min.saturating_sub(width.saturating_mul(lookback)),
            ..*scope
        },
        _ => *scope,
    };

    // `last()` alone, over whole series filtered by time and tags: the newest point of each
    // series is all it needs, and the shards' last-value caches have it.
    let by_time_and_tags = sel
        .condition
        .as_ref()
        .is_none_or(|c| time_and_tags_only(c, &scope.tag_keys()));
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
            &read,
            &calls,
            &group_tags,
            interval,
            by_time_and_tags,
        )?
    } else {
        point_groups(scope, sel, &read, &group_tags, by_time_and_tags, only_last)?
    };
    let Some(first_time) = first_time else {
        return Ok(());
    };
    let single_selector = calls.len() == 1
        && calls[0].transform.is_none()
        && calls[0]
            .function
            .as_ref()
            .is_some_and(Function::is_selector)
        && interval.is_none();
    let fill = sel.fill.clone().unwrap_or(Fill::Null);
    // InfluxDB 1.x shows no row for a window with no points when only integrals are asked.
    let only_integrals = calls
        .iter()
        .all(|c| matches!(c.function, Some(Function::Integral(_))));

    // Each group's series goes out as soon as it is made. `ORDER BY time DESC` puts the series
    // in reverse order too, as InfluxDB.
    let groups: Box<dyn Iterator<Item = (Vec<String>, GroupValues)>> = if sel.descending {
        Box::new(groups.into_iter().rev())
    } else {
        Box::new(groups.into_iter())
    };
    for (key, group) in groups {
        let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
        match interval {
            None if raw_calls > 0 => {
                let GroupValues::Points(fields) = &group else {
                    continue;
                };
                // Transformations of raw points: a row per time any of them has a value.
                let mut by_time: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
                for (i, call) in calls.iter().enumerate() {
                    let Some(transform) = call.transform else {
                        continue;
                    };
                    for (t, v) in transform.apply(&fields[call.field], 1_000_000_000) {
                        by_time
                            .entry(t)
                            .or_insert_with(|| vec![serde_json::Value::Null; calls.len()])[i] =
                            v.to_json();
                    }
                }
                rows.extend(by_time.into_iter().map(|(t, cells)| {
                    std::iter::once(scope.epoch.render(t))
                        .chain(cells)
                        .collect()
                }));
            }
            None => {
                let mut time = if scope.min == i64::MIN { 0 } else { scope.min };
                let mut cells = Vec::with_capacity(calls.len());
                for (n, call) in calls.iter().enumerate() {
                    let Some(function) = &call.function else {
                        continue;
                    };
                    let value = match &group {
                        GroupValues::Points(fields) => function.apply(&fields[call.field]),
                        GroupValues::Folded(folded) => folded[n].whole.result(),
                    };
                    match value {
                        Some((t, v)) => {
                            if single_selector {
                                time = t;
                            }
                            cells.push(v.to_json());
                        }
                        None => cells.push(serde_json::Value::Null),
                    }
                }
                if cells.iter().any(|c| !c.is_null()) {
                    rows.push(
                        std::iter::once(scope.epoch.render(time))
                            .chain(cells)
                            .collect(),
                    );
                }
            }
            Some((width, offset)) => {
                let windows = scope.windows((width, offset));
                let start = windows.start(if scope.min == i64::MIN {
                    first_time
                } else {
                    scope.min
                });
                let start_shown = if transforms && scope.min != i64::MIN {
                    start + width * lookback
                } else {
                    start
                };
                let end = if scope.max == i64::MAX {
                    now
                } else {
                    scope.max
                };
                let mut columns: Vec<Vec<Option<serde_json::Value>>> = Vec::new();
                scope
                    .interrupt
                    .charge_windows(windows.count(start, end), calls.len() as u64)?;
                let buckets: Vec<i64> = windows.list(start, end);
                for (n, call) in calls.iter().enumerate() {
                    let Some(function) = &call.function else {
                        continue;
                    };
                    let values = match &group {
                        GroupValues::Points(fields) => {
                            window_values(function, &fields[call.field], &buckets, &windows)
                        }
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
                            None if matches!(
                                function,
                                Function::Count | Function::CountDistinct
                            ) && fill == Fill::Null
                                && call.transform.is_none() =>
                            {
                                Some(0.into())
                            }
                            None => None,
                        });
                    }
                    columns.push(column);
                }
                fill_columns(&mut columns, &fill);
                // Forecasts past the windows, by time: a row each, after the windows' rows.
                let mut beyond: BTreeMap<i64, Vec<Option<serde_json::Value>>> = BTreeMap::new();
                for (i, (call, column)) in calls.iter().zip(columns.iter_mut()).enumerate() {
                    if let Some(transform) = call.transform {
                        let (aligned, after) =
                            transform_buckets(transform, &buckets, column, width);
                        *column = aligned;
                        for (t, v) in after {
                            beyond.entry(t).or_insert_with(|| vec![None; calls.len()])[i] = Some(v);
                        }
                    }
                }
                // The bucket read only to transform the first one is not shown.
                let first_shown = buckets.partition_point(|&b| transforms && b < start_shown);
                let in_windows = buckets.iter().enumerate().skip(first_shown).map(|(n, &b)| {
                    let cells: Vec<Option<serde_json::Value>> =
                        columns.iter().map(|c| c[n].clone()).collect();
                    (b, cells)
                });
                for (b, cells) in in_windows.chain(beyond) {
                    if (fill == Fill::None || transforms || only_integrals)
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
            }
        }
        let rows: Vec<Vec<serde_json::Value>> = rows
            .into_iter()
            .map(|row| {
                let mut out = Vec::with_capacity(outputs.len() + 1);
                out.push(row.first().cloned().unwrap_or(serde_json::Value::Null));
                out.extend(outputs.iter().map(|m| m.eval(row.get(1..).unwrap_or(&[]))));
                out
            })
            .collect();
        let mut rows = rows;
        if sel.descending {
            rows.reverse();
        }
        let values = limit(rows.into_iter(), sel);
        if values.is_empty() {
            continue;
        }
        let tags = shown_tags(sel, &group_tags, key);
        let series = Series {
            name: Some(scope.measurement.to_string()),
            tags,
            columns: std::iter::once("time".to_string())
                .chain(names.iter().cloned())
                .collect(),
            values,
        };
        out.series(series, true)?;
    }
    Ok(())
}

/// Series keys by group: the group's values of the `GROUP BY` tags, and its series, sorted.
type SeriesGroups = Vec<(Vec<String>, Vec<std::sync::Arc<[u8]>>)>;

/// The series the tag-only parts of the condition let through, by group (the values of
/// `group_tags`), groups in order, after `SOFFSET` and `SLIMIT`.
fn series_groups(scope: &Scope<'_>, sel: &SelectStatement, group_tags: &[String]) -> SeriesGroups {
    let mut groups: BTreeMap<Vec<String>, Vec<std::sync::Arc<[u8]>>> = BTreeMap::new();
    for key in scope.series_keys(sel.condition.as_ref()) {
        let group = group_key(group_tags, &series_tags(&key));
        groups.entry(group).or_default().push(key);
    }
    let (skip, take) = skip_and_take(sel.soffset, sel.slimit);
    groups.into_iter().skip(skip).take(take).collect()
}

/// With `SLIMIT` or `SOFFSET`: the series of the groups they leave, sorted.
fn series_limit(
    scope: &Scope<'_>,
    sel: &SelectStatement,
) -> Result<Option<Vec<std::sync::Arc<[u8]>>>, QueryError> {
    if sel.slimit.is_none() && sel.soffset.is_none() {
        return Ok(None);
    }
    let group_tags = dimensions(scope, sel)?.tags;
    let mut series: Vec<_> = series_groups(scope, sel, &group_tags)
        .into_iter()
        .flat_map(|(_, keys)| keys)
        .collect();
    series.sort();
    Ok(Some(series))
}

/// A group's tags as its series shows them: absent when `GROUP BY` names time only.
fn shown_tags(
    sel: &SelectStatement,
    group_tags: &[String],
    key: Vec<String>,
) -> Option<BTreeMap<String, String>> {
    (!sel
        .dimensions
        .iter()
        .all(|d| matches!(d, Dimension::Time { .. })))
    .then(|| group_tags.iter().cloned().zip(key).collect())
}

/// One group's data for its calls: every point of each field read (sorted by time), or the
/// calls' accumulators (whole, and per `GROUP BY time` window).
enum GroupValues {
    Points(Vec<Vec<(i64, Value)>>),
    Folded(Vec<FoldedCall>),
}

/// A call folded over one group.
struct FoldedCall {
    /// Over all the group's points (no `GROUP BY time`).
    whole: Accumulator,
    /// Per window start.
    windows: BTreeMap<i64, Accumulator>,
}

/// Groups (by their tag values) with their data, and the earliest time seen.
type Groups = (BTreeMap<Vec<String>, GroupValues>, Option<i64>);

/// Reads every point of the fields, per group (see [`Scope::points`] and [`Scope::rows`]).
fn point_groups(
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
fn fold_groups(
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
            for (column, state) in columns.into_iter().zip(folded.iter_mut()) {
                if let Some(column) = column {
                    earliest(state.fold(windows, &column.times, |i| column.values.get(i)));
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
                    s.rows[i].values.get(call.field).cloned().flatten()
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

/// The values of `group_tags` in `tags` ("" when absent): a series' group.
fn group_key(group_tags: &[String], tags: &BTreeMap<String, String>) -> Vec<String> {
    group_tags
        .iter()
        .map(|t| tags.get(t).cloned().unwrap_or_default())
        .collect()
}

/// `function` of the points (time-ordered) of each window starting at `buckets`.
fn window_values(
    function: &Function,
    points: &[(i64, Value)],
    buckets: &[i64],
    windows: &Windows,
) -> Vec<Option<Value>> {
    if let Function::Integral(unit) = function {
        return super::functions::integral_buckets(points, buckets, windows.width(), *unit);
    }
    let mut cursor = 0;
    buckets
        .iter()
        .map(|&b| {
            let end = windows.after(b);
            let from = cursor + points[cursor..].partition_point(|(t, _)| *t < b);
            let to = from + points[from..].partition_point(|(t, _)| *t < end);
            cursor = to;
            function.apply(&points[from..to]).map(|(_, v)| v)
        })
        .collect()
}

/// A call of the select list as a [`Call`] (its field index still to set) and the field it reads.
fn parse_call(name: &str, args: &[Expr], whole: &Expr) -> Result<(Call, String), QueryError> {
    let (transform, inner) = match Transform::parse(name, args)? {
        Some((t, inner)) => (Some(t), inner),
        None => (None, whole),
    };
    let (function, field) = match inner {
        Expr::Call { name, args } => {
            let (function, field) = Function::parse(name, args)?;
            (Some(function), field)
        }
        Expr::VarRef(v) => (None, v.clone()),
        other => {
            return Err(QueryError::Invalid(format!(
                "unsupported call argument {other}"
            )))
        }
    };
    Ok((
        Call {
            function,
            field: 0,
            transform,
        },
        field,
    ))
}

/// One function of the select list: an aggregate over a field, possibly transformed, or a
/// transformation of the raw field (`function` is `None`).
struct Call {
    function: Option<Function>,
    field: usize,
    transform: Option<Transform>,
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
