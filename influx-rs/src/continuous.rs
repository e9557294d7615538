//! Continuous queries and `SELECT … INTO`: the downsampling path.
//!
//! A CQ is kept in the catalog as InfluxDB shows it in `SHOW CONTINUOUS QUERIES`: its
//! statement with `INTO` and `FROM` qualified by database and retention policy. The
//! [`Scheduler`] wakes every second; when a CQ's `RESAMPLE EVERY` boundary (default: its
//! `GROUP BY time()` interval) has passed, it runs the CQ's `SELECT … INTO` over the window
//! `[boundary - FOR, boundary)` (`FOR` defaults to the interval), aligned to the interval.
//!
//! `SELECT … INTO` runs the select, then writes every row of the result as a point of the
//! `INTO` measurement: the series' `GROUP BY` tags stay tags, every non-null column becomes a
//! field, with the type it had; empty buckets are skipped unless a `fill()` is given. It
//! answers `written` as InfluxDB does.

use crate::meta::{Catalog, ContinuousQueryInfo, MetaError};
use crate::query::{self, QueryContext};
use crate::storage::Engine;
use influxql::{BinaryOp, Dimension, Expr, Measurement, SelectStatement, Statement};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `m` with database and retention policy filled in where missing.
fn qualify(m: &Measurement, db: &str, rp: &str) -> Measurement {
    Measurement {
        database: Some(
            m.database
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| db.to_string()),
        ),
        retention_policy: Some(
            m.retention_policy
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| rp.to_string()),
        ),
        name: m.name.clone(),
    }
}

impl Catalog {
    /// `CREATE CONTINUOUS QUERY`: stored qualified; creating the same query again is accepted.
    pub fn create_continuous_query(&mut self, stmt: &Statement) -> Result<(), MetaError> {
        let Statement::CreateContinuousQuery {
            name,
            database,
            resample_every,
            resample_for,
            query,
        } = stmt
        else {
            return Ok(());
        };
        let info = self.database(database)?;
        let rp = info.default_policy.clone();
        let mut select = (**query).clone();
        select.into = select.into.as_ref().map(|m| qualify(m, database, &rp));
        select.sources = select
            .sources
            .iter()
            .map(|m| qualify(m, database, &rp))
            .collect();
        let text = Statement::CreateContinuousQuery {
            name: name.clone(),
            database: database.clone(),
            resample_every: *resample_every,
            resample_for: *resample_for,
            query: Box::new(select),
        }
        .to_string();
        let Some(db) = self.databases.get_mut(database) else {
            return Err(MetaError::DatabaseNotFound(database.clone()));
        };
        match db.continuous_queries.iter().find(|c| c.name == *name) {
            Some(existing) if existing.query == text => Ok(()),
            Some(_) => Err(MetaError::ContinuousQueryExists),
            None => {
                db.continuous_queries.push(ContinuousQueryInfo {
                    name: name.clone(),
                    query: text,
                });
                Ok(())
            }
        }
    }

    /// `DROP CONTINUOUS QUERY`; no error when there is none (as InfluxDB 1.6).
    pub fn drop_continuous_query(&mut self, db: &str, name: &str) -> Result<(), MetaError> {
        if let Some(info) = self.databases.get_mut(db) {
            info.continuous_queries.retain(|c| c.name != name);
        }
        Ok(())
    }
}

/// A CQ ready to run: its select and schedule.
struct Plan {
    select: SelectStatement,
    interval: i64,
    offset: i64,
    every: i64,
    window: i64,
}

fn plan(text: &str) -> Option<Plan> {
    let Ok(Statement::CreateContinuousQuery {
        resample_every,
        resample_for,
        query,
        ..
    }) = influxql::parse_statement(text)
    else {
        return None;
    };
    let (interval, offset) = query.dimensions.iter().find_map(|d| match d {
        Dimension::Time { interval, offset } => Some((*interval, *offset)),
        _ => None,
    })?;
    Some(Plan {
        interval,
        offset,
        every: resample_every.unwrap_or(interval).max(1),
        window: resample_for.unwrap_or(interval).max(interval),
        select: *query,
    })
}

fn time_condition(op: BinaryOp, ns: i64) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(Expr::VarRef("time".into())),
        rhs: Box::new(Expr::Integer(ns)),
    }
}

/// The select of `plan` over `[end - window, end)`.
fn windowed(plan: &Plan, end: i64) -> SelectStatement {
    let range = Expr::Binary {
        op: BinaryOp::And,
        lhs: Box::new(time_condition(BinaryOp::Gte, end - plan.window)),
        rhs: Box::new(time_condition(BinaryOp::Lt, end)),
    };
    let condition = match &plan.select.condition {
        Some(c) => Expr::Binary {
            op: BinaryOp::And,
            lhs: Box::new(Expr::Paren(Box::new(c.clone()))),
            rhs: Box::new(range),
        },
        None => range,
    };
    SelectStatement {
        condition: Some(condition),
        ..plan.select.clone()
    }
}

