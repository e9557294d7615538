//! The HTTP API on port 8086, in InfluxDB 1.x's shapes: `/ping`, `/health`, `/write`,
//! `/api/v2/write`, `/query`, `/metrics`.

use crate::cluster::{self, ClusterNode};
use crate::query::running::RunningQueries;
use crate::query::sink::ResultSink;
use crate::query::{self, Epoch, QueryContext, QueryResponse, StatementResult};
use crate::storage::{Engine, EngineError};
use crate::subscriber::Subscriber;
use crate::users::{self, AuthCache, AuthError, Credentials, Principal};
use crate::write::{self, WriteResponse};
use crate::COMPAT_VERSION;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use lineproto::Precision;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Request counters exposed on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    write_requests: AtomicU64,
    query_requests: AtomicU64,
    points_written: AtomicU64,
    points_dropped: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

impl query::diagnostics::StatsSource for Metrics {
    fn stats(&self) -> Vec<query::diagnostics::ModuleStats> {
        let n = |c: &AtomicU64| serde_json::Value::from(c.load(Ordering::Relaxed));
        vec![query::diagnostics::ModuleStats::new(
            "httpd",
            &[],
            [
                ("clientError", n(&self.client_errors)),
                ("pointsWrittenDropped", n(&self.points_dropped)),
                ("pointsWrittenOK", n(&self.points_written)),
                ("queryReq", n(&self.query_requests)),
                ("serverError", n(&self.server_errors)),
                ("writeReq", n(&self.write_requests)),
            ],
        )]
    }
}

/// Shared state of the handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The storage engine.
    pub engine: Arc<Engine>,
    /// Largest body accepted (after gunzip); 0 = unlimited.
    pub max_body_size: usize,
    /// `[http] auth-enabled`.
    pub auth_enabled: bool,
    /// Passwords already checked.
    pub auth_cache: Arc<AuthCache>,
    /// `[http] shared-secret`: the key of bearer tokens; empty refuses them.
    pub shared_secret: Arc<str>,
    /// Queries in flight (`SHOW QUERIES`, `KILL QUERY`, `max-concurrent-queries`).
    pub running: Arc<RunningQueries>,
    /// `[coordinator] query-timeout`; zero = none.
    pub query_timeout: std::time::Duration,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Forwards accepted writes to subscriptions.
    pub subscriber: Arc<Subscriber>,
    /// This node of a cluster (`[cluster]`); `None` on a single node.
    pub cluster: Option<Arc<ClusterNode>>,
}

mod backup;

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ping", get(ping).head(ping))
        .route("/health", get(health))
        .route("/cluster", get(cluster_status))
        .route("/write", any(write_v1))
        .route("/api/v2/write", any(write_v2))
        .route("/query", any(query))
        .route("/metrics", get(metrics))
        .route("/backup", get(backup::backup))
        .layer(axum::middleware::from_fn(common_headers))
        .with_state(state)
}

/// Headers InfluxDB puts on every response: version, build, and the request id (the client's
/// `X-Request-Id`/`Request-Id`, else a new time-based UUID).
async fn common_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let request_id = ["X-Request-Id", "Request-Id"]
        .iter()
        .find_map(|h| req.headers().get(*h).cloned())
        .unwrap_or_else(|| {
            let id = uuid::Uuid::now_v1(node_id()).to_string();
            HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static(""))
        });
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "X-Influxdb-Version",
        HeaderValue::from_static(COMPAT_VERSION),
    );
    h.insert("X-Influxdb-Build", HeaderValue::from_static("OSS"));
    h.insert(
        "X-Influx-Rs-Version",
        HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    h.insert("Request-Id", request_id.clone());
    h.insert("X-Request-Id", request_id);
    res
}

