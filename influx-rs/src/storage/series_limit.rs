//! `max-series-per-database`: the distinct series of each database, counted without reading
//! every series key at start.
//!
//! InfluxDB 1.x's `inmem` index holds every key in memory, so its count is free; ours are on
//! disk. At open each database only records how many series its shards hold (each shard's
//! index knows its count; a series in two shards counts twice, so the sum is an upper bound).
//! While that bound plus the series admitted since start stays under the limit, a new series
//! is admitted by remembering its 64-bit hash. Only a database that comes near its limit
//! needs the exact count: its shards' keys are hashed once — by a background thread started
//! with the engine's maintenance when the bound passes half the limit, or by the write that
//! needs them first — and from then on the hash set is exact. The set never holds more than the limit's worth of hashes.
//!
//! Near the limit a write is judged as 1.x's `inmem` index judges it: if the database's
//! series plus the write's points of series new to it (repeats counted) exceed the limit,
//! all those points are refused together — `partial write: max-series-per-database limit
//! exceeded: (N) dropped=M` — while its points of known series are written.

use super::shard::{SeriesAdmission, Shard};
use ahash::AHashSet;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// The series of one database counted against the limit.
#[derive(Debug, Default)]
struct DbSeries {
    /// Hashes of the series admitted since start and, once `counted`, of every series.
    hashes: AHashSet<u64>,
    /// Whether the series the shards held at open are in `hashes`.
    counted: bool,
    /// Series the shards held at open, summed over shards (an upper bound of the distinct).
    at_open: usize,
    /// Bumped when the database starts over, so a count read before is not applied after.
    generation: u64,
}

impl DbSeries {
    /// A database with no series (none at open, or created since): counted.
    fn empty() -> DbSeries {
        DbSeries {
            counted: true,
            ..DbSeries::default()
        }
    }

    /// Upper bound of the database's distinct series.
    fn bound(&self) -> usize {
        if self.counted {
            self.hashes.len()
        } else {
            self.at_open + self.hashes.len()
        }
    }
}

/// Per-database series counts for `max-series-per-database` (0: no limit, nothing kept).
#[derive(Debug)]
pub(super) struct SeriesLimit {
    limit: usize,
    hasher: ahash::RandomState,
    dbs: Mutex<HashMap<String, DbSeries>>,
    /// Held while a database's keys are read, so two readers never hash the same shards.
    counting: Mutex<()>,
}

impl SeriesLimit {
    /// Counts against `limit` series per database; 0 means unlimited.
    pub(super) fn new(limit: usize) -> SeriesLimit {
        SeriesLimit {
            limit,
            hasher: ahash::RandomState::new(),
            dbs: Mutex::new(HashMap::new()),
            counting: Mutex::new(()),
        }
    }

    /// Whether a limit is configured.
    pub(super) fn is_set(&self) -> bool {
        self.limit != 0
    }

    /// Records a shard found at open: `series` more series of `db`, not yet read.
    pub(super) fn opened(&self, db: &str, series: usize) {
        if !self.is_set() {
            return;
        }
        let mut dbs = self.dbs.lock();
        let entry = dbs.entry(db.to_string()).or_default();
        entry.at_open += series;
    }

    /// Databases whose shards' series have not been read yet and may hold more than half
    /// the limit: worth reading ahead, so that no write waits for it near the limit.
    pub(super) fn worth_counting(&self) -> Vec<String> {
        self.dbs
            .lock()
            .iter()
            .filter(|(_, s)| !s.counted && s.bound().saturating_mul(2) > self.limit)
            .map(|(db, _)| db.clone())
            .collect()
    }

    /// Whether `db` must be counted before a write of up to `new` series: its upper bound
    /// could pass the limit, and only the exact count can say whether it does.
    pub(super) fn needs_count(&self, db: &str, new: usize) -> bool {
        self.is_set()
            && self
                .dbs
                .lock()
                .get(db)
                .is_some_and(|s| !s.counted && s.bound().saturating_add(new) > self.limit)
    }

    /// What the shards of `db` ask about the series a write of `points` points adds.
    pub(super) fn gate<'a>(&'a self, db: &'a str, points: usize) -> DbGate<'a> {
        let judges = self.is_set()
            && match self.dbs.lock().get(db) {
                // No series yet.
                None => points > self.limit,
                Some(s) => s.counted && s.bound().saturating_add(points) > self.limit,
            };
        DbGate {
            limit: self,
            db,
            judges,
        }
    }

