//! The data directory's lock: one process at a time opens a data directory. A second store
//! started on the same directory (a second container, a test left running, an operator's
//! `influx-rs restore` into a live node) would otherwise replay the same WALs, delete the
//! other's unfinished files at start and compact under it, damaging both.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory. It holds nothing; the lock is the kernel's
/// (`flock`), so it goes away with the process however it ends, `kill -9` included.
pub const LOCK_FILE: &str = "LOCK";

/// Why a data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DirLockError {
    /// Another process holds the directory.
    #[error(
        "data directory {0} is in use by another influx-rs process (its {LOCK_FILE} file is \
         locked); stop that process first"
    )]
    InUse(PathBuf),
    /// The lock file could not be created or locked.
    #[error("locking data directory {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An exclusive hold on a data directory, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (created if missing) for this process, without waiting.
    pub fn acquire(dir: &Path) -> Result<DirLock, DirLockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| DirLockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(DirLockError::InUse(dir.to_path_buf())),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let second = DirLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(&second, DirLockError::InUse(d) if d == dir.path()),
            "{second}"
        );
        assert!(second
            .to_string()
            .contains("in use by another influx-rs process"));
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_missing_directory_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("new").join("data");
        let _lock = DirLock::acquire(&data).unwrap();
        assert!(data.join(LOCK_FILE).is_file());
    }
}
