//! The series index of a shard: series key ↔ id, and measurement → tag key → tag value →
//! series ids (roaring bitmaps), for the meta queries and for picking the series a `WHERE`
//! selects.
//!
//! It has the shape of InfluxDB's TSI and of LSM indexes: immutable, memory-mapped index files
//! (`file.rs`), each holding a contiguous run of series ids, plus an in-memory part
//! (`memory.rs`) for series created since the last file, whose keys are also appended to the
//! series log (`log.rs`) so that they survive a restart. When the log passes
//! `max-index-log-file-size` its series are written to a new file and the log starts again;
//! the engine's compaction threads merge adjacent files of similar size (`write.rs`), outside
//! the shard's lock. Memory is thus bounded by the log size, not by the series ever written,
//! and a start maps the files instead of rebuilding anything. A file that fails its checks at
//! start is dropped with the others and the index rebuilt from the column files and the WAL.

mod file;
mod log;
mod memory;
mod write;

use crate::storage::hll::{self, Hll};
use file::{CheckedPages, IndexFile};
use log::SeriesLog;
use memory::MemIndex;
use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index errors.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// File I/O failed.
    #[error("series index {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An index file failed its checks.
    #[error("series index file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A tag key would get more distinct values than allowed.
    #[error("max-values-per-tag limit exceeded ({count}/{limit}): measurement={measurement:?} tag={tag:?} value={value:?}")]
    TooManyValues {
        /// Values the key has.
        count: usize,
        /// The limit.
        limit: usize,
        /// Measurement.
        measurement: String,
        /// Tag key.
        tag: String,
        /// The refused value.
        value: String,
    },
}

/// How the index sizes itself.
#[derive(Debug, Clone, Copy)]
pub struct IndexOptions {
    /// Distinct values allowed per tag key; 0 = unlimited.
    pub max_values_per_tag: usize,
    /// Bytes of series log at which its series go to an index file
    /// (InfluxDB's `max-index-log-file-size`).
    pub max_log_bytes: u64,
}

/// Two adjacent files to merge, picked under the shard's lock and merged outside it.
#[derive(Debug)]
pub struct MergeJob {
    dir: PathBuf,
    seq: u64,
    a: Arc<IndexFile>,
    b: Arc<IndexFile>,
}

/// A merged file, ready to take its inputs' place.
#[derive(Debug)]
pub struct Merged {
    job: MergeJob,
    file: Arc<IndexFile>,
}

/// The whole index: files, in-memory part, log.
#[derive(Debug)]
pub struct SeriesIndex {
    dir: PathBuf,
    /// Sorted by base; their ids run from 0 without gaps.
    files: Vec<Arc<IndexFile>>,
    mem: MemIndex,
    log: SeriesLog,
    options: IndexOptions,
    next_seq: u64,
    /// Distinct values per (measurement, tag key), counted on the first limit check of that
    /// key and kept current by inserts.
    value_counts: BTreeMap<(String, String), usize>,
    /// Whether files were found broken at open: the owner must insert every series again.
    rebuild: bool,
}

impl SeriesIndex {
    /// Opens the index in `dir`: maps its files (checking them), reads the log.
    pub fn open(dir: &Path, options: IndexOptions) -> Result<SeriesIndex, IndexError> {
        let io = |source| IndexError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut found = Vec::new();
        let mut unusable = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("series-") && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let Some(seq) = file::parse_file_name(&name) else {
                continue;
            };
            match IndexFile::open(&entry.path(), seq, CheckedPages::Release) {
                Ok(f) => found.push(Arc::new(f)),
                Err(e) => {
                    tracing::error!(error = %e, "series index file unusable; rebuilding the index");
                    unusable.push(entry.path());
                }
            }
        }
        let mut broken = !unusable.is_empty();
        let next_seq = found
            .iter()
            .map(|f| f.seq())
            .chain(
                unusable
                    .iter()
                    .filter_map(|p| file::parse_file_name(&p.file_name()?.to_string_lossy())),
            )
            .max()
            .map_or(1, |s| s + 1);
        // A rewrite replaces every earlier file, and a later file covering ids of earlier ones
        // (a merge that stopped before removing its inputs) replaces them.
        let rewritten = found.iter().map(|f| f.replaces_below()).max().unwrap_or(0);
        found.sort_by_key(|f| std::cmp::Reverse(f.seq()));
        let mut files: Vec<Arc<IndexFile>> = Vec::new();
        let mut stale = Vec::new();
        for f in found {
            if f.seq() < rewritten
                || files
                    .iter()
                    .any(|g| f.base() < g.end() && g.base() < f.end())
            {
                stale.push(f);
            } else {
                files.push(f);
            }
        }
        files.sort_by_key(|f| (f.base(), f.end()));
        let mut next = 0;
        for f in &files {
            if f.base() != next {
                tracing::error!(dir = %dir.display(), "series index files leave a gap in the ids; rebuilding the index");
                broken = true;
            }
            next = f.end();
        }
        if broken {
            stale.append(&mut files);
        }
        for path in stale
            .iter()
            .map(|f| f.path())
            .chain(unusable.iter().map(PathBuf::as_path))
        {
            std::fs::remove_file(path).map_err(io)?;
        }
        crate::fsync::fsync_dir(dir).map_err(io)?;

