//! The `influx-rs` daemon: loads the configuration, opens the engine, serves HTTP, runs
//! background maintenance and retention, and shuts down cleanly on SIGTERM/SIGINT.

use anyhow::Context;
use clap::Parser;
use influx_rs::cluster::nats::NatsLog;
use influx_rs::cluster::once::OnceWork;
use influx_rs::cluster::Node;
use influx_rs::config::Config;
use influx_rs::http::{router, AppState, Metrics};
use influx_rs::storage::Engine;
use influx_rs::subscriber::Subscriber;
use std::path::PathBuf;
use std::sync::Arc;

/// Command line; flags override the file and the environment.
#[derive(Debug, Parser)]
#[command(
    name = "influx-rs",
    version,
    about = "The tick-rs time-series store (InfluxDB 1.x API)"
)]
struct Args {
    /// Configuration file (TOML).
    #[arg(long, env = "INFLUX_RS_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8086.
    #[arg(long)]
    bind: Option<std::net::SocketAddr>,
    /// Data directory.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// On a stopped node of a cluster whose apply loop halted at entry SEQUENCE (it cannot
    /// apply it: `/health` says why), record that entry as applied without applying it, and
    /// exit; start the node again to go on. What the entry held is then missing on this node.
    #[arg(long, value_name = "SEQUENCE")]
    skip_log_entry: Option<u64>,
    /// On a node of a cluster whose data can no longer follow the log (its apply loop stopped
    /// because the log replaced entries it applied, or its data is older than the log's
    /// history): move the data directory aside (kept as `<data-dir>.aside-<unix time>`), then
    /// run as a new node: it restores the cluster's newest snapshot and replays the log.
    #[arg(long)]
    rejoin: bool,
    /// Without a command: run the store.
    #[command(subcommand)]
    command: Option<Command>,
}

/// What `influx-rs` does besides serving.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Takes a consistent backup of a running store (online; on a node of a cluster, with
    /// the log sequence it covers) into a new directory.
    Backup {
        /// The store's URL.
        #[arg(long, default_value = "http://127.0.0.1:8086")]
        host: String,
        /// An admin's name, when the store demands credentials.
        #[arg(long, env = "INFLUX_USERNAME")]
        username: Option<String>,
        /// Its password.
        #[arg(long, env = "INFLUX_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Where the backup goes: a new or empty directory.
        dir: PathBuf,
    },
    /// Restores a backup into the data directory (`--data-dir` or the configuration's) of a
    /// stopped or new store, which must be empty. A node of a cluster then replays the log
    /// from the backup's sequence.
    Restore {
        /// The backup's directory.
        dir: PathBuf,
    },
}

/// `influx-rs backup`: streams `GET /backup` into `dir`, unpacking as it arrives.
async fn take_backup(
    host: &str,
    credentials: Option<(String, String)>,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let mut builder = influx_client::ClientBuilder::new([host])
        .timeout(std::time::Duration::from_secs(24 * 3600));
    if let Some((user, password)) = credentials {
        builder = builder.auth(influx_client::Auth::basic(user, password));
    }
    let client = builder.build()?;
    let mut stream = client
        .backup()
        .await
        .with_context(|| format!("asking {host} for a backup"))?;
    let (pieces, received) = std::sync::mpsc::sync_channel::<Vec<u8>>(16);
    let target = dir.to_path_buf();
    let unpacking = tokio::task::spawn_blocking(move || {
        influx_rs::backup::unpack(PieceReader::new(received), &target)
    });
    while let Some(piece) = stream.next_piece().await {
        let piece = piece.context("receiving the backup")?;
        if pieces.send(piece).is_err() {
            break;
        }
    }
    drop(pieces);
    let manifest = unpacking.await??;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    match manifest.sequence {
        Some(sequence) => println!(
            "backup of {} files ({bytes} bytes) in {}, covering the cluster's log up to sequence {sequence}",
            manifest.files.len(),
            dir.display()
        ),
        None => println!(
            "backup of {} files ({bytes} bytes) in {}",
            manifest.files.len(),
            dir.display()
        ),
    }
    Ok(())
}

/// The pieces of a download as one `Read`, for the tar reader on its own thread.
struct PieceReader {
    pieces: std::sync::mpsc::Receiver<Vec<u8>>,
    current: std::io::Cursor<Vec<u8>>,
}

impl PieceReader {
    fn new(pieces: std::sync::mpsc::Receiver<Vec<u8>>) -> PieceReader {
        PieceReader {
            pieces,
            current: std::io::Cursor::new(Vec::new()),
        }
    }
}

impl std::io::Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.pieces.recv() {
                Ok(piece) => self.current = std::io::Cursor::new(piece),
                Err(_) => return Ok(0),
            }
        }
    }
}

fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.apply_env(|k| std::env::var(k).ok())?;
    if let Some(bind) = args.bind {
        config.http.bind_address = bind;
    }
    if let Some(dir) = &args.data_dir {
        config.data.dir = dir.clone();
    }
    Ok(config)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.logging.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: container and file logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if config.logging.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs what the environment asks to set up ([`influx_rs::bootstrap`]) on a node alone.
