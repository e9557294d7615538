//! An index file (`series-<seq>.tkx`): an immutable, memory-mapped part of the series index —
//! keys of a run of series ids, a hash table from key to id, and per measurement the tag key →
//! tag value → series postings as roaring bitmaps, sorted so that lookups binary-search the
//! mapped bytes. Nothing is copied into memory at open: the page cache holds what queries
//! touch. Byte layout: `storage/FORMAT.md`.

use super::IndexError;
use crate::storage::hll::{self, Hll};
use memmap2::Mmap;
use roaring::RoaringBitmap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// First bytes of an index file.
pub(super) const MAGIC: &[u8; 4] = b"TKIX";
/// Format version written: 2 stores a sketch of each tag key's values beside its value table;
/// 3 keeps a fingerprint of each key's hash in its hash-table slot. Versions 1 and 2 are still
/// read.
pub(super) const VERSION: u8 = 3;
/// The first version whose tag keys have sketches of their values.
pub(super) const VERSION_WITH_VALUE_SKETCHES: u8 = 2;
/// The first version whose hash-table slots hold fingerprints (see [`SlotCoding`]).
pub(super) const VERSION_WITH_FINGERPRINTS: u8 = 3;

/// How a hash-table slot holds a series. Up to version 2 a slot is `id - base + 1`, so a lookup
/// of a key the file does not have reads and compares the key of every slot it probes — two
/// random reads each, the largest cost of creating series once a shard has several index files.
/// From version 3 the bits above those `count` needs hold the top bits of the key's hash, and a
/// key is read only where they match (a wrong match one time in 2^(32 - bits of count)).
#[derive(Debug, Clone, Copy)]
pub(super) struct SlotCoding {
    /// Bits of a slot holding `id - base + 1`; the rest hold the fingerprint.
    id_bits: u32,
}

impl SlotCoding {
    /// The coding of a file of `version` holding `count` series.
    pub(super) fn new(version: u8, count: u32) -> SlotCoding {
        let id_bits = if version >= VERSION_WITH_FINGERPRINTS {
            u32::BITS - count.leading_zeros()
        } else {
            u32::BITS
        };
        SlotCoding { id_bits }
    }

    fn fingerprint(self, hash: u64) -> u32 {
        match u32::BITS - self.id_bits {
            0 => 0,
            bits => (hash >> (u64::BITS - bits)) as u32,
        }
    }

    /// The slot of the series `local` (its id less the file's base) whose key hashes to `hash`.
    pub(super) fn slot(self, local: u32, hash: u64) -> u32 {
        let id = local + 1;
        match self.fingerprint(hash).checked_shl(self.id_bits) {
            Some(fp) => fp | id,
            None => id,
        }
    }

    /// The id less the base of the series in a (non-empty) slot, when its fingerprint is that
    /// of `hash`.
    fn matching(self, slot: u32, hash: u64) -> Option<u32> {
        let (fp, id) = match slot.checked_shr(self.id_bits) {
            Some(fp) => (fp, slot & ((1 << self.id_bits) - 1)),
            None => (0, slot),
        };
        (fp == self.fingerprint(hash)).then(|| id.wrapping_sub(1))
    }
}
/// Header: magic, version, three reserved bytes.
pub(super) const HEADER_LEN: usize = 8;
/// The checksummed blocks, in file order.
pub(super) const BLOCKS: usize = 5;
/// Footer: per block offset u64 | len u64 | crc32 u32; then directory offset u64 | base u32 |
/// count u32 | log id u64 | replaces below u64 | footer crc32 u32 | magic.
pub(super) const FOOTER_LEN: usize = BLOCKS * 20 + 8 + 4 + 4 + 8 + 8 + 4 + 4;

/// Block numbers.
pub(super) const KEYS: usize = 0;
/// Key offsets block.
pub(super) const KEY_OFFSETS: usize = 1;
/// Hash table block.
pub(super) const HASH_TABLE: usize = 2;
/// Postings block.
pub(super) const POSTINGS: usize = 3;
/// Sketch block.
pub(super) const SKETCH: usize = 4;

