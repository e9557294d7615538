//! The `/kapacitor/v1` API: ping, write (what the store's subscriptions send), tasks, `httpOut`
//! data. Errors are `{"error": …, "message": …}` with the same text, as Kapacitor answers.

mod users;

use crate::point::{Dimensions, FieldValue, GroupKey, Point};
use crate::services::EventStore;
use crate::tasks::Tasks;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The version this API reports.
pub const VERSION: &str = concat!("1.7.0-kapacitor-rs-", env!("CARGO_PKG_VERSION"));

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// All tasks.
    pub tasks: Arc<Tasks>,
    /// The last alert events per topic.
    pub events: EventStore,
    /// Users and what they may do.
    pub auth: Arc<crate::auth::Auth>,
}

impl axum::extract::FromRef<AppState> for Arc<crate::auth::Auth> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.auth)
    }
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/kapacitor/v1/ping", get(ping).head(ping))
        .route("/kapacitor/v1/write", post(write))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/write", post(write))
        .route("/kapacitor/v1/tasks", get(list_tasks).post(create_task))
        .route(
            "/kapacitor/v1/tasks/{id}",
            get(get_task).patch(update_task).delete(delete_task),
        )
        .route("/kapacitor/v1/tasks/{id}/{name}", get(http_out))
        .route("/kapacitor/v1/replays/query", post(replay))
        .route("/kapacitor/v1/alerts/topics", get(topics))
        .route(
            "/kapacitor/v1/alerts/topics/{topic}",
            get(topic).delete(delete_topic),
        )
        .route(
            "/kapacitor/v1/alerts/topics/{topic}/events",
            get(topic_events),
        )
        .route(
            "/kapacitor/v1/alerts/topics/{topic}/events/{id}",
            get(topic_event),
        )
        .route(
            "/kapacitor/v1/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/kapacitor/v1/users/{name}",
            get(users::get_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.auth),
            users::guard,
        ))
        .layer(axum::middleware::from_fn(version_header))
        .with_state(state)
}

async fn version_header(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut()
        .insert("X-Kapacitor-Version", HeaderValue::from_static(VERSION));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        res.headers_mut().insert("Request-Id", id);
    }
    res
}

/// `{"error": m, "message": m}` with `status`.
pub fn error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(serde_json::json!({ "error": message, "message": message })),
    )
        .into_response()
}

async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Liveness for container healthchecks, in the shape of InfluxDB's `/health`.
async fn health() -> Response {
    Json(serde_json::json!({
        "name": "kapacitor-rs",
        "message": "ready for tasks and writes",
        "status": "pass",
        "checks": [],
        "version": VERSION,
    }))
    .into_response()
}

