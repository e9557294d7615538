//! The cluster's health, in the colours Elasticsearch users know: every node sends a heartbeat
//! (its applied sequence) to the log's key-value store each second, and any node can tell from
//! the heartbeats and the log's end how the cluster stands.
//!
//! - **green**: the log answers and every node that sent a heartbeat within the last
//!   [`STALE_AFTER`] is within `max-lag` entries of the log's end;
//! - **yellow**: the log answers, but a node is silent, lagging, or has stopped applying (its
//!   reads may be stale; it says so in its own `/health`);
//! - **red**: the log does not answer (no quorum): writes are refused.

use super::log::ReplicatedLog;
use super::{now_ms, Node};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often a node sends its heartbeat.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A node silent for this long counts as down.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

/// What a node says of itself each [`HEARTBEAT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// `node-id/instance` of the process.
    pub origin: String,
    /// Its applied sequence.
    pub applied: u64,
    /// When it said so (ms since the epoch, its clock).
    pub time_ms: u64,
    /// Why its apply loop stopped, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Whether it holds the once-per-cluster lease (continuous queries, retention).
    #[serde(default)]
    pub lease: bool,
}

/// The cluster's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All in step.
    Green,
    /// Writes work; a node is down, lagging or stopped.
    Yellow,
    /// The log has no quorum: writes are refused.
    Red,
}

/// One node as the heartbeats show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeHealth {
    /// Its node id.
    pub node: String,
    /// Its applied sequence.
    pub applied: u64,
    /// Entries it is behind the log's end.
    pub lag: u64,
    /// Milliseconds since its last heartbeat.
    pub last_contact_ms: u64,
    /// Whether it counts as in step.
    pub in_step: bool,
    /// Whether it runs the continuous queries and retention (holds the lease).
    pub holds_lease: bool,
    /// Why its apply loop stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// The `/cluster` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterHealth {
    /// The colour.
    pub status: Status,
    /// Why it is not green.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// This node's id.
    pub node: String,
    /// This node's applied sequence.
    pub applied: u64,
    /// The log's first and last sequences (absent when it does not answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<(u64, u64)>,
    /// Every node that sent a heartbeat recently, by node id.
    pub nodes: Vec<NodeHealth>,
}

impl<L: ReplicatedLog> Node<L> {
    /// This node's heartbeat, sent once.
    pub(super) async fn heartbeat(&self) -> Result<(), super::log::LogError> {
        let beat = Heartbeat {
            origin: self.origin.clone(),
            applied: self.applied(),
            time_ms: now_ms(),
            stopped: self.stopped.lock().clone(),
            lease: self.holds_lease(),
        };
        let bytes = serde_json::to_vec(&beat).unwrap_or_default();
        self.log.put(&self.config.node_id, bytes).await
    }

    /// Sends the heartbeat every [`HEARTBEAT`] for as long as the process runs, and checks that
    /// the log still holds what this node applied ([`super::verify`]): whole after a
    /// disturbance, the last entry every fifth time.
    pub(super) async fn heartbeats(self: std::sync::Arc<Self>) {
        /// Heartbeats between two checks that the log still holds what this node applied.
        const VERIFY_EVERY: u64 = 5;
        let mut tick = tokio::time::interval(HEARTBEAT);
        for beat in 0u64.. {
            tick.tick().await;
            if let Err(e) = self.heartbeat().await {
                tracing::debug!(error = %e, "heartbeat not sent");
            }
            self.verify_applied(beat % VERIFY_EVERY == 0).await;
        }
    }

    /// How the cluster stands, from this node.
    pub async fn health(&self) -> ClusterHealth {
        let applied = self.applied();
        let mut health = ClusterHealth {
            status: Status::Green,
            reasons: Vec::new(),
            node: self.config.node_id.clone(),
            applied,
            log: None,
            nodes: Vec::new(),
        };
        let state = match tokio::time::timeout(Duration::from_secs(3), self.log.state()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return red(health, e.to_string()),
            Err(_) => return red(health, "the log did not answer within 3 s".into()),
        };
        health.log = Some((state.first, state.last));
        let records = match tokio::time::timeout(Duration::from_secs(3), self.log.records()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return red(health, e.to_string()),
            Err(_) => {
                return red(
                    health,
                    "the nodes' heartbeats did not answer within 3 s".into(),
                )
            }
        };
        let now = now_ms();
        for (node, value) in records {
            let Ok(beat) = serde_json::from_slice::<Heartbeat>(&value) else {
                continue;
            };
            let last_contact_ms = now.saturating_sub(beat.time_ms);
            let lag = state.last.saturating_sub(beat.applied);
            let silent = last_contact_ms > STALE_AFTER.as_millis() as u64;
            let lagging = lag > self.config.max_lag;
            let in_step = !silent && !lagging && beat.stopped.is_none();
            if silent {
                health
                    .reasons
                    .push(format!("node {node} silent for {last_contact_ms} ms"));
            } else if let Some(why) = &beat.stopped {
                health
                    .reasons
                    .push(format!("node {node} stopped applying: {why}"));
            } else if lagging {
                health
                    .reasons
                    .push(format!("node {node} is {lag} entries behind"));
            }
            health.nodes.push(NodeHealth {
                node,
                applied: beat.applied,
                lag,
                last_contact_ms,
                in_step,
                holds_lease: beat.lease,
                stopped: beat.stopped,
            });
        }
        health.nodes.sort_by(|a, b| a.node.cmp(&b.node));
        if let Some(why) = self.stopped.lock().clone() {
            health
                .reasons
                .push(format!("this node stopped applying: {why}"));
        }
        if !health.reasons.is_empty() {
            health.status = Status::Yellow;
        }
        health
    }

    /// Whether this node's reads are current: it applies, and is within `max-lag` of the log's
    /// end as last seen.
    pub async fn is_current(&self) -> bool {
        if self.stopped.lock().is_some() {
            return false;
        }
        match self.log.state().await {
            Ok(s) => s.last.saturating_sub(self.applied()) <= self.config.max_lag,
            Err(_) => false,
        }
    }
}

fn red(mut health: ClusterHealth, why: String) -> ClusterHealth {
    health.status = Status::Red;
    health.reasons.push(why);
    health
}
