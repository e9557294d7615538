//! Queries in flight: what `SHOW QUERIES` lists and `KILL QUERY` stops, the
//! `max-concurrent-queries` limit, the `query-timeout`, and the `max-select-point`,
//! `max-select-series` and `max-select-buckets` limits of each `SELECT`.
//!
//! Each `/query` request registers itself (one id for all its statements, as InfluxDB) and
//! receives an [`Interrupt`] that the executor checks between statements, measurements and
//! series; killing or timing out a query sets it, and so does a `SELECT` reading past a limit.
//! The query then ends with InfluxDB's error at its next check, and nothing is truncated
//! silently.

use super::QueryError;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNNING: u8 = 0;
const KILLED: u8 = 1;
const TIMED_OUT: u8 = 2;
const OVER_LIMIT: u8 = 3;

/// InfluxDB's `[coordinator]` limits on what one `SELECT` may read; 0 is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectLimits {
    /// Points a `SELECT` may read (`max-select-point`).
    pub max_points: u64,
    /// Series a `SELECT` may read (`max-select-series`).
    pub max_series: u64,
    /// `GROUP BY time()` windows a `SELECT` may make (`max-select-buckets`).
    pub max_buckets: u64,
    /// Bytes a `SELECT`'s windows may take, estimated at [`BYTES_PER_CELL`] for each value
    /// of each window of each series (`query-memory-limit`, not in InfluxDB).
    pub max_memory: u64,
}

/// The limits `[coordinator]` sets for each `SELECT`.
impl From<&crate::config::CoordinatorConfig> for SelectLimits {
    fn from(c: &crate::config::CoordinatorConfig) -> Self {
        SelectLimits {
            max_points: c.max_select_point,
            max_series: c.max_select_series,
            max_buckets: c.max_select_buckets,
            max_memory: c.query_memory_limit,
        }
    }
}

/// What one cell of an answer held whole costs, from reading it to sending it as JSON: its
/// value, its share of its row, and its text.
pub const BYTES_PER_ANSWER_CELL: u64 = 96;

/// What one value of one `GROUP BY time()` window costs while an answer is built: measured
/// as 2.9 GB of RSS for 10 series of a million one-value windows.
pub const BYTES_PER_CELL: u64 = 256;

#[derive(Debug, Default)]
struct Control {
    state: AtomicU8,
    limits: SelectLimits,
    points: AtomicU64,
    series: AtomicU64,
    /// Bytes the running `SELECT`'s windows are estimated to take.
    memory: AtomicU64,
    /// InfluxDB's words for the limit passed, once one is.
    exceeded: Mutex<Option<String>>,
}

/// Set when a query must stop; cheap to check. It also counts what the running `SELECT`
/// reads against the query's [`SelectLimits`].
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<Control>);

impl Interrupt {
    /// An interrupt that also holds the query's `SELECT`s to `limits`.
    pub fn with_limits(limits: SelectLimits) -> Interrupt {
        Interrupt(Arc::new(Control {
            limits,
            ..Control::default()
        }))
    }

    /// `Err` once the query was killed, timed out or read past a limit.
    pub fn check(&self) -> Result<(), QueryError> {
        match self.0.state.load(Ordering::Relaxed) {
            RUNNING => Ok(()),
            KILLED => Err(QueryError::Interrupted),
            OVER_LIMIT => Err(QueryError::LimitExceeded(
                self.0.exceeded.lock().clone().unwrap_or_default(),
            )),
            _ => Err(QueryError::TimedOut),
        }
    }

    /// Stops the query because its time is up.
    pub fn time_out(&self) {
        self.stop(TIMED_OUT);
    }

    /// Stops the query: `KILL QUERY`, or the client of a streamed answer went away.
    pub fn kill(&self) {
        self.stop(KILLED);
    }

