//! `outputs.prometheus_client`: a `/metrics` endpoint for Prometheus to scrape, holding the
//! latest value of every series the agent wrote (`<measurement>_<field>` families, tags as
//! labels) until it is older than `expiration_interval`.

use super::{OutputError, WriteOutcome};
use crate::options::GoDuration;
use crate::serializers::prometheus::{write_families, PrometheusSerializer};
use crate::served_http::{authorized, basic_authorization};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Options of `[[outputs.prometheus_client]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PrometheusClientConfig {
    /// `host:port` (`:9273`).
    pub listen: String,
    /// The endpoint's path.
    pub path: String,
    /// Series not written for this long are dropped from the page (0: never).
    pub expiration_interval: GoDuration,
    /// Only `1` (one family per measurement and field) is implemented.
    pub metric_version: u8,
    /// Write sample timestamps.
    pub export_timestamp: bool,
    /// String fields as labels instead of dropped.
    pub string_as_label: bool,
    /// Basic-auth user required of scrapers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_username: String,
    /// Basic-auth password required of scrapers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_password: String,
}

impl Default for PrometheusClientConfig {
    fn default() -> Self {
        PrometheusClientConfig {
            listen: ":9273".into(),
            path: "/metrics".into(),
            expiration_interval: GoDuration::secs(60),
            metric_version: 1,
            export_timestamp: false,
            string_as_label: false,
            basic_username: String::new(),
            basic_password: String::new(),
        }
    }
}

/// Family → labels → (value, time, when written).
type Written = BTreeMap<String, BTreeMap<BTreeMap<String, String>, (f64, i64, Instant)>>;

#[derive(Clone)]
struct Page {
    families: Arc<Mutex<Written>>,
    expiration: Duration,
    export_timestamp: bool,
    authorization: Option<Arc<str>>,
}

/// The running output: the endpoint's server and the series it shows.
#[derive(Debug)]
pub struct PrometheusClient {
    families: Arc<Mutex<Written>>,
    serializer: PrometheusSerializer,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for PrometheusClient {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn metrics(State(page): State<Page>, headers: HeaderMap) -> axum::response::Response {
    if !authorized(page.authorization.as_deref(), &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"Restricted\"")],
        )
            .into_response();
    }
    let mut body = Vec::new();
    {
        let mut families = page.families.lock().unwrap_or_else(PoisonError::into_inner);
        if !page.expiration.is_zero() {
            for samples in families.values_mut() {
                samples.retain(|_, (_, _, written)| written.elapsed() < page.expiration);
            }
            families.retain(|_, samples| !samples.is_empty());
        }
        let shown: crate::serializers::prometheus::Families = families
            .iter()
            .map(|(name, samples)| {
                let values = samples
                    .iter()
                    .map(|(l, (v, t, _))| (l.clone(), (*v, *t)))
                    .collect();
                (name.clone(), values)
            })
            .collect();
        write_families(&shown, page.export_timestamp, &mut body);
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

impl PrometheusClient {
    /// Starts the endpoint (on the current Tokio runtime).
    pub fn new(config: &PrometheusClientConfig) -> Result<Self, OutputError> {
        if config.metric_version != 1 {
            return Err(OutputError::Settings(format!(
                "metric_version {} is not implemented by telegraf-rs (1 is)",
                config.metric_version
            )));
        }
        let address = crate::options::listen_address(&config.listen)
            .map_err(|e| OutputError::Settings(format!("listen {:?}: {e}", config.listen)))?;
        let families = Arc::new(Mutex::new(Written::new()));
        let authorization =
            basic_authorization(&config.basic_username, &config.basic_password).map(Arc::from);
        let page = Page {
            families: families.clone(),
            expiration: config.expiration_interval.0,
            export_timestamp: config.export_timestamp,
            authorization,
        };
        let path = match config.path.as_str() {
            "" => "/metrics".to_string(),
            p if p.starts_with('/') => p.to_string(),
            p => format!("/{p}"),
        };
        let app = axum::Router::new()
            .route(&path, axum::routing::get(metrics))
            .with_state(page);
        let server = tokio::spawn(super::serve_router(
            address,
            app,
            Duration::from_secs(10),
            "outputs.prometheus_client",
        ));
        let serializer = PrometheusSerializer::client_v1(config.string_as_label);
        Ok(PrometheusClient {
            families,
            serializer,
            server,
        })
    }

    /// Takes in a batch: each series' newest value replaces the one shown.
    pub fn write(&mut self, body: &[u8]) -> Result<WriteOutcome, OutputError> {
        let now = Instant::now();
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        for m in crate::serializers::metrics_of(body) {
            for (name, labels, value, time) in self.serializer.samples(&m) {
                let slot = families
                    .entry(name)
                    .or_default()
                    .entry(labels)
                    .or_insert((value, time, now));
                if time >= slot.1 {
                    *slot = (value, time, now);
                }
            }
        }
        Ok(WriteOutcome::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_the_newest_value_of_each_series() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut out = PrometheusClient::new(&PrometheusClientConfig {
            listen: format!("127.0.0.1:{port}"),
            ..PrometheusClientConfig::default()
        })
        .unwrap();
        out.write(b"cpu,host=a usage_idle=90 1000000000\ncpu,host=a usage_idle=95 2000000000\nmem used=5i 1000000000\n")
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/metrics");
        let mut text = String::new();
        for _ in 0..50 {
            if let Ok(resp) = reqwest::get(&url).await {
                text = resp.text().await.unwrap_or_default();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(text.contains("cpu_usage_idle{host=\"a\"} 95\n"), "{text}");
        assert!(
            text.contains("# TYPE mem_used untyped\nmem_used 5\n"),
            "{text}"
        );
    }
}
