//! The daemon's configuration: defaults → `influx-rs.toml` → `INFLUX_RS_*` env → flags.
//!
//! Every key is documented here; unknown keys in the file are an error naming the key.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors while assembling the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown/mistyped keys.
    #[error("in {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error, with line and key.
        message: String,
    },
    /// An environment override could not be read.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// Why.
        message: String,
    },
}

/// Top-level configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// HTTP listener.
    pub http: HttpConfig,
    /// Storage engine.
    pub data: DataConfig,
    /// Retention enforcement.
    pub retention: RetentionConfig,
    /// Forwarding of writes to subscriptions.
    pub subscriber: SubscriberConfig,
    /// Limits on queries.
    pub coordinator: CoordinatorConfig,
    /// The continuous-query scheduler.
    pub continuous_queries: ContinuousQueriesConfig,
    /// Log output.
    pub logging: LoggingConfig,
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct HttpConfig {
    /// Address to listen on (`--bind`, `INFLUX_RS_BIND`).
    pub bind_address: SocketAddr,
    /// Largest accepted request body in bytes, after gunzip; 0 = unlimited.
    pub max_body_size: usize,
    /// Demand credentials on `/query` and `/write` (once an admin user exists).
    pub auth_enabled: bool,
    /// Key of the JWTs accepted as `Authorization: Bearer …` (`INFLUX_RS_HTTP_SHARED_SECRET`);
    /// empty refuses bearer tokens.
    pub shared_secret: String,
    /// Connections served at once (InfluxDB's key); more wait to be accepted. 0 = 1,024.
    pub max_connection_limit: usize,
    /// Time a client has to send a request's header, and an idle kept-alive connection to
    /// start its next request, before the connection is closed.
    #[serde(with = "humantime_serde")]
    pub read_header_timeout: Duration,
}

impl HttpConfig {
    /// The bounds the HTTP server runs within.
    pub fn serve_limits(&self) -> http_serve::Limits {
        let default = http_serve::Limits::default();
        http_serve::Limits {
            header_read_timeout: self.read_header_timeout,
            max_connections: match self.max_connection_limit {
                0 => default.max_connections,
                n => n,
            },
        }
    }
}

/// `[data]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct DataConfig {
    /// Where meta data, WAL, column files and indexes live (`--data-dir`, `INFLUX_RS_DATA_DIR`).
    pub dir: PathBuf,
    /// A shard's cache is written to a column file once it holds this many bytes.
    pub cache_snapshot_memory_size: usize,
    /// Writes are refused (500) while the caches of all shards together exceed this.
    pub cache_max_memory_size: usize,
    /// Bytes of decoded column-file blocks kept for reads that come again; 0 = none.
    pub block_cache_max_memory_size: usize,
    /// A shard that received no writes for this long is snapshotted and fully compacted.
    #[serde(with = "humantime_serde")]
    pub compact_full_write_cold_duration: Duration,
    /// How many compactions may run at once (snapshots have a thread of their own).
    pub max_concurrent_compactions: usize,
    /// Distinct series allowed per database; 0 = unlimited.
    pub max_series_per_database: usize,
    /// Distinct values allowed per tag key per shard; 0 = unlimited.
    pub max_values_per_tag: usize,
}

/// `[retention]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct RetentionConfig {
    /// Whether expired shard groups are dropped.
    pub enabled: bool,
    /// How often to look for expired shard groups.
    #[serde(with = "humantime_serde")]
    pub check_interval: Duration,
}

/// `[coordinator]`: limits on queries, with InfluxDB's names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct CoordinatorConfig {
    /// Longest a query may run before it is stopped; 0 = no limit.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
    /// Queries that may run at once; 0 = no limit.
    pub max_concurrent_queries: usize,
    /// Points one `SELECT` may read; 0 = no limit.
    pub max_select_point: u64,
    /// Series one `SELECT` may read; 0 = no limit.
    pub max_select_series: u64,
    /// `GROUP BY time()` windows one `SELECT` may make; 0 = no limit.
    pub max_select_buckets: u64,
    /// Bytes the windows of one `SELECT` may take (an estimate); 0 = no limit.
    pub query_memory_limit: u64,
}

impl Default for CoordinatorConfig {
    /// InfluxDB's defaults (no limits), but for the memory of a `SELECT`: one GiB.
    fn default() -> Self {
        CoordinatorConfig {
            query_timeout: Duration::ZERO,
            max_concurrent_queries: 0,
            max_select_point: 0,
            max_select_series: 0,
            max_select_buckets: 0,
            query_memory_limit: 1 << 30,
        }
    }
}