    /// Reads the keys of `shards` (all of `db`'s) into `db`'s set, unless another call
    /// already did. Writes may go on meanwhile: what they admit is in the set already.
    pub(super) fn count(&self, db: &str, shards: &[Arc<Shard>]) {
        let _one_reader = self.counting.lock();
        let generation = match self.dbs.lock().get(db) {
            Some(s) if !s.counted => s.generation,
            _ => return,
        };
        let started = std::time::Instant::now();
        let mut read: Vec<u64> = Vec::new();
        for shard in shards {
            shard.each_series_key(&mut |key| read.push(self.hasher.hash_one(key)));
        }
        let mut dbs = self.dbs.lock();
        // A reset meanwhile (series dropped) makes what was read stale: the next count reads.
        if let Some(s) = dbs.get_mut(db).filter(|s| s.generation == generation) {
            s.hashes.extend(read);
            s.counted = true;
            tracing::info!(
                db,
                series = s.hashes.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "counted series for max-series-per-database"
            );
        }
    }

    /// Records a series a shard of `db` added.
    fn added(&self, db: &str, key: &[u8]) {
        let h = self.hasher.hash_one(key);
        let mut dbs = self.dbs.lock();
        dbs.entry(db.to_string())
            .or_insert_with(DbSeries::empty)
            .hashes
            .insert(h);
    }

    /// Whether no shard of `db` has series `key`, as far as the set knows.
    fn is_new(&self, db: &str, key: &[u8]) -> bool {
        let h = self.hasher.hash_one(key);
        self.dbs
            .lock()
            .get(db)
            .is_none_or(|s| !s.hashes.contains(&h))
    }

    /// 1.x's rule for a write near the limit: the database's series plus the points of
    /// series new to it must not pass the limit, else all of those points are refused.
    fn judge(&self, db: &str, fresh: &[&[u8]]) -> Option<String> {
        let mut dbs = self.dbs.lock();
        let s = dbs.entry(db.to_string()).or_insert_with(DbSeries::empty);
        if !s.counted {
            // Only a writer racing the count gets here: admitted, as before the count.
            return None;
        }
        let new = fresh
            .iter()
            .filter(|k| !s.hashes.contains(&self.hasher.hash_one(k)))
            .count();
        (s.hashes.len() + new > self.limit)
            .then(|| format!("max-series-per-database limit exceeded: ({})", self.limit))
    }

    /// Starts `db` over after some of its series went (a shard or series dropped): `series`
    /// are left in its shards, to be read again as at open.
    pub(super) fn reset(&self, db: &str, series: usize) {
        if !self.is_set() {
            return;
        }
        let mut dbs = self.dbs.lock();
        let generation = dbs.get(db).map_or(0, |s| s.generation + 1);
        dbs.insert(
            db.to_string(),
            DbSeries {
                counted: series == 0,
                at_open: series,
                hashes: AHashSet::new(),
                generation,
            },
        );
    }

    /// Forgets a dropped database.
    pub(super) fn forget(&self, db: &str) {
        self.dbs.lock().remove(db);
    }

    /// The exact number of `db`'s series, once counted.
    pub(super) fn exact(&self, db: &str) -> Option<usize> {
        match self.dbs.lock().get(db) {
            None => Some(0),
            Some(s) if s.counted => Some(s.hashes.len()),
            Some(_) => None,
        }
    }
}

/// The series limit of one database, as one write's shards ask it.
#[derive(Debug)]
pub(super) struct DbGate<'a> {
    limit: &'a SeriesLimit,
    db: &'a str,
    /// Near the limit: the write's new series are judged together.
    judges: bool,
}

impl SeriesAdmission for DbGate<'_> {
    fn judges_writes(&self) -> bool {
        self.judges
    }

    fn judge(&self, fresh: &[&[u8]]) -> Option<String> {
        self.limit.judge(self.db, fresh)
    }

    fn is_new(&self, key: &[u8]) -> bool {
        self.limit.is_new(self.db, key)
    }

    fn added(&self, key: &[u8]) {
        if self.limit.is_set() {
            self.limit.added(self.db, key);
        }
    }
}
