//! Writing a column file: blocks as columns come, the index they make kept in a spill file
//! beside it (not in memory) and appended at the end, then the entry table, Bloom filter and
//! schema that let it be opened without walking the index, then the footer.
//!
//! The index grows with every (series, field) the file holds — about 60 bytes each encoded,
//! several times that as Rust values. A compaction of a shard of two million series held
//! hundreds of MiB of it until the end; spilled, the writer's memory is its buffers, the Bloom
//! filter (ten bits per series) and the schema, whatever the number of entries.

use super::encode::{BlockEncoder, MAX_BLOCK_POINTS};
use super::{BlockMeta, ColFileError, SeriesBloom, FOOTER_LEN, KEY_EVERY, MAGIC, VERSION};
use crate::storage::checked_map::{ChunkSummer, CHUNK};
use crate::storage::column::Column;
use crate::storage::varint::{put_uvarint, zigzag};
use ahash::AHashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Buffer of the file being written.
const OUT_BUFFER: usize = 1 << 20;
/// Buffer of each spill file.
const SPILL_BUFFER: usize = 256 << 10;

/// Writes a column file; entries must come in (series key, field) order.
pub struct ColFileWriter {
    encoder: BlockEncoder,
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    /// The index entries, encoded as in the file.
    index: Spill,
    /// How many entries `index` holds.
    entries: u64,
    /// Where each entry starts, counted from the first: the file's entry table.
    table: Spill,
    /// One entry's encoding, reused.
    entry: Vec<u8>,
    bloom: SeriesBloom,
    series: u64,
    /// The series of the last entry.
    last_series: Vec<u8>,
    /// Entries of `last_series` written so far.
    series_entries: usize,
    schema: SchemaBuilder,
}

/// Encodes one index entry (see `FORMAT.md`). `v3`: the key is written as `len + 1` and its
/// bytes, or, with `key` `None`, as 0 — the key of the entry before; each block's largest time
/// as its distance from the smallest. Before version 3: the key as `len` and its bytes (`key`
/// must be given), the largest time as a time.
pub(super) fn encode_entry(
    e: &mut Vec<u8>,
    key: Option<&[u8]>,
    field: &str,
    field_type: u8,
    blocks: &[BlockMeta],
    v3: bool,
) {
    match key {
        Some(key) => {
            put_uvarint(e, key.len() as u64 + u64::from(v3));
            e.extend_from_slice(key);
        }
        None => put_uvarint(e, 0),
    }
    put_uvarint(e, field.len() as u64);
    e.extend_from_slice(field.as_bytes());
    e.push(field_type);
    put_uvarint(e, blocks.len() as u64);
    for b in blocks {
        put_uvarint(e, zigzag(b.min_time));
        if v3 {
            put_uvarint(e, b.max_time.wrapping_sub(b.min_time) as u64);
        } else {
            put_uvarint(e, zigzag(b.max_time));
        }
        put_uvarint(e, b.offset);
        put_uvarint(e, u64::from(b.size));
    }
}

/// Bytes written so far to a temporary file of their own, to be copied into the column file
/// at the end.
struct Spill {
    path: PathBuf,
    out: BufWriter<File>,
    len: u64,
}

impl Spill {
    fn create(path: PathBuf) -> Result<Spill, ColFileError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|source| ColFileError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Spill {
            path,
            out: BufWriter::with_capacity(SPILL_BUFFER, file),
            len: 0,
        })
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), ColFileError> {
        self.len += bytes.len() as u64;
        self.out
            .write_all(bytes)
            .map_err(|source| ColFileError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Appends what was spilled to `to` and removes the spill file.
    fn copy_into(self, to: &mut impl Write, tmp: &Path) -> Result<(), ColFileError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ColFileError::Io { path, source }
        };
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| io(&self.path)(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&self.path))?;
        let copied = std::io::copy(&mut file, to).map_err(io(tmp))?;
        drop(file);
        std::fs::remove_file(&self.path).map_err(io(&self.path))?;
        if copied != self.len {
            return Err(ColFileError::Corrupt {
                path: self.path,
                what: "spill file (shorter than written)",
            });
        }
        Ok(())
    }
}

