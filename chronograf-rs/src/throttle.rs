//! Failed logins, counted so that passwords cannot be guessed at speed: after
//! [`PER_NAME`] failures for one user name within [`WINDOW`], that name is refused until the
//! oldest failure leaves the window; after [`IN_ALL`] failures for any names, every login is.
//! A refused attempt is not checked at all, so guessing also costs no bcrypt time. Memory is
//! bounded: at most [`MAX_NAMES`] names are remembered.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Failures one user name may have within [`WINDOW`].
pub const PER_NAME: usize = 5;
/// Failures all names together may have within [`WINDOW`].
pub const IN_ALL: usize = 100;
/// User names remembered at most; past it, the name with the oldest last failure is dropped.
pub const MAX_NAMES: usize = 10_000;

/// Recent failures, per user name and in all.
#[derive(Debug, Default)]
pub struct Throttle {
    by_name: HashMap<String, VecDeque<Instant>>,
    all: VecDeque<Instant>,
}

/// Drops the failures of `times` older than the window before `now`.
fn expire(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        times.pop_front();
    }
}

/// How long until the oldest of `times` leaves the window, if `times` is at `limit`.
fn wait(times: &VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
    if times.len() < limit {
        return None;
    }
    times
        .front()
        .map(|oldest| WINDOW.saturating_sub(now.duration_since(*oldest)))
}

impl Throttle {
    /// How long `name` must wait before it may try again, if it must.
    pub fn refused(&mut self, name: &str, now: Instant) -> Option<Duration> {
        expire(&mut self.all, now);
        let mine = self.by_name.get_mut(name).and_then(|times| {
            expire(times, now);
            wait(times, PER_NAME, now)
        });
        mine.or_else(|| wait(&self.all, IN_ALL, now))
    }

    /// Counts a failure of `name`.
    pub fn failed(&mut self, name: &str, now: Instant) {
        self.all.push_back(now);
        if self.all.len() > IN_ALL {
            self.all.pop_front();
        }
        if !self.by_name.contains_key(name) && self.by_name.len() >= MAX_NAMES {
            self.by_name.retain(|_, times| {
                expire(times, now);
                !times.is_empty()
            });
            if self.by_name.len() >= MAX_NAMES {
                let oldest = self
                    .by_name
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(n, _)| n.clone());
                if let Some(oldest) = oldest {
                    self.by_name.remove(&oldest);
                }
            }
        }
        let times = self.by_name.entry(name.to_string()).or_default();
        times.push_back(now);
        if times.len() > PER_NAME {
            times.pop_front();
        }
    }

    /// Forgets the failures of `name`, which just logged in.
    pub fn succeeded(&mut self, name: &str) {
        self.by_name.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_refused_after_its_failures_until_they_expire() {
        let mut t = Throttle::default();
        let start = Instant::now();
        for _ in 0..PER_NAME {
            assert_eq!(t.refused("ops", start), None);
            t.failed("ops", start);
        }
        let wait = t.refused("ops", start + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, WINDOW - Duration::from_secs(10));
        assert_eq!(t.refused("other", start), None, "other names still may");
        assert_eq!(t.refused("ops", start + WINDOW), None);
        t.failed("ops", start);
        t.succeeded("ops");
        assert_eq!(t.refused("ops", start), None);
    }

    #[test]
    fn spraying_many_names_is_refused_too() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..IN_ALL {
            t.failed(&format!("user{i}"), now);
        }
        assert!(t.refused("fresh", now).is_some());
        assert_eq!(t.refused("fresh", now + WINDOW), None);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = Throttle::default();
        let now = Instant::now();
        for i in 0..(MAX_NAMES + 50) {
            t.failed(&format!("user{i}"), now);
        }
        assert!(t.by_name.len() <= MAX_NAMES);
        assert!(t.all.len() <= IN_ALL);
    }
}
