//! The in-memory cache of a shard: recent points by series and field, until a snapshot
//! writes them to a column file.

use super::column::Column;
use super::value::{Point, Value};
use ahash::AHashMap;

/// Series key → fields → column, with a running byte count for the memory limits.
#[derive(Debug, Default)]
pub struct Cache {
    series: AHashMap<Vec<u8>, SeriesFields>,
    bytes: usize,
}

/// A series with more fields than this also keeps an index of their names.
const INDEXED_FROM: usize = 32;

/// The columns of one series, in the order their fields arrived. A wide series (more than
/// [`INDEXED_FROM`] fields) also keeps a name index, so that finding a field costs the same
/// whatever the number of fields: without it, writing or reading a point of 100,000 fields
/// took time quadratic in their number.
#[derive(Debug, Default)]
struct SeriesFields {
    columns: Vec<(String, Column)>,
    index: Option<AHashMap<String, usize>>,
}

impl SeriesFields {
    /// Where field `name` is, if the series has it; `guess` is tried first (points of a
    /// series usually list their fields in the same order).
    fn position(&self, name: &str, guess: usize) -> Option<usize> {
        match (self.columns.get(guess), &self.index) {
            (Some((n, _)), _) if n == name => Some(guess),
            (_, Some(index)) => index.get(name).copied(),
            (_, None) => self.columns.iter().position(|(n, _)| n == name),
        }
    }

    fn get(&self, name: &str) -> Option<&Column> {
        self.position(name, 0).map(|i| &self.columns[i].1)
    }

    /// Adds a column for a new field; returns where it is.
    fn push(&mut self, name: String, column: Column) -> usize {
        let at = self.columns.len();
        if let Some(index) = &mut self.index {
            index.insert(name.clone(), at);
        }
        self.columns.push((name, column));
        if self.index.is_none() && self.columns.len() > INDEXED_FROM {
            self.index = Some(
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (n.clone(), i))
                    .collect(),
            );
        }
        at
    }
}

/// One series of [`Cache::sorted`]: its key and its (field, column) pairs by field name.
pub type SortedSeries<'a> = (&'a [u8], Vec<(&'a str, &'a Column)>);

/// Overhead counted per new column (vector headers, name, map slot).
const COLUMN_OVERHEAD: usize = 96;

impl Cache {
    /// Adds a point whose field types were already checked against the shard's schema.
    pub fn insert(&mut self, p: &Point) {
        let fields = match self.series.get_mut(p.series_key.as_slice()) {
            Some(f) => f,
            None => {
                self.bytes += p.series_key.len() + COLUMN_OVERHEAD;
                // Room for this point's fields only: a first push would reserve four, and
                // with many series of few fields that doubled the cache's memory.
                let fields = SeriesFields {
                    columns: Vec::with_capacity(p.fields.len()),
                    index: None,
                };
                self.series.entry(p.series_key.clone()).or_insert(fields)
            }
        };
        for (i, (name, value)) in p.fields.iter().enumerate() {
            let slot = match fields.position(name, i) {
                Some(slot) => slot,
                None => {
                    self.bytes += name.len() + COLUMN_OVERHEAD;
                    fields.push(name.to_string(), Column::new(value.field_type()))
                }
            };
            let column = &mut fields.columns[slot].1;
            // Charge what the vectors reserve, not what they hold: growth doubles them.
            let before = column.reserved_bytes();
            if column.push(p.time, value) {
                self.bytes += column.reserved_bytes() - before;
                if let Value::String(s) = value {
                    self.bytes += s.len();
                }
            }
        }
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Whether series `key` has cached points.
    pub fn has_series(&self, key: &[u8]) -> bool {
        self.series.contains_key(key)
    }

    /// The cached points of one field of one series in `[min, max]`, deduplicated.
    pub fn read(&self, key: &[u8], field: &str, min: i64, max: i64) -> Option<Column> {
        let column = self.series.get(key)?.get(field)?;
        Some(column.deduped().range(min, max))
    }

    /// The first and last time of the cached points of one field of one series in
    /// `[min, max]`, without copying them.
    pub fn bounds(&self, key: &[u8], field: &str, min: i64, max: i64) -> Option<(i64, i64)> {
        let column = self.series.get(key)?.get(field)?;
        column
            .times
            .iter()
            .filter(|t| (min..=max).contains(*t))
            .fold(None, |b, &t| {
                Some(b.map_or((t, t), |(lo, hi)| (t.min(lo), t.max(hi))))
            })
    }

    /// Everything by series key then field name, for writing a frozen, shared cache to a
    /// column file (columns are not copied: call [`Column::deduped`] on each).
    pub fn sorted(&self) -> Vec<SortedSeries<'_>> {
        let mut all: Vec<SortedSeries<'_>> = self
            .series
            .iter()
            .map(|(k, fields)| {
                let mut fs: Vec<(&str, &Column)> = fields
                    .columns
                    .iter()
                    .map(|(n, c)| (n.as_str(), c))
                    .collect();
                fs.sort_unstable_by(|a, b| a.0.cmp(b.0));
                (k.as_slice(), fs)
            })
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::value::Value;

    #[test]
    fn later_writes_win_and_bytes_grow() {
        let mut c = Cache::default();
        let p = |t, v| Point {
            measurement: "m".into(),
            series_key: b"m".to_vec(),
            time: t,
            fields: vec![("v".into(), Value::Integer(v))],
        };
        c.insert(&p(2, 1));
        let before = c.bytes();
        c.insert(&p(1, 2));
        c.insert(&p(2, 3));
        // Bytes follow the vectors' reservations: a few more points make them grow.
        for t in 10..20 {
            c.insert(&p(t, 0));
        }
        assert!(c.bytes() > before);
        let col = c.read(b"m", "v", i64::MIN, 2).unwrap();
        assert_eq!(col.times, vec![1, 2]);
        assert_eq!(col.values.get(1), Some(Value::Integer(3)));
        let sorted = c.sorted();
        assert_eq!(sorted.len(), 1);
        // Bounds see points written out of order, within the range asked.
        assert_eq!(c.bounds(b"m", "v", i64::MIN, i64::MAX), Some((1, 19)));
        assert_eq!(c.bounds(b"m", "v", 2, 12), Some((2, 12)));
        assert_eq!(c.bounds(b"m", "v", 3, 9), None);
        assert_eq!(c.bounds(b"m", "w", i64::MIN, i64::MAX), None);
    }
}