    fn stop(&self, why: u8) {
        let _ = self
            .0
            .state
            .compare_exchange(RUNNING, why, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn over(&self, message: String) {
        let mut exceeded = self.0.exceeded.lock();
        if exceeded.is_none() {
            *exceeded = Some(message);
        }
        drop(exceeded);
        self.stop(OVER_LIMIT);
    }

    /// A new `SELECT` starts: its reads are counted from zero.
    pub fn start_select(&self) {
        self.0.points.store(0, Ordering::Relaxed);
        self.0.series.store(0, Ordering::Relaxed);
        self.0.memory.store(0, Ordering::Relaxed);
    }

    /// Counts a series of `points` points read; `false` (and the query stopped at its next
    /// check, with InfluxDB's error) once `max-select-series` or `max-select-point` is passed.
    pub fn count_series(&self, points: usize) -> bool {
        let limits = self.0.limits;
        let series = self.0.series.fetch_add(1, Ordering::Relaxed) + 1;
        let read = self.0.points.fetch_add(points as u64, Ordering::Relaxed) + points as u64;
        if limits.max_series > 0 && series > limits.max_series {
            self.over(format!(
                "max-select-series limit exceeded: ({series}/{})",
                limits.max_series
            ));
            return false;
        }
        if limits.max_points > 0 && read > limits.max_points {
            self.over(format!(
                "max-select-point limit exceeded: ({read}/{})",
                limits.max_points
            ));
            return false;
        }
        true
    }

    /// `Err` if a `SELECT` would make more than `max-select-buckets` windows.
    pub fn check_buckets(&self, buckets: u64) -> Result<(), QueryError> {
        let limit = self.0.limits.max_buckets;
        if limit > 0 && buckets > limit {
            return Err(QueryError::LimitExceeded(format!(
                "max-select-buckets limit exceeded: ({buckets}/{limit})"
            )));
        }
        Ok(())
    }

    /// Counts `buckets` windows of `values` values each that a group of series is about to
    /// make: `Err` before they are made if that passes `max-select-buckets` or the
    /// `query-memory-limit` of the whole `SELECT`.
    pub fn charge_windows(&self, buckets: u64, values: u64) -> Result<(), QueryError> {
        self.check_buckets(buckets)?;
        let bytes = buckets
            .saturating_mul(values.max(1))
            .saturating_mul(BYTES_PER_CELL);
        self.charge(bytes, "fewer GROUP BY time() windows or series would fit")
    }

    /// Counts `rows` rows of `columns` cells that an answer held whole (not chunked) is about
    /// to keep: `Err` once the `SELECT`'s answer passes the `query-memory-limit`.
    pub fn charge_rows(&self, rows: u64, columns: u64) -> Result<(), QueryError> {
        let bytes = rows
            .saturating_mul(columns.max(1))
            .saturating_mul(BYTES_PER_ANSWER_CELL);
        self.charge(
            bytes,
            "a narrower time range, a LIMIT or a chunked answer, which holds few rows at a time, would fit",
        )
    }

    fn charge(&self, bytes: u64, advice: &str) -> Result<(), QueryError> {
        let limit = self.0.limits.max_memory;
        let total = self
            .0
            .memory
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if limit > 0 && total > limit {
            return Err(QueryError::LimitExceeded(format!(
                "query-memory-limit exceeded: the answer would take about {total} bytes, more than {limit} ({advice})"
            )));
        }
        Ok(())
    }

    fn status(&self) -> &'static str {
        match self.0.state.load(Ordering::Relaxed) {
            RUNNING => "running",
            _ => "killed",
        }
    }
}

#[derive(Debug)]
struct Entry {
    query: String,
    database: String,
    started: Instant,
    interrupt: Interrupt,
}

/// The registry of running queries.
#[derive(Debug)]
pub struct RunningQueries {
    next_id: AtomicU64,
    entries: Mutex<BTreeMap<u64, Entry>>,
    max_concurrent: usize,
    limits: SelectLimits,
}

/// A registered query; leaving the registry when dropped.
#[derive(Debug)]
pub struct Registration {
    id: u64,
    registry: Arc<RunningQueries>,
    interrupt: Interrupt,
}

impl Registration {
    /// What the executor checks.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.entries.lock().remove(&self.id);
    }
}

/// One row of `SHOW QUERIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryInfo {
    /// Query id.
    pub id: u64,
    /// Its text.
    pub query: String,
    /// The `db` parameter.
    pub database: String,
    /// How long it has run, as InfluxDB prints it (`12s`, `345ms`, `78µs`).
    pub duration: String,
    /// `running` or `killed`.
    pub status: &'static str,
}

/// Durations as InfluxDB's `SHOW QUERIES` prints them: whole seconds from one second up, else
/// milliseconds or microseconds.
fn short_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{}s", d.as_secs())
    } else if d >= Duration::from_millis(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}µs", d.as_micros())
    }
}

impl RunningQueries {
    /// An empty registry; `max_concurrent` 0 means no limit; every query's `SELECT`s are
    /// held to `limits`.
    pub fn new(max_concurrent: usize, limits: SelectLimits) -> Arc<RunningQueries> {
        Arc::new(RunningQueries {
            next_id: AtomicU64::new(1),
            entries: Mutex::new(BTreeMap::new()),
            max_concurrent,
            limits,
        })
    }

