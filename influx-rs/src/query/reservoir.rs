//! Reservoir sampling for `sample()`: `n` of the points offered, each equally likely, in one
//! pass whatever the number of points.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// `n` of the items offered chosen uniformly at random (reservoir sampling); all of them when
/// no more than `n` were offered.
pub(super) struct Reservoir<T> {
    n: usize,
    offered: usize,
    /// The items chosen so far, in no particular order.
    pub(super) kept: Vec<T>,
    seed: RandomState,
}

impl<T> Reservoir<T> {
    /// An empty reservoir that keeps `n` items.
    pub(super) fn new(n: usize) -> Reservoir<T> {
        Reservoir {
            n,
            offered: 0,
            kept: Vec::new(),
            seed: RandomState::new(),
        }
    }

    /// Offers one more item: kept with probability n / offered so far.
    pub(super) fn offer(&mut self, item: T) {
        self.offered += 1;
        if self.kept.len() < self.n {
            self.kept.push(item);
            return;
        }
        let mut h = self.seed.build_hasher();
        h.write_usize(self.offered);
        let j = (h.finish() % self.offered as u64) as usize;
        if let Some(slot) = self.kept.get_mut(j) {
            *slot = item;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(items: impl IntoIterator<Item = i32>, n: usize) -> Vec<i32> {
        let mut reservoir = Reservoir::new(n);
        items.into_iter().for_each(|i| reservoir.offer(i));
        reservoir.kept
    }

    #[test]
    fn a_sample_keeps_n_distinct_items() {
        let picked = sample(0..1000, 10);
        assert_eq!(picked.len(), 10);
        let mut sorted = picked.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(sample([1, 2], 5), vec![1, 2]);
    }

    #[test]
    fn a_sample_reaches_late_items() {
        // Over many draws of 1 from 100, items past the first are picked too.
        let late = (0..200).filter(|_| sample(0..100, 1)[0] >= 50).count();
        assert!(late > 0);
    }
}
