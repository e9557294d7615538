//! How a column file's index is laid out for lookups: where each entry starts and which
//! series the file may hold, read in place from a version 2 file or worked out by walking a
//! version 1 file at open — and the opening of each version that finds them.

use super::{read_block_meta, read_head, ColFileError, EntryCoding, FOOTER_LEN, FOOTER_LEN_V1};
use crate::storage::checked_map::{self, CheckedMap};
use crate::storage::varint::get_uvarint;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where each index entry starts.
#[derive(Debug)]
pub(super) enum EntryTable {
    /// Found by walking a version 1 index at open: offsets in the index.
    Walked(Box<[u32]>),
    /// A version 2 file's table, `len` u32s at `at` in the mapping: offsets from `base`, where
    /// the first entry starts (after the count).
    Stored { at: usize, len: usize, base: usize },
}

/// A file's series Bloom filter: built at open (version 1) or read in place (versions 2, 3).
#[derive(Debug)]
pub(super) enum Bloom {
    Built(SeriesBloom),
    /// `words` u64s (a power of two) at `at` in the mapping, probed as `probing` says.
    Stored {
        at: usize,
        words: usize,
        probing: Probing,
    },
}

/// Where a key's three bits are in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probing {
    /// Version 2: anywhere in the filter — three cache misses per file a read looks in.
    Spread,
    /// Version 3: in one 512-bit block (eight words, one cache line; the whole filter when it
    /// is smaller) — one miss.
    Blocked,
}

/// Words in a block of a [`Probing::Blocked`] filter.
const BLOCK_WORDS: usize = 8;

impl Probing {
    /// The (word, bit) pairs of a key hashing to `h` (see [`crate::storage::hll::hash`]) in a
    /// filter of `words` words.
    fn probes(self, words: usize, h: u64) -> impl Iterator<Item = (usize, u64)> {
        let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
        let (base, mask) = match self {
            Probing::Spread => (0, (words * 64 - 1) as u64),
            Probing::Blocked => {
                let blocks = (words / BLOCK_WORDS).max(1);
                let block = (h1 as usize) & (blocks - 1);
                (
                    block * BLOCK_WORDS,
                    (words.min(BLOCK_WORDS) * 64 - 1) as u64,
                )
            }
        };
        (0..3u64).map(move |i| {
            let bit = match self {
                Probing::Spread => h1.wrapping_add(i.wrapping_mul(h2)) & mask,
                Probing::Blocked => (h >> (32 + 9 * i)) & mask,
            };
            (base + (bit / 64) as usize, 1u64 << (bit % 64))
        })
    }
}

/// A Bloom filter of a file's series keys: ten bits per series and three probes in one block
/// (about 2 % false positives), built by a writer or at open.
#[derive(Debug)]
pub(super) struct SeriesBloom {
    bits: Box<[u64]>,
}

impl SeriesBloom {
    pub(super) fn with_capacity(series: usize) -> SeriesBloom {
        let words = (series * 10).div_ceil(64).next_power_of_two().max(1);
        SeriesBloom {
            bits: vec![0u64; words].into_boxed_slice(),
        }
    }

    pub(super) fn add(&mut self, series: &[u8]) {
        let h = crate::storage::hll::hash(series);
        for (word, bit) in Probing::Blocked.probes(self.bits.len(), h) {
            if let Some(w) = self.bits.get_mut(word) {
                *w |= bit;
            }
        }
    }

    fn may_hold(&self, h: u64) -> bool {
        Probing::Blocked
            .probes(self.bits.len(), h)
            .all(|(word, bit)| self.bits.get(word).is_some_and(|w| w & bit != 0))
    }

    /// The filter's words as stored in a version 3 file.
    pub(super) fn words(&self) -> &[u64] {
        &self.bits
    }
}