/// The measurements and field types of the entries written, in the order first met (each
/// field with its first entry's type), for the file's stored schema.
#[derive(Default)]
struct SchemaBuilder {
    measurements: Vec<(String, Vec<(String, u8)>)>,
    by_name: AHashMap<String, usize>,
    /// The escaped measurement of the last series, its place in `measurements` (`None`: the
    /// key has no measurement), and where the next field is looked for first.
    current: Option<(Vec<u8>, Option<usize>, usize)>,
}

impl SchemaBuilder {
    /// Notes a new series' measurement (worked out only when it differs from the last one).
    fn series(&mut self, series: &[u8]) {
        let raw = lineproto::series_key::measurement_bytes(series).unwrap_or_default();
        if let Some((last, _, next)) = &mut self.current {
            if last.as_slice() == raw {
                *next = 0;
                return;
            }
        }
        let place =
            lineproto::series_key::measurement(series).map(|m| match self.by_name.get(&m) {
                Some(&i) => i,
                None => {
                    self.measurements.push((m.clone(), Vec::new()));
                    self.by_name.insert(m, self.measurements.len() - 1);
                    self.measurements.len() - 1
                }
            });
        self.current = Some((raw.to_vec(), place, 0));
    }

    /// Notes a field of the current series. Fields of a series come in order, and series
    /// of one measurement mostly have the same ones: the field after the last one found is
    /// tried first.
    fn field(&mut self, field: &str, field_type: u8) {
        let Some((_, Some(m), next)) = &mut self.current else {
            return;
        };
        let Some((_, fields)) = self.measurements.get_mut(*m) else {
            return;
        };
        let found = match fields.get(*next) {
            Some((f, _)) if f == field => Some(*next),
            _ => fields.iter().position(|(f, _)| f == field),
        };
        *next = match found {
            Some(i) => i + 1,
            None => {
                fields.push((field.to_string(), field_type));
                fields.len()
            }
        };
    }

    /// The schema as the file stores it (see `FORMAT.md`).
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_uvarint(&mut out, self.measurements.len() as u64);
        for (name, fields) in &self.measurements {
            put_uvarint(&mut out, name.len() as u64);
            out.extend_from_slice(name.as_bytes());
            put_uvarint(&mut out, fields.len() as u64);
            for (field, field_type) in fields {
                put_uvarint(&mut out, field.len() as u64);
                out.extend_from_slice(field.as_bytes());
                out.push(*field_type);
            }
        }
        out
    }
}

