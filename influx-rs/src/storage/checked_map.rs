//! Bytes mapped from a file and checked against a CRC per chunk the first time a read touches
//! them, not all at open: opening a file then reads its footer and its chunk sums, whatever
//! its size, and a chunk costs its check once, when first read.
//!
//! A chunk that fails its check is logged (once per file) and its bytes are not handed out:
//! the reader treats what it asked for as absent, and [`CheckedMap::damaged`] tells whoever
//! must not carry on as if the file were whole (a compaction keeps its inputs).

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The chunk size files are written with (a power of two): small enough that a lookup
/// checks little more than the pages it reads anyway.
pub const CHUNK: u32 = 16 << 10;
/// The smallest and largest chunk a file may declare.
const CHUNK_RANGE: Range<u32> = (4 << 10)..((1 << 20) + 1);

/// A mapped region and the CRCs of its chunks.
#[derive(Debug)]
pub struct CheckedMap {
    path: PathBuf,
    map: memmap2::Mmap,
    /// log2 of the chunk size.
    shift: u32,
    /// The crc32 of each chunk; empty when the whole region was checked at open.
    sums: Box<[u32]>,
    /// One bit per chunk that passed its check.
    checked: Box<[AtomicU64]>,
    damaged: AtomicBool,
}

/// Why a region's chunk sums cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ChunkSumsError {
    /// The chunk size is not a power of two in range.
    #[error("chunk size {0} is not a power of two from 4 KiB to 1 MiB")]
    ChunkSize(u32),
    /// There are not as many sums as the region has chunks.
    #[error("{sums} chunk sums for {len} bytes in chunks of {chunk}")]
    Count {
        /// Sums given.
        sums: usize,
        /// The region's length.
        len: usize,
        /// The chunk size.
        chunk: u32,
    },
}

/// How many chunks of `chunk` bytes `len` bytes make.
pub fn chunks(len: u64, chunk: u32) -> u64 {
    len.div_ceil(u64::from(chunk))
}

impl CheckedMap {
    /// A region whose chunks of `chunk` bytes are checked against `sums` as they are read.
    pub fn new(
        path: &Path,
        map: memmap2::Mmap,
        chunk: u32,
        sums: Box<[u32]>,
    ) -> Result<CheckedMap, ChunkSumsError> {
        if !chunk.is_power_of_two() || !CHUNK_RANGE.contains(&chunk) {
            return Err(ChunkSumsError::ChunkSize(chunk));
        }
        if chunks(map.len() as u64, chunk) != sums.len() as u64 {
            return Err(ChunkSumsError::Count {
                sums: sums.len(),
                len: map.len(),
                chunk,
            });
        }
        let words = sums.len().div_ceil(64);
        Ok(CheckedMap {
            path: path.to_path_buf(),
            map,
            shift: chunk.trailing_zeros(),
            sums,
            checked: (0..words).map(|_| AtomicU64::new(0)).collect(),
            damaged: AtomicBool::new(false),
        })
    }

    /// A region checked whole before it was handed over (nothing left to check).
    pub fn checked_whole(path: &Path, map: memmap2::Mmap) -> CheckedMap {
        CheckedMap {
            path: path.to_path_buf(),
            map,
            shift: CHUNK.trailing_zeros(),
            sums: Box::new([]),
            checked: Box::new([]),
            damaged: AtomicBool::new(false),
        }
    }

    /// The region's length.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The bytes of `range`, once every chunk they lie in has passed its check; `None` when
    /// the range is outside the region or one of its chunks fails.
    #[inline]
    pub fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        let bytes = self.map.get(range.clone())?;
        if self.sums.is_empty() || range.is_empty() {
            return Some(bytes);
        }
        let first = range.start >> self.shift;
        let last = (range.end - 1) >> self.shift;
        (first..=last).all(|c| self.check(c)).then_some(bytes)
    }

    /// Whether chunk `c` is intact, checking it if no read has yet.
    #[inline]
    fn check(&self, c: usize) -> bool {
        let (word, bit) = (c / 64, 1u64 << (c % 64));
        match self.checked.get(word) {
            Some(done) if done.load(Ordering::Relaxed) & bit != 0 => true,
            Some(done) => self.check_first(c, done, bit),
            None => false,
        }
    }

    /// Checks chunk `c` the first time it is read, and notes it in `done` when intact.
    #[cold]
    fn check_first(&self, c: usize, done: &AtomicU64, bit: u64) -> bool {
        let start = c << self.shift;
        let end = (start + (1 << self.shift)).min(self.map.len());
        let intact = self
            .map
            .get(start..end)
            .is_some_and(|b| Some(&crc32fast::hash(b)) == self.sums.get(c));
        if intact {
            done.fetch_or(bit, Ordering::Relaxed);
        } else if !self.damaged.swap(true, Ordering::Relaxed) {
            tracing::error!(path = %self.path.display(), chunk = c, offset = start,
                "damaged bytes (CRC mismatch): what they hold is not served");
        }
        intact
    }

    /// Whether a chunk has failed its check.
    pub fn damaged(&self) -> bool {
        self.damaged.load(Ordering::Relaxed)
    }

    /// Every byte, checked or not: for a region checked whole at open, or for handing pages
    /// back.
    pub fn unchecked(&self) -> &memmap2::Mmap {
        &self.map
    }
}

