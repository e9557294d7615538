//! A running output: its disk buffer, what enters it (filters, renames, serialization) and the
//! writer that drains it in batches, backing off while the destination fails.

use crate::buffer::{Batch, DiskBuffer};
use crate::config::{AgentConfig, OutputInstance};
use crate::filter::Filter;
use crate::metric::Metric;
use crate::outputs::{LineFormat, Output, OutputError, WriteOutcome};
use crate::stats::Stats;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// The side of an output that accepts metrics (runs on the router thread).
pub struct OutputIntake {
    label: String,
    instance: OutputInstance,
    filter: Filter,
    format: LineFormat,
    buffer: Arc<Mutex<DiskBuffer>>,
    batch_size: usize,
    ready: Arc<Notify>,
    stats: Arc<Stats>,
}

/// The side of an output that writes (a task of its own).
pub struct OutputWriter {
    label: String,
    output: Output,
    buffer: Arc<Mutex<DiskBuffer>>,
    batch_size: usize,
    flush_interval: Duration,
    flush_jitter: Duration,
    ready: Arc<Notify>,
    stats: Arc<Stats>,
}

fn lock(buffer: &Mutex<DiskBuffer>) -> MutexGuard<'_, DiskBuffer> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Builds both sides of `instance`, opening its buffer under `buffers_dir`.
pub(super) fn build(
    instance: &OutputInstance,
    agent: &AgentConfig,
    buffers_dir: &Path,
    stats: &Arc<Stats>,
) -> Result<(OutputIntake, OutputWriter), String> {
    let fail = |e: String| format!("{}: outputs.{}: {e}", instance.origin, instance.name);
    let output = instance.settings.build().map_err(|e| fail(e.to_string()))?;
    let filter = Filter::new(&instance.filter).map_err(|e| fail(e.to_string()))?;
    let limit = instance
        .common
        .metric_buffer_limit
        .unwrap_or(agent.metric_buffer_limit)
        .max(1);
    let batch_size = instance
        .common
        .metric_batch_size
        .unwrap_or(agent.metric_batch_size)
        .max(1);
    let dir = buffers_dir.join(instance.stable_id());
    let (buffer, recovery) = DiskBuffer::open(&dir, limit).map_err(|e| fail(e.to_string()))?;
    let label = instance
        .common
        .alias
        .clone()
        .unwrap_or_else(|| instance.name.clone());
    if recovery.waiting > 0 || recovery.discarded_bytes > 0 {
        tracing::info!(output = %label, waiting = recovery.waiting, discarded_bytes = recovery.discarded_bytes, "buffer recovered");
    }
    stats.output(&label, |s| {
        s.buffer_size = buffer.len() as u64;
        s.buffer_limit = limit as u64;
    });
    let buffer = Arc::new(Mutex::new(buffer));
    let ready = Arc::new(Notify::new());
    let intake = OutputIntake {
        label: label.clone(),
        instance: instance.clone(),
        filter,
        format: instance.settings.line_format(),
        buffer: buffer.clone(),
        batch_size,
        ready: ready.clone(),
        stats: stats.clone(),
    };
    let writer = OutputWriter {
        label,
        output,
        buffer,
        batch_size,
        flush_interval: instance
            .common
            .flush_interval
            .unwrap_or(agent.flush_interval)
            .0
            .max(Duration::from_millis(10)),
        flush_jitter: instance.common.flush_jitter.unwrap_or(agent.flush_jitter).0,
        ready,
        stats: stats.clone(),
    };
    Ok((intake, writer))
}

impl OutputIntake {
    /// Filters, renames and serializes `metrics` and appends them to the buffer (written to
    /// its file; synced when they cannot be delivered). Blocking: call it from the router
    /// thread.
    pub fn accept(&self, metrics: &[Metric]) {
        let c = &self.instance.common;
        let mut lines = Vec::with_capacity(metrics.len());
        let mut filtered = 0u64;
        for m in metrics {
            let Some(mut m) = self.filter.apply(m.clone()) else {
                filtered += 1;
                continue;
            };
            if let Some(name) = &c.name_override {
                m.name = name.clone();
            }
            if !c.name_prefix.is_empty() || !c.name_suffix.is_empty() {
                m.name = format!("{}{}{}", c.name_prefix, m.name, c.name_suffix);
            }
            match self.format.line(&m) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    filtered += 1;
                    tracing::warn!(output = %self.label, measurement = %m.name, "metric cannot be written as line protocol: {e}");
                }
            }
        }
        let mut buffer = lock(&self.buffer);
        let (added, dropped) = match buffer.append(&lines) {
            Ok(dropped) => (lines.len(), dropped),
            Err(e) => {
                tracing::error!(output = %self.label, "buffer: {e}; {} metrics dropped", lines.len());
                (0, lines.len())
            }
        };
        if dropped > 0 {
            tracing::warn!(output = %self.label, "Metric buffer overflow; {dropped} metrics have been dropped");
        }
        let size = buffer.len();
        drop(buffer);
        self.stats.output(&self.label, |s| {
            s.metrics_added += added as u64;
            s.metrics_dropped += dropped as u64;
            s.metrics_filtered += filtered;
            s.buffer_size = size as u64;
        });
        if size >= self.batch_size {
            self.ready.notify_one();
        }
    }
}

