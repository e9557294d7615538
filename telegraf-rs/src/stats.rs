//! The agent's own counters: what each input gathered and each output wrote, buffered and
//! dropped. The `internal` input reports them; the logs quote them.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Counters of one input instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatherStats {
    /// Metrics produced since start.
    pub metrics_gathered: u64,
    /// Duration of the last gather.
    pub gather_time_ns: i64,
    /// Gathers that failed.
    pub errors: u64,
}

/// Counters of one output instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteStats {
    /// Metrics put into its buffer.
    pub metrics_added: u64,
    /// Metrics the output acknowledged.
    pub metrics_written: u64,
    /// Metrics lost: buffer overflow or rejected by the server.
    pub metrics_dropped: u64,
    /// Metrics its filters left out.
    pub metrics_filtered: u64,
    /// Metrics waiting in its buffer.
    pub buffer_size: u64,
    /// Its `metric_buffer_limit`.
    pub buffer_limit: u64,
    /// Duration of the last write.
    pub write_time_ns: i64,
    /// Writes that failed.
    pub errors: u64,
}

#[derive(Debug, Default)]
struct Inner {
    gather: BTreeMap<String, GatherStats>,
    write: BTreeMap<String, WriteStats>,
}

/// Shared by the agent's tasks.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Stats {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One gather of `input` produced `metrics` in `took`.
    pub fn gathered(&self, input: &str, metrics: usize, took: Duration, failed: bool) {
        let mut inner = self.lock();
        let s = inner.gather.entry(input.to_string()).or_default();
        s.metrics_gathered += metrics as u64;
        s.gather_time_ns = nanos(took);
        s.errors += u64::from(failed);
    }

    /// Applies `change` to the counters of `output`.
    pub fn output(&self, output: &str, change: impl FnOnce(&mut WriteStats)) {
        change(self.lock().write.entry(output.to_string()).or_default());
    }

    /// A write of `output` that took `took`.
    pub fn write_took(&self, output: &str, took: Duration) {
        self.output(output, |s| s.write_time_ns = nanos(took));
    }

    /// A copy of every counter, per input and per output.
    pub fn snapshot(&self) -> (BTreeMap<String, GatherStats>, BTreeMap<String, WriteStats>) {
        let inner = self.lock();
        (inner.gather.clone(), inner.write.clone())
    }
}
