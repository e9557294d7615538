//! The write-ahead log of a shard: numbered segment files of checksummed entries.
//!
//! Layout (see `FORMAT.md`): a segment starts with `TKWL` + version `1`; each entry is
//! `len: u32 LE | crc32: u32 LE | payload[len]`, the payload a batch of points. Appends go to
//! the newest segment; [`GroupCommit`] makes one `fsync` cover every writer waiting for it.
//! On start-up each segment is read until the first entry that is short or fails its CRC; the
//! file is cut there (a torn tail after a crash) with a warning, never an error.

use super::value::{Point, Value};
use super::varint::{get_bytes, get_uvarint, put_uvarint, unzigzag, zigzag};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"TKWL";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 5;
/// Entries larger than this are treated as corruption (a write is limited far below it).
const MAX_ENTRY: usize = 1 << 30;

/// WAL errors.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// File I/O failed.
    #[error("wal {path}: {source}")]
    Io {
        /// The segment.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Encodes points into one entry payload.
pub fn encode_points(points: &[&Point], out: &mut Vec<u8>) {
    put_uvarint(out, points.len() as u64);
    for p in points {
        put_uvarint(out, p.series_key.len() as u64);
        out.extend_from_slice(&p.series_key);
        put_uvarint(out, p.measurement.len() as u64);
        out.extend_from_slice(p.measurement.as_bytes());
        put_uvarint(out, zigzag(p.time));
        put_uvarint(out, p.fields.len() as u64);
        for (name, value) in &p.fields {
            put_uvarint(out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
            out.push(value.field_type() as u8);
            match value {
                Value::Float(f) => out.extend_from_slice(&f.to_le_bytes()),
                Value::Integer(i) => put_uvarint(out, zigzag(*i)),
                Value::Unsigned(u) => put_uvarint(out, *u),
                Value::Boolean(b) => out.push(u8::from(*b)),
                Value::String(s) => {
                    put_uvarint(out, s.len() as u64);
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
}

fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a str> {
    let n = usize::try_from(get_uvarint(buf, pos)?).ok()?;
    std::str::from_utf8(get_bytes(buf, pos, n)?).ok()
}

/// Decodes an entry payload; `None` if it is malformed.
pub fn decode_points(buf: &[u8]) -> Option<Vec<Point>> {
    let mut pos = 0;
    let n = usize::try_from(get_uvarint(buf, &mut pos)?).ok()?;
    let mut points = Vec::with_capacity(n.min(buf.len()));
    for _ in 0..n {
        let klen = usize::try_from(get_uvarint(buf, &mut pos)?).ok()?;
        let series_key = get_bytes(buf, &mut pos, klen)?.to_vec();
        let measurement = get_str(buf, &mut pos)?.into();
        let time = unzigzag(get_uvarint(buf, &mut pos)?);
        let nf = usize::try_from(get_uvarint(buf, &mut pos)?).ok()?;
        let mut fields = Vec::with_capacity(nf.min(buf.len()));
        for _ in 0..nf {
            let name = get_str(buf, &mut pos)?.into();
            let tag = *get_bytes(buf, &mut pos, 1)?.first()?;
            let value = match tag {
                1 => Value::Float(f64::from_le_bytes(
                    get_bytes(buf, &mut pos, 8)?.try_into().ok()?,
                )),
                2 => Value::Integer(unzigzag(get_uvarint(buf, &mut pos)?)),
                3 => Value::Unsigned(get_uvarint(buf, &mut pos)?),
                4 => Value::String(get_str(buf, &mut pos)?.to_string()),
                5 => Value::Boolean(*get_bytes(buf, &mut pos, 1)?.first()? != 0),
                _ => return None,
            };
            fields.push((name, value));
        }
        points.push(Point {
            measurement,
            series_key,
            time,
            fields,
        });
    }
    (pos == buf.len()).then_some(points)
}

/// Path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:08}.wal"))
}

/// Segment ids present in `dir`, ascending.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut ids = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ids),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name.strip_suffix(".wal").and_then(|s| s.parse().ok()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// What replaying one segment found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Entry payloads, in order.
    pub entries: Vec<Vec<Point>>,
    /// Bytes cut off the end (torn or corrupt tail), 0 when the segment was whole.
    pub truncated_bytes: u64,
}

/// Reads segment `path`, cutting off a torn or corrupt tail.
pub fn replay_segment(path: &Path) -> Result<Replay, WalError> {
    let mut buf = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(io(path))?;
    let mut replay = Replay::default();
    let good_end = if buf.len() < HEADER_LEN || &buf[..4] != MAGIC || buf[4] != VERSION {
        0
    } else {
        let mut pos = HEADER_LEN;
        while let Some(head) = buf.get(pos..pos + 8) {
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            if len > MAX_ENTRY {
                break;
            }
            let Some(payload) = buf.get(pos + 8..pos + 8 + len) else {
                break;
            };
            if crc32fast::hash(payload) != crc {
                break;
            }
            let Some(points) = decode_points(payload) else {
                break;
            };
            replay.entries.push(points);
            pos += 8 + len;
        }
        pos
    };
    if good_end < buf.len() {
        replay.truncated_bytes = (buf.len() - good_end) as u64;
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        if good_end == 0 {
            // Not even a header survived: rewrite one so the segment can take appends.
            f.set_len(0).map_err(io(path))?;
            (&f).write_all(&header()).map_err(io(path))?;
        } else {
            f.set_len(good_end as u64).map_err(io(path))?;
        }
        f.sync_all().map_err(io(path))?;
    }
    Ok(replay)
}

fn header() -> [u8; HEADER_LEN] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION]
}

/// The open, newest segment: appends happen here under the shard's write lock.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    id: u64,
    file: Arc<File>,
    /// Length of the segment up to the end of the last whole entry.
    len: u64,
    entry: Vec<u8>,
}

impl WalWriter {
    /// Opens segment `id` for appending (creating it with a header if new).
    pub fn open(dir: &Path, id: u64) -> Result<WalWriter, WalError> {
        let path = segment_path(dir, id);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut len = file.metadata().map_err(io(&path))?.len();
        if len == 0 {
            file.write_all(&header()).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
            crate::fsync::fsync_dir(dir).map_err(io(dir))?;
            len = HEADER_LEN as u64;
        }
        Ok(WalWriter {
            dir: dir.to_path_buf(),
            id,
            file: Arc::new(file),
            len,
            entry: Vec::new(),
        })
    }

    /// Id of this segment.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Appends one entry of `points` (not yet durable: see [`GroupCommit::sync`]).
    pub fn append(&mut self, points: &[&Point]) -> Result<(), WalError> {
        let mut payload = std::mem::take(&mut self.entry);
        payload.clear();
        payload.extend_from_slice(&[0; 8]);
        encode_points(points, &mut payload);
        let len = (payload.len() - 8) as u32;
        let crc = crc32fast::hash(&payload[8..]);
        payload[..4].copy_from_slice(&len.to_le_bytes());
        payload[4..8].copy_from_slice(&crc.to_le_bytes());
        let result = (&*self.file).write_all(&payload);
        let written = payload.len() as u64;
        self.entry = payload;
        let path = segment_path(&self.dir, self.id);
        match result {
            Ok(()) => {
                self.len += written;
                Ok(())
            }
            Err(e) => {
                // A partial entry (disk full, …) would make replay stop there and drop every
                // later, acknowledged entry: cut the segment back to its last whole entry.
                if let Err(cut) = self.file.set_len(self.len) {
                    tracing::error!(segment = %path.display(), error = %cut, "could not cut a partial wal entry");
                }
                Err(io(&path)(e))
            }
        }
    }

    /// A handle for fsync without holding the write lock.
    pub fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }
}

