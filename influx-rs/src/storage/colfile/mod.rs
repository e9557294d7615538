//! Immutable column files (`*.tcf`): blocks of compressed columns, then an index of
//! (series key, field) → blocks with their time ranges, then a fixed footer. See `FORMAT.md`.
//!
//! Files are written to a `.tmp` name, fsynced and renamed, so a file with the final name is
//! always complete. A block that fails its CRC is reported with the file and series and
//! skipped; the rest of the file is still served.

pub mod encode;
mod layout;
mod writer;

pub use writer::ColFileWriter;

use crate::storage::block_cache::{next_file_id, BlockCache};
use crate::storage::checked_map::CheckedMap;
use crate::storage::column::Column;
use crate::storage::value::FieldType;
use crate::storage::varint::{get_bytes, get_uvarint, unzigzag};
use encode::{decode_block, BlockError};
use layout::{
    open_version_1, open_version_2, read_u32, read_u64, Bloom, EntryTable, Footer2, Probing,
    SeriesBloom,
};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"TKCF";
/// How many entries past a read's last one a lookup walks one by one before it gallops.
const NEAR_ENTRIES: usize = 48;
/// The version written: 2 stores the entry table, Bloom filter and schema after the index; 3
/// (the same layout) may store a block's points without zstd (see `encode.rs`), puts a key's
/// Bloom filter bits in one cache line, and writes a series' key once for all its fields
/// (see [`EntryCoding`]).
const VERSION: u8 = 3;
/// Version 2: every block compressed, Bloom bits spread (still read: the layout is version 3's).
const VERSION_2: u8 = 2;
/// Version 1: index only, the rest worked out at open by walking it (still read).
const VERSION_1: u8 = 1;
/// Version 1's footer: index offset u64 | index len u32 | index crc32 u32 | magic.
const FOOTER_LEN_V1: usize = 8 + 4 + 4 + 4;
/// Version 2's footer: index offset u64 | index len u32 | entries u32 | series u32 | Bloom
/// words u32 | schema len u32 | chunk size u32 | crc32 of the chunk sums u32 | magic.
const FOOTER_LEN: usize = 8 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4;

/// Column file errors.
#[derive(Debug, thiserror::Error)]
pub enum ColFileError {
    /// File I/O failed.
    #[error("column file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Header, footer or index are damaged: the whole file is unusable.
    #[error("column file {path}: corrupt {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which part.
        what: &'static str,
    },
    /// One block is damaged; the rest of the file is fine.
    #[error("column file {path}: series {series:?} field {field:?}: {source}")]
    CorruptBlock {
        /// The file.
        path: PathBuf,
        /// The series key.
        series: String,
        /// The field.
        field: String,
        /// What is wrong with the block.
        source: BlockError,
    },
}

/// Where one block sits and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    /// Smallest time in the block.
    pub min_time: i64,
    /// Largest time in the block.
    pub max_time: i64,
    /// Byte offset in the file.
    pub offset: u64,
    /// Byte length.
    pub size: u32,
}

/// The blocks of one field of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldBlocks {
    /// Field name.
    pub field: String,
    /// Its type.
    pub field_type: FieldType,
    /// Blocks in time order.
    pub blocks: Vec<BlockMeta>,
}

/// One (series, field) entry of a column file's index, with where its blocks are.
#[derive(Debug)]
pub struct IndexEntry<'a> {
    /// The series key.
    pub series: &'a [u8],
    /// The field.
    pub field: &'a str,
    blocks: Vec<BlockMeta>,
}

/// A series key with its hash (the one the Bloom filters use), worked out once for a read that
/// looks for the series in several files.
#[derive(Debug, Clone, Copy)]
pub struct SeriesProbe<'a> {
    key: &'a [u8],
    hash: u64,
}

impl<'a> SeriesProbe<'a> {
    /// The probe of series `key`.
    pub fn new(key: &'a [u8]) -> SeriesProbe<'a> {
        SeriesProbe {
            key,
            hash: crate::storage::hll::hash(key),
        }
    }
}

/// Where each column file's last lookup of one read ended (by file id), so that a read of many
/// series in key order searches each file forward from there instead of from its start.
#[derive(Debug, Default)]
pub struct ReadCursor {
    hints: Vec<(u64, usize)>,
}

impl ReadCursor {
    /// The position to start file `file`'s next lookup from (0 for a file not read yet).
    fn hint_mut(&mut self, file: u64) -> &mut usize {
        let i = match self.hints.iter().position(|(id, _)| *id == file) {
            Some(i) => i,
            None => {
                self.hints.push((file, 0));
                self.hints.len() - 1
            }
        };
        &mut self.hints[i].1
    }
}

/// An open column file with its index mapped — the bytes the file holds (checked at open,
/// then handed back to the page cache, so that an idle file costs no resident memory) and
/// where each (series, field) entry starts in them: lookups binary-search the entries by their
/// heads and decode only the blocks of the one they find. A version 2 file stores that table,
/// its Bloom filter and its schema after the index, so opening it walks nothing; a version 1
/// file's are worked out at open.
#[derive(Debug)]
pub struct ColFile {
    /// Process-unique: the key of its blocks in `blocks`.
    id: u64,
    path: PathBuf,
    file: File,
    size: u64,
    /// The index's bytes, mapped from the file, followed (version 2) by the entry table,
    /// Bloom filter and schema; checked a chunk at a time as reads touch them (version 2) or
    /// whole at open (version 1).
    index: CheckedMap,
    /// How long the index is (the rest of `index` is the table, Bloom filter and schema).
    index_len: usize,
    /// Where each (series, field) entry starts in `index`, in (key, field) order.
    entries: EntryTable,
    /// Which series the file may hold, so that a read skips files without searching them.
    bloom: Bloom,
    /// How many series the file holds.
    series: usize,
    /// Where the stored schema is in `index` (version 2).
    schema: Option<std::ops::Range<usize>>,
    /// How its index entries are written (by version).
    coding: EntryCoding,
    blocks: Arc<BlockCache>,
}

/// A file's measurements, each with its fields and their types (see [`ColFile::stored_schema`]).
pub type StoredSchema = Vec<(String, Vec<(String, FieldType)>)>;

/// How a file's index entries are written (see `writer::encode_entry` and `FORMAT.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryCoding {
    /// Versions 1 and 2: every entry's key in full, each block's largest time as a time.
    Full,
    /// Version 3: a key as its length + 1 and its bytes, or as 0 for the key of the entry
    /// before (a series' second field on); each block's largest time as its distance from
    /// its smallest.
    Shared,
}

