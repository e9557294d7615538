//! Writing index files: from the in-memory part (a flush), from two adjacent files (a merge,
//! streamed: both inputs are sorted the same way), always under a temporary name, fsynced and
//! renamed, so that a file either is whole or is not there.

use super::file::{
    self, IndexFile, BLOCKS, HASH_TABLE, HEADER_LEN, MAGIC, VERSION, VERSION_WITH_VALUE_SKETCHES,
};
use super::memory::MemIndex;
use super::IndexError;
use crate::storage::hll::{self, Hll};
use roaring::RoaringBitmap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written: position and checksum of the block in progress.
struct Writer {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    crc: crc32fast::Hasher,
    block_start: u64,
    blocks: Vec<(u64, u64, u32)>,
    scratch: Vec<u8>,
    version: u8,
}

impl Writer {
    fn create(dir: &Path, seq: u64, version: u8) -> Result<Writer, IndexError> {
        let path = dir.join(file::file_name(seq));
        let tmp = path.with_extension("tkx.tmp");
        let f = File::create(&tmp).map_err(|source| IndexError::Io {
            path: tmp.clone(),
            source,
        })?;
        let mut w = Writer {
            path,
            tmp,
            out: BufWriter::with_capacity(1 << 20, f),
            pos: 0,
            crc: crc32fast::Hasher::new(),
            block_start: HEADER_LEN as u64,
            blocks: Vec::with_capacity(BLOCKS),
            scratch: Vec::new(),
            version,
        };
        w.out
            .write_all(&[MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], version, 0, 0, 0])
            .map_err(|e| w.err(e))?;
        w.pos = HEADER_LEN as u64;
        Ok(w)
    }

    fn err(&self, source: std::io::Error) -> IndexError {
        IndexError::Io {
            path: self.tmp.clone(),
            source,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.out.write_all(bytes).map_err(|e| self.err(e))?;
        self.crc.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn u32(&mut self, v: u32) -> Result<(), IndexError> {
        self.put(&v.to_le_bytes())
    }

    fn u64(&mut self, v: u64) -> Result<(), IndexError> {
        self.put(&v.to_le_bytes())
    }

    fn sized(&mut self, bytes: &[u8]) -> Result<(), IndexError> {
        self.u32(bytes.len() as u32)?;
        self.put(bytes)
    }

    fn bitmap(&mut self, b: &RoaringBitmap) -> Result<(), IndexError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        b.serialize_into(&mut scratch).map_err(|e| self.err(e))?;
        let r = self.sized(&scratch);
        self.scratch = scratch;
        r
    }

    fn end_block(&mut self) {
        let crc = std::mem::take(&mut self.crc).finalize();
        self.blocks
            .push((self.block_start, self.pos - self.block_start, crc));
        self.block_start = self.pos;
    }

    /// Writes the keys, their offsets and the hash table: blocks 0 to 2.
    fn keys<'k>(
        &mut self,
        count: usize,
        keys: impl Fn() -> Box<dyn Iterator<Item = &'k [u8]> + 'k>,
    ) -> Result<(), IndexError> {
        for k in keys() {
            self.put(k)?;
        }
        self.end_block();
        let mut at = 0u64;
        self.u64(0)?;
        for k in keys() {
            at += k.len() as u64;
            self.u64(at)?;
        }
        self.end_block();
        let slots = (2 * count).next_power_of_two().max(2);
        let mask = slots - 1;
        let mut table = vec![0u32; slots];
        let coding = file::SlotCoding::new(self.version, count as u32);
        for (local, k) in keys().enumerate() {
            let hash = hll::hash(k);
            let mut slot = hash as usize & mask;
            while table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            table[slot] = coding.slot(local as u32, hash);
        }
        let mut bytes = Vec::with_capacity(1 << 16);
        for chunk in table.chunks(1 << 14) {
            bytes.clear();
            for v in chunk {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            self.put(&bytes)?;
        }
        self.end_block();
        debug_assert_eq!(self.blocks.len(), HASH_TABLE + 1);
        Ok(())
    }

    /// Ends the postings block with the measurement directory, writes the sketch and the
    /// footer, and makes the file durable under its real name.
    fn finish(
        mut self,
        measurements: &[(Vec<u8>, u64)],
        sketch: &Hll,
        base: u32,
        count: u32,
        log_id: u64,
        replaces_below: u64,
    ) -> Result<PathBuf, IndexError> {
        let directory = self.pos;
        self.u32(measurements.len() as u32)?;
        for (name, header) in measurements {
            self.sized(name)?;
            self.u64(*header)?;
        }
        self.end_block();
        self.put(&sketch.to_bytes())?;
        self.end_block();
        let mut footer = Vec::with_capacity(file::FOOTER_LEN);
        for (off, len, crc) in &self.blocks {
            footer.extend_from_slice(&off.to_le_bytes());
            footer.extend_from_slice(&len.to_le_bytes());
            footer.extend_from_slice(&crc.to_le_bytes());
        }
        footer.extend_from_slice(&directory.to_le_bytes());
        footer.extend_from_slice(&base.to_le_bytes());
        footer.extend_from_slice(&count.to_le_bytes());
        footer.extend_from_slice(&log_id.to_le_bytes());
        footer.extend_from_slice(&replaces_below.to_le_bytes());
        let crc = crc32fast::hash(&footer);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(MAGIC);
        self.out.write_all(&footer).map_err(|e| self.err(e))?;
        let f = self.out.into_inner().map_err(|e| IndexError::Io {
            path: self.tmp.clone(),
            source: e.into_error(),
        })?;
        let io = |source| IndexError::Io {
            path: self.tmp.clone(),
            source,
        };
        f.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        crate::fsync::fsync_dir(self.path.parent().unwrap_or(Path::new("."))).map_err(io)?;
        Ok(self.path)
    }
}

