//! Subqueries: `SELECT … FROM (SELECT …)`. The inner query runs first, over the outer query's
//! time range as well as its own; its result becomes what the outer query reads, as InfluxDB
//! 1.x reads it: series name → measurement, the series' tags → tags, columns → fields.

use super::QueryContext;
use crate::query::math;
use crate::query::{Epoch, QueryError, Series};
use crate::storage::column::Column;
use crate::storage::{Engine, FieldType, SeriesData, Value};
use influxql::{BinaryOp, Dimension, Expr, MeasurementName, SelectStatement};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The rows of one measurement of a subquery's result.
pub(super) struct Derived {
    /// The measurement (the inner series' name).
    pub(super) name: String,
    series: Vec<SeriesData>,
    fields: Vec<String>,
    /// Each column's type (the first series' where they differ).
    types: BTreeMap<String, FieldType>,
    /// Columns that show tags of the inner query's measurements (`SELECT usage, host`, or
    /// `*`): InfluxDB counts them as tags, not fields, when the outer query expands `f(*)`.
    tag_columns: BTreeSet<String>,
    tag_keys: BTreeSet<String>,
    /// The tag keys the inner query grouped by itself (not those the outer query passed down):
    /// the tags an outer select list can show.
    shown_tag_keys: BTreeSet<String>,
    /// Whether the inner query aggregates over its whole range (no `GROUP BY time()`): its
    /// rows come series by series, each at its own time, and InfluxDB hands them to a raw
    /// outer query in that order, not merged by time.
    in_series_order: bool,
}

impl Derived {
    /// Takes in the rows of another subquery of the same name (`FROM (…), (…)`): one
    /// measurement read from both, series of one tag set grouped together.
    pub(super) fn absorb(&mut self, other: Derived) {
        // A series in both stays two (points of one time are two rows), and the first
        // subquery's series come first, as InfluxDB reads them.
        self.series.extend(other.series);
        for f in other.fields {
            if !self.fields.contains(&f) {
                self.fields.push(f);
            }
        }
        self.fields.sort();
        for (name, t) in other.types {
            self.types.entry(name).or_insert(t);
        }
        self.tag_columns.extend(other.tag_columns);
        self.tag_keys.extend(other.tag_keys);
        self.shown_tag_keys.extend(other.shown_tag_keys);
        self.in_series_order &= other.in_series_order;
    }

    /// See the field: whether a raw outer query keeps the rows in the inner series' order.
    pub(super) fn in_series_order(&self) -> bool {
        self.in_series_order
    }

    /// Field names, sorted.
    pub(super) fn fields(&self) -> Vec<String> {
        self.fields.clone()
    }

    /// Whether column `name` shows a tag of the inner query's measurements.
    pub(super) fn is_tag_column(&self, name: &str) -> bool {
        self.tag_columns.contains(name)
    }

    /// The type of each field, as the outer query's functions take it.
    pub(super) fn types(&self) -> BTreeMap<String, FieldType> {
        self.types.clone()
    }

    /// Tag keys (the inner query's `GROUP BY` tags, with those the outer query passed down):
    /// what the outer query groups and filters by.
    pub(super) fn tag_keys(&self) -> BTreeSet<String> {
        self.tag_keys.clone()
    }

    /// The tag keys the inner query grouped by itself: only those have values in the outer
    /// select list (a tag the outer `GROUP BY` passed down shows null there, as in InfluxDB).
    pub(super) fn shown_tag_keys(&self) -> BTreeSet<String> {
        self.shown_tag_keys.clone()
    }

    /// The keys of its series (a key twice when two subqueries side by side both have it).
    pub(super) fn keys(&self) -> impl Iterator<Item = Arc<[u8]>> + '_ {
        self.series.iter().map(|s| Arc::clone(&s.key))
    }

    /// The `fields` of the series `keep` accepts, points in `[min, max]`.
    pub(super) fn read(
        &self,
        fields: &[String],
        (min, max): (i64, i64),
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Vec<SeriesData> {
        self.series
            .iter()
            .filter(|s| keep(&s.key))
            .filter_map(|s| {
                let columns: Vec<(String, Column)> = s
                    .fields
                    .iter()
                    .filter(|(name, _)| fields.contains(name))
                    .map(|(name, c)| (name.clone(), c.range(min, max)))
                    .filter(|(_, c)| !c.is_empty())
                    .collect();
                (!columns.is_empty()).then(|| SeriesData {
                    key: Arc::clone(&s.key),
                    fields: columns,
                })
            })
            .collect()
    }
}