/// A random node id for this process's v1 UUIDs.
fn node_id() -> &'static [u8; 6] {
    static NODE: std::sync::OnceLock<[u8; 6]> = std::sync::OnceLock::new();
    NODE.get_or_init(|| {
        let b = uuid::Uuid::new_v4().into_bytes();
        [b[0] | 1, b[1], b[2], b[3], b[4], b[5]]
    })
}

/// `{"error":"…"}` with the status, as InfluxDB answers failures.
fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "{}\n",
        crate::query::json::to_string(&serde_json::json!({ "error": message }), false)
            .unwrap_or_default()
    );
    let mut res = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    let short: String = message.chars().take(1024).collect();
    if let Ok(v) = HeaderValue::from_str(&short.replace(['\n', '\r'], " ")) {
        res.headers_mut().insert("X-Influxdb-Error", v);
    }
    res
}

/// An authentication or authorization failure as InfluxDB answers it (401s ask for Basic auth).
fn auth_error(e: &AuthError) -> Response {
    match e {
        AuthError::Bearer(why) => tracing::info!(reason = %why, "bearer token refused"),
        AuthError::UserNotFound => tracing::info!("bearer token names an unknown user"),
        _ => {}
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
    let mut res = error(status, &e.to_string());
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().remove("X-Influxdb-Error");
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"InfluxDB\""),
        );
    }
    res
}

