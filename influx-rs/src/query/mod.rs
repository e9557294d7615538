//! InfluxQL execution, answered in InfluxDB's JSON shape.
//!
//! - this module: the response types, statement dispatch, management statements;
//! - `condition`: time ranges and row filters of `WHERE` clauses;
//! - `delete`: `DELETE`, `DROP SERIES`, `DROP MEASUREMENT`;
//! - `select`: raw and aggregate `SELECT`s; `functions`: the aggregate and selector
//!   functions; `technical`: the technical-analysis functions; `holt_winters` and
//!   `nelder_mead`: forecasts; `show`: the schema `SHOW` statements; [`csv`]: results as CSV;
//!   [`chunked`]: results as a stream of JSON lines (`chunked=true`); [`sink`]: where results
//!   go as they are made;
//! - [`running`]: queries in flight (`SHOW QUERIES`, `KILL QUERY`, limits).

mod aggregates;
mod cast;
pub mod chunked;
mod condition;
pub mod csv;
mod delete;
pub mod diagnostics;
pub mod explain;
mod holt_winters;
pub mod into;
pub mod json;
mod math;
mod nelder_mead;
pub mod planner;
mod reservoir;
pub mod running;
mod select;
pub mod sink;
mod technical;
mod transforms;

/// The zone of a `tz('…')` clause, or InfluxDB's error for an unknown one.
pub fn select_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    select::zone(name)
}
mod show;

use crate::meta::{go_duration, MetaError, PolicySpec, SubscriptionInfo};
use crate::storage::{Engine, EngineError};
use crate::users::hash_password;
use influxql::Statement;
use serde::Serialize;
use std::collections::BTreeMap;

/// The body of a `/query` answer.
#[derive(Debug, Serialize, PartialEq, Default)]
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
    /// `:MEASUREMENT` where a source is read.
    #[error(":MEASUREMENT is only allowed as the target of INTO")]
    TargetAsSource,
    /// A subquery anywhere but among the sources of a `SELECT`.
    #[error("a subquery is only allowed as a source of SELECT")]
    MisplacedSubquery,
    /// Stopped by `KILL QUERY`.
    #[error("query interrupted")]
    Interrupted,
    /// Ran past `query-timeout`.
    #[error("query-timeout limit exceeded")]
    TimedOut,
    /// Read past `max-select-point`, `max-select-series` or `max-select-buckets`, in
    /// InfluxDB's words.
    #[error("{0}")]
    LimitExceeded(String),
    /// `max-concurrent-queries` were already running.
    #[error("max-concurrent-queries limit exceeded({running}, {limit})")]
    TooManyQueries {
        /// Queries running.
        running: usize,
        /// The limit.
        limit: usize,
    },
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
    /// RFC3339 on a zone's clock (`tz('…')`): `2015-08-18T02:00:00.5+02:00`.
    Local(chrono_tz::Tz),
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

    pub(super) fn render(self, ns: i64) -> serde_json::Value {
        match self {
            Epoch::Rfc3339 => rfc3339(ns).into(),
            Epoch::Local(tz) => local_rfc3339(ns, tz).into(),
            Epoch::Unit(u) => (ns / u).into(),
        }
    }
}

/// RFC3339 on `tz`'s clock as Go writes it (`RFC3339Nano`: fraction trimmed, `Z` for a zero
/// offset).
fn local_rfc3339(ns: i64, tz: chrono_tz::Tz) -> String {
    use chrono::Offset;
    let dt = chrono::DateTime::from_timestamp_nanos(ns).with_timezone(&tz);
    let offset = dt.offset().fix().local_minus_utc();
    let mut out = String::with_capacity(35);
    push_clock(&mut out, &dt.naive_local(), ns);
    if offset == 0 {
        out.push('Z');
    } else {
        out.push(if offset < 0 { '-' } else { '+' });
        let abs = offset.unsigned_abs();
        push_padded(&mut out, abs / 3600, 2);
        out.push(':');
        push_padded(&mut out, abs % 3600 / 60, 2);
    }
    out
}