fn bootstrap(engine: &Engine) -> anyhow::Result<()> {
    let statements = bootstrap_statements(engine)?;
    for text in &statements {
        let statement = influxql::parse_statement(text)?;
        let ctx = influx_rs::query::QueryContext {
            now: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
            ..Default::default()
        };
        let result = influx_rs::query::execute(engine, &[statement], &ctx);
        bootstrap_outcome(
            text,
            result.results.into_iter().next().and_then(|r| r.error),
        )?;
    }
    Ok(())
}

/// The statements the environment asks for, given what the store holds.
fn bootstrap_statements(engine: &Engine) -> anyhow::Result<Vec<String>> {
    Ok(influx_rs::bootstrap::statements(
        |k| std::env::var(k).ok(),
        &engine.catalog(),
    )?)
}

/// A bootstrap statement's error, unless it says only that its work was done before; the
/// statement is named without its password.
fn bootstrap_outcome(statement: &str, error: Option<String>) -> anyhow::Result<()> {
    let shown = statement
        .split(" WITH PASSWORD")
        .next()
        .unwrap_or(statement);
    match error {
        Some(e) if !influx_rs::bootstrap::already_done(&e) => {
            anyhow::bail!("setting up the store ({shown}): {e}")
        }
        _ => {
            tracing::info!("set up: {shown}");
            Ok(())
        }
    }
}

/// How long a node waits at start for the cluster's log (NATS starting beside it, a JetStream
/// cluster electing its leaders) before it gives up.
const JOIN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `attempt` until it succeeds, retrying while the log is unreachable or has no quorum
/// (at most [`JOIN_PATIENCE`]); any other failure ends it at once.
async fn with_patience<T, F, Fut>(
    config: &influx_rs::config::ClusterConfig,
    what: &str,
    mut attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, influx_rs::cluster::ClusterError>>,
{
    use influx_rs::cluster::log::LogError;
    use influx_rs::cluster::ClusterError;
    let deadline = std::time::Instant::now() + JOIN_PATIENCE;
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(ClusterError::Log(LogError::Unavailable(why)))
                if std::time::Instant::now() < deadline =>
            {
                tracing::warn!(nats = ?config.nats_urls, "waiting for the cluster's log: {why}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{what} (NATS servers {:?})", config.nats_urls))
            }
        }
    }
}

/// Before the engine opens: a node with a new data directory on a log that no longer starts
/// at its beginning restores the newest snapshot ([`influx_rs::cluster::snapshot`]).
/// Moves `data_dir` to `<data-dir>.aside-<unix time>` (`--rejoin`), keeping what it held for
/// the operator; a missing directory is nothing to move.
fn move_aside(data_dir: &std::path::Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        return Ok(());
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = data_dir.as_os_str().to_owned();
    aside.push(format!(".aside-{secs}"));
    std::fs::rename(data_dir, &aside).with_context(|| {
        format!(
            "--rejoin: moving {} aside to {}",
            data_dir.display(),
            std::path::Path::new(&aside).display()
        )
    })?;
    tracing::warn!(
        aside = %std::path::Path::new(&aside).display(),
        "--rejoin: the data directory was moved aside; this node joins as a new node"
    );
    Ok(())
}

async fn restore_snapshot_if_needed(
    config: &influx_rs::config::ClusterConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    config.check()?;
    with_patience(
        config,
        "restoring the cluster's newest snapshot",
        || async {
            let log = NatsLog::connect(config).await?;
            influx_rs::cluster::snapshot::restore_newest(&log, data_dir).await
        },
    )
    .await
    .map(drop)
}

/// Connects to the log and joins; retries while the log is unreachable or has no quorum (at
/// most [`JOIN_PATIENCE`]), fails at once when this node is refused (node id in use, data
/// newer than the log, data older than the log's history).
async fn join_cluster(
    config: &influx_rs::config::ClusterConfig,
    engine: &Arc<Engine>,
) -> anyhow::Result<Arc<Node<NatsLog>>> {
    with_patience(config, "joining the cluster", || async {
        let log = NatsLog::connect(config).await?;
        Node::start(log, Arc::clone(engine), config.clone()).await
    })
    .await
}