impl Bloom {
    /// Whether a series whose key hashes to `h` may be in the file whose mapped bytes are `map`.
    pub(super) fn may_hold(&self, map: &CheckedMap, h: u64) -> bool {
        match self {
            Bloom::Built(b) => b.may_hold(h),
            &Bloom::Stored { at, words, probing } => probing.probes(words, h).all(|(word, bit)| {
                let at = at + word * 8;
                map.get(at..at + 8)
                    .and_then(|w| read_u64(w, 0))
                    .is_some_and(|w| w & bit != 0)
            }),
        }
    }
}

/// The little-endian u64 at `at`, if `bytes` hold one there.
pub(super) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The little-endian u32 at `at`, if `bytes` hold one there.
pub(super) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// A version 2 footer's fields after the index offset and length.
pub(super) struct Footer2 {
    pub(super) index_offset: u64,
    pub(super) index_len: u32,
    pub(super) entries: u32,
    pub(super) series: u32,
    pub(super) words: u32,
    pub(super) schema_len: u32,
    pub(super) chunk: u32,
    pub(super) sums_crc: u32,
}

/// What opening a file finds: its mapped index, entry table, Bloom filter, series count and
/// where its stored schema is.
pub(super) type Opened = (
    CheckedMap,
    EntryTable,
    Bloom,
    usize,
    Option<std::ops::Range<usize>>,
);

/// Maps `len` bytes of `file` from `offset`.
pub(super) fn map_region(file: &File, offset: u64, len: u64) -> std::io::Result<memmap2::Mmap> {
    let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::InvalidData)?;
    // SAFETY: column files are never written in place: they are written whole under a
    // temporary name and renamed, and only removed (never truncated) afterwards, so the
    // mapped bytes do not change under the map.
    unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)
    }
}