/// RFC3339 in UTC with trailing zeros of the fraction trimmed, as Go's `RFC3339Nano`.
pub fn rfc3339(ns: i64) -> String {
    let dt = chrono::DateTime::from_timestamp_nanos(ns);
    let mut out = String::with_capacity(30);
    push_clock(&mut out, &dt.naive_utc(), ns);
    out.push('Z');
    out
}

/// Writes `YYYY-MM-DDTHH:MM:SS[.fraction]` of `clock`, the fraction being `ns`'s sub-second
/// part with trailing zeros trimmed. Written digit by digit: timestamps are the bulk of an
/// answer, and a format string parsed per value showed up in profiles.
fn push_clock(out: &mut String, clock: &chrono::NaiveDateTime, ns: i64) {
    use chrono::{Datelike, Timelike};
    // Nanosecond timestamps span the years 1677..=2262: always four digits.
    push_padded(out, clock.year().unsigned_abs(), 4);
    for (sep, part) in [
        ('-', clock.month()),
        ('-', clock.day()),
        ('T', clock.hour()),
        (':', clock.minute()),
        (':', clock.second()),
    ] {
        out.push(sep);
        push_padded(out, part, 2);
    }
    let mut frac = ns.rem_euclid(1_000_000_000).unsigned_abs();
    if frac != 0 {
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.push('.');
        push_padded(out, u32::try_from(frac).unwrap_or(0), width);
    }
}

