//! A column: the times and values of one field of one series, typed, in struct-of-arrays form.
//!
//! Used by the cache, by column files when decoding a block, and by queries. `dedup` gives the
//! store's duplicate rule: for equal timestamps the later value wins.

use super::value::{FieldType, Value};

/// Values of one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Floats.
    Float(Vec<f64>),
    /// Integers.
    Integer(Vec<i64>),
    /// Unsigned integers.
    Unsigned(Vec<u64>),
    /// Strings.
    String(Vec<String>),
    /// Booleans.
    Boolean(Vec<bool>),
}

/// Applies the same expression to whichever vector a [`Values`] holds.
macro_rules! each_values {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::Float($v) => $body,
            Values::Integer($v) => $body,
            Values::Unsigned($v) => $body,
            Values::String($v) => $body,
            Values::Boolean($v) => $body,
        }
    };
}

impl Values {
    /// Empty values of `ty`.
    pub fn new(ty: FieldType) -> Values {
        match ty {
            FieldType::Float => Values::Float(Vec::new()),
            FieldType::Integer => Values::Integer(Vec::new()),
            FieldType::Unsigned => Values::Unsigned(Vec::new()),
            FieldType::String => Values::String(Vec::new()),
            FieldType::Boolean => Values::Boolean(Vec::new()),
        }
    }

