//! influx-rs as one node of a cluster: writes and state-changing statements are published to a
//! replicated log ([`log::ReplicatedLog`], on NATS JetStream: [`nats::NatsLog`]) and every node
//! applies the log, in order, to its own engine. How it fits together, and what is not done
//! yet: `README.md` beside this file.

pub mod applied;
pub mod entry;
pub mod health;
pub mod log;
pub mod nats;
pub mod once;
pub mod snapshot;
mod verify;

use crate::config::ClusterConfig;
use crate::query::{self, QueryContext, StatementResult};
use crate::storage::{Engine, EngineError, WriteSummary};
use crate::write::ParsedBody;
use applied::AppliedFile;
use entry::{Action, Entry};
use log::{LogError, LogReader, ReplicatedLog};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How often the applied position is written down, at most.
const PERSIST_EVERY: Duration = Duration::from_millis(200);
/// Entries applied in one go when more are waiting.
const APPLY_BATCH: usize = 256;
/// Room left in a message for the entry's header.
const HEADER_ROOM: usize = 4096;
/// After this long without an entry, the apply loop checks whether the log has newer ones
/// (a reader stuck on a NATS server that went away) and reopens its reader if so.
const STALL_CHECK: Duration = Duration::from_secs(2);
/// Longest the origin of an entry waits for its own node to apply it.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The log could not take or give entries (no quorum, unreachable): answered 503.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The entry is in the log but this node has not applied it in time (its apply loop is
    /// stopped or far behind): answered 503; the entry will be applied by every node.
    #[error("stored in the log at sequence {sequence}, but this node has not applied it: {why}")]
    NotApplied {
        /// Where the entry is.
        sequence: u64,
        /// Why it is not applied.
        why: String,
    },
    /// An entry could not be encoded (a name longer than 65,535 bytes).
    #[error(transparent)]
    Entry(#[from] entry::EntryError),
    /// This node cannot join: same node id as a running node, or data newer than the log.
    #[error("{0}")]
    Refused(String),
}

/// What applying one entry did, handed to the node that published it.
#[derive(Debug)]
enum Outcome {
    Write(Result<WriteSummary, EngineError>),
    Statement(StatementResult),
}

/// The node of a cluster on NATS JetStream: what the daemon runs.
pub type ClusterNode = Node<nats::NatsLog>;

/// The response header carrying the log sequence a write or statement was stored at.
pub const SEQUENCE_HEADER: &str = "X-Influx-Rs-Sequence";

/// The query parameter that makes a query wait until this node applied a sequence.
pub const AFTER_SEQUENCE_PARAM: &str = "after-sequence";

/// Whether `statement` changes state and so goes through the log (`KILL QUERY` is about this
/// node's own queries and stays here).
pub fn goes_through_log(statement: &influxql::Statement) -> bool {
    !statement.is_read_only() && !matches!(statement, influxql::Statement::KillQuery { .. })
}

/// Results of the entries this process published, by request number, until applied.
type Waiters = Mutex<HashMap<u64, oneshot::Sender<Outcome>>>;

/// This node of the cluster.
pub struct Node<L: ReplicatedLog> {
    log: Arc<L>,
    engine: Arc<Engine>,
    config: ClusterConfig,
    /// `node-id/instance`: entries from this process carry it.
    origin: String,
    next_request: AtomicU64,
    waiters: Waiters,
    applied: watch::Sender<u64>,
    applied_file: AppliedFile,
    /// Why the apply loop stopped (an entry it cannot apply), for health and the log.
    stopped: Mutex<Option<String>>,
    /// The entries applied last, to notice a log whose applied part was rewritten
    /// ([`verify`]).
    trail: Mutex<verify::AppliedTrail>,
    /// Whether this node holds the once-per-cluster lease ([`once`]).
    lease_held: std::sync::atomic::AtomicBool,
}

impl<L: ReplicatedLog> std::fmt::Debug for Node<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("origin", &self.origin)
            .field("applied", &*self.applied.borrow())
            .finish()
    }
}