/// Reads little-endian numbers and slices out of mapped bytes, `None` past the end.
#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn at(buf: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor { buf, pos }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    /// A `len u32 | bytes` string.
    pub(super) fn sized(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

/// One open index file.
#[derive(Debug)]
pub(super) struct IndexFile {
    path: PathBuf,
    seq: u64,
    map: Mmap,
    blocks: [Range<usize>; BLOCKS],
    directory: usize,
    base: u32,
    count: u32,
    log_id: u64,
    replaces_below: u64,
    /// Whether its tag keys have sketches of their values (version 2 on).
    value_sketches: bool,
    /// How its hash-table slots hold series (fingerprints from version 3 on).
    slots: SlotCoding,
}

/// A measurement in a file: where its header is.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileMeasurement<'a> {
    file: &'a IndexFile,
    /// Its name.
    pub(super) name: &'a [u8],
    header: usize,
}

/// A tag key of a measurement in a file: where its value table is.
#[derive(Debug, Clone, Copy)]
pub(super) struct FileTagKey<'a> {
    file: &'a IndexFile,
    /// The tag key.
    pub(super) key: &'a [u8],
    table: usize,
    /// Distinct values it has in this file.
    pub(super) values: u32,
    /// Where the sketch of its values is (version 2 on).
    sketch: Option<usize>,
}

/// What opening a file does with the pages its check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CheckedPages {
    /// Left in the page cache: a file just written, which writes search next.
    Keep,
    /// Handed back to the kernel, and the hash table and postings mapped without read-ahead:
    /// a file found at start, whose resident pages then follow what lookups touch, not the
    /// file's size (the kernel maps the cached neighbours of every page a lookup faults in,
    /// and the check left every page cached); a lookup's binary search reads single pages.
    Release,
}

/// Drops the file's clean pages from the page cache (the map has faulted none in yet).
fn release_cached_pages(file: &File, path: &Path) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on an open descriptor; it changes no memory of ours.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        tracing::debug!(path = %path.display(), error = rc, "posix_fadvise(DONTNEED) of a series index file");
    }
}

/// The file name of index file `seq`.
pub(super) fn file_name(seq: u64) -> String {
    format!("series-{seq:08}.tkx")
}

/// The sequence number in an index file's name.
pub(super) fn parse_file_name(name: &str) -> Option<u64> {
    name.strip_prefix("series-")?
        .strip_suffix(".tkx")?
        .parse()
        .ok()
}

