//! The series log: series keys new since the last index file, appended as writes create them,
//! so that the in-memory part of the index survives a restart. Once its keys are in an index
//! file the log starts again, empty, under the next log id.

use super::IndexError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"TKSI";
/// Version 1 had no log id; it is still read (as log id 0).
const VERSION_1: u8 = 1;
const VERSION: u8 = 2;
const HEADER_LEN: u64 = 13;

/// The open log, positioned for appending.
#[derive(Debug)]
pub(super) struct SeriesLog {
    path: PathBuf,
    file: File,
    id: u64,
    /// Bytes in the log, `pending` included.
    bytes: u64,
    /// Entries appended and not written yet.
    pending: Vec<u8>,
}

/// Appends one log entry: `len | crc32 | key`.
fn put_entry(out: &mut Vec<u8>, key: &[u8]) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(key).to_le_bytes());
    out.extend_from_slice(key);
}

fn header(id: u64) -> Vec<u8> {
    let mut h = MAGIC.to_vec();
    h.push(VERSION);
    h.extend_from_slice(&id.to_le_bytes());
    h
}

impl SeriesLog {
    /// Opens (or creates) `dir/series.log`, returning it with the keys it holds; a torn or
    /// corrupt tail is cut off (the WAL adds those series again when it is replayed).
    pub(super) fn open(dir: &Path) -> Result<(SeriesLog, Vec<Vec<u8>>), IndexError> {
        let path = dir.join("series.log");
        let io = |source| IndexError::Io {
            path: path.clone(),
            source,
        };
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes).map_err(io)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let (id, start) = match bytes.get(..5) {
            Some([a, b, c, d, VERSION_1]) if [*a, *b, *c, *d] == *MAGIC => (0, 5),
            Some([a, b, c, d, VERSION]) if [*a, *b, *c, *d] == *MAGIC => {
                match bytes.get(5..13).and_then(|b| b.try_into().ok()) {
                    Some(id) => (u64::from_le_bytes(id), HEADER_LEN as usize),
                    None => (0, 0),
                }
            }
            _ => (0, 0),
        };
        let mut keys = Vec::new();
        let mut good = start;
        if start > 0 {
            while let Some(head) = bytes.get(good..good + 8) {
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                let Some(key) = bytes.get(good + 8..good + 8 + len) else {
                    break;
                };
                if crc32fast::hash(key) != crc {
                    break;
                }
                keys.push(key.to_vec());
                good += 8 + len;
            }
        }
        if start == 0 || start == 5 {
            // No log yet, a broken header, or version 1: written again as version 2.
            if !bytes.is_empty() && start == 0 {
                tracing::warn!(path = %path.display(), "series log header unreadable; starting it again");
            }
            let log = SeriesLog::create(&path, id.max(1), &keys)?;
            return Ok((log, keys));
        }
        let mut file = OpenOptions::new().append(true).open(&path).map_err(io)?;
        if good < bytes.len() {
            tracing::warn!(path = %path.display(), cut = bytes.len() - good, "series log had a torn tail; cut it off");
            file.set_len(good as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.flush().map_err(io)?;
        Ok((
            SeriesLog {
                path,
                file,
                id,
                bytes: good as u64,
                pending: Vec::new(),
            },
            keys,
        ))
    }

    /// Writes a log with `id` and `keys` in place of `path` (temporary file, fsync, rename:
    /// the old log stays whole until the new one is).
    fn create(path: &Path, id: u64, keys: &[Vec<u8>]) -> Result<SeriesLog, IndexError> {
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("log.tmp");
        let mut bytes = header(id);
        for key in keys {
            put_entry(&mut bytes, key);
        }
        let len = bytes.len() as u64;
        std::fs::write(&tmp, bytes).map_err(io)?;
        File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        crate::fsync::fsync_dir(path.parent().unwrap_or(Path::new("."))).map_err(io)?;
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        Ok(SeriesLog {
            path: path.to_path_buf(),
            file,
            id,
            bytes: len,
            pending: Vec::new(),
        })
    }

    /// Appends a key, in memory until [`SeriesLog::write_pending`] (a crash before loses
    /// nothing: the WAL's replay adds the series again).
    pub(super) fn append(&mut self, key: &[u8]) {
        let at = self.pending.len();
        put_entry(&mut self.pending, key);
        self.bytes += (self.pending.len() - at) as u64;
    }

    /// Writes the appended keys to the file (durable at the next [`SeriesLog::sync`]).
    pub(super) fn write_pending(&mut self) -> Result<(), IndexError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.pending)
            .map_err(|source| IndexError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.pending.clear();
        Ok(())
    }

    /// Makes the appended keys durable.
    pub(super) fn sync(&mut self) -> Result<(), IndexError> {
        self.write_pending()?;
        self.file.sync_data().map_err(|source| IndexError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The log's id: index files record the id of the log their keys came from, so a log
    /// whose keys are all in a file is recognised as such after a crash.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    /// Bytes in the log.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Starts the log again, empty, as log `id` (its keys are in an index file now).
    pub(super) fn restart(&mut self, id: u64) -> Result<(), IndexError> {
        *self = SeriesLog::create(&self.path, id, &[])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut log, keys) = SeriesLog::open(dir.path()).unwrap();
            assert!(keys.is_empty());
            assert_eq!(log.id(), 1);
            log.append(b"cpu,host=a");
            log.append(b"cpu,host=b");
            log.sync().unwrap();
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("series.log"))
            .unwrap();
        f.write_all(&[9, 0, 0]).unwrap();
        let (mut log, keys) = SeriesLog::open(dir.path()).unwrap();
        assert_eq!(keys, vec![b"cpu,host=a".to_vec(), b"cpu,host=b".to_vec()]);
        log.restart(7).unwrap();
        drop(log);
        let (log, keys) = SeriesLog::open(dir.path()).unwrap();
        assert!(keys.is_empty());
        assert_eq!(log.id(), 7);
    }

    #[test]
    fn reads_version_1() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = b"TKSI\x01".to_vec();
        put_entry(&mut bytes, b"mem,host=x");
        std::fs::write(dir.path().join("series.log"), bytes).unwrap();
        let (log, keys) = SeriesLog::open(dir.path()).unwrap();
        assert_eq!(keys, vec![b"mem,host=x".to_vec()]);
        drop(log);
        let (_, keys) = SeriesLog::open(dir.path()).unwrap();
        assert_eq!(keys, vec![b"mem,host=x".to_vec()], "rewritten as version 2");
    }
}
