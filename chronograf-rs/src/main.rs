//! `chronograf-rs`: serves the dashboard on :8888 for one store (`--influxdb-url`).

use anyhow::Context;
use chronograf_rs::config::Config;
use chronograf_rs::http::{router, AppState};
use chronograf_rs::source::SourceConfig;
use clap::Parser;
use std::sync::Arc;

/// The tick-rs web dashboard. Flags and their environment variables override
/// `chronograf-rs.toml`; the store flags apply to the first source.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (`chronograf-rs.toml`).
    #[arg(long, env = "CHRONOGRAF_RS_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    print_config: bool,
    /// Listen address.
    #[arg(long, env = "CHRONOGRAF_RS_BIND")]
    bind: Option<String>,
    /// The first store's URL.
    #[arg(long = "influxdb-url", env = "INFLUXDB_URL")]
    influxdb_url: Option<String>,
    /// More URLs of the first store (the other nodes of an influx-rs cluster), comma-separated,
    /// tried in turn when the first does not answer.
    #[arg(
        long = "influxdb-failover-urls",
        env = "INFLUXDB_FAILOVER_URLS",
        value_delimiter = ','
    )]
    influxdb_failover_urls: Option<Vec<String>>,
    /// Basic-auth user for the first store.
    #[arg(long = "influxdb-username", env = "INFLUXDB_USERNAME")]
    influxdb_username: Option<String>,
    /// Basic-auth password for the first store.
    #[arg(
        long = "influxdb-password",
        env = "INFLUXDB_PASSWORD",
        hide_env_values = true
    )]
    influxdb_password: Option<String>,
    /// Database of the agents' metrics in the first store.
    #[arg(long, env = "CHRONOGRAF_RS_TELEGRAF_DB")]
    telegraf_db: Option<String>,
    /// The alerting engine the alert pages drive.
    #[arg(long = "kapacitor-url", env = "KAPACITOR_URL")]
    kapacitor_url: Option<String>,
    /// A user of the alerting engine's `[auth]`.
    #[arg(long = "kapacitor-username", env = "KAPACITOR_USERNAME")]
    kapacitor_username: Option<String>,
    /// Its password.
    #[arg(
        long = "kapacitor-password",
        env = "KAPACITOR_PASSWORD",
        hide_env_values = true
    )]
    kapacitor_password: Option<String>,
    /// Where dashboards are kept.
    #[arg(long = "data-dir", env = "CHRONOGRAF_RS_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// The agents' gather interval, for the up/down status (`1m0s`).
    #[arg(long = "telegraf-system-interval", env = "TELEGRAF_SYSTEM_INTERVAL")]
    telegraf_system_interval: Option<String>,
    /// A directory of Chronograf layout files (`*.json`) to add to the built-in ones.
    #[arg(long = "canned-path", env = "CANNED_PATH")]
    canned_path: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Reads a password from standard input and prints its bcrypt hash, for `[[users]]`.
    HashPassword,
}

impl Cli {
    /// `config` with the flags given applied over it.
    fn apply(self, mut config: Config) -> Config {
        if let Some(b) = self.bind {
            config.bind = b;
        }
        if let Some(d) = self.data_dir {
            config.data_dir = d;
        }
        if let Some(i) = self.telegraf_system_interval {
            config.telegraf_system_interval = i;
        }
        if let Some(p) = self.canned_path {
            config.canned_path = p;
        }
        if let Some(k) = self.kapacitor_url {
            config.kapacitor.url = k;
        }
        if let Some(u) = self.kapacitor_username {
            config.kapacitor.username = u;
        }
        if let Some(p) = self.kapacitor_password {
            config.kapacitor.password = p;
        }
        if config.sources.is_empty() {
            config.sources.push(SourceConfig::default());
        }
        let first = &mut config.sources[0];
        if let Some(u) = self.influxdb_url {
            first.url = u;
        }
        if let Some(urls) = self.influxdb_failover_urls {
            first.failover_urls = urls
                .into_iter()
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect();
        }
        if let Some(u) = self.influxdb_username {
            first.username = u;
        }
        if let Some(p) = self.influxdb_password {
            first.password = p;
        }
        if let Some(t) = self.telegraf_db {
            first.telegraf = t;
        }
        config
    }
}

/// How long a request to the store or to kapacitor-rs may take.
const QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    http_serve::runtime()
        .context("starting the runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command.take() {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .context("reading the password")?;
        let password = password.trim_end_matches(['\n', '\r']);
        anyhow::ensure!(!password.is_empty(), "empty password");
        println!("{}", chronograf_rs::login::hash_password(password)?);
        return Ok(());
    }
    let file = Config::load(cli.config.as_deref()).context("loading the configuration")?;
    let print = cli.print_config;
    let config = cli.apply(file);
    if print {
        print!(
            "{}",
            toml::to_string_pretty(&config).context("printing the configuration")?
        );
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        // Colours only on a terminal: container and file logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let client = reqwest::Client::builder()
        .timeout(QUERY_TIMEOUT)
        .build()
        .context("HTTP client")?;
    let kapacitor = chronograf_rs::http::Kapacitor {
        url: config.kapacitor.url.clone(),
        username: config.kapacitor.username.clone(),
        password: config.kapacitor.password.clone(),
        client,
    };
    let sources = chronograf_rs::sources::SourceStore::open(
        config.sources.clone(),
        &config.data_dir,
        QUERY_TIMEOUT,
    )
    .context("opening the sources")?;
    let state = AppState {
        sources: Arc::new(sources),
        telegraf_interval: config.telegraf_system_interval.clone(),
        layouts: Arc::new(canned_layouts(&config.canned_path)),
        dashboards: Arc::new(
            chronograf_rs::dashboards::DashboardStore::open(&config.data_dir)
                .context("opening the dashboards")?,
        ),
        kapacitor,
        metrics: Arc::default(),
        login: chronograf_rs::login::Login::new(
            config.users.clone(),
            std::time::Duration::from_secs(config.session_hours.saturating_mul(3600)),
            config.public_url.starts_with("https://"),
        ),
    };
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    tracing::info!(bind = %config.bind, store = %config.sources[0].url, "chronograf-rs listening");
    let shutdown = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    };
    http_serve::serve(
        listener,
        router(state),
        http_serve::Limits::default(),
        shutdown,
    )
    .await
    .context("serving")
}

/// The built-in layouts and those of `dir`; each file that cannot be used is logged and left out.
fn canned_layouts(dir: &std::path::Path) -> Vec<chronograf_rs::layouts::Layout> {
    use chronograf_rs::layouts;
    let (extra, errors) = layouts::load_dir(dir);
    for e in &errors {
        tracing::error!(error = %e, "layout file left out");
    }
    if !extra.is_empty() {
        tracing::info!(dir = %dir.display(), layouts = extra.len(), "canned layouts added");
    }
    layouts::merged(layouts::built_in(), extra)
}
