//! InfluxQL execution: management statements, `SHOW` statements and raw `SELECT`s, answered in
//! InfluxDB's JSON shape. Aggregations and the rest of InfluxQL build on this module.

use crate::meta::{go_duration, MetaError, PolicySpec};
use crate::storage::{Engine, EngineError, Value};
use influxql::{BinaryOp, Expr, MeasurementName, SelectStatement, Statement};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The body of a `/query` answer.
#[derive(Debug, Serialize, PartialEq)]
pub struct QueryResponse {
    /// One result per statement.
    pub results: Vec<StatementResult>,
}

/// The result of one statement.
#[derive(Debug, Serialize, PartialEq, Default)]
pub struct StatementResult {
    /// 0-based position of the statement.
    pub statement_id: usize,
    /// Result series; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
    /// The statement's error; omitted when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One series of a result.
#[derive(Debug, Serialize, PartialEq)]
pub struct Series {
    /// Series name; omitted for statements whose results have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Group-by tags; omitted when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Vec<serde_json::Value>>,
}

/// Why a statement failed; `Display` is the text InfluxDB puts in `error`.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Catalog and storage errors.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A statement needs a database and none was given.
    #[error("database name required")]
    DatabaseRequired,
    /// Anything the statement itself gets wrong.
    #[error("{0}")]
    Invalid(String),
}

impl From<MetaError> for QueryError {
    fn from(e: MetaError) -> Self {
        QueryError::Engine(EngineError::Meta(e))
    }
}

/// How times are rendered: RFC3339 strings or integers in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// `2015-08-18T00:00:00.5Z`
    Rfc3339,
    /// Integer timestamps in this many ns per unit.
    Unit(i64),
}

impl Epoch {
    /// Reads the `epoch` parameter; `None` for an unknown unit.
    pub fn from_param(p: Option<&str>) -> Option<Epoch> {
        Some(match p {
            None | Some("") => Epoch::Rfc3339,
            Some("n" | "ns") => Epoch::Unit(1),
            Some("u" | "µ" | "us") => Epoch::Unit(1_000),
            Some("ms") => Epoch::Unit(1_000_000),
            Some("s") => Epoch::Unit(1_000_000_000),
            Some("m") => Epoch::Unit(60_000_000_000),
            Some("h") => Epoch::Unit(3_600_000_000_000),
            Some(_) => return None,
        })
    }

    fn render(self, ns: i64) -> serde_json::Value {
        match self {
            Epoch::Rfc3339 => rfc3339(ns).into(),
            Epoch::Unit(u) => (ns / u).into(),
        }
    }
}

/// RFC3339 in UTC with trailing zeros of the fraction trimmed, as Go's `RFC3339Nano`.
pub fn rfc3339(ns: i64) -> String {
    let dt = chrono::DateTime::from_timestamp_nanos(ns);
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = ns.rem_euclid(1_000_000_000);
    if frac == 0 {
        format!("{base}Z")
    } else {
        let digits = format!("{frac:09}");
        format!("{base}.{}Z", digits.trim_end_matches('0'))
    }
}

/// Defaults a request brings to its statements.
#[derive(Debug, Clone, Default)]
pub struct QueryContext {
    /// `db` parameter.
    pub database: Option<String>,
    /// `rp` parameter.
    pub retention_policy: Option<String>,
    /// `epoch` parameter.
    pub epoch: Option<Epoch>,
    /// Evaluation time of `now()`, ns.
    pub now: i64,
}

/// Runs statements in order; after a failure the rest answer `not executed`, as InfluxDB.
pub fn execute(engine: &Engine, statements: &[Statement], ctx: &QueryContext) -> QueryResponse {
    let mut results = Vec::with_capacity(statements.len());
    let mut failed = false;
    for (id, stmt) in statements.iter().enumerate() {
        let mut result = StatementResult {
            statement_id: id,
            ..Default::default()
        };
        if failed {
            result.error = Some("not executed".into());
        } else {
            match execute_one(engine, stmt, ctx) {
                Ok(series) => result.series = series,
                Err(e) => {
                    result.error = Some(e.to_string());
                    failed = true;
                }
            }
        }
        results.push(result);
    }
    QueryResponse { results }
}