/// A series' entries after its first carry its key again every `KEY_EVERY`th one, so that
/// a lookup landing among the entries of a wide series steps back at most `KEY_EVERY - 1`
/// entries to find it.
pub(super) const KEY_EVERY: usize = 8;

/// One (series, field) entry of the index, its blocks not decoded yet.
struct RawEntry<'a> {
    series: &'a [u8],
    field: &'a [u8],
    field_type: FieldType,
    /// The bytes it was read from.
    bytes: &'a [u8],
    /// Where its block list starts in `bytes`.
    blocks_at: usize,
    /// How many blocks.
    blocks: usize,
    coding: EntryCoding,
}

impl RawEntry<'_> {
    /// Decodes its blocks.
    fn blocks(&self) -> Vec<BlockMeta> {
        let mut pos = self.blocks_at;
        (0..self.blocks)
            .map_while(|_| read_block_meta(self.bytes, &mut pos, self.coding))
            .collect()
    }

    fn field_blocks(&self) -> FieldBlocks {
        FieldBlocks {
            field: String::from_utf8_lossy(self.field).into_owned(),
            field_type: self.field_type,
            blocks: self.blocks(),
        }
    }
}

/// The key of the entry at `*pos`: `Some(None)` when it is the key of the entry before.
fn read_key<'a>(index: &'a [u8], pos: &mut usize, coding: EntryCoding) -> Option<Option<&'a [u8]>> {
    let n = get_uvarint(index, pos)?;
    let len = match coding {
        EntryCoding::Full => n,
        EntryCoding::Shared if n == 0 => return Some(None),
        EntryCoding::Shared => n - 1,
    };
    get_bytes(index, pos, usize::try_from(len).ok()?).map(Some)
}

/// How the entry at `at` sorts against (`series`, `field`), reading no more of it than the
/// comparison needs (with `field` `None`, the series' first entry sorts as equal); `before`
/// gives the key of the entry before, for an entry without its own.
fn compare_head<'a>(
    index: &'a [u8],
    at: usize,
    (series, field): (&[u8], Option<&[u8]>),
    coding: EntryCoding,
    before: impl FnOnce() -> Option<&'a [u8]>,
) -> Option<Ordering> {
    let pos = &mut { at };
    let key = match read_key(index, pos, coding)? {
        Some(key) => key,
        None => before()?,
    };
    match (key.cmp(series), field) {
        (Ordering::Equal, Some(field)) => {
            let flen = usize::try_from(get_uvarint(index, pos)?).ok()?;
            Some(get_bytes(index, pos, flen)?.cmp(field))
        }
        (order, _) => Some(order),
    }
}

/// Reads the head of the entry at `at` (key, field, type, block count), not its blocks;
/// `before` gives the key of the entry before, for an entry without its own.
fn read_head<'a>(
    index: &'a [u8],
    at: usize,
    coding: EntryCoding,
    before: impl FnOnce() -> Option<&'a [u8]>,
) -> Option<RawEntry<'a>> {
    let pos = &mut { at };
    let series = match read_key(index, pos, coding)? {
        Some(key) => key,
        None => before()?,
    };
    let flen = usize::try_from(get_uvarint(index, pos)?).ok()?;
    let field = get_bytes(index, pos, flen)?;
    let field_type = FieldType::from_tag(*get_bytes(index, pos, 1)?.first()?)?;
    let blocks = usize::try_from(get_uvarint(index, pos)?).ok()?;
    Some(RawEntry {
        series,
        field,
        field_type,
        bytes: index,
        blocks_at: *pos,
        blocks,
        coding,
    })
}

fn read_block_meta(index: &[u8], pos: &mut usize, coding: EntryCoding) -> Option<BlockMeta> {
    let min_time = unzigzag(get_uvarint(index, pos)?);
    let max_time = match coding {
        EntryCoding::Full => unzigzag(get_uvarint(index, pos)?),
        EntryCoding::Shared => min_time.wrapping_add(get_uvarint(index, pos)? as i64),
    };
    Some(BlockMeta {
        min_time,
        max_time,
        offset: get_uvarint(index, pos)?,
        size: u32::try_from(get_uvarint(index, pos)?).ok()?,
    })
}

