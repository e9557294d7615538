//! `outputs.influxdb_v2`: the InfluxDB 2.x `/api/v2/write` endpoint (also served by InfluxDB
//! 1.8+ and influx-rs), with Telegraf's answer handling: 413 splits the batch in halves.

use super::{store_client, OutputError, WriteOutcome};
use crate::options::GoDuration;
use influx_client::{Auth, Client, WriteV2};
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
    target: WriteV2,
    /// Every URL, the one that answered last tried first.
    client: Client,
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
        let client = store_client(
            &config.urls,
            Auth::token(&config.token),
            config.timeout.0,
            &config.user_agent,
            &config.http_headers,
            config.content_encoding == "gzip",
        )
        .map_err(|e| OutputError::Settings(format!("urls: {e}")))?;
        Ok(InfluxDbV2 {
            client,
            target: WriteV2::new(&config.organization, &config.bucket),
        })
    }

    /// Writes one batch to the first URL that answers.
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        self.write_split(body, count, 0)
            .await
            .map_err(OutputError::Retry)
    }

    fn write_split<'a>(
        &'a self,
        body: &'a [u8],
        count: usize,
        depth: u32,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<WriteOutcome, String>> + Send + 'a>,
    > {
        Box::pin(async move {
            let error = match self.client.write_v2(&self.target, body.to_vec()).await {
                Ok(()) => return Ok(WriteOutcome::Written),
                Err(e) => e,
            };
            match error.status() {
                Some(413) if count > 1 && depth < MAX_SPLITS => {
                    let (left, right, left_count) = split_lines(body);
                    let a = self.write_split(left, left_count, depth + 1).await?;
                    let b = self
                        .write_split(right, count - left_count, depth + 1)
                        .await?;
                    Ok(merge(a, b))
                }
                None | Some(401 | 403 | 429 | 500..=599) => Err(error.to_string()),
                Some(_) => Ok(WriteOutcome::Rejected {
                    dropped: count,
                    reason: error.to_string(),
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