/// [`bootstrap`] on a node of a cluster: the statements go through the log, so every node has
/// what they make (a node that finds it already there, from another node, does nothing).
async fn bootstrap_through_log(
    config: &influx_rs::config::ClusterConfig,
    engine: &Engine,
    node: &Node<NatsLog>,
) -> anyhow::Result<()> {
    for text in bootstrap_statements(engine)? {
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
        // Nodes starting together may find the log's leaders still being elected: wait for
        // them as joining does (a statement published twice answers "already exists").
        let (result, _) = with_patience(
            config,
            "setting up the store through the cluster's log",
            || node.execute(&text, "", "", now),
        )
        .await?;
        bootstrap_outcome(&text, result.error)?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn main() -> anyhow::Result<()> {
    http_serve::runtime()
        .context("starting the runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    influx_rs::query::diagnostics::mark_started();
    let args = Args::parse();
    let config = load_config(&args)?;
    if args.print_config {
        print!("{}", toml::to_string_pretty(&config)?);
        return Ok(());
    }
    match &args.command {
        Some(Command::Backup {
            host,
            username,
            password,
            dir,
        }) => {
            let credentials = username
                .clone()
                .map(|u| (u, password.clone().unwrap_or_default()));
            return take_backup(host, credentials, dir).await;
        }
        Some(Command::Restore { dir }) => {
            let manifest = influx_rs::backup::restore(dir, &config.data.dir)?;
            let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
            println!(
                "restored {} files ({bytes} bytes) of the backup taken {} into {}{}",
                manifest.files.len(),
                manifest.created,
                config.data.dir.display(),
                manifest
                    .sequence
                    .map(|s| format!(
                        "; as a node of a cluster it replays the log from sequence {}",
                        s + 1
                    ))
                    .unwrap_or_default()
            );
            return Ok(());
        }
        None => {}
    }
    if let Some(sequence) = args.skip_log_entry {
        // Not under a running node: it would apply the entry meanwhile.
        let _lock = influx_rs::storage::dir_lock::DirLock::acquire(&config.data.dir)?;
        let position = influx_rs::cluster::applied::AppliedFile::new(&config.data.dir);
        let applied = position.read()?;
        anyhow::ensure!(
            sequence == applied + 1,
            "this node has applied the log up to sequence {applied}: only the entry after it, \
             {}, can be skipped",
            applied + 1
        );
        position.write(sequence)?;
        println!(
            "log entry {sequence} recorded as applied without applying it; start the node to go on"
        );
        return Ok(());
    }
    init_logging(&config);
    if args.rejoin {
        anyhow::ensure!(
            config.cluster.is_some(),
            "--rejoin is for a node of a cluster: this configuration has no [cluster]"
        );
        move_aside(&config.data.dir)?;
    }
    if let Some(c) = &config.cluster {
        restore_snapshot_if_needed(c, &config.data.dir).await?;
    }
    let data = config.data.clone();
    let engine = Arc::new(
        tokio::task::spawn_blocking(move || Engine::open(data))
            .await?
            .context("opening the data directory")?,
    );
    let cluster = match &config.cluster {
        None => {
            bootstrap(&engine)?;
            None
        }
        Some(c) => {
            let node = join_cluster(c, &engine).await?;
            bootstrap_through_log(c, &engine, &node).await?;
            Some(node)
        }
    };
    let maintenance = engine.start_maintenance();
    // On a node of a cluster, CQs and retention run once per cluster, on the lease holder,
    // through the log.
    if let Some(node) = &cluster {
        tokio::spawn(
            Arc::clone(node).run_once_per_cluster(OnceWork {
                continuous_queries: config.continuous_queries.enabled,
                retention: config
                    .retention
                    .enabled
                    .then_some(config.retention.check_interval),
                snapshots: config
                    .cluster
                    .as_ref()
                    .map(|c| c.snapshot_interval)
                    .filter(|every| !every.is_zero()),
            }),
        );
    }
    let local_work = cluster.is_none();
    let continuous_queries = if local_work && config.continuous_queries.enabled {
        Some(
            influx_rs::continuous::Scheduler::start(Arc::clone(&engine))
                .context("starting the continuous-query scheduler")?,
        )
    } else {
        None
    };
    if local_work && config.retention.enabled {
        let engine = Arc::clone(&engine);
        let every = config.retention.check_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let e = Arc::clone(&engine);
                match tokio::task::spawn_blocking(move || {
                    e.enforce_retention(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0))
                })
                .await
                {
                    Ok(Err(err)) => tracing::error!(error = %err, "retention check failed"),
                    Err(err) => tracing::error!(error = %err, "retention task panicked"),
                    Ok(Ok(_)) => {}
                }
            }
        });
    }
    let state = AppState {
        engine: Arc::clone(&engine),
        max_body_size: config.http.max_body_size,
        auth_enabled: config.http.auth_enabled,
        auth_cache: Arc::default(),
        shared_secret: config.http.shared_secret.as_str().into(),
        running: influx_rs::query::running::RunningQueries::new(
            config.coordinator.max_concurrent_queries,
            influx_rs::query::running::SelectLimits::from(&config.coordinator),
        ),
        query_timeout: config.coordinator.query_timeout,
        metrics: Arc::new(Metrics::default()),
        subscriber: Arc::new(Subscriber::new(
            tokio::runtime::Handle::current(),
            config.subscriber.http_timeout,
        )),
        cluster,
    };
    let listener = tokio::net::TcpListener::bind(config.http.bind_address)
        .await
        .with_context(|| format!("binding {}", config.http.bind_address))?;
    tracing::info!(bind = %config.http.bind_address, data_dir = %config.data.dir.display(), "influx-rs listening");
    http_serve::serve(
        listener,
        router(state),
        config.http.serve_limits(),
        shutdown_signal(),
    )
    .await?;
    drop(continuous_queries);
    tracing::info!("shutting down: snapshotting caches");
    let e = Arc::clone(&engine);
    tokio::task::spawn_blocking(move || e.stop()).await?;
    for handle in maintenance {
        let _ = handle.join();
    }
    tracing::info!("stopped");
    Ok(())
}