        let (mut log, keys) = SeriesLog::open(dir)?;
        let covered = files.iter().map(|f| f.log_id()).max().unwrap_or(0);
        let end = files.last().map_or(0, |f| f.end());
        let mut mem = MemIndex::new(end);
        if log.id() <= covered {
            // Every key of this log is in a file already.
            log.restart(covered + 1)?;
        } else {
            // A log no file covers holds only keys no file has (a key is logged only when no
            // file has it, and a file takes in the log's keys with its id) — except for files
            // written before logs had ids (`log_id` 0), which are searched. Searching every
            // file for every key costs a random read of a cold hash table per key at start.
            let unnumbered: Vec<&Arc<IndexFile>> =
                files.iter().filter(|f| f.log_id() == 0).collect();
            for key in keys {
                if mem.get(&key).is_none() && !unnumbered.iter().any(|f| f.find(&key).is_some()) {
                    mem.insert(&key);
                }
            }
        }
        Ok(SeriesIndex {
            dir: dir.to_path_buf(),
            files,
            mem,
            log,
            options,
            next_seq,
            value_counts: BTreeMap::new(),
            rebuild: broken,
        })
    }

    /// Whether the index lost files at open and must be given every series again.
    pub fn needs_rebuild(&self) -> bool {
        self.rebuild
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.mem.base() as usize + self.mem.len()
    }

    /// Whether the index holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        self.mem
            .get(key)
            .or_else(|| self.files.iter().rev().find_map(|f| f.find(key)))
    }

    /// Whether `key` is known.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Whether tag `key` of `measurement` has `value` anywhere.
    fn has_value(&self, measurement: &str, key: &str, value: &str) -> bool {
        let in_mem = self
            .mem
            .measurements()
            .get(measurement)
            .and_then(|m| m.tags.get(key))
            .is_some_and(|values| values.contains_key(value));
        in_mem
            || self.files.iter().any(|f| {
                f.measurement(measurement)
                    .and_then(|m| m.tag_key(key))
                    .is_some_and(|k| k.series_with(value.as_bytes()).is_some())
            })
    }

    /// Distinct values of a tag key over the files and the in-memory part.
    fn count_values(&self, measurement: &str, key: &str) -> usize {
        let mut values: BTreeSet<Vec<u8>> = BTreeSet::new();
        self.each_value(measurement, &|k| k == key, None, &mut |_, v| {
            values.insert(v.to_vec());
        });
        values.len()
    }

    /// Checks the per-tag value limit for a series not held yet, without adding it.
    pub fn check_limits(&mut self, key: &[u8]) -> Result<(), IndexError> {
        let limit = self.options.max_values_per_tag;
        if limit == 0 {
            return Ok(());
        }
        let Some(parsed) = lineproto::series_key::split(key) else {
            return Ok(());
        };
        for (k, v) in &parsed.tags {
            if self.has_value(&parsed.measurement, k, v) {
                continue;
            }
            let id = (parsed.measurement.clone(), k.clone());
            let count = match self.value_counts.get(&id) {
                Some(&n) => n,
                None => {
                    let n = self.count_values(&parsed.measurement, k);
                    self.value_counts.insert(id, n);
                    n
                }
            };
            if count >= limit {
                return Err(IndexError::TooManyValues {
                    count,
                    limit,
                    measurement: parsed.measurement.clone(),
                    tag: k.clone(),
                    value: v.clone(),
                });
            }
        }
        Ok(())
    }

    /// Adds `key` if new (logging it); returns its id.
    pub fn insert(&mut self, key: &[u8]) -> Result<u32, IndexError> {
        match self.find(key) {
            Some(id) => Ok(id),
            None => self.insert_new(key),
        }
    }

    /// Adds `key`, which the caller found not held (a write looks each key up once), logging
    /// it; returns its id. The log is written at [`SeriesIndex::write_log`].
    pub fn insert_new(&mut self, key: &[u8]) -> Result<u32, IndexError> {
        if !self.value_counts.is_empty() {
            if let Some(parsed) = lineproto::series_key::split(key) {
                for (k, v) in &parsed.tags {
                    let id = (parsed.measurement.clone(), k.clone());
                    if self.value_counts.contains_key(&id)
                        && !self.has_value(&parsed.measurement, k, v)
                    {
                        if let Some(n) = self.value_counts.get_mut(&id) {
                            *n += 1;
                        }
                    }
                }
            }
        }
        self.log.append(key);
        Ok(self.mem.insert(key))
    }

    /// Writes the series added since the last call to the log (one write for a whole batch;
    /// durable at the next [`SeriesIndex::sync`]).
    pub fn write_log(&mut self) -> Result<(), IndexError> {
        self.log.write_pending()
    }

    /// Whether the log has grown past its limit, so the in-memory part should go to a file.
    pub fn flush_due(&self) -> bool {
        self.log.bytes() > self.options.max_log_bytes
    }

    /// Writes the in-memory part to a new index file and starts the log again (file first:
    /// until the log restarts, its keys are found in the file and not added twice).
    pub fn flush(&mut self) -> Result<(), IndexError> {
        if self.mem.len() == 0 {
            return Ok(());
        }
        let seq = self.take_seq();
        let path = write::from_memory(&self.dir, seq, &self.mem, self.log.id(), false)?;
        let file = Arc::new(IndexFile::open(&path, seq, CheckedPages::Keep)?);
        self.mem = MemIndex::new(file.end());
        self.files.push(file);
        self.log.restart(self.log.id() + 1)
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Forgets the series in `gone` (deleted): every other series is written to one new file
    /// (ids change), which replaces the old files and the log.
    pub fn remove(&mut self, gone: &ahash::AHashSet<&[u8]>) -> Result<(), IndexError> {
        let mut all = MemIndex::new(0);
        for f in &self.files {
            for key in f.keys().filter(|k| !gone.contains(k)) {
                all.insert(key);
            }
        }
        for key in self.mem.keys().iter().filter(|k| !gone.contains(&k[..])) {
            all.insert(key);
        }
        let seq = self.take_seq();
        let path = write::from_memory(&self.dir, seq, &all, self.log.id(), true)?;
        let file = Arc::new(IndexFile::open(&path, seq, CheckedPages::Keep)?);
        let old = std::mem::replace(&mut self.files, vec![Arc::clone(&file)]);
        self.mem = MemIndex::new(file.end());
        self.value_counts.clear();
        self.log.restart(self.log.id() + 1)?;
        for f in old {
            std::fs::remove_file(f.path()).map_err(|source| IndexError::Io {
                path: f.path().to_path_buf(),
                source,
            })?;
        }
        crate::fsync::fsync_dir(&self.dir).map_err(|source| IndexError::Io {
            path: self.dir.clone(),
            source,
        })
    }

    /// Makes the log durable.
    pub fn sync(&mut self) -> Result<(), IndexError> {
        self.log.sync()
    }

    /// Adds the index's series to a sketch.
    pub fn merge_sketch_into(&self, into: &mut Hll) {
        for f in &self.files {
            if let Some(s) = f.sketch() {
                into.merge(&s);
            }
        }
        into.merge(self.mem.sketch());
    }

    /// Measurement names, sorted.
    pub fn measurement_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.mem.measurements().keys().cloned().collect();
        for f in &self.files {
            names.extend(
                f.measurements()
                    .map(|m| String::from_utf8_lossy(m.name).into_owned()),
            );
        }
        names.into_iter().collect()
    }

    /// Whether a measurement has series.
    pub fn has_measurement(&self, name: &str) -> bool {
        self.mem.measurements().contains_key(name)
            || self.files.iter().any(|f| f.measurement(name).is_some())
    }

    /// All series of a measurement.
    pub fn series_bitmap(&self, measurement: &str) -> RoaringBitmap {
        let mut ids = self
            .mem
            .measurements()
            .get(measurement)
            .map(|m| m.series.clone())
            .unwrap_or_default();
        for f in &self.files {
            if let Some(m) = f.measurement(measurement) {
                ids |= m.series();
            }
        }
        ids
    }

    /// Series of a measurement whose tag `key` is `value`.
    pub fn series_with(&self, measurement: &str, key: &str, value: &str) -> RoaringBitmap {
        let mut ids = self
            .mem
            .measurements()
            .get(measurement)
            .and_then(|m| m.tags.get(key))
            .and_then(|values| values.get(value))
            .cloned()
            .unwrap_or_default();
        for f in &self.files {
            if let Some(b) = f
                .measurement(measurement)
                .and_then(|m| m.tag_key(key))
                .and_then(|k| k.series_with(value.as_bytes()))
            {
                ids |= b;
            }
        }
        ids
    }

    /// Tag keys of a measurement, sorted.
    pub fn tag_keys(&self, measurement: &str) -> Vec<String> {
        let mut keys: BTreeSet<String> = self
            .mem
            .measurements()
            .get(measurement)
            .map(|m| m.tags.keys().cloned().collect())
            .unwrap_or_default();
        for f in &self.files {
            if let Some(m) = f.measurement(measurement) {
                keys.extend(
                    m.tag_keys()
                        .map(|k| String::from_utf8_lossy(k.key).into_owned()),
                );
            }
        }
        keys.into_iter().collect()
    }

    /// Calls `each(key, value)` for the values of the tag keys `want` picks that have series
    /// — with `among`, series among those ids (a value in several parts comes once per part).
    pub fn each_value(
        &self,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
        among: Option<&RoaringBitmap>,
        each: &mut dyn FnMut(&str, &[u8]),
    ) {
        let held = |series: &RoaringBitmap| {
            !series.is_empty() && among.is_none_or(|ids| !series.is_disjoint(ids))
        };
        if let Some(m) = self.mem.measurements().get(measurement) {
            for (key, values) in m.tags.iter().filter(|(k, _)| want(k)) {
                for (value, _) in values.iter().filter(|(_, s)| held(s)) {
                    each(key, value.as_bytes());
                }
            }
        }
        for f in &self.files {
            // A file holds a run of ids: one without any of `among` is not read.
            if among.is_some_and(|ids| ids.range_cardinality(f.base()..f.end()) == 0) {
                continue;
            }
            let Some(m) = f.measurement(measurement) else {
                continue;
            };
            for k in m.tag_keys() {
                let key = String::from_utf8_lossy(k.key);
                if !want(&key) {
                    continue;
                }
                for (value, series) in k.values() {
                    if among.is_none() || held(&series.read()) {
                        each(&key, value);
                    }
                }
            }
        }
    }

    /// How many distinct values the one tag key `want` picks has, by merging each part's
    /// sorted values (no value is copied or hashed); `None` when it picks another number of
    /// keys. With `estimate_above`, more values than that (counted once per part) are
    /// estimated from the parts' sketches instead, when every file has them.
    pub fn distinct_values(
        &self,
        measurement: &str,
        want: &dyn Fn(&str) -> bool,
        estimate_above: Option<u64>,
    ) -> Option<u64> {
        let key = &self.only_key(measurement, want)?;
        let in_memory = self
            .mem
            .measurements()
            .get(measurement)
            .and_then(|m| m.tags.get(key));
        let in_files: Vec<_> = self
            .files
            .iter()
            .filter_map(|f| f.measurement(measurement).and_then(|m| m.tag_key(key)))
            .collect();
        if let (None, [only]) = (in_memory, in_files.as_slice()) {
            return Some(u64::from(only.value_count()));
        }
        if let Some(limit) = estimate_above {
            if self.value_entries(measurement, want) > limit {
                if let Some(sketch) = self.value_sketch(measurement, want) {
                    return Some(sketch.estimate());
                }
            }
        }
        let mut runs: Vec<Box<dyn Iterator<Item = &[u8]> + '_>> = Vec::new();
        if let Some(values) = in_memory {
            runs.push(Box::new(
                values
                    .iter()
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(v, _)| v.as_bytes()),
            ));
        }
        for k in in_files {
            runs.push(Box::new(k.values().map(|(v, _)| v)));
        }
        // A k-way merge of the sorted runs, counting each value once.
        let mut heap = std::collections::BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some(v) = run.next() {
                heap.push(std::cmp::Reverse((v, i)));
            }
        }
        let (mut count, mut last): (u64, Option<&[u8]>) = (0, None);
        while let Some(std::cmp::Reverse((v, i))) = heap.pop() {
            if last != Some(v) {
                count += 1;
                last = Some(v);
            }
            if let Some(next) = runs[i].next() {
                heap.push(std::cmp::Reverse((next, i)));
            }
        }
        Some(count)
    }

    /// The tag key of a measurement `want` picks, when it picks exactly one.
    fn only_key(&self, measurement: &str, want: &dyn Fn(&str) -> bool) -> Option<String> {
        let mut keys = self.tag_keys(measurement).into_iter().filter(|k| want(k));
        let key = keys.next()?;
        keys.next().is_none().then_some(key)
    }

    /// A sketch of the distinct values of the one tag key `want` picks (the files' sketches
    /// merged with the in-memory part's values); `None` when it picks another number of keys
    /// or a file has no sketches (version 1).
    pub fn value_sketch(&self, measurement: &str, want: &dyn Fn(&str) -> bool) -> Option<Hll> {
        let key = &self.only_key(measurement, want)?;
        let mut sketch = Hll::default();
        for f in &self.files {
            if let Some(k) = f.measurement(measurement).and_then(|m| m.tag_key(key)) {
                sketch.merge(&k.sketch()?);
            }
        }
        if let Some(values) = self
            .mem
            .measurements()
            .get(measurement)
            .and_then(|m| m.tags.get(key))
        {
            for (value, series) in values {
                if !series.is_empty() {
                    sketch.add(hll::hash(value.as_bytes()));
                }
            }
        }
        Some(sketch)
    }

    /// How many values the tag keys `want` picks have, counted once per part.
    pub fn value_entries(&self, measurement: &str, want: &dyn Fn(&str) -> bool) -> u64 {
        let in_memory: usize = self
            .mem
            .measurements()
            .get(measurement)
            .map(|m| {
                m.tags
                    .iter()
                    .filter(|(k, _)| want(k))
                    .map(|(_, v)| v.len())
                    .sum()
            })
            .unwrap_or_default();
        let in_files: u64 = self
            .files
            .iter()
            .filter_map(|f| f.measurement(measurement))
            .flat_map(|m| m.tag_keys())
            .filter(|k| want(&String::from_utf8_lossy(k.key)))
            .map(|k| u64::from(k.value_count()))
            .sum();
        in_files + in_memory as u64
    }

    /// Series of a measurement whose tags meet every `(tag, values)` constraint (the tag has
    /// one of the values); all its series when there is none.
    pub fn series_where(
        &self,
        measurement: &str,
        constraints: &[(String, Vec<String>)],
    ) -> RoaringBitmap {
        let mut ids: Option<RoaringBitmap> = None;
        for (tag, values) in constraints {
            let mut allowed = RoaringBitmap::new();
            for v in values {
                allowed |= self.series_with(measurement, tag, v);
            }
            match &mut ids {
                Some(ids) => *ids &= allowed,
                None => ids = Some(allowed),
            }
        }
        ids.unwrap_or_else(|| self.series_bitmap(measurement))
    }

    /// The key of series `id`.
    pub fn key(&self, id: u32) -> Option<Arc<[u8]>> {
        if id >= self.mem.base() {
            return self.mem.key(id).cloned();
        }
        let i = self.files.partition_point(|f| f.end() <= id);
        self.files.get(i)?.key(id).map(Arc::from)
    }

    /// The key of series `id`, borrowed from its file or the in-memory part.
    fn key_ref(&self, id: u32) -> Option<&[u8]> {
        if id >= self.mem.base() {
            return self.mem.key(id).map(|k| &k[..]);
        }
        let i = self.files.partition_point(|f| f.end() <= id);
        self.files.get(i)?.key(id)
    }

    /// The `n` smallest keys of the series in `ids`, sorted: a bounded heap over borrowed
    /// keys, so a page of a large set copies only the page.
    pub fn first_keys_of(&self, ids: &RoaringBitmap, n: usize) -> Vec<Arc<[u8]>> {
        if n == 0 {
            return Vec::new();
        }
        if ids.len() <= n as u64 {
            return self.keys_of(ids);
        }
        let mut heap: std::collections::BinaryHeap<&[u8]> =
            std::collections::BinaryHeap::with_capacity(n + 1);
        for key in ids.iter().filter_map(|id| self.key_ref(id)) {
            if heap.len() < n {
                heap.push(key);
            } else if heap.peek().is_some_and(|largest| key < *largest) {
                heap.pop();
                heap.push(key);
            }
        }
        heap.into_sorted_vec().into_iter().map(Arc::from).collect()
    }

    /// Keys of the series in `ids`, sorted.
    pub fn keys_of(&self, ids: &RoaringBitmap) -> Vec<Arc<[u8]>> {
        let mut keys: Vec<Arc<[u8]>> = ids.iter().filter_map(|id| self.key(id)).collect();
        keys.sort_unstable();
        keys
    }

    /// Calls `f` with the key of each of a measurement's series, borrowed (none is copied).
    pub fn each_key_of(&self, measurement: &str, f: &mut dyn FnMut(&[u8])) {
        for key in self
            .series_bitmap(measurement)
            .iter()
            .filter_map(|id| self.key_ref(id))
        {
            f(key);
        }
    }

    /// Series keys of a measurement, sorted.
    pub fn series_of(&self, measurement: &str) -> Vec<Arc<[u8]>> {
        self.keys_of(&self.series_bitmap(measurement))
    }

    /// Every series key, in id order.
    pub fn all_keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.files
            .iter()
            .flat_map(|f| f.keys())
            .chain(self.mem.keys().iter().map(|k| &k[..]))
    }

    /// Two adjacent files worth merging — the newest pair where the older holds at most
    /// twice the newer's series, so that files grow like a binary counter and each series is
    /// rewritten O(log n) times.
    pub fn merge_job(&mut self) -> Option<MergeJob> {
        let i = (1..self.files.len())
            .rev()
            .find(|&i| self.files[i - 1].count() <= 2 * self.files[i].count())?;
        let (a, b) = (Arc::clone(&self.files[i - 1]), Arc::clone(&self.files[i]));
        Some(MergeJob {
            dir: self.dir.clone(),
            seq: self.take_seq(),
            a,
            b,
        })
    }

    /// Puts a merged file in its inputs' place, and removes them; a merge overtaken by a
    /// rewrite (`remove`) is thrown away.
    pub fn install(&mut self, merged: Merged) -> Result<(), IndexError> {
        let Merged { job, file } = merged;
        let at = self
            .files
            .windows(2)
            .position(|w| Arc::ptr_eq(&w[0], &job.a) && Arc::ptr_eq(&w[1], &job.b));
        let gone: Vec<PathBuf> = match at {
            Some(i) => {
                self.files.splice(i..i + 2, [file]);
                vec![job.a.path().to_path_buf(), job.b.path().to_path_buf()]
            }
            None => vec![file.path().to_path_buf()],
        };
        for p in gone {
            std::fs::remove_file(&p).map_err(|source| IndexError::Io { path: p, source })?;
        }
        Ok(())
    }

    /// Index files and their bytes, for diagnostics and tests.
    pub fn file_sizes(&self) -> Vec<usize> {
        self.files.iter().map(|f| f.size()).collect()
    }
}