impl ColFile {
    /// Opens `path` and checks its index; its blocks are decoded through `blocks`.
    pub fn open(path: &Path, blocks: Arc<BlockCache>) -> Result<ColFile, ColFileError> {
        let io = |source| ColFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let corrupt = |what| ColFileError::Corrupt {
            path: path.to_path_buf(),
            what,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 5];
        if size < (5 + FOOTER_LEN_V1) as u64 {
            return Err(corrupt("footer"));
        }
        file.read_exact_at(&mut head, 0).map_err(io)?;
        let version = head[4];
        if &head[..4] != MAGIC || ![VERSION, VERSION_2, VERSION_1].contains(&version) {
            return Err(corrupt("header"));
        }
        let footer_len = if version == VERSION_1 {
            FOOTER_LEN_V1
        } else {
            FOOTER_LEN
        };
        if size < (5 + footer_len) as u64 {
            return Err(corrupt("footer"));
        }
        let mut footer = [0u8; FOOTER_LEN];
        let footer = &mut footer[..footer_len];
        file.read_exact_at(footer, size - footer_len as u64)
            .map_err(io)?;
        let field = |at: usize| read_u32(footer, at).ok_or_else(|| corrupt("footer"));
        if &footer[footer_len - 4..] != MAGIC {
            return Err(corrupt("footer"));
        }
        let index_offset = read_u64(footer, 0).ok_or_else(|| corrupt("footer"))?;
        let index_len = field(8)?;
        if index_len == 0 {
            return Err(corrupt("footer"));
        }
        let opened = if version == VERSION_1 {
            open_version_1(path, &file, size, index_offset, index_len, field(12)?)
        } else {
            let v2 = Footer2 {
                index_offset,
                index_len,
                entries: field(12)?,
                series: field(16)?,
                words: field(20)?,
                schema_len: field(24)?,
                chunk: field(28)?,
                sums_crc: field(32)?,
            };
            let probing = if version == VERSION_2 {
                Probing::Spread
            } else {
                Probing::Blocked
            };
            open_version_2(path, &file, size, v2, probing)
        };
        let (index, entries, bloom, series, schema) = opened?;
        let coding = if version >= VERSION {
            EntryCoding::Shared
        } else {
            EntryCoding::Full
        };
        Ok(ColFile {
            coding,
            id: next_file_id(),
            path: path.to_path_buf(),
            file,
            size,
            index,
            index_len: index_len as usize,
            entries,
            bloom,
            series,
            schema,
            blocks,
        })
    }

