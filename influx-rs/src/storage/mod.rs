//! The storage engine: catalog + shards, the write path across shards, background snapshot,
//! compaction and retention, and the reads the query layer needs.
//!
//! # Layout
//! - [`value`]: field types, values, the [`Point`] the engine stores.
//! - [`column`](mod@column): one field of one series as parallel time/value vectors; the dedup rule.
//! - [`wal`]: per-shard write-ahead log with group commit and torn-tail recovery.
//! - [`cache`]: per-shard in-memory points until a snapshot.
//! - [`colfile`]: immutable compressed column files (`FORMAT.md` beside it).
//! - [`index`]: per-shard persisted series index with tag bitmaps.
//! - [`tombstone`]: deleted ranges of series, per column file.
//! - [`shard`]: ties the above together for one shard group.
//! - `series_limit`: `max-series-per-database`, counted from the shards' indexes at open and
//!   from their keys only near the limit.
//!
//! On disk: `<data>/meta.json` and `<data>/<db>/<rp>/<shard id>/{wal/, *.tcf, *.tomb, series.log}`.

mod backup;
pub mod block_cache;
pub mod cache;
pub mod checked_map;
pub mod colfile;
pub mod column;
mod compaction;
pub mod dir_lock;
pub mod hll;
pub mod index;
mod read_plan;
mod retention;
mod series_limit;
pub mod shard;
pub mod tombstone;
pub mod value;
pub mod varint;
pub mod wal;