/// How a flush ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlushResult {
    /// The buffer is empty.
    Drained,
    /// A write failed; what is left waits for the next attempt.
    Failed(String),
}

impl OutputWriter {
    /// Writes until the buffer is empty or a write fails; what a failure leaves waiting is
    /// synced to disk (see [`DiskBuffer::sync`]).
    pub async fn flush(&mut self) -> FlushResult {
        let result = self.write_batches().await;
        if matches!(result, FlushResult::Failed(_)) {
            self.sync_buffer().await;
        }
        result
    }

    /// Syncs the buffer's appends to disk (a failure is logged: the metrics stay in the file).
    async fn sync_buffer(&self) {
        let buffer = self.buffer.clone();
        let synced = tokio::task::spawn_blocking(move || lock(&buffer).sync()).await;
        match synced {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(output = %self.label, "buffer sync: {e}"),
            Err(e) => tracing::error!(output = %self.label, "buffer sync: {e}"),
        }
    }

    /// Writes batches until the buffer is empty or a write fails.
    async fn write_batches(&mut self) -> FlushResult {
        loop {
            let buffer = self.buffer.clone();
            let batch_size = self.batch_size;
            let peeked = tokio::task::spawn_blocking(move || lock(&buffer).peek(batch_size)).await;
            let batch: Batch = match peeked {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => return FlushResult::Failed(e.to_string()),
                Err(e) => return FlushResult::Failed(e.to_string()),
            };
            if batch.count == 0 {
                return FlushResult::Drained;
            }
            let started = Instant::now();
            let outcome = self.output.write(&batch.body, batch.count).await;
            self.stats.write_took(&self.label, started.elapsed());
            let (written, dropped) = match outcome {
                Ok(WriteOutcome::Written) => (batch.count, 0),
                Ok(WriteOutcome::Rejected { dropped, reason }) => {
                    let dropped = dropped.min(batch.count);
                    tracing::error!(output = %self.label, "Failed to write metric (will be dropped: {reason})");
                    (batch.count - dropped, dropped)
                }
                Err(OutputError::Retry(e) | OutputError::Settings(e)) => {
                    self.stats.output(&self.label, |s| s.errors += 1);
                    return FlushResult::Failed(e);
                }
            };
            let buffer = self.buffer.clone();
            let acked = tokio::task::spawn_blocking(move || {
                let mut b = lock(&buffer);
                b.ack(&batch).map(|_| b.len())
            })
            .await;
            let size = match acked {
                Ok(Ok(size)) => size,
                Ok(Err(e)) => return FlushResult::Failed(e.to_string()),
                Err(e) => return FlushResult::Failed(e.to_string()),
            };
            tracing::debug!(output = %self.label, written, buffered = size, "wrote batch in {:?}", started.elapsed());
            self.stats.output(&self.label, |s| {
                s.metrics_written += written as u64;
                s.metrics_dropped += dropped as u64;
                s.buffer_size = size as u64;
            });
        }
    }

    /// Flushes every interval (plus jitter), early when a batch is full, backing off after
    /// failures; flushes once more when `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            let wait = match failures {
                0 => self.flush_interval + self.jitter(),
                n => backoff(self.flush_interval, n),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.ready.notified(), if failures == 0 => {}
                _ = shutdown.changed() => {
                    if let FlushResult::Failed(e) = self.flush().await {
                        tracing::error!(output = %self.label, "final flush failed, metrics stay buffered: {e}");
                    }
                    self.sync_buffer().await;
                    return;
                }
            }
            match self.flush().await {
                FlushResult::Drained => failures = 0,
                FlushResult::Failed(e) => {
                    failures = failures.saturating_add(1);
                    tracing::error!(output = %self.label, retry_in = ?backoff(self.flush_interval, failures), "error writing: {e}");
                }
            }
        }
    }

    fn jitter(&self) -> Duration {
        match u64::try_from(self.flush_jitter.as_nanos()) {
            Ok(0) | Err(_) => Duration::ZERO,
            Ok(j) => Duration::from_nanos(rand::random::<u64>() % j),
        }
    }
}

/// Wait before retry number `failures` (1-based): the flush interval doubled each time, capped
/// at the larger of the flush interval and 30 s.
pub fn backoff(flush_interval: Duration, failures: u32) -> Duration {
    let cap = flush_interval.max(Duration::from_secs(30));
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    flush_interval.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let steps: Vec<Duration> = (1..=7).map(|n| backoff(s(1), n)).collect();
        assert_eq!(steps, [s(1), s(2), s(4), s(8), s(16), s(30), s(30)]);
        assert_eq!(backoff(s(60), 3), s(60));
    }
}
