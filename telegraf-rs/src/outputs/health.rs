//! `outputs.health`: Telegraf's health endpoint. An HTTP server answers `200 OK` while every
//! configured check holds on the last batch written to it, `503` otherwise; container
//! healthchecks and load balancers poll it. With no checks it answers 200 while the agent runs.
//!
//! Checks, as Telegraf: a `compares` check fails when any metric of the batch carrying its field
//! fails one of its bounds (or the field is not numeric); a `contains` check fails when no
//! metric of the batch carries its field.

use super::{OutputError, WriteOutcome};
use crate::options::GoDuration;
use crate::served_http::{authorized, basic_authorization};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Options of `[[outputs.health]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HealthConfig {
    /// `http://[host]:port` to listen on (`http://:8080` = every interface).
    pub service_address: String,
    /// Longest time to read a request.
    pub read_timeout: GoDuration,
    /// Longest time to write an answer.
    pub write_timeout: GoDuration,
    /// Basic-auth user required of callers (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_password: String,
    /// Numeric bounds on a field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compares: Vec<Compare>,
    /// Fields that must be present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<Contains>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            service_address: "http://:8080".into(),
            read_timeout: GoDuration::secs(5),
            write_timeout: GoDuration::secs(5),
            basic_username: String::new(),
            basic_password: String::new(),
            compares: Vec::new(),
            contains: Vec::new(),
        }
    }
}

/// `[[outputs.health.compares]]`: the field must be below/above the given bounds.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Compare {
    /// Field name.
    pub field: String,
    /// Healthy when the value is `<` this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Healthy when `<=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// Healthy when `>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Healthy when `>=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Healthy when `==`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eq: Option<f64>,
    /// Healthy when `!=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne: Option<f64>,
}

impl Compare {
    fn holds(&self, v: f64) -> bool {
        self.lt.is_none_or(|b| v < b)
            && self.lte.is_none_or(|b| v <= b)
            && self.gt.is_none_or(|b| v > b)
            && self.gte.is_none_or(|b| v >= b)
            && self.eq.is_none_or(|b| v == b)
            && self.ne.is_none_or(|b| v != b)
    }
}

/// `[[outputs.health.contains]]`: some metric of each batch must carry the field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Contains {
    /// Field name.
    pub field: String,
}

