//! The store, as Chronograf talks to it: `POST /query` with `epoch=ms`, errors in the source's
//! words. Only configured sources are ever queried.

use serde::{Deserialize, Serialize};

/// A configured InfluxDB connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SourceConfig {
    /// Display name.
    pub name: String,
    /// Base URL.
    pub url: String,
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

/// A source with its HTTP client.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its settings.
    pub config: SourceConfig,
    client: reqwest::Client,
}

impl Source {
    /// Wraps `config`.
    pub fn new(config: SourceConfig, client: reqwest::Client) -> Self {
        Source { config, client }
    }

    /// Runs `q` on `db` (and `rp`) with millisecond epochs.
    pub async fn query(
        &self,
        db: &str,
        rp: &str,
        q: &str,
    ) -> Result<serde_json::Value, SourceError> {
        let mut params = vec![("q", q), ("db", db), ("epoch", "ms")];
        if !rp.is_empty() {
            params.push(("rp", rp));
        }
        let mut req = self
            .client
            .post(format!("{}/query", self.config.url.trim_end_matches('/')))
            .query(&params);
        if !self.config.username.is_empty() {
            req = req.basic_auth(&self.config.username, Some(&self.config.password));
        }
        let resp = req.send().await.map_err(|e| {
            SourceError(format!("source {}: {}", self.config.name, e.without_url()))
        })?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(|e| {
            SourceError(format!("source {}: {}", self.config.name, e.without_url()))
        })?;
        if !status.is_success() {
            return Err(SourceError(format!(
                "received status code {} from server: err: {}",
                status.as_u16(),
                body["error"].as_str().unwrap_or("")
            )));
        }
        Ok(body)
    }

    /// Writes line protocol to `db` (and `rp`, `precision`) through the store's `/write`.
    pub async fn write(
        &self,
        db: &str,
        rp: &str,
        precision: &str,
        body: Vec<u8>,
    ) -> Result<(), WriteRefused> {
        let mut params = vec![("db", db)];
        if !rp.is_empty() {
            params.push(("rp", rp));
        }
        if !precision.is_empty() {
            params.push(("precision", precision));
        }
        let mut req = self
            .client
            .post(format!("{}/write", self.config.url.trim_end_matches('/')))
            .query(&params)
            .body(body);
        if !self.config.username.is_empty() {
            req = req.basic_auth(&self.config.username, Some(&self.config.password));
        }
        let resp = req.send().await.map_err(|e| WriteRefused {
            status: 502,
            message: format!("source {}: {}", self.config.name, e.without_url()),
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        Err(WriteRefused {
            status: status.as_u16(),
            message: body["error"].as_str().unwrap_or("write failed").to_string(),
        })
    }

    /// Whether `/ping` answers.
    pub async fn ping(&self) -> bool {
        let url = format!("{}/ping", self.config.url.trim_end_matches('/'));
        self.client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}