impl IndexFile {
    /// Maps `path` and checks its footer and every block's checksum (read with `pread`, so
    /// the check leaves nothing mapped in; `pages` says whether it leaves the file cached).
    pub(super) fn open(
        path: &Path,
        seq: u64,
        pages: CheckedPages,
    ) -> Result<IndexFile, IndexError> {
        let corrupt = |why: &str| IndexError::Corrupt {
            path: path.to_path_buf(),
            reason: why.to_string(),
        };
        let io = |source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len() as usize;
        if len < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt("shorter than header and footer"));
        }
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, 0).map_err(io)?;
        if &head[..4] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if !(1..=VERSION).contains(&head[4]) {
            return Err(corrupt(&format!("unknown version {}", head[4])));
        }
        if head[5..] != [0, 0, 0] {
            return Err(corrupt("reserved header bytes set"));
        }
        let mut footer = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut footer, (len - FOOTER_LEN) as u64)
            .map_err(io)?;
        if &footer[FOOTER_LEN - 4..] != MAGIC {
            return Err(corrupt("bad footer magic"));
        }
        let crc_at = FOOTER_LEN - 8;
        let stored = u32::from_le_bytes([
            footer[crc_at],
            footer[crc_at + 1],
            footer[crc_at + 2],
            footer[crc_at + 3],
        ]);
        if crc32fast::hash(&footer[..crc_at]) != stored {
            return Err(corrupt("footer checksum mismatch"));
        }
        let mut c = Cursor::at(&footer, 0);
        let mut blocks: [Range<usize>; BLOCKS] = Default::default();
        let mut crcs = [0u32; BLOCKS];
        let body = HEADER_LEN..len - FOOTER_LEN;
        for (i, block) in blocks.iter_mut().enumerate() {
            let (Some(off), Some(n), Some(crc)) = (c.u64(), c.u64(), c.u32()) else {
                return Err(corrupt("footer too short"));
            };
            let (off, n) = (off as usize, n as usize);
            let end = off
                .checked_add(n)
                .ok_or_else(|| corrupt("block out of the file"))?;
            if off < body.start || end > body.end {
                return Err(corrupt("block out of the file"));
            }
            *block = off..end;
            crcs[i] = crc;
        }
        let (Some(directory), Some(base), Some(count), Some(log_id), Some(replaces_below)) =
            (c.u64(), c.u32(), c.u32(), c.u64(), c.u64())
        else {
            return Err(corrupt("footer too short"));
        };
        let mut buf = vec![0u8; 1 << 20];
        for (i, block) in blocks.iter().enumerate() {
            let mut h = crc32fast::Hasher::new();
            let mut at = block.start;
            while at < block.end {
                let n = (block.end - at).min(buf.len());
                file.read_exact_at(&mut buf[..n], at as u64).map_err(io)?;
                h.update(&buf[..n]);
                at += n;
            }
            if h.finalize() != crcs[i] {
                return Err(corrupt(&format!("block {i} checksum mismatch")));
            }
        }
        let directory = directory as usize;
        if !blocks[POSTINGS].contains(&directory) {
            return Err(corrupt("measurement directory outside the postings"));
        }
        let slots = blocks[HASH_TABLE].len() / 4;
        if blocks[KEY_OFFSETS].len() != (count as usize + 1) * 8
            || !slots.is_power_of_two()
            || slots < 2 * count as usize
        {
            return Err(corrupt("key offsets or hash table do not fit the count"));
        }
        // SAFETY: index files are never written in place: they are written whole under a
        // temporary name and renamed, and only removed (never truncated) afterwards, so the
        // mapped bytes do not change under the map.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        if pages == CheckedPages::Release {
            release_cached_pages(&file, path);
            for block in [HASH_TABLE, POSTINGS] {
                let range = &blocks[block];
                if let Err(e) = map.advise_range(memmap2::Advice::Random, range.start, range.len())
                {
                    tracing::debug!(path = %path.display(), error = %e, "madvise(RANDOM) of a series index file");
                }
            }
        }
        let f = IndexFile {
            path: path.to_path_buf(),
            seq,
            map,
            blocks,
            directory,
            base,
            count,
            log_id,
            replaces_below,
            value_sketches: head[4] >= VERSION_WITH_VALUE_SKETCHES,
            slots: SlotCoding::new(head[4], count),
        };
        // The keys must line up with their offsets, or lookups would read past them.
        let keys_len = f.blocks[KEYS].len() as u64;
        if f.key_offset(count) != Some(keys_len) || f.key_offset(0) != Some(0) {
            return Err(corrupt("key offsets do not cover the keys"));
        }
        Ok(f)
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Its sequence number: a later file replaces earlier ones whose ids it covers.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// The first series id it holds.
    pub(super) fn base(&self) -> u32 {
        self.base
    }

    /// Series it holds (ids `base..base + count`).
    pub(super) fn count(&self) -> u32 {
        self.count
    }

    /// One past its last id.
    pub(super) fn end(&self) -> u32 {
        self.base + self.count
    }

    /// The id of the series log whose keys it took in.
    pub(super) fn log_id(&self) -> u64 {
        self.log_id
    }

    /// Files with a lower sequence number than this are replaced by this one (a rewrite of
    /// the whole index after a delete; 0 for others).
    pub(super) fn replaces_below(&self) -> u64 {
        self.replaces_below
    }

    /// Bytes of the file.
    pub(super) fn size(&self) -> usize {
        self.map.len()
    }

    fn block(&self, i: usize) -> &[u8] {
        self.map.get(self.blocks[i].clone()).unwrap_or(&[])
    }

    fn key_offset(&self, local: u32) -> Option<u64> {
        Cursor::at(self.block(KEY_OFFSETS), local as usize * 8).u64()
    }

    /// The key of series `id` (a global id), if this file holds it.
    pub(super) fn key(&self, id: u32) -> Option<&[u8]> {
        let local = id.checked_sub(self.base).filter(|&l| l < self.count)?;
        let start = self.key_offset(local)? as usize;
        let end = self.key_offset(local + 1)? as usize;
        self.block(KEYS).get(start..end)
    }

    /// Keys in id order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (self.base..self.end()).filter_map(move |id| self.key(id))
    }

    /// The id of `key`, looked up in the hash table.
    pub(super) fn find(&self, key: &[u8]) -> Option<u32> {
        let table = self.block(HASH_TABLE);
        let slots = table.len() / 4;
        if slots == 0 {
            return None;
        }
        let mask = slots - 1;
        let hash = hll::hash(key);
        let mut slot = hash as usize & mask;
        for _ in 0..slots {
            let v = Cursor::at(table, slot * 4).u32()?;
            if v == 0 {
                return None;
            }
            if let Some(local) = self.slots.matching(v, hash) {
                let id = self.base.checked_add(local)?;
                if self.key(id) == Some(key) {
                    return Some(id);
                }
            }
            slot = (slot + 1) & mask;
        }
        None
    }

    /// The sketch of its series.
    pub(super) fn sketch(&self) -> Option<Hll> {
        Hll::from_bytes(self.block(SKETCH))
    }

    /// Its measurements, sorted by name.
    pub(super) fn measurements(&self) -> impl Iterator<Item = FileMeasurement<'_>> + '_ {
        let mut c = Cursor::at(&self.map, self.directory);
        let n = c.u32().unwrap_or(0);
        (0..n).map_while(move |_| {
            let name = c.sized()?;
            let header = c.u64()? as usize;
            Some(FileMeasurement {
                file: self,
                name,
                header,
            })
        })
    }

    /// One measurement.
    pub(super) fn measurement(&self, name: &str) -> Option<FileMeasurement<'_>> {
        self.measurements().find(|m| m.name == name.as_bytes())
    }
}

