//! HyperLogLog sketches: the estimated cardinality InfluxDB answers `SHOW SERIES CARDINALITY`
//! (without `EXACT`) with, kept beside each shard's series index so that the estimate over a
//! database merges one small sketch per shard instead of listing every series key.
//!
//! Up to [`SPARSE_LIMIT`] items the sketch keeps their hashes and counts exactly (as 1.x's
//! HyperLogLog++ is exact for small sets); past it, 2^14 registers (16 KiB, a standard error of
//! about 0.8 %), 64-bit hashes (no large-range correction needed), linear counting while
//! registers are empty.

/// Bits of the hash that pick the register.
const PRECISION: u32 = 14;
const REGISTERS: usize = 1 << PRECISION;

/// Distinct hashes kept (32 KiB) before the sketch turns into registers.
pub const SPARSE_LIMIT: usize = 4096;

/// One sketch.
#[derive(Clone)]
pub struct Hll {
    /// The hashes seen, while there are few; `None` once `registers` count.
    sparse: Option<ahash::AHashSet<u64>>,
    registers: Box<[u8]>,
}

impl std::fmt::Debug for Hll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hll(~{})", self.estimate())
    }
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            sparse: Some(ahash::AHashSet::new()),
            registers: Box::default(),
        }
    }
}

/// The hash of a series key: the same in every shard, process, build and machine (FNV-1a 64
/// with MurmurHash3's finalizer to spread it over the high bits the registers are picked by),
/// because sketches and the series index's hash tables are kept on disk.
pub fn hash(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The byte form's first byte for a sketch that still keeps hashes.
const SPARSE_TAG: u8 = 0;
/// The byte form's first byte for a sketch of registers.
const DENSE_TAG: u8 = 1;

impl Hll {
    /// Counts one item by its hash.
    pub fn add(&mut self, hash: u64) {
        if let Some(set) = &mut self.sparse {
            set.insert(hash);
            if set.len() > SPARSE_LIMIT {
                self.densify();
            }
            return;
        }
        let index = (hash >> (64 - PRECISION)) as usize;
        // The remaining bits, with a stop bit so that the rank is at most 64 - PRECISION + 1.
        let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    /// Turns the kept hashes into registers.
    fn densify(&mut self) {
        let Some(set) = self.sparse.take() else {
            return;
        };
        self.registers = vec![0u8; REGISTERS].into_boxed_slice();
        for h in set {
            self.add(h);
        }
    }

    /// Adds what `other` counted.
    pub fn merge(&mut self, other: &Hll) {
        match &other.sparse {
            Some(hashes) => hashes.iter().for_each(|h| self.add(*h)),
            None => {
                self.densify();
                for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
                    *mine = (*mine).max(*theirs);
                }
            }
        }
    }

    /// The sketch as bytes, for the series index's files: `0 | n u32 | n hashes u64` while
    /// sparse (sorted), `1 | 2^14 registers` after.
    pub fn to_bytes(&self) -> Vec<u8> {
        match &self.sparse {
            Some(set) => {
                let mut hashes: Vec<u64> = set.iter().copied().collect();
                hashes.sort_unstable();
                let mut out = Vec::with_capacity(5 + 8 * hashes.len());
                out.push(SPARSE_TAG);
                out.extend_from_slice(&(hashes.len() as u32).to_le_bytes());
                for h in hashes {
                    out.extend_from_slice(&h.to_le_bytes());
                }
                out
            }
            None => {
                let mut out = Vec::with_capacity(1 + REGISTERS);
                out.push(DENSE_TAG);
                out.extend_from_slice(&self.registers);
                out
            }
        }
    }

    /// Reads [`Hll::to_bytes`]'s form back; `None` when the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Hll> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            SPARSE_TAG => {
                let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                let hashes = rest.get(4..)?;
                if n > SPARSE_LIMIT || hashes.len() != 8 * n {
                    return None;
                }
                let mut sketch = Hll::default();
                for h in hashes.chunks_exact(8) {
                    sketch.add(u64::from_le_bytes(h.try_into().ok()?));
                }
                Some(sketch)
            }
            DENSE_TAG if rest.len() == REGISTERS && rest.iter().all(|&r| r <= 64) => Some(Hll {
                sparse: None,
                registers: rest.into(),
            }),
            _ => None,
        }
    }

    /// The estimated number of distinct items counted (exact while the sketch is sparse).
    pub fn estimate(&self) -> u64 {
        if let Some(set) = &self.sparse {
            return set.len() as u64;
        }
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let (sum, zeros) = self.registers.iter().fold((0.0f64, 0u32), |(s, z), &r| {
            (s + 2f64.powi(-i32::from(r)), z + u32::from(r == 0))
        });
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / f64::from(zeros)).ln()
        } else {
            raw
        };
        estimate.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sketch(range: std::ops::Range<u64>) -> Hll {
        let mut h = Hll::default();
        for i in range {
            h.add(hash(format!("cpu,host=h{i}").as_bytes()));
        }
        h
    }

    #[test]
    fn estimates_within_a_few_percent_and_merges_as_a_union() {
        assert_eq!(Hll::default().estimate(), 0);
        // Small sets are counted exactly.
        assert_eq!(
            sketch(0..SPARSE_LIMIT as u64).estimate(),
            SPARSE_LIMIT as u64
        );
        for n in [10u64, 1_000, 100_000, 1_000_000] {
            let e = sketch(0..n).estimate() as f64;
            assert!((e - n as f64).abs() / n as f64 <= 0.03, "{n}: {e}");
        }
        // Two shards holding overlapping series: the union, not the sum.
        let mut a = sketch(0..60_000);
        a.merge(&sketch(40_000..100_000));
        let e = a.estimate() as f64;
        assert!((e - 100_000.0).abs() / 100_000.0 <= 0.03, "{e}");
        // Counting an item twice changes nothing.
        let mut twice = sketch(0..5_000);
        twice.merge(&sketch(0..5_000));
        assert_eq!(twice.estimate(), sketch(0..5_000).estimate());
    }

    #[test]
    fn hash_is_fixed_by_the_format() {
        // Kept on disk: a change here breaks every index file written before it.
        assert_eq!(hash(b"cpu,host=a"), 0xca3e_fd29_c19c_6e42);
        assert_ne!(hash(b"cpu,host=a"), hash(b"cpu,host=b"));
    }

    proptest! {
        #[test]
        fn bytes_read_back(n in 0u64..20_000, garbage in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = sketch(0..n);
            let back = Hll::from_bytes(&s.to_bytes()).unwrap();
            prop_assert_eq!(back.estimate(), s.estimate());
            prop_assert_eq!(back.to_bytes(), s.to_bytes());
            // Any bytes: a sketch or None, never a panic.
            let _ = Hll::from_bytes(&garbage);
        }

        #[test]
        fn merge_is_order_free(a in 0u64..5_000, b in 0u64..5_000) {
            let mut x = sketch(0..a);
            x.merge(&sketch(a..a + b));
            let mut y = sketch(a..a + b);
            y.merge(&sketch(0..a));
            prop_assert_eq!(x.estimate(), y.estimate());
        }
    }
}