impl MergeJob {
    /// Writes the merged file (no lock needed: the inputs are immutable).
    pub fn run(self) -> Result<Merged, IndexError> {
        let path = write::merged(&self.dir, self.seq, &self.a, &self.b)?;
        let file = Arc::new(IndexFile::open(&path, self.seq, CheckedPages::Keep)?);
        Ok(Merged { job: self, file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const OPTIONS: IndexOptions = IndexOptions {
        max_values_per_tag: 0,
        max_log_bytes: 1 << 20,
    };

    /// A log so small that every series goes to a file of its own.
    const TINY_LOG: IndexOptions = IndexOptions {
        max_values_per_tag: 0,
        max_log_bytes: 1,
    };

    /// An insert as the shard makes it: a flush follows when due.
    fn insert(idx: &mut SeriesIndex, key: &[u8]) {
        idx.insert(key).unwrap();
        if idx.flush_due() {
            idx.flush().unwrap();
        }
    }

    fn merge_all(idx: &mut SeriesIndex) {
        while let Some(job) = idx.merge_job() {
            let merged = job.run().unwrap();
            idx.install(merged).unwrap();
        }
    }

    #[test]
    fn persists_flushes_merges_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
            for k in [
                "cpu,host=a",
                "cpu,host=b",
                "mem,host=a",
                "cpu,host=a",
                "cpu",
            ] {
                insert(&mut idx, k.as_bytes());
            }
            assert_eq!(idx.file_sizes().len(), 4, "one file per new series");
            merge_all(&mut idx);
            assert!(idx.file_sizes().len() < 4);
            idx.sync().unwrap();
        }
        let idx = SeriesIndex::open(dir.path(), OPTIONS).unwrap();
        assert!(!idx.needs_rebuild());
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.series_bitmap("cpu").len(), 3);
        assert_eq!(idx.series_with("cpu", "host", "a").len(), 1);
        assert_eq!(idx.measurement_names(), vec!["cpu", "mem"]);
        assert_eq!(idx.tag_keys("cpu"), vec!["host"]);
        let keys: Vec<Vec<u8>> = idx.series_of("cpu").iter().map(|k| k.to_vec()).collect();
        assert_eq!(
            keys,
            vec![
                b"cpu".to_vec(),
                b"cpu,host=a".to_vec(),
                b"cpu,host=b".to_vec()
            ]
        );
    }

