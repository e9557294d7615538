//! Compaction: merging a shard's column files so that reads touch few of them — level
//! compactions of `FILES_PER_COMPACTION` adjacent files of one level into one of the next, and
//! a full compaction of a shard gone cold — run by the engine's compaction threads.

use super::colfile::encode::COMPACTION_LEVEL;
use super::colfile::{ColFile, ColFileWriter};
use super::column::Column;
use super::shard::{file_path, io, FileEntry, Shard, ShardError};
use super::tombstone;
use super::Engine;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Files merged by one level compaction.
const FILES_PER_COMPACTION: usize = 4;

/// Entries merged between two releases of the inputs' walked index pages, so that a
/// compaction's resident memory does not grow with its inputs' indexes.
const RELEASE_INPUT_INDEX_EVERY: usize = 1 << 16;

impl Shard {
    /// Merges files: with `full` all of them, else the oldest run of
    /// `FILES_PER_COMPACTION` (4) adjacent files of one level. Returns whether it merged.
    pub fn compact(&self, full: bool) -> Result<bool, ShardError> {
        let _one_at_a_time = self.compaction_lock.lock();
        let inputs: Vec<FileEntry> = {
            let st = self.state.lock();
            if full {
                if st.files.len() < 2 {
                    return Ok(false);
                }
                st.files.clone()
            } else {
                match st
                    .files
                    .windows(FILES_PER_COMPACTION)
                    .find(|w| w.iter().all(|f| f.level == w[0].level))
                {
                    Some(w) => w.to_vec(),
                    None => return Ok(false),
                }
            }
        };
        let generation = inputs.last().map_or(0, |f| f.generation);
        let level = inputs.iter().map(|f| f.level).max().unwrap_or(1) + 1;
        let path = file_path(&self.dir, generation, level);
        let series = inputs.iter().map(|f| f.file.series_count()).sum();
        let mut w = ColFileWriter::create(&path, COMPACTION_LEVEL, series)?;
        // The inputs' entries side by side in (series, field) order, one entry of each at a
        // time: memory does not grow with the number of series.
        let mut walks: Vec<_> = inputs
            .iter()
            .map(|f| f.file.index_entries().peekable())
            .collect();
        let mut written = 0usize;
        while let Some((key, field)) = walks
            .iter_mut()
            .filter_map(|w| w.peek().map(|e| (e.series, e.field)))
            .min()
        {
            let mut acc: Option<Column> = None;
            for (input, walk) in inputs.iter().zip(&mut walks) {
                let Some(entry) = walk.next_if(|e| (e.series, e.field) == (key, field)) else {
                    continue;
                };
                let (col, errors) = input.file.read_entry_uncached(entry);
                for e in errors {
                    tracing::error!(shard_id = self.id, error = %e, "corrupt block left out of compaction");
                }
                let col = col
                    .map(|c| input.tombstones.apply(key, c))
                    .filter(|c| !c.is_empty());
                if let Some(c) = col {
                    match &mut acc {
                        Some(a) => a.merge(&c),
                        None => acc = Some(c),
                    }
                }
            }
            if let Some(c) = acc {
                w.write_column(key, field, &c)?;
            }
            written += 1;
            if written.is_multiple_of(RELEASE_INPUT_INDEX_EVERY) {
                // The index pages walked so far are not read again by this compaction.
                for input in &inputs {
                    input.file.release_index_pages();
                }
            }
        }
        let path = w.finish()?;
        // An input whose index had a damaged part left those entries out of the walk: the
        // inputs stay, with what they still serve, instead of a file without them.
        if let Some(damaged) = inputs.iter().find(|f| f.file.damaged()) {
            std::fs::remove_file(&path).map_err(io(&path))?;
            return Err(super::colfile::ColFileError::Corrupt {
                path: damaged.file.path().to_path_buf(),
                what: "index chunk (compaction not done; the file is kept as it is)",
            }
            .into());
        }
        crate::fsync::fsync_dir(&self.dir).map_err(io(&self.dir))?;
        let file = Arc::new(ColFile::open(&path, Arc::clone(&self.blocks))?);
        file.release_index_pages();
        {
            let mut st = self.state.lock();
            let first = st
                .files
                .iter()
                .position(|f| Arc::ptr_eq(&f.file, &inputs[0].file))
                .unwrap_or(0);
            st.files
                .retain(|f| !inputs.iter().any(|i| Arc::ptr_eq(&i.file, &f.file)));
            let at = first.min(st.files.len());
            st.files.insert(
                at,
                FileEntry {
                    generation,
                    level,
                    file,
                    tombstones: Arc::default(),
                },
            );
        }
        for input in &inputs {
            let p = input.file.path();
            if p != path {
                std::fs::remove_file(p).map_err(io(p))?;
            }
            if !input.tombstones.is_empty() {
                let t = tombstone::path_for(p);
                std::fs::remove_file(&t).map_err(io(&t))?;
            }
        }
        tracing::debug!(
            shard_id = self.id,
            files = inputs.len(),
            generation,
            level,
            "compacted"
        );
        Ok(true)
    }

    /// Snapshots and fully compacts a shard that has been idle for `cold_secs`, once.
    pub fn compact_if_cold(&self, cold_secs: i64) -> Result<bool, ShardError> {
        if self.idle_secs() < cold_secs || self.cold_compacted.load(Ordering::Relaxed) {
            return Ok(false);
        }
        self.snapshot()?;
        // A cold shard keeps no series in memory.
        self.compact_index(true)?;
        let merged = self.compact(true)?;
        self.cold_compacted.store(true, Ordering::Relaxed);
        Ok(merged)
    }
}

impl Engine {
    /// One round of compaction on the shards with `id % workers == worker`: level
    /// compactions, then a full compaction of shards gone cold.
    pub fn compact_shards(&self, worker: usize, workers: usize) {
        let shards: Vec<Arc<Shard>> = self
            .shards
            .read()
            .values()
            .filter(|s| s.id as usize % workers == worker)
            .cloned()
            .collect();
        let cold = i64::try_from(self.config.compact_full_write_cold_duration.as_secs())
            .unwrap_or(i64::MAX);
        for s in shards {
            let result = (|| -> Result<(), ShardError> {
                while s.compact(false)? {}
                s.compact_index(false)?;
                s.compact_if_cold(cold)?;
                Ok(())
            })();
            if let Err(e) = result {
                tracing::error!(shard_id = s.id, error = %e, "compaction failed");
            }
        }
    }
}
