//! The series index of a shard: measurement → tag key → tag value → series ids (bitmaps).
//!
//! New series keys are appended to `series.log` (`TKSI` + version, then `len | crc32 | key`
//! entries). At start the log — keys only, not data — is read back and the bitmaps rebuilt; a
//! torn tail is cut off (the WAL re-adds those series on replay). The log is fsynced before a
//! snapshot lets WAL segments go, so a series in a column file is always in the log.

use ahash::AHashMap;
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"TKSI";
const VERSION: u8 = 1;

/// Index errors.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Log I/O failed.
    #[error("series index {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
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

/// Tags of one measurement.
#[derive(Debug, Default)]
pub struct MeasurementIndex {
    /// All series of the measurement.
    pub series: RoaringBitmap,
    /// tag key → tag value → series.
    pub tags: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
}

/// The in-memory index plus its append-only log.
#[derive(Debug)]
pub struct SeriesIndex {
    path: PathBuf,
    log: File,
    ids: AHashMap<Arc<[u8]>, u32>,
    keys: Vec<Arc<[u8]>>,
    measurements: BTreeMap<String, MeasurementIndex>,
    max_values_per_tag: usize,
    /// Every series key added since the log was last read or rewritten (deletions rewrite it),
    /// for the estimated cardinality.
    sketch: super::hll::Hll,
}

