//! `telegraf-rs`: command line of the agent (flags as Telegraf's), logging, signals (SIGHUP
//! reloads the configuration, SIGTERM/SIGINT stop after a last flush).

use anyhow::{bail, Context};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use telegraf_rs::agent::{test_line, Agent, AgentOptions};
use telegraf_rs::config::{self, Config};
use telegraf_rs::inputs::HostPaths;
use telegraf_rs::stats::Stats;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// A Telegraf-compatible collector agent with a disk buffer per output.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (repeatable).
    #[arg(long = "config")]
    config: Vec<PathBuf>,
    /// Directory whose `*.conf` files are loaded too (repeatable).
    #[arg(long = "config-directory")]
    config_directory: Vec<PathBuf>,
    /// Gather once, print the metrics as line protocol to stdout, exit.
    #[arg(long)]
    test: bool,
    /// Gather once, write to the outputs, exit.
    #[arg(long)]
    once: bool,
    /// Only these inputs (`cpu:mem`).
    #[arg(long = "input-filter")]
    input_filter: Option<String>,
    /// Only these outputs (`influxdb:file`).
    #[arg(long = "output-filter")]
    output_filter: Option<String>,
    /// Only these processors (colon separated).
    #[arg(long = "processor-filter")]
    processor_filter: Option<String>,
    /// Only these aggregators (colon separated).
    #[arg(long = "aggregator-filter")]
    aggregator_filter: Option<String>,
    /// Print the effective configuration (defaults filled in, variables substituted) and exit.
    #[arg(long = "print-config")]
    print_config: bool,
    /// Where output buffers are kept (unless `[agent] buffer_directory` says otherwise).
    #[arg(
        long = "data-dir",
        env = "TELEGRAF_RS_DATA_DIR",
        default_value = "/var/lib/telegraf-rs"
    )]
    data_dir: PathBuf,
    /// Log at debug level.
    #[arg(long)]
    debug: bool,
    /// Log only errors.
    #[arg(long)]
    quiet: bool,
}

fn lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Telegraf's search when no `--config` is given.
fn default_sources() -> (Vec<PathBuf>, Vec<PathBuf>) {
    if let Some(p) = lookup("TELEGRAF_CONFIG_PATH") {
        return (vec![p.into()], vec![]);
    }
    if let Some(home) = lookup("HOME") {
        let p = PathBuf::from(home).join(".telegraf/telegraf.conf");
        if p.exists() {
            return (vec![p], vec![]);
        }
    }
    let dir = PathBuf::from("/etc/telegraf/telegraf.d");
    let dirs = if dir.is_dir() { vec![dir] } else { vec![] };
    (vec!["/etc/telegraf/telegraf.conf".into()], dirs)
}

/// The names of a `--*-filter` flag (`cpu:mem`).
fn plugin_names(flag: &str) -> Vec<String> {
    flag.split(':').map(str::to_string).collect()
}

fn load(cli: &Cli) -> Result<Config, config::ConfigError> {
    let (files, dirs) = match (cli.config.is_empty(), cli.config_directory.is_empty()) {
        (true, true) => default_sources(),
        _ => (cli.config.clone(), cli.config_directory.clone()),
    };
    let mut config = config::load(&files, &dirs, &lookup)?;
    if let Some(f) = &cli.input_filter {
        config.retain_inputs(&plugin_names(f));
    }
    if let Some(f) = &cli.output_filter {
        config.retain_outputs(&plugin_names(f));
    }
    if let Some(f) = &cli.processor_filter {
        config.retain_processors(&plugin_names(f));
    }
    if let Some(f) = &cli.aggregator_filter {
        config.retain_aggregators(&plugin_names(f));
    }
    if config.inputs.is_empty() {
        return Err(config::ConfigError::NoInputs);
    }
    if config.outputs.is_empty() && !cli.test && !cli.print_config {
        return Err(config::ConfigError::NoOutputs);
    }
    Ok(config)
}

