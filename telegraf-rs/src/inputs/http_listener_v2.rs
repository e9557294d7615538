//! `inputs.http_listener_v2`: an HTTP endpoint receiving metrics in any data format (the
//! body, or with `data_source = "query"` the query string), on configured paths and methods,
//! with request headers as tags; a body that does not parse is answered `400` naming why.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::{now_nanos, Metric};
use crate::options::{GoDuration, Size};
use crate::parsers::{Parser, ParserConfig};
use crate::served_http::{authorized, basic_authorization, decoded_body};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Options of `[[inputs.http_listener_v2]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpListenerV2Config {
    /// `host:port` (`:8080`).
    pub service_address: String,
    /// Paths accepted (`/telegraf`).
    pub paths: Vec<String>,
    /// The older single path; added to `paths`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Methods accepted (`POST`, `PUT`).
    pub methods: Vec<String>,
    /// The status of a successful request (204).
    pub http_success_code: u16,
    /// Time allowed for a request's header.
    pub read_timeout: GoDuration,
    /// Largest body accepted (after decompression).
    pub max_body_size: Size,
    /// `body` (default) or `query`.
    pub data_source: String,
    /// Request header → tag.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_header_tags: BTreeMap<String, String>,
    /// Basic-auth user required of clients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_username: String,
    /// Basic-auth password required of clients.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub basic_password: String,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

impl Default for HttpListenerV2Config {
    fn default() -> Self {
        HttpListenerV2Config {
            service_address: ":8080".into(),
            paths: vec!["/telegraf".into()],
            path: String::new(),
            methods: vec!["POST".into(), "PUT".into()],
            http_success_code: 204,
            read_timeout: GoDuration::secs(10),
            max_body_size: Size(500 << 20),
            data_source: "body".into(),
            http_header_tags: BTreeMap::new(),
            basic_username: String::new(),
            basic_password: String::new(),
            parser: ParserConfig::default(),
        }
    }
}

/// Builds the input and binds its port now, so a busy port fails the start.
pub fn build(c: &HttpListenerV2Config, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: String| InputError::Settings(m);
    let parser = Parser::new(&c.parser, "influx").map_err(settings)?;
    if !matches!(c.data_source.as_str(), "body" | "query") {
        return Err(settings(format!(
            "data_source {:?}: body or query",
            c.data_source
        )));
    }
    let success = StatusCode::from_u16(c.http_success_code)
        .ok()
        .filter(StatusCode::is_success)
        .ok_or_else(|| {
            settings(format!(
                "http_success_code {}: a 2xx status",
                c.http_success_code
            ))
        })?;
    let address = crate::options::listen_address(&c.service_address)
        .map_err(|e| settings(format!("service_address {:?}: {e}", c.service_address)))?;
    let bind_fail =
        |e: std::io::Error| settings(format!("service_address {:?}: {e}", c.service_address));
    let listener = std::net::TcpListener::bind(&address).map_err(bind_fail)?;
    listener.set_nonblocking(true).map_err(bind_fail)?;
    let mut paths = c.paths.clone();
    if !c.path.is_empty() {
        paths.push(c.path.clone());
    }
    Ok(Box::new(HttpListenerV2 {
        shared: Arc::new(Shared {
            config: c.clone(),
            parser,
            paths,
            methods: c.methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            success,
            authorization: basic_authorization(&c.basic_username, &c.basic_password),
        }),
        listener: Some(listener),
    }))
}

struct Shared {
    config: HttpListenerV2Config,
    parser: Parser,
    paths: Vec<String>,
    methods: Vec<String>,
    success: StatusCode,
    authorization: Option<String>,
}

struct HttpListenerV2 {
    shared: Arc<Shared>,
    listener: Option<std::net::TcpListener>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

async fn receive(
    shared: Arc<Shared>,
    sink: mpsc::Sender<Vec<Metric>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !shared.paths.iter().any(|p| p == uri.path()) {
        return refuse(StatusCode::NOT_FOUND, "not found");
    }
    if !shared.methods.iter().any(|m| m == method.as_str()) {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    if !authorized(shared.authorization.as_deref(), &headers) {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let data = match shared.config.data_source.as_str() {
        "query" => uri.query().unwrap_or_default().as_bytes().to_vec(),
        _ => match decoded_body(&headers, &body, shared.config.max_body_size.0) {
            Ok(b) => b,
            Err((status, message)) => return refuse(status, &message),
        },
    };
    let mut metrics = match shared.parser.parse(&data, "http_listener_v2", now_nanos()) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("[inputs.http_listener_v2] body refused: {e}");
            return refuse(StatusCode::BAD_REQUEST, &e);
        }
    };
    for (header, tag) in &shared.config.http_header_tags {
        if let Some(v) = headers.get(header).and_then(|v| v.to_str().ok()) {
            for m in &mut metrics {
                m.tags.insert(tag.clone(), v.to_string());
            }
        }
    }
    if !metrics.is_empty() && sink.send(metrics).await.is_err() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the agent is stopping");
    }
    shared.success.into_response()
}

impl Input for HttpListenerV2 {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let listener = self.listener.take()?;
        let shared = self.shared.clone();
        let limits = http_serve::Limits {
            header_read_timeout: shared
                .config
                .read_timeout
                .0
                .max(std::time::Duration::from_secs(1)),
            ..http_serve::Limits::default()
        };
        let transport_limit = usize::try_from(shared.config.max_body_size.0)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        Some(Box::pin(async move {
            let address = shared.config.service_address.clone();
            let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                receive(shared.clone(), sink.clone(), method, uri, headers, body)
            };
            let router = axum::Router::new()
                .fallback(handler)
                .layer(axum::extract::DefaultBodyLimit::max(transport_limit));
            let served = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => http_serve::serve(l, router, limits, std::future::pending()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = served {
                tracing::error!(address = %address, "inputs.http_listener_v2: {e}");
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::fixture;

    #[tokio::test]
    async fn bodies_queries_methods_paths_and_header_tags() {
        let fx = fixture(&[]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = HttpListenerV2Config {
            service_address: format!("127.0.0.1:{port}"),
            http_header_tags: BTreeMap::from([("X-Site".to_string(), "site".to_string())]),
            ..HttpListenerV2Config::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let server = tokio::spawn(input.serve(tx).unwrap());
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/telegraf");
        let ok = client
            .post(&url)
            .header("X-Site", "lab")
            .body("m v=1 5\n")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 204);
        let ms = rx.recv().await.unwrap();
        assert_eq!(ms[0].tags["site"], "lab");
        assert_eq!(ms[0].time, 5);
        let bad = client.post(&url).body("m v=\n").send().await.unwrap();
        assert_eq!(bad.status(), 400);
        assert!(bad.text().await.unwrap().contains("line 1"));
        assert_eq!(client.get(&url).send().await.unwrap().status(), 405);
        let other = format!("http://127.0.0.1:{port}/other");
        assert_eq!(
            client
                .post(&other)
                .body("m v=1\n")
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        server.abort();
    }
}