impl ColFileWriter {
    /// Starts writing what will become `path`, compressing at zstd `level`; its Bloom filter
    /// is sized for `expected_series` (more only raise its false positives).
    pub fn create(
        path: &Path,
        level: i32,
        expected_series: usize,
    ) -> Result<ColFileWriter, ColFileError> {
        let tmp = path.with_extension("tcf.tmp");
        let io = |source| ColFileError::Io {
            path: tmp.clone(),
            source,
        };
        let file = File::create(&tmp).map_err(io)?;
        let encoder = BlockEncoder::new(level).map_err(io)?;
        let index = Spill::create(path.with_extension("tcf.index.tmp"))?;
        let table = Spill::create(path.with_extension("tcf.table.tmp"))?;
        let mut w = ColFileWriter {
            encoder,
            path: path.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(OUT_BUFFER, file),
            offset: 0,
            index,
            entries: 0,
            table,
            entry: Vec::new(),
            bloom: SeriesBloom::with_capacity(expected_series),
            series: 0,
            last_series: Vec::new(),
            series_entries: 0,
            schema: SchemaBuilder::default(),
        };
        w.write_raw(&[MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION])?;
        Ok(w)
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> ColFileError + '_ {
        move |source| ColFileError::Io {
            path: self.tmp.clone(),
            source,
        }
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ColFileError> {
        let r = self.out.write_all(bytes);
        r.map_err(self.io())?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Writes a deduplicated, time-sorted column of `series`/`field` as blocks.
    pub fn write_column(
        &mut self,
        series: &[u8],
        field: &str,
        column: &Column,
    ) -> Result<(), ColFileError> {
        if column.is_empty() {
            return Ok(());
        }
        let mut blocks = Vec::new();
        let mut start = 0;
        while start < column.len() {
            let end = (start + MAX_BLOCK_POINTS).min(column.len());
            let encoded = self.encoder.encode(column, start, end);
            let block = encoded.map_err(self.io())?;
            blocks.push(BlockMeta {
                min_time: column.times[start],
                max_time: column.times[end - 1],
                offset: self.offset,
                size: block.len() as u32,
            });
            self.write_raw(&block)?;
            start = end;
        }
        let field_type = column.values.field_type() as u8;
        self.push_entry(series, field, field_type, &blocks)
    }

    /// Encodes one index entry (see `FORMAT.md`) and adds it, its place in the table, its
    /// series to the Bloom filter and its field to the schema.
    fn push_entry(
        &mut self,
        series: &[u8],
        field: &str,
        field_type: u8,
        blocks: &[BlockMeta],
    ) -> Result<(), ColFileError> {
        let Ok(at) = u32::try_from(self.index.len) else {
            return Err(self.over_4_gib());
        };
        if self.entries == 0 || self.last_series != series {
            self.bloom.add(series);
            self.series += 1;
            self.last_series.clear();
            self.last_series.extend_from_slice(series);
            self.series_entries = 0;
            self.schema.series(series);
        }
        self.schema.field(field, field_type);
        // The key in full on a series' first entry and every `KEY_EVERY`th after it.
        let key = self
            .series_entries
            .is_multiple_of(KEY_EVERY)
            .then_some(series);
        self.series_entries += 1;
        self.entry.clear();
        encode_entry(&mut self.entry, key, field, field_type, blocks, true);
        self.index.push(&self.entry)?;
        self.table.push(&at.to_le_bytes())?;
        self.entries += 1;
        Ok(())
    }

    fn over_4_gib(&self) -> ColFileError {
        ColFileError::Corrupt {
            path: self.tmp.clone(),
            what: "index (over 4 GiB)",
        }
    }

    /// Writes index, entry table, Bloom filter, schema, their chunk sums and the footer,
    /// fsyncs and renames into place.
    pub fn finish(self) -> Result<PathBuf, ColFileError> {
        let mut head = Vec::new();
        put_uvarint(&mut head, self.entries);
        let schema = self.schema.encode();
        let sizes = (
            u32::try_from(head.len() as u64 + self.index.len),
            u32::try_from(self.entries),
            u32::try_from(self.series),
            u32::try_from(self.bloom.words().len()),
            u32::try_from(schema.len()),
        );
        let (Ok(index_len), Ok(entries), Ok(series), Ok(words), Ok(schema_len)) = sizes else {
            return Err(self.over_4_gib());
        };
        let mut extras = Vec::with_capacity(self.bloom.words().len() * 8 + schema.len());
        for word in self.bloom.words() {
            extras.extend_from_slice(&word.to_le_bytes());
        }
        extras.extend_from_slice(&schema);
        let ColFileWriter {
            path,
            tmp,
            mut out,
            offset: index_offset,
            index,
            table,
            ..
        } = self;
        let io = |source| ColFileError::Io {
            path: tmp.clone(),
            source,
        };
        let mut region = ChunkSummer::new(&mut out);
        region.write_all(&head).map_err(io)?;
        index.copy_into(&mut region, &tmp)?;
        table.copy_into(&mut region, &tmp)?;
        region.write_all(&extras).map_err(io)?;
        let sums: Vec<u8> = region
            .finish()
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        out.write_all(&sums).map_err(io)?;
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        footer.extend_from_slice(&index_offset.to_le_bytes());
        for n in [
            index_len,
            entries,
            series,
            words,
            schema_len,
            CHUNK,
            crc32fast::hash(&sums),
        ] {
            footer.extend_from_slice(&n.to_le_bytes());
        }
        footer.extend_from_slice(MAGIC);
        out.write_all(&footer).map_err(io)?;
        out.flush().map_err(io)?;
        out.get_ref().sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(|source| ColFileError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}