fn init_logging(cli: &Cli, config: &Config) -> anyhow::Result<()> {
    let level = if cli.debug || config.agent.debug {
        "debug"
    } else if cli.quiet || config.agent.quiet {
        "error"
    } else {
        "info"
    };
    // The HTTP stack's own debug lines would drown the agent's.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},hyper=info,hyper_util=info,reqwest=info"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .event_format(telegraf_rs::logging::TelegrafFormat);
    if config.agent.logfile.is_empty() {
        builder.with_writer(std::io::stderr).init();
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.agent.logfile)
            .with_context(|| format!("opening logfile {}", config.agent.logfile))?;
        builder.with_writer(Arc::new(file)).init();
    }
    Ok(())
}

/// Once the agent is built, lets the kernel take back the pages of code that only starting
/// (or reloading) ran: peak RSS 9.0 → 7.7 MiB with the default host inputs (`bench/agent.sh`).
fn release_start_up_code() {
    match telegraf_rs::footprint::release_start_up_code() {
        Ok(bytes) => tracing::debug!("start-up code released ({bytes} bytes of mappings)"),
        Err(e) => tracing::debug!("start-up code kept: {e}"),
    }
}

fn main() -> ExitCode {
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("E! {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = match load(&cli) {
        Ok(c) => c,
        Err(e) => bail!("{e}"),
    };
    if cli.print_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    init_logging(&cli, &config)?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    // An agent that only polls runs on one thread; one with listeners gets two workers.
    let listens = config
        .inputs
        .iter()
        .any(|i| telegraf_rs::inputs::SERVICE_INPUTS.contains(&i.name.as_str()));
    let mut runtime = match listens {
        true => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(2);
            b
        }
        false => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = runtime
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(cli, config))
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    let opts = AgentOptions {
        data_dir: cli.data_dir.clone(),
        host: HostPaths::from_env(lookup),
    };
    let stats = Arc::new(Stats::default());
    if cli.test {
        let mut agent = Agent::build(&config, &opts, &stats, true)?;
        for m in agent.gather_once().await {
            print!("{}", test_line(&m));
        }
        return Ok(());
    }
    if cli.once {
        let agent = Agent::build(&config, &opts, &stats, false)?;
        let errors = agent.once().await;
        if !errors.is_empty() {
            bail!(
                "writing failed (the metrics stay buffered): {}",
                errors.join("; ")
            );
        }
        return Ok(());
    }

    let mut hangup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut current = config;
    let mut agent = Agent::build(&current, &opts, &stats, false)?;
    release_start_up_code();
    loop {
        tracing::info!(
            inputs = %current.inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(" "),
            outputs = %current.outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(" "),
            "starting telegraf-rs {}",
            env!("CARGO_PKG_VERSION")
        );
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(agent.run(stopped));
        let next = loop {
            tokio::select! {
                _ = hangup.recv() => match load(&cli) {
                    Ok(new) => {
                        for w in &new.warnings {
                            tracing::warn!("{w}");
                        }
                        break Some(new);
                    }
                    Err(e) => tracing::error!("config reload failed, the running configuration stays: {e}"),
                },
                _ = terminate.recv() => break None,
                _ = interrupt.recv() => break None,
            }
        };
        let _ = stop.send(true);
        let _ = running.await;
        let Some(new) = next else {
            tracing::info!("stopped");
            return Ok(());
        };
        // The old agent is stopped first: the new one may need its ports and buffers. A new
        // configuration whose plugins cannot be built is refused like a bad file.
        agent = match Agent::build(&new, &opts, &stats, false) {
            Ok(a) => {
                tracing::info!("configuration reloaded");
                current = new;
                release_start_up_code();
                a
            }
            Err(e) => {
                tracing::error!("config reload failed, the running configuration stays: {e}");
                Agent::build(&current, &opts, &stats, false)?
            }
        };
    }
}
