//! `inputs.prometheus`: scrapes Prometheus text-format endpoints (such as the `/metrics` of the
//! other tick-rs daemons) with Telegraf's naming: `metric_version = 1` (default) makes one
//! measurement per metric with fields `counter`/`gauge`/`value` (histograms and summaries: one
//! field per bucket or quantile plus `count` and `sum`); `metric_version = 2` puts everything in
//! measurement `prometheus` with one field per metric name.

use super::http_auth::HttpAuth;
use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::options::GoDuration;
use crate::parsers::prometheus::{version1, version2};
use crate::parsers::prometheus_text::parse;
use influx_client::error_chain;
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.prometheus]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PrometheusConfig {
    /// Endpoints to scrape.
    pub urls: Vec<String>,
    /// 1 or 2 (0 means 1).
    pub metric_version: u8,
    /// Timeout of each scrape.
    pub response_timeout: GoDuration,
    /// Name of the tag carrying the scraped URL.
    pub url_tag: String,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Bearer token given inline.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token_string: String,
    /// File holding a bearer token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token: String,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        PrometheusConfig {
            urls: Vec::new(),
            metric_version: 1,
            response_timeout: GoDuration::secs(3),
            url_tag: "url".into(),
            username: String::new(),
            password: String::new(),
            bearer_token_string: String::new(),
            bearer_token: String::new(),
        }
    }
}

/// Builds the input.
pub fn build(config: &PrometheusConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    if config.metric_version > 2 {
        return Err(InputError::Settings(format!(
            "metric_version {} is not implemented",
            config.metric_version
        )));
    }
    let client = reqwest::Client::builder()
        .timeout(config.response_timeout.0)
        .build()
        .map_err(|e| InputError::Settings(e.to_string()))?;
    Ok(Box::new(Prometheus {
        config: config.clone(),
        client,
    }))
}

struct Prometheus {
    config: PrometheusConfig,
    client: reqwest::Client,
}

impl Prometheus {
    async fn scrape(&self, url: &str) -> Result<String, InputError> {
        let fail = |message: String| InputError::Command {
            command: format!("GET {url}"),
            message,
        };
        let req = self
            .client
            .get(url)
            .header("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1");
        let auth = HttpAuth {
            username: &self.config.username,
            password: &self.config.password,
            token: &self.config.bearer_token_string,
            token_file: &self.config.bearer_token,
        };
        let resp = auth
            .apply(req)?
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("answered {status}")));
        }
        resp.text().await.map_err(|e| fail(e.to_string()))
    }
}

impl Input for Prometheus {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for url in self.config.urls.clone() {
                let text = match self.scrape(&url).await {
                    Ok(t) => t,
                    Err(e) => {
                        errors.push(e.to_string());
                        continue;
                    }
                };
                let families = match parse(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        errors.push(format!("{url}: {e}"));
                        continue;
                    }
                };
                let mut metrics = Vec::new();
                for family in &families {
                    match self.config.metric_version {
                        2 => version2(family, acc.time, &mut metrics),
                        _ => version1(family, acc.time, &mut metrics),
                    }
                }
                for mut m in metrics {
                    if !self.config.url_tag.is_empty() {
                        m.tags
                            .entry(self.config.url_tag.clone())
                            .or_insert_with(|| url.clone());
                    }
                    acc.push(m);
                }
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(InputError::Parse {
                    what: "prometheus".into(),
                    message: errors.join("; "),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrapes_an_endpoint_and_tags_the_url() {
        let url = crate::inputs::testing::serve_http(200, "# TYPE up gauge\nup{job=\"x\"} 1\n", 1);
        let fx = crate::inputs::testing::fixture(&[]);
        let config = PrometheusConfig {
            urls: vec![format!("{url}/metrics")],
            ..PrometheusConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let ms = crate::inputs::testing::gather_with(&mut input);
        assert_eq!(ms[0].name, "up");
        assert_eq!(ms[0].tags["url"], format!("{url}/metrics"));
        assert_eq!(ms[0].tags["job"], "x");
    }
}
