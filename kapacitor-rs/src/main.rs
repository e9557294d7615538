//! `kapacitor-rs`: the daemon (no subcommand) and the `kapacitor` client's commands for
//! operators (`define`, `enable`, `disable`, `delete tasks`, `list tasks`, `show`), which talk
//! to the API at `KAPACITOR_URL`. Single-dash flags (`-tick`, `-dbrp`) work as with the
//! original client.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kapacitor_rs::alert::handlers::Delivery;
use kapacitor_rs::config::Config;
use kapacitor_rs::http::{router, AppState};
use kapacitor_rs::subscriptions::Subscriber;
use kapacitor_rs::tasks::{TaskContext, Tasks};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Kapacitor-compatible alerting engine.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file.
    #[arg(long, env = "KAPACITOR_RS_CONFIG")]
    config: Option<PathBuf>,
    /// API of a running server, for the commands.
    #[arg(long, env = "KAPACITOR_URL", default_value = "http://localhost:9092")]
    url: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates or updates a task from a TICKscript file.
    Define {
        /// Task id.
        id: String,
        /// The TICKscript.
        #[arg(long)]
        tick: PathBuf,
        /// `db.rp` (repeatable) when the script has no `dbrp` line.
        #[arg(long)]
        dbrp: Vec<String>,
        /// `stream` or `batch` (checked against the script).
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Enables tasks.
    Enable {
        /// Task ids.
        ids: Vec<String>,
    },
    /// Disables tasks.
    Disable {
        /// Task ids.
        ids: Vec<String>,
    },
    /// `delete tasks <id>…`
    Delete {
        /// `tasks`.
        what: String,
        /// Task ids.
        ids: Vec<String>,
    },
    /// `list tasks [pattern]`
    List {
        /// `tasks`.
        what: String,
        /// Glob on ids.
        pattern: Option<String>,
    },
    /// Shows one task.
    Show {
        /// Task id.
        id: String,
    },
}