impl SeriesIndex {
    /// Opens (or creates) `dir/series.log` and rebuilds the maps from it.
    pub fn open(dir: &Path, max_values_per_tag: usize) -> Result<SeriesIndex, IndexError> {
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
        let mut keys = Vec::new();
        let mut good = 0;
        if bytes.len() >= 5 && &bytes[..4] == MAGIC && bytes[4] == VERSION {
            let mut pos = 5;
            while let Some(head) = bytes.get(pos..pos + 8) {
                let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
                let Some(key) = bytes.get(pos + 8..pos + 8 + len) else {
                    break;
                };
                if crc32fast::hash(key) != crc {
                    break;
                }
                keys.push(key.to_vec());
                pos += 8 + len;
            }
            good = pos;
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        if good < bytes.len() || good == 0 {
            if good < bytes.len() {
                tracing::warn!(path = %path.display(), cut = bytes.len() - good, "series log had a torn tail; cut it off");
            }
            log.set_len(good as u64).map_err(io)?;
            if good == 0 {
                log.write_all(&[MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION])
                    .map_err(io)?;
            }
            log.sync_all().map_err(io)?;
        }
        let mut index = SeriesIndex {
            path: path.clone(),
            log,
            ids: AHashMap::new(),
            keys: Vec::new(),
            measurements: BTreeMap::new(),
            max_values_per_tag: 0,
            sketch: super::hll::Hll::default(),
        };
        for key in keys {
            index.add_in_memory(&key);
        }
        index.max_values_per_tag = max_values_per_tag;
        Ok(index)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the index holds no series.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `key` is known.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.ids.contains_key(key)
    }

    /// Checks the per-tag value limit for a new series without adding it.
    pub fn check_limits(&self, key: &[u8]) -> Result<(), IndexError> {
        if self.max_values_per_tag == 0 || self.contains(key) {
            return Ok(());
        }
        let Some(parsed) = lineproto::series_key::split(key) else {
            return Ok(());
        };
        let Some(m) = self.measurements.get(&parsed.measurement) else {
            return Ok(());
        };
        for (k, v) in &parsed.tags {
            if let Some(values) = m.tags.get(k) {
                if !values.contains_key(v) && values.len() >= self.max_values_per_tag {
                    return Err(IndexError::TooManyValues {
                        count: values.len(),
                        limit: self.max_values_per_tag,
                        measurement: parsed.measurement.clone(),
                        tag: k.clone(),
                        value: v.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds `key` if new (logging it); returns its id.
    pub fn insert(&mut self, key: &[u8]) -> Result<u32, IndexError> {
        if let Some(&id) = self.ids.get(key) {
            return Ok(id);
        }
        self.log
            .write_all(&log_entry(key))
            .map_err(|source| IndexError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(self.add_in_memory(key))
    }

    fn add_in_memory(&mut self, key: &[u8]) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.sketch.add(super::hll::hash(key));
        let key: Arc<[u8]> = Arc::from(key);
        self.keys.push(Arc::clone(&key));
        self.ids.insert(Arc::clone(&key), id);
        if let Some(parsed) = lineproto::series_key::split(&key) {
            let m = self.measurements.entry(parsed.measurement).or_default();
            m.series.insert(id);
            for (k, v) in parsed.tags {
                m.tags
                    .entry(k)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .insert(id);
            }
        }
        id
    }

    /// Forgets the series in `gone` (deleted): the log is written again without them (temp
    /// file, fsync, rename) and the maps rebuilt. Series ids change.
    pub fn remove(&mut self, gone: &ahash::AHashSet<&[u8]>) -> Result<(), IndexError> {
        let io = |source| IndexError::Io {
            path: self.path.clone(),
            source,
        };
        let mut bytes = vec![MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION];
        for key in self.keys.iter().filter(|k| !gone.contains(&k[..])) {
            bytes.extend_from_slice(&log_entry(key));
        }
        let tmp = self.path.with_extension("log.tmp");
        std::fs::write(&tmp, &bytes).map_err(io)?;
        File::open(&tmp).and_then(|f| f.sync_all()).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::fsync::fsync_dir(dir).map_err(io)?;
        *self = SeriesIndex::open(dir, self.max_values_per_tag)?;
        Ok(())
    }

    /// Makes the log durable.
    pub fn sync(&self) -> Result<(), IndexError> {
        self.log.sync_data().map_err(|source| IndexError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The sketch of the index's series.
    pub fn sketch(&self) -> &super::hll::Hll {
        &self.sketch
    }

    /// Measurement names.
    pub fn measurement_names(&self) -> impl Iterator<Item = &str> {
        self.measurements.keys().map(String::as_str)
    }

    /// One measurement's index.
    pub fn measurement(&self, name: &str) -> Option<&MeasurementIndex> {
        self.measurements.get(name)
    }

    /// The key of series `id`.
    pub fn key(&self, id: u32) -> Option<&Arc<[u8]>> {
        self.keys.get(id as usize)
    }

    /// Series keys of a measurement, sorted.
    pub fn series_of(&self, measurement: &str) -> Vec<Arc<[u8]>> {
        let mut keys: Vec<Arc<[u8]>> = self
            .measurements
            .get(measurement)
            .map(|m| {
                m.series
                    .iter()
                    .filter_map(|id| self.key(id).cloned())
                    .collect()
            })
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }
}

/// One log entry: `len | crc32 | key`.
fn log_entry(key: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(key.len() + 8);
    entry.extend_from_slice(&(key.len() as u32).to_le_bytes());
    entry.extend_from_slice(&crc32fast::hash(key).to_le_bytes());
    entry.extend_from_slice(key);
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_rebuilds() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut idx = SeriesIndex::open(dir.path(), 0).unwrap();
            idx.insert(b"cpu,host=a").unwrap();
            idx.insert(b"cpu,host=b").unwrap();
            idx.insert(b"mem,host=a").unwrap();
            idx.insert(b"cpu,host=a").unwrap();
            idx.sync().unwrap();
        }
        // A torn tail after the last entry.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("series.log"))
            .unwrap();
        f.write_all(&[9, 0, 0]).unwrap();
        let idx = SeriesIndex::open(dir.path(), 0).unwrap();
        assert_eq!(idx.len(), 3);
        let cpu = idx.measurement("cpu").unwrap();
        assert_eq!(cpu.series.len(), 2);
        assert_eq!(cpu.tags["host"]["a"].len(), 1);
        assert_eq!(
            idx.measurement_names().collect::<Vec<_>>(),
            vec!["cpu", "mem"]
        );
    }

    #[test]
    fn enforces_values_per_tag() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = SeriesIndex::open(dir.path(), 2).unwrap();
        idx.insert(b"m,k=1").unwrap();
        idx.insert(b"m,k=2").unwrap();
        assert!(idx.check_limits(b"m,k=1").is_ok());
        let e = idx.check_limits(b"m,k=3").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("max-values-per-tag limit exceeded (2/2)"),
            "{e}"
        );
    }
}
