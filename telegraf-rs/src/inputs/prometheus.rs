//! `inputs.prometheus`: scrapes Prometheus text-format endpoints (such as the `/metrics` of the
//! other tick-rs daemons) with Telegraf's naming: `metric_version = 1` (default) makes one
//! measurement per metric with fields `counter`/`gauge`/`value` (histograms and summaries: one
//! field per bucket or quantile plus `count` and `sum`); `metric_version = 2` puts everything in
//! measurement `prometheus` with one field per metric name.

use super::http_auth::HttpAuth;
use super::prometheus_text::{parse, Family, Kind};
use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use crate::options::GoDuration;
use influx_client::error_chain;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

fn time_of(ms: Option<i64>, now: i64) -> i64 {
    ms.and_then(|m| m.checked_mul(1_000_000)).unwrap_or(now)
}

/// Telegraf's `metric_version = 1` metrics of one family.
fn version1(family: &Family, now: i64, out: &mut Vec<Metric>) {
    match family.kind {
        Kind::Histogram | Kind::Summary => {
            let mut groups: BTreeMap<BTreeMap<String, String>, Metric> = BTreeMap::new();
            for s in &family.samples {
                let mut labels = s.labels.clone();
                let bucket = labels.remove(if family.kind == Kind::Histogram {
                    "le"
                } else {
                    "quantile"
                });
                let m = groups.entry(labels.clone()).or_insert_with(|| {
                    let mut m = Metric::new(family.name.clone(), time_of(s.timestamp_ms, now));
                    m.tags = labels;
                    m
                });
                let field = if s.name.ends_with("_sum") && bucket.is_none() {
                    "sum".to_string()
                } else if s.name.ends_with("_count") && bucket.is_none() {
                    "count".to_string()
                } else {
                    match bucket {
                        Some(b) => b,
                        None => continue,
                    }
                };
                m.add_field(field, s.value);
            }
            out.extend(groups.into_values());
        }
        kind => {
            let field = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                _ => "value",
            };
            for s in &family.samples {
                let mut m = Metric::new(s.name.clone(), time_of(s.timestamp_ms, now))
                    .with_field(field, s.value);
                m.tags = s.labels.clone();
                out.push(m);
            }
        }
    }
}

/// Telegraf's `metric_version = 2` metrics of one family.
fn version2(family: &Family, now: i64, out: &mut Vec<Metric>) {
    for s in &family.samples {
        let mut m = Metric::new("prometheus", time_of(s.timestamp_ms, now))
            .with_field(s.name.clone(), s.value);
        m.tags = s.labels.clone();
        out.push(m);
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
    use crate::metric::FieldValue;

    const TEXT: &str = "# TYPE reqs counter\nreqs{code=\"200\"} 5\n# TYPE temp gauge\ntemp 21.5 1000\nup 1\n# TYPE lat histogram\nlat_bucket{le=\"0.1\",op=\"r\"} 2\nlat_bucket{le=\"+Inf\",op=\"r\"} 3\nlat_sum{op=\"r\"} 0.7\nlat_count{op=\"r\"} 3\n# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_sum 4\nq_count 2\n";

    fn metrics(version: u8) -> Vec<Metric> {
        let mut out = Vec::new();
        for f in parse(TEXT).unwrap() {
            match version {
                2 => version2(&f, 7, &mut out),
                _ => version1(&f, 7, &mut out),
            }
        }
        out
    }

    #[test]
    fn version1_names() {
        let ms = metrics(1);
        assert_eq!(ms[0].name, "reqs");
        assert_eq!(ms[0].field("counter"), Some(&FieldValue::Float(5.0)));
        assert_eq!(ms[0].tags["code"], "200");
        assert_eq!(ms[1].field("gauge"), Some(&FieldValue::Float(21.5)));
        assert_eq!(ms[1].time, 1_000_000_000);
        assert_eq!(ms[2].field("value"), Some(&FieldValue::Float(1.0)));
        assert_eq!(ms[2].time, 7);
        let lat = &ms[3];
        assert_eq!(lat.name, "lat");
        assert_eq!(lat.tags["op"], "r");
        assert_eq!(lat.field("0.1"), Some(&FieldValue::Float(2.0)));
        assert_eq!(lat.field("+Inf"), Some(&FieldValue::Float(3.0)));
        assert_eq!(lat.field("sum"), Some(&FieldValue::Float(0.7)));
        assert_eq!(lat.field("count"), Some(&FieldValue::Float(3.0)));
        let q = &ms[4];
        assert_eq!(q.field("0.5"), Some(&FieldValue::Float(1.0)));
        assert_eq!(q.field("count"), Some(&FieldValue::Float(2.0)));
    }

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

    #[test]
    fn version2_names() {
        let ms = metrics(2);
        assert!(ms.iter().all(|m| m.name == "prometheus"));
        assert_eq!(ms[0].field("reqs"), Some(&FieldValue::Float(5.0)));
        let bucket = ms
            .iter()
            .find(|m| m.tags.get("le").is_some_and(|l| l == "0.1"))
            .unwrap();
        assert_eq!(bucket.field("lat_bucket"), Some(&FieldValue::Float(2.0)));
    }
}