/// `-tick` → `--tick`, as Go's flag package accepts single dashes.
fn normalize_args() -> Vec<String> {
    std::env::args()
        .map(|a| match a.as_str() {
            "-tick" | "-dbrp" | "-type" | "-url" | "-config" => format!("-{a}"),
            _ => a,
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(normalize_args());
    let result = match cli.command {
        Some(command) => client(&cli.url, command),
        None => daemon(cli.config.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn api_error(resp: reqwest::blocking::Response) -> anyhow::Error {
    let status = resp.status();
    let body: serde_json::Value = resp.json().unwrap_or_default();
    anyhow::anyhow!(
        "{}",
        body["error"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| status.to_string())
    )
}

fn client(url: &str, command: Command) -> anyhow::Result<()> {
    let http = reqwest::blocking::Client::new();
    let task_url = |id: &str| format!("{}/kapacitor/v1/tasks/{id}", url.trim_end_matches('/'));
    let patch = |id: &str, body: serde_json::Value| -> anyhow::Result<()> {
        let resp = http
            .patch(task_url(id))
            .json(&body)
            .send()
            .context("reaching kapacitor-rs")?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(api_error(resp))
        }
    };
    match command {
        Command::Define {
            id,
            tick,
            dbrp,
            kind,
        } => {
            let script = std::fs::read_to_string(&tick)
                .with_context(|| format!("reading {}", tick.display()))?;
            let dbrps: Vec<serde_json::Value> = dbrp
                .iter()
                .map(|d| {
                    let (db, rp) = d.split_once('.').unwrap_or((d, "autogen"));
                    serde_json::json!({ "db": db, "rp": rp })
                })
                .collect();
            let exists = http
                .get(task_url(&id))
                .send()
                .context("reaching kapacitor-rs")?
                .status()
                .is_success();
            let mut body = serde_json::json!({ "id": id, "script": script });
            if !dbrps.is_empty() {
                body["dbrps"] = dbrps.into();
            }
            if let Some(k) = kind {
                body["type"] = k.into();
            }
            if exists {
                return patch(&id, body);
            }
            let resp = http
                .post(format!("{}/kapacitor/v1/tasks", url.trim_end_matches('/')))
                .json(&body)
                .send()
                .context("reaching kapacitor-rs")?;
            if !resp.status().is_success() {
                return Err(api_error(resp));
            }
            Ok(())
        }
        Command::Enable { ids } => ids
            .iter()
            .try_for_each(|id| patch(id, serde_json::json!({ "status": "enabled" }))),
        Command::Disable { ids } => ids
            .iter()
            .try_for_each(|id| patch(id, serde_json::json!({ "status": "disabled" }))),
        Command::Delete { what, ids } => {
            if what != "tasks" {
                bail!("only `delete tasks` is implemented");
            }
            for id in ids {
                http.delete(task_url(&id))
                    .send()
                    .context("reaching kapacitor-rs")?;
            }
            Ok(())
        }
        Command::List { what, pattern } => {
            if what != "tasks" {
                bail!("only `list tasks` is implemented");
            }
            let mut req = http.get(format!("{}/kapacitor/v1/tasks", url.trim_end_matches('/')));
            if let Some(p) = pattern {
                req = req.query(&[("pattern", p)]);
            }
            let body: serde_json::Value = req.send().context("reaching kapacitor-rs")?.json()?;
            println!(
                "{:<40} {:<7} {:<9} {:<9} Databases and Retention Policies",
                "ID", "Type", "Status", "Executing"
            );
            for t in body["tasks"].as_array().into_iter().flatten() {
                let dbrps: Vec<String> = t["dbrps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "[\"{}\".\"{}\"]",
                            d["db"].as_str().unwrap_or(""),
                            d["rp"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                println!(
                    "{:<40} {:<7} {:<9} {:<9} {}",
                    t["id"].as_str().unwrap_or(""),
                    t["type"].as_str().unwrap_or(""),
                    t["status"].as_str().unwrap_or(""),
                    t["executing"].as_bool().unwrap_or(false),
                    dbrps.join(" ")
                );
            }
            Ok(())
        }
        Command::Show { id } => {
            let resp = http
                .get(task_url(&id))
                .send()
                .context("reaching kapacitor-rs")?;
            if !resp.status().is_success() {
                return Err(api_error(resp));
            }
            let t: serde_json::Value = resp.json()?;
            println!("ID: {}", t["id"].as_str().unwrap_or(""));
            println!("Error: {}", t["error"].as_str().unwrap_or(""));
            println!("Type: {}", t["type"].as_str().unwrap_or(""));
            println!("Status: {}", t["status"].as_str().unwrap_or(""));
            println!("Executing: {}", t["executing"]);
            println!("Created: {}", t["created"].as_str().unwrap_or(""));
            println!("Modified: {}", t["modified"].as_str().unwrap_or(""));
            println!("LastEnabled: {}", t["last-enabled"].as_str().unwrap_or(""));
            println!("Databases Retention Policies: {}", t["dbrps"]);
            println!("TICKscript:\n{}", t["script"].as_str().unwrap_or(""));
            println!("\nDOT:\n{}", t["dot"].as_str().unwrap_or(""));
            println!("\nStats: {}", t["stats"]);
            Ok(())
        }
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let level = match config.logging.level.to_uppercase().as_str() {
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" => "error",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "{level},hyper=info,hyper_util=info,reqwest=info"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: container and file logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    match config.logging.file.as_str() {
        "" | "STDERR" => builder.with_writer(std::io::stderr).init(),
        "STDOUT" => builder.with_writer(std::io::stdout).init(),
        path => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {path}"))?;
            builder.with_ansi(false).with_writer(Arc::new(file)).init();
        }
    }
    Ok(())
}

/// The server id kept in the data dir (names our subscriptions).
fn server_id(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("server-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_string());
    }
    let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// Defines and enables every `*.tick` of the load directory (`<dir>/tasks` or `<dir>`).
fn load_tasks(tasks: &Tasks, dir: &Path) {
    let tasks_dir = if dir.join("tasks").is_dir() {
        dir.join("tasks")
    } else {
        dir.to_path_buf()
    };
    let Ok(entries) = std::fs::read_dir(&tasks_dir) else {
        tracing::warn!(dir = %tasks_dir.display(), "load directory not readable");
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tick"))
        .collect();
    files.sort();
    for file in files {
        let id = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let script = match std::fs::read_to_string(&file) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(file = %file.display(), "load: {e}");
                continue;
            }
        };
        let body = serde_json::json!({ "id": id, "script": script, "status": "enabled" });
        let result = match tasks.get(&id) {
            Ok(_) => tasks.update(&id, &body),
            Err(_) => tasks.create(&body),
        };
        match result {
            Ok(_) => tracing::info!(task = %id, file = %file.display(), "task loaded"),
            Err(e) => tracing::error!(task = %id, file = %file.display(), "load: {}", e.message),
        }
    }
}

fn duration(text: &str, default: Duration) -> Duration {
    kapacitor_rs::template::parse_go_duration(text)
        .filter(|ns| *ns > 0)
        .map(|ns| Duration::from_nanos(ns as u64))
        .unwrap_or(default)
}

fn daemon(config_path: Option<&Path>) -> anyhow::Result<()> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("KAPACITOR_RS_"))
        .collect();
    let config = Config::load(config_path, &env)?;
    init_logging(&config)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let runtime = http_serve::runtime().context("starting the runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let influx = config
        .default_store()
        .cloned()
        .context("no enabled [[influxdb]]")?;
    let timeout = duration(&influx.timeout, Duration::from_secs(30));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("HTTP client")?;
    // Every URL of the [[influxdb]] table: the store's nodes, tried in turn when one is down.
    let store = influx_client::ClientBuilder::new(&influx.urls)
        .auth(influx_client::Auth::basic(
            &influx.username,
            &influx.password,
        ))
        .timeout(timeout)
        .build()
        .context("[[influxdb]] urls")?;
    let (handler_tx, handler_rx) = tokio::sync::mpsc::channel(10_000);
    let delivery = Arc::new(Delivery {
        smtp: config.smtp.clone(),
        slack: config.slack.clone(),
        client,
        attempts: 3,
    });
    tokio::spawn(delivery.run(handler_rx));
    let events = kapacitor_rs::services::EventStore::default();
    let tasks = Tasks::open(TaskContext {
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        store: store.clone(),
        handlers: handler_tx,
        http_out: Default::default(),
        runtime: tokio::runtime::Handle::current(),
        alert_history: config.alert_history.clone(),
        events: events.clone(),
        global_handlers: if config.smtp.enabled && config.smtp.global {
            vec![kapacitor_rs::alert::handlers::HandlerSpec::Email { to: Vec::new() }]
        } else {
            Vec::new()
        },
        sandbox: std::sync::Arc::new(config.sandbox.clone()),
    })
    .context("opening the task store")?;
    if config.load.enabled {
        load_tasks(&tasks, &config.load.dir);
    }
    let bind = if config.http.bind_address.starts_with(':') {
        format!("0.0.0.0{}", config.http.bind_address)
    } else {
        config.http.bind_address.clone()
    };
    let auth = kapacitor_rs::auth::Auth::open(
        &config.auth,
        config.http.auth_enabled,
        &config.http.shared_secret,
        &config.data_dir,
    )
    .context("setting up [auth]")?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(config.http_port());
    if !influx.disable_subscriptions {
        let host = if influx.kapacitor_hostname.is_empty() {
            config.hostname.clone()
        } else {
            influx.kapacitor_hostname.clone()
        };
        let port = if influx.http_port == 0 {
            port
        } else {
            influx.http_port
        };
        let subscriber = Subscriber {
            store,
            name: format!("kapacitor-{}", server_id(&config.data_dir)?),
            // With credentials demanded, the store writes as the subscriber user.
            destination: format!(
                "{}://{}{host}:{port}",
                influx.subscription_protocol,
                auth.subscriber_userinfo().unwrap_or_default()
            ),
            config: influx.clone(),
        };
        tokio::spawn(subscriber.run(
            duration(&influx.startup_timeout, Duration::from_secs(300)),
            duration(&influx.subscriptions_sync_interval, Duration::from_secs(60)),
        ));
    }
    tracing::info!(bind = %bind, data_dir = %config.data_dir.display(), "kapacitor-rs listening");
    let app = router(AppState {
        tasks,
        events,
        auth,
    });
    let shutdown = async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    http_serve::serve(listener, app, http_serve::Limits::default(), shutdown)
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}
