//! `outputs.influxdb`: InfluxDB 1.x `/write` over HTTP, with failover between URLs and the
//! database created on first contact, answering each response as Telegraf does.

use super::{store_client, OutputError, WriteOutcome};
use crate::options::GoDuration;
use influx_client::{Auth, Client, Error, Write};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[outputs.influxdb]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InfluxDbConfig {
    /// Servers; each flush tries them in random order until one succeeds.
    pub urls: Vec<String>,
    /// Target database.
    pub database: String,
    /// Target retention policy; empty means the database's default.
    pub retention_policy: String,
    /// Sent as `consistency=` (cluster-only meaning).
    pub write_consistency: String,
    /// HTTP timeout.
    pub timeout: GoDuration,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// The `User-Agent` header.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// `gzip` or `identity`.
    pub content_encoding: String,
    /// Do not send `CREATE DATABASE`.
    pub skip_database_creation: bool,
    /// Write unsigned integers with `u`.
    pub influx_uint_support: bool,
    /// Leave timestamps out.
    pub influx_omit_timestamp: bool,
    /// Extra request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_headers: BTreeMap<String, String>,
}

impl Default for InfluxDbConfig {
    fn default() -> Self {
        InfluxDbConfig {
            urls: vec!["http://localhost:8086".into()],
            database: "telegraf".into(),
            retention_policy: String::new(),
            write_consistency: "any".into(),
            timeout: GoDuration::secs(5),
            username: String::new(),
            password: String::new(),
            user_agent: String::new(),
            content_encoding: "gzip".into(),
            skip_database_creation: false,
            influx_uint_support: false,
            influx_omit_timestamp: false,
            http_headers: BTreeMap::new(),
        }
    }
}

/// The running output.
#[derive(Debug)]
pub struct InfluxDb {
    config: InfluxDbConfig,
    /// One client per URL: Telegraf tries the URLs itself, creating the database on each.
    servers: Vec<Server>,
}

/// One URL of `urls`.
#[derive(Debug)]
struct Server {
    url: String,
    client: Client,
    /// Whether the database is known to exist there (or creation is skipped).
    database_ready: bool,
}

/// Answer texts after which Telegraf drops a batch instead of retrying it, even from a server
/// error.
const NOT_RETRYABLE: &[&str] = &[
    "partial write",
    "unable to parse",
    "points beyond retention policy",
    "retention policy not found",
    "hinted handoff queue not empty",
];

/// What one URL said.
enum Answer {
    Done(WriteOutcome),
    DatabaseNotFound,
    Failed(String),
}

impl InfluxDb {
    /// Checks the URLs and builds a client for each.
    pub fn new(config: &InfluxDbConfig) -> Result<Self, OutputError> {
        if config.urls.is_empty() {
            return Err(OutputError::Settings(
                "urls: at least one URL is needed".into(),
            ));
        }
        let servers = config
            .urls
            .iter()
            .map(|url| {
                let client = store_client(
                    [url],
                    Auth::basic(&config.username, &config.password),
                    config.timeout.0,
                    &config.user_agent,
                    &config.http_headers,
                    config.content_encoding == "gzip",
                )
                .map_err(|e| OutputError::Settings(format!("urls: {url:?}: {e}")))?;
                Ok(Server {
                    url: url.clone(),
                    client,
                    database_ready: config.skip_database_creation,
                })
            })
            .collect::<Result<_, OutputError>>()?;
        Ok(InfluxDb {
            servers,
            config: config.clone(),
        })
    }

    /// `CREATE DATABASE` on `server`.
    async fn create_database(&self, server: &Server) -> Result<(), Error> {
        server.client.create_database(&self.config.database).await
    }

    async fn write_to(&self, server: &Server, body: &[u8], count: usize) -> Answer {
        let mut target =
            Write::new(&self.config.database).retention_policy(&self.config.retention_policy);
        if !self.config.write_consistency.is_empty() {
            target = target.consistency(&self.config.write_consistency);
        }
        let error = match server.client.write(&target, body.to_vec()).await {
            Ok(()) => return Answer::Done(WriteOutcome::Written),
            Err(Error::DatabaseNotFound(_)) => return Answer::DatabaseNotFound,
            Err(e) => e,
        };
        let reason = error.message();
        let dropped = match &error {
            Error::PartialWrite {
                dropped: Some(n), ..
            } => *n,
            _ => count,
        };
        let client_error = error.status().is_some_and(|s| (400..500).contains(&s));
        if client_error || NOT_RETRYABLE.iter().any(|s| reason.contains(s)) {
            return Answer::Done(WriteOutcome::Rejected {
                dropped,
                reason: error.to_string(),
            });
        }
        Answer::Failed(format!("{}: {error}", server.url))
    }

    /// Writes one batch, trying the URLs in random order.
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        let mut order: Vec<usize> = (0..self.servers.len()).collect();
        order.shuffle(&mut rand::thread_rng());
        let mut failures = Vec::new();
        let mut all_missing = true;
        for i in order {
            let url = self.servers[i].url.clone();
            if !self.servers[i].database_ready {
                match self.create_database(&self.servers[i]).await {
                    Ok(()) => self.servers[i].database_ready = true,
                    Err(e) => tracing::debug!(url = %url, "create database: {e}"),
                }
            }
            match self.write_to(&self.servers[i], body, count).await {
                Answer::Done(outcome) => return Ok(outcome),
                Answer::DatabaseNotFound if !self.config.skip_database_creation => {
                    match self.create_database(&self.servers[i]).await {
                        Ok(()) => {
                            self.servers[i].database_ready = true;
                            return Err(OutputError::Retry(format!(
                                "{url}: database {:?} was missing and has been created",
                                self.config.database
                            )));
                        }
                        Err(e) => failures.push(format!(
                            "{url}: database not found; creating it failed: {e}"
                        )),
                    }
                }
                Answer::DatabaseNotFound => failures.push(format!("{url}: database not found")),
                Answer::Failed(e) => {
                    all_missing = false;
                    self.servers[i].database_ready = self.config.skip_database_creation;
                    failures.push(e);
                }
            }
        }
        if all_missing {
            return Ok(WriteOutcome::Rejected {
                dropped: count,
                reason: format!(
                    "database {:?} not found: {}",
                    self.config.database,
                    failures.join("; ")
                ),
            });
        }
        Err(OutputError::Retry(failures.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls() {
        let config = InfluxDbConfig {
            urls: vec!["udp://localhost:8089".into()],
            ..InfluxDbConfig::default()
        };
        assert!(InfluxDb::new(&config)
            .unwrap_err()
            .to_string()
            .contains("udp://"));
    }
}
