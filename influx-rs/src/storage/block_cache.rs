//! Decoded blocks of column files kept in memory, the least recently used evicted first, so
//! that queries read again over the same data (a dashboard refreshing its cells) skip
//! decompressing and decoding them. Column files never change once written, so an entry never
//! goes stale: it is keyed by the file's process-unique id and the block's offset, and the
//! entries of a deleted file age out.

use super::column::{Column, Values};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The cache; `None` inside when its size is 0 (disabled).
#[derive(Debug)]
pub struct BlockCache(Option<quick_cache::sync::Cache<(u64, u64), Arc<Column>, ColumnBytes>>);

/// Weighs an entry by the bytes its column holds.
#[derive(Debug, Clone)]
struct ColumnBytes;

impl quick_cache::Weighter<(u64, u64), Arc<Column>> for ColumnBytes {
    fn weight(&self, _: &(u64, u64), column: &Arc<Column>) -> u64 {
        let values = match &column.values {
            Values::String(v) => v.iter().map(|s| s.len() + 24).sum(),
            Values::Boolean(v) => v.len(),
            other => other.len() * 8,
        };
        (column.times.len() * 8 + values) as u64
    }
}

/// Blocks of about 4096 points of one fixed-size type: what sizes the cache's table.
const TYPICAL_BLOCK_BYTES: u64 = 4096 * 16;

impl BlockCache {
    /// A cache holding up to `max_bytes` of decoded columns; 0 disables it.
    pub fn new(max_bytes: u64) -> BlockCache {
        BlockCache((max_bytes > 0).then(|| {
            let blocks = (max_bytes / TYPICAL_BLOCK_BYTES).max(1);
            quick_cache::sync::Cache::with_weighter(
                usize::try_from(blocks).unwrap_or(usize::MAX),
                max_bytes,
                ColumnBytes,
            )
        }))
    }

    /// The block at `offset` of file `file`, from memory or else from `decode` (and then
    /// kept).
    pub fn get_or_decode<E>(
        &self,
        file: u64,
        offset: u64,
        decode: impl FnOnce() -> Result<Column, E>,
    ) -> Result<Arc<Column>, E> {
        match &self.0 {
            Some(cache) => cache.get_or_insert_with(&(file, offset), || decode().map(Arc::new)),
            None => decode().map(Arc::new),
        }
    }
}

/// A process-unique id for a column file just opened.
pub fn next_file_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(n: i64) -> Column {
        Column {
            times: (0..n).collect(),
            values: Values::Float((0..n).map(|i| i as f64).collect()),
        }
    }

    #[test]
    fn decodes_once_then_serves_from_memory() {
        let cache = BlockCache::new(1 << 20);
        let mut decoded = 0;
        for _ in 0..3 {
            let c = cache
                .get_or_decode(1, 0, || -> Result<Column, ()> {
                    decoded += 1;
                    Ok(column(10))
                })
                .unwrap();
            assert_eq!(c.len(), 10);
        }
        assert_eq!(decoded, 1);
        // Another file, same offset: another block.
        let other = cache.get_or_decode(2, 0, || -> Result<Column, ()> { Ok(column(3)) });
        assert_eq!(other.map(|c| c.len()), Ok(3));
    }

    #[test]
    fn errors_are_not_kept_and_a_disabled_cache_always_decodes() {
        let cache = BlockCache::new(1 << 20);
        assert_eq!(
            cache.get_or_decode(1, 0, || Err::<Column, _>("bad")),
            Err("bad")
        );
        assert!(cache.get_or_decode(1, 0, || Ok::<_, ()>(column(2))).is_ok());
        let off = BlockCache::new(0);
        let mut decoded = 0;
        for _ in 0..2 {
            let _ = off.get_or_decode(1, 0, || -> Result<Column, ()> {
                decoded += 1;
                Ok(column(1))
            });
        }
        assert_eq!(decoded, 2);
    }

    #[test]
    fn memory_stays_within_its_bound() {
        // Room for about four 1000-point blocks (16 kB each).
        let cache = BlockCache::new(64_000);
        for offset in 0..100 {
            let _ = cache.get_or_decode(1, offset, || Ok::<_, ()>(column(1000)));
        }
        let held = cache.0.as_ref().map_or(0, |c| c.weight());
        assert!(held <= 64_000, "{held}");
    }
}
