//! `outputs.influxdb`: InfluxDB 1.x `/write` over HTTP, with failover between URLs and the
//! database created on first contact, answering each response as Telegraf does.

use super::{gzip, http_client, OutputError, WriteOutcome, DEFAULT_USER_AGENT};
use crate::config::GoDuration;
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
    client: reqwest::Client,
    /// URLs where the database is known to exist (or creation is skipped).
    database_ready: Vec<bool>,
}

/// Answer bodies after which Telegraf drops a batch instead of retrying it.
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
    /// Checks the URLs and builds the HTTP client.
    pub fn new(config: &InfluxDbConfig) -> Result<Self, OutputError> {
        if config.urls.is_empty() {
            return Err(OutputError::Settings(
                "urls: at least one URL is needed".into(),
            ));
        }
        for url in &config.urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(OutputError::Settings(format!(
                    "urls: {url:?}: only http:// and https:// are implemented by telegraf-rs"
                )));
            }
        }
        let agent = if config.user_agent.is_empty() {
            DEFAULT_USER_AGENT
        } else {
            &config.user_agent
        };
        Ok(InfluxDb {
            client: http_client(config.timeout.0, agent, &config.http_headers)?,
            database_ready: vec![config.skip_database_creation; config.urls.len()],
            config: config.clone(),
        })
    }

    fn endpoint(&self, url: &str, path: &str) -> String {
        format!("{}{path}", url.trim_end_matches('/'))
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.config.username.is_empty() {
            true => req,
            false => req.basic_auth(&self.config.username, Some(&self.config.password)),
        }
    }

    /// `CREATE DATABASE` on the server at `url`.
    async fn create_database(&self, url: &str) -> Result<(), String> {
        let q = format!(
            "CREATE DATABASE \"{}\"",
            self.config.database.replace('"', "\\\"")
        );
        let req = self
            .client
            .post(self.endpoint(url, "/query"))
            .form(&[("q", q)]);
        let resp = self
            .authorize(req)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() && !text.contains("\"error\"") {
            Ok(())
        } else {
            Err(format!("{status}: {}", text.trim()))
        }
    }

    async fn write_to(&self, url: &str, body: &[u8], count: usize) -> Answer {
        let mut params = vec![("db", self.config.database.as_str())];
        if !self.config.retention_policy.is_empty() {
            params.push(("rp", &self.config.retention_policy));
        }
        if !self.config.write_consistency.is_empty() {
            params.push(("consistency", &self.config.write_consistency));
        }
        let mut req = self
            .client
            .post(self.endpoint(url, "/write"))
            .query(&params)
            .header("Content-Type", "text/plain; charset=utf-8");
        req = match self.config.content_encoding.as_str() {
            "gzip" => req.header("Content-Encoding", "gzip").body(gzip(body)),
            _ => req.body(body.to_vec()),
        };
        let resp = match self.authorize(req).send().await {
            Ok(r) => r,
            Err(e) => return Answer::Failed(format!("{url}: {}", super::error_chain(&e))),
        };
        let status = resp.status();
        if status.is_success() {
            return Answer::Done(WriteOutcome::Written);
        }
        let text = resp.text().await.unwrap_or_default();
        let reason = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        if reason.contains("database not found") {
            return Answer::DatabaseNotFound;
        }
        let dropped = dropped_count(&reason).unwrap_or(count);
        if status.is_client_error() || NOT_RETRYABLE.iter().any(|s| reason.contains(s)) {
            return Answer::Done(WriteOutcome::Rejected {
                dropped,
                reason: format!("{status}: {reason}"),
            });
        }
        Answer::Failed(format!("{url}: {status}: {reason}"))
    }

    /// Writes one batch, trying the URLs in random order.
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        let mut order: Vec<usize> = (0..self.config.urls.len()).collect();
        order.shuffle(&mut rand::thread_rng());
        let mut failures = Vec::new();
        let mut all_missing = true;
        for i in order {
            let url = self.config.urls[i].clone();
            if !self.database_ready[i] {
                match self.create_database(&url).await {
                    Ok(()) => self.database_ready[i] = true,
                    Err(e) => tracing::debug!(url = %url, "create database: {e}"),
                }
            }
            match self.write_to(&url, body, count).await {
                Answer::Done(outcome) => return Ok(outcome),
                Answer::DatabaseNotFound if !self.config.skip_database_creation => {
                    match self.create_database(&url).await {
                        Ok(()) => {
                            self.database_ready[i] = true;
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
                    self.database_ready[i] = self.config.skip_database_creation;
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

/// The `dropped=N` of an InfluxDB partial-write message.
fn dropped_count(reason: &str) -> Option<usize> {
    let at = reason.rfind("dropped=")?;
    let digits: String = reason[at + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_dropped_count() {
        assert_eq!(
            dropped_count("partial write: field type conflict dropped=3"),
            Some(3)
        );
        assert_eq!(dropped_count("unable to parse 'x': missing fields"), None);
    }

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