/// Prometheus text format, so that the agent's `prometheus` input can watch the engine.
async fn metrics(State(state): State<AppState>) -> Response {
    let (defined, executing) = state.tasks.counts();
    let body = format!(
        "# HELP kapacitorrs_points_received_total Points written to the engine.\n\
         # TYPE kapacitorrs_points_received_total counter\n\
         kapacitorrs_points_received_total {}\n\
         # HELP kapacitorrs_points_dropped_total Points dropped because a task's queue was full.\n\
         # TYPE kapacitorrs_points_dropped_total counter\n\
         kapacitorrs_points_dropped_total {}\n\
         # HELP kapacitorrs_tasks Tasks defined.\n\
         # TYPE kapacitorrs_tasks gauge\n\
         kapacitorrs_tasks {defined}\n\
         # HELP kapacitorrs_tasks_executing Tasks executing.\n\
         # TYPE kapacitorrs_tasks_executing gauge\n\
         kapacitorrs_tasks_executing {executing}\n",
        state.tasks.received.load(Ordering::Relaxed),
        state.tasks.dropped.load(Ordering::Relaxed),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Parses a line-protocol body into points for `db`.`rp`; errors name the line.
pub fn parse_points(
    body: &[u8],
    db: &str,
    rp: &str,
    precision: lineproto::Precision,
    now: i64,
) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    for line in lineproto::parse_lines(body) {
        let line = line.map_err(|e| e.to_string())?;
        let time = match line.timestamp {
            Some(t) => precision
                .to_nanos(t)
                .ok_or_else(|| format!("line {}: timestamp out of range", line.line_number))?,
            None => precision.truncate(now),
        };
        let tags: BTreeMap<String, String> = line
            .tags
            .iter()
            .map(|(k, v)| (k.as_str().into_owned(), v.as_str().into_owned()))
            .collect();
        let fields = line
            .fields
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    lineproto::FieldValue::Float(f) => FieldValue::Float(*f),
                    lineproto::FieldValue::Integer(i) => FieldValue::Int(*i),
                    lineproto::FieldValue::UInteger(u) => {
                        FieldValue::Int(i64::try_from(*u).unwrap_or(i64::MAX))
                    }
                    lineproto::FieldValue::String(s) => FieldValue::Str(s.as_str().into_owned()),
                    lineproto::FieldValue::Boolean(b) => FieldValue::Bool(*b),
                };
                (k.as_str().into_owned(), value)
            })
            .collect();
        points.push(Point {
            name: line.measurement.as_str().into_owned(),
            db: db.to_string(),
            rp: rp.to_string(),
            tags,
            fields,
            time,
            group: GroupKey::default(),
            dims: Dimensions::default(),
        });
    }
    Ok(points)
}

async fn write(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let db = params.get("db").cloned().unwrap_or_default();
    if db.is_empty() {
        return error(400, "database is required");
    }
    let rp = params
        .get("rp")
        .cloned()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "autogen".into());
    let precision = match params.get("precision").map(String::as_str) {
        None | Some("") | Some("n") | Some("ns") => lineproto::Precision::Nanoseconds,
        Some("u") | Some("us") => lineproto::Precision::Microseconds,
        Some("ms") => lineproto::Precision::Milliseconds,
        Some("s") => lineproto::Precision::Seconds,
        Some("m") => lineproto::Precision::Minutes,
        Some("h") => lineproto::Precision::Hours,
        Some(p) => return error(400, &format!("invalid precision {p:?}")),
    };
    let gzipped = headers
        .get("Content-Encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    let body = if gzipped {
        let mut out = Vec::new();
        if let Err(e) = flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out) {
            return error(400, &format!("invalid gzip body: {e}"));
        }
        Bytes::from(out)
    } else {
        body
    };
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    match parse_points(&body, &db, &rp, precision, now) {
        Ok(points) => {
            state.tasks.route(&db, &rp, Arc::new(points));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error(400, &e),
    }
}

async fn list_tasks(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let offset = params
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit = params
        .get("limit")
        .and_then(|o| o.parse().ok())
        .unwrap_or(100);
    let tasks = state
        .tasks
        .list(params.get("pattern").map(String::as_str), offset, limit);
    Json(serde_json::json!({ "tasks": tasks })).into_response()
}

async fn create_task(State(state): State<AppState>, body: Bytes) -> Response {
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(400, &format!("invalid JSON: {e}")),
    };
    match state.tasks.create(&body) {
        Ok(task) => Json(task).into_response(),
        Err(e) => error(e.status, &e.message),
    }
}

async fn get_task(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.tasks.get(&id) {
        Ok(task) => Json(task).into_response(),
        Err(e) => error(e.status, &e.message),
    }
}

async fn update_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(400, &format!("invalid JSON: {e}")),
    };
    match state.tasks.update(&id, &body) {
        Ok(task) => Json(task).into_response(),
        Err(e) => error(e.status, &e.message),
    }
}

async fn delete_task(State(state): State<AppState>, Path(id): Path<String>) -> StatusCode {
    state.tasks.delete(&id);
    StatusCode::NO_CONTENT
}

async fn http_out(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    match state.tasks.http_out(&id, &name) {
        Some(data) => Json(data).into_response(),
        None => error(404, &format!("no output {name:?} on task {id:?}")),
    }
}

