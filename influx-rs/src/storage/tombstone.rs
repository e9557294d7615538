//! Tombstones: time ranges of series deleted from one column file (`DELETE`, `DROP SERIES`,
//! `DROP MEASUREMENT`). They live beside the file as `<file>.tomb`, hide the points from every
//! read, and go away when a compaction writes the file's points again without them.
//!
//! A file is written whole (temp file, fsync, rename), so it holds the tombstones of the deletes
//! that completed; the layout is in `FORMAT.md`.

use super::column::Column;
use ahash::AHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"TKTB";
const VERSION: u8 = 1;

/// Tombstone file errors.
#[derive(Debug, thiserror::Error)]
pub enum TombstoneError {
    /// Reading or writing failed.
    #[error("tombstones {path}: {source}")]
    Io {
        /// The tombstone file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a tombstone file or its checksum does not match.
    #[error("tombstones {path}: damaged ({reason})")]
    Damaged {
        /// The tombstone file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The deleted `[min, max]` ranges of each series key of one column file.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tombstones {
    ranges: AHashMap<Arc<[u8]>, Vec<(i64, i64)>>,
}

/// Where the tombstones of the column file at `file` are kept.
pub fn path_for(file: &Path) -> PathBuf {
    file.with_extension("tomb")
}

impl Tombstones {
    /// Whether nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Marks `[min, max]` of `key` deleted.
    pub fn add(&mut self, key: Arc<[u8]>, min: i64, max: i64) {
        self.ranges.entry(key).or_default().push((min, max));
    }

    /// Whether every point of `key` is deleted.
    pub fn covers_all(&self, key: &[u8]) -> bool {
        self.ranges.get(key).is_some_and(|r| {
            r.iter()
                .any(|&(min, max)| min == i64::MIN && max == i64::MAX)
        })
    }

    /// `column` (of series `key`) without its deleted points.
    pub fn apply(&self, key: &[u8], column: Column) -> Column {
        let Some(ranges) = self.ranges.get(key) else {
            return column;
        };
        let keep: Vec<usize> = column
            .times
            .iter()
            .enumerate()
            .filter(|(_, t)| !ranges.iter().any(|&(min, max)| (min..=max).contains(*t)))
            .map(|(i, _)| i)
            .collect();
        if keep.len() == column.len() {
            return column;
        }
        Column {
            times: keep.iter().map(|&i| column.times[i]).collect(),
            values: column.values.select(&keep),
        }
    }

    /// Reads the tombstones at `path`; none when the file does not exist.
    pub fn load(path: &Path) -> Result<Tombstones, TombstoneError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tombstones::default()),
            Err(source) => {
                return Err(TombstoneError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let damaged = |reason| TombstoneError::Damaged {
            path: path.to_path_buf(),
            reason,
        };
        let (body, crc) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| damaged("too short"))?;
        if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
            return Err(damaged("checksum mismatch"));
        }
        if body.len() < 5 || &body[..4] != MAGIC || body[4] != VERSION {
            return Err(damaged("not a tombstone file"));
        }
        let mut out = Tombstones::default();
        let mut rest = &body[5..];
        while !rest.is_empty() {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| damaged("truncated entry"))?;
            let len = u32::from_le_bytes(*len) as usize;
            if tail.len() < len {
                return Err(damaged("truncated entry"));
            }
            let (key, tail) = tail.split_at(len);
            let (min, tail) = tail
                .split_first_chunk::<8>()
                .ok_or_else(|| damaged("truncated entry"))?;
            let (max, tail) = tail
                .split_first_chunk::<8>()
                .ok_or_else(|| damaged("truncated entry"))?;
            out.add(
                Arc::from(key),
                i64::from_le_bytes(*min),
                i64::from_le_bytes(*max),
            );
            rest = tail;
        }
        Ok(out)
    }

    /// Writes the tombstones to `path` durably (the caller fsyncs the directory).
    pub fn save(&self, path: &Path) -> Result<(), TombstoneError> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(MAGIC);
        body.push(VERSION);
        let mut keys: Vec<&Arc<[u8]>> = self.ranges.keys().collect();
        keys.sort();
        for key in keys {
            for &(min, max) in &self.ranges[key] {
                body.extend_from_slice(&(key.len() as u32).to_le_bytes());
                body.extend_from_slice(key);
                body.extend_from_slice(&min.to_le_bytes());
                body.extend_from_slice(&max.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        let tmp = path.with_extension("tomb.tmp");
        let io = |source| TombstoneError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, &body).map_err(io)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::value::{FieldType, Value};
    use proptest::prelude::*;

    fn column(times: &[i64]) -> Column {
        let mut c = Column::new(FieldType::Integer);
        for &t in times {
            c.push(t, &Value::Integer(t * 10));
        }
        c
    }

    #[test]
    fn deleted_ranges_are_hidden() {
        let mut t = Tombstones::default();
        t.add(Arc::from(&b"m,h=a"[..]), 2, 3);
        t.add(Arc::from(&b"m,h=a"[..]), 7, i64::MAX);
        let kept = t.apply(b"m,h=a", column(&[1, 2, 3, 4, 7, 9]));
        assert_eq!(kept.times, vec![1, 4]);
        assert_eq!(kept.values, column(&[1, 4]).values);
        assert_eq!(t.apply(b"m,h=b", column(&[2])).times, vec![2]);
        assert!(!t.covers_all(b"m,h=a"));
        t.add(Arc::from(&b"m,h=b"[..]), i64::MIN, i64::MAX);
        assert!(t.covers_all(b"m,h=b"));
    }

    #[test]
    fn damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tomb");
        let mut t = Tombstones::default();
        t.add(Arc::from(&b"k"[..]), 1, 2);
        t.save(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[6] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            Tombstones::load(&path),
            Err(TombstoneError::Damaged { .. })
        ));
        assert_eq!(
            Tombstones::load(&dir.path().join("none.tomb")).unwrap(),
            Tombstones::default()
        );
    }

    proptest! {
        #[test]
        fn saved_tombstones_load_back(
            entries in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..20), any::<i64>(), any::<i64>()),
                0..20,
            )
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.tomb");
            let mut t = Tombstones::default();
            for (k, min, max) in entries {
                t.add(Arc::from(k.as_slice()), min, max);
            }
            t.save(&path).unwrap();
            prop_assert_eq!(Tombstones::load(&path).unwrap(), t);
        }
    }
}