use crate::config::DataConfig;
use crate::meta::{Catalog, MetaError, PolicySpec, ShardGroupInfo, ShardLocation};
use block_cache::BlockCache;
use colfile::ReadCursor;
use column::Column;
use index::IndexOptions;
use parking_lot::{Condvar, Mutex, RwLock};
pub use read_plan::{MeasurementPlan, MeasurementRead, ReadPlan, SeriesFilter};
use series_limit::SeriesLimit;
use shard::{Shard, ShardError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
pub use value::{FieldType, Point, Value};

/// Engine errors; the HTTP layer maps them to status codes.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Catalog errors (`database not found`, …).
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// Shard storage failures.
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// The caches hold more than `cache-max-memory-size`.
    #[error("engine: cache-max-memory-size exceeded: ({used}/{limit})")]
    CacheFull {
        /// Bytes held.
        used: usize,
        /// The limit.
        limit: usize,
    },
    /// Another process holds the data directory, or it cannot be locked.
    #[error(transparent)]
    Locked(#[from] dir_lock::DirLockError),
    /// Directory I/O.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The outcome of a write that reached the engine.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Points stored.
    pub written: usize,
    /// Points rejected (type conflicts, retention, limits).
    pub dropped: usize,
    /// The first rejection reason, in InfluxDB's words.
    pub first_error: Option<String>,
    /// The retention policy written to (the default one when the request named none).
    pub policy: String,
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// One series' points of a measurement, field by field.
#[derive(Debug, Clone)]
pub struct SeriesData {
    /// The series key.
    pub key: Arc<[u8]>,
    /// Field name → column, for the fields the series has in range.
    pub fields: Vec<(String, Column)>,
}

/// One shard's figures (`SHOW STATS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardStats {
    /// Shard id.
    pub id: u64,
    /// Its database.
    pub database: String,
    /// Its retention policy.
    pub policy: String,
    /// Bytes of its files.
    pub disk_bytes: u64,
    /// Bytes in its cache.
    pub cache_bytes: usize,
    /// Measurements with series in it.
    pub measurements: usize,
}

/// Hands the memory a snapshot freed (a whole cache's columns) back to the system. glibc keeps
/// freed chunks in the arena of the thread that used them; under a write load the process's
/// RSS was twice its heap (150 vs 70 MiB at the peak, measured with heaptrack) before this.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Past this many tag values (counted once per part of each shard's index),
/// `SHOW TAG VALUES CARDINALITY` without `EXACT` answers from the HyperLogLog sketches the
/// index files keep of each tag key's values — within about 1 %, the estimate InfluxDB's
/// documentation describes for the non-`EXACT` forms — instead of merging every value. Up to
/// it the answer is exact, as 1.x's (which counts them all, with `count(distinct(…))`).
pub const ESTIMATED_ABOVE: u64 = 100_000;

/// The storage engine of the daemon.
#[derive(Debug)]
pub struct Engine {
    dir: PathBuf,
    config: DataConfig,
    catalog: Mutex<Catalog>,
    shards: RwLock<HashMap<u64, Arc<Shard>>>,
    /// Decoded blocks of column files, shared by every shard (`block-cache-max-memory-size`).
    blocks: Arc<BlockCache>,
    /// Series per database counted against `max-series-per-database`.
    series_limit: SeriesLimit,
    /// Wake-ups of the background threads: a counter, so no waiter misses one.
    wake: (Mutex<u64>, Condvar),
    stopping: AtomicBool,
    /// Bumped by every catalog change made through [`Engine::update_catalog`].
    catalog_version: AtomicU64,
    /// Held shared by every change to the data directory (writes, deletes, catalog changes)
    /// and exclusively by a backup while it copies, so a backup is one consistent moment.
    gate: RwLock<()>,
    /// Held while the engine lives: no other process opens the directory meanwhile.
    _lock: dir_lock::DirLock,
}

impl Engine {
    /// Opens the data directory: its lock, the catalog, then every shard (replaying WALs).
    pub fn open(config: DataConfig) -> Result<Engine, EngineError> {
        let dir = config.dir.clone();
        let lock = dir_lock::DirLock::acquire(&dir)?;
        let catalog = Catalog::load(&dir)?;
        let engine = Engine {
            series_limit: SeriesLimit::new(config.max_series_per_database),
            dir,
            blocks: Arc::new(BlockCache::new(config.block_cache_max_memory_size as u64)),
            config,
            catalog: Mutex::new(catalog.clone()),
            shards: RwLock::new(HashMap::new()),
            wake: (Mutex::new(0), Condvar::new()),
            stopping: AtomicBool::new(false),
            catalog_version: AtomicU64::new(0),
            gate: RwLock::new(()),
            _lock: lock,
        };
        for loc in catalog.shards() {
            let shard = engine.open_shard(&loc)?;
            // Only the count: the keys are read later, and only if the limit comes near.
            engine
                .series_limit
                .opened(&loc.database, shard.series_ids());
        }
        Ok(engine)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn shard_dir(&self, loc: &ShardLocation) -> PathBuf {
        self.dir
            .join(&loc.database)
            .join(&loc.policy)
            .join(loc.group.id.to_string())
    }

    /// The open shard of `loc`, opening it on first use. The map's write lock is held while
    /// opening, so concurrent first writes to a new shard group share one `Shard`.
    fn open_shard(&self, loc: &ShardLocation) -> Result<Arc<Shard>, EngineError> {
        if let Some(s) = self.shards.read().get(&loc.group.id) {
            return Ok(Arc::clone(s));
        }
        let mut shards = self.shards.write();
        if let Some(s) = shards.get(&loc.group.id) {
            return Ok(Arc::clone(s));
        }
        let shard = Arc::new(Shard::open(
            &self.shard_dir(loc),
            loc.group.id,
            IndexOptions {
                max_values_per_tag: self.config.max_values_per_tag,
                max_log_bytes: self.config.max_index_log_file_size as u64,
            },
            Arc::clone(&self.blocks),
        )?);
        tracing::info!(shard_id = loc.group.id, db = %loc.database, rp = %loc.policy, "opened shard");
        shards.insert(loc.group.id, Arc::clone(&shard));
        Ok(shard)
    }

    /// A copy of the catalog for read-only statements.
    pub fn catalog(&self) -> Catalog {
        self.catalog.lock().clone()
    }

    /// The retention policy a write to `db` (and `rp`, "" for the default) goes to, looked up
    /// in place: what a write checks before anything else, without copying the catalog.
    pub fn resolve_policy(&self, db: &str, rp: &str) -> Result<String, MetaError> {
        self.catalog
            .lock()
            .resolve_policy(db, rp)
            .map(str::to_string)
    }

    /// Applies a catalog change and persists it; returns what `f` returned.
    pub fn update_catalog<T>(
        &self,
        f: impl FnOnce(&mut Catalog) -> Result<T, MetaError>,
    ) -> Result<T, EngineError> {
        let _changing = self.gate.read();
        self.change_catalog(f)
    }

    /// [`Engine::update_catalog`] for a caller that holds the gate already.
    fn change_catalog<T>(
        &self,
        f: impl FnOnce(&mut Catalog) -> Result<T, MetaError>,
    ) -> Result<T, EngineError> {
        let mut catalog = self.catalog.lock();
        let mut next = catalog.clone();
        let out = f(&mut next)?;
        next.save(&self.dir)?;
        *catalog = next;
        self.catalog_version.fetch_add(1, Ordering::Release);
        Ok(out)
    }

    /// Changes whenever a statement changed the catalog (not when shard groups are added), so
    /// services that mirror part of it (subscriptions) know when to look again.
    pub fn catalog_version(&self) -> u64 {
        self.catalog_version.load(Ordering::Acquire)
    }

    /// `CREATE DATABASE`.
    pub fn create_database(
        &self,
        name: &str,
        rp: Option<&str>,
        spec: PolicySpec,
    ) -> Result<(), EngineError> {
        self.update_catalog(|c| c.create_database(name, rp, spec))
    }

    /// `DROP DATABASE`: removes it from the catalog, then its files.
    pub fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        let _changing = self.gate.read();
        let ids = self.change_catalog(|c| Ok(c.drop_database(name)))?;
        self.close_shards(&ids);
        self.series_limit.forget(name);
        remove_dir(&self.dir.join(name))
    }

    /// `DROP RETENTION POLICY`: removes it and its files.
    pub fn drop_policy(&self, db: &str, rp: &str) -> Result<(), EngineError> {
        let _changing = self.gate.read();
        let ids = self.change_catalog(|c| c.drop_policy(db, rp))?;
        self.close_shards(&ids);
        self.recount_series(db);
        remove_dir(&self.dir.join(db).join(rp))
    }

    fn close_shards(&self, ids: &[u64]) {
        let mut shards = self.shards.write();
        for id in ids {
            shards.remove(id);
        }
    }

    /// Writes points to `db`.`rp` (empty = default policy), splitting them by shard group.
    pub fn write(&self, db: &str, rp: &str, points: &[Point]) -> Result<WriteSummary, EngineError> {
        let _changing = self.gate.read();
        let used: usize = self.shards.read().values().map(|s| s.cache_bytes()).sum();
        if self.config.cache_max_memory_size > 0 && used > self.config.cache_max_memory_size {
            self.wake_maintenance();
            return Err(EngineError::CacheFull {
                used,
                limit: self.config.cache_max_memory_size,
            });
        }
        let (rp, duration) = {
            let catalog = self.catalog.lock();
            let rp = catalog.resolve_policy(db, rp)?.to_string();
            let duration = catalog.database(db)?.policies[&rp].duration;
            (rp, duration)
        };
        let mut summary = WriteSummary {
            policy: rp.clone(),
            ..WriteSummary::default()
        };
        let reject = |summary: &mut WriteSummary, reason: String| {
            summary.dropped += 1;
            summary.first_error.get_or_insert(reason);
        };
        let cutoff = if duration > 0 {
            now_nanos() - duration
        } else {
            i64::MIN
        };

        // Split by shard group, remembering the last group to avoid a catalog lookup per point.
        let mut by_shard: Vec<(Arc<Shard>, Vec<&Point>)> = Vec::new();
        let mut current: Option<(i64, i64, usize)> = None;
        for p in points {
            if p.time < cutoff {
                reject(&mut summary, "points beyond retention policy".to_string());
                continue;
            }
            let slot = match current {
                Some((start, end, slot)) if start <= p.time && p.time < end => slot,
                _ => {
                    let (group, created) = {
                        let mut catalog = self.catalog.lock();
                        let mut next = catalog.clone();
                        let (group, created) = next.shard_group_for(db, &rp, p.time)?;
                        if created {
                            next.save(&self.dir)?;
                            *catalog = next;
                        }
                        (group, created)
                    };
                    let loc = ShardLocation {
                        database: db.to_string(),
                        policy: rp.clone(),
                        group,
                    };
                    if created {
                        tracing::info!(shard_id = group.id, db, rp = %rp, "created shard group");
                    }
                    let shard = self.open_shard(&loc)?;
                    let slot = match by_shard.iter().position(|(s, _)| s.id == shard.id) {
                        Some(i) => i,
                        None => {
                            by_shard.push((shard, Vec::new()));
                            by_shard.len() - 1
                        }
                    };
                    current = Some((group.start, group.end, slot));
                    slot
                }
            };
            by_shard[slot].1.push(p);
        }

        if self.series_limit.needs_count(db, points.len()) {
            // Near the limit the upper bound is not enough: the exact count says.
            self.count_series(db);
        }
        let gate = self.series_limit.gate(db, points.len());
        for (shard, pts) in by_shard {
            let r = shard.write(&pts, &gate)?;
            summary.written += r.written;
            summary.dropped += r.dropped;
            if let Some(e) = r.first_error {
                summary.first_error.get_or_insert(e);
            }
            if shard.cache_bytes() > self.snapshot_threshold() {
                self.wake_maintenance();
            }
        }
        Ok(summary)
    }

    /// Counts `db`'s series again after some went with a shard or a delete: the shards'
    /// counts at once, their keys when the limit comes near (as at open).
    fn recount_series(&self, db: &str) {
        let left = self
            .shards_for(db, None, i64::MIN, i64::MAX)
            .iter()
            .map(|s| s.series_ids())
            .sum();
        self.series_limit.reset(db, left);
    }

    /// Reads `db`'s series keys for `max-series-per-database` unless already done.
    fn count_series(&self, db: &str) {
        let shards = self.shards_for(db, None, i64::MIN, i64::MAX);
        self.series_limit.count(db, &shards);
    }

    /// Cache bytes at which a shard is snapshotted: the configured size, but never so close to
    /// `cache-max-memory-size` that writes would be refused before a snapshot starts.
    fn snapshot_threshold(&self) -> usize {
        match self.config.cache_max_memory_size {
            0 => self.config.cache_snapshot_memory_size,
            max => self.config.cache_snapshot_memory_size.min(max / 2),
        }
    }

    fn wake_maintenance(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() += 1;
        cv.notify_all();
    }

    /// Shards of `db` (and `rp`, when given) overlapping `[min, max]`, oldest first.
    pub fn shards_for(&self, db: &str, rp: Option<&str>, min: i64, max: i64) -> Vec<Arc<Shard>> {
        self.located_shards(db, rp, min, max)
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    /// [`Engine::shards_for`] with each shard's group (its time range).
    fn located_shards(
        &self,
        db: &str,
        rp: Option<&str>,
        min: i64,
        max: i64,
    ) -> Vec<(ShardGroupInfo, Arc<Shard>)> {
        let catalog = self.catalog.lock();
        let shards = self.shards.read();
        let mut locs: Vec<ShardLocation> = catalog
            .shards()
            .into_iter()
            .filter(|l| l.database == db && rp.is_none_or(|rp| l.policy == rp))
            .filter(|l| l.group.end > min && l.group.start <= max)
            .collect();
        locs.sort_by_key(|l| l.group.start);
        locs.into_iter()
            .filter_map(|l| Some((l.group, shards.get(&l.group.id).cloned()?)))
            .collect()
    }

    /// The last point of `field` of series `key` in `[min, max]`: from the newest shard that
    /// has one, through its last-value cache when the shard lies wholly inside the range.
    pub fn last_point(
        &self,
        db: &str,
        rp: &str,
        key: &[u8],
        field: &str,
        (min, max): (i64, i64),
    ) -> Option<(i64, Value)> {
        self.located_shards(db, Some(rp), min, max)
            .into_iter()
            .rev()
            .find_map(|(group, shard)| {
                if group.start >= min && group.end.saturating_sub(1) <= max {
                    shard.last(key, field)
                } else {
                    shard
                        .read(key, field, min, max)
                        .and_then(|c| shard::last_of(&c))
                }
            })
    }

    /// Measurement names of a database, sorted.
    pub fn measurements(&self, db: &str) -> Vec<String> {
        let names: BTreeSet<String> = self
            .shards_for(db, None, i64::MIN, i64::MAX)
            .iter()
            .flat_map(|s| s.measurements())
            .collect();
        names.into_iter().collect()
    }

    /// Series keys of a measurement in the shards overlapping `[min, max]`, sorted; with
    /// `tags` (`(tag, values)`, as [`SeriesFilter::tags`]) only the series the indexes'
    /// postings give for them, before any key is read.
    pub fn series_keys(
        &self,
        db: &str,
        measurement: &str,
        min: i64,
        max: i64,
        tags: &[(String, Vec<String>)],
    ) -> BTreeSet<Arc<[u8]>> {
        self.shards_for(db, None, min, max)
            .iter()
            .flat_map(|s| s.series_where(measurement, tags))
            .collect()
    }

    /// The `n` smallest of [`Engine::series_keys`], sorted: each shard gives its `n`
    /// smallest, so a page of a large measurement copies only pages.
    pub fn first_series_keys(
        &self,
        db: &str,
        measurement: &str,
        (min, max): (i64, i64),
        tags: &[(String, Vec<String>)],
        n: usize,
    ) -> Vec<Arc<[u8]>> {
        let keys: BTreeSet<Arc<[u8]>> = self
            .shards_for(db, None, min, max)
            .iter()
            .flat_map(|s| s.first_series_where(measurement, tags, n))
            .collect();
        keys.into_iter().take(n).collect()
    }

    /// Tag keys of a measurement in the shards overlapping `[min, max]`, sorted.
    pub fn tag_keys(&self, db: &str, measurement: &str, min: i64, max: i64) -> BTreeSet<String> {
        self.shards_for(db, None, min, max)
            .iter()
            .flat_map(|s| s.tag_keys_of(measurement))
            .collect()
    }

    /// The estimated number of distinct series of a database: its shards' sketches merged
    /// (a series held by several shards counts once), as 1.x estimates it.
    pub fn series_estimate(&self, db: &str) -> u64 {
        let mut all = hll::Hll::default();
        for s in self.shards_for(db, None, i64::MIN, i64::MAX) {
            s.merge_series_sketch(&mut all);
        }
        all.estimate()
    }

    /// How many distinct values the tag keys `want` picks have in a measurement, over every
    /// shard: merged from the index's sorted values when one shard and one key are asked
    /// about, else counted by 64-bit hashes of the values (neither copies them). Unless
    /// `exact`, more than [`ESTIMATED_ABOVE`] values are estimated from the index's sketches.
    pub fn tag_value_count(
        &self,
        db: &str,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
        exact: bool,
    ) -> usize {
        let estimate_above = (!exact).then_some(ESTIMATED_ABOVE);
        let shards = self.shards_for(db, None, i64::MIN, i64::MAX);
        if let [shard] = shards.as_slice() {
            if let Some(n) = shard.distinct_values(measurement, want, estimate_above) {
                return usize::try_from(n).unwrap_or(usize::MAX);
            }
        }
        if let Some(limit) = estimate_above {
            let entries: u64 = shards
                .iter()
                .map(|s| s.value_entries(measurement, want))
                .sum();
            if entries > limit {
                let mut all = hll::Hll::default();
                let merged = shards.iter().all(|s| {
                    s.value_sketch(measurement, want)
                        .map(|sketch| all.merge(&sketch))
                        .is_some()
                });
                if merged {
                    return usize::try_from(all.estimate()).unwrap_or(usize::MAX);
                }
            }
        }
        let mut seen = ahash::AHashSet::new();
        for s in shards {
            seen.extend(s.tag_value_hashes(measurement, want));
        }
        seen.len()
    }

    /// The `(tag key, tag value)` pairs of a measurement in the shards overlapping
    /// `[min, max]` whose key `want`s, of the series that meet the `(tag, values)`
    /// constraints `tags` (all series when there is none), from the shards' indexes, sorted.
    pub fn tag_values(
        &self,
        db: &str,
        measurement: &str,
        (min, max): (i64, i64),
        want: &dyn Fn(&str) -> bool,
        tags: &[(String, Vec<String>)],
    ) -> BTreeSet<(String, String)> {
        self.shards_for(db, None, min, max)
            .iter()
            .flat_map(|s| s.tag_values_of(measurement, want, tags))
            .collect()
    }

    /// Field names and types of a measurement across the shards in range.
    pub fn fields(
        &self,
        db: &str,
        rp: &str,
        measurement: &str,
        min: i64,
        max: i64,
    ) -> Vec<(String, FieldType)> {
        // The first shard to list a field gives its type.
        let mut out: std::collections::BTreeMap<String, FieldType> = Default::default();
        for s in self.shards_for(db, Some(rp), min, max) {
            for (name, ty) in s.fields_of(measurement) {
                out.entry(name).or_insert(ty);
            }
        }
        out.into_iter().collect()
    }

    /// The listed fields' points in `[min, max]` of the series of a measurement that `keep`
    /// accepts (given each series key), skipping series with no points.
    pub fn read_measurement(
        &self,
        db: &str,
        rp: &str,
        measurement: &str,
        fields: &[String],
        range: (i64, i64),
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Vec<SeriesData> {
        let mut out = Vec::new();
        let read = MeasurementRead {
            db,
            rp,
            measurement,
            fields,
            range,
            filter: SeriesFilter {
                tags: &[],
                keep,
                keep_indexed: keep,
                keys: None,
            },
        };
        self.visit_measurement(&read, &mut |s| out.push(s));
        out
    }

    /// [`Engine::read_measurement`] handing each series to `visit` as soon as it is read, so
    /// only one series is in memory at a time; the read's filter picks the series.
    pub fn visit_measurement(&self, read: &MeasurementRead<'_>, visit: &mut dyn FnMut(SeriesData)) {
        let (min, max) = read.range;
        let (shards, keys) = self.series_to_read(read);
        // The keys come sorted: each field's lookups go forward through every column file.
        let mut cursors: Vec<ReadCursor> =
            read.fields.iter().map(|_| ReadCursor::default()).collect();
        for (key, held) in keys {
            let mut cols = Vec::new();
            for (field, cursor) in read.fields.iter().zip(&mut cursors) {
                let mut acc: Option<Column> = None;
                for s in held.of(&shards) {
                    if let Some(c) = s.read_next(cursor, &key, field, min, max) {
                        match &mut acc {
                            Some(a) => a.merge(&c),
                            None => acc = Some(c),
                        }
                    }
                }
                if let Some(c) = acc {
                    cols.push((field.clone(), c));
                }
            }
            if !cols.is_empty() {
                visit(SeriesData { key, fields: cols });
            }
        }
    }

    /// What [`Engine::visit_measurement`] of `read` would touch, without reading any data.
    pub fn plan_measurement(&self, read: &MeasurementRead<'_>) -> MeasurementPlan {
        let (min, max) = read.range;
        let (shards, keys) = self.series_to_read(read);
        // InfluxDB 1.x counts, in every shard searched, the series its database-wide index
        // knows: the series times the shards.
        let mut plan = MeasurementPlan {
            shards: shards.len(),
            series: shards.len() * keys.len(),
            fields: BTreeMap::new(),
        };
        for field in read.fields {
            let planned = plan.fields.entry(field.clone()).or_default();
            for (key, held) in &keys {
                for s in held.of(&shards) {
                    *planned += s.plan(key, field, min, max);
                }
            }
        }
        plan
    }

    /// The keys of the series [`Engine::visit_measurement`] of `read` would visit, without
    /// reading any data.
    pub fn series_to_visit(&self, read: &MeasurementRead<'_>) -> BTreeSet<Arc<[u8]>> {
        self.series_to_read(read).1.into_keys().collect()
    }

    /// The first and last time at which [`Engine::visit_measurement`] of `read` may find a
    /// point, from block metadata and the caches, without reading any data.
    pub fn time_bounds(&self, read: &MeasurementRead<'_>) -> Option<(i64, i64)> {
        let (min, max) = read.range;
        let (shards, keys) = self.series_to_read(read);
        keys.iter()
            .flat_map(|(key, held)| {
                let shards = &shards;
                read.fields.iter().flat_map(move |field| {
                    held.of(shards)
                        .filter_map(move |s| s.time_bounds(key, field, min, max))
                })
            })
            .reduce(|(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
    }

    /// The shards of the read's database and policy overlapping its range, and the keys of
    /// the series of its measurement in them that its filter wants.
    /// Each key comes with the shards whose index holds it (a shard holds points only of
    /// series its index holds), so that a series is not looked for in every shard of a long
    /// range; keys the read names are looked for in every shard.
    #[allow(clippy::type_complexity)]
    fn series_to_read(
        &self,
        read: &MeasurementRead<'_>,
    ) -> (Vec<Arc<Shard>>, BTreeMap<Arc<[u8]>, ShardsHolding>) {
        let (min, max) = read.range;
        let shards = self.shards_for(read.db, Some(read.rp), min, max);
        let filter = read.filter;
        let mut keys = BTreeMap::new();
        match filter.keys {
            Some(named) => {
                for k in named.iter().filter(|k| (filter.keep)(k)) {
                    keys.insert(Arc::clone(k), ShardsHolding::ALL);
                }
            }
            None => {
                for (i, s) in shards.iter().enumerate() {
                    for k in s.series_where(read.measurement, filter.tags) {
                        if (filter.keep_indexed)(&k) {
                            keys.entry(k).or_insert(ShardsHolding::NONE).add(i);
                        }
                    }
                }
            }
        }
        (shards, keys)
    }

    /// Deletes the points in `[min, max]` of the series of `db` (every retention policy)
    /// whose measurement `measurement` accepts and whose key `series` accepts; series left
    /// without points are forgotten. Returns how many series were forgotten.
    pub fn delete(
        &self,
        db: &str,
        measurement: &dyn Fn(&str) -> bool,
        series: &dyn Fn(&[u8]) -> bool,
        (min, max): (i64, i64),
    ) -> Result<usize, EngineError> {
        let _changing = self.gate.read();
        let mut forgotten = 0;
        for shard in self.shards_for(db, None, min, max) {
            let keys: Vec<Arc<[u8]>> = shard
                .measurements()
                .iter()
                .filter(|m| measurement(m))
                .flat_map(|m| shard.series_of(m))
                .filter(|k| series(k))
                .collect();
            forgotten += shard.delete(&keys, min, max)?;
        }
        if forgotten > 0 {
            self.recount_series(db);
        }
        Ok(forgotten)
    }

    /// Writes every cache past the snapshot threshold to a column file.
    pub fn snapshot_full_caches(&self) {
        let shards: Vec<Arc<Shard>> = self.shards.read().values().cloned().collect();
        for s in shards {
            if s.cache_bytes() > self.snapshot_threshold() {
                match s.snapshot() {
                    Ok(()) => release_freed_memory(),
                    Err(e) => {
                        tracing::error!(shard_id = s.id, error = %e, "snapshot failed; the wal keeps the data")
                    }
                }
            }
        }
    }

    /// Waits until [`Engine::wake_maintenance`] is called after `seen` or `timeout` passes;
    /// returns the wake-up count to wait past next time.
    fn wait_for_wake(&self, seen: u64, timeout: Duration) -> u64 {
        let (lock, cv) = &self.wake;
        let mut count = lock.lock();
        if *count == seen {
            cv.wait_for(&mut count, timeout);
        }
        *count
    }

    /// Starts the background threads, which run until [`Engine::stop`]: one that snapshots
    /// full caches (woken by writers, so a cache never waits behind a compaction),
    /// `max-concurrent-compactions` that compact, and one that counts the series of the
    /// databases near `max-series-per-database` once, then ends.
    pub fn start_maintenance(self: &Arc<Self>) -> Vec<std::thread::JoinHandle<()>> {
        let engine = Arc::clone(self);
        let mut threads = vec![std::thread::spawn(move || {
            let mut seen = 0;
            while !engine.stopping.load(Ordering::Relaxed) {
                engine.snapshot_full_caches();
                seen = engine.wait_for_wake(seen, Duration::from_millis(200));
            }
        })];
        let engine = Arc::clone(self);
        threads.push(std::thread::spawn(move || {
            for db in engine.series_limit.worth_counting() {
                if engine.stopping.load(Ordering::Relaxed) {
                    break;
                }
                engine.count_series(&db);
            }
        }));
        let workers = self.config.max_concurrent_compactions.max(1);
        for worker in 0..workers {
            let engine = Arc::clone(self);
            threads.push(std::thread::spawn(move || {
                let mut seen = 0;
                while !engine.stopping.load(Ordering::Relaxed) {
                    engine.compact_shards(worker, workers);
                    seen = engine.wait_for_wake(seen, Duration::from_secs(1));
                }
            }));
        }
        threads
    }

    /// Series of `db` counted against `max-series-per-database` (every retention policy).
    /// Without a limit no set is kept and the sketches' estimate answers.
    pub fn series_count(&self, db: &str) -> usize {
        match self.series_limit.exact(db) {
            Some(n) if self.series_limit.is_set() => n,
            _ => usize::try_from(self.series_estimate(db)).unwrap_or(usize::MAX),
        }
    }

    /// Every open shard with where it lives, by id.
    pub fn shard_stats(&self) -> Vec<ShardStats> {
        let shards = self.shards.read();
        let mut out: Vec<ShardStats> = self
            .catalog()
            .shards()
            .into_iter()
            .filter_map(|loc| {
                let shard = shards.get(&loc.group.id)?;
                Some(ShardStats {
                    id: loc.group.id,
                    database: loc.database,
                    policy: loc.policy,
                    disk_bytes: shard.disk_bytes(),
                    cache_bytes: shard.cache_bytes(),
                    measurements: shard.measurements().len(),
                })
            })
            .collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Stops background work, snapshots every cache and writes every shard's in-memory
    /// series to an index file (clean shutdown): the next start then replays no WAL and
    /// reads no series log into memory.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.wake_maintenance();
        for s in self.shards.read().values() {
            if let Err(e) = s.snapshot() {
                tracing::error!(shard_id = s.id, error = %e, "snapshot at shutdown failed; the wal keeps the data");
            }
            if let Err(e) = s.flush_index() {
                tracing::error!(shard_id = s.id, error = %e, "series index flush at shutdown failed; the series log keeps the series");
            }
        }
    }

    /// Bytes on disk under the data directory.
    pub fn disk_bytes(&self) -> u64 {
        self.shards.read().values().map(|s| s.disk_bytes()).sum()
    }

    /// Bytes in all caches.
    pub fn cache_bytes(&self) -> usize {
        self.shards.read().values().map(|s| s.cache_bytes()).sum()
    }

    /// Number of open shards.
    pub fn shard_count(&self) -> usize {
        self.shards.read().len()
    }
}

/// Which of a read's shards hold a series: bit `i` for shard `i`; a series held by a
/// shard past the 64th is looked for in every shard.
#[derive(Debug, Clone, Copy)]
struct ShardsHolding(u64);

impl ShardsHolding {
    const NONE: ShardsHolding = ShardsHolding(0);
    const ALL: ShardsHolding = ShardsHolding(u64::MAX);

    fn add(&mut self, shard: usize) {
        self.0 |= if shard < 64 { 1 << shard } else { u64::MAX };
    }

    /// The shards of `shards` (the read's, in order) it names.
    fn of<'a>(self, shards: &'a [Arc<Shard>]) -> impl Iterator<Item = &'a Arc<Shard>> + 'a {
        shards
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 == u64::MAX || (*i < 64 && self.0 >> i & 1 == 1))
            .map(|(_, s)| s)
    }
}

pub(super) fn remove_dir(path: &Path) -> Result<(), EngineError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(EngineError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn config(dir: &Path) -> DataConfig {
        DataConfig {
            dir: dir.to_path_buf(),
            ..DataConfig::default()
        }
    }

    fn batch(writer: i64, n: i64) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                measurement: "m".into(),
                series_key: format!("m,w={writer}").into_bytes(),
                time: i,
                fields: vec![("v".into(), Value::Integer(i))],
            })
            .collect()
    }

    /// Every series of `m` in `d`, with its points of `v`.
    fn read_all(engine: &Engine) -> Vec<SeriesData> {
        engine.read_measurement(
            "d",
            "autogen",
            "m",
            &["v".to_string()],
            (i64::MIN, i64::MAX),
            &|_| true,
        )
    }

    fn count(engine: &Engine) -> usize {
        read_all(engine).iter().map(|s| s.fields[0].1.len()).sum()
    }

    /// Past `cache-max-memory-size` writes get InfluxDB's 500 error; a snapshot frees the cache
    /// and writes are taken again, even when the limit is below the snapshot size.
    #[test]
    fn full_caches_refuse_writes_until_snapshotted() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(DataConfig {
            cache_max_memory_size: 16 * 1024,
            ..config(dir.path())
        })
        .unwrap();
        engine
            .create_database("d", None, PolicySpec::default())
            .unwrap();
        assert_eq!(
            engine.write("d", "", &batch(0, 1000)).unwrap().written,
            1000
        );
        let err = engine.write("d", "", &batch(1, 10)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("engine: cache-max-memory-size exceeded: ("),
            "{err}"
        );
        engine.snapshot_full_caches();
        assert_eq!(engine.write("d", "", &batch(1, 10)).unwrap().written, 10);
        assert_eq!(count(&engine), 1010);
    }

    #[test]
    fn retention_drops_expired_shard_groups_and_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(config(dir.path())).unwrap();
        let spec = PolicySpec {
            duration: Some(crate::meta::HOUR),
            ..PolicySpec::default()
        };
        engine.create_database("d", Some("short"), spec).unwrap();
        let mut points = batch(0, 1);
        points[0].time = now_nanos() - 10 * 60 * 1_000_000_000;
        assert_eq!(engine.write("d", "", &points).unwrap().written, 1);
        let shard_dirs = || {
            std::fs::read_dir(dir.path().join("d").join("short"))
                .unwrap()
                .count()
        };
        assert_eq!(shard_dirs(), 1);
        assert_eq!(engine.enforce_retention(now_nanos()).unwrap(), 0);
        assert_eq!(
            engine
                .enforce_retention(now_nanos() + 3 * crate::meta::HOUR)
                .unwrap(),
            1
        );
        assert_eq!(shard_dirs(), 0);
        assert_eq!(engine.shard_count(), 0);
        assert!(engine.catalog().database("d").unwrap().policies["short"]
            .shard_groups
            .is_empty());
    }

    /// A read over many shards looks for each series only in the shards whose index holds
    /// it, and finds every point: series living in one shard each, and one written to all
    /// 70 (past the 64 shards a read tells apart).
    #[test]
    fn reads_over_many_shards_find_each_series_where_it_is() {
        const HOUR: i64 = 3_600_000_000_000;
        const SHARDS: i64 = 70;
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(config(dir.path())).unwrap();
        let policy = PolicySpec {
            shard_group_duration: Some(HOUR),
            ..PolicySpec::default()
        };
        engine.create_database("d", None, policy).unwrap();
        let point = |key: String, time: i64| Point {
            measurement: "m".into(),
            series_key: key.into_bytes(),
            time,
            fields: vec![("v".into(), Value::Integer(time))],
        };
        for hour in 0..SHARDS {
            let points = vec![
                point(format!("m,w=h{hour}"), hour * HOUR),
                point(format!("m,w=h{hour}"), hour * HOUR + 1),
                point("m,w=all".to_string(), hour * HOUR + 2),
            ];
            assert_eq!(engine.write("d", "", &points).unwrap().written, 3);
        }
        assert_eq!(engine.shard_count(), SHARDS as usize);
        let series = read_all(&engine);
        assert_eq!(series.len(), SHARDS as usize + 1);
        for s in &series {
            let want = if &s.key[..] == b"m,w=all" { SHARDS } else { 2 };
            assert_eq!(s.fields[0].1.len() as i64, want, "{:?}", s.key);
        }
        assert_eq!(count(&engine), 3 * SHARDS as usize);
    }

    /// A clean stop writes the series a shard holds in memory to an index file, so that the
    /// next start reads no series log (nor a WAL) into memory; the series stay.
    #[test]
    fn a_clean_stop_leaves_the_series_log_empty() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(config(dir.path())).unwrap();
        engine
            .create_database("d", None, PolicySpec::default())
            .unwrap();
        for w in 0..8 {
            engine.write("d", "", &batch(w, 10)).unwrap();
        }
        engine.stop();
        drop(engine);
        let shard_dir = std::fs::read_dir(dir.path().join("d").join("autogen"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let names: Vec<String> = std::fs::read_dir(&shard_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(".tkx")), "{names:?}");
        // The header alone: magic (4), version (1), log id (8).
        let log = std::fs::metadata(shard_dir.join("series.log")).unwrap();
        assert_eq!(log.len(), 13);
        let reopened = Engine::open(config(dir.path())).unwrap();
        assert_eq!(count(&reopened), 80);
        assert_eq!(read_all(&reopened).len(), 8);
    }

    /// Regression: concurrent first writes to a new shard group once opened the shard twice,
    /// and the points of all but one request vanished from reads and, after a snapshot, disk.
    #[test]
    fn concurrent_first_writes_share_one_shard() {
        const WRITERS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(config(dir.path())).unwrap());
        engine
            .create_database("d", None, PolicySpec::default())
            .unwrap();
        let barrier = Arc::new(Barrier::new(WRITERS));
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let engine = Arc::clone(&engine);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let points = batch(w as i64, 100);
                    barrier.wait();
                    engine.write("d", "", &points).unwrap()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().written, 100);
        }
        assert_eq!(engine.shard_count(), 1);
        assert_eq!(count(&engine), WRITERS * 100);
        engine.stop();
        drop(engine);
        let reopened = Engine::open(config(dir.path())).unwrap();
        assert_eq!(count(&reopened), WRITERS * 100);
    }
}