/// Writes one measurement's postings as its tag values come, sorted by (tag key, value).
struct MeasurementSink {
    key: Option<Vec<u8>>,
    entries: Vec<u64>,
    /// The sketch of the current key's values.
    sketch: Hll,
    /// Per key written: the key, where its value table is, where its sketch is.
    keys: Vec<(Vec<u8>, u64, u64)>,
}

impl MeasurementSink {
    fn new() -> MeasurementSink {
        MeasurementSink {
            key: None,
            entries: Vec::new(),
            sketch: Hll::default(),
            keys: Vec::new(),
        }
    }

    /// Starts the entry of `value` under tag `key` (ending the previous key's table when the
    /// key changes); its bitmap follows.
    fn begin_value(&mut self, w: &mut Writer, key: &[u8], value: &[u8]) -> Result<(), IndexError> {
        if self.key.as_deref() != Some(key) {
            self.end_key(w)?;
            self.key = Some(key.to_vec());
        }
        self.entries.push(w.pos);
        self.sketch.add(hll::hash(value));
        w.sized(value)
    }

    fn value(
        &mut self,
        w: &mut Writer,
        key: &[u8],
        value: &[u8],
        series: &RoaringBitmap,
    ) -> Result<(), IndexError> {
        self.begin_value(w, key, value)?;
        w.bitmap(series)
    }

    /// A value whose bitmap bytes are copied as they are (a value of one input only).
    fn value_bytes(
        &mut self,
        w: &mut Writer,
        key: &[u8],
        value: &[u8],
        bitmap: &[u8],
    ) -> Result<(), IndexError> {
        self.begin_value(w, key, value)?;
        w.sized(bitmap)
    }

    fn end_key(&mut self, w: &mut Writer) -> Result<(), IndexError> {
        let Some(key) = self.key.take() else {
            return Ok(());
        };
        let table = w.pos;
        w.u32(self.entries.len() as u32)?;
        for &e in &self.entries {
            w.u64(e)?;
        }
        self.entries.clear();
        let sketch = w.pos;
        let values = std::mem::take(&mut self.sketch);
        if w.version >= VERSION_WITH_VALUE_SKETCHES {
            w.sized(&values.to_bytes())?;
        }
        self.keys.push((key, table, sketch));
        Ok(())
    }

    /// Writes the measurement's header; returns where it is.
    fn finish(mut self, w: &mut Writer, series: &RoaringBitmap) -> Result<u64, IndexError> {
        self.end_key(w)?;
        let header = w.pos;
        w.bitmap(series)?;
        w.u32(self.keys.len() as u32)?;
        for (key, table, sketch) in &self.keys {
            w.sized(key)?;
            w.u64(*table)?;
            if w.version >= VERSION_WITH_VALUE_SKETCHES {
                w.u64(*sketch)?;
            }
        }
        Ok(header)
    }
}

/// Writes the in-memory part as file `seq` (its ids stay as they are); returns its path. With
/// `rewrite`, the file replaces every earlier one.
pub(super) fn from_memory(
    dir: &Path,
    seq: u64,
    mem: &MemIndex,
    log_id: u64,
    rewrite: bool,
) -> Result<PathBuf, IndexError> {
    from_memory_as(dir, seq, mem, log_id, rewrite, VERSION)
}