/// `[continuous_queries]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct ContinuousQueriesConfig {
    /// Run continuous queries on schedule.
    pub enabled: bool,
}

impl Default for ContinuousQueriesConfig {
    fn default() -> Self {
        ContinuousQueriesConfig { enabled: true }
    }
}

/// `[subscriber]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SubscriberConfig {
    /// Timeout of each HTTP delivery to a subscription destination.
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
}

impl Default for SubscriberConfig {
    fn default() -> Self {
        SubscriberConfig {
            http_timeout: Duration::from_secs(30),
        }
    }
}

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct LoggingConfig {
    /// `info`, `debug`, … or a full `tracing` filter.
    pub level: String,
    /// `human` or `json`.
    pub format: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind_address: SocketAddr::from(([127, 0, 0, 1], 8086)),
            max_body_size: 25_000_000,
            auth_enabled: false,
            shared_secret: String::new(),
            max_connection_limit: 1024,
            read_header_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: PathBuf::from("data/influx-rs"),
            cache_snapshot_memory_size: 25 * 1024 * 1024,
            cache_max_memory_size: 512 * 1024 * 1024,
            block_cache_max_memory_size: 32 * 1024 * 1024,
            compact_full_write_cold_duration: Duration::from_secs(4 * 3600),
            max_concurrent_compactions: 1,
            max_series_per_database: 1_000_000,
            max_values_per_tag: 100_000,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: true,
            check_interval: Duration::from_secs(30 * 60),
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".into(),
            format: "human".into(),
        }
    }
}

impl Config {
    /// Reads `path` over the defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Applies `INFLUX_RS_BIND`, `INFLUX_RS_DATA_DIR` and `INFLUX_RS_HTTP_AUTH_ENABLED` from
    /// `env`.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(bind) = env("INFLUX_RS_BIND") {
            self.http.bind_address = bind.parse().map_err(|e| ConfigError::Env {
                name: "INFLUX_RS_BIND".into(),
                message: format!("{bind:?}: {e}"),
            })?;
        }
        if let Some(dir) = env("INFLUX_RS_DATA_DIR") {
            self.data.dir = PathBuf::from(dir);
        }
        if let Some(auth) = env("INFLUX_RS_HTTP_AUTH_ENABLED") {
            self.http.auth_enabled = auth.parse().map_err(|e| ConfigError::Env {
                name: "INFLUX_RS_HTTP_AUTH_ENABLED".into(),
                message: format!("{auth:?}: {e}"),
            })?;
        }
        if let Some(secret) = env("INFLUX_RS_HTTP_SHARED_SECRET") {
            self.http.shared_secret = secret;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example file states exactly the defaults.
    #[test]
    fn example_file_is_valid_and_states_the_defaults() {
        let example: Config = toml::from_str(include_str!("../../deploy/influx-rs.toml")).unwrap();
        assert_eq!(
            toml::to_string(&example).unwrap(),
            toml::to_string(&Config::default()).unwrap()
        );
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = toml::from_str::<Config>("[http]\nbind-adress = \"1.2.3.4:1\"\n").unwrap_err();
        assert!(err.to_string().contains("bind-adress"), "{err}");
    }

    #[test]
    fn file_values_and_env_override() {
        let mut c: Config =
            toml::from_str("[data]\ndir = \"/x\"\ncompact-full-write-cold-duration = \"10m\"\n")
                .unwrap();
        assert_eq!(
            c.data.compact_full_write_cold_duration,
            Duration::from_secs(600)
        );
        c.apply_env(|k| (k == "INFLUX_RS_DATA_DIR").then(|| "/y".to_string()))
            .unwrap();
        assert_eq!(c.data.dir, PathBuf::from("/y"));
        c.apply_env(|k| (k == "INFLUX_RS_HTTP_AUTH_ENABLED").then(|| "true".to_string()))
            .unwrap();
        assert!(c.http.auth_enabled);
        let err = c
            .apply_env(|k| (k == "INFLUX_RS_HTTP_AUTH_ENABLED").then(|| "yes".to_string()))
            .unwrap_err();
        assert!(
            err.to_string().contains("INFLUX_RS_HTTP_AUTH_ENABLED"),
            "{err}"
        );
    }
}