    /// The type held.
    pub fn field_type(&self) -> FieldType {
        match self {
            Values::Float(_) => FieldType::Float,
            Values::Integer(_) => FieldType::Integer,
            Values::Unsigned(_) => FieldType::Unsigned,
            Values::String(_) => FieldType::String,
            Values::Boolean(_) => FieldType::Boolean,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        each_values!(self, v => v.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as a [`Value`].
    pub fn get(&self, i: usize) -> Option<Value> {
        Some(match self {
            Values::Float(v) => Value::Float(*v.get(i)?),
            Values::Integer(v) => Value::Integer(*v.get(i)?),
            Values::Unsigned(v) => Value::Unsigned(*v.get(i)?),
            Values::String(v) => Value::String(v.get(i)?.clone()),
            Values::Boolean(v) => Value::Boolean(*v.get(i)?),
        })
    }

    /// Appends a value; false if its type differs.
    pub fn push(&mut self, value: &Value) -> bool {
        match (self, value) {
            (Values::Float(v), Value::Float(x)) => v.push(*x),
            (Values::Integer(v), Value::Integer(x)) => v.push(*x),
            (Values::Unsigned(v), Value::Unsigned(x)) => v.push(*x),
            (Values::String(v), Value::String(x)) => v.push(x.clone()),
            (Values::Boolean(v), Value::Boolean(x)) => v.push(*x),
            _ => return false,
        }
        true
    }

    /// The values at the positions `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Values {
        match self {
            Values::Float(v) => Values::Float(idx.iter().map(|&i| v[i]).collect()),
            Values::Integer(v) => Values::Integer(idx.iter().map(|&i| v[i]).collect()),
            Values::Unsigned(v) => Values::Unsigned(idx.iter().map(|&i| v[i]).collect()),
            Values::String(v) => Values::String(idx.iter().map(|&i| v[i].clone()).collect()),
            Values::Boolean(v) => Values::Boolean(idx.iter().map(|&i| v[i]).collect()),
        }
    }

    fn extend_from(&mut self, other: &Values, range: std::ops::Range<usize>) -> bool {
        match (self, other) {
            (Values::Float(a), Values::Float(b)) => a.extend_from_slice(&b[range]),
            (Values::Integer(a), Values::Integer(b)) => a.extend_from_slice(&b[range]),
            (Values::Unsigned(a), Values::Unsigned(b)) => a.extend_from_slice(&b[range]),
            (Values::String(a), Values::String(b)) => a.extend_from_slice(&b[range]),
            (Values::Boolean(a), Values::Boolean(b)) => a.extend_from_slice(&b[range]),
            _ => return false,
        }
        true
    }
}

macro_rules! values_from {
    ($($t:ty => $variant:ident),*) => {$(
        impl From<Vec<$t>> for Values {
            fn from(v: Vec<$t>) -> Values {
                Values::$variant(v)
            }
        }
    )*};
}
values_from!(f64 => Float, i64 => Integer, u64 => Unsigned, String => String, bool => Boolean);

/// Times and values of one field of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Nanosecond timestamps, parallel to `values`.
    pub times: Vec<i64>,
    /// The values.
    pub values: Values,
}

impl Column {
    /// An empty column of `ty`.
    pub fn new(ty: FieldType) -> Column {
        Column {
            times: Vec::new(),
            values: Values::new(ty),
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Appends one point; false if the type differs.
    pub fn push(&mut self, time: i64, value: &Value) -> bool {
        if self.values.push(value) {
            self.times.push(time);
            true
        } else {
            false
        }
    }

    /// Bytes the column's vectors have reserved (string contents not included).
    pub fn reserved_bytes(&self) -> usize {
        let per_value = match &self.values {
            Values::Float(v) => v.capacity() * 8,
            Values::Integer(v) => v.capacity() * 8,
            Values::Unsigned(v) => v.capacity() * 8,
            Values::String(v) => v.capacity() * std::mem::size_of::<String>(),
            Values::Boolean(v) => v.capacity(),
        };
        self.times.capacity() * 8 + per_value
    }

    /// Whether times strictly increase (sorted, no duplicates).
    fn is_deduped(&self) -> bool {
        self.times.windows(2).all(|w| w[0] < w[1])
    }

    /// The column sorted and deduplicated, borrowed when it already is (the usual case).
    pub fn deduped(&self) -> std::borrow::Cow<'_, Column> {
        if self.is_deduped() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut c = self.clone();
        c.dedup();
        std::borrow::Cow::Owned(c)
    }

    /// Sorts by time; of points with equal time the one appended last is kept.
    pub fn dedup(&mut self) {
        if self.is_deduped() {
            return;
        }
        let mut idx: Vec<usize> = (0..self.times.len()).collect();
        idx.sort_by_key(|&i| self.times[i]); // stable: equal times keep append order
        let mut keep = Vec::with_capacity(idx.len());
        for (n, &i) in idx.iter().enumerate() {
            let last_of_run = idx
                .get(n + 1)
                .is_none_or(|&next| self.times[next] != self.times[i]);
            if last_of_run {
                keep.push(i);
            }
        }
        self.times = keep.iter().map(|&i| self.times[i]).collect();
        self.values = self.values.select(&keep);
    }

    /// Appends the points of `newer` (which win on equal times) and deduplicates.
    pub fn merge(&mut self, newer: &Column) {
        if newer.is_empty() {
            return;
        }
        let in_order = self.times.last().is_none_or(|&t| newer.times[0] > t);
        if self.values.extend_from(&newer.values, 0..newer.len()) {
            self.times.extend_from_slice(&newer.times);
            if !in_order || !newer.times.windows(2).all(|w| w[0] < w[1]) {
                self.dedup();
            }
        }
    }

    /// The points with `min <= time <= max` (expects a deduplicated column).
    pub fn range(&self, min: i64, max: i64) -> Column {
        let start = self.times.partition_point(|&t| t < min);
        let end = self.times.partition_point(|&t| t <= max);
        let mut values = Values::new(self.values.field_type());
        let (start, end) = (start, end.max(start));
        values.extend_from(&self.values, start..end);
        Column {
            times: self.times[start..end].to_vec(),
            values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Model: a map time → last written value.
        #[test]
        fn dedup_and_merge_keep_the_last_write(
            a in proptest::collection::vec((0i64..50, any::<i64>()), 0..60),
            b in proptest::collection::vec((0i64..50, any::<i64>()), 0..60),
        ) {
            let mut model = BTreeMap::new();
            let mut col = Column::new(FieldType::Integer);
            for (t, v) in &a {
                col.push(*t, &Value::Integer(*v));
                model.insert(*t, *v);
            }
            col.dedup();
            let mut newer = Column::new(FieldType::Integer);
            for (t, v) in &b {
                newer.push(*t, &Value::Integer(*v));
                model.insert(*t, *v);
            }
            newer.dedup();
            col.merge(&newer);
            let got: Vec<(i64, i64)> = match &col.values {
                Values::Integer(v) => col.times.iter().copied().zip(v.iter().copied()).collect(),
                _ => unreachable!(),
            };
            let want: Vec<(i64, i64)> = model.into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn range_is_inclusive() {
        let mut c = Column::new(FieldType::Boolean);
        for t in 0..10 {
            c.push(t, &Value::Boolean(t % 2 == 0));
        }
        let r = c.range(3, 5);
        assert_eq!(r.times, vec![3, 4, 5]);
        assert!(c.range(20, 30).is_empty());
        assert!(c.range(5, 3).is_empty());
    }

    #[test]
    fn mismatched_types_are_refused() {
        let mut c = Column::new(FieldType::Float);
        assert!(!c.push(1, &Value::Integer(1)));
        assert!(c.is_empty());
    }
}