/// [`from_memory`] in format `version` (tests write version 1 files with it, as an older
/// build left them).
pub(super) fn from_memory_as(
    dir: &Path,
    seq: u64,
    mem: &MemIndex,
    log_id: u64,
    rewrite: bool,
    version: u8,
) -> Result<PathBuf, IndexError> {
    let mut w = Writer::create(dir, seq, version)?;
    w.keys(mem.len(), || Box::new(mem.keys().iter().map(|k| &k[..])))?;
    let mut directory = Vec::with_capacity(mem.measurements().len());
    for (name, m) in mem.measurements() {
        let mut sink = MeasurementSink::new();
        for (key, values) in &m.tags {
            for (value, series) in values {
                if !series.is_empty() {
                    sink.value(&mut w, key.as_bytes(), value.as_bytes(), series)?;
                }
            }
        }
        let header = sink.finish(&mut w, &m.series)?;
        directory.push((name.as_bytes().to_vec(), header));
    }
    w.finish(
        &directory,
        mem.sketch(),
        mem.base(),
        mem.len() as u32,
        log_id,
        if rewrite { seq } else { 0 },
    )
}

/// Merges two files holding adjacent id runs (`a` then `b`) into file `seq`, streaming both.
pub(super) fn merged(
    dir: &Path,
    seq: u64,
    a: &IndexFile,
    b: &IndexFile,
) -> Result<PathBuf, IndexError> {
    let mut w = Writer::create(dir, seq, VERSION)?;
    let count = (a.count() + b.count()) as usize;
    w.keys(count, || Box::new(a.keys().chain(b.keys())))?;
    let mut directory = Vec::new();
    let mut ma = a.measurements().peekable();
    let mut mb = b.measurements().peekable();
    loop {
        let (x, y) = match (ma.peek(), mb.peek()) {
            (None, None) => break,
            (Some(x), Some(y)) if x.name == y.name => (ma.next(), mb.next()),
            (Some(x), Some(y)) if x.name < y.name => (ma.next(), None),
            (Some(_), None) => (ma.next(), None),
            _ => (None, mb.next()),
        };
        let Some(name) = x.or(y).map(|m| m.name.to_vec()) else {
            break;
        };
        let mut sink = MeasurementSink::new();
        let mut ka = x.into_iter().flat_map(|m| m.tag_keys()).peekable();
        let mut kb = y.into_iter().flat_map(|m| m.tag_keys()).peekable();
        loop {
            let (p, q) = match (ka.peek(), kb.peek()) {
                (None, None) => break,
                (Some(p), Some(q)) if p.key == q.key => (ka.next(), kb.next()),
                (Some(p), Some(q)) if p.key < q.key => (ka.next(), None),
                (Some(_), None) => (ka.next(), None),
                _ => (None, kb.next()),
            };
            let Some(key) = p.or(q).map(|k| k.key) else {
                break;
            };
            let mut va = p.into_iter().flat_map(|k| k.values()).peekable();
            let mut vb = q.into_iter().flat_map(|k| k.values()).peekable();
            loop {
                // A value of one input keeps its bitmap's bytes; one of both gets the union.
                let one = match (va.peek(), vb.peek()) {
                    (None, None) => break,
                    (Some(s), Some(t)) if s.0 == t.0 => {
                        if let Some(((v, s), (_, t))) = va.next().zip(vb.next()) {
                            sink.value(&mut w, key, v, &(s.read() | t.read()))?;
                        }
                        continue;
                    }
                    (Some(s), Some(t)) if s.0 < t.0 => va.next(),
                    (Some(_), None) => va.next(),
                    _ => vb.next(),
                };
                if let Some((value, bitmap)) = one {
                    sink.value_bytes(&mut w, key, value, bitmap.bytes())?;
                }
            }
        }
        let series =
            x.map(|m| m.series()).unwrap_or_default() | y.map(|m| m.series()).unwrap_or_default();
        let header = sink.finish(&mut w, &series)?;
        directory.push((name, header));
    }
    let mut sketch = a.sketch().unwrap_or_default();
    sketch.merge(&b.sketch().unwrap_or_default());
    w.finish(
        &directory,
        &sketch,
        a.base(),
        count as u32,
        a.log_id().max(b.log_id()),
        a.replaces_below().max(b.replaces_below()),
    )
}
