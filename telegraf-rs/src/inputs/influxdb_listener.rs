//! `inputs.influxdb_listener`: the InfluxDB 1.x write API (`POST /write`, `/ping`, `/query`),
//! so existing InfluxDB clients and agents can write through telegraf-rs. Line protocol with
//! the request's `precision`, gzip bodies, `db`/`rp` as tags when asked; a bad line is
//! answered `400` naming it while the good lines of the body go on; bodies past
//! `max_body_size` are refused `413`.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::{from_line, now_nanos, Metric};
use crate::options::{GoDuration, Size};
use crate::served_http::{authorized, basic_authorization, decoded_body};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Options of `[[inputs.influxdb_listener]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InfluxDbListenerConfig {
    /// `host:port` to listen on (`:8186`).
    pub service_address: String,
    /// Time allowed for a request's header.
    pub read_timeout: GoDuration,
    /// Largest body accepted (after decompression), in bytes or with a unit (`32MiB`).
    pub max_body_size: Size,
    /// Tag holding the request's `db`, when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub database_tag: String,
    /// Tag holding the request's `rp`, when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub retention_policy_tag: String,
    /// Basic-auth user required of clients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_username: String,
    /// Basic-auth password required of clients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_password: String,
}

impl Default for InfluxDbListenerConfig {
    fn default() -> Self {
        InfluxDbListenerConfig {
            service_address: ":8186".into(),
            read_timeout: GoDuration::secs(10),
            max_body_size: Size(32 << 20),
            database_tag: String::new(),
            retention_policy_tag: String::new(),
            basic_username: String::new(),
            basic_password: String::new(),
        }
    }
}

/// Builds the input and binds its port now, so a busy port fails the start.
pub fn build(c: &InfluxDbListenerConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings =
        |m: String| InputError::Settings(format!("service_address {:?}: {m}", c.service_address));
    let address = crate::options::listen_address(&c.service_address).map_err(settings)?;
    let listener = std::net::TcpListener::bind(&address).map_err(|e| settings(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| settings(e.to_string()))?;
    let authorization = basic_authorization(&c.basic_username, &c.basic_password);
    Ok(Box::new(InfluxDbListener {
        config: c.clone(),
        listener: Some(listener),
        authorization,
    }))
}

struct InfluxDbListener {
    config: InfluxDbListenerConfig,
    listener: Option<std::net::TcpListener>,
    authorization: Option<String>,
}

/// What the handlers share.
#[derive(Clone)]
struct Shared {
    config: Arc<InfluxDbListenerConfig>,
    authorization: Option<Arc<str>>,
    sink: mpsc::Sender<Vec<Metric>>,
    bad_lines: Arc<AtomicU64>,
}

/// An InfluxDB-style error answer: `{"error": …}` and the `X-Influxdb-Error` header.
fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::HeaderName::from_static("x-influxdb-error"),
                message.replace(['\r', '\n'], " "),
            ),
            (
                header::HeaderName::from_static("x-influxdb-version"),
                "1.0".to_string(),
            ),
        ],
        body,
    )
        .into_response()
}

async fn write(
    State(shared): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorized(shared.authorization.as_deref(), &headers) {
        return error(StatusCode::UNAUTHORIZED, "authorization failed");
    }
    let body = match decoded_body(&headers, &body, shared.config.max_body_size.0) {
        Ok(b) => b,
        Err((status, message)) => return error(status, &message),
    };
    let precision = params.get("precision").map(String::as_str).unwrap_or("");
    let Ok(precision) = precision.parse::<lineproto::Precision>() else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("invalid precision {precision:?}"),
        );
    };
    let now = now_nanos();
    let mut metrics = Vec::new();
    let mut problems = Vec::new();
    for line in lineproto::parse_lines(&body) {
        match line {
            Ok(l) => {
                let mut m = from_line(&l, precision, now);
                for (option, param) in [
                    (&shared.config.database_tag, "db"),
                    (&shared.config.retention_policy_tag, "rp"),
                ] {
                    if let (false, Some(value)) = (option.is_empty(), params.get(param)) {
                        m.tags.insert(option.clone(), value.clone());
                    }
                }
                metrics.push(m);
            }
            Err(e) => problems.push(format!("line {}: {e}", e.line_number)),
        }
    }
    if !metrics.is_empty() && shared.sink.send(metrics).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the agent is stopping");
    }
    if problems.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    shared
        .bad_lines
        .fetch_add(problems.len() as u64, Ordering::Relaxed);
    let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
    let message = format!(
        "partial write: {} bad line(s), the others were accepted: {}",
        problems.len(),
        shown.join("; ")
    );
    tracing::warn!("[inputs.influxdb_listener] {message}");
    error(StatusCode::BAD_REQUEST, &message)
}

async fn ping(Query(params): Query<HashMap<String, String>>) -> Response {
    let version = (header::HeaderName::from_static("x-influxdb-version"), "1.0");
    match params.get("verbose").map(String::as_str) {
        Some("true" | "1") => (
            StatusCode::OK,
            [version],
            axum::Json(serde_json::json!({"version": "1.0"})),
        )
            .into_response(),
        _ => (StatusCode::NO_CONTENT, [version]).into_response(),
    }
}

/// Clients send `CREATE DATABASE` first: every query is answered with no results, as
/// Telegraf does.
async fn query() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-influxdb-version"), "1.0"),
        ],
        r#"{"results":[]}"#,
    )
        .into_response()
}

impl Input for InfluxDbListener {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let listener = self.listener.take()?;
        let shared = Shared {
            config: Arc::new(self.config.clone()),
            authorization: self.authorization.as_deref().map(Arc::from),
            sink,
            bad_lines: Arc::new(AtomicU64::new(0)),
        };
        let address = self.config.service_address.clone();
        let limits = http_serve::Limits {
            header_read_timeout: self
                .config
                .read_timeout
                .0
                .max(std::time::Duration::from_secs(1)),
            ..http_serve::Limits::default()
        };
        // The body limit is checked after decompression too; the transport's own limit
        // leaves room for the header of a body exactly at the limit.
        let transport_limit = usize::try_from(self.config.max_body_size.0)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        Some(Box::pin(async move {
            let router = axum::Router::new()
                .route("/write", axum::routing::post(write))
                .route("/api/v2/write", axum::routing::post(write))
                .route("/ping", axum::routing::get(ping).head(ping))
                .route("/query", axum::routing::get(query).post(query))
                .layer(axum::extract::DefaultBodyLimit::max(transport_limit))
                .with_state(shared);
            let served = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => http_serve::serve(l, router, limits, std::future::pending()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = served {
                tracing::error!(address = %address, "inputs.influxdb_listener: {e}");
            }
        }))
    }
}