impl<L: ReplicatedLog> Node<L> {
    /// Joins: checks that no running node has this node id and that this node's data is not
    /// newer than the log, then starts applying the log and sending heartbeats.
    pub async fn start(
        log: L,
        engine: Arc<Engine>,
        config: ClusterConfig,
    ) -> Result<Arc<Self>, ClusterError> {
        if config.node_id.is_empty() {
            return Err(ClusterError::Refused(
                "[cluster] node-id is required (INFLUX_RS_CLUSTER_NODE_ID)".into(),
            ));
        }
        let applied_file = AppliedFile::new(engine.data_dir());
        let applied = applied_file
            .read()
            .map_err(|e| ClusterError::Refused(e.to_string()))?;
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let node = Arc::new(Node {
            origin: format!("{}/{}", config.node_id, &instance[..12]),
            log: Arc::new(log),
            engine,
            config,
            next_request: AtomicU64::new(1),
            waiters: Mutex::default(),
            applied: watch::Sender::new(applied),
            applied_file,
            stopped: Mutex::default(),
            trail: Mutex::default(),
            lease_held: Default::default(),
        });
        node.check_node_id().await?;
        let state = node.log.state().await?;
        if applied + 1 < state.first {
            return Err(ClusterError::Refused(format!(
                "this node has applied the log up to sequence {applied}, but the log keeps \
                 entries from {} on only: this node needs a snapshot. Start it with `--rejoin` \
                 (it moves its data directory aside) or with an empty data directory: it \
                 restores the newest snapshot and replays the log from there",
                state.first
            )));
        }
        if applied > state.last {
            return Err(ClusterError::Refused(format!(
                "this node has applied the log up to sequence {applied}, but the log ends at {}: \
                 the log was recreated. Start this node with an empty data directory (or restore \
                 a backup) to join this log",
                state.last
            )));
        }
        node.heartbeat().await?;
        tokio::spawn(Arc::clone(&node).apply_loop());
        tokio::spawn(Arc::clone(&node).heartbeats());
        tracing::info!(node = %node.origin, applied, log_first = state.first, log_last = state.last, "joined the cluster");
        Ok(node)
    }

    /// Whether the apply loop stopped at an entry it cannot apply.
    pub fn is_stopped(&self) -> bool {
        self.stopped.lock().is_some()
    }

