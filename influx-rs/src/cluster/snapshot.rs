//! Snapshots: how a node joins (or comes back) behind the log's history, and why the log can be
//! trimmed at all.
//!
//! Every `snapshot-interval` the once-per-cluster lease holder takes a backup of its own data
//! ([`crate::backup`], the same code as `influx-rs backup`: one consistent moment, with the
//! applied sequence `S` it covers), keeps it in the log's snapshot store (replacing the one
//! before), and then trims the log: entries past `max-log-age` or beyond `max-log-bytes` go, but
//! never one after `S`, so whatever the log lacks, the newest snapshot holds.
//!
//! A node started with an empty data directory on a log whose first entry is past 1 restores
//! the newest snapshot first ([`restore_newest`]) and replays the log from `S + 1`. A node whose
//! data is older than the log's first entry refuses to start and says so: its data directory is
//! to be moved aside (or emptied), and it then joins as a new node.

use super::log::{LogError, ReplicatedLog};
use super::{ClusterError, Node};
use crate::backup;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What one snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotDone {
    /// The log sequence it covers.
    pub sequence: u64,
    /// Its bytes.
    pub bytes: u64,
    /// The log's first sequence after trimming.
    pub log_first: u64,
}

fn invalid(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Log(LogError::Invalid(e.to_string()))
}

impl<L: ReplicatedLog> Node<L> {
    /// Takes a backup of this node, keeps it as the cluster's newest snapshot, and trims the
    /// log behind it within `max-log-age` / `max-log-bytes`.
    pub async fn publish_snapshot(&self) -> Result<SnapshotDone, ClusterError> {
        self.known_to_match_the_log()?;
        let engine = std::sync::Arc::clone(&self.engine);
        let (tar, manifest) = tokio::task::spawn_blocking(move || {
            backup::stage_tar(&engine, super::applied::sequence_in)
        })
        .await
        .map_err(invalid)?
        .map_err(invalid)?;
        let sequence = manifest.sequence.unwrap_or_else(|| self.applied());
        let bytes = std::fs::metadata(&tar).map_or(0, |m| m.len());
        if let Err(e) = self.known_to_match_the_log() {
            let _ = std::fs::remove_file(&tar);
            return Err(e);
        }
        let put = self.log.put_snapshot(sequence, tar.clone()).await;
        let _ = std::fs::remove_file(&tar);
        put?;
        let log_first = self.trim(sequence).await?;
        tracing::info!(
            sequence,
            bytes,
            log_first,
            "snapshot published; the log is kept from {log_first}"
        );
        Ok(SnapshotDone {
            sequence,
            bytes,
            log_first,
        })
    }

    /// Trims the entries past the log's limits that the snapshot at `covered` holds; the log's
    /// first sequence after.
    async fn trim(&self, covered: u64) -> Result<u64, ClusterError> {
        let state = self.log.state().await?;
        let by_age = match self.config.max_log_age {
            age if age.is_zero() => 0,
            age => self
                .log
                .first_since(SystemTime::now() - age)
                .await?
                .unwrap_or(state.last + 1),
        };
        let keep_from = trim_point(&state, by_age, self.config.max_log_bytes, covered);
        if keep_from > state.first {
            self.log.trim_before(keep_from).await?;
            return Ok(keep_from);
        }
        Ok(state.first)
    }
}

/// The first sequence to keep: entries before `by_age` are past the age limit, and the oldest
/// ones are past `max_bytes` (estimated from the log's mean entry size); neither goes past
/// `covered`, the newest snapshot's sequence.
pub fn trim_point(state: &super::log::LogState, by_age: u64, max_bytes: u64, covered: u64) -> u64 {
    let entries = (state.last + 1).saturating_sub(state.first.max(1));
    let by_bytes = if max_bytes > 0 && state.bytes > max_bytes && entries > 0 {
        let mean = (state.bytes / entries).max(1);
        let kept = (max_bytes / mean).min(entries);
        state.last + 1 - kept
    } else {
        0
    };
    by_age.max(by_bytes).min(covered + 1)
}

/// On a node whose data directory `data_dir` is new (no catalog yet), when the log no longer
/// begins at 1: restores the newest snapshot into it, so the node replays the log from the
/// snapshot's sequence on. The sequence restored; `None` when nothing was needed.
pub async fn restore_newest<L: ReplicatedLog>(
    log: &L,
    data_dir: &Path,
) -> Result<Option<u64>, ClusterError> {
    if data_dir.join("meta.json").exists() {
        return Ok(None);
    }
    let state = log.state().await?;
    if state.first <= 1 {
        return Ok(None);
    }
    let too_old = |sequence: u64| {
        ClusterError::Refused(format!(
            "the newest snapshot covers the log up to sequence {sequence}, but the log keeps \
             entries from {} on only",
            state.first
        ))
    };
    match log.snapshot_sequence().await? {
        None => {
            return Err(ClusterError::Refused(format!(
                "the log keeps entries from sequence {} on and there is no snapshot to start from",
                state.first
            )))
        }
        Some(sequence) if sequence + 1 < state.first => return Err(too_old(sequence)),
        Some(_) => {}
    }
    let joining = joining_dir(data_dir);
    let _ = std::fs::remove_dir_all(&joining);
    std::fs::create_dir_all(&joining).map_err(invalid)?;
    let tar = joining.join("snapshot.tar");
    let fetched = log.fetch_snapshot(tar.clone()).await;
    let restored = fetched.and_then(|sequence| {
        let unpacked = joining.join("unpacked");
        let file = std::fs::File::open(&tar).map_err(|e| LogError::Invalid(e.to_string()))?;
        let manifest = backup::unpack(std::io::BufReader::new(file), &unpacked)
            .and_then(|_| backup::restore(&unpacked, data_dir))
            .map_err(|e| LogError::Invalid(format!("restoring the snapshot: {e}")))?;
        Ok((sequence, manifest))
    });
    let _ = std::fs::remove_dir_all(&joining);
    let (sequence, manifest) = restored?;
    if sequence + 1 < state.first {
        return Err(too_old(sequence));
    }
    tracing::info!(
        sequence,
        files = manifest.files.len(),
        "restored the cluster's newest snapshot; replaying the log from {}",
        sequence + 1
    );
    Ok(Some(sequence))
}

/// Where a joining node unpacks the snapshot: beside its data directory.
fn joining_dir(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    data_dir.with_file_name(format!(".{name}.joining"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::log::LogState;

    #[test]
    fn the_log_is_trimmed_within_its_limits_and_never_past_the_snapshot() {
        let state = LogState {
            first: 1,
            last: 100,
            bytes: 10_000,
            ..Default::default()
        };
        // No limit: nothing goes.
        assert_eq!(trim_point(&state, 0, 0, 100), 0);
        // Entries before 40 are too old; the snapshot covers up to 90.
        assert_eq!(trim_point(&state, 40, 0, 90), 40);
        // ... but only up to 30: what the snapshot lacks stays.
        assert_eq!(trim_point(&state, 40, 0, 29), 30);
        // 2,000 bytes of 100-byte entries: the last 20 stay.
        assert_eq!(trim_point(&state, 0, 2_000, 100), 81);
        // Whichever limit is stricter.
        assert_eq!(trim_point(&state, 90, 2_000, 100), 90);
        // Every entry too old: all covered ones go.
        assert_eq!(trim_point(&state, 101, 0, 100), 101);
        // An empty log.
        assert_eq!(trim_point(&LogState::default(), 0, 10, 0), 0);
    }
}