/// Bitmaps at least this large are asked for in one read before they are decoded: a file
/// found at start maps its postings without read-ahead (for the lookups' sake), and would
/// fault a large bitmap in page by page.
const READ_AHEAD_BITMAP: usize = 16 * 1024;

/// A bitmap stored as `len u32 | roaring`.
fn bitmap_at(map: &Mmap, pos: usize) -> Option<RoaringBitmap> {
    let bytes = Cursor::at(map, pos).sized()?;
    if bytes.len() >= READ_AHEAD_BITMAP {
        if let Err(e) = map.advise_range(memmap2::Advice::WillNeed, pos, bytes.len()) {
            tracing::debug!(error = %e, "madvise(WILLNEED) of a series index bitmap");
        }
    }
    RoaringBitmap::deserialize_from(bytes).ok()
}

impl<'a> FileMeasurement<'a> {
    /// All its series.
    pub(super) fn series(&self) -> RoaringBitmap {
        bitmap_at(&self.file.map, self.header).unwrap_or_default()
    }

    /// Its tag keys, sorted.
    pub(super) fn tag_keys(&self) -> impl Iterator<Item = FileTagKey<'a>> + 'a {
        let file = self.file;
        let mut c = Cursor::at(&file.map, self.header);
        let n = c.sized().and_then(|_| c.u32()).unwrap_or(0);
        (0..n).map_while(move |_| {
            let key = c.sized()?;
            let table = c.u64()? as usize;
            let sketch = match file.value_sketches {
                true => Some(c.u64()? as usize),
                false => None,
            };
            let values = Cursor::at(&file.map, table).u32()?;
            Some(FileTagKey {
                file,
                key,
                table,
                values,
                sketch,
            })
        })
    }