/// Runs `inner` (also bounded by the outer `[min, max]`, grouped by the tags the `outer`
/// query groups by too and in its time order, as InfluxDB passes them down) and returns its
/// result by measurement.
pub(super) fn run(
    engine: &Engine,
    inner: &SelectStatement,
    (min, max): (i64, i64),
    outer: &SelectStatement,
    ctx: &QueryContext,
) -> Result<Vec<Derived>, QueryError> {
    let mut inner = inner.clone();
    inner.descending |= outer.descending;
    let own = inner.dimensions.clone();
    let shown = |tag: &str| {
        own.iter().any(|d| match d {
            Dimension::Tag(t) => t == tag,
            Dimension::Wildcard => true,
            Dimension::Regex(re) => regex::Regex::new(re).is_ok_and(|re| re.is_match(tag)),
            Dimension::Time { .. } | Dimension::BadTime(_) => false,
        })
    };
    for d in &outer.dimensions {
        if matches!(d, Dimension::Tag(_)) && !inner.dimensions.contains(d) {
            inner.dimensions.push(d.clone());
        }
    }
    let bounds = [
        (BinaryOp::Gte, min, i64::MIN),
        (BinaryOp::Lte, max, i64::MAX),
    ];
    for (op, t, unbounded) in bounds {
        if t == unbounded {
            continue;
        }
        let bound = Expr::Binary {
            op,
            lhs: Box::new(Expr::VarRef("time".into())),
            rhs: Box::new(Expr::Integer(t)),
        };
        inner.condition = Some(match inner.condition.take() {
            Some(c) => Expr::Binary {
                op: BinaryOp::And,
                lhs: Box::new(Expr::Paren(Box::new(c))),
                rhs: Box::new(bound),
            },
            None => bound,
        });
    }
    let ctx = QueryContext {
        epoch: Some(Epoch::Unit(1)),
        ..ctx.clone()
    };
    let in_series_order = inner.fields.iter().any(|f| math::has_call(&f.expr))
        && !inner
            .dimensions
            .iter()
            .any(|d| matches!(d, Dimension::Time { .. }));
    let mut by_name: BTreeMap<String, Derived> = BTreeMap::new();
    let tag_columns = tag_columns(engine, &inner, (min, max), &ctx);
    let mut result = super::select(engine, &inner, &ctx)?;
    // `ORDER BY time DESC` reverses the order of the series in an answer, not in the rows a
    // subquery hands on: those stay in series order, as InfluxDB reads them.
    if inner.descending {
        result.reverse();
    }
    for s in result {
        let name = s.name.clone().unwrap_or_default();
        let derived = by_name.entry(name.clone()).or_insert_with(|| Derived {
            name,
            series: Vec::new(),
            fields: Vec::new(),
            types: BTreeMap::new(),
            tag_columns: tag_columns.clone(),
            tag_keys: BTreeSet::new(),
            shown_tag_keys: BTreeSet::new(),
            in_series_order,
        });
        let tags = s.tags.clone().unwrap_or_default();
        derived.tag_keys.extend(tags.keys().cloned());
        derived
            .shown_tag_keys
            .extend(tags.keys().filter(|t| shown(t)).cloned());
        for c in s.columns.iter().skip(1) {
            if !derived.fields.contains(c) {
                derived.fields.push(c.clone());
            }
        }
        let data = series_data(&s, &tags);
        for (name, column) in &data.fields {
            derived
                .types
                .entry(name.clone())
                .or_insert(column.values.field_type());
        }
        derived.series.push(data);
    }
    Ok(by_name
        .into_values()
        .map(|mut d| {
            d.fields.sort();
            d
        })
        .collect())
}

