//! `outputs.http`: sends each batch in the configured data format (`influx` by default; JSON
//! as one `{"metrics":[…]}` document) to a URL; any answer but 2xx keeps the batch for a
//! retry, except statuses listed in `non_retryable_statuscodes`, whose batches are dropped.

use super::{OutputError, WriteOutcome};
use crate::options::GoDuration;
use crate::serializers::{Serializer, SerializerConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// Options of `[[outputs.http]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Where to send.
    pub url: String,
    /// `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// Request timeout.
    pub timeout: GoDuration,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Extra headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `identity` (default) or `gzip`.
    pub content_encoding: String,
    /// Formats with a batch form send it (default true).
    pub use_batch_format: bool,
    /// Statuses whose batches are dropped instead of retried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_retryable_statuscodes: Vec<u16>,
    /// The serializer options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub serializer: SerializerConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            url: "http://127.0.0.1:8080/telegraf".into(),
            method: "POST".into(),
            timeout: GoDuration::secs(5),
            username: String::new(),
            password: String::new(),
            headers: BTreeMap::new(),
            content_encoding: "identity".into(),
            use_batch_format: true,
            non_retryable_statuscodes: Vec::new(),
            serializer: SerializerConfig::default(),
        }
    }
}

/// The running output.
#[derive(Debug)]
pub struct HttpOutput {
    config: HttpConfig,
    method: reqwest::Method,
    serializer: Serializer,
    client: reqwest::Client,
}

/// The content type of a format's body.
fn content_type(format: Option<&str>) -> &'static str {
    match format {
        Some("json" | "splunkmetric") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

impl HttpOutput {
    /// Checks the options.
    pub fn new(config: &HttpConfig) -> Result<Self, OutputError> {
        let method = match config.method.to_ascii_uppercase().as_str() {
            m @ ("POST" | "PUT" | "PATCH") => reqwest::Method::from_bytes(m.as_bytes())
                .map_err(|e| OutputError::Settings(e.to_string()))?,
            other => {
                return Err(OutputError::Settings(format!(
                    "method {other:?}: POST, PUT or PATCH"
                )))
            }
        };
        if !matches!(config.content_encoding.as_str(), "" | "identity" | "gzip") {
            return Err(OutputError::Settings(format!(
                "content_encoding {:?}: identity or gzip",
                config.content_encoding
            )));
        }
        reqwest::Url::parse(&config.url).map_err(|e| OutputError::Settings(format!("url: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout.0)
            .build()
            .map_err(|e| OutputError::Settings(e.to_string()))?;
        Ok(HttpOutput {
            config: config.clone(),
            method,
            serializer: Serializer::new(&config.serializer).map_err(OutputError::Settings)?,
            client,
        })
    }

    /// Sends one batch.
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        let mut payload = self.serializer.batch(body, self.config.use_batch_format);
        let mut req = self
            .client
            .request(self.method.clone(), &self.config.url)
            .header(
                "Content-Type",
                content_type(self.config.serializer.data_format.as_deref()),
            );
        if self.config.content_encoding == "gzip" {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            payload = gz
                .write_all(&payload)
                .and_then(|_| gz.finish())
                .map_err(|e| OutputError::Retry(e.to_string()))?;
            req = req.header("Content-Encoding", "gzip");
        }
        for (k, v) in &self.config.headers {
            req = req.header(k, v);
        }
        if !self.config.username.is_empty() || !self.config.password.is_empty() {
            req = req.basic_auth(&self.config.username, Some(&self.config.password));
        }
        let resp = req
            .body(payload)
            .send()
            .await
            .map_err(|e| OutputError::Retry(influx_client::error_chain(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(WriteOutcome::Written);
        }
        let text = resp.text().await.unwrap_or_default();
        let reason = format!(
            "when writing to {} received status code: {}: {}",
            self.config.url,
            status.as_u16(),
            text.trim()
        );
        match self
            .config
            .non_retryable_statuscodes
            .contains(&status.as_u16())
        {
            true => Ok(WriteOutcome::Rejected {
                dropped: count,
                reason,
            }),
            false => Err(OutputError::Retry(reason)),
        }
    }
}
