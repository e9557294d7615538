//! The store, as Chronograf talks to it: `POST /query` with `epoch=ms`, errors in the source's
//! words. Only configured sources are ever queried.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A configured InfluxDB connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SourceConfig {
    /// Display name.
    pub name: String,
    /// Base URL.
    pub url: String,
    /// More URLs of the same store (the other nodes of an influx-rs cluster), tried in turn
    /// when `url` does not answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failover_urls: Vec<String>,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password (never shown).
    pub password: String,
    /// Database holding the agents' metrics.
    pub telegraf: String,
    /// Retention policy for host pages ("" = the database's default).
    pub default_rp: String,
}

impl SourceConfig {
    /// The URL as pages and the API show it: without a user name or password in it.
    pub fn shown_url(&self) -> String {
        redacted_url(&self.url)
    }
}

/// `url` without any user name or password in it, for showing: credentials belong in the
/// username and password settings, which are never shown, and must not leak through the URL.
pub fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Not a URL: cut whatever stands between the scheme and an `@`.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}{}", &url[..scheme + 3], &url[at + 1..])
            }
            _ => url.to_string(),
        },
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            name: "influx-rs".into(),
            url: "http://localhost:8086".into(),
            failover_urls: Vec::new(),
            username: String::new(),
            password: String::new(),
            telegraf: "telegraf".into(),
            default_rp: String::new(),
        }
    }
}

/// A query the source refused or could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A write the store did not take: its status and words (502 when it could not be reached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct WriteRefused {
    /// HTTP status to answer with.
    pub status: u16,
    /// Why.
    pub message: String,
}

/// A source with its store client.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its settings.
    pub config: SourceConfig,
    client: influx_client::Client,
}

impl Source {
    /// Wraps `config`, each request to the store bounded by `timeout`.
    pub fn new(config: SourceConfig, timeout: Duration) -> Result<Self, SourceError> {
        let urls = std::iter::once(&config.url).chain(&config.failover_urls);
        let client = influx_client::ClientBuilder::new(urls)
            .auth(influx_client::Auth::basic(
                &config.username,
                &config.password,
            ))
            .timeout(timeout)
            .build()
            .map_err(|e| SourceError(format!("source {}: {e}", config.name)))?;
        Ok(Source { config, client })
    }

    /// Runs `q` on `db` (and `rp`) with millisecond epochs; the answer as the store gave it.
    pub async fn query(
        &self,
        db: &str,
        rp: &str,
        q: &str,
    ) -> Result<serde_json::Value, SourceError> {
        let answer = self.query_answer(db, rp, q).await?;
        serde_json::to_value(answer).map_err(|e| SourceError(e.to_string()))
    }

    /// [`Source::query`]'s answer as the client reads it, for callers that take it apart
    /// (charts' columns) without a JSON value in between.
    pub async fn query_answer(
        &self,
        db: &str,
        rp: &str,
        q: &str,
    ) -> Result<influx_client::QueryResponse, SourceError> {
        let query = influx_client::Query::new(q)
            .database(db)
            .retention_policy(rp)
            .epoch(influx_client::Epoch::Ms);
        self.client
            .query(&query)
            .await
            .map_err(|e| match e.status() {
                Some(status) => SourceError(format!(
                    "received status code {status} from server: err: {}",
                    e.message()
                )),
                None => SourceError(format!("source {}: {e}", self.config.name)),
            })
    }

    /// Writes line protocol to `db` (and `rp`, `precision`) through the store's `/write`.
    pub async fn write(
        &self,
        db: &str,
        rp: &str,
        precision: &str,
        body: Vec<u8>,
    ) -> Result<(), WriteRefused> {
        let mut target = influx_client::Write::new(db).retention_policy(rp);
        if !precision.is_empty() {
            let unit = precision
                .parse()
                .map_err(|e: lineproto::PrecisionError| WriteRefused {
                    status: 400,
                    message: format!("{e} (use n, u, ms, s, m or h)"),
                })?;
            target = target.precision(unit);
        }
        self.client
            .write(&target, body)
            .await
            .map_err(|e| match e.status() {
                Some(status) => WriteRefused {
                    status,
                    message: e.message(),
                },
                None => WriteRefused {
                    status: 502,
                    message: format!("source {}: {e}", self.config.name),
                },
            })
    }

    /// The store's cluster (influx-rs `/cluster`); `None` for a single node.
    pub async fn cluster(&self) -> Result<Option<serde_json::Value>, SourceError> {
        self.client
            .cluster()
            .await
            .map_err(|e| SourceError(format!("source {}: {e}", self.config.name)))
    }

    /// Whether `/ping` answers.
    pub async fn ping(&self) -> bool {
        self.client.ping().await.is_ok()
    }
}
