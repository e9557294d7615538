//! Noticing that the log no longer holds what this node applied.
//!
//! JetStream (NATS 2.9, which has no `sync_interval: always`) can lose entries a quorum had
//! stored when a majority of its servers go down at once, and then gives their sequences to new
//! entries. A node that had already applied the lost entries would go on from its position and
//! differ from the others in silence: it holds writes they never saw, and it skips the new
//! entries that took those sequences. So every node keeps a trail of the entries it applied
//! last (sequence and CRC-32, bounded in count and bytes) and compares it with the log:
//!
//! - lightly, every few seconds, the entry at its last applied sequence;
//! - deeply, the whole trail, read back in order, after the log was *disturbed*: its leader
//!   changed, it did not answer, it ended before this node's position, this node reconnected
//!   to it, or had to reopen its reader. Lost entries can only come back as others through an
//!   election, which a node sees as one of these.
//!
//! A log that stays shorter than this node's position for five checks in a row lost entries
//! this node applied (before new ones take their sequences): that counts as replaced too.
//!
//! An entry found replaced stops the apply loop with the reason (in the log, `/health` and
//! `/cluster`); the operator starts the node again with `--rejoin`, which moves the data
//! directory aside, restores the newest snapshot and replays the log (`README.md`). What a restarted node applied before it stopped is checked only at
//! its last position.

use super::log::{LogReader, LogState, ReplicatedLog};
use super::{Node, STALL_CHECK};
use std::collections::VecDeque;

/// Most entries the trail keeps.
const TRAIL_ENTRIES: usize = 4096;
/// Most bytes of entries the trail covers (what a deep check reads back).
const TRAIL_BYTES: u64 = 64 << 20;
/// Checks in a row (one a second) that see the log end before this node's position before it
/// counts as lost entries, not a new leader still catching up.
const SHORT_LOG_CHECKS: u32 = 5;

/// The entries this node applied last, and whether the log was disturbed since the trail was
/// last compared with it.
#[derive(Debug, Default)]
pub(super) struct AppliedTrail {
    /// `(sequence, crc32, bytes)` in order.
    entries: VecDeque<(u64, u32, u64)>,
    bytes: u64,
    disturbed: bool,
    /// The log's leader as last seen.
    leader: Option<String>,
    /// This node's connections to the log as last seen.
    connections: Option<u64>,
    /// Checks in a row that saw the log end before this node's position.
    short_checks: u32,
}

impl AppliedTrail {
    /// Records an applied entry: its sequence, CRC-32 and size.
    pub(super) fn push(&mut self, sequence: u64, crc: u32, size: u64) {
        self.entries.push_back((sequence, crc, size));
        self.bytes += size;
        while self.entries.len() > TRAIL_ENTRIES
            || (self.bytes > TRAIL_BYTES && self.entries.len() > 1)
        {
            if let Some((_, _, b)) = self.entries.pop_front() {
                self.bytes -= b;
            }
        }
    }

    /// The last applied entry: sequence and CRC.
    fn last(&self) -> Option<(u64, u32)> {
        self.entries.back().map(|&(s, c, _)| (s, c))
    }

    /// The log did something after which the trail must be compared whole.
    pub(super) fn disturb(&mut self) {
        self.disturbed = true;
    }

    /// Takes in the log's state as seen now by a node at `applied`: a new leader, a new
    /// connection, or an end before `applied`, is a disturbance.
    fn observe(&mut self, state: &LogState, applied: u64) {
        if self.connections.is_some_and(|c| c != state.connections) {
            self.disturbed = true;
        }
        self.connections = Some(state.connections);
        if state.leader.is_some() && state.leader != self.leader {
            if self.leader.is_some() {
                self.disturbed = true;
            }
            self.leader = state.leader.clone();
        }
        if state.last < applied {
            self.disturbed = true;
            self.short_checks += 1;
        } else {
            self.short_checks = 0;
        }
    }