fn database<'a>(on: &'a Option<String>, ctx: &'a QueryContext) -> Result<&'a str, QueryError> {
    on.as_deref()
        .or(ctx.database.as_deref())
        .filter(|d| !d.is_empty())
        .ok_or(QueryError::DatabaseRequired)
}

fn policy_spec(o: &influxql::RetentionPolicyOptions) -> PolicySpec {
    PolicySpec {
        duration: o.duration,
        replication: o.replication,
        shard_group_duration: o.shard_duration,
        default: o.default,
    }
}

fn execute_one(
    engine: &Engine,
    stmt: &Statement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    match stmt {
        Statement::ShowDatabases => {
            let catalog = engine.catalog();
            Ok(vec![Series {
                name: Some("databases".into()),
                tags: None,
                columns: vec!["name".into()],
                values: catalog
                    .databases
                    .keys()
                    .map(|n| vec![n.clone().into()])
                    .collect(),
            }])
        }
        Statement::CreateDatabase { name, policy } => {
            let spec = policy.as_ref().map(policy_spec).unwrap_or_default();
            let rp = policy.as_ref().and_then(|p| p.name.as_deref());
            engine.create_database(name, rp, spec)?;
            Ok(Vec::new())
        }
        Statement::DropDatabase { name } => {
            engine.drop_database(name)?;
            Ok(Vec::new())
        }
        Statement::CreateRetentionPolicy {
            name,
            database,
            options,
        } => {
            engine.update_catalog(|c| c.create_policy(database, name, policy_spec(options)))?;
            Ok(Vec::new())
        }
        Statement::AlterRetentionPolicy {
            name,
            database,
            options,
        } => {
            engine.update_catalog(|c| c.alter_policy(database, name, policy_spec(options)))?;
            Ok(Vec::new())
        }
        Statement::DropRetentionPolicy { name, database } => {
            engine.drop_policy(database, name)?;
            Ok(Vec::new())
        }
        Statement::ShowRetentionPolicies { database: on } => {
            let db = database(on, ctx)?;
            let catalog = engine.catalog();
            let info = catalog.database(db)?;
            let values = info
                .policies
                .iter()
                .map(|(name, p)| {
                    vec![
                        name.clone().into(),
                        go_duration(p.duration).into(),
                        go_duration(p.shard_group_duration).into(),
                        p.replication.into(),
                        (info.default_policy == *name).into(),
                    ]
                })
                .collect();
            Ok(vec![Series {
                name: None,
                tags: None,
                columns: [
                    "name",
                    "duration",
                    "shardGroupDuration",
                    "replicaN",
                    "default",
                ]
                .map(String::from)
                .to_vec(),
                values,
            }])
        }
        Statement::ShowMeasurements { database: on } => {
            let db = database(on, ctx)?;
            engine.catalog().database(db)?;
            let names = engine.measurements(db);
            if names.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![Series {
                name: Some("measurements".into()),
                tags: None,
                columns: vec!["name".into()],
                values: names.into_iter().map(|n| vec![n.into()]).collect(),
            }])
        }
        Statement::Select(select) => select_raw(engine, select, ctx),
    }
}

/// What a select-list item refers to.
enum Column {
    Field(String),
    Tag(String),
}