    /// Hands the index's resident pages back to the page cache, once whoever opened the file
    /// has walked it: an idle file then costs no resident memory, and reads fault in only
    /// the pages they search.
    pub fn release_index_pages(&self) {
        // SAFETY: a read-only shared file mapping: dropped pages are read again from the
        // file, which does not change (see `open`), so every later read sees the same bytes.
        let advised = unsafe {
            self.index
                .unchecked()
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
        if let Err(e) = advised {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(DONTNEED) of a column file index");
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many (series, field) entries the file holds.
    fn entry_count(&self) -> usize {
        match &self.entries {
            EntryTable::Walked(at) => at.len(),
            EntryTable::Stored { len, .. } => *len,
        }
    }

    /// Where entry `i` starts in the index.
    fn entry_at(&self, i: usize) -> Option<usize> {
        match &self.entries {
            EntryTable::Walked(at) => at.get(i).map(|&at| at as usize),
            &EntryTable::Stored { at, len, base } => {
                let at = at + i.checked_mul(4).filter(|_| i < len)?;
                let offset = read_u32(self.index.get(at..at + 4)?, 0)?;
                Some(base + offset as usize)
            }
        }
    }

    /// The bytes of entry `i` (up to where the next one starts), once checked.
    fn entry(&self, i: usize) -> Option<&[u8]> {
        let start = self.entry_at(i)?;
        let end = if i + 1 == self.entry_count() {
            self.index_len
        } else {
            self.entry_at(i + 1)?
        };
        self.index.get(start..end)
    }

    /// How entry `i` sorts against (`series`, `field`) (see [`compare_head`]). A search
    /// compares many entries and needs only their heads: the bytes checked are the first
    /// `HEAD_BYTES` of the entry (one table read, not the two its end takes), or the whole
    /// entry when its key runs past them.
    fn compare_entry(&self, i: usize, series: &[u8], field: Option<&[u8]>) -> Option<Ordering> {
        const HEAD_BYTES: usize = 256;
        let start = self.entry_at(i)?;
        let head = self
            .index
            .get(start..(start + HEAD_BYTES).min(self.index_len))?;
        let target = (series, field);
        compare_head(head, 0, target, self.coding, || self.key_before(i)).or_else(|| {
            compare_head(self.entry(i)?, 0, target, self.coding, || {
                self.key_before(i)
            })
        })
    }

    /// The key of the entry before entry `i` — of the last one before it that has its own,
    /// at most `KEY_EVERY` back (see [`EntryCoding::Shared`]).
    fn key_before(&self, i: usize) -> Option<&[u8]> {
        let mut j = i;
        for _ in 0..KEY_EVERY {
            j = j.checked_sub(1)?;
            if let Some(key) = read_key(self.entry(j)?, &mut 0, self.coding)? {
                return Some(key);
            }
        }
        None
    }

    /// Whether a part of the index failed its check when read (its entries were not served):
    /// a compaction that walked the file must not replace it.
    pub fn damaged(&self) -> bool {
        self.index.damaged()
    }

    /// The first of entries `lo..hi` for which `before` (given the entry's number) is false,
    /// when it holds for a prefix of them (binary search).
    fn partition_point(
        &self,
        mut lo: usize,
        mut hi: usize,
        before: impl Fn(usize) -> bool,
    ) -> usize {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// How many series the file holds.
    pub fn series_count(&self) -> usize {
        self.series
    }

    /// The measurements of the file's entries with their fields' types, as a version 2 file
    /// stores them (measurements and fields in the order first met, each field with the type
    /// of its first entry), so that opening a shard need not walk every entry for them;
    /// `None` for a version 1 file or a stored schema that does not decode.
    pub fn stored_schema(&self) -> Option<StoredSchema> {
        let bytes = self.index.get(self.schema.clone()?)?;
        let pos = &mut 0;
        let text = |pos: &mut usize| {
            let len = usize::try_from(get_uvarint(bytes, pos)?).ok()?;
            String::from_utf8(get_bytes(bytes, pos, len)?.to_vec()).ok()
        };
        let mut schema = Vec::new();
        for _ in 0..get_uvarint(bytes, pos)? {
            let measurement = text(pos)?;
            let mut fields = Vec::new();
            for _ in 0..get_uvarint(bytes, pos)? {
                let field = text(pos)?;
                let field_type = FieldType::from_tag(*get_bytes(bytes, pos, 1)?.first()?)?;
                fields.push((field, field_type));
            }
            schema.push((measurement, fields));
        }
        (*pos == bytes.len()).then_some(schema)
    }

    fn head(&self, i: usize) -> Option<RawEntry<'_>> {
        read_head(self.entry(i)?, 0, self.coding, || self.key_before(i))
    }

    /// The first entry at or after (`series`, `field`), found by binary search (`field`
    /// `None`: the series' first entry).
    fn search(&self, series: &[u8], field: Option<&[u8]>) -> usize {
        self.search_from(0, SeriesProbe::new(series), field)
            .unwrap_or(self.entry_count())
    }

    /// [`ColFile::search`] starting at entry `hint` — where the previous lookup of a read in
    /// key order ended — by galloping forward from it (a few comparisons when the next series
    /// is near, instead of a whole binary search); a hint past the target, or any other, only
    /// falls back to the whole search, so every hint gives the right answer. `None` when the
    /// Bloom filter rules the series out.
    fn search_from(
        &self,
        hint: usize,
        probe: SeriesProbe<'_>,
        field: Option<&[u8]>,
    ) -> Option<usize> {
        if !self.bloom.may_hold(&self.index, probe.hash) {
            return None;
        }
        let series = probe.key;
        let less = |i: usize| self.compare_entry(i, series, field) == Some(Ordering::Less);
        let n = self.entry_count();
        let whole = || Some(self.partition_point(0, n, less));
        let is_before = |head: Option<RawEntry<'_>>| {
            head.is_some_and(|e| match field {
                None => e.series < series,
                Some(field) => (e.series, e.field) < (series, field),
            })
        };
        // The entry before the hint, then the next ones, one by one: they sit side by side in
        // the index (and their offsets in the table), where the gallop's far probes each cost
        // a cache miss or two; read in order, an entry without its own key needs no step back.
        let Some(start) = hint.checked_sub(1).filter(|&i| i < n) else {
            return whole();
        };
        let mut walk = self.heads_from(start);
        // Every entry before the hint sorts before the target when the one just before does.
        if !walk.next().is_some_and(|(_, head)| is_before(head)) {
            return whole();
        }
        let near = hint.saturating_add(NEAR_ENTRIES).min(n);
        for (i, head) in walk.take(near - hint) {
            if !is_before(head) {
                return Some(i);
            }
        }
        let mut lo = near;
        let mut step = 1usize;
        let hi = loop {
            let probe = lo.saturating_add(step - 1);
            if probe >= n {
                break n;
            }
            if !less(probe) {
                break probe;
            }
            lo = probe + 1;
            step = step.saturating_mul(2);
        };
        Some(self.partition_point(lo, hi, less))
    }

    /// The entries of `series`.
    fn entries_of<'a>(&'a self, series: &'a [u8]) -> impl Iterator<Item = RawEntry<'a>> + 'a {
        self.heads_from(self.search(series, None))
            .map_while(move |(_, e)| e.filter(|e| e.series == series))
    }

    /// The heads of entries `from..`, each with its number, read in order: an entry without
    /// a key of its own takes the one before's as the walk goes, instead of stepping back to
    /// it (a wide series' entries would each step back up to `KEY_EVERY - 1`); `None` for an
    /// entry that does not read (damaged).
    fn heads_from(&self, from: usize) -> impl Iterator<Item = (usize, Option<RawEntry<'_>>)> + '_ {
        let mut before: Option<&[u8]> = None;
        (from..self.entry_count()).map(move |i| {
            let known = before.take();
            let head = self.entry(i).and_then(|bytes| {
                read_head(bytes, 0, self.coding, || {
                    known.or_else(|| self.key_before(i))
                })
            });
            before = head.as_ref().map(|e| e.series);
            (i, head)
        })
    }

    /// Every series key, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut last: Option<&[u8]> = None;
        self.heads_from(0).filter_map(move |(_, e)| {
            let key = e?.series;
            (last != Some(key)).then(|| {
                last = Some(key);
                key
            })
        })
    }

    /// Every (series key, field, type) the file holds, sorted, without decoding blocks.
    pub fn field_types(&self) -> impl Iterator<Item = (&[u8], &str, FieldType)> + '_ {
        self.heads_from(0).filter_map(|(_, e)| {
            let e = e?;
            Some((e.series, std::str::from_utf8(e.field).ok()?, e.field_type))
        })
    }

    /// The fields stored for `series`.
    pub fn fields(&self, series: &[u8]) -> Vec<FieldBlocks> {
        self.entries_of(series).map(|e| e.field_blocks()).collect()
    }