/// Opens a version 1 file's index: checks its CRC and walks it for the entry table, Bloom
/// filter and series count.
pub(super) fn open_version_1(
    path: &Path,
    file: &File,
    size: u64,
    index_offset: u64,
    index_len: u32,
    crc: u32,
) -> Result<Opened, ColFileError> {
    let corrupt = |what| ColFileError::Corrupt {
        path: path.to_path_buf(),
        what,
    };
    if index_offset.checked_add(u64::from(index_len) + FOOTER_LEN_V1 as u64) != Some(size) {
        return Err(corrupt("footer"));
    }
    let map = map_region(file, index_offset, u64::from(index_len)).map_err(|source| {
        ColFileError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    if crc32fast::hash(&map) != crc {
        return Err(corrupt("index"));
    }
    let (entries, bloom, series) =
        walk_index(&map, index_offset).ok_or_else(|| corrupt("index"))?;
    let index = CheckedMap::checked_whole(path, map);
    Ok((
        index,
        EntryTable::Walked(entries),
        Bloom::Built(bloom),
        series,
        None,
    ))
}

/// Opens a version 2 or 3 file's index, table, Bloom filter and schema: reads and checks the
/// chunk sums only; the chunks themselves are checked as reads touch them.
pub(super) fn open_version_2(
    path: &Path,
    file: &File,
    size: u64,
    f: Footer2,
    probing: Probing,
) -> Result<Opened, ColFileError> {
    let corrupt = |what| ColFileError::Corrupt {
        path: path.to_path_buf(),
        what,
    };
    let io = |source| ColFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let (entries, words) = (f.entries as usize, f.words as usize);
    let region = u64::from(f.index_len)
        + u64::from(f.entries) * 4
        + u64::from(f.words) * 8
        + u64::from(f.schema_len);
    let sums_len = checked_map::chunks(region, f.chunk.max(1)) * 4;
    if f.index_offset
        .checked_add(region + sums_len + FOOTER_LEN as u64)
        != Some(size)
        || !words.is_power_of_two()
    {
        return Err(corrupt("footer"));
    }
    let mut sums = vec![0u8; usize::try_from(sums_len).map_err(|_| corrupt("footer"))?];
    file.read_exact_at(&mut sums, f.index_offset + region)
        .map_err(io)?;
    if crc32fast::hash(&sums) != f.sums_crc {
        return Err(corrupt("chunk sums"));
    }
    let sums: Box<[u32]> = sums
        .chunks_exact(4)
        .filter_map(|s| read_u32(s, 0))
        .collect();
    let map = map_region(file, f.index_offset, region).map_err(io)?;
    let index = CheckedMap::new(path, map, f.chunk, sums).map_err(|_| corrupt("chunk sums"))?;
    // The entry count leads the index; the entries start after it.
    let head = index
        .get(0..(f.index_len as usize).min(10))
        .ok_or_else(|| corrupt("index"))?;
    let base = &mut 0;
    if get_uvarint(head, base) != Some(u64::from(f.entries)) {
        return Err(corrupt("index"));
    }
    let index_len = f.index_len as usize;
    let table = EntryTable::Stored {
        at: index_len,
        len: entries,
        base: *base,
    };
    let bloom_at = index_len + entries * 4;
    let schema_at = bloom_at + words * 8;
    let bloom = Bloom::Stored {
        at: bloom_at,
        words,
        probing,
    };
    let schema = schema_at..schema_at + f.schema_len as usize;
    Ok((index, table, bloom, f.series as usize, Some(schema)))
}

/// Checks every entry of a version 1 index (blocks inside the data, field names UTF-8, entries
/// in strictly increasing (key, field) order); returns where each entry starts, the Bloom
/// filter of its series and how many series there are.
pub(super) fn walk_index(
    buf: &[u8],
    index_offset: u64,
) -> Option<(Box<[u32]>, SeriesBloom, usize)> {
    let mut pos = 0;
    let n = get_uvarint(buf, &mut pos)?;
    u32::try_from(buf.len()).ok()?;
    let mut starts = Vec::with_capacity(usize::try_from(n).ok()?.min(buf.len()));
    let mut last: Option<(&[u8], &[u8])> = None;
    for _ in 0..n {
        let e = read_head(buf, pos, EntryCoding::Full, || None)?;
        starts.push(pos as u32);
        std::str::from_utf8(e.field).ok()?;
        pos = e.blocks_at;
        for _ in 0..e.blocks {
            let b = read_block_meta(buf, &mut pos, EntryCoding::Full)?;
            if b.offset.checked_add(u64::from(b.size))? > index_offset {
                return None;
            }
        }
        if last.is_some_and(|prev| prev >= (e.series, e.field)) {
            return None;
        }
        last = Some((e.series, e.field));
    }
    if pos != buf.len() {
        return None;
    }
    let mut bloom = SeriesBloom::with_capacity(starts.len());
    let mut series = 0;
    let mut last: Option<&[u8]> = None;
    for &at in &starts {
        if let Some(e) = read_head(buf, at as usize, EntryCoding::Full, || None) {
            if last != Some(e.series) {
                bloom.add(e.series);
                series += 1;
                last = Some(e.series);
            }
        }
    }
    Some((starts.into_boxed_slice(), bloom, series))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::hll::hash;

    /// Every key added is found; keys not added pass about 2 % of the time (ten bits per key,
    /// three probes in one 512-bit block), in filters of every size from one word up.
    #[test]
    fn a_blocked_filter_finds_its_keys_and_few_others() {
        for n in [1usize, 5, 60, 10_000] {
            let mut bloom = SeriesBloom::with_capacity(n);
            for i in 0..n {
                bloom.add(format!("cpu,host=h{i}").as_bytes());
            }
            for i in 0..n {
                assert!(bloom.may_hold(hash(format!("cpu,host=h{i}").as_bytes())));
            }
            let absent = 20_000;
            let passed = (0..absent)
                .filter(|i| bloom.may_hold(hash(format!("cpu,host=x{i}").as_bytes())))
                .count();
            if n == 10_000 {
                assert!(
                    passed * 100 < absent * 3,
                    "{passed} of {absent} absent keys passed"
                );
            }
        }
    }
}