/// Group commit: one `fsync` for every append made before it started.
///
/// Writers record a sequence number after appending; [`GroupCommit::sync`] returns at once if a
/// later fsync already covered it, otherwise waits its turn and fsyncs everything appended so
/// far. Concurrent writers thus share fsyncs instead of queueing one each.
#[derive(Debug)]
pub struct GroupCommit {
    appended: AtomicU64,
    synced: Mutex<u64>,
    file: Mutex<Arc<File>>,
}

impl GroupCommit {
    /// Starts with `file` as the segment to sync.
    pub fn new(file: Arc<File>) -> Self {
        GroupCommit {
            appended: AtomicU64::new(0),
            synced: Mutex::new(0),
            file: Mutex::new(file),
        }
    }

    /// Records an append; returns its sequence number. Call under the shard's write lock.
    pub fn appended(&self) -> u64 {
        self.appended.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Makes append `seq` durable.
    pub fn sync(&self, seq: u64) -> std::io::Result<()> {
        let mut synced = self.synced.lock();
        if *synced >= seq {
            return Ok(());
        }
        let target = self.appended.load(Ordering::Acquire);
        let file = Arc::clone(&self.file.lock());
        file.sync_data()?;
        *synced = (*synced).max(target);
        Ok(())
    }

    /// Switches to a new segment after syncing the old one. Call under the shard's write lock.
    pub fn rotate(&self, new_file: Arc<File>) -> std::io::Result<()> {
        let mut synced = self.synced.lock();
        let target = self.appended.load(Ordering::Acquire);
        let mut file = self.file.lock();
        file.sync_data()?;
        *synced = (*synced).max(target);
        *file = new_file;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(key: &str, time: i64, fields: Vec<(String, Value)>) -> Point {
        Point {
            measurement: key.split(',').next().unwrap_or_default().into(),
            series_key: key.as_bytes().to_vec(),
            time,
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<f64>().prop_map(Value::Float),
            any::<i64>().prop_map(Value::Integer),
            any::<u64>().prop_map(Value::Unsigned),
            ".{0,8}".prop_map(Value::String),
            any::<bool>().prop_map(Value::Boolean),
        ]
    }

    proptest! {
        #[test]
        fn points_round_trip(
            raw in proptest::collection::vec(("[a-z]{1,4}(,[a-z]=[a-z0-9]{1,3}){0,2}", any::<i64>(),
                proptest::collection::vec(("[a-z]{1,5}", value()), 1..4)), 0..10)
        ) {
            let points: Vec<Point> = raw.into_iter().map(|(k, t, f)| point(&k, t, f)).collect();
            let refs: Vec<&Point> = points.iter().collect();
            let mut buf = Vec::new();
            encode_points(&refs, &mut buf);
            let decoded = decode_points(&buf).expect("decodes");
            // NaN != NaN; compare the encodings instead.
            let mut again = Vec::new();
            encode_points(&decoded.iter().collect::<Vec<_>>(), &mut again);
            prop_assert_eq!(again, buf);
        }
    }

    #[test]
    fn replay_cuts_torn_and_corrupt_tails() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = WalWriter::open(dir.path(), 1).unwrap();
        let p = point("m", 1, vec![("v".into(), Value::Integer(1))]);
        for _ in 0..3 {
            w.append(&[&p]).unwrap();
        }
        let path = segment_path(dir.path(), 1);
        let full = std::fs::metadata(&path).unwrap().len();
        // Torn tail: drop the last 3 bytes.
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(full - 3).unwrap();
        let r = replay_segment(&path).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert!(r.truncated_bytes > 0);
        // Corrupt the second entry's payload: only the first survives.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let r = replay_segment(&path).unwrap();
        assert_eq!(r.entries.len(), 1);
        // And appends continue after the cut.
        let mut w = WalWriter::open(dir.path(), 1).unwrap();
        w.append(&[&p]).unwrap();
        assert_eq!(replay_segment(&path).unwrap().entries.len(), 2);
    }

    #[test]
    fn garbage_segment_is_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = segment_path(dir.path(), 7);
        std::fs::write(&path, b"garbage").unwrap();
        let r = replay_segment(&path).unwrap();
        assert!(r.entries.is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), header());
    }
}