async fn replay(State(state): State<AppState>, body: Bytes) -> Response {
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(400, &format!("invalid JSON: {e}")),
    };
    let Some(task) = body["task"].as_str() else {
        return error(400, "replay needs \"task\"");
    };
    // Either a query, or a time range over everything the task's dbrps hold.
    let query = match (
        body["query"].as_str(),
        body["start"].as_str(),
        body["stop"].as_str(),
    ) {
        (Some(q), _, _) => q.to_string(),
        (None, Some(start), Some(stop)) => match state.tasks.range_query(task, start, stop) {
            Ok(q) => q,
            Err(e) => return error(e.status, &e.message),
        },
        _ => {
            return error(
                400,
                "replay needs \"query\", or \"start\" and \"stop\" (RFC 3339)",
            )
        }
    };
    match state.tasks.replay(task, &query).await {
        Ok(r) => (StatusCode::CREATED, Json(r)).into_response(),
        Err(e) => error(e.status, &e.message),
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "INFO" => 1,
        "WARNING" => 2,
        "CRITICAL" => 3,
        _ => 0,
    }
}

fn topic_json(id: &str, t: &crate::services::Topic) -> serde_json::Value {
    let level = t.events.values().map(|e| e.level).max().unwrap_or_default();
    let base = format!("/kapacitor/v1/alerts/topics/{id}");
    serde_json::json!({
        "link": { "rel": "self", "href": base },
        "id": id,
        "level": level.as_str(),
        "collected": t.collected,
        "events-link": { "rel": "events", "href": format!("{base}/events") },
        "handlers-link": { "rel": "handlers", "href": format!("{base}/handlers") },
    })
}

fn event_json(topic: &str, e: &crate::alert::Event) -> serde_json::Value {
    serde_json::json!({
        "link": { "rel": "self", "href": format!("/kapacitor/v1/alerts/topics/{topic}/events/{}", e.id) },
        "id": e.id,
        "state": {
            "level": e.level.as_str(),
            "message": e.message,
            "details": e.details,
            "time": crate::point::rfc3339(e.time),
            "duration": e.duration,
        },
    })
}

async fn topics(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let min = params.get("min-level").map(|l| level_rank(l)).unwrap_or(0);
    let topics: Vec<serde_json::Value> = state
        .events
        .topics()
        .iter()
        .filter(|(_, t)| t.events.values().map(|e| e.level as u8).max().unwrap_or(0) >= min)
        .map(|(id, t)| topic_json(id, t))
        .collect();
    Json(serde_json::json!({ "link": { "rel": "self", "href": "/kapacitor/v1/alerts/topics" }, "topics": topics })).into_response()
}

async fn topic(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.events.topics().get(&id) {
        Some(t) => Json(topic_json(&id, t)).into_response(),
        None => error(404, &format!("topic {id:?} does not exist")),
    }
}

async fn delete_topic(State(state): State<AppState>, Path(id): Path<String>) -> StatusCode {
    state.events.delete(&id);
    StatusCode::NO_CONTENT
}

async fn topic_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let min = params.get("min-level").map(|l| level_rank(l)).unwrap_or(0);
    let topics = state.events.topics();
    let Some(t) = topics.get(&id) else {
        return error(404, &format!("topic {id:?} does not exist"));
    };
    let events: Vec<serde_json::Value> = t
        .events
        .values()
        .filter(|e| e.level as u8 >= min)
        .map(|e| event_json(&id, e))
        .collect();
    Json(serde_json::json!({ "link": { "rel": "self", "href": format!("/kapacitor/v1/alerts/topics/{id}/events") }, "topic": id, "events": events })).into_response()
}

async fn topic_event(
    State(state): State<AppState>,
    Path((topic, id)): Path<(String, String)>,
) -> Response {
    match state
        .events
        .topics()
        .get(&topic)
        .and_then(|t| t.events.get(&id).cloned())
    {
        Some(e) => Json(event_json(&topic, &e)).into_response(),
        None => error(
            404,
            &format!("event {id:?} does not exist in topic {topic:?}"),
        ),
    }
}