    /// Whether the file holds `series`.
    pub fn has_series(&self, series: &[u8]) -> bool {
        self.entries_of(series).next().is_some()
    }

    /// Points of `series`/`field` in `[min, max]`; damaged blocks come back as errors after
    /// the points of the good ones.
    pub fn read(
        &self,
        series: &[u8],
        field: &str,
        min: i64,
        max: i64,
    ) -> (Option<Column>, Vec<ColFileError>) {
        self.read_blocks(series, field, (min, max), true)
    }

    /// [`ColFile::read`] for reads that come in key order: `cursor` keeps where this file's
    /// last lookup ended, and the next one starts there.
    pub fn read_next(
        &self,
        cursor: &mut ReadCursor,
        probe: SeriesProbe<'_>,
        field: &str,
        min: i64,
        max: i64,
    ) -> (Option<Column>, Vec<ColFileError>) {
        let series = probe.key;
        let hint = cursor.hint_mut(self.id);
        let Some(at) = self.search_from(*hint, probe, Some(field.as_bytes())) else {
            return (None, Vec::new());
        };
        *hint = at;
        let blocks = self.entry_blocks(at, series, field, min, max);
        self.decode_blocks(blocks, series, field, (min, max), true)
    }

    /// Every (series, field) entry with its blocks, in the file's order: how a compaction walks
    /// its input files side by side (an entry whose field name is not UTF-8 is skipped).
    pub fn index_entries(&self) -> impl Iterator<Item = IndexEntry<'_>> + '_ {
        self.heads_from(0).filter_map(|(_, e)| {
            let e = e?;
            Some(IndexEntry {
                series: e.series,
                field: std::str::from_utf8(e.field).ok()?,
                blocks: e.blocks(),
            })
        })
    }

    /// Every point of `entry` (one of this file's), decoded without going through the block
    /// cache: a compaction reads each block once, and would only push out the blocks queries use.
    pub fn read_entry_uncached(
        &self,
        entry: IndexEntry<'_>,
    ) -> (Option<Column>, Vec<ColFileError>) {
        let range = (i64::MIN, i64::MAX);
        self.decode_blocks(entry.blocks, entry.series, entry.field, range, false)
    }

    fn read_blocks(
        &self,
        series: &[u8],
        field: &str,
        (min, max): (i64, i64),
        cached: bool,
    ) -> (Option<Column>, Vec<ColFileError>) {
        let blocks = self.blocks_in(series, field, min, max);
        self.decode_blocks(blocks, series, field, (min, max), cached)
    }

    /// Decodes `blocks` of `series`/`field` into one column trimmed to `[min, max]`; damaged
    /// blocks come back as errors.
    fn decode_blocks(
        &self,
        blocks: Vec<BlockMeta>,
        series: &[u8],
        field: &str,
        (min, max): (i64, i64),
        cached: bool,
    ) -> (Option<Column>, Vec<ColFileError>) {
        let mut out: Option<Column> = None;
        let mut errors = Vec::new();
        for b in blocks {
            let block = if cached {
                self.blocks
                    .get_or_decode(self.id, b.offset, || self.read_block(&b))
            } else {
                self.read_block(&b).map(Arc::new)
            };
            match block {
                Ok(block) => {
                    let c = if b.min_time >= min && b.max_time <= max {
                        Cow::Borrowed(&*block)
                    } else {
                        Cow::Owned(block.range(min, max))
                    };
                    match &mut out {
                        Some(acc) => acc.merge(&c),
                        None => out = Some(c.into_owned()),
                    }
                }
                Err(source) => errors.push(ColFileError::CorruptBlock {
                    path: self.path.clone(),
                    series: String::from_utf8_lossy(series).into_owned(),
                    field: field.to_string(),
                    source,
                }),
            }
        }
        (out, errors)
    }

    /// The blocks a [`ColFile::read`] of `series`/`field` in `[min, max]` would decode.
    pub fn blocks_in(&self, series: &[u8], field: &str, min: i64, max: i64) -> Vec<BlockMeta> {
        let at = self.search(series, Some(field.as_bytes()));
        self.entry_blocks(at, series, field, min, max)
    }

    /// The blocks in `[min, max]` of entry `at`, when it is `series`/`field`'s.
    fn entry_blocks(
        &self,
        at: usize,
        series: &[u8],
        field: &str,
        min: i64,
        max: i64,
    ) -> Vec<BlockMeta> {
        let want = (series, field.as_bytes());
        self.head(at)
            .filter(|e| (e.series, e.field) == want)
            .map(|e| e.blocks())
            .unwrap_or_default()
            .into_iter()
            .filter(|b| b.max_time >= min && b.min_time <= max)
            .collect()
    }

