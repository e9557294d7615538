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
    #[arg(long, env = "INFLUX_RS_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8086.
    #[arg(long)]
    bind: Option<std::net::SocketAddr>,
    /// Data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// On a stopped node of a cluster whose apply loop halted at entry SEQUENCE (it cannot
    /// apply it: `/health` says why), record that entry as applied without applying it, and
    /// exit; start the node again to go on. What the entry held is then missing on this node.
    #[arg(long, value_name = "SEQUENCE")]
    skip_log_entry: Option<u64>,
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

/// Creates the admin user named by `INFLUX_RS_ADMIN_USER` / `INFLUX_RS_ADMIN_PASSWORD` when no
/// user of that name exists yet: how a container's first start sets up authentication (as the
/// InfluxDB image's `INFLUXDB_ADMIN_USER`). An existing user is left as it is.
fn bootstrap_admin(engine: &Engine) -> anyhow::Result<()> {
    let Some((user, password)) = admin_to_create(engine)? else {
        return Ok(());
    };
    let hash = influx_rs::users::hash_password(&password)?;
    engine.update_catalog(|c| c.create_user(&user, &password, hash, true))?;
    tracing::info!(user = %user, "admin user created");
    Ok(())
}

/// The admin `INFLUX_RS_ADMIN_USER` / `INFLUX_RS_ADMIN_PASSWORD` name, when there is one and no
/// user of that name exists yet; an error when its password is empty.
fn admin_to_create(engine: &Engine) -> anyhow::Result<Option<(String, String)>> {
    let (Ok(user), Ok(password)) = (
        std::env::var("INFLUX_RS_ADMIN_USER"),
        std::env::var("INFLUX_RS_ADMIN_PASSWORD"),
    ) else {
        return Ok(None);
    };
    if user.is_empty() || engine.catalog().users.contains_key(&user) {
        return Ok(None);
    }
    anyhow::ensure!(
        !password.is_empty(),
        "INFLUX_RS_ADMIN_PASSWORD is empty: an admin needs a password"
    );
    Ok(Some((user, password)))
}

/// How long a node waits at start for the cluster's log (NATS starting beside it, a JetStream
/// cluster electing its leaders) before it gives up.
const JOIN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Connects to the log and joins; retries while the log is unreachable or has no quorum (at
/// most [`JOIN_PATIENCE`]), fails at once when this node is refused (node id in use, data
/// newer than the log).
async fn join_cluster(
    config: &influx_rs::config::ClusterConfig,
    engine: &Arc<Engine>,
) -> anyhow::Result<Arc<Node<NatsLog>>> {
    use influx_rs::cluster::log::LogError;
    use influx_rs::cluster::ClusterError;
    config.check()?;
    let deadline = std::time::Instant::now() + JOIN_PATIENCE;
    loop {
        let attempt = match NatsLog::connect(config).await {
            Ok(log) => Node::start(log, Arc::clone(engine), config.clone()).await,
            Err(e) => Err(ClusterError::Log(e)),
        };
        match attempt {
            Ok(node) => return Ok(node),
            Err(ClusterError::Log(LogError::Unavailable(why)))
                if std::time::Instant::now() < deadline =>
            {
                tracing::warn!(nats = ?config.nats_urls, "waiting for the cluster's log: {why}");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("joining the cluster (NATS servers {:?})", config.nats_urls)
                })
            }
        }
    }
}

/// [`bootstrap_admin`] on a node of a cluster: the user is created through the log, so every
/// node has it (a node that finds it already there, from another node, does nothing).
async fn bootstrap_admin_through_log(engine: &Engine, node: &Node<NatsLog>) -> anyhow::Result<()> {
    let Some((user, password)) = admin_to_create(engine)? else {
        return Ok(());
    };
    let statement = format!(
        "CREATE USER {} WITH PASSWORD {} WITH ALL PRIVILEGES",
        influxql::quote_ident(&user),
        influxql::quote_string(&password)
    );
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let (result, _) = node
        .execute(&statement, "", "", now)
        .await
        .context("creating the admin user through the cluster's log")?;
    match result.error {
        Some(e) if !e.contains("already exists") => anyhow::bail!("creating the admin user: {e}"),
        _ => {
            tracing::info!(user = %user, "admin user created");
            Ok(())
        }
    }
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
    if let Some(sequence) = args.skip_log_entry {
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
    let data = config.data.clone();
    let engine = Arc::new(
        tokio::task::spawn_blocking(move || Engine::open(data))
            .await?
            .context("opening the data directory")?,
    );
    let cluster = match &config.cluster {
        None => {
            bootstrap_admin(&engine)?;
            None
        }
        Some(c) => {
            let node = join_cluster(c, &engine).await?;
            bootstrap_admin_through_log(&engine, &node).await?;
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
