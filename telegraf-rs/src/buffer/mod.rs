//! The disk buffer of one output: an append-only log of line-protocol records with checksums,
//! read from an acknowledged position; bounded on disk by `metric_buffer_limit` and in memory by
//! one batch. The byte layout and recovery rules are in `FORMAT.md` beside this file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A segment is closed once it holds this many bytes.
const SEGMENT_BYTES: u64 = 4 << 20;
/// Bytes before each record's payload: its length and checksum.
const HEADER: usize = 8;
/// What a segment file starts with: the magic number, then the format version.
const MAGIC: &[u8; 4] = b"TBUF";
/// The segment format this agent writes; version 1 is the first with a file header.
const VERSION: u8 = 1;
/// The file header: `MAGIC`, `VERSION`, three reserved zero bytes.
const FILE_HEADER: [u8; 8] = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, 0, 0, 0];
/// No line of line protocol this agent writes comes near this; longer means damage.
const MAX_RECORD: u32 = 16 << 20;

/// Why the buffer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    /// A file operation failed.
    #[error("buffer {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A segment written by a later telegraf-rs, in a format this one does not read.
    #[error("buffer {path}: segment format version {version}; this telegraf-rs reads versions up to {VERSION}")]
    Version {
        /// The segment.
        path: PathBuf,
        /// The version its header names.
        version: u8,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BufferError + '_ {
    move |source| BufferError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A place in the log: segment id and byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    segment: u64,
    offset: u64,
}

/// Up to `max` of the oldest waiting metrics, as one line-protocol body.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The lines, each ending in `\n`.
    pub body: Vec<u8>,
    /// How many metrics.
    pub count: usize,
    /// Where the batch starts.
    pub start: Position,
    /// Where the log continues after this batch.
    pub end: Position,
}

/// What the recovery at open found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Metrics waiting.
    pub waiting: usize,
    /// Bytes cut from a torn or damaged tail.
    pub discarded_bytes: u64,
}

/// One output's buffer.
#[derive(Debug)]
pub struct DiskBuffer {
    dir: PathBuf,
    limit: usize,
    head: Position,
    /// Segment ids in order, with their sizes.
    segments: Vec<(u64, u64)>,
    len: usize,
    tail: Option<File>,
    /// Whether `tail` holds appends not yet synced to disk.
    unsynced: bool,
    /// The `ack` file, kept open: it is rewritten in place after every write.
    ack: Option<File>,
    segment_bytes: u64,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

/// Where the records of a segment start: after the file header, or at 0 in a segment written
/// before segments had one. No record of such a segment can start with the magic number: read
/// as a length, `TBUF` is past `MAX_RECORD`.
fn records_start(file: &mut File, path: &Path) -> Result<u64, BufferError> {
    let mut header = [0u8; FILE_HEADER.len()];
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let read = file.read(&mut header).map_err(io_err(path))?;
    if read < header.len() || header[..4] != MAGIC[..] {
        return Ok(0);
    }
    match header[4] {
        version if version > VERSION => Err(BufferError::Version {
            path: path.to_path_buf(),
            version,
        }),
        _ => Ok(FILE_HEADER.len() as u64),
    }
}

/// Reads records from `file` starting at `offset` (or where its records start, if later):
/// returns each record's end offset (up to `max`) and where valid data stops (`None` if all of
/// the file was valid).
fn scan(
    file: &mut File,
    path: &Path,
    offset: u64,
    max: usize,
    mut visit: impl FnMut(&[u8]),
) -> Result<(Vec<u64>, Option<u64>), BufferError> {
    let size = file.metadata().map_err(io_err(path))?.len();
    let offset = offset.max(records_start(file, path)?);
    file.seek(SeekFrom::Start(offset)).map_err(io_err(path))?;
    let mut reader = std::io::BufReader::new(file);
    let mut pos = offset;
    let mut ends = Vec::new();
    let mut payload = Vec::new();
    while pos < size && ends.len() < max {
        let mut header = [0u8; HEADER];
        if size - pos < HEADER as u64 || reader.read_exact(&mut header).is_err() {
            return Ok((ends, Some(pos)));
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_RECORD || size - pos - (HEADER as u64) < u64::from(len) {
            return Ok((ends, Some(pos)));
        }
        payload.resize(len as usize, 0);
        reader.read_exact(&mut payload).map_err(io_err(path))?;
        if crc32fast::hash(&payload) != crc {
            return Ok((ends, Some(pos)));
        }
        visit(&payload);
        pos += HEADER as u64 + u64::from(len);
        ends.push(pos);
    }
    Ok((ends, None))
}

impl DiskBuffer {
    /// Opens (or creates) the buffer in `dir`, recovering after a crash.
    pub fn open(dir: &Path, limit: usize) -> Result<(Self, Recovery), BufferError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut ids: Vec<u64> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".seg")?.parse().ok())
            .collect();
        ids.sort_unstable();
        let head = read_ack(dir)
            .filter(|h| ids.contains(&h.segment))
            .unwrap_or(Position {
                segment: ids.first().copied().unwrap_or(1),
                offset: 0,
            });
        let mut buffer = DiskBuffer {
            dir: dir.to_path_buf(),
            limit: limit.max(1),
            head,
            segments: Vec::new(),
            len: 0,
            tail: None,
            unsynced: false,
            ack: None,
            segment_bytes: SEGMENT_BYTES,
        };
        let mut recovery = Recovery::default();
        let last = ids.last().copied();
        for id in ids {
            let path = segment_path(dir, id);
            if id < head.segment {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            let start = if id == head.segment { head.offset } else { 0 };
            let (ends, bad_at) = scan(&mut file, &path, start, usize::MAX, |_| {})?;
            let mut size = file.metadata().map_err(io_err(&path))?.len();
            if let Some(bad) = bad_at {
                recovery.discarded_bytes += size - bad;
                if Some(id) == last {
                    file.set_len(bad).map_err(io_err(&path))?;
                    file.sync_data().map_err(io_err(&path))?;
                    size = bad;
                } else {
                    tracing::warn!(segment = %path.display(), lost_bytes = size - bad, "damaged buffer segment; the rest of it is skipped");
                }
            }
            buffer.len += ends.len();
            buffer.segments.push((
                id,
                if bad_at.is_some() && Some(id) != last {
                    bad_at.unwrap_or(size)
                } else {
                    size
                },
            ));
        }
        if buffer.segments.is_empty() {
            buffer.segments.push((head.segment, 0));
        }
        recovery.waiting = buffer.len;
        Ok((buffer, recovery))
    }

