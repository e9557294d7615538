//! A read of the storage engine and what it would touch: the query engine asks for the fields
//! of some series of a measurement over a time range ([`MeasurementRead`]), and `EXPLAIN` is
//! told what that read costs ([`MeasurementPlan`], [`ReadPlan`]) without doing it.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A read of some fields of the series of one measurement: where, what, and which series.
pub struct MeasurementRead<'a> {
    /// Database.
    pub db: &'a str,
    /// Retention policy.
    pub rp: &'a str,
    /// Measurement.
    pub measurement: &'a str,
    /// Fields read.
    pub fields: &'a [String],
    /// Time range, ns, both ends included.
    pub range: (i64, i64),
    /// Which series.
    pub filter: SeriesFilter<'a>,
}

/// Which series of a measurement a read wants (copied to read several sources alike).
#[derive(Clone, Copy)]
pub struct SeriesFilter<'a> {
    /// `(tag, values)`: the tag must have one of the (non-empty) values; looked up in the
    /// indexes' bitmaps before any key is read.
    pub tags: &'a [(String, Vec<String>)],
    /// Decides each remaining series from its key.
    pub keep: &'a dyn Fn(&[u8]) -> bool,
    /// [`SeriesFilter::keep`] for a series the index picked by `tags`: it leaves out what
    /// those bitmaps decided exactly (re-reading the tags of each of 100,000 keys to find
    /// again that `region = 'r7'` was a tenth of such a query's time).
    pub keep_indexed: &'a dyn Fn(&[u8]) -> bool,
    /// When set, these series (sorted) instead of the index's: a query that listed its series
    /// once reads them group by group, without searching the index again.
    pub keys: Option<&'a [Arc<[u8]>]>,
}

/// What reading some fields of the series of a measurement would touch (`EXPLAIN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasurementPlan {
    /// Shards searched.
    pub shards: usize,
    /// Series read.
    pub series: usize,
    /// Per field: what reading it touches.
    pub fields: BTreeMap<String, ReadPlan>,
}

/// What reading one field of some series would touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// Values still in caches (not yet in column files).
    pub cached_values: usize,
    /// Column files with blocks to decode (counted per field and series).
    pub files: usize,
    /// Blocks to decode.
    pub blocks: usize,
    /// Their compressed size.
    pub block_bytes: u64,
}

impl std::ops::AddAssign for ReadPlan {
    fn add_assign(&mut self, other: ReadPlan) {
        self.cached_values += other.cached_values;
        self.files += other.files;
        self.blocks += other.blocks;
        self.block_bytes += other.block_bytes;
    }
}
