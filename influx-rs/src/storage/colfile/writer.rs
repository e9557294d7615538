//! Writing a column file: blocks as columns come, the index they make kept in a spill file
//! beside it (not in memory) and appended at the end, then the footer.
//!
//! The index grows with every (series, field) the file holds — about 60 bytes each encoded,
//! several times that as Rust values. A compaction of a shard of two million series held
//! hundreds of MiB of it until the end; spilled, the writer's memory is its buffers whatever
//! the number of series.

use super::encode::{BlockEncoder, MAX_BLOCK_POINTS};
use super::{BlockMeta, ColFileError, FOOTER_LEN, MAGIC, VERSION};
use crate::storage::column::Column;
use crate::storage::varint::{put_uvarint, zigzag};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Buffer of the file being written.
const OUT_BUFFER: usize = 1 << 20;
/// Buffer of the index spill.
const SPILL_BUFFER: usize = 256 << 10;

/// Writes a column file; entries must come in (series key, field) order.
pub struct ColFileWriter {
    encoder: BlockEncoder,
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    index: IndexSpill,
}

/// The index entries written so far, encoded as in the file, in a temporary file of their own.
struct IndexSpill {
    path: PathBuf,
    out: BufWriter<File>,
    entries: u64,
    len: u64,
    crc: crc32fast::Hasher,
    /// One entry's encoding, reused.
    entry: Vec<u8>,
}

impl IndexSpill {
    fn create(path: PathBuf) -> Result<IndexSpill, ColFileError> {
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
        Ok(IndexSpill {
            path,
            out: BufWriter::with_capacity(SPILL_BUFFER, file),
            entries: 0,
            len: 0,
            crc: crc32fast::Hasher::new(),
            entry: Vec::new(),
        })
    }

    fn io(&self) -> impl FnOnce(std::io::Error) -> ColFileError + '_ {
        move |source| ColFileError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Encodes one entry (see `FORMAT.md`) and adds it.
    fn push(
        &mut self,
        series: &[u8],
        field: &str,
        field_type: u8,
        blocks: &[BlockMeta],
    ) -> Result<(), ColFileError> {
        let e = &mut self.entry;
        e.clear();
        put_uvarint(e, series.len() as u64);
        e.extend_from_slice(series);
        put_uvarint(e, field.len() as u64);
        e.extend_from_slice(field.as_bytes());
        e.push(field_type);
        put_uvarint(e, blocks.len() as u64);
        for b in blocks {
            put_uvarint(e, zigzag(b.min_time));
            put_uvarint(e, zigzag(b.max_time));
            put_uvarint(e, b.offset);
            put_uvarint(e, u64::from(b.size));
        }
        self.crc.update(&self.entry);
        self.len += self.entry.len() as u64;
        self.entries += 1;
        let written = self.out.write_all(&self.entry);
        written.map_err(self.io())
    }

    /// The spilled entries from their start, for copying into the column file.
    fn into_reader(self) -> Result<(PathBuf, File), ColFileError> {
        let io = |source| ColFileError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok((self.path, file))
    }
}

impl ColFileWriter {
    /// Starts writing what will become `path`, compressing at zstd `level`.
    pub fn create(path: &Path, level: i32) -> Result<ColFileWriter, ColFileError> {
        let tmp = path.with_extension("tcf.tmp");
        let io = |source| ColFileError::Io {
            path: tmp.clone(),
            source,
        };
        let file = File::create(&tmp).map_err(io)?;
        let encoder = BlockEncoder::new(level).map_err(io)?;
        let index = IndexSpill::create(path.with_extension("tcf.index.tmp"))?;
        let mut w = ColFileWriter {
            encoder,
            path: path.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(OUT_BUFFER, file),
            offset: 0,
            index,
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
        self.index.push(series, field, field_type, &blocks)
    }

    /// Writes index and footer, fsyncs and renames into place.
    pub fn finish(self) -> Result<PathBuf, ColFileError> {
        let ColFileWriter {
            path,
            tmp,
            mut out,
            offset: index_offset,
            index,
            ..
        } = self;
        let io = |source| ColFileError::Io {
            path: tmp.clone(),
            source,
        };
        let mut head = Vec::new();
        put_uvarint(&mut head, index.entries);
        let Ok(index_len) = u32::try_from(head.len() as u64 + index.len) else {
            return Err(ColFileError::Corrupt {
                path: tmp,
                what: "index (over 4 GiB)",
            });
        };
        let mut crc = crc32fast::Hasher::new();
        crc.update(&head);
        crc.combine(&index.crc);
        let crc = crc.finalize();
        out.write_all(&head).map_err(io)?;
        let spilled = index.len;
        let (spill_path, mut spill) = index.into_reader()?;
        let copied = std::io::copy(&mut spill, &mut out).map_err(io)?;
        drop(spill);
        std::fs::remove_file(&spill_path).map_err(|source| ColFileError::Io {
            path: spill_path.clone(),
            source,
        })?;
        if copied != spilled {
            return Err(ColFileError::Corrupt {
                path: spill_path,
                what: "index spill (shorter than written)",
            });
        }
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        footer.extend_from_slice(&index_offset.to_le_bytes());
        footer.extend_from_slice(&index_len.to_le_bytes());
        footer.extend_from_slice(&crc.to_le_bytes());
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