    #[test]
    fn a_merge_that_stopped_before_removing_its_inputs_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
        insert(&mut idx, b"cpu,host=a");
        insert(&mut idx, b"cpu,host=b");
        let job = idx.merge_job().unwrap();
        // The merged file is written, but its inputs stay (as after a kill -9 at that point).
        let merged = job.run().unwrap();
        drop((merged, idx));
        let names = |d: &Path| {
            let mut n: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tkx"))
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(dir.path()).len(), 3);
        let idx = SeriesIndex::open(dir.path(), OPTIONS).unwrap();
        assert_eq!(names(dir.path()).len(), 1, "inputs removed");
        assert_eq!(idx.len(), 2);
        assert!(idx.contains(b"cpu,host=a") && idx.contains(b"cpu,host=b"));
    }

    #[test]
    fn a_corrupt_file_is_detected_and_asks_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
            insert(&mut idx, b"cpu,host=a");
            insert(&mut idx, b"cpu,host=b");
        }
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "tkx"))
            .unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[HEADER_FLIP] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let mut idx = SeriesIndex::open(dir.path(), OPTIONS).unwrap();
        assert!(idx.needs_rebuild());
        assert!(idx.len() <= 1, "only what the log had");
        insert(&mut idx, b"cpu,host=a");
        insert(&mut idx, b"cpu,host=b");
        assert_eq!(idx.series_bitmap("cpu").len(), 2);
    }

    /// A byte inside the first file's key block.
    const HEADER_FLIP: usize = 9;

    /// Files of every version (fingerprinted slots from version 3, plain ids before) find each
    /// of their keys and none they do not hold, among enough keys that slots collide.
    #[test]
    fn files_of_every_version_find_their_keys_and_no_other() {
        let mut mem = MemIndex::new(0);
        for i in 0..5_000 {
            mem.insert(format!("cpu,host=h{i}").as_bytes());
        }
        for version in 1..=file::VERSION {
            let dir = tempfile::tempdir().unwrap();
            write::from_memory_as(dir.path(), 1, &mem, 0, false, version).unwrap();
            let idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
            assert!(!idx.needs_rebuild());
            for i in 0..5_000u32 {
                let key = format!("cpu,host=h{i}");
                assert_eq!(
                    idx.find(key.as_bytes()),
                    Some(i),
                    "version {version}: {key}"
                );
                let absent = format!("cpu,host=x{i}");
                assert_eq!(idx.find(absent.as_bytes()), None, "version {version}");
            }
        }
    }

    #[test]
    fn version_1_files_are_read_and_their_values_counted_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut mem = MemIndex::new(0);
        for i in 0..10 {
            mem.insert(format!("cpu,host=h{i}").as_bytes());
        }
        write::from_memory_as(dir.path(), 1, &mem, 0, false, 1).unwrap();
        let mut idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
        assert!(!idx.needs_rebuild());
        assert_eq!(idx.len(), 10);
        assert_eq!(idx.series_with("cpu", "host", "h3").len(), 1);
        assert!(idx.value_sketch("cpu", &|k| k == "host").is_none());
        // Newer files have sketches; with a version 1 file among them, the count is exact.
        insert(&mut idx, b"cpu,host=h0,rack=1");
        insert(&mut idx, b"cpu,host=new");
        assert_eq!(idx.file_sizes().len(), 3);
        assert_eq!(
            idx.distinct_values("cpu", &|k| k == "host", Some(0)),
            Some(11)
        );
    }

    #[test]
    fn many_values_are_estimated_from_the_files_sketches() {
        let dir = tempfile::tempdir().unwrap();
        let options = IndexOptions {
            max_values_per_tag: 0,
            max_log_bytes: 100_000,
        };
        let mut idx = SeriesIndex::open(dir.path(), options).unwrap();
        let n = 20_000u64;
        for i in 0..n {
            // Every value twice, in series far apart: the files' values overlap.
            insert(
                &mut idx,
                format!("cpu,host=h{},rack={}", i % (n / 2), i / (n / 2)).as_bytes(),
            );
        }
        assert!(idx.file_sizes().len() >= 3, "{:?}", idx.file_sizes());
        let host = |k: &str| k == "host";
        assert_eq!(idx.distinct_values("cpu", &host, None), Some(n / 2));
        // Not estimated below the limit.
        assert_eq!(idx.distinct_values("cpu", &host, Some(n)), Some(n / 2));
        let estimate = idx.distinct_values("cpu", &host, Some(0)).unwrap();
        let error = (estimate as f64 - (n / 2) as f64).abs() / (n / 2) as f64;
        assert!(error < 0.03, "{estimate} for {}", n / 2);
        merge_all(&mut idx);
        let merged = idx.distinct_values("cpu", &host, Some(0)).unwrap();
        let error = (merged as f64 - (n / 2) as f64).abs() / (n / 2) as f64;
        assert!(error < 0.03, "{merged} for {} after merges", n / 2);
    }

    #[test]
    fn enforces_values_per_tag_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let options = IndexOptions {
            max_values_per_tag: 2,
            max_log_bytes: 1,
        };
        let mut idx = SeriesIndex::open(dir.path(), options).unwrap();
        insert(&mut idx, b"m,k=1");
        insert(&mut idx, b"m,k=2");
        assert!(idx.check_limits(b"m,k=1,z=0").is_ok());
        let e = idx.check_limits(b"m,k=3").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("max-values-per-tag limit exceeded (2/2)"),
            "{e}"
        );
        drop(idx);
        let mut idx = SeriesIndex::open(dir.path(), options).unwrap();
        assert!(
            idx.check_limits(b"m,k=3").is_err(),
            "counted from the files"
        );
        assert!(idx.check_limits(b"n,k=3").is_ok());
    }

    /// What can happen to an index.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(Vec<(u8, u8, Option<u8>)>),
        Remove(Vec<(u8, u8, Option<u8>)>),
        Flush,
        Merge,
        Reopen,
    }

    const MEASUREMENTS: [&str; 3] = ["cpu", "disk", "mem"];

    fn key((m, host, region): (u8, u8, Option<u8>)) -> Vec<u8> {
        let mut k = format!("{},host=h{host}", MEASUREMENTS[m as usize]);
        if let Some(r) = region {
            k.push_str(&format!(",region=r{r}"));
        }
        k.into_bytes()
    }

    fn series() -> impl Strategy<Value = (u8, u8, Option<u8>)> {
        (0u8..3, 0u8..12, proptest::option::of(0u8..3))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => proptest::collection::vec(series(), 1..8).prop_map(Op::Insert),
            1 => proptest::collection::vec(series(), 1..4).prop_map(Op::Remove),
            1 => Just(Op::Flush),
            1 => Just(Op::Merge),
            1 => Just(Op::Reopen),
        ]
    }

    /// The model's answer to the meta queries the index serves.
    fn check(idx: &SeriesIndex, model: &BTreeSet<Vec<u8>>) -> Result<(), TestCaseError> {
        let parsed: Vec<_> = model
            .iter()
            .filter_map(|k| lineproto::series_key::split(k).map(|p| (k.clone(), p)))
            .collect();
        prop_assert_eq!(idx.len(), model.len());
        let names: BTreeSet<String> = parsed.iter().map(|(_, p)| p.measurement.clone()).collect();
        prop_assert_eq!(
            idx.measurement_names(),
            names.iter().cloned().collect::<Vec<_>>()
        );
        for m in MEASUREMENTS {
            let of_m: Vec<_> = parsed.iter().filter(|(_, p)| p.measurement == m).collect();
            let keys: Vec<Vec<u8>> = of_m.iter().map(|(k, _)| k.clone()).collect();
            let got: Vec<Vec<u8>> = idx.series_of(m).iter().map(|k| k.to_vec()).collect();
            prop_assert_eq!(&got, &keys);
            let tag_keys: BTreeSet<String> = of_m
                .iter()
                .flat_map(|(_, p)| p.tags.iter().map(|(k, _)| k.clone()))
                .collect();
            prop_assert_eq!(idx.tag_keys(m), tag_keys.into_iter().collect::<Vec<_>>());
            let pairs: BTreeSet<(String, String)> = of_m
                .iter()
                .flat_map(|(_, p)| p.tags.iter().cloned())
                .collect();
            let mut got = BTreeSet::new();
            idx.each_value(m, &|_| true, None, &mut |k, v| {
                got.insert((k.to_string(), String::from_utf8_lossy(v).into_owned()));
            });
            prop_assert_eq!(&got, &pairs);
            for (k, v) in &pairs {
                let want: Vec<Vec<u8>> = of_m
                    .iter()
                    .filter(|(_, p)| p.tags.iter().any(|(a, b)| a == k && b == v))
                    .map(|(key, _)| key.clone())
                    .collect();
                let got: Vec<Vec<u8>> = idx
                    .keys_of(&idx.series_with(m, k, v))
                    .iter()
                    .map(|k| k.to_vec())
                    .collect();
                prop_assert_eq!(got, want);
                // The values of the series that have this tag value, by their bitmaps.
                let among = idx.series_where(m, &[(k.clone(), vec![v.clone()])]);
                prop_assert_eq!(among.len(), idx.series_with(m, k, v).len());
                let want: BTreeSet<(String, String)> = of_m
                    .iter()
                    .filter(|(_, p)| p.tags.iter().any(|(a, b)| a == k && b == v))
                    .flat_map(|(_, p)| p.tags.iter().cloned())
                    .collect();
                let mut got = BTreeSet::new();
                idx.each_value(m, &|_| true, Some(&among), &mut |k, v| {
                    got.insert((k.to_string(), String::from_utf8_lossy(v).into_owned()));
                });
                prop_assert_eq!(got, want);
            }
            // Two constraints: their series intersect.
            let both = idx.series_where(
                m,
                &[
                    ("host".into(), vec!["h1".into(), "h2".into()]),
                    ("region".into(), vec!["r0".into()]),
                ],
            );
            let want: Vec<Vec<u8>> = of_m
                .iter()
                .filter(|(_, p)| {
                    p.tags
                        .iter()
                        .any(|(a, b)| a == "host" && (b == "h1" || b == "h2"))
                        && p.tags.iter().any(|(a, b)| a == "region" && b == "r0")
                })
                .map(|(key, _)| key.clone())
                .collect();
            let got: Vec<Vec<u8>> = idx.keys_of(&both).iter().map(|k| k.to_vec()).collect();
            prop_assert_eq!(got, want);
            // A page of the keys is the start of all of them.
            for n in [0, 1, 3, keys.len() + 1] {
                let page: Vec<Vec<u8>> = idx
                    .first_keys_of(&idx.series_bitmap(m), n)
                    .iter()
                    .map(|k| k.to_vec())
                    .collect();
                prop_assert_eq!(&page[..], &keys[..n.min(keys.len())]);
            }
            let hosts = pairs.iter().filter(|(k, _)| k == "host").count() as u64;
            prop_assert_eq!(
                idx.distinct_values(m, &|k| k == "host", None),
                (hosts > 0).then_some(hosts)
            );
            // The sketches (files merged, the in-memory part added) count few values exactly.
            prop_assert_eq!(
                idx.distinct_values(m, &|k| k == "host", Some(0)),
                (hosts > 0).then_some(hosts)
            );
            prop_assert_eq!(
                idx.distinct_values(m, &|_| true, None).is_none(),
                idx.tag_keys(m).len() != 1
            );
            let entries: usize = pairs.len();
            prop_assert!(idx.value_entries(m, &|_| true) >= entries as u64);
        }
        for k in model {
            prop_assert!(idx.contains(k));
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn answers_as_a_set_of_keys_does(ops in proptest::collection::vec(op(), 1..25)) {
            let dir = tempfile::tempdir().unwrap();
            let options = IndexOptions { max_values_per_tag: 0, max_log_bytes: 64 };
            let mut idx = SeriesIndex::open(dir.path(), options).unwrap();
            let mut model = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(series) => {
                        for s in series {
                            insert(&mut idx, &key(s));
                            model.insert(key(s));
                        }
                    }
                    Op::Remove(series) => {
                        let gone: Vec<Vec<u8>> = series.into_iter().map(key).collect();
                        let set: ahash::AHashSet<&[u8]> = gone.iter().map(|k| &k[..]).collect();
                        idx.remove(&set).unwrap();
                        for k in &gone {
                            model.remove(k);
                        }
                    }
                    Op::Flush => idx.flush().unwrap(),
                    Op::Merge => merge_all(&mut idx),
                    Op::Reopen => {
                        idx.sync().unwrap();
                        drop(idx);
                        idx = SeriesIndex::open(dir.path(), options).unwrap();
                        prop_assert!(!idx.needs_rebuild());
                    }
                }
                check(&idx, &model)?;
            }
        }

        #[test]
        fn any_bytes_as_an_index_file_are_refused_or_read_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            flip in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            // Random bytes, and a real file with one byte changed.
            std::fs::write(dir.path().join(file::file_name(1)), &bytes).unwrap();
            prop_assert!(IndexFile::open(&dir.path().join(file::file_name(1)), 1, CheckedPages::Keep).is_err());
            let mut idx = SeriesIndex::open(dir.path(), TINY_LOG).unwrap();
            insert(&mut idx, b"cpu,host=a,region=r1");
            insert(&mut idx, b"cpu,host=b");
            merge_all(&mut idx);
            drop(idx);
            let path = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "tkx"))
                .unwrap();
            let mut real = std::fs::read(&path).unwrap();
            let i = flip.index(real.len());
            real[i] ^= 0x5a;
            std::fs::write(&path, &real).unwrap();
            prop_assert!(IndexFile::open(&path, 9, CheckedPages::Keep).is_err(), "byte {} of {}", i, real.len());
        }
    }
}