/// The running output; its server stops when it is dropped.
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    healthy: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Health {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `http://host:port` → `host:port`, an empty host meaning every interface.
fn listen_address(service_address: &str) -> Result<String, OutputError> {
    let rest = service_address.strip_prefix("http://").ok_or_else(|| {
        OutputError::Settings(format!(
            "service_address {service_address:?}: only http:// is implemented by telegraf-rs"
        ))
    })?;
    crate::options::listen_address(rest)
        .map_err(|e| OutputError::Settings(format!("service_address {service_address:?}: {e}")))
}

#[derive(Clone)]
struct ServerState {
    healthy: Arc<AtomicBool>,
    /// The whole `Authorization` header callers must send, when basic auth is set.
    authorization: Option<String>,
}

async fn answer(State(state): State<ServerState>, headers: HeaderMap) -> StatusCode {
    if !authorized(state.authorization.as_deref(), &headers) {
        return StatusCode::UNAUTHORIZED;
    }
    if state.healthy.load(Ordering::Relaxed) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Serves the health answer on `address`.
async fn serve(address: String, state: ServerState, timeout: Duration) {
    let app = axum::Router::new().fallback(get(answer)).with_state(state);
    super::serve_router(address, app, timeout, "outputs.health").await;
}

impl Health {
    /// Starts the server (on the current Tokio runtime); healthy until a batch says otherwise.
    pub fn new(config: &HealthConfig) -> Result<Self, OutputError> {
        let address = listen_address(&config.service_address)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| OutputError::Settings(format!("outputs.health needs a runtime: {e}")))?;
        let healthy = Arc::new(AtomicBool::new(true));
        let authorization = basic_authorization(&config.basic_username, &config.basic_password);
        let timeout = config.read_timeout.0 + config.write_timeout.0;
        let server = runtime.spawn(serve(
            address,
            ServerState {
                healthy: healthy.clone(),
                authorization,
            },
            timeout.max(Duration::from_millis(100)),
        ));
        Ok(Health {
            config: config.clone(),
            healthy,
            server,
        })
    }

    /// Judges the batch (line protocol) against the checks.
    pub fn write(&mut self, body: &[u8]) -> Result<WriteOutcome, OutputError> {
        self.healthy
            .store(batch_is_healthy(&self.config, body), Ordering::Relaxed);
        Ok(WriteOutcome::Written)
    }
}

/// Field `name` of `line`: `None` when absent, `Some(None)` when not a number.
fn field_number(line: &lineproto::Line<'_>, name: &str) -> Option<Option<f64>> {
    let (_, value) = line.fields.iter().find(|(k, _)| k.as_str() == name)?;
    Some(match value {
        lineproto::FieldValue::Float(f) => Some(*f),
        lineproto::FieldValue::Integer(i) => Some(*i as f64),
        lineproto::FieldValue::UInteger(u) => Some(*u as f64),
        lineproto::FieldValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        lineproto::FieldValue::String(_) => None,
    })
}

/// Whether every check holds on the metrics in `body`.
fn batch_is_healthy(config: &HealthConfig, body: &[u8]) -> bool {
    let lines: Vec<lineproto::Line<'_>> = lineproto::parse_lines(body).flatten().collect();
    let compares_hold = config.compares.iter().all(|c| {
        lines.iter().all(|line| match field_number(line, &c.field) {
            None => true,
            Some(Some(v)) => c.holds(v),
            Some(None) => false,
        })
    });
    let contains_hold = config.contains.iter().all(|c| {
        lines
            .iter()
            .any(|line| field_number(line, &c.field).is_some())
    });
    compares_hold && contains_hold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(compares: Vec<Compare>, contains: Vec<&str>) -> HealthConfig {
        HealthConfig {
            compares,
            contains: contains
                .into_iter()
                .map(|f| Contains { field: f.into() })
                .collect(),
            ..HealthConfig::default()
        }
    }

    #[test]
    fn compares_fail_when_any_metric_is_out_of_bounds() {
        let c = config(
            vec![Compare {
                field: "buffer_size".into(),
                lt: Some(5000.0),
                ..Compare::default()
            }],
            vec![],
        );
        assert!(batch_is_healthy(
            &c,
            b"w buffer_size=10i 1\nw buffer_size=4999 2\n"
        ));
        assert!(!batch_is_healthy(
            &c,
            b"w buffer_size=10i 1\nw buffer_size=5000i 2\n"
        ));
        assert!(
            batch_is_healthy(&c, b"cpu usage=99 1\n"),
            "metrics without the field pass"
        );
        assert!(!batch_is_healthy(&c, b"w buffer_size=\"big\" 1\n"));
    }

    #[test]
    fn contains_fails_when_no_metric_carries_the_field() {
        let c = config(vec![], vec!["buffer_size"]);
        assert!(batch_is_healthy(&c, b"a x=1 1\nw buffer_size=1i 2\n"));
        assert!(!batch_is_healthy(&c, b"a x=1 1\n"));
        assert!(batch_is_healthy(&config(vec![], vec![]), b""));
    }

    #[test]
    fn every_bound_is_checked() {
        let c = Compare {
            field: "f".into(),
            gt: Some(1.0),
            lte: Some(3.0),
            ne: Some(2.0),
            ..Compare::default()
        };
        assert!(!c.holds(1.0));
        assert!(!c.holds(2.0));
        assert!(c.holds(3.0));
        assert!(!c.holds(3.5));
    }

    #[test]
    fn service_addresses_are_read_as_telegraf_writes_them() {
        assert_eq!(listen_address("http://:8080").unwrap(), "0.0.0.0:8080");
        assert_eq!(
            listen_address("http://127.0.0.1:9/").unwrap(),
            "127.0.0.1:9"
        );
        assert!(listen_address("https://:8080").is_err());
        assert!(listen_address("http://host").is_err());
    }

    #[tokio::test]
    async fn the_server_answers_200_then_503_after_a_failing_batch() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut health = Health::new(&HealthConfig {
            service_address: format!("http://127.0.0.1:{port}"),
            basic_username: "u".into(),
            basic_password: "p".into(),
            ..config(vec![], vec!["buffer_size"])
        })
        .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let client = reqwest::Client::new();
        let status = || async {
            let r = client.get(&url).basic_auth("u", Some("p")).send().await;
            r.map(|r| r.status().as_u16()).unwrap_or(0)
        };
        let mut first = 0;
        for _ in 0..50 {
            first = status().await;
            if first != 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(first, 200);
        let anonymous = client.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        health.write(b"cpu usage=1 1\n").unwrap();
        assert_eq!(status().await, 503);
        health.write(b"w buffer_size=0i 1\n").unwrap();
        assert_eq!(status().await, 200);
    }
}