    /// Registers a query, unless `max-concurrent-queries` are already running.
    pub fn register(
        self: &Arc<Self>,
        query: &str,
        database: &str,
    ) -> Result<Registration, QueryError> {
        let mut entries = self.entries.lock();
        if self.max_concurrent > 0 && entries.len() >= self.max_concurrent {
            return Err(QueryError::TooManyQueries {
                running: entries.len(),
                limit: self.max_concurrent,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let interrupt = Interrupt::with_limits(self.limits);
        entries.insert(
            id,
            Entry {
                query: query.to_string(),
                database: database.to_string(),
                started: Instant::now(),
                interrupt: interrupt.clone(),
            },
        );
        Ok(Registration {
            id,
            registry: Arc::clone(self),
            interrupt,
        })
    }

    /// The queries in flight, oldest first.
    pub fn list(&self) -> Vec<QueryInfo> {
        self.entries
            .lock()
            .iter()
            .map(|(id, e)| QueryInfo {
                id: *id,
                query: e.query.clone(),
                database: e.database.clone(),
                duration: short_duration(e.started.elapsed()),
                status: e.interrupt.status(),
            })
            .collect()
    }

    /// `KILL QUERY id`.
    pub fn kill(&self, id: u64) -> Result<(), QueryError> {
        match self.entries.lock().get(&id) {
            Some(e) => {
                e.interrupt.kill();
                Ok(())
            }
            None => Err(QueryError::Invalid(format!("no such query id: {id}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_are_held_to_their_limits_in_influxdb_words() {
        let limits = SelectLimits {
            max_points: 10,
            max_series: 3,
            max_buckets: 100,
            max_memory: 1000 * BYTES_PER_CELL,
        };
        let i = Interrupt::with_limits(limits);
        assert!(i.count_series(4) && i.count_series(4));
        assert!(!i.count_series(4), "the 12th point is one too many");
        assert_eq!(
            i.check().unwrap_err().to_string(),
            "max-select-point limit exceeded: (12/10)"
        );
        let i = Interrupt::with_limits(limits);
        for _ in 0..3 {
            assert!(i.count_series(0));
        }
        assert!(!i.count_series(0));
        assert_eq!(
            i.check().unwrap_err().to_string(),
            "max-select-series limit exceeded: (4/3)"
        );
        let i = Interrupt::with_limits(limits);
        assert_eq!(
            i.charge_windows(101, 1).unwrap_err().to_string(),
            "max-select-buckets limit exceeded: (101/100)"
        );
        // The memory of the whole SELECT: ten series of 100 windows fill it, the 11th is
        // refused before its windows are made; a new SELECT starts from zero.
        for _ in 0..10 {
            i.charge_windows(100, 1).unwrap();
        }
        let e = i.charge_windows(100, 1).unwrap_err().to_string();
        assert!(e.starts_with("query-memory-limit exceeded"), "{e}");
        i.start_select();
        i.charge_windows(100, 1).unwrap();
        // No limits: nothing is refused.
        let free = Interrupt::default();
        assert!(free.count_series(usize::MAX / 2) && free.count_series(usize::MAX / 2));
        free.charge_windows(u64::MAX, u64::MAX).unwrap();
        assert!(free.check().is_ok());
    }

    #[test]
    fn queries_register_list_kill_and_leave() {
        let registry = RunningQueries::new(2, SelectLimits::default());
        let a = registry.register("SELECT 1", "db").unwrap();
        let b = registry.register("SHOW QUERIES", "").unwrap();
        let err = registry.register("SELECT 2", "db").unwrap_err();
        assert_eq!(
            err.to_string(),
            "max-concurrent-queries limit exceeded(2, 2)"
        );
        let listed = registry.list();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            (listed[0].query.as_str(), listed[0].status),
            ("SELECT 1", "running")
        );
        registry.kill(listed[0].id).unwrap();
        assert_eq!(
            a.interrupt().check().unwrap_err().to_string(),
            "query interrupted"
        );
        assert_eq!(registry.list()[0].status, "killed");
        assert!(b.interrupt().check().is_ok());
        b.interrupt().time_out();
        assert_eq!(
            b.interrupt().check().unwrap_err().to_string(),
            "query-timeout limit exceeded"
        );
        drop(a);
        drop(b);
        assert!(registry.list().is_empty());
        assert_eq!(
            registry.kill(99).unwrap_err().to_string(),
            "no such query id: 99"
        );
    }

    #[test]
    fn durations_print_as_influxdb() {
        assert_eq!(short_duration(Duration::from_millis(2500)), "2s");
        assert_eq!(short_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(short_duration(Duration::from_micros(80)), "80µs");
    }
}