    /// Whether the log has ended before this node's position for [`SHORT_LOG_CHECKS`] checks
    /// in a row: it lost entries this node applied (and no new ones took their sequences yet).
    fn log_lost_applied(&self) -> bool {
        self.short_checks >= SHORT_LOG_CHECKS
    }
}

/// What comparing the trail with the log found.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Every entry compared is the one applied.
    Same,
    /// The log holds another entry at this sequence.
    Replaced(u64),
    /// Not every entry could be read back (the log ends before them, or did not answer in
    /// time): compare again later.
    Unknown,
}

/// Compares `expected` `(sequence, crc)` with `read` `(sequence, crc)` (both in order, `read`
/// possibly cut short).
fn compare(expected: &[(u64, u32)], read: &[(u64, u32)]) -> Verdict {
    let mut read = read.iter().peekable();
    for &(sequence, crc) in expected {
        while read.next_if(|(s, _)| *s < sequence).is_some() {}
        match read.peek() {
            Some(&&(s, c)) if s == sequence && c != crc => return Verdict::Replaced(sequence),
            Some(&&(s, _)) if s == sequence => {}
            _ => return Verdict::Unknown,
        }
    }
    Verdict::Same
}

/// What an operator does about a node whose data differs from the log.
const REJOIN: &str = "Start this node again with `--rejoin`: it moves its data directory aside, \
                      restores the newest snapshot and replays the log";

impl<L: ReplicatedLog> Node<L> {
    /// One check of the trail against the log (called every heartbeat): deep after a
    /// disturbance, else light every `light` call. Stops the apply loop when an entry this node
    /// applied was replaced.
    pub(super) async fn verify_applied(&self, light: bool) {
        if self.is_stopped() {
            return;
        }
        let state = match self.log.state().await {
            Ok(s) => s,
            Err(_) => {
                self.trail.lock().disturb();
                return;
            }
        };
        let applied = self.applied();
        let (deep, expected) = {
            let mut trail = self.trail.lock();
            trail.observe(&state, applied);
            if trail.log_lost_applied() {
                drop(trail);
                return self.stop_applying(format!(
                    "the log ends at sequence {}, but this node applied it up to {applied}: the \
                     log lost entries (a majority of its NATS servers down at once), so this \
                     node's data differs from the log's. {REJOIN}",
                    state.last
                ));
            }
            let expected: Vec<(u64, u32)> = match trail.disturbed {
                true => trail
                    .entries
                    .iter()
                    .filter(|(s, _, _)| *s >= state.first)
                    .map(|&(s, c, _)| (s, c))
                    .collect(),
                false => trail.last().into_iter().collect(),
            };
            (trail.disturbed, expected)
        };
        if expected.is_empty() {
            self.trail.lock().disturbed = false;
            return;
        }
        if !deep && !light {
            return;
        }
        let verdict = match self.read_back(&expected, deep).await {
            Some(read) => compare(&expected, &read),
            None => Verdict::Unknown,
        };
        match verdict {
            Verdict::Same if deep => self.trail.lock().disturbed = false,
            Verdict::Same | Verdict::Unknown => {}
            Verdict::Replaced(sequence) => self.stop_applying(format!(
                "the log's entry at sequence {sequence} is not the one this node applied there: \
                 the log lost entries (a majority of its NATS servers down at once) and gave \
                 their sequences to others, so this node's data differs from the log's. \
                 {REJOIN}"
            )),
        }
    }