/// The columns the inner select list fills with tags of its measurements: `*`'s tags, and
/// names (or `name::tag`, aliased or not) that are tag keys and no fields of a measurement it
/// reads.
fn tag_columns(
    engine: &Engine,
    inner: &SelectStatement,
    (min, max): (i64, i64),
    ctx: &QueryContext,
) -> BTreeSet<String> {
    let mut tags = BTreeSet::new();
    let mut fields = BTreeSet::new();
    for source in &inner.sources {
        let Some(db) = source
            .database
            .as_deref()
            .or(ctx.database.as_deref())
            .filter(|d| !d.is_empty())
        else {
            continue;
        };
        let rp = source.retention_policy.as_deref().unwrap_or("");
        let Ok(rp) = engine.catalog().resolve_policy(db, rp).map(str::to_string) else {
            continue;
        };
        let measurements: Vec<String> = match &source.name {
            MeasurementName::Name(n) => vec![n.clone()],
            MeasurementName::Regex(re) => match regex::Regex::new(re) {
                Ok(re) => engine
                    .measurements(db)
                    .into_iter()
                    .filter(|m| re.is_match(m))
                    .collect(),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        for m in measurements {
            tags.extend(engine.tag_keys(db, &m, min, max));
            fields.extend(
                engine
                    .fields(db, &rp, &m, min, max)
                    .into_iter()
                    .map(|(n, _)| n),
            );
        }
    }
    let is_tag = |name: &str| tags.contains(name) && !fields.contains(name);
    let mut shown = BTreeSet::new();
    for f in &inner.fields {
        match (&f.expr, &f.alias) {
            (Expr::Wildcard, _) => shown.extend(tags.iter().filter(|t| is_tag(t)).cloned()),
            (Expr::VarRef(name), alias) if is_tag(name) => {
                shown.insert(alias.clone().unwrap_or_else(|| name.clone()));
            }
            (
                Expr::Typed {
                    name,
                    to: influxql::VarType::Tag,
                },
                alias,
            ) => {
                shown.insert(alias.clone().unwrap_or_else(|| name.clone()));
            }
            _ => {}
        }
    }
    shown
}

/// One result series as stored-like data: a key from its name and tags, a typed column per
/// result column (the type the values were written with; nulls are no point).
fn series_data(s: &Series, tags: &BTreeMap<String, String>) -> SeriesData {
    let key = lineproto::series_key::build(
        s.name.as_deref().unwrap_or("").as_bytes(),
        tags.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
    );
    let times: Vec<Option<i64>> = s
        .values
        .iter()
        .map(|row| row.first().and_then(serde_json::Value::as_i64))
        .collect();
    let fields = s
        .columns
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, name)| {
            let mut cells: Vec<(i64, &serde_json::Value)> = s
                .values
                .iter()
                .zip(&times)
                .filter_map(|(row, t)| Some(((*t)?, row.get(i)?)))
                .filter(|(_, v)| !v.is_null())
                .collect();
            // In time order whatever order the inner query answered in (stable: rows of one
            // time from several series keep their order).
            cells.sort_by_key(|(t, _)| *t);
            let ty = column_type(cells.iter().map(|(_, v)| *v))?;
            let mut column = Column::new(ty);
            for (t, v) in cells {
                if let Some(value) = typed(v, ty) {
                    column.push(t, &value);
                }
            }
            Some((name.clone(), column))
        })
        .collect();
    SeriesData {
        key: Arc::from(key),
        fields,
    }
}

/// The type of a result column: strings and booleans as such; numbers are floats when any is
/// written with a fraction, else integers.
fn column_type<'a>(values: impl Iterator<Item = &'a serde_json::Value>) -> Option<FieldType> {
    let mut ty = None;
    for v in values {
        let this = match v {
            serde_json::Value::String(_) => FieldType::String,
            serde_json::Value::Bool(_) => FieldType::Boolean,
            serde_json::Value::Number(n) if n.is_f64() => FieldType::Float,
            serde_json::Value::Number(n) if n.is_i64() => FieldType::Integer,
            serde_json::Value::Number(_) => FieldType::Unsigned,
            _ => continue,
        };
        ty = Some(match (ty, this) {
            (None, t) => t,
            (Some(FieldType::Integer | FieldType::Unsigned), FieldType::Float) => FieldType::Float,
            (Some(t), _) => t,
        });
    }
    ty
}

fn typed(v: &serde_json::Value, ty: FieldType) -> Option<Value> {
    Some(match ty {
        FieldType::Float => Value::Float(v.as_f64()?),
        FieldType::Integer => Value::Integer(v.as_i64()?),
        FieldType::Unsigned => Value::Unsigned(v.as_u64()?),
        FieldType::String => Value::String(v.as_str()?.into()),
        FieldType::Boolean => Value::Boolean(v.as_bool()?),
    })
}