/// Authenticates the request when auth is enabled: `Ok(None)` when it is off or no admin
/// exists yet (see [`crate::users`]).
fn authenticate(
    state: &AppState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<Principal>, AuthError> {
    if !state.auth_enabled {
        return Ok(None);
    }
    let credentials = Credentials::from_request(
        params.get("u").map(String::as_str),
        params.get("p").map(String::as_str),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    users::authenticate(
        &state.engine.catalog(),
        credentials.as_ref(),
        &state.auth_cache,
        &state.shared_secret,
    )
}

async fn ping(Query(params): Query<HashMap<String, String>>) -> Response {
    match params.get("verbose").map(String::as_str) {
        Some(v) if !v.is_empty() && v != "0" && v != "false" => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{}\n", serde_json::json!({ "version": COMPAT_VERSION })),
        )
            .into_response(),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

/// `/health` in InfluxDB's shape; on a node of a cluster, with the cluster's colour and this
/// node's place in it: 503 and `fail` when the log has no quorum (red).
async fn health(State(state): State<AppState>) -> Response {
    let mut body = serde_json::json!({
        "name": "influxdb",
        "message": "ready for queries and writes",
        "status": "pass",
        "checks": [],
        "version": COMPAT_VERSION,
    });
    let mut status = StatusCode::OK;
    if let Some(node) = &state.cluster {
        let health = node.health().await;
        let this = health.nodes.iter().find(|n| n.node == health.node);
        body["message"] = match (health.status, this) {
            (cluster::health::Status::Red, _) => {
                status = StatusCode::SERVICE_UNAVAILABLE;
                body["status"] = "fail".into();
                "the cluster's log has no quorum: writes are refused".into()
            }
            (_, Some(n)) if !n.in_step => {
                "this node is behind the cluster's log: its reads may be stale".into()
            }
            _ => "ready for queries and writes".into(),
        };
        body["cluster"] = serde_json::to_value(&health).unwrap_or_default();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// `/cluster`: the cluster's colour, the log's bounds and every node's applied sequence, lag
/// and last contact; 404 on a single node.
async fn cluster_status(State(state): State<AppState>) -> Response {
    let Some(node) = &state.cluster else {
        return error(StatusCode::NOT_FOUND, "this influx-rs is not in a cluster");
    };
    let health = node.health().await;
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{}\n", serde_json::to_string(&health).unwrap_or_default()),
    )
        .into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let e = &state.engine;
    let sub = &state.subscriber.stats;
    let body = format!(
        "# HELP influxrs_write_requests_total Write requests received.\n\
         # TYPE influxrs_write_requests_total counter\n\
         influxrs_write_requests_total {}\n\
         # HELP influxrs_query_requests_total Query requests received.\n\
         # TYPE influxrs_query_requests_total counter\n\
         influxrs_query_requests_total {}\n\
         # HELP influxrs_points_written_total Points stored.\n\
         # TYPE influxrs_points_written_total counter\n\
         influxrs_points_written_total {}\n\
         # HELP influxrs_points_dropped_total Points rejected.\n\
         # TYPE influxrs_points_dropped_total counter\n\
         influxrs_points_dropped_total {}\n\
         # HELP influxrs_http_client_errors_total Requests answered 4xx.\n\
         # TYPE influxrs_http_client_errors_total counter\n\
         influxrs_http_client_errors_total {}\n\
         # HELP influxrs_http_server_errors_total Requests answered 5xx.\n\
         # TYPE influxrs_http_server_errors_total counter\n\
         influxrs_http_server_errors_total {}\n\
         # HELP influxrs_cache_bytes Bytes held in shard caches.\n\
         # TYPE influxrs_cache_bytes gauge\n\
         influxrs_cache_bytes {}\n\
         # HELP influxrs_disk_bytes Bytes of shard files on disk.\n\
         # TYPE influxrs_disk_bytes gauge\n\
         influxrs_disk_bytes {}\n\
         # HELP influxrs_shards Open shards.\n\
         # TYPE influxrs_shards gauge\n\
         influxrs_shards {}\n\
         # HELP influxrs_subscriber_writes_ok_total Writes delivered to subscription destinations.\n\
         # TYPE influxrs_subscriber_writes_ok_total counter\n\
         influxrs_subscriber_writes_ok_total {}\n\
         # HELP influxrs_subscriber_writes_failed_total Subscription deliveries that failed.\n\
         # TYPE influxrs_subscriber_writes_failed_total counter\n\
         influxrs_subscriber_writes_failed_total {}\n\
         # HELP influxrs_subscriber_writes_dropped_total Writes dropped on a full subscription queue.\n\
         # TYPE influxrs_subscriber_writes_dropped_total counter\n\
         influxrs_subscriber_writes_dropped_total {}\n",
        m.write_requests.load(Ordering::Relaxed),
        m.query_requests.load(Ordering::Relaxed),
        m.points_written.load(Ordering::Relaxed),
        m.points_dropped.load(Ordering::Relaxed),
        m.client_errors.load(Ordering::Relaxed),
        m.server_errors.load(Ordering::Relaxed),
        e.cache_bytes(),
        e.disk_bytes(),
        e.shard_count(),
        sub.writes_ok.load(Ordering::Relaxed),
        sub.writes_failed.load(Ordering::Relaxed),
        sub.writes_dropped.load(Ordering::Relaxed),
    );
    let body = match &state.cluster {
        Some(node) => body + &cluster_metrics(node),
        None => body,
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

/// This node's place in its cluster, in Prometheus text.
fn cluster_metrics(node: &ClusterNode) -> String {
    format!(
        "# HELP influxrs_cluster_applied_sequence The last log sequence this node applied.\n\
         # TYPE influxrs_cluster_applied_sequence gauge\n\
         influxrs_cluster_applied_sequence {}\n\
         # HELP influxrs_cluster_apply_stopped 1 when this node's apply loop stopped at an entry it cannot apply.\n\
         # TYPE influxrs_cluster_apply_stopped gauge\n\
         influxrs_cluster_apply_stopped {}\n\
         # HELP influxrs_cluster_lease 1 when this node runs the continuous queries and retention.\n\
         # TYPE influxrs_cluster_lease gauge\n\
         influxrs_cluster_lease {}\n",
        node.applied(),
        u8::from(node.is_stopped()),
        u8::from(node.holds_lease()),
    )
}

/// Reads the body, gunzipping it when asked, within `limit` bytes (0 = unlimited).
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, Response> {
    let too_large = || error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    let cap = if limit == 0 { usize::MAX } else { limit };
    let raw: Bytes = axum::body::to_bytes(body, cap)
        .await
        .map_err(|_| too_large())?;
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    let read = flate2::read::GzDecoder::new(&raw[..])
        .take(cap as u64 + 1)
        .read_to_end(&mut out);
    match read {
        Err(e) => Err(error(StatusCode::BAD_REQUEST, &e.to_string())),
        Ok(_) if limit > 0 && out.len() > limit => Err(too_large()),
        Ok(_) => Ok(Bytes::from(out)),
    }
}

fn engine_error(e: &EngineError) -> Response {
    use crate::meta::MetaError;
    match e {
        EngineError::Meta(MetaError::DatabaseNotFound(db)) => error(
            StatusCode::NOT_FOUND,
            &format!("database not found: \"{db}\""),
        ),
        other => error(StatusCode::INTERNAL_SERVER_ERROR, &other.to_string()),
    }
}

async fn do_write(state: AppState, target: WriteTarget, body: Bytes) -> Response {
    if let Some(node) = state.cluster.clone() {
        return cluster_write(state, node, target, body).await;
    }
    let WriteTarget { db, rp, precision } = target;
    let engine = Arc::clone(&state.engine);
    let subscriber = Arc::clone(&state.subscriber);
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let result = tokio::task::spawn_blocking(move || {
        let parsed = write::parse_body(&body, precision, now);
        let points = parsed.points.len();
        let (response, policy) = write::store(&engine, &db, &rp, &parsed)?;
        if !policy.is_empty() {
            subscriber.sync(engine.catalog_version(), || engine.catalog());
            subscriber.forward(&db, &policy, &parsed.points);
        }
        Ok::<_, EngineError>((response, points))
    })
    .await;
    let res = match result {
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Ok(result) => write_answer(&state.metrics, result),
    };
    count_status(&state.metrics, res.status());
    res
}

/// A write's answer from what storing it did, counted.
fn write_answer(m: &Metrics, result: Result<(WriteResponse, usize), EngineError>) -> Response {
    match result {
        Err(e) => engine_error(&e),
        Ok((WriteResponse::NoContent, points)) => {
            m.points_written.fetch_add(points as u64, Ordering::Relaxed);
            StatusCode::NO_CONTENT.into_response()
        }
        Ok((WriteResponse::BadRequest(msg), _)) => {
            m.points_dropped.fetch_add(1, Ordering::Relaxed);
            error(StatusCode::BAD_REQUEST, &msg)
        }
    }
}

/// A write on a node of a cluster: parsed and checked here as on a single node, published to
/// the log, answered once this node has applied it (with the sequence in
/// [`cluster::SEQUENCE_HEADER`]); 503 when the log cannot take it.
async fn cluster_write(
    state: AppState,
    node: Arc<ClusterNode>,
    target: WriteTarget,
    body: Bytes,
) -> Response {
    let WriteTarget { db, rp, precision } = target;
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let parsed =
        match tokio::task::spawn_blocking(move || write::parse_body(&body, precision, now)).await {
            Ok(p) => p,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        };
    let m = &state.metrics;
    // Nothing to store, or nowhere to store it: answered here, as a single node answers.
    let unknown = state.engine.resolve_policy(&db, &rp).err();
    if parsed.points.is_empty() || unknown.is_some() {
        let result = match unknown {
            Some(e) => Err(EngineError::Meta(e)),
            None => write::store(&state.engine, &db, &rp, &parsed).map(|(r, _)| (r, 0)),
        };
        let res = write_answer(m, result);
        count_status(m, res.status());
        return res;
    }
    let points = parsed.points.len();
    let res = match node.write(&db, &rp, &parsed).await {
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
        Ok((stored, sequence)) => {
            let result = stored.map(|summary| {
                let (response, policy) = write::answer(&parsed, summary);
                // Each point reaches the subscriptions once: from the node it was written to.
                if !policy.is_empty() {
                    let subscriber = &state.subscriber;
                    subscriber.sync(state.engine.catalog_version(), || state.engine.catalog());
                    subscriber.forward(&db, &policy, &parsed.points);
                }
                (response, points)
            });
            with_sequence(write_answer(m, result), sequence)
        }
    };
    count_status(m, res.status());
    res
}

/// `res` with the log sequence its request was stored at.
fn with_sequence(mut res: Response, sequence: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&sequence.to_string()) {
        res.headers_mut().insert(cluster::SEQUENCE_HEADER, v);
    }
    res
}

fn count_status(m: &Metrics, status: StatusCode) {
    if status.is_client_error() {
        m.client_errors.fetch_add(1, Ordering::Relaxed);
    } else if status.is_server_error() {
        m.server_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// A request refused before it reaches the engine: status and message.
type Rejection = (StatusCode, String);

/// Where a write goes and how to read its timestamps.
struct WriteTarget {
    db: String,
    rp: String,
    precision: Precision,
}

/// `/write`: `db`, `rp`, `precision` (n, u, ms, s, m, h), `consistency`.
fn v1_target(params: &HashMap<String, String>) -> Result<WriteTarget, Rejection> {
    let db = params.get("db").cloned().unwrap_or_default();
    if db.is_empty() {
        return Err((StatusCode::BAD_REQUEST, "database is required".to_string()));
    }
    let precision = match params.get("precision").map(String::as_str) {
        None | Some("") | Some("n") | Some("ns") => Precision::Nanoseconds,
        Some("u") => Precision::Microseconds,
        Some("ms") => Precision::Milliseconds,
        Some("s") => Precision::Seconds,
        Some("m") => Precision::Minutes,
        Some("h") => Precision::Hours,
        Some(p) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("invalid precision {p:?} (use n, u, ms, s, m or h)"),
            ))
        }
    };
    if let Some(c) = params.get("consistency") {
        if !matches!(c.as_str(), "" | "any" | "one" | "quorum" | "all") {
            return Err((
                StatusCode::BAD_REQUEST,
                "invalid consistency level".to_string(),
            ));
        }
    }
    let rp = params.get("rp").cloned().unwrap_or_default();
    Ok(WriteTarget { db, rp, precision })
}

/// `/api/v2/write`: `bucket` = `db` or `db/rp`, `precision` (ns, us, ms, s); `org` is ignored.
fn v2_target(params: &HashMap<String, String>) -> Result<WriteTarget, Rejection> {
    let bucket = params.get("bucket").cloned().unwrap_or_default();
    let (db, rp) = match bucket.split_once('/') {
        Some((db, rp)) => (db.to_string(), rp.to_string()),
        None => (bucket.clone(), String::new()),
    };
    if db.is_empty() {
        return Err((
            StatusCode::NOT_FOUND,
            format!("bucket {bucket:?} not found: a bucket is db or db/rp"),
        ));
    }
    let precision = match params.get("precision").map(String::as_str) {
        None | Some("") | Some("ns") => Precision::Nanoseconds,
        Some("us") => Precision::Microseconds,
        Some("ms") => Precision::Milliseconds,
        Some("s") => Precision::Seconds,
        Some(p) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("invalid precision {p:?} (use ns, us, ms or s)"),
            ))
        }
    };
    Ok(WriteTarget { db, rp, precision })
}

async fn write_v1(
    State(state): State<AppState>,
    method: Method,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = v1_target(&params);
    write(state, method, &params, headers, body, target).await
}

async fn write_v2(
    State(state): State<AppState>,
    method: Method,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = v2_target(&params);
    write(state, method, &params, headers, body, target).await
}

/// The part both write endpoints share: method, credentials, target, body, then the engine.
async fn write(
    state: AppState,
    method: Method,
    params: &HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
    target: Result<WriteTarget, Rejection>,
) -> Response {
    if method == Method::OPTIONS {
        return StatusCode::NO_CONTENT.into_response();
    }
    if method != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    state.metrics.write_requests.fetch_add(1, Ordering::Relaxed);
    let principal = match authenticate(&state, params, &headers) {
        Ok(p) => p,
        Err(e) => return auth_error(&e),
    };
    let target = match target {
        Ok(t) => t,
        Err((status, message)) => return error(status, &message),
    };
    if state.auth_enabled {
        // As InfluxDB: an unknown database is reported before the write is authorized.
        if let Err(e) = state.engine.catalog().database(&target.db) {
            return engine_error(&EngineError::Meta(e));
        }
        if let Err(e) = users::authorize_write(principal.as_ref(), &target.db) {
            return auth_error(&e);
        }
    }
    let body = match read_body(body, &headers, state.max_body_size).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    do_write(state, target, body).await
}

async fn query(
    State(state): State<AppState>,
    method: Method,
    Query(mut params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::OPTIONS {
        return StatusCode::NO_CONTENT.into_response();
    }
    state.metrics.query_requests.fetch_add(1, Ordering::Relaxed);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if method == Method::POST && form {
        let raw = match read_body(body, &headers, state.max_body_size).await {
            Ok(b) => b,
            Err(res) => return res,
        };
        for (k, v) in form_urlencoded(&raw) {
            params.entry(k).or_insert(v);
        }
    }
    let principal = match authenticate(&state, &params, &headers) {
        Ok(p) => p,
        Err(e) => return auth_error(&e),
    };
    // Trimmed as InfluxDB trims it: error positions count from the first non-space.
    let Some(q) = params.get("q").map(|q| q.trim()).filter(|q| !q.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "missing required parameter \"q\"");
    };
    let statements = match influxql::parse_statements(q) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("error parsing query: {e}"),
            )
        }
    };
    // An unknown zone in `tz('…')` fails the whole query, as a parse error, like InfluxDB.
    let zones = statements.iter().filter_map(|s| match s {
        influxql::Statement::Select(sel) => sel.timezone.as_deref(),
        _ => None,
    });
    for z in zones {
        if let Err(e) = query::select_zone(z) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("error parsing query: {e}"),
            );
        }
    }
    let chunking: Vec<query::chunked::Chunking> = statements
        .iter()
        .map(query::chunked::Chunking::of)
        .collect();
    if state.auth_enabled {
        let default_db = params.get("db").map(String::as_str).unwrap_or("");
        let catalog = state.engine.catalog();
        if let Err(e) =
            users::authorize_query(&catalog, principal.as_ref(), &statements, default_db)
        {
            return auth_error(&e);
        }
    }
    let Some(epoch) = Epoch::from_param(params.get("epoch").map(String::as_str)) else {
        return error(StatusCode::BAD_REQUEST, "invalid epoch");
    };
    let ctx = QueryContext {
        database: params.get("db").cloned(),
        retention_policy: params.get("rp").cloned().filter(|r| !r.is_empty()),
        epoch: Some(epoch),
        now: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        user: principal,
        interrupt: Default::default(),
        running: Some(Arc::clone(&state.running)),
        planner: None,
        stats: {
            let mut stats = vec![
                Arc::clone(&state.metrics) as Arc<dyn query::diagnostics::StatsSource>,
                Arc::clone(&state.subscriber.stats) as Arc<dyn query::diagnostics::StatsSource>,
            ];
            if let Some(node) = &state.cluster {
                stats.push(Arc::clone(node) as Arc<dyn query::diagnostics::StatsSource>);
            }
            stats
        },
    };
    // CSV when asked for; its times are integers (ns unless `epoch` says otherwise).
    let csv_type = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| {
            ["application/csv", "text/csv"]
                .into_iter()
                .find(|t| accept.contains(t))
        });
    let ctx = QueryContext {
        epoch: match (csv_type, ctx.epoch) {
            (Some(_), Some(Epoch::Rfc3339)) => Some(Epoch::Unit(1)),
            (_, epoch) => epoch,
        },
        ..ctx
    };
    let pretty = params.get("pretty").is_some_and(|p| p == "true");
    let chunked = params.get("chunked").is_some_and(|p| p == "true");
    let chunk_size = params
        .get("chunk_size")
        .and_then(|n| n.parse().ok())
        .unwrap_or(query::chunked::DEFAULT_CHUNK_SIZE);
    let db_param = ctx.database.clone().unwrap_or_default();
    let mut through_log = None;
    if let Some(node) = &state.cluster {
        if let Some(after) = params.get(cluster::AFTER_SEQUENCE_PARAM) {
            let Ok(sequence) = after.parse::<u64>() else {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "{}: {after:?} is not a sequence number",
                        cluster::AFTER_SEQUENCE_PARAM
                    ),
                );
            };
            if let Err(why) = node.wait_for(sequence).await {
                return error(StatusCode::SERVICE_UNAVAILABLE, &why);
            }
        }
        if statements.iter().any(cluster::goes_through_log) {
            through_log = Some(Arc::clone(node));
        }
    }
    if chunked && csv_type.is_none() && through_log.is_none() {
        return chunked_answer(&state, q, &db_param, statements, ctx, chunking, chunk_size);
    }
    let mut sequence = None;
    let response = match through_log {
        Some(node) => {
            let (response, last) = cluster_statements(&state, &node, &statements, &ctx).await;
            sequence = last;
            response
        }
        None => local_statements(&state, q, &db_param, &statements, ctx),
    };
    let res = render(&response, csv_type, pretty);
    match sequence {
        Some(s) => with_sequence(res, s),
        None => res,
    }
}

