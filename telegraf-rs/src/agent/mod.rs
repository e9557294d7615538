//! The running agent: one task per input gathering on its schedule, one pipeline task running
//! processors and aggregators, one router thread putting metrics into every output's disk
//! buffer, one writer task per output draining its buffer.
//!
//! ```text
//! input tasks ──▶ pipeline task ──▶ router thread ──append+fsync──▶ buffer per output ──▶ writer task per output
//! ```
//! Shutdown stops the inputs, lets the router drain, then gives each writer a last flush; what
//! it cannot write stays buffered on disk for the next start.

mod input;
mod output;
mod pipeline;

pub use input::RunningInput;
pub use output::{backoff, FlushResult, OutputIntake, OutputWriter};
pub use pipeline::Pipeline;

use crate::config::Config;
use crate::inputs::{BuildContext, HostPaths};
use crate::metric::{now_nanos, Metric};
use crate::stats::Stats;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// The agent could not be built from a configuration.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct AgentError(pub Vec<String>);

/// Where the agent keeps state and reads the host.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The `--data-dir`: buffers go to `<data-dir>/buffers` unless `[agent] buffer_directory`.
    pub data_dir: PathBuf,
    /// Where `/proc`, `/sys`, … are.
    pub host: HostPaths,
}

/// A built agent, ready to run.
pub struct Agent {
    inputs: Vec<RunningInput>,
    pipeline: Pipeline,
    intakes: Vec<OutputIntake>,
    writers: Vec<OutputWriter>,
}

