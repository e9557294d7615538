//! `SELECT`: raw points, and aggregates grouped by time buckets and tags, with `fill()`.

use super::condition::{
    eval_condition, fields_before_tags, series_filters, tag_values_wanted, time_range,
};
use super::math::{self};
use super::sink::SeriesSink;
use super::{Epoch, QueryContext, QueryError, Series};
use crate::storage::{Engine, Value};
use influxql::{Dimension, Expr, MeasurementName, SelectStatement};
use std::collections::{BTreeMap, BTreeSet};

mod aggregate;
mod call;
mod groups;
mod multi;
mod raw;
mod subquery;
mod typecheck;
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

/// Runs a `SELECT` over each of its sources and returns its series whole, within the query's
/// `query-memory-limit`.
pub(super) fn select(
    engine: &Engine,
    sel: &SelectStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let mut out = Vec::new();
    select_to(
        engine,
        sel,
        ctx,
        &mut super::sink::Held::new(&mut out, ctx.interrupt.clone()),
    )?;
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
    let bare = sel.fields.iter().any(|f| {
        math::has_bare_ref(&f.expr) || matches!(f.expr, Expr::Wildcard | Expr::TypedWildcard(_))
    });
    let multi_row = multi::is_multi_row(sel);
    if calls > 0 && bare && !multi_row {
        // Selectors only (`first(v), last(v), host`): InfluxDB names what is wrong.
        let selectors_only = sel.fields.iter().all(|f| match &f.expr {
            Expr::Call { name, .. } => matches!(
                name.as_str(),
                "max" | "min" | "first" | "last" | "percentile" | "sample" | "top" | "bottom"
            ),
            e => !math::has_call(e),
        });
        return Err(QueryError::Invalid(if selectors_only && calls > 1 {
            "mixing multiple selector functions with tags or fields is not supported".into()
        } else {
            "mixing aggregate and non-aggregate queries is not supported".into()
        }));
    }
    if sel
        .dimensions
        .iter()
        .any(|d| matches!(d, Dimension::BadTime(_)))
    {
        return Err(bad_time());
    }
    let is_time = |e: &Expr| matches!(e, Expr::VarRef(n) | Expr::Typed { name: n, .. } if n.eq_ignore_ascii_case("time"));
    if sel.fields.iter().all(|f| is_time(&f.expr)) {
        return Err(QueryError::Invalid(
            "at least 1 non-time field must be queried".into(),
        ));
    }
    for f in &sel.fields {
        if !math::has_call(&f.expr)
            && !math::has_bare_ref(&f.expr)
            && !matches!(f.expr, Expr::Wildcard | Expr::TypedWildcard(_))
        {
            return Err(QueryError::Invalid(
                "field must contain at least one variable".into(),
            ));
        }
        let supported = matches!(
            f.expr,
            Expr::Wildcard
                | Expr::VarRef(_)
                | Expr::Call { .. }
                | Expr::Typed { .. }
                | Expr::TypedWildcard(_)
        ) || math::is_math(&f.expr);
        if !supported {
            return Err(QueryError::Invalid(format!(
                "unsupported expression in this version of influx-rs: {}",
                f.expr
            )));
        }
    }
    if let Some(c) = &sel.condition {
        let mut bare = c;
        while let Expr::Paren(inner) = bare {
            bare = inner;
        }
        if matches!(
            bare,
            Expr::Integer(_) | Expr::Float(_) | Expr::Str(_) | Expr::Duration(_) | Expr::VarRef(_)
        ) {
            return Err(QueryError::Invalid(format!(
                "invalid condition expression: {c}"
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
        if typecheck::has_arithmetic(sel) {
            typecheck::check(
                sel,
                &typecheck::Names {
                    fields: &scope.field_types(),
                    tags: &scope.tag_keys(),
                },
            )?;
        }
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
            return aggregate::aggregate(scope, sel, ctx.now, out);
        }
        let mut series = multi::select(scope, sel, ctx.now)?;
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
        sources: &[],
        measurement: "",
        min,
        max,
        epoch,
        tz,
        wildcard: None,
    };
    // Where each source reads, in order: a subquery, or a measurement of a database and
    // retention policy.
    let mut targets: Vec<(String, String, String)> = Vec::new();
    let mut subqueries: Vec<(usize, &SelectStatement)> = Vec::new();
    for source in &sel.sources {
        if let MeasurementName::Subquery(inner) = &source.name {
            // Written `ORDER BY time DESC` inside, the outer query must be too; unwritten,
            // the inner query takes the outer's order.
            if inner.descending && !sel.descending {
                return Err(QueryError::Invalid(
                    "subqueries must be ordered in the same direction as the query itself".into(),
                ));
            }
            subqueries.push((targets.len(), inner));
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
        targets.extend(
            measurements
                .into_iter()
                .map(|m| (db.to_string(), rp.clone(), m)),
        );
    }
    // The series of several measurements come out by measurement name, whatever order FROM
    // names them in (as InfluxDB, which sorts its series by name; `ORDER BY time DESC` takes
    // them in reverse, as the series within one); a measurement named in
    // several sources (`FROM cpu, /c.u/`, `FROM db0..cpu, db1..cpu`) is one, read from each.
    let targets: Vec<(String, Vec<(String, String)>)> = if subqueries.is_empty() {
        targets.sort_by(|a, b| {
            if sel.descending {
                b.2.cmp(&a.2)
            } else {
                a.2.cmp(&b.2)
            }
        });
        let mut merged: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (db, rp, m) in targets {
            match merged.iter_mut().find(|(n, _)| *n == m) {
                Some((_, sources)) => sources.push((db, rp)),
                None => merged.push((m, vec![(db, rp)])),
            }
        }
        merged
    } else {
        targets
            .into_iter()
            .map(|(db, rp, m)| (m, vec![(db, rp)]))
            .collect()
    };
    let raw_wildcard = calls == 0
        && !multi_row
        && sel
            .fields
            .iter()
            .any(|f| matches!(f.expr, Expr::Wildcard | Expr::TypedWildcard(_)));
    // `f(*)` and `f(/re/)` too expand to the fields of every measurement read.
    let call_wildcard = sel.fields.iter().any(|f| calls_over_many_fields(&f.expr));
    let keys = ((raw_wildcard || call_wildcard) && targets.len() > 1).then(|| {
        let mut types = BTreeMap::new();
        let mut tags = BTreeSet::new();
        for (m, sources) in &targets {
            for (db, rp) in sources {
                for (name, t) in engine.fields(db, rp, m, min, max) {
                    types.entry(name).or_insert(t);
                }
                tags.extend(engine.tag_keys(db, m, min, max));
            }
        }
        WildcardKeys {
            fields: types.keys().cloned().collect(),
            types,
            tags,
        }
    });
    let base = Scope {
        wildcard: keys.as_ref(),
        ..base
    };
    let mut subqueries = subqueries.into_iter().peekable();
    for at in 0..=targets.len() {
        // Subqueries side by side whose results name one measurement are read as one.
        let mut derived_here: Vec<subquery::Derived> = Vec::new();
        while let Some((_, inner)) = subqueries.next_if(|(i, _)| *i == at) {
            for derived in subquery::run(engine, inner, (min, max), sel, ctx)? {
                match derived_here.iter_mut().find(|d| d.name == derived.name) {
                    Some(same) => same.absorb(derived),
                    None => derived_here.push(derived),
                }
            }
        }
        {
            for derived in derived_here {
                ctx.interrupt.check()?;
                let scope = Scope {
                    derived: Some(&derived),
                    measurement: &derived.name,
                    ..base
                };
                run(&scope, out)?;
            }
        }
        let Some((m, sources)) = targets.get(at) else {
            continue;
        };
        ctx.interrupt.check()?;
        let scope = Scope {
            sources,
            measurement: m,
            ..base
        };
        run(&scope, out)?;
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
    planner: Option<&'a super::planner::Planner>,
    /// When set, only these series (sorted) are read: a group of them, or those `SLIMIT` left.
    series: Option<&'a [std::sync::Arc<[u8]>]>,
    /// The databases and retention policies the measurement is read from, in `FROM`'s order:
    /// InfluxDB reads every source, the same one twice too (`FROM cpu, /c.u/`), into one
    /// series per tag set.
    sources: &'a [(String, String)],
    measurement: &'a str,
    min: i64,
    max: i64,
    epoch: Epoch,
    /// `tz('…')`: the clock `GROUP BY time()` windows follow.
    tz: Option<chrono_tz::Tz>,
    /// With several measurements, the keys `*` expands to in every one of them.
    wildcard: Option<&'a WildcardKeys>,
}

/// The fields and tags of every measurement a statement reads: what a raw `*` over several
/// measurements names in each, as InfluxDB expands it (null where one lacks the key).
struct WildcardKeys {
    fields: Vec<String>,
    /// Each field's type (where measurements differ, the first measurement's).
    types: BTreeMap<String, crate::storage::FieldType>,
    tags: BTreeSet<String>,
}

/// Whether `e` calls a function over `*` or a regex (`mean(*)`, `derivative(max(/u/))`).
fn calls_over_many_fields(e: &Expr) -> bool {
    match e {
        Expr::Call { args, .. } => args
            .iter()
            .any(|a| matches!(a, Expr::Wildcard | Expr::Regex(_)) || calls_over_many_fields(a)),
        Expr::Binary { lhs, rhs, .. } => calls_over_many_fields(lhs) || calls_over_many_fields(rhs),
        Expr::Paren(inner) => calls_over_many_fields(inner),
        _ => false,
    }
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
            None => self.field_types().into_keys().collect(),
        }
    }

    /// The type of field `name` in range; `None` when no field has that name.
    fn field_type(&self, name: &str) -> Option<crate::storage::FieldType> {
        self.field_types().remove(name)
    }

    /// The types of the fields in range (a subquery's: those its columns were written with).
    fn field_types(&self) -> BTreeMap<String, crate::storage::FieldType> {
        if let Some(d) = self.derived {
            return d.types();
        }
        let mut types = BTreeMap::new();
        {
            for (db, rp) in self.sources {
                for (name, t) in self
                    .engine
                    .fields(db, rp, self.measurement, self.min, self.max)
                {
                    types.entry(name).or_insert(t);
                }
            }
        }
        types
    }

    /// Tag keys that a `WHERE` clause reads as tags: those that name no field too (a name
    /// that is both is the field there, unless written `name::tag`).
    fn condition_tag_keys(&self) -> BTreeSet<String> {
        let mut keys = match self.derived {
            Some(d) => d.tag_keys(),
            None => self.tag_keys(),
        };
        for field in self.field_names() {
            keys.remove(&field);
        }
        keys
    }

    /// Tag keys of the measurement in range (of a subquery: those the outer select list shows).
    fn tag_keys(&self) -> BTreeSet<String> {
        match self.derived {
            Some(d) => d.shown_tag_keys(),
            None => self
                .sources
                .iter()
                .flat_map(|(db, _)| {
                    self.engine
                        .tag_keys(db, self.measurement, self.min, self.max)
                })
                .collect(),
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
        // Rows are filtered with names that are a field and a tag read as the field.
        let both: BTreeSet<String> = match condition {
            Some(_) => {
                let fields = self.field_names();
                let mut tags = self.tag_keys();
                tags.retain(|t| fields.contains(t));
                tags
            }
            None => BTreeSet::new(),
        };
        let rewritten = condition
            .filter(|_| !both.is_empty())
            .map(|c| fields_before_tags(c, &both));
        let row_condition = rewritten.as_ref().or(condition);
        let mut status = Ok(());
        self.visit_series(fields, condition, false, &mut |s| {
            if status.is_ok() {
                status = self.interrupt.check();
            }
            if status.is_ok() {
                if let Some(rows) = series_rows(&s, &wanted, row_condition) {
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
        self.with_filter(condition, |filter| {
            if let Some(d) = self.derived {
                d.read(&wanted, (self.min, self.max), filter.keep)
                    .into_iter()
                    .for_each(&mut *visit);
                return;
            }
            // Several sources: their series in key order, each series' sources one after the
            // other (as InfluxDB merges the shards of one series), so ties in time come in
            // the same order.
            if self.sources.len() > 1 {
                let mut gathered = Vec::new();
                self.read_sources(&wanted, filter, last_only, &mut |s| gathered.push(s));
                gathered.sort_by(|a, b| a.key.cmp(&b.key));
                gathered.into_iter().for_each(&mut *visit);
            } else {
                self.read_sources(&wanted, filter, last_only, visit);
            }
        });
        wanted
    }

    /// `wanted` fields of the series of each source that `filter` accepts, source by source.
    fn read_sources(
        &self,
        wanted: &[String],
        filter: crate::storage::SeriesFilter<'_>,
        last_only: bool,
        visit: &mut dyn FnMut(crate::storage::SeriesData),
    ) {
        for (db, rp) in self.sources {
            if last_only && self.planner.is_none() {
                self.last_points(db, rp, wanted, filter.keep)
                    .into_iter()
                    .for_each(|s| counted(self.interrupt, s, visit));
                continue;
            }
            let read = self.measurement_read(db, rp, wanted, filter);
            match self.planner {
                Some(planner) => planner.add(
                    self.measurement,
                    self.engine
                        .fields(db, rp, self.measurement, self.min, self.max),
                    self.engine.plan_measurement(&read),
                ),
                None => self
                    .engine
                    .visit_measurement(&read, &mut |s| counted(self.interrupt, s, visit)),
            }
        }
    }

    /// The keys of the series that pass the tag-only parts of `condition`, sorted, without
    /// reading their points.
    fn series_keys(&self, condition: Option<&Expr>) -> Vec<std::sync::Arc<[u8]>> {
        self.with_filter(condition, |filter| match self.derived {
            Some(d) => {
                let keys: BTreeSet<_> = d.keys().filter(|k| (filter.keep)(k)).collect();
                keys.into_iter().collect()
            }
            None => {
                let keys: BTreeSet<_> = self
                    .sources
                    .iter()
                    .flat_map(|(db, rp)| {
                        self.engine
                            .series_to_visit(&self.measurement_read(db, rp, &[], filter))
                    })
                    .collect();
                keys.into_iter().collect()
            }
        })
    }

    /// The first and last time the points of `fields` (and of the fields `condition` names)
    /// of the scope's series may have, from the storage's metadata alone.
    fn data_span(&self, fields: &[String], condition: Option<&Expr>) -> Option<(i64, i64)> {
        let wanted = self.wanted_fields(fields, condition);
        self.with_filter(condition, |filter| {
            self.sources
                .iter()
                .filter_map(|(db, rp)| {
                    self.engine
                        .time_bounds(&self.measurement_read(db, rp, &wanted, filter))
                })
                .reduce(|(a0, a1), (b0, b1)| (a0.min(b0), a1.max(b1)))
        })
    }

    fn measurement_read<'r>(
        &'r self,
        db: &'r str,
        rp: &'r str,
        fields: &'r [String],
        filter: crate::storage::SeriesFilter<'r>,
    ) -> crate::storage::MeasurementRead<'r> {
        crate::storage::MeasurementRead {
            db,
            rp,
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
        // Without a condition nothing filters by tags: the keys are not listed.
        let tag_keys = match condition {
            Some(_) => self.condition_tag_keys(),
            None => BTreeSet::new(),
        };
        let filters = condition
            .map(|c| series_filters(c, &tag_keys))
            .unwrap_or_default();
        let no_fields = |_: &str| None;
        let (tags, residual): (Vec<_>, Vec<_>) = filters
            .iter()
            .map(|f| (tag_values_wanted(f, &tag_keys), f))
            .partition(|(wanted, _)| wanted.is_some());
        let tags: Vec<(String, Vec<String>)> = tags.into_iter().filter_map(|(w, _)| w).collect();
        let residual: Vec<&Expr> = residual.into_iter().map(|(_, f)| *f).collect();
        let decides = |filters: &[&Expr], key: &[u8]| {
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
        let keep = |key: &[u8]| decides(&filters, key);
        let keep_indexed = |key: &[u8]| decides(&residual, key);
        f(crate::storage::SeriesFilter {
            tags: &tags,
            keep: &keep,
            keep_indexed: &keep_indexed,
            keys: self.series,
        })
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
        db: &str,
        rp: &str,
        fields: &[String],
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Vec<crate::storage::SeriesData> {
        let keys = self
            .engine
            .series_keys(db, self.measurement, self.min, self.max, &[]);
        keys.into_iter()
            .filter(|k| keep(k))
            .filter_map(|key| {
                let columns: Vec<(String, crate::storage::column::Column)> = fields
                    .iter()
                    .filter_map(|f| {
                        let (t, v) =
                            self.engine
                                .last_point(db, rp, &key, f, (self.min, self.max))?;
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
        Expr::VarRef(n) | Expr::Typed { name: n, .. } => vec![n.clone()],
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
            Dimension::BadTime(_) => return Err(bad_time()),
        }
    }
    group_tags.sort();
    group_tags.dedup();
    Ok(Grouping {
        tags: group_tags,
        interval,
    })
}

/// `GROUP BY time()` with no argument or more than two, refused in InfluxDB's words.
fn bad_time() -> QueryError {
    QueryError::Invalid("time dimension expected 1 or 2 arguments".into())
}

/// `OFFSET`/`LIMIT` (or `SOFFSET`/`SLIMIT`) as counts: what to skip, then how many to keep at
/// most (no limit, or 0, keeps all).
pub(super) fn skip_and_take(offset: Option<u64>, limit: Option<u64>) -> (usize, usize) {
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

/// A column's name as the select list gives it: an alias the query wrote (kept as written,
/// even twice), or a name made from the expression (numbered when taken).
#[derive(Debug, Clone)]
struct Label {
    name: String,
    alias: bool,
}

impl Label {
    /// A name made from the expression.
    fn generated(name: String) -> Label {
        Label { name, alias: false }
    }

    /// The field's alias if it has one, else the name `generated` makes.
    fn of(alias: Option<&String>, generated: impl FnOnce() -> String) -> Label {
        match alias {
            Some(a) => Label {
                name: a.clone(),
                alias: true,
            },
            None => Label::generated(generated()),
        }
    }
}

/// The columns' names as InfluxDB resolves them: aliases first, as written (two columns may
/// share one); then each generated name, numbered (`max_1`, `max_2`) past every name taken,
/// aliases included.
fn column_names(labels: impl Iterator<Item = Label>) -> Vec<String> {
    let labels: Vec<Label> = labels.collect();
    // The names taken so far, so that 100,000 columns are named in linear time.
    let mut taken: ahash::AHashSet<String> = labels
        .iter()
        .filter(|l| l.alias)
        .map(|l| l.name.clone())
        .collect();
    labels
        .into_iter()
        .map(|label| {
            if label.alias {
                return label.name;
            }
            let mut candidate = label.name.clone();
            let mut n = 0;
            while taken.contains(&candidate) {
                n += 1;
                candidate = format!("{}_{n}", label.name);
            }
            taken.insert(candidate.clone());
            candidate
        })
        .collect()
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
    // Go leaves an empty map out of the answer (`GROUP BY *` where there are no tags).
    .filter(|tags: &BTreeMap<String, String>| !tags.is_empty())
}

/// The values of `group_tags` in `tags` ("" when absent): a series' group.
fn group_key(group_tags: &[String], tags: &BTreeMap<String, String>) -> Vec<String> {
    group_tags
        .iter()
        .map(|t| tags.get(t).cloned().unwrap_or_default())
        .collect()
}