    /// Small segments, so tests cross segment boundaries.
    #[cfg(test)]
    fn with_segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// Metrics waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `metric_buffer_limit`.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Appends `lines` (each a complete line ending in `\n`) — written, so that they outlive
    /// the agent's process, and synced by [`DiskBuffer::sync`] unless delivered first — then
    /// drops the oldest metrics past the limit; returns how many were dropped.
    pub fn append<L: AsRef<[u8]>>(&mut self, lines: &[L]) -> Result<usize, BufferError> {
        if lines.is_empty() {
            return Ok(0);
        }
        let mut bytes = Vec::new();
        let (id, size) = self.segments.last().copied().unwrap_or((1, 0));
        let (id, size) = if size >= self.segment_bytes {
            // The closed segment's appends go to disk before the next one starts.
            self.sync()?;
            self.tail = None;
            self.segments.push((id + 1, 0));
            (id + 1, 0)
        } else {
            (id, size)
        };
        if size == 0 {
            bytes.extend_from_slice(&FILE_HEADER);
        }
        for line in lines {
            let line = line.as_ref();
            bytes.extend_from_slice(&(line.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(line).to_le_bytes());
            bytes.extend_from_slice(line);
        }
        let path = segment_path(&self.dir, id);
        if self.tail.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            self.tail = Some(file);
        }
        if let Some(file) = self.tail.as_mut() {
            if let Err(source) = file.write_all(&bytes) {
                // Cut back a partial append so the next one starts on a record boundary.
                self.tail = None;
                if let Ok(f) = OpenOptions::new().write(true).open(&path) {
                    let _ = f.set_len(size);
                }
                return Err(BufferError::Io { path, source });
            }
        }
        if let Some(last) = self.segments.last_mut() {
            last.1 = size + bytes.len() as u64;
        }
        self.unsynced = true;
        self.len += lines.len();
        let excess = self.len.saturating_sub(self.limit);
        if excess > 0 {
            let skipped = self.read(excess, |_| {})?;
            self.advance(skipped.end, skipped.count)?;
        }
        Ok(excess)
    }

    /// Syncs the appends not yet on disk (`fdatasync`): called when a write to the output
    /// failed, before a segment is closed and at shutdown. Metrics the output takes at once
    /// are never synced — they are in the store, which syncs them — which spares a flash
    /// disk one sync per gather; a power cut loses at most what was gathered since the last
    /// flush attempt (a crash of the agent loses nothing: the appends are in the file).
    pub fn sync(&mut self) -> Result<(), BufferError> {
        if !self.unsynced {
            return Ok(());
        }
        let (id, _) = self.segments.last().copied().unwrap_or((1, 0));
        let path = segment_path(&self.dir, id);
        let synced = match &self.tail {
            Some(file) => file.sync_data(),
            // Closed after a failed append: its earlier appends are in the file still.
            None => File::open(&path).and_then(|f| f.sync_data()),
        };
        synced.map_err(|source| BufferError::Io { path, source })?;
        self.unsynced = false;
        Ok(())
    }