    fn read_block(&self, b: &BlockMeta) -> Result<Column, BlockError> {
        let mut buf = vec![0u8; b.size as usize];
        self.file
            .read_exact_at(&mut buf, b.offset)
            .map_err(|_| BlockError::Malformed("unreadable"))?;
        decode_block(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::checked_map;
    use crate::storage::value::Value;

    fn column(n: i64, ty_float: bool) -> Column {
        let mut c = Column::new(if ty_float {
            FieldType::Float
        } else {
            FieldType::Integer
        });
        for t in 0..n {
            let v = if ty_float {
                Value::Float(t as f64 / 3.0)
            } else {
                Value::Integer(t * 2)
            };
            c.push(t * 10, &v);
        }
        c
    }

    /// The bytes of a version 1 file with the blocks and entries of the (version 3) file at
    /// `path`, its index written as version 1 writes one (every key in full, largest times as
    /// times) and followed by version 1's footer: no table, Bloom filter or schema.
    fn as_version_1(path: &Path) -> Vec<u8> {
        let bytes = std::fs::read(path).unwrap();
        let f = ColFile::open(path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        let footer = &bytes[bytes.len() - FOOTER_LEN..];
        let index_offset = read_u64(footer, 0).unwrap();
        let mut v1 = bytes[..index_offset as usize].to_vec();
        v1[4] = VERSION_1;
        let mut index = Vec::new();
        crate::storage::varint::put_uvarint(&mut index, f.entry_count() as u64);
        for (e, (_, _, ty)) in f.index_entries().zip(f.field_types()) {
            let (key, blocks) = (Some(e.series), &e.blocks);
            writer::encode_entry(&mut index, key, e.field, ty as u8, blocks, false);
        }
        let crc = crc32fast::hash(&index);
        v1.extend_from_slice(&index);
        v1.extend_from_slice(&index_offset.to_le_bytes());
        v1.extend_from_slice(&(index.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc.to_le_bytes());
        v1.extend_from_slice(MAGIC);
        v1
    }

    /// A series of more fields than entries between its key's repeats: every field is found
    /// by a lookup landing anywhere among them, with hints from anywhere, and reads back its
    /// points; its neighbours' entries are not taken for its.
    #[test]
    fn every_field_of_a_wide_series_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001-01.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 3).unwrap();
        let fields: Vec<String> = (0..3 * KEY_EVERY + 5).map(|i| format!("f{i:03}")).collect();
        let keys = ["cpu,host=a", "cpu,host=b", "cpu,host=c"];
        for (k, key) in keys.iter().enumerate() {
            let wide = if k == 1 { &fields[..] } else { &fields[..2] };
            for (i, field) in wide.iter().enumerate() {
                w.write_column(key.as_bytes(), field, &column(i as i64 + 1, true))
                    .unwrap();
            }
        }
        w.finish().unwrap();
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        assert_eq!(f.series_count(), 3);
        assert_eq!(f.keys().collect::<Vec<_>>(), keys.map(str::as_bytes));
        let wide = f.fields(b"cpu,host=b");
        assert_eq!(wide.len(), fields.len());
        for (i, field) in fields.iter().enumerate() {
            assert_eq!(wide[i].field, *field);
            let col = f.read(b"cpu,host=b", field, i64::MIN, i64::MAX).0.unwrap();
            assert_eq!(col.len(), i + 1, "{field}");
            for hint in (0..f.entry_count()).step_by(7) {
                let probe = SeriesProbe::new(b"cpu,host=b");
                let at = f.search_from(hint, probe, Some(field.as_bytes()));
                assert_eq!(at, Some(2 + i), "{field} from {hint}");
            }
        }
        assert_eq!(f.fields(b"cpu,host=c").len(), 2);
        assert!(f.read(b"cpu,host=c", "f010", 0, i64::MAX).0.is_none());
        let v1_path = dir.path().join("00000002-01.tcf");
        std::fs::write(&v1_path, as_version_1(&path)).unwrap();
        let v1 = ColFile::open(&v1_path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        for key in keys {
            assert_eq!(f.fields(key.as_bytes()), v1.fields(key.as_bytes()));
        }
    }

    /// A version 2 file answers as the version 1 file with the same index does (whose table,
    /// Bloom filter and series count are worked out by walking it), and stores the schema a
    /// walk of its entries gives.
    #[test]
    fn a_version_2_file_answers_as_its_version_1_twin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001-01.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 500).unwrap();
        let mut keys = Vec::new();
        for i in 0..500 {
            let m = ["cpu", "disk", "m\\ e\\,m"][i % 3];
            keys.push(format!("{m},host=h{i:04}"));
        }
        keys.sort();
        for (i, k) in keys.iter().enumerate() {
            // Fields differ by series, and `u` changes type: the first entry's type counts.
            w.write_column(k.as_bytes(), "a", &column(3, true)).unwrap();
            if i % 2 == 0 {
                w.write_column(k.as_bytes(), "b", &column(2, false))
                    .unwrap();
            }
            w.write_column(k.as_bytes(), "u", &column(2, i % 7 != 3))
                .unwrap();
        }
        w.finish().unwrap();
        let v1_path = dir.path().join("00000002-01.tcf");
        std::fs::write(&v1_path, as_version_1(&path)).unwrap();
        let blocks = Arc::new(BlockCache::new(1 << 20));
        let v2 = ColFile::open(&path, Arc::clone(&blocks)).unwrap();
        let v1 = ColFile::open(&v1_path, blocks).unwrap();
        assert!(matches!(v1.entries, EntryTable::Walked(_)));
        assert!(matches!(v2.entries, EntryTable::Stored { .. }));
        assert_eq!((v2.series_count(), v1.series_count()), (500, 500));
        assert!(v1.field_types().eq(v2.field_types()));
        for k in keys.iter().map(String::as_bytes) {
            assert_eq!(v2.fields(k), v1.fields(k));
            let read = |f: &ColFile| f.read(k, "u", 0, 100).0.map(|c| c.times);
            assert_eq!(read(&v2), read(&v1));
            assert!(v2.has_series(k));
        }
        assert!(!v2.has_series(b"cpu,host=h9999"));
        assert_eq!(v1.stored_schema(), None);
        let mut walked: StoredSchema = Vec::new();
        for (key, field, field_type) in v1.field_types() {
            let m = lineproto::series_key::measurement(key).unwrap();
            if walked.last().is_none_or(|(last, _)| *last != m) {
                walked.push((m, Vec::new()));
            }
            let fields = &mut walked.last_mut().unwrap().1;
            if !fields.iter().any(|(f, _)| f == field) {
                fields.push((field.to_string(), field_type));
            }
        }
        assert_eq!(walked.len(), 3);
        assert_eq!(v2.stored_schema(), Some(walked));
    }

    /// Damaged chunk sums fail the file at open; a damaged chunk of the index, table, Bloom
    /// filter or schema is found when a read touches it: what it holds is not served, the
    /// file says it is damaged, and the rest of the file is still read.
    #[test]
    fn damage_is_found_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 4000).unwrap();
        let keys: Vec<String> = (0..4000).map(|i| format!("cpu,host=h{i:05}")).collect();
        for k in &keys {
            w.write_column(k.as_bytes(), "f", &column(2, true)).unwrap();
        }
        w.finish().unwrap();
        let good = std::fs::read(&path).unwrap();
        let footer = &good[good.len() - FOOTER_LEN..];
        let index_at = read_u64(footer, 0).unwrap() as usize;
        let index_len = read_u32(footer, 8).unwrap() as usize;
        let open = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            ColFile::open(&path, Arc::new(BlockCache::new(1 << 20)))
        };
        let mut bad = good.clone();
        bad[good.len() - FOOTER_LEN - 2] ^= 0x10;
        assert!(matches!(
            open(&bad),
            Err(ColFileError::Corrupt {
                what: "chunk sums",
                ..
            })
        ));

        // A byte of the index's second chunk (entries ~630 to ~1260): a search that passes
        // through it finds nothing; one that does not is served.
        let mut bad = good.clone();
        bad[index_at + checked_map::CHUNK as usize + 100] ^= 0x10;
        let f = open(&bad).unwrap();
        assert!(!f.damaged());
        assert_eq!(
            f.read(keys[3999].as_bytes(), "f", 0, 100).0.unwrap().len(),
            2
        );
        assert!(!f.damaged());
        assert!(f.read(keys[1000].as_bytes(), "f", 0, 100).0.is_none());
        assert!(f.damaged());
        assert_eq!(
            f.read(keys[3000].as_bytes(), "f", 0, 100).0.unwrap().len(),
            2
        );

        // The table, the Bloom filter, the schema.
        let schema_end = good.len()
            - FOOTER_LEN
            - 4 * checked_map::chunks(
                (good.len() - FOOTER_LEN - index_at) as u64,
                checked_map::CHUNK,
            ) as usize;
        for at in [index_at + index_len + 8, schema_end - 20, schema_end - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            let f = open(&bad).unwrap();
            let found = keys.iter().filter(|k| f.has_series(k.as_bytes())).count();
            let schema = f.stored_schema();
            assert!(found < keys.len() || schema.is_none(), "{at}");
            assert!(f.damaged(), "{at}");
        }
        let f = open(&good).unwrap();
        assert!(keys.iter().all(|k| f.has_series(k.as_bytes())));
        assert!(f.stored_schema().is_some());
        assert!(!f.damaged());
    }

    /// The index goes through a spill file beside the column file; finishing leaves only the
    /// column file, and one written without finishing leaves `.tmp` files only (removed at start).
    #[test]
    fn the_index_spill_is_gone_after_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000001-01.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        let column = column(2, true);
        for i in 0..1000 {
            w.write_column(format!("cpu,host=h{i:04}").as_bytes(), "usage", &column)
                .unwrap();
        }
        w.finish().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["00000001-01.tcf"]);
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        assert_eq!(f.keys().count(), 1000);

        let unfinished = dir.path().join("00000002-01.tcf");
        let mut w = ColFileWriter::create(&unfinished, encode::SNAPSHOT_LEVEL, 16).unwrap();
        w.write_column(b"cpu,host=a", "usage", &column).unwrap();
        drop(w);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("00000002"))
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "00000002-01.tcf.index.tmp",
                "00000002-01.tcf.table.tmp",
                "00000002-01.tcf.tmp"
            ]
        );
    }

    #[test]
    fn write_then_read_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        w.write_column(b"a", "f", &column(2500, true)).unwrap();
        w.write_column(b"a", "i", &column(10, false)).unwrap();
        w.write_column(b"b", "f", &column(5, true)).unwrap();
        w.finish().unwrap();
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        assert_eq!(f.fields(b"a").len(), 2);
        assert_eq!(f.fields(b"a")[0].blocks.len(), 1);
        let (c, errs) = f.read(b"a", "f", 9990, 10_010);
        assert!(errs.is_empty());
        assert_eq!(c.unwrap().times, vec![9990, 10_000, 10_010]);
        assert!(f.read(b"zz", "f", 0, 10).0.is_none());
    }

    /// Resident KiB of the mapping holding `addr`, from `/proc/self/smaps`.
    fn resident_kib(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((lo, hi)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
                let (lo, hi) = (
                    usize::from_str_radix(lo, 16).ok()?,
                    usize::from_str_radix(hi, 16).ok()?,
                );
                inside = lo <= addr && addr < hi;
            } else if inside && first == "Rss:" {
                return line.split_whitespace().nth(1)?.parse().ok();
            }
        }
        None
    }

    #[test]
    fn released_index_pages_leave_memory_and_reads_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        let keys: Vec<String> = (0..20_000)
            .map(|i| format!("cpu,host=h{i:06},region=r{}", i % 20))
            .collect();
        for k in &keys {
            w.write_column(k.as_bytes(), "usage", &column(2, true))
                .unwrap();
        }
        w.finish().unwrap();
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        // Opening reads only the footer and chunk sums; a walk brings the index in.
        assert_eq!(f.keys().count(), keys.len());
        let at = f.index.unchecked().as_ptr() as usize;
        let walked = resident_kib(at).expect("the index mapping in smaps");
        assert!(
            walked * 1024 >= f.index.len() as u64 / 2,
            "{walked} KiB of {} bytes",
            f.index.len()
        );
        f.release_index_pages();
        let released = resident_kib(at).expect("the index mapping in smaps");
        assert!(
            released * 8 < walked,
            "{released} KiB resident after release, {walked} before"
        );
        for k in keys.iter().step_by(997) {
            let (c, errs) = f.read(k.as_bytes(), "usage", 0, 100);
            assert!(errs.is_empty());
            assert_eq!(c.unwrap().times, vec![0, 10], "{k}");
        }
        assert!(!f.has_series(b"cpu,host=nope"));
        assert_eq!(f.keys().count(), keys.len());
    }

    #[test]
    fn every_series_and_field_is_found_by_search_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        let keys: Vec<String> = (0..3000).map(|i| format!("cpu,host=h{i:05}")).collect();
        for k in &keys {
            w.write_column(k.as_bytes(), "a", &column(3, true)).unwrap();
            w.write_column(k.as_bytes(), "b", &column(2, false))
                .unwrap();
        }
        w.finish().unwrap();
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        assert_eq!(f.keys().count(), keys.len());
        assert_eq!(f.field_types().count(), 2 * keys.len());
        for k in &keys {
            let k = k.as_bytes();
            assert!(f.has_series(k));
            let fields: Vec<String> = f.fields(k).into_iter().map(|fb| fb.field).collect();
            assert_eq!(fields, vec!["a", "b"]);
            assert_eq!(f.read(k, "b", i64::MIN, i64::MAX).0.unwrap().len(), 2);
            assert!(f.blocks_in(k, "c", i64::MIN, i64::MAX).is_empty());
        }
        for absent in ["cpu,host=h3000", "cpu", "cpu,host=h00001x", "zzz"] {
            assert!(!f.has_series(absent.as_bytes()), "{absent}");
            assert!(f.fields(absent.as_bytes()).is_empty());
        }
    }

    #[test]
    fn a_corrupt_block_is_reported_and_others_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        w.write_column(b"a", "f", &column(10, true)).unwrap();
        w.write_column(b"b", "f", &column(10, true)).unwrap();
        w.finish().unwrap();
        let first = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20)))
            .unwrap()
            .fields(b"a")[0]
            .blocks[0];
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[first.offset as usize + 10] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
        let (c, errs) = f.read(b"a", "f", 0, 1000);
        assert!(c.is_none());
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("series \"a\""), "{}", errs[0]);
        assert_eq!(f.read(b"b", "f", 0, 1000).0.unwrap().len(), 10);
    }

    #[test]
    fn truncated_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.tcf");
        let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
        w.write_column(b"a", "f", &column(10, true)).unwrap();
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
        assert!(matches!(
            ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))),
            Err(ColFileError::Corrupt { .. })
        ));
    }

    proptest::proptest! {
        /// A lookup started from any hint finds what the whole binary search finds, and reads
        /// in key order through one cursor give what single reads give.
        #[test]
        fn any_hint_finds_what_the_whole_search_finds(
            keys in proptest::collection::btree_set("[a-d]{1,4}", 1..60),
            hints in proptest::collection::vec(0usize..200, 1..20),
            probes in proptest::collection::vec("[a-e]{0,5}", 1..20),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("1.tcf");
            let mut w = ColFileWriter::create(&path, encode::SNAPSHOT_LEVEL, 16).unwrap();
            for k in &keys {
                w.write_column(k.as_bytes(), "f", &column(3, true)).unwrap();
                w.write_column(k.as_bytes(), "g", &column(2, false)).unwrap();
            }
            w.finish().unwrap();
            let f = ColFile::open(&path, Arc::new(BlockCache::new(1 << 20))).unwrap();
            let v1_path = dir.path().join("2.tcf");
            std::fs::write(&v1_path, as_version_1(&path)).unwrap();
            let v1 = ColFile::open(&v1_path, Arc::new(BlockCache::new(1 << 20))).unwrap();
            for (hint, probe) in hints.iter().zip(probes.iter().cycle()) {
                for field in [None, Some(&b"f"[..]), Some(&b"g"[..]), Some(&b"h"[..])] {
                    let whole = f.search(probe.as_bytes(), field);
                    let from = f.search_from(*hint, SeriesProbe::new(probe.as_bytes()), field);
                    proptest::prop_assert!(from.is_none_or(|at| at == whole), "{probe} {hint}");
                }
                proptest::prop_assert_eq!(f.fields(probe.as_bytes()), v1.fields(probe.as_bytes()));
            }
            let mut sorted: Vec<&String> = probes.iter().chain(keys.iter()).collect();
            sorted.sort();
            let mut cursor = ReadCursor::default();
            for k in sorted {
                let next = f.read_next(&mut cursor, SeriesProbe::new(k.as_bytes()), "g", 0, 100).0;
                let single = f.read(k.as_bytes(), "g", 0, 100).0;
                proptest::prop_assert_eq!(next.map(|c| c.times), single.map(|c| c.times));
            }
        }
    }
}
