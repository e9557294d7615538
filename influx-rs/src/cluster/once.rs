//! Work done once per cluster rather than once per node, by the holder of the lease
//! [`LEASE`]: continuous queries, retention, and snapshots ([`super::snapshot`]). The holder publishes what that work decides to
//! the log — the CQs' `SELECT … INTO` for each window that ended, and `DROP SHARD` for each
//! expired shard group — and every node applies it like any other entry. When the holder dies,
//! its lease lapses after [`ReplicatedLog::lease_ttl`] and another node takes it at its next
//! attempt ([`RENEW`]): so the work moves within `lease_ttl + RENEW` (10 s + 3 s on NATS).

use super::log::ReplicatedLog;
use super::Node;
use crate::continuous::{self, LastRuns};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The lease's name.
pub const LEASE: &str = "once-per-cluster";
/// How often the lease is taken or renewed.
pub const RENEW: Duration = Duration::from_secs(3);
/// How often the holder looks for due work.
const TICK: Duration = Duration::from_secs(1);

/// What the holder runs.
#[derive(Debug, Clone, Copy)]
pub struct OnceWork {
    /// Run continuous queries.
    pub continuous_queries: bool,
    /// Enforce retention, this often (`None`: not at all).
    pub retention: Option<Duration>,
    /// Publish a snapshot and trim the log, this often (`None`: never).
    pub snapshots: Option<Duration>,
}

impl<L: ReplicatedLog> Node<L> {
    /// Whether this node holds the once-per-cluster lease now.
    pub fn holds_lease(&self) -> bool {
        self.lease_held.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keeps trying for the lease, and while this node holds it, does `work`; for as long as
    /// the process runs.
    pub async fn run_once_per_cluster(self: Arc<Self>, work: OnceWork) {
        let mut last_runs = LastRuns::new();
        let mut last_attempt: Option<Instant> = None;
        let mut last_retention = Instant::now();
        let mut last_snapshot = Instant::now();
        // A snapshot runs beside the loop (it may take long), one at a time.
        let snapshotting = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            if last_attempt.is_none_or(|t| t.elapsed() >= RENEW) {
                last_attempt = Some(Instant::now());
                // A node that stopped applying has stale data: it lets the lease expire, so
                // CQs, retention and snapshots move to a node that applies.
                let held = !self.is_stopped()
                    && self
                        .log
                        .acquire_lease(LEASE, &self.origin)
                        .await
                        .unwrap_or(false);
                let was = self
                    .lease_held
                    .swap(held, std::sync::atomic::Ordering::Relaxed);
                if held && !was {
                    tracing::info!(node = %self.origin, "took the once-per-cluster lease: continuous queries and retention run here");
                    last_runs.clear();
                    continuous::seed_previous(&self.engine.catalog(), &mut last_runs, now_ns());
                } else if was && !held {
                    tracing::info!(node = %self.origin, "lost the once-per-cluster lease");
                }
            }
            if !self.holds_lease() {
                continue;
            }
            let now = now_ns();
            if work.continuous_queries {
                for run in continuous::due(&self.engine.catalog(), &mut last_runs, now) {
                    let text = run.select.to_string();
                    match self.execute(&text, &run.database, "", now).await {
                        Ok((result, _)) => {
                            if let Some(e) = result.error {
                                tracing::warn!(database = %run.database, cq = %run.name, "continuous query failed: {e}");
                            }
                        }
                        Err(e) => {
                            tracing::warn!(database = %run.database, cq = %run.name, "continuous query not published: {e}")
                        }
                    }
                }
            }
            if let Some(every) = work.snapshots {
                if last_snapshot.elapsed() >= every
                    && !snapshotting.swap(true, std::sync::atomic::Ordering::AcqRel)
                {
                    last_snapshot = Instant::now();
                    let (node, busy) = (Arc::clone(&self), Arc::clone(&snapshotting));
                    tokio::spawn(async move {
                        if let Err(e) = node.publish_snapshot().await {
                            tracing::warn!("snapshot not published: {e}");
                        }
                        busy.store(false, std::sync::atomic::Ordering::Release);
                    });
                }
            }
            if let Some(every) = work.retention {
                if last_retention.elapsed() >= every {
                    last_retention = Instant::now();
                    for id in self.engine.catalog().expired_groups(now) {
                        if let Err(e) = self.execute(&format!("DROP SHARD {id}"), "", "", now).await
                        {
                            tracing::warn!(
                                shard_id = id,
                                "retention: DROP SHARD not published: {e}"
                            );
                        }
                    }
                }
            }
        }
    }
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}
