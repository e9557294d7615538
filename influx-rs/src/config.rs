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
    /// A section that cannot work as it is set.
    #[error("[{section}]: {message}")]
    Invalid {
        /// The section.
        section: &'static str,
        /// What is wrong.
        message: &'static str,
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
    /// Replication over a NATS JetStream log; absent = a single node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterConfig>,
}

/// `[cluster]`: this node as one of several that apply one replicated log (see
/// `src/cluster/README.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct ClusterConfig {
    /// NATS servers of the JetStream cluster (`INFLUX_RS_CLUSTER_NATS_URLS`, comma-separated).
    pub nats_urls: Vec<String>,
    /// This node's name, unique in the cluster (`INFLUX_RS_CLUSTER_NODE_ID`); required.
    pub node_id: String,
    /// The JetStream stream holding the log (its subject is `<stream>.log`).
    pub stream: String,
    /// Copies JetStream keeps of the log (1, 3 or 5; at most the number of NATS servers).
    pub replicas: usize,
    /// How long the log keeps entries that the newest snapshot covers (older ones are trimmed
    /// after each snapshot; never one the snapshot does not cover). 0 = no limit but the bytes.
    #[serde(with = "humantime_serde")]
    pub max_log_age: Duration,
    /// Most bytes the log keeps of entries that the newest snapshot covers; 0 = no limit but
    /// the age.
    pub max_log_bytes: u64,
    /// How often the once-per-cluster lease holder publishes a snapshot of its data (a
    /// backup, with the log sequence it covers) for nodes that join behind the log's history,
    /// and then trims the log; 0 = never (and the log is never trimmed).
    #[serde(with = "humantime_serde")]
    pub snapshot_interval: Duration,
    /// NATS user (with `nats-password`).
    pub nats_user: String,
    /// NATS password.
    pub nats_password: String,
    /// NATS token.
    pub nats_token: String,
    /// A NATS credentials (`.creds`) file.
    pub nats_credentials_file: String,
    /// CA certificate for TLS to NATS; set = TLS required.
    pub nats_ca_file: String,
    /// Longest a query with `after-sequence` waits for this node to apply it.
    #[serde(with = "humantime_serde")]
    pub sequence_wait_timeout: Duration,
    /// Entries a node may be behind the log and still count as in step (green).
    pub max_lag: u64,
}

impl ClusterConfig {
    /// What a node cannot start without: its node id and at least one NATS server.
    pub fn check(&self) -> Result<(), ConfigError> {
        let missing = |message| ConfigError::Invalid {
            section: "cluster",
            message,
        };
        if self.node_id.is_empty() {
            return Err(missing(
                "node-id is required (INFLUX_RS_CLUSTER_NODE_ID), unique in the cluster",
            ));
        }
        if self.nats_urls.is_empty() {
            return Err(missing(
                "nats-urls needs at least one server (INFLUX_RS_CLUSTER_NATS_URLS)",
            ));
        }
        Ok(())
    }
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats_urls: vec!["nats://127.0.0.1:4222".into()],
            node_id: String::new(),
            stream: "influx-rs".into(),
            replicas: 3,
            max_log_age: Duration::from_secs(7 * 24 * 3600),
            max_log_bytes: 0,
            snapshot_interval: Duration::from_secs(3600),
            nats_user: String::new(),
            nats_password: String::new(),
            nats_token: String::new(),
            nats_credentials_file: String::new(),
            nats_ca_file: String::new(),
            sequence_wait_timeout: Duration::from_secs(10),
            max_lag: 1000,
        }
    }
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
    /// Bytes of a shard's series log (the series created since its last index file) at which
    /// they are written to an index file, as InfluxDB's TSI option of that name: what bounds
    /// the index's memory.
    pub max_index_log_file_size: usize,
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
            max_index_log_file_size: 1024 * 1024,
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
        self.apply_cluster_env(env)
    }

    /// `INFLUX_RS_CLUSTER_*`: setting any of them turns the cluster on.
    fn apply_cluster_env(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let names = [
            "NATS_URLS",
            "NODE_ID",
            "STREAM",
            "REPLICAS",
            "NATS_USER",
            "NATS_PASSWORD",
            "NATS_TOKEN",
            "SNAPSHOT_INTERVAL",
            "MAX_LOG_AGE",
        ];
        for name in names {
            let var = format!("INFLUX_RS_CLUSTER_{name}");
            let Some(value) = env(&var) else {
                continue;
            };
            let cluster = self.cluster.get_or_insert_with(ClusterConfig::default);
            match name {
                "NATS_URLS" => {
                    cluster.nats_urls = value
                        .split(',')
                        .map(str::trim)
                        .filter(|u| !u.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "NODE_ID" => cluster.node_id = value,
                "STREAM" => cluster.stream = value,
                "REPLICAS" => {
                    cluster.replicas = value.parse().map_err(|e| ConfigError::Env {
                        name: var.clone(),
                        message: format!("{value:?}: {e}"),
                    })?
                }
                "NATS_USER" => cluster.nats_user = value,
                "NATS_PASSWORD" => cluster.nats_password = value,
                "SNAPSHOT_INTERVAL" | "MAX_LOG_AGE" => {
                    let every =
                        humantime_serde::re::humantime::parse_duration(&value).map_err(|e| {
                            ConfigError::Env {
                                name: var.clone(),
                                message: format!("{value:?}: {e}"),
                            }
                        })?;
                    match name {
                        "SNAPSHOT_INTERVAL" => cluster.snapshot_interval = every,
                        _ => cluster.max_log_age = every,
                    }
                }
                _ => cluster.nats_token = value,
            }
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
    fn cluster_section_and_its_variables() {
        let c: Config = toml::from_str(
            "[cluster]\nnats-urls = [\"nats://a:4222\"]\nnode-id = \"n1\"\nmax-log-age = \"1h\"\n",
        )
        .unwrap();
        let cluster = c.cluster.unwrap();
        assert_eq!(cluster.node_id, "n1");
        assert_eq!(cluster.max_log_age, Duration::from_secs(3600));
        assert_eq!(cluster.replicas, 3);
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "INFLUX_RS_CLUSTER_NATS_URLS" => Some("nats://a:1, nats://b:2".into()),
            "INFLUX_RS_CLUSTER_NODE_ID" => Some("n2".into()),
            "INFLUX_RS_CLUSTER_REPLICAS" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        let cluster = c.cluster.unwrap();
        assert_eq!(cluster.nats_urls, ["nats://a:1", "nats://b:2"]);
        assert_eq!((cluster.node_id.as_str(), cluster.replicas), ("n2", 1));
        let err = Config::default()
            .apply_env(|k| (k == "INFLUX_RS_CLUSTER_REPLICAS").then(|| "three".into()))
            .unwrap_err();
        assert!(
            err.to_string().contains("INFLUX_RS_CLUSTER_REPLICAS"),
            "{err}"
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
