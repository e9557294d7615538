//! `SELECT … INTO`: the select's rows written back into the store as points, answered with the
//! number written (what continuous queries run each interval).

use super::{Epoch, QueryContext, QueryError, Series};
use crate::storage::Engine;
use influxql::{Expr, SelectStatement, Statement};
use lineproto::write::{LineWriter, Value as LineValue};
use std::collections::{BTreeMap, BTreeSet};

/// `SELECT … INTO`: runs the select (times as ns), writes its rows, answers `written`.
pub fn select_into(
    engine: &Engine,
    select: &SelectStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let Some(into) = &select.into else {
        return Ok(Vec::new());
    };
    let db = into
        .database
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| ctx.database.clone())
        .filter(|d| !d.is_empty())
        .ok_or(QueryError::DatabaseRequired)?;
    let catalog = engine.catalog();
    let rp = catalog
        .resolve_policy(&db, into.retention_policy.as_deref().unwrap_or(""))?
        .to_string();
    // `None`: `:MEASUREMENT`, each row into the measurement it was read from.
    let name = match &into.name {
        influxql::MeasurementName::Name(n) => Some(n.as_str()),
        influxql::MeasurementName::Source => None,
        influxql::MeasurementName::Subquery(_) => return Err(QueryError::MisplacedSubquery),
        influxql::MeasurementName::Regex(_) => {
            return Err(QueryError::Invalid(
                "a regular expression cannot be an INTO target".into(),
            ))
        }
    };
    // Empty buckets are not written (not even count's zeros), unless a fill asks for them.
    let inner = SelectStatement {
        into: None,
        fill: select.fill.clone().or(Some(influxql::Fill::None)),
        ..select.clone()
    };
    let inner_ctx = QueryContext {
        epoch: Some(Epoch::Unit(1)),
        ..ctx.clone()
    };
    let response = super::execute(engine, &[Statement::Select(inner)], &inner_ctx);
    let result = response.results.into_iter().next().unwrap_or_default();
    if let Some(e) = result.error {
        return Err(QueryError::Invalid(e));
    }
    let (lines, written) = series_lines(&result.series, name, &tag_columns(select));
    if written > 0 {
        let parsed = crate::write::parse_body(&lines, lineproto::Precision::Nanoseconds, ctx.now);
        if let (crate::write::WriteResponse::BadRequest(e), _) =
            crate::write::store(engine, &db, &rp, &parsed)?
        {
            return Err(QueryError::Invalid(e));
        }
    }
    Ok(vec![Series {
        name: Some("result".into()),
        tags: None,
        columns: vec!["time".into(), "written".into()],
        values: vec![vec![
            ctx.epoch.unwrap_or(Epoch::Rfc3339).render(0),
            written.into(),
        ]],
    }])
}

/// The columns that `top`/`bottom` fill from the tags named in their arguments
/// (`top(v, host, 2)`): InfluxDB writes them back as tags, not fields.
fn tag_columns(select: &SelectStatement) -> BTreeSet<&str> {
    select
        .fields
        .iter()
        .filter_map(|f| match &f.expr {
            Expr::Call { name, args } if matches!(name.as_str(), "top" | "bottom") => {
                Some(args.get(1..args.len().saturating_sub(1)).unwrap_or(&[]))
            }
            _ => None,
        })
        .flatten()
        .filter_map(|a| match a {
            Expr::VarRef(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// The rows of `series` as line protocol for measurement `name` (or, for `None`, each
/// series' own), the columns in `tag_columns` as tags; how many points.
fn series_lines(
    series: &[Series],
    name: Option<&str>,
    tag_columns: &BTreeSet<&str>,
) -> (Vec<u8>, u64) {
    let mut w = LineWriter::default();
    let mut count = 0;
    for s in series {
        let Some(measurement) = name.or(s.name.as_deref()) else {
            continue;
        };
        let series_tags: BTreeMap<&str, &str> = s
            .tags
            .iter()
            .flatten()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for row in &s.values {
            let Some(time) = row.first().and_then(serde_json::Value::as_i64) else {
                continue;
            };
            let mut tags = series_tags.clone();
            let mut fields: Vec<(&str, LineValue<'_>)> = Vec::new();
            for (c, v) in s.columns.iter().zip(row).skip(1) {
                match v {
                    serde_json::Value::String(t) if tag_columns.contains(c.as_str()) => {
                        if !t.is_empty() {
                            tags.insert(c, t);
                        }
                    }
                    _ if tag_columns.contains(c.as_str()) => {}
                    _ => fields.extend(line_value(v).map(|v| (field_name(c, tag_columns), v))),
                }
            }
            let tags: Vec<(&str, &str)> = tags.into_iter().collect();
            if w.write_line(measurement, &tags, &fields, Some(time))
                .is_ok()
            {
                count += 1;
            }
        }
    }
    (w.into_bytes(), count)
}

/// The field a column is written as: a column numbered because a tag of `top`/`bottom` took
/// its name (`host_1` beside `top(v, host, 1)`) keeps the name it was given, as InfluxDB
/// writes it (a field and a tag of one key).
fn field_name<'a>(column: &'a str, tag_columns: &BTreeSet<&str>) -> &'a str {
    match column.rsplit_once('_') {
        Some((base, n))
            if !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && tag_columns.contains(base) =>
        {
            base
        }
        _ => column,
    }
}

/// JSON result cell → line-protocol value, keeping the type it was computed with.
fn line_value(v: &serde_json::Value) -> Option<LineValue<'_>> {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map(LineValue::Float),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(LineValue::Integer)
            .or_else(|| n.as_u64().map(LineValue::UInteger)),
        serde_json::Value::String(s) => Some(LineValue::String(s)),
        serde_json::Value::Bool(b) => Some(LineValue::Boolean(*b)),
        _ => None,
    }
}