/// A writer that passes bytes through and keeps the crc32 of each chunk of [`CHUNK`] bytes,
/// for the chunk sums of the region written through it.
pub struct ChunkSummer<W: Write> {
    inner: W,
    chunk: crc32fast::Hasher,
    filled: usize,
    sums: Vec<u32>,
}

impl<W: Write> ChunkSummer<W> {
    /// Sums what is written to `inner` from now on.
    pub fn new(inner: W) -> ChunkSummer<W> {
        ChunkSummer {
            inner,
            chunk: crc32fast::Hasher::new(),
            filled: 0,
            sums: Vec::new(),
        }
    }

    /// The sums of the chunks written (the last one possibly short).
    pub fn finish(mut self) -> Vec<u32> {
        if self.filled > 0 {
            self.sums.push(self.chunk.finalize());
        }
        self.sums
    }
}

impl<W: Write> Write for ChunkSummer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let take = rest.len().min(CHUNK as usize - self.filled);
            self.chunk.update(&rest[..take]);
            self.filled += take;
            rest = &rest[take..];
            if self.filled == CHUNK as usize {
                let full = std::mem::replace(&mut self.chunk, crc32fast::Hasher::new());
                self.sums.push(full.finalize());
                self.filled = 0;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes` written through a summer to a file, mapped back with the sums.
    fn region(dir: &Path, bytes: &[u8]) -> (PathBuf, Vec<u32>) {
        let path = dir.join("r");
        let mut summer = ChunkSummer::new(std::fs::File::create(&path).unwrap());
        for piece in bytes.chunks(7919) {
            summer.write_all(piece).unwrap();
        }
        (path, summer.finish())
    }

    fn map(path: &Path) -> memmap2::Mmap {
        // SAFETY: a test file nobody else writes while it is mapped.
        unsafe { memmap2::Mmap::map(&std::fs::File::open(path).unwrap()).unwrap() }
    }

    #[test]
    fn intact_bytes_are_served_and_a_damaged_chunk_only_withholds_itself() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (path, sums) = region(dir.path(), &bytes);
        assert_eq!(sums.len() as u64, chunks(bytes.len() as u64, CHUNK));
        let m = CheckedMap::new(&path, map(&path), CHUNK, sums.clone().into()).unwrap();
        assert_eq!(m.get(10..70_000), Some(&bytes[10..70_000]));
        assert_eq!(m.get(99_990..100_000), Some(&bytes[99_990..]));
        assert_eq!(m.get(99_990..100_001), None);
        assert!(!m.damaged());

        let mut bad = bytes.clone();
        bad[40_000] ^= 1; // chunk 2 of 16 KiB chunks
        std::fs::write(&path, &bad).unwrap();
        let m = CheckedMap::new(&path, map(&path), CHUNK, sums.into()).unwrap();
        assert_eq!(m.get(0..100), Some(&bytes[..100]));
        assert!(!m.damaged());
        assert_eq!(m.get(39_000..39_100), None);
        assert!(m.damaged());
        assert_eq!(m.get(60_000..60_100), Some(&bytes[60_000..60_100]));
        assert_eq!(m.get(30_000..50_000), None);
    }

    #[test]
    fn sums_that_do_not_fit_the_region_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, sums) = region(dir.path(), &[1u8; 40_000]);
        let short: Box<[u32]> = sums[..2].into();
        assert!(CheckedMap::new(&path, map(&path), CHUNK, short).is_err());
        assert!(CheckedMap::new(&path, map(&path), 3000, sums.clone().into()).is_err());
        assert!(CheckedMap::new(&path, map(&path), CHUNK, sums.into()).is_ok());
    }

    proptest::proptest! {
        /// Sums come out the same however the bytes are split into writes.
        #[test]
        fn sums_do_not_depend_on_how_writes_are_split(
            len in 0usize..60_000,
            cuts in proptest::collection::vec(1usize..20_000, 1..8),
        ) {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let mut summer = ChunkSummer::new(Vec::new());
            let mut rest = &bytes[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at((*cut).min(rest.len()));
                summer.write_all(now).unwrap();
                rest = later;
            }
            let sums = summer.finish();
            let whole: Vec<u32> = bytes.chunks(CHUNK as usize).map(crc32fast::hash).collect();
            proptest::prop_assert_eq!(sums, whole);
        }
    }
}