/// Raw `SELECT` of fields and tags (no functions yet) with a time range and row filter.
fn select_raw(
    engine: &Engine,
    sel: &SelectStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    for f in &sel.fields {
        if !matches!(f.expr, Expr::Wildcard | Expr::VarRef(_)) {
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
    let epoch = ctx.epoch.unwrap_or(Epoch::Rfc3339);
    let mut out = Vec::new();
    for source in &sel.sources {
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
        };
        for m in measurements {
            if let Some(s) = select_measurement(engine, sel, db, &rp, &m, min, max, epoch)? {
                out.push(s);
            }
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn select_measurement(
    engine: &Engine,
    sel: &SelectStatement,
    db: &str,
    rp: &str,
    measurement: &str,
    min: i64,
    max: i64,
    epoch: Epoch,
) -> Result<Option<Series>, QueryError> {
    let field_types = engine.fields(db, rp, measurement, min, max);
    if field_types.is_empty() {
        return Ok(None);
    }
    let all_fields: Vec<String> = field_types.iter().map(|(n, _)| n.clone()).collect();
    let series_keys = engine.read_measurement(db, rp, measurement, &all_fields, min, max);
    let tag_keys: BTreeSet<String> = series_keys
        .iter()
        .filter_map(|s| lineproto::series_key::split(&s.key))
        .flat_map(|k| k.tags.into_iter().map(|(k, _)| k))
        .collect();

    // Resolve the select list.
    let mut columns: Vec<(String, Column)> = Vec::new();
    for f in &sel.fields {
        match &f.expr {
            Expr::Wildcard => {
                let mut names: Vec<(String, Column)> = all_fields
                    .iter()
                    .map(|n| (n.clone(), Column::Field(n.clone())))
                    .chain(tag_keys.iter().map(|t| (t.clone(), Column::Tag(t.clone()))))
                    .collect();
                names.sort_by(|a, b| a.0.cmp(&b.0));
                columns.extend(names);
            }
            Expr::VarRef(name) => {
                let label = f.alias.clone().unwrap_or_else(|| name.clone());
                if all_fields.contains(name) {
                    columns.push((label, Column::Field(name.clone())));
                } else if tag_keys.contains(name) {
                    columns.push((label, Column::Tag(name.clone())));
                } else if name != "time" {
                    columns.push((label, Column::Field(name.clone())));
                }
            }
            _ => {}
        }
    }
    if !columns.iter().any(|(_, c)| matches!(c, Column::Field(_))) {
        return Ok(None);
    }

    // Build rows per series, then merge by time (stable: series key order within a time).
    let mut rows: Vec<(i64, Vec<serde_json::Value>)> = Vec::new();
    for s in &series_keys {
        let tags: BTreeMap<String, String> = lineproto::series_key::split(&s.key)
            .map(|k| k.tags.into_iter().collect())
            .unwrap_or_default();
        let times: BTreeSet<i64> = s
            .fields
            .iter()
            .flat_map(|(_, c)| c.times.iter().copied())
            .collect();
        let mut cursors = vec![0usize; s.fields.len()];
        for t in times {
            let mut values: BTreeMap<&str, Value> = BTreeMap::new();
            for (i, (name, col)) in s.fields.iter().enumerate() {
                if col.times.get(cursors[i]) == Some(&t) {
                    if let Some(v) = col.values.get(cursors[i]) {
                        values.insert(name.as_str(), v);
                    }
                    cursors[i] += 1;
                }
            }
            if let Some(cond) = &sel.condition {
                if !eval_condition(cond, &tags, &values) {
                    continue;
                }
            }
            let mut has_field = false;
            let row: Vec<serde_json::Value> = std::iter::once(epoch.render(t))
                .chain(columns.iter().map(|(_, c)| {
                    match c {
                        Column::Field(f) => match values.get(f.as_str()) {
                            Some(v) => {
                                has_field = true;
                                v.to_json()
                            }
                            None => serde_json::Value::Null,
                        },
                        Column::Tag(k) => tags
                            .get(k)
                            .map_or(serde_json::Value::Null, |v| v.clone().into()),
                    }
                }))
                .collect();
            if has_field {
                rows.push((t, row));
            }
        }
    }
    rows.sort_by_key(|(t, _)| *t);
    if sel.descending {
        rows.reverse();
    }
    let offset = usize::try_from(sel.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = sel
        .limit
        .filter(|&l| l > 0)
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let values: Vec<Vec<serde_json::Value>> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, r)| r)
        .collect();
    if values.is_empty() {
        return Ok(None);
    }
    Ok(Some(Series {
        name: Some(measurement.to_string()),
        tags: None,
        columns: std::iter::once("time".to_string())
            .chain(columns.into_iter().map(|(n, _)| n))
            .collect(),
        values,
    }))
}

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
fn parse_time_string(s: &str) -> Option<i64> {
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

fn is_time(e: &Expr) -> bool {
    matches!(e, Expr::VarRef(n) if n.eq_ignore_ascii_case("time"))
}

/// The `[min, max]` time range implied by the condition's top-level `AND`ed time comparisons.
fn time_range(cond: &Expr, now: i64) -> Result<(i64, i64), QueryError> {
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
    Bool(bool),
    Missing,
}

fn operand(e: &Expr, tags: &BTreeMap<String, String>, values: &BTreeMap<&str, Value>) -> Operand {
    match e {
        Expr::VarRef(n) => match values.get(n.as_str()) {
            Some(Value::Float(f)) => Operand::Num(*f),
            Some(Value::Integer(i)) => Operand::Num(*i as f64),
            Some(Value::Unsigned(u)) => Operand::Num(*u as f64),
            Some(Value::String(s)) => Operand::Str(s.clone()),
            Some(Value::Boolean(b)) => Operand::Bool(*b),
            None => tags
                .get(n)
                .map_or(Operand::Str(String::new()), |v| Operand::Str(v.clone())),
        },
        Expr::Str(s) => Operand::Str(s.clone()),
        Expr::Integer(i) => Operand::Num(*i as f64),
        Expr::Float(f) => Operand::Num(*f),
        Expr::Bool(b) => Operand::Bool(*b),
        Expr::Paren(inner) => operand(inner, tags, values),
        _ => Operand::Missing,
    }
}

/// Row filter: time comparisons were applied as a range; the rest is evaluated here.
fn eval_condition(
    e: &Expr,
    tags: &BTreeMap<String, String>,
    values: &BTreeMap<&str, Value>,
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
                let Operand::Str(s) = operand(lhs, tags, values) else {
                    return false;
                };
                let matched = regex::Regex::new(re)
                    .map(|r| r.is_match(&s))
                    .unwrap_or(false);
                return matched == (*op == BinaryOp::EqRegex);
            }
            let (l, r) = (operand(lhs, tags, values), operand(rhs, tags, values));
            match (l, r) {
                (Operand::Num(a), Operand::Num(b)) => compare(*op, a.partial_cmp(&b)),
                (Operand::Str(a), Operand::Str(b)) => compare(*op, Some(a.cmp(&b))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_trims_fractions() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_439_856_000_500_000_000), "2015-08-18T00:00:00.5Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn time_ranges_from_conditions() {
        let s = influxql::parse_statement(
            "SELECT * FROM m WHERE time >= '2015-08-18T00:00:00Z' AND time < now() - 1h AND host = 'a'",
        )
        .unwrap();
        let Statement::Select(sel) = s else { panic!() };
        let (min, max) =
            time_range(sel.condition.as_ref().unwrap(), 10 * 3_600_000_000_000).unwrap();
        assert_eq!(min, 1_439_856_000_000_000_000);
        assert_eq!(max, 9 * 3_600_000_000_000 - 1);
    }

    #[test]
    fn rfc3339_like_strings() {
        assert_eq!(
            parse_time_string("2015-08-18"),
            Some(1_439_856_000_000_000_000)
        );
        assert_eq!(
            parse_time_string("2015-08-18 00:00:00"),
            Some(1_439_856_000_000_000_000)
        );
        assert_eq!(parse_time_string("nope"), None);
    }
}