/// Runs the continuous queries on schedule until stopped.
pub struct Scheduler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the scheduler thread for `engine`'s continuous queries.
    pub fn start(engine: Arc<Engine>) -> std::io::Result<Scheduler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("continuous-queries".into())
            .spawn(move || {
                let mut last_run = LastRuns::new();
                while !flag.load(Ordering::Relaxed) {
                    run_due(&engine, &mut last_run, now_ns());
                    std::thread::sleep(Duration::from_secs(1));
                }
            })?;
        Ok(Scheduler {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// Runs every CQ whose `EVERY` boundary passed since its last run; a CQ seen for the first
/// time waits for its next boundary.
fn run_due(engine: &Engine, last_run: &mut LastRuns, now: i64) {
    for run in due(&engine.catalog(), last_run, now) {
        let ctx = QueryContext {
            database: Some(run.database.clone()),
            now,
            ..QueryContext::default()
        };
        if let Err(e) = query::into::select_into(engine, &run.select, &ctx) {
            tracing::warn!(database = %run.database, cq = %run.name, "continuous query failed: {e}");
        } else {
            tracing::debug!(database = %run.database, cq = %run.name, "continuous query ran");
        }
    }
}

/// The boundary each CQ last ran for, by (database, name).
pub type LastRuns = HashMap<(String, String), i64>;

/// One run of a continuous query: its `SELECT … INTO` over the window that just ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DueRun {
    /// The CQ's database.
    pub database: String,
    /// The CQ's name.
    pub name: String,
    /// The statement to run (with its time range).
    pub select: SelectStatement,
}

/// Marks every CQ of `catalog` as last run one `EVERY` before its latest boundary, so that the
/// next [`due`] runs the window that ended there: how a cluster node that just took over the
/// continuous queries makes sure the window the previous holder may not have run is not skipped
/// (run twice, it writes the same points again).
pub fn seed_previous(catalog: &Catalog, last_run: &mut LastRuns, now: i64) {
    for (db, info) in &catalog.databases {
        for cq in &info.continuous_queries {
            if let Some(plan) = plan(&cq.query) {
                let boundary =
                    (now - plan.offset).div_euclid(plan.every) * plan.every + plan.offset;
                last_run.insert((db.clone(), cq.name.clone()), boundary - plan.every);
            }
        }
    }
}

/// The CQs of `catalog` whose `EVERY` boundary passed since their run in `last_run` (which is
/// updated); a CQ seen for the first time waits for its next boundary.
pub fn due(catalog: &Catalog, last_run: &mut LastRuns, now: i64) -> Vec<DueRun> {
    let mut runs = Vec::new();
    let mut seen = Vec::new();
    for (db, info) in &catalog.databases {
        for cq in &info.continuous_queries {
            let key = (db.clone(), cq.name.clone());
            seen.push(key.clone());
            let Some(plan) = plan(&cq.query) else {
                continue;
            };
            let boundary = (now - plan.offset).div_euclid(plan.every) * plan.every + plan.offset;
            let previous = *last_run.entry(key.clone()).or_insert(boundary);
            if boundary <= previous {
                continue;
            }
            last_run.insert(key, boundary);
            let end =
                (boundary - plan.offset).div_euclid(plan.interval) * plan.interval + plan.offset;
            runs.push(DueRun {
                database: db.clone(),
                name: cq.name.clone(),
                select: windowed(&plan, end),
            });
        }
    }
    last_run.retain(|k, _| seen.contains(k));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqs_are_stored_qualified_and_created_once() {
        let mut c = Catalog::default();
        c.create_database("db", None, Default::default()).unwrap();
        let stmt = influxql::parse_statement(
            "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END",
        )
        .unwrap();
        c.create_continuous_query(&stmt).unwrap();
        c.create_continuous_query(&stmt).unwrap();
        assert_eq!(
            c.databases["db"].continuous_queries[0].query,
            "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO db.autogen.m_1h FROM db.autogen.m GROUP BY time(1h) END"
        );
        let other = influxql::parse_statement(
            "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT max(v) INTO m_1h FROM m GROUP BY time(1h) END",
        )
        .unwrap();
        assert!(matches!(
            c.create_continuous_query(&other),
            Err(MetaError::ContinuousQueryExists)
        ));
        c.drop_continuous_query("db", "cq").unwrap();
        c.drop_continuous_query("db", "nope").unwrap();
        assert!(c.databases["db"].continuous_queries.is_empty());
    }

    #[test]
    fn runs_cover_the_resample_window_ending_at_an_interval_boundary() {
        let p = plan("CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 30s FOR 2m BEGIN SELECT mean(v) INTO x FROM m WHERE host = 'a' GROUP BY time(1m) END").unwrap();
        assert_eq!(
            (p.every, p.window, p.interval),
            (30_000_000_000, 120_000_000_000, 60_000_000_000)
        );
        let s = windowed(&p, 600_000_000_000);
        assert_eq!(
            s.condition.unwrap().to_string(),
            "(host = 'a') AND time >= 480000000000 AND time < 600000000000"
        );
        assert!(
            plan("CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v INTO x FROM m END").is_none()
        );
    }
}
