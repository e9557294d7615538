//! Where this node is in the log, kept with its data: `<data-dir>/cluster/applied`, 8 bytes of
//! the last applied sequence (u64 LE) and a CRC-32 of them, replaced atomically.
//!
//! It is written after the entries it counts are stored (their WAL is synced first), at most a
//! few times a second: after a crash a node may apply again the last entries before the
//! position it finds, which stores the same points and runs the same statements again, to the
//! same end (a write of a point that exists replaces it with itself; the statements that would
//! fail the second time, like `CREATE USER` of an existing user, fail alike on every node).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The file of the applied position.
#[derive(Debug, Clone)]
pub struct AppliedFile {
    path: PathBuf,
}

/// The position file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct AppliedError {
    path: PathBuf,
    message: String,
}

/// The applied position kept in (a copy of) the data directory `data_dir`, when it is a
/// cluster node's; `None` for a single node's: what a backup records as its sequence.
pub fn sequence_in(data_dir: &Path) -> Result<Option<u64>, String> {
    if !data_dir.join("cluster").is_dir() {
        return Ok(None);
    }
    AppliedFile::new(data_dir)
        .read()
        .map(Some)
        .map_err(|e| e.to_string())
}

impl AppliedFile {
    /// The file under `data_dir`.
    pub fn new(data_dir: &Path) -> AppliedFile {
        AppliedFile {
            path: data_dir.join("cluster").join("applied"),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> AppliedError {
        AppliedError {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    /// The last applied sequence; 0 when nothing was applied yet.
    pub fn read(&self) -> Result<u64, AppliedError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(self.error(e)),
        };
        let (seq, crc) = match bytes.as_slice() {
            [s @ .., c0, c1, c2, c3] if s.len() == 8 => (s, [*c0, *c1, *c2, *c3]),
            _ => return Err(self.error("damaged (not 12 bytes)")),
        };
        if crc32fast::hash(seq).to_le_bytes() != crc {
            return Err(self.error("damaged (checksum)"));
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(seq);
        Ok(u64::from_le_bytes(word))
    }

    /// Records `sequence` durably.
    pub fn write(&self, sequence: u64) -> Result<(), AppliedError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.error(e))?;
        let mut bytes = sequence.to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&sequence.to_le_bytes()).to_le_bytes());
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| self.error(e))?;
        f.write_all(&bytes)
            .and_then(|_| f.sync_data())
            .map_err(|e| self.error(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.error(e))?;
        crate::fsync::fsync_dir(dir).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_wrote_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let f = AppliedFile::new(dir.path());
        assert_eq!(f.read().unwrap(), 0);
        f.write(42).unwrap();
        assert_eq!(f.read().unwrap(), 42);
        f.write(u64::MAX).unwrap();
        assert_eq!(f.read().unwrap(), u64::MAX);
        let path = dir.path().join("cluster/applied");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(f.read().unwrap_err().to_string().contains("checksum"));
        std::fs::write(&path, b"short").unwrap();
        assert!(f.read().is_err());
    }
}
