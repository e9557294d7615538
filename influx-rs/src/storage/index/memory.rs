//! The in-memory part of the series index: the series created since the last index file,
//! with their postings as bitmaps, until they are written to a file of their own.

use crate::storage::hll::{self, Hll};
use ahash::AHashMap;
use roaring::RoaringBitmap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Postings of one measurement.
#[derive(Debug, Default)]
pub(super) struct MeasurementPostings {
    /// All series of the measurement.
    pub(super) series: RoaringBitmap,
    /// tag key → tag value → series.
    pub(super) tags: BTreeMap<String, BTreeMap<String, RoaringBitmap>>,
}

/// Series with ids from `base` on, in the order they came.
#[derive(Debug)]
pub(super) struct MemIndex {
    base: u32,
    ids: AHashMap<Arc<[u8]>, u32>,
    keys: Vec<Arc<[u8]>>,
    measurements: BTreeMap<String, MeasurementPostings>,
    sketch: Hll,
}

impl MemIndex {
    /// An empty part whose first series gets id `base`.
    pub(super) fn new(base: u32) -> MemIndex {
        MemIndex {
            base,
            ids: AHashMap::new(),
            keys: Vec::new(),
            measurements: BTreeMap::new(),
            sketch: Hll::default(),
        }
    }

    /// The first id.
    pub(super) fn base(&self) -> u32 {
        self.base
    }

    /// Series held.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The id of `key`, if held.
    pub(super) fn get(&self, key: &[u8]) -> Option<u32> {
        self.ids.get(key).copied()
    }

    /// Adds `key` (not held yet) under the next id, which it returns.
    pub(super) fn insert(&mut self, key: &[u8]) -> u32 {
        let id = self.base + self.keys.len() as u32;
        self.sketch.add(hll::hash(key));
        let key: Arc<[u8]> = Arc::from(key);
        self.keys.push(Arc::clone(&key));
        self.ids.insert(Arc::clone(&key), id);
        if let Some(parsed) = lineproto::series_key::split(&key) {
            let m = self.measurements.entry(parsed.measurement).or_default();
            m.series.insert(id);
            for (k, v) in parsed.tags {
                m.tags
                    .entry(k)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .insert(id);
            }
        }
        id
    }

    /// The key of series `id`.
    pub(super) fn key(&self, id: u32) -> Option<&Arc<[u8]>> {
        self.keys.get(id.checked_sub(self.base)? as usize)
    }

    /// Keys in id order.
    pub(super) fn keys(&self) -> &[Arc<[u8]>] {
        &self.keys
    }

    /// Postings by measurement, sorted by name.
    pub(super) fn measurements(&self) -> &BTreeMap<String, MeasurementPostings> {
        &self.measurements
    }

    /// The sketch of the series held.
    pub(super) fn sketch(&self) -> &Hll {
        &self.sketch
    }
}