/// Runs statements on this node, registered as a running query (`SHOW QUERIES`, limits,
/// `query-timeout`).
fn local_statements(
    state: &AppState,
    q: &str,
    db_param: &str,
    statements: &[influxql::Statement],
    ctx: QueryContext,
) -> QueryResponse {
    match state.running.register(q, db_param) {
        Err(e) => QueryResponse {
            results: vec![StatementResult {
                error: Some(e.to_string()),
                ..Default::default()
            }],
        },
        Ok(registration) => {
            let interrupt = registration.interrupt();
            let ctx = QueryContext {
                interrupt: interrupt.clone(),
                ..ctx
            };
            let _timer = stop_after(state.query_timeout, interrupt);
            // The query runs on this worker thread, whose other tasks tokio hands to another
            // thread while it blocks: no hop to a blocking thread and back, which cost short
            // queries about a third of their time.
            let response =
                tokio::task::block_in_place(|| query::execute(&state.engine, statements, &ctx));
            drop(registration);
            response
        }
    }
}

/// Statements on a node of a cluster when some change state: those go through the log (in
/// order with the writes, applied by every node, answered once applied here), the others run
/// here; after a failure the rest answer `not executed`, as InfluxDB. The last sequence used.
async fn cluster_statements(
    state: &AppState,
    node: &ClusterNode,
    statements: &[influxql::Statement],
    ctx: &QueryContext,
) -> (QueryResponse, Option<u64>) {
    let mut response = QueryResponse::default();
    let mut last = None;
    let mut failed = false;
    let db = ctx.database.clone().unwrap_or_default();
    let rp = ctx.retention_policy.clone().unwrap_or_default();
    for (id, statement) in statements.iter().enumerate() {
        let mut result = if failed {
            StatementResult {
                error: Some("not executed".into()),
                ..Default::default()
            }
        } else if cluster::goes_through_log(statement) {
            match node
                .execute(&statement.to_string(), &db, &rp, ctx.now)
                .await
            {
                Ok((result, sequence)) => {
                    last = Some(sequence);
                    result
                }
                Err(e) => StatementResult {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            }
        } else {
            let one = std::slice::from_ref(statement);
            tokio::task::block_in_place(|| query::execute(&state.engine, one, ctx))
                .results
                .into_iter()
                .next()
                .unwrap_or_default()
        };
        failed = result.error.is_some();
        result.statement_id = id;
        response.results.push(result);
    }
    (response, last)
}

/// A query's answer as JSON (pretty when asked) or as CSV.
fn render(response: &QueryResponse, csv_type: Option<&'static str>, pretty: bool) -> Response {
    if let Some(content_type) = csv_type {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type)],
            query::csv::to_csv(response),
        )
            .into_response();
    }
    let body = query::json::to_string(response, pretty).map(|b| format!("{b}\n"));
    match body {
        Ok(b) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            b,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// A `chunked=true` answer in JSON lines, each sent as soon as it is complete, so that a
/// `SELECT` holds about one chunk of rows at a time ([`query::chunked::LineWriter`]). A client
/// that goes away stops the query; `query-timeout` still applies.
fn chunked_answer(
    state: &AppState,
    q: &str,
    db: &str,
    statements: Vec<influxql::Statement>,
    ctx: QueryContext,
    chunking: Vec<query::chunked::Chunking>,
    chunk_size: usize,
) -> Response {
    let (lines, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(2);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|line| (line, receiver))
    });
    let registration = match state.running.register(q, db) {
        Ok(registration) => registration,
        Err(e) => {
            let mut refused = Vec::new();
            let mut writer = query::chunked::LineWriter::new(chunking, chunk_size, |line| {
                refused.push(line);
                Ok(())
            });
            writer.start(0);
            writer.end(0, Some(e.to_string()));
            return json_lines(axum::body::Body::from(refused.concat()));
        }
    };
    let interrupt = registration.interrupt();
    let ctx = QueryContext {
        interrupt: interrupt.clone(),
        ..ctx
    };
    let finished = stop_after(state.query_timeout, interrupt.clone());
    let engine = Arc::clone(&state.engine);
    tokio::task::spawn_blocking(move || {
        let _registered_until_done = registration;
        let _finished = finished;
        let mut writer = query::chunked::LineWriter::new(chunking, chunk_size, |line| {
            lines.blocking_send(Ok(line)).or_else(|_| {
                // The client went away: the query stops at once.
                interrupt.kill();
                interrupt.check()
            })
        });
        query::execute_each(&engine, &statements, &ctx, &mut writer);
    });
    json_lines(axum::body::Body::from_stream(stream))
}

/// Times the query of `interrupt` out after `timeout` (none when zero); it stops at its next
/// check and answers with the timeout error. Dropping the guard returned cancels the timer.
fn stop_after(
    timeout: std::time::Duration,
    interrupt: query::running::Interrupt,
) -> Option<tokio::sync::oneshot::Sender<()>> {
    if timeout.is_zero() {
        return None;
    }
    let (finished, finished_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        // Ends early, without a timeout, when the guard is dropped.
        if tokio::time::timeout(timeout, finished_rx).await.is_err() {
            interrupt.time_out();
        }
    });
    Some(finished)
}

/// A 200 answer of JSON (lines).
fn json_lines(body: axum::body::Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn form_urlencoded(raw: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len()
                    && s.is_char_boundary(i + 1)
                    && s.is_char_boundary(i + 3) =>
                {
                    match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(raw)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let v = form_urlencoded(b"q=SHOW+DATABASES%3B&db=a%20b&x");
        assert_eq!(v[0], ("q".into(), "SHOW DATABASES;".into()));
        assert_eq!(v[1], ("db".into(), "a b".into()));
        assert_eq!(v[2], ("x".into(), String::new()));
        assert_eq!(form_urlencoded(b"q=%4")[0].1, "%4");
    }
}
