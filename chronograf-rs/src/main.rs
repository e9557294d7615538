//! `chronograf-rs`: serves the dashboard on :8888 for one store (`--influxdb-url`).

use anyhow::Context;
use chronograf_rs::http::{router, AppState};
use chronograf_rs::source::{Source, SourceConfig};
use clap::Parser;
use std::sync::Arc;

/// The tick-rs web dashboard.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Listen address.
    #[arg(long, env = "CHRONOGRAF_RS_BIND", default_value = "0.0.0.0:8888")]
    bind: String,
    /// The store.
    #[arg(
        long = "influxdb-url",
        env = "INFLUXDB_URL",
        default_value = "http://localhost:8086"
    )]
    influxdb_url: String,
    /// Basic-auth user for the store.
    #[arg(
        long = "influxdb-username",
        env = "INFLUXDB_USERNAME",
        default_value = ""
    )]
    influxdb_username: String,
    /// Basic-auth password for the store.
    #[arg(
        long = "influxdb-password",
        env = "INFLUXDB_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    influxdb_password: String,
    /// Database of the agents' metrics.
    #[arg(long, env = "CHRONOGRAF_RS_TELEGRAF_DB", default_value = "telegraf")]
    telegraf_db: String,
    /// The alerting engine the alert pages drive.
    #[arg(
        long = "kapacitor-url",
        env = "KAPACITOR_URL",
        default_value = "http://localhost:9092"
    )]
    kapacitor_url: String,
    /// Where dashboards are kept.
    #[arg(
        long = "data-dir",
        env = "CHRONOGRAF_RS_DATA_DIR",
        default_value = "/var/lib/chronograf-rs"
    )]
    data_dir: std::path::PathBuf,
    /// The agents' gather interval, for the up/down status (`1m0s`).
    #[arg(
        long = "telegraf-system-interval",
        env = "TELEGRAF_SYSTEM_INTERVAL",
        default_value = "1m0s"
    )]
    telegraf_system_interval: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        // Colours only on a terminal: container and file logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let kapacitor = chronograf_rs::http::Kapacitor {
        url: cli.kapacitor_url.clone(),
        client: client.clone(),
    };
    let source = Source::new(
        SourceConfig {
            url: cli.influxdb_url.clone(),
            username: cli.influxdb_username.clone(),
            password: cli.influxdb_password.clone(),
            telegraf: cli.telegraf_db.clone(),
            ..SourceConfig::default()
        },
        client,
    );
    let state = AppState {
        sources: Arc::new(vec![source]),
        telegraf_interval: cli.telegraf_system_interval.clone(),
        layouts: Arc::new(chronograf_rs::layouts::canned()),
        dashboards: Arc::new(
            chronograf_rs::dashboards::DashboardStore::open(&cli.data_dir)
                .context("opening the dashboards")?,
        ),
        kapacitor,
        metrics: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(&cli.bind)
        .await
        .with_context(|| format!("binding {}", cli.bind))?;
    tracing::info!(bind = %cli.bind, store = %cli.influxdb_url, "chronograf-rs listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
        })
        .await
        .context("serving")
}