/// What `[agent] hostname = ""` means: the OS host name, or, when the host's `/etc` is given as
/// `HOST_ETC` (an agent in a container reporting its host), the host's own `hostname` file.
pub fn default_hostname() -> String {
    std::env::var_os("HOST_ETC")
        .and_then(|etc| std::fs::read_to_string(std::path::Path::new(&etc).join("hostname")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(os_hostname)
}

/// The OS host name.
fn os_hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Agent {
    /// Builds every input (and, unless `inputs_only`, every output with its buffer); every
    /// failure is reported, not only the first.
    pub fn build(
        config: &Config,
        opts: &AgentOptions,
        stats: &Arc<Stats>,
        inputs_only: bool,
    ) -> Result<Agent, AgentError> {
        let ctx = BuildContext {
            host: opts.host.clone(),
            stats: stats.clone(),
            state_dir: opts.data_dir.join("state"),
        };
        let mut global_tags = config.global_tags.clone();
        if !config.agent.omit_hostname {
            let host = match config.agent.hostname.as_str() {
                "" => default_hostname(),
                h => h.to_string(),
            };
            global_tags.entry("host".into()).or_insert(host);
        }
        let mut errors = Vec::new();
        let mut inputs = Vec::new();
        for i in &config.inputs {
            match RunningInput::new(i, &config.agent, &global_tags, &ctx) {
                Ok(r) => inputs.push(r),
                Err(e) => errors.push(e),
            }
        }
        let pipeline = Pipeline::build(config, now_nanos()).map_err(|e| errors.extend(e));
        let buffers: PathBuf = match config.agent.buffer_directory.as_str() {
            "" => buffers_dir(&opts.data_dir),
            dir => PathBuf::from(dir),
        };
        let (mut intakes, mut writers) = (Vec::new(), Vec::new());
        if !inputs_only {
            for o in &config.outputs {
                match output::build(o, &config.agent, &buffers, stats) {
                    Ok((intake, writer)) => {
                        intakes.push(intake);
                        writers.push(writer);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        match pipeline {
            Ok(pipeline) if errors.is_empty() => Ok(Agent {
                inputs,
                pipeline,
                intakes,
                writers,
            }),
            _ => Err(AgentError(errors)),
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (tx, rx) = mpsc::channel::<Vec<Metric>>(256);
        let router = spawn_router(self.intakes, rx);
        let (tx_gathered, rx_gathered) = mpsc::channel::<Vec<Metric>>(256);
        let pipeline = tokio::spawn(run_pipeline(self.pipeline, rx_gathered, tx));
        let (stop_writers, writers_stopped) = watch::channel(false);
        let writer_tasks: Vec<_> = self
            .writers
            .into_iter()
            .map(|w| tokio::spawn(w.run(writers_stopped.clone())))
            .collect();
        let input_tasks: Vec<_> = self
            .inputs
            .into_iter()
            .map(|input| tokio::spawn(run_input(input, tx_gathered.clone(), shutdown.clone())))
            .collect();
        drop(tx_gathered);
        until_stopped(&mut shutdown).await;
        for t in input_tasks {
            let _ = t.await;
        }
        let _ = pipeline.await;
        let _ = router.await;
        let _ = stop_writers.send(true);
        for t in writer_tasks {
            let _ = t.await;
        }
    }

    /// Gathers once (twice for `cpu`, whose percentages need two samples) and returns the
    /// metrics after the processors, with what the aggregators make of them, for `--test` and
    /// `--once`.
    pub async fn gather_once(&mut self) -> Vec<Metric> {
        let mut primed = false;
        for input in self.inputs.iter_mut().filter(|i| i.plugin() == "cpu") {
            input.prime().await;
            primed = true;
        }
        if primed {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let mut all = Vec::new();
        for input in &mut self.inputs {
            all.extend(input.gather().await);
        }
        let mut all = self.pipeline.process(all);
        all.extend(self.pipeline.push_all(now_nanos()));
        all
    }

    /// `--once`: gathers once, buffers, and flushes every output; the errors of outputs that
    /// could not write (their metrics stay buffered).
    pub async fn once(mut self) -> Vec<String> {
        let metrics = self.gather_once().await;
        let intakes = std::mem::take(&mut self.intakes);
        let routed = tokio::task::spawn_blocking(move || {
            for intake in &intakes {
                intake.accept(&metrics);
            }
        })
        .await;
        let mut errors = Vec::new();
        if let Err(e) = routed {
            errors.push(e.to_string());
        }
        for writer in &mut self.writers {
            if let FlushResult::Failed(e) = writer.flush().await {
                errors.push(e);
            }
        }
        errors
    }
}

async fn run_input(
    mut input: RunningInput,
    tx: mpsc::Sender<Vec<Metric>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (raw_tx, mut raw_rx) = mpsc::channel::<Vec<Metric>>(64);
    if let Some(service) = input.serve(raw_tx) {
        // A service input also gathers on its schedule: `statsd` reports what it aggregated.
        let serving = tokio::spawn(service);
        // An input that keeps no sender (it only gathers what it aggregated) closes the
        // channel at once: then only its gathers remain.
        let mut delivering = true;
        loop {
            let metrics = tokio::select! {
                batch = raw_rx.recv(), if delivering => match batch {
                    Some(batch) => input.finish_all(batch),
                    None => {
                        delivering = false;
                        continue;
                    }
                },
                _ = tokio::time::sleep(input.until_next()) => input.gather().await,
                _ = until_stopped(&mut shutdown) => break,
            };
            if !metrics.is_empty() && tx.send(metrics).await.is_err() {
                break;
            }
        }
        serving.abort();
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(input.until_next()) => {}
            _ = until_stopped(&mut shutdown) => return,
        }
        let metrics = input.gather().await;
        if !metrics.is_empty() && tx.send(metrics).await.is_err() {
            return;
        }
    }
}

/// Runs gathered metrics through the processors and aggregators until every input has
/// stopped, pushing the aggregators when their windows are due and a last time at the end.
async fn run_pipeline(
    mut pipeline: Pipeline,
    mut gathered: mpsc::Receiver<Vec<Metric>>,
    tx: mpsc::Sender<Vec<Metric>>,
) {
    loop {
        let wait = pipeline.next_push().map(|due| {
            std::time::Duration::from_nanos(u64::try_from(due - now_nanos()).unwrap_or(0))
        });
        let out = tokio::select! {
            batch = gathered.recv() => match batch {
                Some(batch) => pipeline.process(batch),
                None => break,
            },
            _ = sleep_or_forever(wait) => pipeline.push_due(now_nanos()),
        };
        if !out.is_empty() && tx.send(out).await.is_err() {
            return;
        }
    }
    let last = pipeline.push_all(now_nanos());
    if !last.is_empty() {
        let _ = tx.send(last).await;
    }
}

/// Sleeps for `wait`, or forever when there is nothing to wait for.
async fn sleep_or_forever(wait: Option<std::time::Duration>) {
    match wait {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Resolves once `shutdown` holds true (or its sender is gone).
async fn until_stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await.map(drop);
}

fn spawn_router(
    intakes: Vec<OutputIntake>,
    mut rx: mpsc::Receiver<Vec<Metric>>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        while let Some(metrics) = rx.blocking_recv() {
            for intake in &intakes {
                intake.accept(&metrics);
            }
        }
    })
}

/// The `--test` form of a metric: `> ` then the line with fields sorted by key.
pub fn test_line(m: &Metric) -> String {
    let mut sorted = m.clone();
    sorted.fields.sort_by(|a, b| a.0.cmp(&b.0));
    match sorted.to_line(false) {
        Ok(line) => format!("> {}", String::from_utf8_lossy(&line)),
        Err(e) => format!("> {} (not writable: {e})\n", m.name),
    }
}

/// Where output buffers live under `data_dir` when `[agent] buffer_directory` is empty.
pub fn buffers_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("buffers")
}