    /// One tag key.
    pub(super) fn tag_key(&self, key: &str) -> Option<FileTagKey<'a>> {
        self.tag_keys().find(|k| k.key == key.as_bytes())
    }
}

impl<'a> FileTagKey<'a> {
    /// How many values it has.
    pub(super) fn value_count(&self) -> u32 {
        self.values
    }

    /// Where value entry `i` starts.
    fn entry(&self, i: u32) -> Option<usize> {
        Some(Cursor::at(&self.file.map, self.table + 4 + i as usize * 8).u64()? as usize)
    }

    /// Value `i` and where its bitmap is.
    fn value_at(&self, i: u32) -> Option<(&'a [u8], usize)> {
        let mut c = Cursor::at(&self.file.map, self.entry(i)?);
        let value = c.sized()?;
        Some((value, c.pos()))
    }

    /// Its values, sorted, each with where its bitmap is.
    pub(super) fn values(&self) -> impl Iterator<Item = (&'a [u8], BitmapAt<'a>)> + 'a {
        let me = *self;
        (0..self.values).filter_map(move |i| {
            me.value_at(i).map(|(v, pos)| {
                (
                    v,
                    BitmapAt {
                        map: &me.file.map,
                        pos,
                    },
                )
            })
        })
    }

    /// The sketch of its values; `None` in a version 1 file (or where the bytes are not one).
    pub(super) fn sketch(&self) -> Option<Hll> {
        Hll::from_bytes(Cursor::at(&self.file.map, self.sketch?).sized()?)
    }

    /// Series with `value`, found by binary search.
    pub(super) fn series_with(&self, value: &[u8]) -> Option<RoaringBitmap> {
        let (mut lo, mut hi) = (0u32, self.values);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (v, pos) = self.value_at(mid)?;
            match v.cmp(value) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return bitmap_at(&self.file.map, pos),
            }
        }
        None
    }
}

/// A value's bitmap, read when asked for.
#[derive(Debug, Clone, Copy)]
pub(super) struct BitmapAt<'a> {
    map: &'a Mmap,
    pos: usize,
}

impl<'a> BitmapAt<'a> {
    /// The bitmap.
    pub(super) fn read(&self) -> RoaringBitmap {
        bitmap_at(self.map, self.pos).unwrap_or_default()
    }

    /// Its serialized bytes, to copy without decoding.
    pub(super) fn bytes(&self) -> &'a [u8] {
        Cursor::at(&self.map[..], self.pos).sized().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every series of a file of any size and version comes back from its slot, under its
        /// own hash only (versions 1 and 2 ignore the hash: every slot is compared by key).
        #[test]
        fn a_slot_gives_back_its_series_under_its_own_hash(
            count in 1u32..=u32::MAX,
            local_fraction in 0.0f64..1.0,
            hash in any::<u64>(),
            other in any::<u64>(),
            version in 1u8..=VERSION,
        ) {
            let coding = SlotCoding::new(version, count);
            let local = ((f64::from(count) * local_fraction) as u32).min(count - 1);
            let slot = coding.slot(local, hash);
            prop_assert_ne!(slot, 0);
            prop_assert_eq!(coding.matching(slot, hash), Some(local));
            let found = coding.matching(slot, other);
            if version < VERSION_WITH_FINGERPRINTS || coding.fingerprint(other) == coding.fingerprint(hash) {
                prop_assert_eq!(found, Some(local));
            } else {
                prop_assert_eq!(found, None);
            }
        }
    }

    #[test]
    fn small_files_keep_most_of_the_hash() {
        let coding = SlotCoding::new(VERSION, 20_000);
        assert_eq!(coding.id_bits, 15);
        let (a, b) = (0xabcd_e000_0000_0000u64, 0xabce_e000_0000_0000u64);
        assert_eq!(coding.matching(coding.slot(7, a), b), None);
        assert_eq!(coding.matching(coding.slot(7, a), a), Some(7));
    }
}