    /// Refuses (for a snapshot of this node) unless this node applies the log and its trail
    /// matched the log since the last disturbance: a snapshot of data that differs from the
    /// log would spread the difference to every node restoring it.
    pub(super) fn known_to_match_the_log(&self) -> Result<(), super::ClusterError> {
        if let Some(why) = self.stopped.lock().clone() {
            return Err(super::ClusterError::Refused(format!(
                "this node stopped applying: {why}"
            )));
        }
        if self.trail.lock().disturbed {
            return Err(super::ClusterError::Refused(
                "the log was disturbed and this node has not yet checked that it still holds                  what this node applied"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `(sequence, crc)` of the log's entries over `expected`'s range: one entry fetched, or
    /// (`whole`) the range read in order. `None` if the log did not answer.
    async fn read_back(&self, expected: &[(u64, u32)], whole: bool) -> Option<Vec<(u64, u32)>> {
        let (&(from, _), &(to, _)) = (expected.first()?, expected.last()?);
        if !whole || from == to {
            let payload = self.log.entry_at(to).await.ok()??;
            return Some(vec![(to, crc32fast::hash(&payload))]);
        }
        let mut reader = self.log.read_from(from).await.ok()?;
        let mut read = Vec::with_capacity(expected.len());
        // Bounded: ends at `to`, at the log's end (no entry within the stall check) or an error.
        while let Ok(Ok(r)) = tokio::time::timeout(STALL_CHECK, reader.next()).await {
            read.push((r.sequence, crc32fast::hash(&r.payload)));
            if r.sequence >= to {
                break;
            }
        }
        Some(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trail_is_bounded_in_entries_and_bytes() {
        let mut trail = AppliedTrail::default();
        for s in 1..=10_000u64 {
            trail.push(s, crc32fast::hash(b"x"), 1);
        }
        assert_eq!(trail.entries.len(), TRAIL_ENTRIES);
        assert_eq!(trail.last(), Some((10_000, crc32fast::hash(b"x"))));
        for s in 10_001..10_010u64 {
            trail.push(s, 0, TRAIL_BYTES / 4);
        }
        assert!(trail.bytes <= TRAIL_BYTES, "{}", trail.bytes);
        assert_eq!(trail.entries.front().map(|e| e.0), Some(10_006));
    }

    #[test]
    fn a_new_leader_or_a_shorter_log_disturbs() {
        let mut trail = AppliedTrail::default();
        let state = |leader: &str, last| LogState {
            first: 1,
            last,
            bytes: 0,
            leader: Some(leader.into()),
            connections: 1,
        };
        trail.observe(&state("a", 10), 10);
        assert!(!trail.disturbed, "the first leader seen is no change");
        trail.observe(&state("a", 12), 10);
        assert!(!trail.disturbed);
        trail.observe(&state("b", 12), 10);
        assert!(trail.disturbed);
        trail.disturbed = false;
        trail.observe(&state("b", 9), 10);
        assert!(trail.disturbed, "the log ends before this node's position");
        trail.disturbed = false;
        trail.observe(&state("b", 12), 10);
        assert!(!trail.disturbed);
        trail.observe(
            &LogState {
                connections: 2,
                ..state("b", 12)
            },
            10,
        );
        assert!(trail.disturbed, "this node reconnected");
        // A log that stays shorter than this node's position lost what it applied.
        for _ in 1..SHORT_LOG_CHECKS {
            trail.observe(&state("b", 9), 10);
        }
        assert!(!trail.log_lost_applied(), "a new leader may still catch up");
        trail.observe(&state("b", 9), 10);
        assert!(trail.log_lost_applied());
        trail.observe(&state("b", 10), 10);
        assert!(!trail.log_lost_applied());
    }

    #[test]
    fn comparing_finds_the_first_replaced_entry_or_cannot_tell() {
        let expected = [(5, 50), (6, 60), (7, 70)];
        assert_eq!(
            compare(&expected, &[(5, 50), (6, 60), (7, 70)]),
            Verdict::Same
        );
        assert_eq!(
            compare(&expected, &[(4, 1), (5, 50), (6, 61), (7, 70)]),
            Verdict::Replaced(6)
        );
        // The log ends at 6: entry 7 cannot be compared yet.
        assert_eq!(compare(&expected, &[(5, 50), (6, 60)]), Verdict::Unknown);
        assert_eq!(compare(&expected, &[]), Verdict::Unknown);
        assert_eq!(compare(&[], &[]), Verdict::Same);
    }
}
