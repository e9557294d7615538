//! An online, consistent copy of the data directory: what `influx-rs backup` and a cluster's
//! snapshots are made of.
//!
//! Every change to the data directory (writes, deletes, catalog changes) holds the engine's
//! gate shared; the copy holds it exclusively, with every shard's snapshot and compaction
//! locks, so no file changes while it is taken and what it holds is one moment of the store:
//! the catalog, each shard's column files, tombstones, index and WAL (the points not yet in a
//! column file), and a cluster node's applied position. Column files never change once
//! written, so they are hard-linked (instant, no space); every other file is copied. Writes
//! wait only for the copy of the small files, not for the column files' bytes.

use super::{Engine, EngineError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long one attempt waits for the writes in flight to finish before it lets them go on
/// and tries again (a delete in flight may need a shard lock the copy holds).
const GATE_WAIT: Duration = Duration::from_millis(100);

/// Attempts before the copy gives up (a minute of [`GATE_WAIT`]s and pauses).
const ATTEMPTS: usize = 300;

/// What a copy holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopySummary {
    /// Files copied or linked, relative to the data directory.
    pub files: Vec<PathBuf>,
    /// Their bytes.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Engine {
    /// Copies the data directory as it is at one moment into `dest` (created; on the same
    /// file system as the data directory, so column files can be linked), leaving out
    /// `skip` (where copies are staged, inside the data directory).
    pub fn copy_consistent(&self, dest: &Path, skip: &Path) -> Result<CopySummary, EngineError> {
        for _ in 0..ATTEMPTS {
            let shards: Vec<Arc<super::Shard>> = self.shards.read().values().cloned().collect();
            let locks: Vec<_> = shards
                .iter()
                .map(|s| {
                    (
                        s.snapshot_lock.lock(),
                        s.compaction_lock.lock(),
                        s.index_merge_lock.lock(),
                        s.index_lock.lock(),
                    )
                })
                .collect();
            let Some(_gate) = self.gate.try_write_for(GATE_WAIT) else {
                drop(locks);
                std::thread::sleep(GATE_WAIT);
                continue;
            };
            // A shard opened since the list was made has no snapshot or compaction yet that
            // could be half done, but is taken as quiet too.
            let known: Vec<u64> = shards.iter().map(|s| s.id).collect();
            let newer: Vec<Arc<super::Shard>> = self
                .shards
                .read()
                .values()
                .filter(|s| !known.contains(&s.id))
                .cloned()
                .collect();
            let _newer_locks: Vec<_> = newer
                .iter()
                .map(|s| {
                    (
                        s.snapshot_lock.lock(),
                        s.compaction_lock.lock(),
                        s.index_merge_lock.lock(),
                        s.index_lock.lock(),
                    )
                })
                .collect();
            let mut summary = CopySummary::default();
            copy_tree(&self.dir, &self.dir, dest, skip, &mut summary)?;
            return Ok(summary);
        }
        Err(EngineError::Io {
            path: self.dir.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the store stayed too busy for a consistent copy (a minute of attempts)",
            ),
        })
    }
}

/// Copies the tree under `from` (inside `root`) to the same place under `dest`.
fn copy_tree(
    root: &Path,
    from: &Path,
    dest: &Path,
    skip: &Path,
    summary: &mut CopySummary,
) -> Result<(), EngineError> {
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let path = entry.path();
        if path.starts_with(skip) {
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let target = dest.join(&relative);
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(io(&target))?;
            copy_tree(root, &path, dest, skip, summary)?;
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        // Unfinished files are no part of the store (it removes them when it opens), nor is
        // the directory's lock file.
        if !kind.is_file() || name.ends_with(".tmp") || name == super::dir_lock::LOCK_FILE {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // Column and index files are never changed once written: a link is a copy.
        let bytes = if name.ends_with(".tcf") || name.ends_with(".tkx") {
            match std::fs::hard_link(&path, &target) {
                Ok(()) => entry.metadata().map_err(io(&path))?.len(),
                Err(_) => std::fs::copy(&path, &target).map_err(io(&path))?,
            }
        } else {
            std::fs::copy(&path, &target).map_err(io(&path))?
        };
        summary.bytes += bytes;
        summary.files.push(relative);
    }
    Ok(())
}