/// Writes the last `width` decimal digits of `value`, zero-padded.
fn push_padded(out: &mut String, mut value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    for d in digits[..width].iter_mut().rev() {
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend(digits[..width].iter().map(|&d| char::from(d)));
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
    /// The authenticated user (`None` without auth): limits what `SHOW DATABASES` lists.
    pub user: Option<crate::users::Principal>,
    /// Set when the query is killed or times out.
    pub interrupt: running::Interrupt,
    /// The queries in flight, for `SHOW QUERIES` and `KILL QUERY`.
    pub running: Option<std::sync::Arc<running::RunningQueries>>,
    /// Set by `EXPLAIN`: reads are counted here instead of done.
    pub planner: Option<std::sync::Arc<planner::Planner>>,
    /// Counters of the layers above the query engine, for `SHOW STATS`.
    pub stats: Vec<std::sync::Arc<dyn diagnostics::StatsSource>>,
}

/// Runs statements in order; after a failure the rest answer `not executed`, as InfluxDB. The
/// answer is held whole, within each `SELECT`'s `query-memory-limit`.
pub fn execute(engine: &Engine, statements: &[Statement], ctx: &QueryContext) -> QueryResponse {
    let mut response = QueryResponse::default();
    let mut held = sink::Held::new(&mut response, ctx.interrupt.clone());
    execute_each(engine, statements, ctx, &mut held);
    response
}

/// [`execute`] handing each statement's result to `out` as it is made: a `SELECT` sends its
/// series a piece at a time when `out` asks for it ([`sink::SeriesSink::rows_per_read`]).
pub fn execute_each(
    engine: &Engine,
    statements: &[Statement],
    ctx: &QueryContext,
    out: &mut dyn sink::ResultSink,
) {
    let mut failed = false;
    for (id, stmt) in statements.iter().enumerate() {
        out.start(id);
        let error = if failed {
            Some("not executed".to_string())
        } else {
            let run = ctx.interrupt.check().and_then(|()| match stmt {
                Statement::Select(s) if s.into.is_none() => select::select_to(engine, s, ctx, out),
                _ => execute_one(engine, stmt, ctx)?
                    .into_iter()
                    .try_for_each(|series| out.series(series, true)),
            });
            run.err().map(|e| {
                failed = true;
                e.to_string()
            })
        };
        out.end(id, error);
    }
}

pub(super) fn database<'a>(
    on: &'a Option<String>,
    ctx: &'a QueryContext,
) -> Result<&'a str, QueryError> {
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
                    .filter(|db| ctx.user.as_ref().is_none_or(|u| u.sees(db)))
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
        Statement::Delete { sources, condition } => {
            let target = delete::Target::Points {
                sources,
                condition: condition.as_ref(),
            };
            delete::delete(engine, target, ctx).map(|()| Vec::new())
        }
        Statement::DropSeries { sources, condition } => {
            let target = delete::Target::Series {
                sources,
                condition: condition.as_ref(),
            };
            delete::delete(engine, target, ctx).map(|()| Vec::new())
        }
        Statement::DropMeasurement { name } => {
            delete::delete(engine, delete::Target::Measurement(name), ctx).map(|()| Vec::new())
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
        Statement::ShowMeasurements {
            database: on,
            measurement,
            condition,
            limit,
            offset,
        } => {
            let db = database(on, ctx)?;
            engine.catalog().database(db)?;
            let mut names = engine.measurements(db);
            if let Some(c) = condition {
                names = show::measurements_where(engine, db, names, c)?;
            }
            match measurement {
                Some(influxql::MeasurementName::Name(n)) => names.retain(|m| m == n),
                Some(influxql::MeasurementName::Regex(r)) => {
                    let re =
                        regex::Regex::new(r).map_err(|e| QueryError::Invalid(e.to_string()))?;
                    names.retain(|m| re.is_match(m));
                }
                Some(influxql::MeasurementName::Source) => return Err(QueryError::TargetAsSource),
                Some(influxql::MeasurementName::Subquery(_)) => {
                    return Err(QueryError::MisplacedSubquery)
                }
                None => {}
            }
            let (skip, take) = select::skip_and_take(*offset, *limit);
            let names: Vec<String> = names.into_iter().skip(skip).take(take).collect();
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
        Statement::CreateSubscription {
            name,
            database,
            retention_policy,
            mode,
            destinations,
        } => {
            let sub = SubscriptionInfo {
                name: name.clone(),
                mode: *mode,
                destinations: destinations.clone(),
            };
            engine.update_catalog(|c| c.create_subscription(database, retention_policy, sub))?;
            Ok(Vec::new())
        }
        Statement::DropSubscription {
            name,
            database,
            retention_policy,
        } => {
            engine.update_catalog(|c| c.drop_subscription(database, retention_policy, name))?;
            Ok(Vec::new())
        }
        Statement::ShowSubscriptions => Ok(show::subscriptions(&engine.catalog())),
        Statement::ShowShards => Ok(show::shards(&engine.catalog())),
        Statement::ShowShardGroups => Ok(show::shard_groups(&engine.catalog())),
        Statement::ShowUsers => Ok(vec![Series {
            name: None,
            tags: None,
            columns: vec!["user".into(), "admin".into()],
            values: engine
                .catalog()
                .users
                .iter()
                .map(|(name, u)| vec![name.clone().into(), u.admin.into()])
                .collect(),
        }]),
        Statement::ShowQueries => Ok(vec![Series {
            name: None,
            tags: None,
            columns: ["qid", "query", "database", "duration", "status"]
                .map(String::from)
                .to_vec(),
            values: ctx
                .running
                .as_ref()
                .map(|r| r.list())
                .unwrap_or_default()
                .into_iter()
                .map(|q| {
                    vec![
                        q.id.into(),
                        q.query.into(),
                        q.database.into(),
                        q.duration.into(),
                        q.status.into(),
                    ]
                })
                .collect(),
        }]),
        Statement::KillQuery { id, .. } => {
            match &ctx.running {
                Some(r) => r.kill(*id)?,
                None => return Err(QueryError::Invalid(format!("no such query id: {id}"))),
            }
            Ok(Vec::new())
        }
        Statement::ShowGrants { user } => {
            let catalog = engine.catalog();
            let u = catalog.users.get(user).ok_or(MetaError::UserNotFound)?;
            Ok(vec![Series {
                name: None,
                tags: None,
                columns: vec!["database".into(), "privilege".into()],
                values: u
                    .privileges
                    .iter()
                    .map(|(db, p)| vec![db.clone().into(), p.to_string().into()])
                    .collect(),
            }])
        }
        Statement::CreateUser {
            name,
            password,
            admin,
        } => {
            let hash = hash_password(password)?;
            engine.update_catalog(|c| c.create_user(name, password, hash, *admin))?;
            Ok(Vec::new())
        }
        Statement::DropUser { name } => {
            engine.update_catalog(|c| c.drop_user(name))?;
            Ok(Vec::new())
        }
        Statement::SetPassword { name, password } => {
            let hash = hash_password(password)?;
            engine.update_catalog(|c| c.set_password(name, hash))?;
            Ok(Vec::new())
        }
        Statement::Grant {
            privilege,
            database,
            user,
        } => {
            engine.update_catalog(|c| c.grant(user, *privilege, database.as_deref()))?;
            Ok(Vec::new())
        }
        Statement::Revoke {
            privilege,
            database,
            user,
        } => {
            engine.update_catalog(|c| c.revoke(user, *privilege, database.as_deref()))?;
            Ok(Vec::new())
        }
        Statement::ShowContinuousQueries => Ok(engine
            .catalog()
            .databases
            .iter()
            .map(|(db, info)| Series {
                name: Some(db.clone()),
                tags: None,
                columns: vec!["name".into(), "query".into()],
                values: info
                    .continuous_queries
                    .iter()
                    .map(|c| vec![c.name.clone().into(), c.query.clone().into()])
                    .collect(),
            })
            .collect()),
        Statement::CreateContinuousQuery { .. } => {
            engine.update_catalog(|c| c.create_continuous_query(stmt))?;
            Ok(Vec::new())
        }
        Statement::DropContinuousQuery { name, database } => {
            engine.update_catalog(|c| c.drop_continuous_query(database, name))?;
            Ok(Vec::new())
        }
        Statement::ShowCardinality { of, exact, scope } => {
            let db = database(&scope.database, ctx)?;
            engine.catalog().database(db)?;
            show::cardinality(engine, db, of, *exact, scope, ctx)
        }
        Statement::Select(s) if s.into.is_some() => into::select_into(engine, s, ctx),
        Statement::Select(s) => select::select(engine, s, ctx),
        Statement::Explain { analyze, select } => explain::explain(engine, select, *analyze, ctx),
        Statement::ShowStats { module } => diagnostics::stats(engine, module.as_deref(), ctx),
        Statement::ShowDiagnostics { module } => {
            diagnostics::diagnostics(engine, module.as_deref())
        }
        Statement::DropShard { id } => {
            engine.drop_shard(*id)?;
            Ok(Vec::new())
        }
        Statement::ShowTagKeys(s) => show::tag_keys(engine, s, ctx),
        Statement::ShowTagValues(s, key) => show::tag_values(engine, s, key, ctx),
        Statement::ShowFieldKeys(s) => show::field_keys(engine, s, ctx),
        Statement::ShowSeries(s) => show::series(engine, s, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::condition::{parse_time_string, time_range};
    use super::*;

    #[test]
    fn rfc3339_trims_fractions() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_439_856_000_500_000_000), "2015-08-18T00:00:00.5Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(rfc3339(i64::MIN), "1677-09-21T00:12:43.145224192Z");
        assert_eq!(rfc3339(i64::MAX), "2262-04-11T23:47:16.854775807Z");
    }

    #[test]
    fn local_rfc3339_writes_the_offset() {
        let kolkata: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            local_rfc3339(1_439_856_000_500_000_000, kolkata),
            "2015-08-18T05:30:00.5+05:30"
        );
        let new_york: chrono_tz::Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            local_rfc3339(1_439_856_000_000_000_000, new_york),
            "2015-08-17T20:00:00-04:00"
        );
        assert_eq!(local_rfc3339(0, chrono_tz::Tz::UTC), "1970-01-01T00:00:00Z");
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_reads_back(ns in proptest::prelude::any::<i64>()) {
            let text = rfc3339(ns);
            let back = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
            proptest::prop_assert_eq!(back.timestamp_nanos_opt(), Some(ns));
            let fraction = text.trim_end_matches('Z').split('.').nth(1).unwrap_or("1");
            proptest::prop_assert!(!fraction.ends_with('0'), "{}", text);
        }
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