    /// The sequence of the last entry this node applied.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until this node has applied `sequence` (read-your-writes), at most the configured
    /// `sequence-wait-timeout`; the error says where it got to.
    pub async fn wait_for(&self, sequence: u64) -> Result<(), String> {
        let mut rx = self.applied.subscribe();
        let reached = tokio::time::timeout(
            self.config.sequence_wait_timeout,
            rx.wait_for(|a| *a >= sequence),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        match reached {
            true => Ok(()),
            false => Err(format!(
                "timed out after {:?} waiting for this node to apply sequence {sequence} (it is at {})",
                self.config.sequence_wait_timeout,
                self.applied()
            )),
        }
    }

    /// Publishes the points of `body` to `db`.`rp` and waits until this node applied them;
    /// the engine's summary (as a single node's write gives it) and the last sequence used.
    pub async fn write(
        &self,
        db: &str,
        rp: &str,
        body: &ParsedBody,
    ) -> Result<(Result<WriteSummary, EngineError>, u64), ClusterError> {
        let lines = crate::subscriber::to_line_protocol(&body.points);
        let max = self.log.max_message().saturating_sub(HEADER_ROOM).max(1);
        let mut pending = Vec::new();
        let mut last = 0;
        // Parts are cut for their compressed size (line protocol shrinks about tenfold); one
        // that still does not fit is cut again.
        let mut parts: Vec<&[u8]> = split_lines(&lines, max * 4);
        parts.reverse();
        while let Some(part) = parts.pop() {
            let entry = self.entry(db, rp, 0, Action::Write(part.to_vec()));
            let bytes = entry.encode()?;
            if bytes.len() > max + HEADER_ROOM {
                let halves = split_lines(part, part.len().div_ceil(2));
                // One line too long for a message cannot be cut: NATS refuses it (503).
                if halves.len() > 1 {
                    parts.extend(halves.into_iter().rev());
                    continue;
                }
            }
            let (sequence, rx) = self.publish(entry.request, bytes).await?;
            pending.push((sequence, rx));
            last = sequence;
        }
        let mut total = WriteSummary::default();
        for (sequence, rx) in pending {
            match self.outcome(sequence, rx).await? {
                Outcome::Write(Ok(s)) => {
                    total.written += s.written;
                    total.dropped += s.dropped;
                    total.first_error = total.first_error.or(s.first_error);
                    if total.policy.is_empty() {
                        total.policy = s.policy;
                    }
                }
                Outcome::Write(Err(e)) => return Ok((Err(e), last)),
                Outcome::Statement(_) => {
                    return Err(ClusterError::NotApplied {
                        sequence,
                        why: "a write's entry came back as a statement".into(),
                    })
                }
            }
        }
        Ok((Ok(total), last))
    }

    /// Publishes a statement that changes state and waits until this node applied it; its
    /// result and sequence.
    pub async fn execute(
        &self,
        statement: &str,
        db: &str,
        rp: &str,
        now: i64,
    ) -> Result<(StatementResult, u64), ClusterError> {
        let entry = self.entry(db, rp, now, Action::Statement(statement.to_string()));
        let (sequence, rx) = self.publish(entry.request, entry.encode()?).await?;
        match self.outcome(sequence, rx).await? {
            Outcome::Statement(r) => Ok((r, sequence)),
            Outcome::Write(_) => Err(ClusterError::NotApplied {
                sequence,
                why: "a statement's entry came back as a write".into(),
            }),
        }
    }

    fn entry(&self, db: &str, rp: &str, now: i64, action: Action) -> Entry {
        Entry {
            origin: self.origin.clone(),
            request: self.next_request.fetch_add(1, Ordering::Relaxed),
            database: db.to_string(),
            retention_policy: rp.to_string(),
            now,
            action,
        }
    }

    /// Publishes the encoded entry of `request`; its sequence and where its outcome will come.
    async fn publish(
        &self,
        request: u64,
        bytes: Vec<u8>,
    ) -> Result<(u64, oneshot::Receiver<Outcome>), ClusterError> {
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().insert(request, tx);
        match self.log.publish(bytes).await {
            Ok(sequence) => Ok((sequence, rx)),
            Err(e) => {
                self.waiters.lock().remove(&request);
                Err(e.into())
            }
        }
    }

    async fn outcome(
        &self,
        sequence: u64,
        rx: oneshot::Receiver<Outcome>,
    ) -> Result<Outcome, ClusterError> {
        match tokio::time::timeout(APPLY_WAIT, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            _ => Err(ClusterError::NotApplied {
                sequence,
                why: self
                    .stopped
                    .lock()
                    .clone()
                    .unwrap_or_else(|| format!("not applied within {APPLY_WAIT:?}")),
            }),
        }
    }

    /// Reads the log from the entry after the last applied one and applies it, for as long as
    /// the process runs; reopens the reader after a log error; stops at an entry it cannot
    /// apply.
    async fn apply_loop(self: Arc<Self>) {
        let mut last_persist = Instant::now();
        let mut persisted = self.applied();
        loop {
            let from = self.applied() + 1;
            let mut reader = match self.log.read_from(from).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the log; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            loop {
                let first = match tokio::time::timeout(STALL_CHECK, reader.next()).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "reading the log; reopening in 1 s");
                        self.trail.lock().disturb();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                    // Quiet: the position is recorded; fine if the log has nothing newer; a
                    // reader stuck on a server that went away is reopened.
                    Err(_) => match self.log.state().await {
                        _ if self.applied() != persisted => {
                            persisted = self.applied();
                            if let Err(e) = self.applied_file.write(persisted) {
                                tracing::error!(error = %e, "recording the applied position");
                            }
                            last_persist = Instant::now();
                            continue;
                        }
                        Ok(s) if s.last > self.applied() => {
                            tracing::info!(
                                applied = self.applied(),
                                log_last = s.last,
                                "the log's reader stalled; reopening it"
                            );
                            self.trail.lock().disturb();
                            break;
                        }
                        _ => continue,
                    },
                };
                let mut batch = vec![first];
                while batch.len() < APPLY_BATCH {
                    match futures_util::FutureExt::now_or_never(reader.next()) {
                        Some(Ok(r)) => batch.push(r),
                        _ => break,
                    }
                }
                if self.is_stopped() {
                    return;
                }
                if let Err(why) = self.apply_batch(batch).await {
                    self.stop_applying(format!("{why}. Fix or skip the entry (see src/cluster/README.md) and restart this node"));
                    let _ = self.applied_file.write(self.applied());
                    return;
                }
                if last_persist.elapsed() >= PERSIST_EVERY && self.applied() != persisted {
                    persisted = self.applied();
                    if let Err(e) = self.applied_file.write(persisted) {
                        tracing::error!(error = %e, "recording the applied position");
                    }
                    last_persist = Instant::now();
                }
            }
        }
    }

    /// Applies `records` (in order) on a blocking thread; an error names the entry that cannot
    /// be applied.
    async fn apply_batch(&self, records: Vec<log::Record>) -> Result<(), String> {
        let mut entries = Vec::with_capacity(records.len());
        let mut expected = self.applied() + 1;
        let mut trail = Vec::with_capacity(records.len());
        for r in records {
            if r.sequence < expected {
                continue; // read again after a reconnect
            }
            if r.sequence > expected {
                return Err(format!(
                    "the log no longer holds sequence {expected} (it goes on at {}): this node \
                     is behind the log's history and needs a snapshot",
                    r.sequence
                ));
            }
            let entry = Entry::decode(&r.payload)
                .map_err(|e| format!("entry at sequence {}: {e}", r.sequence))?;
            trail.push((
                r.sequence,
                crc32fast::hash(&r.payload),
                r.payload.len() as u64,
            ));
            entries.push((r.sequence, entry));
            expected += 1;
        }
        let Some(&(last, _)) = entries.last() else {
            return Ok(());
        };
        let engine = Arc::clone(&self.engine);
        let origin = self.origin.clone();
        let outcomes = tokio::task::spawn_blocking(move || {
            entries
                .into_iter()
                .map(|(_, e)| {
                    let mine = e.origin == origin;
                    let outcome = apply(&engine, &e);
                    (mine.then_some(e.request), outcome)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| format!("applying entries up to sequence {last}: {e}"))?;
        for (request, outcome) in outcomes {
            if let Some(request) = request {
                if let Some(tx) = self.waiters.lock().remove(&request) {
                    let _ = tx.send(outcome);
                }
            }
        }
        self.applied.send_replace(last);
        let mut applied = self.trail.lock();
        for (sequence, crc, size) in trail {
            applied.push(sequence, crc, size);
        }
        Ok(())
    }

    /// Stops the apply loop for `why` (in the log, `/health` and `/cluster`); the first reason
    /// stays.
    fn stop_applying(&self, why: String) {
        let mut stopped = self.stopped.lock();
        if stopped.is_none() {
            tracing::error!(node = %self.origin, "the apply loop stopped: {why}");
            *stopped = Some(why);
        }
    }

    /// Is any running node using this node id? Refuses to start if so. A recent heartbeat
    /// under this id from another process may be this node's own before a crash: it is
    /// watched for [`health::STALE_AFTER`], and only one that goes on is a twin.
    async fn check_node_id(&self) -> Result<(), ClusterError> {
        let Some(seen) = self.heartbeat_of_this_id().await? else {
            return Ok(());
        };
        if now_ms().saturating_sub(seen.time_ms) >= health::STALE_AFTER.as_millis() as u64 {
            return Ok(());
        }
        tracing::info!(other = %seen.origin, "a recent heartbeat under this node-id: checking that it stopped");
        tokio::time::sleep(health::STALE_AFTER).await;
        match self.heartbeat_of_this_id().await? {
            Some(beat) if beat.time_ms != seen.time_ms => Err(ClusterError::Refused(format!(
                "node-id {:?} is in use by a running node ({}, last heartbeat {} ms ago): \
                 every node needs its own node-id",
                self.config.node_id,
                beat.origin,
                now_ms().saturating_sub(beat.time_ms)
            ))),
            _ => Ok(()),
        }
    }

    /// The latest heartbeat under this node's id from another process.
    async fn heartbeat_of_this_id(&self) -> Result<Option<health::Heartbeat>, ClusterError> {
        let records = self.log.records().await?;
        Ok(records
            .into_iter()
            .filter(|(key, _)| *key == self.config.node_id)
            .filter_map(|(_, value)| serde_json::from_slice::<health::Heartbeat>(&value).ok())
            .find(|beat| beat.origin != self.origin))
    }
}

/// `SHOW STATS` module `cluster`: the node's applied position, whether it stopped, whether it
/// holds the lease.
impl<L: ReplicatedLog> query::diagnostics::StatsSource for Node<L> {
    fn stats(&self) -> Vec<query::diagnostics::ModuleStats> {
        vec![query::diagnostics::ModuleStats::new(
            "cluster",
            &[("nodeID", self.config.node_id.clone())],
            [
                ("appliedSequence", self.applied().into()),
                ("applyStopped", self.is_stopped().into()),
                ("lease", self.holds_lease().into()),
            ],
        )]
    }
}

/// Applies one entry to the engine.
fn apply(engine: &Engine, entry: &Entry) -> Outcome {
    match &entry.action {
        Action::Write(lines) => {
            let parsed =
                crate::write::parse_body(lines, lineproto::Precision::Nanoseconds, entry.now);
            Outcome::Write(engine.write(&entry.database, &entry.retention_policy, &parsed.points))
        }
        Action::Statement(text) => {
            let result = match influxql::parse_statement(text) {
                Err(e) => StatementResult {
                    error: Some(format!("error parsing query: {e}")),
                    ..Default::default()
                },
                Ok(statement) => {
                    let ctx = QueryContext {
                        database: Some(entry.database.clone()).filter(|d| !d.is_empty()),
                        retention_policy: Some(entry.retention_policy.clone())
                            .filter(|r| !r.is_empty()),
                        epoch: Some(query::Epoch::Rfc3339),
                        now: entry.now,
                        user: None,
                        interrupt: Default::default(),
                        running: None,
                        planner: None,
                        stats: Vec::new(),
                    };
                    query::execute(engine, &[statement], &ctx)
                        .results
                        .into_iter()
                        .next()
                        .unwrap_or_default()
                }
            };
            Outcome::Statement(result)
        }
    }
}

/// `lines` cut at line ends into parts of at most `room` bytes (a longer line is a part of its
/// own).
fn split_lines(lines: &[u8], room: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let mut end = (start + room).min(lines.len());
        if end < lines.len() {
            end = match lines[start..end].iter().rposition(|&b| b == b'\n') {
                Some(i) => start + i + 1,
                None => lines[end..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(lines.len(), |i| end + i + 1),
            };
        }
        parts.push(&lines[start..end]);
        start = end;
    }
    parts
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn split_lines_keeps_every_byte_in_order_at_line_ends(
            lines in proptest::collection::vec("[a-z ]{0,30}", 0..40),
            room in 1usize..100,
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let parts = split_lines(text.as_bytes(), room);
            prop_assert_eq!(parts.concat(), text.as_bytes().to_vec());
            for p in &parts {
                prop_assert!(p.ends_with(b"\n"));
                prop_assert!(p.len() <= room || p.iter().filter(|&&b| b == b'\n').count() == 1);
            }
        }
    }
}
