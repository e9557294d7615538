//! `outputs.influxdb_v2`: the InfluxDB 2.x `/api/v2/write` endpoint (also served by InfluxDB
//! 1.8+ and influx-rs), with Telegraf's answer handling: 413 splits the batch in halves.

use super::{gzip, http_client, OutputError, WriteOutcome, DEFAULT_USER_AGENT};
use crate::config::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[outputs.influxdb_v2]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InfluxDbV2Config {
    /// Servers; the first that answers is used.
    pub urls: Vec<String>,
    /// `Authorization: Token …` (`user:password` for 1.x servers).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Sent as `org=`.
    pub organization: String,
    /// Sent as `bucket=` (`db/rp` for 1.x servers).
    pub bucket: String,
    /// HTTP timeout.
    pub timeout: GoDuration,
    /// `gzip` or `identity`.
    pub content_encoding: String,
    /// The `User-Agent` header.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_agent: String,
    /// Write unsigned integers with `u`.
    pub influx_uint_support: bool,
    /// Leave timestamps out.
    pub influx_omit_timestamp: bool,
    /// Extra request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_headers: BTreeMap<String, String>,
}

impl Default for InfluxDbV2Config {
    fn default() -> Self {
        InfluxDbV2Config {
            urls: vec!["http://127.0.0.1:8086".into()],
            token: String::new(),
            organization: String::new(),
            bucket: String::new(),
            timeout: GoDuration::secs(5),
            content_encoding: "gzip".into(),
            user_agent: String::new(),
            influx_uint_support: false,
            influx_omit_timestamp: false,
            http_headers: BTreeMap::new(),
        }
    }
}

/// The running output.
#[derive(Debug)]
pub struct InfluxDbV2 {
    config: InfluxDbV2Config,
    client: reqwest::Client,
}

/// How deep a batch answered with 413 is split before it is dropped.
const MAX_SPLITS: u32 = 12;

impl InfluxDbV2 {
    /// Checks the settings and builds the HTTP client.
    pub fn new(config: &InfluxDbV2Config) -> Result<Self, OutputError> {
        if config.urls.is_empty() {
            return Err(OutputError::Settings(
                "urls: at least one URL is needed".into(),
            ));
        }
        if config.bucket.is_empty() {
            return Err(OutputError::Settings("bucket: a bucket is needed".into()));
        }
        let agent = if config.user_agent.is_empty() {
            DEFAULT_USER_AGENT
        } else {
            &config.user_agent
        };
        Ok(InfluxDbV2 {
            client: http_client(config.timeout.0, agent, &config.http_headers)?,
            config: config.clone(),
        })
    }

    /// Writes one batch to the first URL that answers.
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        let mut failures = Vec::new();
        for url in self.config.urls.clone() {
            match self.write_split(&url, body, count, 0).await {
                Ok(outcome) => return Ok(outcome),
                Err(e) => failures.push(e),
            }
        }
        Err(OutputError::Retry(failures.join("; ")))
    }

    fn write_split<'a>(
        &'a self,
        url: &'a str,
        body: &'a [u8],
        count: usize,
        depth: u32,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<WriteOutcome, String>> + Send + 'a>,
    > {
        Box::pin(async move {
            let endpoint = format!("{}/api/v2/write", url.trim_end_matches('/'));
            let mut req = self
                .client
                .post(endpoint)
                .query(&[
                    ("org", &self.config.organization),
                    ("bucket", &self.config.bucket),
                ])
                .header("Content-Type", "text/plain; charset=utf-8");
            if !self.config.token.is_empty() {
                req = req.header("Authorization", format!("Token {}", self.config.token));
            }
            req = match self.config.content_encoding.as_str() {
                "gzip" => req.header("Content-Encoding", "gzip").body(gzip(body)),
                _ => req.body(body.to_vec()),
            };
            let resp = req
                .send()
                .await
                .map_err(|e| format!("{url}: {}", super::error_chain(&e)))?;
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(WriteOutcome::Written);
            }
            let text = resp.text().await.unwrap_or_default();
            match status {
                413 if count > 1 && depth < MAX_SPLITS => {
                    let (left, right, left_count) = split_lines(body);
                    let a = self.write_split(url, left, left_count, depth + 1).await?;
                    let b = self
                        .write_split(url, right, count - left_count, depth + 1)
                        .await?;
                    Ok(merge(a, b))
                }
                401 | 403 | 429 | 500..=599 => Err(format!("{url}: {status}: {}", text.trim())),
                _ => Ok(WriteOutcome::Rejected {
                    dropped: count,
                    reason: format!("{status}: {}", text.trim()),
                }),
            }
        })
    }
}

/// Splits a body at the line boundary nearest its middle; returns the halves and the number of
/// lines in the first.
fn split_lines(body: &[u8]) -> (&[u8], &[u8], usize) {
    let total = body.iter().filter(|&&b| b == b'\n').count().max(1);
    let mut seen = 0;
    for (i, b) in body.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == total / 2 {
                return (&body[..=i], &body[i + 1..], seen);
            }
        }
    }
    (body, &[], total)
}

fn merge(a: WriteOutcome, b: WriteOutcome) -> WriteOutcome {
    match (a, b) {
        (WriteOutcome::Written, WriteOutcome::Written) => WriteOutcome::Written,
        (WriteOutcome::Rejected { dropped, reason }, WriteOutcome::Written)
        | (WriteOutcome::Written, WriteOutcome::Rejected { dropped, reason }) => {
            WriteOutcome::Rejected { dropped, reason }
        }
        (
            WriteOutcome::Rejected {
                dropped: d1,
                reason,
            },
            WriteOutcome::Rejected { dropped: d2, .. },
        ) => WriteOutcome::Rejected {
            dropped: d1 + d2,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_a_line_boundary() {
        let body = b"a v=1\nb v=2\nc v=3\nd v=4\n";
        let (l, r, n) = split_lines(body);
        assert_eq!(
            (l, r, n),
            (&b"a v=1\nb v=2\n"[..], &b"c v=3\nd v=4\n"[..], 2)
        );
    }
}
