//! A shard: the data of one shard group — WAL, cache, column files, series index and the field
//! schema — in one directory.
//!
//! Write: check types → index new series → WAL append → cache → group-commit fsync.
//! Snapshot: rotate the WAL, freeze the cache, write it as a column file, drop old segments.
//! Compaction: merge a run of adjacent files into one; later files win on equal timestamps.
//! Delete: snapshot, then tombstone the files (`tombstone.rs`); series left without points
//! leave the index.

use super::block_cache::BlockCache;
use super::cache::Cache;
use super::colfile::encode::SNAPSHOT_LEVEL;
use super::colfile::{ColFile, ColFileError, ColFileWriter, ReadCursor, SeriesProbe};
use super::column::Column;
use super::index::{IndexError, IndexOptions, SeriesIndex};
use super::read_plan::ReadPlan;
use super::tombstone::{self, TombstoneError, Tombstones};
use super::value::{FieldType, Point, Value};
use super::wal::{self, GroupCommit, WalError, WalWriter};
use ahash::AHashMap;
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Shard errors.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// WAL failure.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// Column file failure.
    #[error(transparent)]
    ColFile(#[from] ColFileError),
    /// Index failure.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// Tombstone file failure.
    #[error(transparent)]
    Tombstone(#[from] TombstoneError),
    /// Other I/O.
    #[error("shard {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a shard asks about the series a write would add to it: the database-wide
/// `max-series-per-database` (kept by the engine, which sees every shard).
pub trait SeriesAdmission {
    /// Whether this write is to be judged as a whole by [`SeriesAdmission::judge`] (near the
    /// limit, where 1.x refuses a write's new series together).
    fn judges_writes(&self) -> bool;
    /// Given the key of each point whose series the shard lacks (repeats included, as 1.x
    /// counts them), the reason to refuse those new to the database, if they must be.
    fn judge(&self, fresh: &[&[u8]]) -> Option<String>;
    /// Whether no shard of the database has series `key` (after a refusal: refused with it).
    fn is_new(&self, key: &[u8]) -> bool;
    /// Records a series the shard added.
    fn added(&self, key: &[u8]);
}

/// What a write did.
#[derive(Debug, Default)]
pub struct ShardWrite {
    /// Points stored.
    pub written: usize,
    /// Points rejected.
    pub dropped: usize,
    /// The first rejection reason, in InfluxDB's words.
    pub first_error: Option<String>,
    /// Series created by this write.
    pub new_series: usize,
}

/// A column file in the shard's ordered list.
#[derive(Debug, Clone)]
pub(super) struct FileEntry {
    pub(super) generation: u64,
    pub(super) level: u32,
    pub(super) file: Arc<ColFile>,
    /// Its deleted ranges (replaced whole when a delete adds some).
    pub(super) tombstones: Arc<Tombstones>,
}

/// Series key → (field, time, value) of the newest point of each field asked for.
type LastValues = AHashMap<Arc<[u8]>, Vec<(String, i64, Value)>>;

/// A frozen cache being written to a column file.
#[derive(Debug)]
struct Snapshot {
    cache: Arc<Cache>,
    /// WAL segments with ids below this are covered by the snapshot.
    wal_id: u64,
}

/// What the shard's lock guards.
#[derive(Debug)]
pub(super) struct ShardState {
    wal: WalWriter,
    cache: Cache,
    snapshot: Option<Snapshot>,
    pub(super) files: Vec<FileEntry>,
    index: SeriesIndex,
    schema: AHashMap<String, AHashMap<String, FieldType>>,
    next_generation: u64,
    /// Last-value cache: the newest point of the (series, field) pairs queried so far, kept
    /// current by writes; emptied by deletes.
    last_values: LastValues,
    /// Writes so far, so a cache fill can tell whether a write overtook it.
    writes: u64,
}

/// One shard; shared by writers, readers and background tasks.
#[derive(Debug)]
pub struct Shard {
    /// Shard id (as in the catalog).
    pub id: u64,
    pub(super) dir: PathBuf,
    pub(super) state: Mutex<ShardState>,
    commit: GroupCommit,
    pub(super) snapshot_lock: Mutex<()>,
    pub(super) compaction_lock: Mutex<()>,
    /// Held while the series index changes its set of files (a flush adds one, a merge's
    /// install replaces two), and by a backup copying them.
    pub(super) index_lock: Mutex<()>,
    /// Held by whoever merges the series index's files (one at a time), and by a backup. Not
    /// by the write of a merged file: writes flush their in-memory series meanwhile, which
    /// would otherwise grow for as long as a merge of millions of series runs.
    pub(super) index_merge_lock: Mutex<()>,
    last_write: AtomicI64,
    pub(super) cold_compacted: AtomicBool,
    /// The live cache's size, mirrored for lock-free reads by the write path.
    cache_bytes: AtomicUsize,
    /// Decoded blocks of the column files, shared by every shard.
    pub(super) blocks: Arc<BlockCache>,
}

fn parse_file_name(name: &str) -> Option<(u64, u32)> {
    let stem = name.strip_suffix(".tcf")?;
    let (g, l) = stem.split_once('-')?;
    Some((g.parse().ok()?, l.parse().ok()?))
}

pub(super) fn file_path(dir: &Path, generation: u64, level: u32) -> PathBuf {
    dir.join(format!("{generation:08}-{level:02}.tcf"))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Shard {
    /// Opens the shard in `dir`, replaying its WAL; its column files decode their blocks
    /// through `blocks`.
    pub fn open(
        dir: &Path,
        id: u64,
        index_options: IndexOptions,
        blocks: Arc<BlockCache>,
    ) -> Result<Shard, ShardError> {
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(io(&wal_dir))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            // Tombstones of a file a compaction replaced before it could remove them.
            if name.ends_with(".tomb") && !entry.path().with_extension("tcf").exists() {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some((generation, level)) = parse_file_name(&name) else {
                continue;
            };
            found.push((generation, level, entry.path()));
        }
        found.sort_by_key(|&(generation, level, _)| (generation, level));
        let (files, schemas) = open_files(id, &found, &blocks);
        let next_generation = files.last().map_or(1, |f| f.generation + 1);

        let mut index = SeriesIndex::open(dir, index_options)?;
        if index.needs_rebuild() {
            // The WAL replay below adds the series not yet in a column file.
            let started = std::time::Instant::now();
            for f in &files {
                for key in f.file.keys() {
                    if !f.tombstones.covers_all(key) {
                        index.insert(key)?;
                    }
                }
            }
            index.write_log()?;
            tracing::warn!(shard_id = id, series = index.len(), took = ?started.elapsed(), "series index rebuilt from the column files");
        }
        // Oldest file first: a field keeps the type it was first written with.
        let mut schema: Schema = AHashMap::new();
        for part in schemas {
            for (m, fields) in part {
                let types = schema.entry(m).or_default();
                for (field, field_type) in fields {
                    types.entry(field).or_insert(field_type);
                }
            }
        }
        for f in &files {
            f.file.release_index_pages();
        }

        let mut cache = Cache::default();
        let segments = wal::list_segments(&wal_dir)?;
        for &seg in &segments {
            let path = wal::segment_path(&wal_dir, seg);
            let replay = wal::replay_segment(&path)?;
            if replay.truncated_bytes > 0 {
                tracing::warn!(shard_id = id, segment = %path.display(), cut = replay.truncated_bytes, "wal segment had a torn or corrupt tail; cut it off");
            }
            for points in replay.entries {
                for p in &points {
                    index.insert(&p.series_key)?;
                    let types = schema.entry(p.measurement.to_string()).or_default();
                    for (name, v) in &p.fields {
                        types.entry(name.to_string()).or_insert(v.field_type());
                    }
                    cache.insert(p);
                }
            }
        }
        index.write_log()?;
        let wal = WalWriter::open(&wal_dir, segments.last().copied().unwrap_or(1))?;
        let commit = GroupCommit::new(wal.file());
        let cached_bytes = cache.bytes();
        Ok(Shard {
            id,
            dir: dir.to_path_buf(),
            state: Mutex::new(ShardState {
                wal,
                cache,
                snapshot: None,
                files,
                index,
                schema,
                next_generation,
                last_values: AHashMap::new(),
                writes: 0,
            }),
            commit,
            blocks,
            snapshot_lock: Mutex::new(()),
            compaction_lock: Mutex::new(()),
            index_lock: Mutex::new(()),
            index_merge_lock: Mutex::new(()),
            last_write: AtomicI64::new(now_secs()),
            cache_bytes: AtomicUsize::new(cached_bytes),
            cold_compacted: AtomicBool::new(false),
        })
    }

    /// The shard's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the shard knows `key` already.
    pub fn has_series(&self, key: &[u8]) -> bool {
        self.state.lock().index.contains(key)
    }

    /// Writes points; rejected ones (type conflicts, tag limits, series `admission` refuses —
    /// it is asked about series new to this shard only) are counted, not fatal.
    pub fn write(
        &self,
        points: &[&Point],
        admission: &dyn SeriesAdmission,
    ) -> Result<ShardWrite, ShardError> {
        let mut result = ShardWrite::default();
        let seq = {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let refusal = if admission.judges_writes() {
                let fresh: Vec<&[u8]> = points
                    .iter()
                    .map(|p| &p.series_key[..])
                    .filter(|k| !st.index.contains(k))
                    .collect();
                admission.judge(&fresh)
            } else {
                None
            };
            let mut accepted: Vec<&Point> = Vec::with_capacity(points.len());
            for &p in points {
                let checked = check_types(&st.schema, p).and_then(|new_fields| {
                    if !st.index.contains(&p.series_key) {
                        if let Some(reason) = &refusal {
                            if admission.is_new(&p.series_key) {
                                return Err(reason.clone());
                            }
                        }
                        st.index
                            .check_limits(&p.series_key)
                            .map_err(|e| e.to_string())?;
                        st.index
                            .insert_new(&p.series_key)
                            .map_err(|e| e.to_string())?;
                        admission.added(&p.series_key);
                        result.new_series += 1;
                    }
                    Ok(new_fields)
                });
                match checked {
                    Err(reason) => {
                        result.dropped += 1;
                        result.first_error.get_or_insert(reason);
                    }
                    Ok(new_fields) => {
                        if new_fields {
                            let types = st.schema.entry(p.measurement.to_string()).or_default();
                            for (name, v) in &p.fields {
                                types
                                    .entry(name.to_string())
                                    .or_insert_with(|| v.field_type());
                            }
                        }
                        accepted.push(p);
                    }
                }
            }
            st.index.write_log()?;
            if st.index.flush_due() {
                // Not while a merge installs its file or a backup copies them: the next write
                // tries again.
                if let Some(_files) = self.index_lock.try_lock() {
                    st.index.flush()?;
                }
            }
            if accepted.is_empty() {
                return Ok(result);
            }
            st.wal.append(&accepted)?;
            let seq = self.commit.appended();
            for p in &accepted {
                st.cache.insert(p);
            }
            st.writes += 1;
            if !st.last_values.is_empty() {
                update_last_values(&mut st.last_values, &accepted);
            }
            self.cache_bytes.store(st.cache.bytes(), Ordering::Relaxed);
            result.written = accepted.len();
            seq
        };
        self.commit.sync(seq).map_err(io(&self.dir.join("wal")))?;
        self.last_write.store(now_secs(), Ordering::Relaxed);
        self.cold_compacted.store(false, Ordering::Relaxed);
        Ok(result)
    }

    /// Bytes in the live cache (read without taking the shard's lock).
    pub fn cache_bytes(&self) -> usize {
        self.cache_bytes.load(Ordering::Relaxed)
    }

    /// Seconds since the last write.
    pub fn idle_secs(&self) -> i64 {
        now_secs() - self.last_write.load(Ordering::Relaxed)
    }

    /// Writes the cache to a new column file and drops the WAL segments it covers.
    pub fn snapshot(&self) -> Result<(), ShardError> {
        let _one_at_a_time = self.snapshot_lock.lock();
        let (cache, wal_id, generation) = {
            let mut st = self.state.lock();
            if st.snapshot.is_none() {
                if st.cache.is_empty() {
                    return Ok(());
                }
                // Series of the snapshot must be durable in the index before the WAL goes.
                st.index.sync()?;
                let new_id = st.wal.id() + 1;
                let new_wal = WalWriter::open(&self.dir.join("wal"), new_id)?;
                self.commit
                    .rotate(new_wal.file())
                    .map_err(io(&self.dir.join("wal")))?;
                st.wal = new_wal;
                let cache = Arc::new(std::mem::take(&mut st.cache));
                self.cache_bytes.store(0, Ordering::Relaxed);
                st.snapshot = Some(Snapshot {
                    cache,
                    wal_id: new_id,
                });
            }
            let generation = st.next_generation;
            st.next_generation += 1;
            let snap = st
                .snapshot
                .as_ref()
                .map(|s| (Arc::clone(&s.cache), s.wal_id));
            let Some((cache, wal_id)) = snap else {
                return Ok(());
            };
            (cache, wal_id, generation)
        };

        let path = file_path(&self.dir, generation, 1);
        let sorted = cache.sorted();
        let mut w = ColFileWriter::create(&path, SNAPSHOT_LEVEL, sorted.len())?;
        for (key, fields) in sorted {
            for (field, column) in fields {
                w.write_column(key, field, &column.deduped())?;
            }
        }
        let path = w.finish()?;
        crate::fsync::fsync_dir(&self.dir).map_err(io(&self.dir))?;
        let file = Arc::new(ColFile::open(&path, Arc::clone(&self.blocks))?);
        file.release_index_pages();
        {
            let mut st = self.state.lock();
            st.files.push(FileEntry {
                generation,
                level: 1,
                file,
                tombstones: Arc::default(),
            });
            st.files.sort_by_key(|f| (f.generation, f.level));
            st.snapshot = None;
        }
        let wal_dir = self.dir.join("wal");
        for seg in wal::list_segments(&wal_dir)?
            .into_iter()
            .filter(|&s| s < wal_id)
        {
            let p = wal::segment_path(&wal_dir, seg);
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
        tracing::debug!(shard_id = self.id, generation, "cache snapshot written");
        Ok(())
    }

    /// Measurement names in this shard.
    pub fn measurements(&self) -> Vec<String> {
        self.state.lock().index.measurement_names()
    }

    /// Adds this shard's series to `into` (an estimate of distinct series).
    pub fn merge_series_sketch(&self, into: &mut super::hll::Hll) {
        self.state.lock().index.merge_sketch_into(into);
    }

    /// How many series a measurement has here (from its bitmaps; no key is copied).
    pub fn series_count_of(&self, measurement: &str) -> u64 {
        self.state.lock().index.series_bitmap(measurement).len()
    }

    /// Hashes of the values of the tag keys `want` picks in a measurement's series, to count
    /// values across shards without copying them (a value may come more than once).
    pub fn tag_value_hashes(&self, measurement: &str, want: &dyn Fn(&str) -> bool) -> Vec<u64> {
        let mut hashes = Vec::new();
        self.state
            .lock()
            .index
            .each_value(measurement, want, None, &mut |_, value| {
                hashes.push(super::hll::hash(value));
            });
        hashes
    }

    /// How many distinct values the one tag key `want` picks has in a measurement (`None`
    /// when it picks another number of keys), without copying or hashing them; estimated from
    /// the index's sketches past `estimate_above` values.
    pub fn distinct_values(
        &self,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
        estimate_above: Option<u64>,
    ) -> Option<u64> {
        self.state
            .lock()
            .index
            .distinct_values(measurement, want, estimate_above)
    }

    /// How many values the tag keys `want` picks have in a measurement, counted once per part
    /// of the index (an upper bound of the distinct values; read from the files' headers).
    pub fn value_entries(&self, measurement: &str, want: &dyn Fn(&str) -> bool) -> u64 {
        self.state.lock().index.value_entries(measurement, want)
    }

    /// A sketch of the distinct values of the one tag key `want` picks in a measurement
    /// (`None` when it picks another number of keys, or an index file has no sketches).
    pub fn value_sketch(
        &self,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
    ) -> Option<super::hll::Hll> {
        self.state.lock().index.value_sketch(measurement, want)
    }

    /// Writes the shard's in-memory series to an index file (none when it holds none), so
    /// that opening the shard reads no series log into memory.
    pub fn flush_index(&self) -> Result<(), ShardError> {
        let _files = self.index_lock.lock();
        self.state.lock().index.flush()?;
        Ok(())
    }

    /// Writes the shard's in-memory series to an index file and merges index files until
    /// none are worth merging; the merges run outside the shard's lock. Returns whether it
    /// did anything.
    pub fn compact_index(&self, flush: bool) -> Result<bool, ShardError> {
        let _one_at_a_time = self.index_merge_lock.lock();
        let mut did = false;
        if flush {
            did = !self.state.lock().index.is_empty();
            self.flush_index()?;
        }
        loop {
            // Its own statement: the lock must be let go before the merge runs.
            let job = self.state.lock().index.merge_job();
            let Some(job) = job else {
                break;
            };
            let merged = job.run()?;
            let _files = self.index_lock.lock();
            self.state.lock().index.install(merged)?;
            did = true;
        }
        Ok(did)
    }

    /// Calls `f` with every series key, one measurement at a time under the shard's lock
    /// (so writes wait for one measurement's keys at most), none copied.
    pub fn each_series_key(&self, f: &mut dyn FnMut(&[u8])) {
        for m in self.measurements() {
            self.state.lock().index.each_key_of(&m, f);
        }
    }

    /// How many series ids the index has given out (deleted series included): an upper
    /// bound of the live series, read without touching a key.
    pub fn series_ids(&self) -> usize {
        self.state.lock().index.len()
    }

    /// Series keys of a measurement, sorted.
    pub fn series_of(&self, measurement: &str) -> Vec<Arc<[u8]>> {
        self.state.lock().index.series_of(measurement)
    }

    /// Series keys of a measurement whose tags meet every `(tag, values)` constraint (the tag
    /// has one of the values), from the index's bitmaps, sorted. Values must not be empty
    /// (`tag = ''` means the tag is absent, which the bitmaps do not say).
    pub fn series_where(
        &self,
        measurement: &str,
        constraints: &[(String, Vec<String>)],
    ) -> Vec<Arc<[u8]>> {
        let st = self.state.lock();
        st.index
            .keys_of(&st.index.series_where(measurement, constraints))
    }

    /// The `n` smallest keys of [`Shard::series_where`]'s series, sorted, without copying
    /// the others.
    pub fn first_series_where(
        &self,
        measurement: &str,
        constraints: &[(String, Vec<String>)],
        n: usize,
    ) -> Vec<Arc<[u8]>> {
        let st = self.state.lock();
        st.index
            .first_keys_of(&st.index.series_where(measurement, constraints), n)
    }

    /// Tag keys of a measurement's series, from the index.
    pub fn tag_keys_of(&self, measurement: &str) -> Vec<String> {
        self.state.lock().index.tag_keys(measurement)
    }

    /// The `(tag key, tag value)` pairs whose key `want`s of a measurement's series that meet
    /// the `(tag, values)` constraints (as [`Shard::series_where`]), sorted. The index's value
    /// maps answer, each value's bitmap checked against the series the constraints pick —
    /// unless the picked keys have many more values than there are such series, when those
    /// series' keys are read instead.
    pub fn tag_values_of(
        &self,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
        constraints: &[(String, Vec<String>)],
    ) -> Vec<(String, String)> {
        /// Checking a value's bitmap costs about this many times less than reading a key.
        const KEY_COST: u64 = 8;
        let mut pairs = Vec::new();
        let st = self.state.lock();
        let among =
            (!constraints.is_empty()).then(|| st.index.series_where(measurement, constraints));
        match among {
            Some(ids) if st.index.value_entries(measurement, want) > ids.len() * KEY_COST => {
                for key in st.index.keys_of(&ids) {
                    let Some(split) = lineproto::series_key::split(&key) else {
                        continue;
                    };
                    pairs.extend(split.tags.into_iter().filter(|(k, _)| want(k)));
                }
            }
            among => st
                .index
                .each_value(measurement, want, among.as_ref(), &mut |key, value| {
                    pairs.push((key.to_string(), String::from_utf8_lossy(value).into_owned()));
                }),
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    /// Field names and types of a measurement.
    pub fn fields_of(&self, measurement: &str) -> Vec<(String, FieldType)> {
        self.state
            .lock()
            .schema
            .get(measurement)
            .map(|t| t.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Points of one field of one series in `[min, max]`: files, then snapshot, then cache,
    /// later sources winning on equal times. Corrupt blocks are logged and skipped.
    pub fn read(&self, key: &[u8], field: &str, min: i64, max: i64) -> Option<Column> {
        self.read_next(&mut ReadCursor::default(), key, field, min, max)
    }

    /// [`Shard::read`] for a read of many series of one field in key order: `cursor` keeps
    /// where each column file's last lookup ended, and the next one starts there.
    pub fn read_next(
        &self,
        cursor: &mut ReadCursor,
        key: &[u8],
        field: &str,
        min: i64,
        max: i64,
    ) -> Option<Column> {
        let (files, snapshot, cached) = {
            let st = self.state.lock();
            (
                st.files
                    .iter()
                    .map(|f| (Arc::clone(&f.file), Arc::clone(&f.tombstones)))
                    .collect::<Vec<_>>(),
                st.snapshot.as_ref().map(|s| Arc::clone(&s.cache)),
                st.cache.read(key, field, min, max),
            )
        };
        let mut acc: Option<Column> = None;
        let mut add = |c: Column| match &mut acc {
            Some(a) => a.merge(&c),
            None => acc = Some(c),
        };
        let probe = SeriesProbe::new(key);
        for (f, tombstones) in files {
            let (col, errors) = f.read_next(cursor, probe, field, min, max);
            for e in errors {
                tracing::error!(shard_id = self.id, error = %e, "corrupt block skipped");
            }
            // A column emptied by tombstones may have a type the field no longer has.
            if let Some(c) = col
                .map(|c| tombstones.apply(key, c))
                .filter(|c| !c.is_empty())
            {
                add(c);
            }
        }
        if let Some(c) = snapshot.and_then(|s| s.read(key, field, min, max)) {
            add(c);
        }
        if let Some(c) = cached {
            add(c);
        }
        acc.filter(|c| !c.is_empty())
    }

    /// What a [`Shard::read`] of `key`/`field` in `[min, max]` would touch, without reading.
    pub fn plan(&self, key: &[u8], field: &str, min: i64, max: i64) -> ReadPlan {
        let st = self.state.lock();
        let mut plan = ReadPlan::default();
        for f in &st.files {
            let mut touched = false;
            for b in f.file.blocks_in(key, field, min, max) {
                touched = true;
                plan.blocks += 1;
                plan.block_bytes += u64::from(b.size);
            }
            plan.files += usize::from(touched);
        }
        let cached = |c: Option<Column>| c.map_or(0, |c| c.len());
        plan.cached_values += cached(st.cache.read(key, field, min, max));
        if let Some(s) = &st.snapshot {
            plan.cached_values += cached(s.cache.read(key, field, min, max));
        }
        plan
    }

    /// The first and last time in `[min, max]` that one field of one series may have a point
    /// at, from the blocks' time ranges and the caches (deleted points may still count).
    pub fn time_bounds(&self, key: &[u8], field: &str, min: i64, max: i64) -> Option<(i64, i64)> {
        let st = self.state.lock();
        let blocks = st.files.iter().flat_map(|f| {
            f.file
                .blocks_in(key, field, min, max)
                .into_iter()
                .map(|b| (b.min_time.max(min), b.max_time.min(max)))
        });
        let cached = std::iter::once(&st.cache)
            .chain(st.snapshot.as_ref().map(|s| &*s.cache))
            .filter_map(|c| c.bounds(key, field, min, max));
        blocks
            .chain(cached)
            .reduce(|(lo, hi), (a, b)| (lo.min(a), hi.max(b)))
    }

    /// Deletes the points of `keys` in `[min, max]` that were written before the call:
    /// everything acknowledged goes to a column file first, then the files get tombstones.
    /// Series left without points leave the index, and measurements without series the
    /// schema. Returns how many series left.
    pub fn delete(&self, keys: &[Arc<[u8]>], min: i64, max: i64) -> Result<usize, ShardError> {
        if keys.is_empty() {
            return Ok(0);
        }
        // Twice: the first call may only finish a snapshot an earlier failure left behind.
        self.snapshot()?;
        self.snapshot()?;
        let _no_compaction = self.compaction_lock.lock();
        let mut st = self.state.lock();
        for entry in &mut st.files {
            let present: Vec<&Arc<[u8]>> =
                keys.iter().filter(|k| entry.file.has_series(k)).collect();
            if present.is_empty() {
                continue;
            }
            let mut tombstones = (*entry.tombstones).clone();
            for key in present {
                tombstones.add(Arc::clone(key), min, max);
            }
            tombstones.save(&tombstone::path_for(entry.file.path()))?;
            entry.tombstones = Arc::new(tombstones);
        }
        crate::fsync::fsync_dir(&self.dir).map_err(io(&self.dir))?;
        st.last_values.clear();
        st.writes += 1;
        let emptied: Vec<&Arc<[u8]>> = keys.iter().filter(|k| !has_points(&st, k)).collect();
        if emptied.is_empty() {
            return Ok(0);
        }
        let gone: ahash::AHashSet<&[u8]> = emptied.iter().map(|k| &k[..]).collect();
        st.index.remove(&gone)?;
        let measurements: BTreeSet<String> = emptied
            .iter()
            .filter_map(|k| lineproto::series_key::measurement(k))
            .collect();
        for m in measurements {
            if !st.index.has_measurement(&m) {
                st.schema.remove(&m);
            }
        }
        Ok(emptied.len())
    }

    /// The newest point of `field` of series `key`, from the last-value cache (filled here on
    /// a miss).
    pub fn last(&self, key: &[u8], field: &str) -> Option<(i64, Value)> {
        let writes = {
            let st = self.state.lock();
            let hit = st
                .last_values
                .get(key)
                .and_then(|fields| fields.iter().find(|(f, _, _)| f == field));
            if let Some((_, t, v)) = hit {
                return Some((*t, v.clone()));
            }
            st.writes
        };
        let (t, v) = self
            .read(key, field, i64::MIN, i64::MAX)
            .and_then(|c| last_of(&c))?;
        let mut st = self.state.lock();
        // A write since the read may have a newer point: then the next query fills it.
        if st.writes == writes {
            let fields = st.last_values.entry(Arc::from(key)).or_default();
            if !fields.iter().any(|(f, _, _)| f == field) {
                fields.push((field.to_string(), t, v.clone()));
            }
        }
        Some((t, v))
    }

    /// Bytes of column files, WAL and index on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_size(&self.dir)
    }

    /// Number of column files.
    pub fn file_count(&self) -> usize {
        self.state.lock().files.len()
    }
}

/// The newest point of a deduplicated column.
pub fn last_of(c: &Column) -> Option<(i64, Value)> {
    let i = c.len().checked_sub(1)?;
    Some((c.times[i], c.values.get(i)?))
}

/// Moves the cached last values forward to the written points that are newer (or as new: the
/// later write wins).
fn update_last_values(last: &mut LastValues, points: &[&Point]) {
    for p in points {
        let Some(fields) = last.get_mut(p.series_key.as_slice()) else {
            continue;
        };
        for (name, value) in &p.fields {
            if let Some(entry) = fields.iter_mut().find(|(f, _, _)| f == name.as_str()) {
                if p.time >= entry.1 {
                    entry.1 = p.time;
                    entry.2 = value.clone();
                }
            }
        }
    }
}

/// Measurement → field → type, as the files and the WAL give them.
type Schema = AHashMap<String, AHashMap<String, FieldType>>;

/// Opens the column files `found` (sorted by generation and level) on as many threads as
/// there are cores — checking a file reads its whole index (and walks it, for a version 1
/// file) — each with the schema its entries give; a file that does not open is logged and left out.
fn open_files(
    shard_id: u64,
    found: &[(u64, u32, PathBuf)],
    blocks: &Arc<BlockCache>,
) -> (Vec<FileEntry>, Vec<Schema>) {
    let open = |(generation, level, path): &(u64, u32, PathBuf)| match ColFile::open(
        path,
        Arc::clone(blocks),
    ) {
        Ok(f) => {
            let tombstones = load_tombstones(shard_id, path);
            let schema = schema_of(&f, &tombstones);
            Some((
                FileEntry {
                    generation: *generation,
                    level: *level,
                    file: Arc::new(f),
                    tombstones: Arc::new(tombstones),
                },
                schema,
            ))
        }
        Err(e) => {
            tracing::error!(shard_id, error = %e, "column file unusable; serving the shard without it");
            None
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(found.len().max(1));
    let mut opened: Vec<Option<(FileEntry, Schema)>> = Vec::with_capacity(found.len());
    if threads <= 1 {
        opened.extend(found.iter().map(open));
    } else {
        // Thread t opens files t, t + threads, …; the answers go back in `found`'s order.
        let parts: Vec<Vec<Option<(FileEntry, Schema)>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let open = &open;
                    scope.spawn(move || found.iter().skip(t).step_by(threads).map(open).collect())
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut parts: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
        for i in 0..found.len() {
            opened.push(parts[i % threads].next().flatten());
        }
    }
    opened.into_iter().flatten().unzip()
}

/// The measurements and field types of a file's entries (series every point of which the
/// tombstones delete are left out): as the file stores them when it has no tombstones,
/// else (or for a version 1 file) from walking its entries.
fn schema_of(file: &ColFile, tombstones: &Tombstones) -> Schema {
    let mut schema: Schema = AHashMap::new();
    if tombstones.is_empty() {
        if let Some(stored) = file.stored_schema() {
            for (m, fields) in stored {
                let types = schema.entry(m).or_default();
                for (field, field_type) in fields {
                    types.entry(field).or_insert(field_type);
                }
            }
            return schema;
        }
    }
    // Entries come series by series: the measurement is worked out once per series.
    let mut current: Option<(&[u8], Option<String>)> = None;
    for (key, field, field_type) in file.field_types() {
        if current.as_ref().is_none_or(|(k, _)| *k != key) {
            let m = lineproto::series_key::measurement(key).filter(|_| !tombstones.covers_all(key));
            current = Some((key, m));
        }
        if let Some((_, Some(m))) = &current {
            let types = match schema.get_mut(m.as_str()) {
                Some(t) => t,
                None => schema.entry(m.clone()).or_default(),
            };
            if !types.contains_key(field) {
                types.insert(field.to_string(), field_type);
            }
        }
    }
    schema
}

/// The tombstones of the column file at `path`; none (with an error logged) when they cannot
/// be read, so a damaged tombstone file costs the delete, not the shard.
fn load_tombstones(shard_id: u64, path: &Path) -> Tombstones {
    Tombstones::load(&tombstone::path_for(path)).unwrap_or_else(|e| {
        tracing::error!(shard_id, error = %e, "tombstones unusable; deleted points may show again");
        Tombstones::default()
    })
}

/// Whether series `key` has any point left in the shard (files, snapshot or cache).
fn has_points(st: &ShardState, key: &[u8]) -> bool {
    let in_memory = |c: &Cache| c.has_series(key);
    st.files.iter().any(|f| {
        f.file.fields(key).iter().any(|fb| {
            f.file
                .read(key, &fb.field, i64::MIN, i64::MAX)
                .0
                .is_some_and(|c| !f.tombstones.apply(key, c).is_empty())
        })
    }) || st.snapshot.as_ref().is_some_and(|s| in_memory(&s.cache))
        || in_memory(&st.cache)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// InfluxDB's field type conflict check; `Ok(true)` when the point brings fields (or a
/// measurement) the schema does not have yet.
fn check_types(
    schema: &AHashMap<String, AHashMap<String, FieldType>>,
    p: &Point,
) -> Result<bool, String> {
    let Some(types) = schema.get(p.measurement.as_str()) else {
        return Ok(true);
    };
    let mut new_fields = false;
    for (name, v) in &p.fields {
        match types.get(name.as_str()) {
            Some(&existing) if existing != v.field_type() => {
                return Err(format!(
                    "field type conflict: input field \"{name}\" on measurement \"{}\" is type {}, already exists as type {}",
                    p.measurement,
                    v.field_type().name(),
                    existing.name()
                ));
            }
            Some(_) => {}
            None => new_fields = true,
        }
    }
    Ok(new_fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::value::Value;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// No series limit: every series is admitted.
    struct Unlimited;

    impl SeriesAdmission for Unlimited {
        fn judges_writes(&self) -> bool {
            false
        }
        fn judge(&self, _fresh: &[&[u8]]) -> Option<String> {
            None
        }
        fn is_new(&self, _key: &[u8]) -> bool {
            true
        }
        fn added(&self, _key: &[u8]) {}
    }

    /// A generated point: series number, time, (field number, value) pairs.
    type RawPoint = (u8, i64, Vec<(u8, i64)>);

    /// What can happen to a shard.
    #[derive(Debug, Clone)]
    enum Op {
        /// A write of some points.
        Write(Vec<RawPoint>),
        Snapshot,
        Compact(bool),
        /// Index files merged (after a flush of the in-memory series, when true).
        CompactIndex(bool),
        Reopen,
        /// Delete series (by number) in a time range.
        Delete(Vec<u8>, i64, i64),
    }

    const FIELDS: [&str; 3] = ["a", "b", "c"];

    /// A series log so small that nearly every new series goes to an index file of its own,
    /// so that the files and their merges are exercised.
    const TEST_INDEX: IndexOptions = IndexOptions {
        max_values_per_tag: 0,
        max_log_bytes: 40,
    };

    fn op() -> impl Strategy<Value = Op> {
        let point = (
            0u8..4,
            0i64..40,
            proptest::collection::vec((0u8..3, any::<i64>()), 1..3),
        );
        prop_oneof![
            6 => proptest::collection::vec(point, 1..20).prop_map(Op::Write),
            2 => Just(Op::Snapshot),
            1 => any::<bool>().prop_map(Op::Compact),
            1 => any::<bool>().prop_map(Op::CompactIndex),
            1 => Just(Op::Reopen),
            1 => (proptest::collection::vec(0u8..4, 1..3), -5i64..45, 0i64..30)
                .prop_map(|(series, min, len)| Op::Delete(series, min, min + len)),
        ]
    }

    fn key(series: u8) -> Vec<u8> {
        format!("m,host=h{series}").into_bytes()
    }

    /// Everything the shard returns, in the model's shape.
    fn contents(shard: &Shard) -> BTreeMap<(Vec<u8>, &'static str, i64), i64> {
        let mut out = BTreeMap::new();
        for series in 0..4u8 {
            for field in FIELDS {
                if let Some(c) = shard.read(&key(series), field, i64::MIN, i64::MAX) {
                    for (i, &t) in c.times.iter().enumerate() {
                        if let Some(Value::Integer(v)) = c.values.get(i) {
                            out.insert((key(series), field, t), v);
                        }
                    }
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Model: a map (series, field, time) → the last value written, minus deletes.
        /// Whatever the order of writes, deletes, snapshots, compactions and restarts, the
        /// shard reads back the model.
        #[test]
        fn shard_matches_last_write_wins_model(ops in proptest::collection::vec(op(), 1..30)) {
            let dir = tempfile::tempdir().unwrap();
            let mut shard = Shard::open(dir.path(), 1, TEST_INDEX, Arc::new(BlockCache::new(1 << 20))).unwrap();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Write(raw) => {
                        let points: Vec<Point> = raw
                            .iter()
                            .map(|(s, t, fields)| Point {
                                measurement: "m".into(),
                                series_key: key(*s),
                                time: *t,
                                fields: fields
                                    .iter()
                                    .map(|(f, v)| (FIELDS[*f as usize].into(), Value::Integer(*v)))
                                    .collect(),
                            })
                            .collect();
                        for p in &points {
                            for (f, v) in &p.fields {
                                let Value::Integer(v) = v else { unreachable!() };
                                let field = FIELDS.iter().find(|n| **n == f.as_str()).unwrap();
                                model.insert((p.series_key.clone(), *field, p.time), *v);
                            }
                        }
                        let refs: Vec<&Point> = points.iter().collect();
                        let r = shard.write(&refs, &Unlimited).unwrap();
                        prop_assert_eq!(r.dropped, 0);
                    }
                    Op::Snapshot => shard.snapshot().unwrap(),
                    Op::Compact(full) => {
                        shard.compact(full).unwrap();
                    }
                    Op::CompactIndex(flush) => {
                        shard.compact_index(flush).unwrap();
                    }
                    Op::Reopen => {
                        drop(shard);
                        shard = Shard::open(dir.path(), 1, TEST_INDEX, Arc::new(BlockCache::new(1 << 20))).unwrap();
                    }
                    Op::Delete(series, min, max) => {
                        let keys: Vec<Arc<[u8]>> =
                            series.iter().map(|s| Arc::from(key(*s))).collect();
                        shard.delete(&keys, min, max).unwrap();
                        model.retain(|(k, _, t), _| {
                            !(keys.iter().any(|d| d[..] == k[..]) && (min..=max).contains(t))
                        });
                        // A series without points left is forgotten; one with points is not.
                        for k in &keys {
                            let has_points = model.keys().any(|(m, _, _)| m[..] == k[..]);
                            prop_assert_eq!(shard.has_series(k), has_points);
                        }
                    }
                }
                prop_assert_eq!(&contents(&shard), &model);
                // The last-value cache agrees with the model's newest point of each field.
                for series in 0..4u8 {
                    for field in FIELDS {
                        let newest = model
                            .range((key(series), field, i64::MIN)..=(key(series), field, i64::MAX))
                            .next_back()
                            .map(|((_, _, t), v)| (*t, Value::Integer(*v)));
                        prop_assert_eq!(shard.last(&key(series), field), newest);
                    }
                }
            }
        }
    }
}
