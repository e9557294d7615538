//! Queries in flight: what `SHOW QUERIES` lists and `KILL QUERY` stops, the
//! `max-concurrent-queries` limit and the `query-timeout`.
//!
//! Each `/query` request registers itself (one id for all its statements, as InfluxDB) and
//! receives an [`Interrupt`] that the executor checks between statements, measurements and
//! series; killing or timing out a query sets it, and the query ends with InfluxDB's error at
//! its next check.

use super::QueryError;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNNING: u8 = 0;
const KILLED: u8 = 1;
const TIMED_OUT: u8 = 2;

/// Set when a query must stop; cheap to check.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicU8>);

impl Interrupt {
    /// `Err` once the query was killed or timed out.
    pub fn check(&self) -> Result<(), QueryError> {
        match self.0.load(Ordering::Relaxed) {
            RUNNING => Ok(()),
            KILLED => Err(QueryError::Interrupted),
            _ => Err(QueryError::TimedOut),
        }
    }

    /// Stops the query because its time is up.
    pub fn time_out(&self) {
        let _ = self
            .0
            .compare_exchange(RUNNING, TIMED_OUT, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Stops the query: `KILL QUERY`, or the client of a streamed answer went away.
    pub fn kill(&self) {
        let _ = self
            .0
            .compare_exchange(RUNNING, KILLED, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn status(&self) -> &'static str {
        match self.0.load(Ordering::Relaxed) {
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
    /// An empty registry; `max_concurrent` 0 means no limit.
    pub fn new(max_concurrent: usize) -> Arc<RunningQueries> {
        Arc::new(RunningQueries {
            next_id: AtomicU64::new(1),
            entries: Mutex::new(BTreeMap::new()),
            max_concurrent,
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
        let interrupt = Interrupt::default();
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
            None => Err(QueryError::Invalid("no such query id".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_register_list_kill_and_leave() {
        let registry = RunningQueries::new(2);
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
            "no such query id"
        );
    }

    #[test]
    fn durations_print_as_influxdb() {
        assert_eq!(short_duration(Duration::from_millis(2500)), "2s");
        assert_eq!(short_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(short_duration(Duration::from_micros(80)), "80µs");
    }
}