    /// The oldest `max` waiting metrics, without removing them.
    pub fn peek(&mut self, max: usize) -> Result<Batch, BufferError> {
        let mut body = Vec::new();
        let batch = self.read(max, |line| body.extend_from_slice(line))?;
        Ok(Batch { body, ..batch })
    }

    fn read(&mut self, max: usize, mut visit: impl FnMut(&[u8])) -> Result<Batch, BufferError> {
        let mut batch = Batch {
            start: self.head,
            end: self.head,
            ..Batch::default()
        };
        let segments: Vec<(u64, u64)> = self
            .segments
            .iter()
            .copied()
            .filter(|(id, _)| *id >= self.head.segment)
            .collect();
        for (id, size) in segments {
            if batch.count >= max {
                break;
            }
            let start = if id == self.head.segment {
                self.head.offset
            } else {
                0
            };
            if start >= size {
                batch.end = Position {
                    segment: id,
                    offset: start.max(size),
                };
                continue;
            }
            let path = segment_path(&self.dir, id);
            let mut file = File::open(&path).map_err(io_err(&path))?;
            let (ends, _) = scan(&mut file, &path, start, max - batch.count, &mut visit)?;
            batch.count += ends.len();
            let reached = ends.last().copied().unwrap_or(start);
            batch.end = Position {
                segment: id,
                offset: reached,
            };
            if reached < size && batch.count < max {
                // Damaged rest of an older segment: continue with the next one.
                batch.end = Position {
                    segment: id,
                    offset: size,
                };
            }
        }
        Ok(batch)
    }

    /// Removes `batch` (read by [`DiskBuffer::peek`]) from the buffer: it has been written.
    /// Metrics of it that overflow already dropped are not counted twice.
    pub fn ack(&mut self, batch: &Batch) -> Result<(), BufferError> {
        if batch.end <= self.head {
            return Ok(());
        }
        let removed = if batch.start == self.head {
            batch.count
        } else {
            self.count_until(batch.end)?
        };
        self.advance(batch.end, removed)
    }

    /// Metrics between the head and `end`.
    fn count_until(&mut self, end: Position) -> Result<usize, BufferError> {
        let mut count = 0;
        for (id, _) in self.segments.clone() {
            if id < self.head.segment || id > end.segment {
                continue;
            }
            let start = if id == self.head.segment {
                self.head.offset
            } else {
                0
            };
            let path = segment_path(&self.dir, id);
            let mut file = File::open(&path).map_err(io_err(&path))?;
            let (ends, _) = scan(&mut file, &path, start, usize::MAX, |_| {})?;
            count += ends
                .iter()
                .filter(|e| id < end.segment || **e <= end.offset)
                .count();
        }
        Ok(count)
    }

    fn advance(&mut self, end: Position, removed: usize) -> Result<(), BufferError> {
        self.head = end;
        self.len = self.len.saturating_sub(removed);
        if self.len == 0 {
            // Everything appended was delivered: nothing is left to sync.
            self.unsynced = false;
        }
        self.write_ack(end)?;
        let (keep, drop): (Vec<_>, Vec<_>) =
            self.segments.iter().partition(|(id, _)| *id >= end.segment);
        for (id, _) in drop {
            let path = segment_path(&self.dir, id);
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
        self.segments = keep;
        Ok(())
    }
}

fn read_ack(dir: &Path) -> Option<Position> {
    let bytes = std::fs::read(dir.join("ack")).ok()?;
    if bytes.len() != 20 || crc32fast::hash(&bytes[..16]).to_le_bytes() != bytes[16..20] {
        return None;
    }
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
    Some(Position {
        segment: word(0),
        offset: word(8),
    })
}

impl DiskBuffer {
    /// Records `at` as the oldest position not yet written: 20 bytes written over the `ack`
    /// file in place, not synced. Lost or torn by a power cut, the acknowledgement only goes
    /// back (a bad CRC reads as "from the oldest segment"): the store is sent a batch again
    /// and keeps each point once. So the durable append is the only `fdatasync` per write.
    fn write_ack(&mut self, at: Position) -> Result<(), BufferError> {
        use std::os::unix::fs::FileExt;
        let mut bytes = [0u8; 20];
        bytes[..8].copy_from_slice(&at.segment.to_le_bytes());
        bytes[8..16].copy_from_slice(&at.offset.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..16]);
        bytes[16..].copy_from_slice(&crc.to_le_bytes());
        let path = self.dir.join("ack");
        if self.ack.is_none() {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .and_then(|f| f.set_len(bytes.len() as u64).map(|_| f))
                .map_err(io_err(&path))?;
            // An `ack.tmp` of the versions that renamed it into place.
            let _ = std::fs::remove_file(self.dir.join("ack.tmp"));
            self.ack = Some(file);
        }
        if let Some(file) = &self.ack {
            if let Err(source) = file.write_all_at(&bytes, 0) {
                self.ack = None;
                return Err(BufferError::Io { path, source });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
