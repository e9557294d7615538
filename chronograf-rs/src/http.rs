//! Pages (server-rendered with askama, escaped) and the JSON endpoints they call: the host
//! list, a host's charts, the `/chronograf/v1` sources, layouts, environment, a proxy and
//! compact series for charts. InfluxQL only ever goes to configured sources.

use crate::dashboards::{render_query, Dashboard, DashboardError, DashboardStore, CELL_TYPES};
use crate::hosts::{self, Host};
use crate::layouts::{self, Layout, Range, TimeWindow, RANGES};
use crate::source::{Source, WriteRefused};
use crate::users::{UserChange, UserRow};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use influxql::quote_ident;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The sources: configured ones (id `1` is the first) and those added in the UI.
    pub sources: Arc<crate::sources::SourceStore>,
    /// The agents' gather interval as Chronograf writes it (`1m0s`).
    pub telegraf_interval: String,
    /// The canned layouts.
    pub layouts: Arc<Vec<Layout>>,
    /// Saved dashboards.
    pub dashboards: Arc<DashboardStore>,
    /// The kapacitor-rs the alerting pages drive.
    pub kapacitor: Kapacitor,
    /// Request counters for `/metrics`.
    pub metrics: Arc<RequestMetrics>,
    /// Configured users and their sessions.
    pub login: Arc<crate::login::Login>,
}

impl axum::extract::FromRef<AppState> for Arc<crate::login::Login> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.login)
    }
}

/// Requests served, by class of answer, exposed on `/metrics` so the agent can watch the
/// dashboard like the other daemons.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
}

impl RequestMetrics {
    fn count(&self, status: StatusCode) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status.is_client_error() {
            self.client_errors.fetch_add(1, Ordering::Relaxed);
        } else if status.is_server_error() {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A kapacitor-rs connection.
#[derive(Debug, Clone)]
pub struct Kapacitor {
    /// Base URL.
    pub url: String,
    /// User of kapacitor-rs's `[auth]` (empty: none sent).
    pub username: String,
    /// Its password.
    pub password: String,
    /// HTTP client.
    pub client: reqwest::Client,
}

impl Kapacitor {
    fn tasks_url(&self, rest: &str) -> String {
        format!(
            "{}/kapacitor/v1/tasks{rest}",
            self.url.trim_end_matches('/')
        )
    }

    /// Sends a request and returns status and JSON body (`{}` when empty).
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<(u16, serde_json::Value), String> {
        let req = if self.username.is_empty() {
            req
        } else {
            req.basic_auth(&self.username, Some(&self.password))
        };
        let resp = req.send().await.map_err(|e| {
            format!(
                "kapacitor {}: {}",
                crate::source::redacted_url(&self.url),
                e.without_url()
            )
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::json!({})),
        ))
    }
}

static DYGRAPH_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.js"));
static DYGRAPH_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.css"));
static APP_JS: &[u8] = include_bytes!("../assets/app.js");
static APP_CSS: &[u8] = include_bytes!("../assets/app.css");
static EXPLORER_JS: &[u8] = include_bytes!("../assets/explorer.js");
static DASHBOARDS_JS: &[u8] = include_bytes!("../assets/dashboards.js");
static SOURCES_JS: &[u8] = include_bytes!("../assets/sources.js");
static RULES_JS: &[u8] = include_bytes!("../assets/rules.js");
static ADMIN_JS: &[u8] = include_bytes!("../assets/admin.js");
static TICKSCRIPT_JS: &[u8] = include_bytes!("../assets/tickscript.js");

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/sources/1/hosts") }))
        .route("/ping", get(|| async { StatusCode::NO_CONTENT }))
        .route("/sources/{id}/hosts", get(hosts_page))
        .route("/sources/{id}/hosts/{host}", get(host_page))
        .route("/sources/{id}/chronograf/data-explorer", get(explorer_page))
        .route("/chronograf/v1/sources/{id}/schema", get(schema))
        .route("/chronograf/v1/sources/{id}/csv", get(csv))
        .route("/sources/{id}/dashboards", get(dashboards_page))
        .route("/sources/{id}/dashboards/{did}", get(dashboard_page))
        .route(
            "/chronograf/v1/dashboards",
            get(list_dashboards).post(create_dashboard),
        )
        .route(
            "/chronograf/v1/dashboards/{did}",
            get(get_dashboard)
                .put(replace_dashboard)
                .delete(delete_dashboard),
        )
        .route("/sources/{id}/alert-rules", get(rules_page))
        .route("/sources/{id}/alerts", get(alerts_page))
        .route(
            "/chronograf/v1/sources/{id}/kapacitors",
            get(list_kapacitors),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}",
            get(get_kapacitor),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/rules",
            get(list_rules).post(create_rule),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/rules/{rid}",
            axum::routing::patch(update_rule).delete(delete_rule),
        )
        .route("/sources/{id}/admin", get(admin_page))
        .route("/sources/{id}/tickscripts/{tid}", get(tickscript_page))
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/proxy",
            axum::routing::any(kapacitor_proxy),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs",
            get(list_dbs).post(create_db),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs/{db}",
            axum::routing::delete(drop_db),
        )
        .route("/chronograf/v1/sources/{id}/dbs/{db}/rps", post(create_rp))
        .route(
            "/chronograf/v1/sources/{id}/users",
            get(list_users).post(change_user),
        )
        .route("/chronograf/v1/sources/{id}/queries", get(list_queries))
        .route(
            "/chronograf/v1/sources/{id}/queries/{qid}",
            axum::routing::delete(kill_query),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs/{db}/rps/{rp}",
            axum::routing::delete(drop_rp).patch(alter_rp),
        )
        .route("/chronograf/v1/sources", get(sources).post(create_source))
        .route(
            "/chronograf/v1/sources/{id}",
            get(get_source).patch(update_source).delete(delete_source),
        )
        .route("/sources", get(sources_page))
        .route("/chronograf/v1/sources/{id}/proxy", post(proxy))
        .route("/chronograf/v1/sources/{id}/write", post(write))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/chronograf/v1/sources/{id}/series", post(series))
        .route("/chronograf/v1/sources/{id}/hosts", get(hosts_json))
        .route("/chronograf/v1/layouts", get(layouts_json))
        .route("/chronograf/v1/env", get(env_json))
        .route("/assets/{file}", get(asset))
        .route(
            "/login",
            get(crate::login::login_page).post(crate::login::sign_in),
        )
        .route("/logout", post(crate::login::sign_out))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.login),
            crate::login::guard,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

async fn count_requests(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let res = next.run(req).await;
    state.metrics.count(res.status());
    res
}

/// Liveness for container healthchecks, in the shape of InfluxDB's `/health`.
async fn health() -> Response {
    Json(serde_json::json!({
        "name": "chronograf-rs",
        "message": "ready",
        "status": "pass",
        "checks": [],
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let body = format!(
        "# HELP chronografrs_http_requests_total Requests served.\n\
         # TYPE chronografrs_http_requests_total counter\n\
         chronografrs_http_requests_total {}\n\
         # HELP chronografrs_http_client_errors_total Requests answered 4xx.\n\
         # TYPE chronografrs_http_client_errors_total counter\n\
         chronografrs_http_client_errors_total {}\n\
         # HELP chronografrs_http_server_errors_total Requests answered 5xx.\n\
         # TYPE chronografrs_http_server_errors_total counter\n\
         chronografrs_http_server_errors_total {}\n\
         # HELP chronografrs_dashboards Dashboards saved.\n\
         # TYPE chronografrs_dashboards gauge\n\
         chronografrs_dashboards {}\n",
        m.requests.load(Ordering::Relaxed),
        m.client_errors.load(Ordering::Relaxed),
        m.server_errors.load(Ordering::Relaxed),
        state.dashboards.list().len(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    h.insert("Referrer-Policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "Content-Security-Policy",
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
        ),
    );
    res
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// Source `id`, only ever one of the list (configured or added by an operator).
fn source(state: &AppState, id: &str) -> Option<Source> {
    state.sources.get(id)
}

fn no_source(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("source {id} not found"))
}

fn page<T: Template>(t: T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    source: String,
    database: String,
    hosts: Vec<Host>,
    error: Option<String>,
}

async fn hosts_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let (hosts, error) = match hosts::list(&src, &state.telegraf_interval, &state.layouts).await {
        Ok(h) => (h, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    page(HostsPage {
        source: src.config.name.clone(),
        database: src.config.telegraf.clone(),
        hosts,
        error,
    })
}

async fn hosts_json(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match hosts::list(&src, &state.telegraf_interval, &state.layouts).await {
        Ok(h) => Json(serde_json::json!({ "hosts": h })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// One cell of a host page.
struct PageCell {
    name: &'static str,
    kind: &'static str,
    /// The completed queries, as JSON for the page's script.
    queries: String,
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    host: String,
    database: String,
    rp: String,
    range: String,
    ranges: &'static [Range],
    cells: Vec<PageCell>,
}

async fn host_page(
    State(state): State<AppState>,
    Path((id, host)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let window = TimeWindow::from_params(&params, "1h");
    let present = match hosts::measurements_of(&src, &host, &state.layouts).await {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let cells = state
        .layouts
        .iter()
        .filter(|l| present.contains(l.measurement))
        .flat_map(|l| l.cells.iter())
        .map(|c| PageCell {
            name: c.name,
            kind: c.kind,
            queries: serde_json::to_string(
                &c.queries
                    .iter()
                    .map(|q| layouts::complete(q, &host, &window))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
        })
        .collect();
    page(HostPage {
        host,
        database: src.config.telegraf.clone(),
        rp: src.config.default_rp.clone(),
        range: window.name,
        ranges: RANGES,
        cells,
    })
}

fn dashboard_error(e: DashboardError) -> Response {
    let status = match e {
        DashboardError::NotFound(_) => StatusCode::NOT_FOUND,
        DashboardError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        DashboardError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

fn with_links(d: &Dashboard) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    v["links"] = serde_json::json!({ "self": format!("/chronograf/v1/dashboards/{}", d.id) });
    v
}

async fn list_dashboards(State(state): State<AppState>) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = state.dashboards.list().iter().map(with_links).collect();
    Json(serde_json::json!({ "dashboards": list }))
}

async fn create_dashboard(State(state): State<AppState>, Json(d): Json<Dashboard>) -> Response {
    match state.dashboards.create(d) {
        Ok(d) => (StatusCode::CREATED, Json(with_links(&d))).into_response(),
        Err(e) => dashboard_error(e),
    }
}

async fn get_dashboard(State(state): State<AppState>, Path(did): Path<u64>) -> Response {
    match state.dashboards.get(did) {
        Ok(d) => Json(with_links(&d)).into_response(),
        Err(e) => dashboard_error(e),
    }
}

async fn replace_dashboard(
    State(state): State<AppState>,
    Path(did): Path<u64>,
    Json(d): Json<Dashboard>,
) -> Response {
    match state.dashboards.replace(did, d) {
        Ok(d) => Json(with_links(&d)).into_response(),
        Err(e) => dashboard_error(e),
    }
}

async fn delete_dashboard(State(state): State<AppState>, Path(did): Path<u64>) -> Response {
    match state.dashboards.delete(did) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => dashboard_error(e),
    }
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    sources: Vec<crate::sources::Listed>,
}

/// The sources: the configured ones, and those added here (which can be edited and removed).
async fn sources_page(State(state): State<AppState>) -> Response {
    page(SourcesPage {
        sources: state.sources.list(),
    })
}

#[derive(Template)]
#[template(path = "dashboards.html")]
struct DashboardsPage {
    dashboards: Vec<Dashboard>,
}

async fn dashboards_page(State(state): State<AppState>) -> Response {
    page(DashboardsPage {
        dashboards: state.dashboards.list(),
    })
}

/// A cell as the dashboard page draws it.
struct DrawnCell {
    i: String,
    name: String,
    kind: String,
    /// Grid position and size (12 columns).
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    db: String,
    /// Queries with the template variables replaced, as JSON.
    queries: String,
    /// The y axis settings, as JSON (read by the page's script).
    y_axis: String,
}

/// A user variable as the dashboard page offers it.
struct VarChoice {
    /// Name without colons (the `tempVars[…]` key).
    key: String,
    /// `:name:`.
    temp_var: String,
    /// Free text (an input) rather than a list (a select).
    text: bool,
    /// (value, name shown) pairs.
    options: Vec<(String, String)>,
    chosen: String,
}

/// Resolves the dashboard's variables: each one's options (from its meta-query when it has one)
/// and the value chosen (`?tempVars[name]=`, else its default, else the first option).
async fn resolve_vars(
    src: Option<&Source>,
    vars: &[crate::template_vars::TemplateVar],
    params: &HashMap<String, String>,
) -> (
    Vec<VarChoice>,
    Vec<(crate::template_vars::TemplateVar, String)>,
) {
    let mut choices = Vec::new();
    let mut bindings = Vec::new();
    for v in vars {
        let options = match (v.meta_query(&bindings), src) {
            (Some((db, q, column)), Some(src)) => match src.query(&db, "", &q).await {
                Ok(answer) => crate::template_vars::values_of(&answer, column),
                Err(_) => Vec::new(),
            },
            _ => v.values.iter().map(|x| x.value.clone()).collect(),
        };
        let requested = params.get(&format!("tempVars[{}]", v.key()));
        let chosen = v.choose(&options, requested.map(String::as_str));
        if let Some(value) = &chosen {
            bindings.push((v.clone(), value.clone()));
        }
        choices.push(VarChoice {
            key: v.key().to_string(),
            temp_var: v.temp_var.clone(),
            text: v.kind == "text",
            options: options
                .iter()
                .map(|o| (o.clone(), v.label(o).to_string()))
                .collect(),
            chosen: chosen.unwrap_or_default(),
        });
    }
    (choices, bindings)
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    id: u64,
    name: String,
    vars: Vec<VarChoice>,
    range: String,
    ranges: &'static [Range],
    cell_types: &'static [&'static str],
    cells: Vec<DrawnCell>,
}

async fn dashboard_page(
    State(state): State<AppState>,
    Path((_, did)): Path<(String, u64)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let d = match state.dashboards.get(did) {
        Ok(d) => d,
        Err(e) => return dashboard_error(e),
    };
    let window = TimeWindow::from_params(&params, "1h");
    let (vars, bindings) =
        resolve_vars(state.sources.first().as_ref(), &d.templates, &params).await;
    let mut cells = d.cells.clone();
    cells.sort_by_key(|c| (c.y, c.x));
    let cells = cells
        .into_iter()
        .map(|c| DrawnCell {
            db: c.queries.first().map(|q| q.db.clone()).unwrap_or_default(),
            queries: serde_json::to_string(
                &c.queries
                    .iter()
                    .map(|q| {
                        crate::template_vars::substitute(
                            &render_query(&q.query, &window),
                            &bindings,
                        )
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            y_axis: serde_json::to_string(&c.axes.y).unwrap_or_default(),
            x: c.x.min(11),
            y: c.y,
            w: c.w.clamp(1, 12 - c.x.min(11)),
            h: c.h.max(1),
            i: c.i,
            name: c.name,
            kind: c.kind,
        })
        .collect();
    page(DashboardPage {
        id: d.id,
        name: d.name,
        vars,
        range: window.name,
        ranges: RANGES,
        cell_types: CELL_TYPES,
        cells,
    })
}

/// A retention policy as the admin page shows it.
#[derive(serde::Serialize)]
struct PolicyRow {
    name: String,
    duration: String,
    shard: String,
    replication: i64,
    default: bool,
}

/// A database and its policies.
#[derive(serde::Serialize)]
struct DatabaseRow {
    name: String,
    policies: Vec<PolicyRow>,
}

async fn databases(src: &Source) -> Result<Vec<DatabaseRow>, crate::source::SourceError> {
    let names = first_column(&src.query("", "", "SHOW DATABASES").await?);
    let mut out = Vec::new();
    for name in names {
        let answer = src
            .query(
                &name,
                "",
                &format!("SHOW RETENTION POLICIES ON {}", quote_ident(&name)),
            )
            .await?;
        let policies = answer["results"][0]["series"][0]["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| PolicyRow {
                name: r[0].as_str().unwrap_or_default().to_string(),
                duration: r[1].as_str().unwrap_or_default().to_string(),
                shard: r[2].as_str().unwrap_or_default().to_string(),
                replication: r[3].as_i64().unwrap_or(1),
                default: r[4].as_bool().unwrap_or(false),
            })
            .collect();
        out.push(DatabaseRow { name, policies });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    databases: Vec<DatabaseRow>,
    users: Vec<UserRow>,
    error: Option<String>,
}

/// The store's users with their grants.
async fn users(src: &Source) -> Result<Vec<UserRow>, crate::source::SourceError> {
    let mut out = Vec::new();
    for (name, admin) in crate::users::parse_users(&src.query("", "", "SHOW USERS").await?) {
        let grants = src
            .query("", "", &format!("SHOW GRANTS FOR {}", quote_ident(&name)))
            .await?;
        out.push(UserRow {
            name,
            admin,
            grants: crate::users::parse_grants(&grants),
        });
    }
    Ok(out)
}

async fn list_users(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match users(&src).await {
        Ok(u) => Json(serde_json::json!({ "users": u })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// The store's running queries (`SHOW QUERIES`) as `{"queries": [{id, query, database,
/// duration, status}]}`.
async fn list_queries(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match src.query("", "", "SHOW QUERIES").await {
        Ok(answer) => {
            let queries: Vec<serde_json::Value> = answer["results"][0]["series"][0]["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    serde_json::json!({
                        "id": r[0], "query": r[1], "database": r[2], "duration": r[3], "status": r[4],
                    })
                })
                .collect();
            Json(serde_json::json!({ "queries": queries })).into_response()
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// `KILL QUERY qid`.
async fn kill_query(
    State(state): State<AppState>,
    Path((id, qid)): Path<(String, u64)>,
) -> Response {
    manage(
        &state,
        &id,
        &format!("KILL QUERY {qid}"),
        StatusCode::NO_CONTENT,
    )
    .await
}

/// Applies one [`UserChange`] (create, drop, password, grant, revoke).
async fn change_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(change): Json<UserChange>,
) -> Response {
    match change.statement() {
        Ok(q) => manage(&state, &id, &q, StatusCode::NO_CONTENT).await,
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    }
}

async fn admin_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let (databases, error) = match databases(&src).await {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let (users, error) = match users(&src).await {
        Ok(u) => (u, error),
        Err(e) => (Vec::new(), error.or(Some(e.to_string()))),
    };
    page(AdminPage {
        databases,
        users,
        error,
    })
}

async fn list_dbs(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match databases(&src).await {
        Ok(d) => Json(serde_json::json!({ "databases": d })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// Runs a management statement; the statement's own error becomes a 422.
async fn manage(state: &AppState, id: &str, q: &str, ok: StatusCode) -> Response {
    let Some(src) = source(state, id) else {
        return no_source(id);
    };
    match src.query("", "", q).await {
        Ok(a) => match a["results"][0]["error"].as_str() {
            Some(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
            None => ok.into_response(),
        },
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// A duration as InfluxQL takes it (`7d`, `INF`); anything else is refused.
fn duration_literal(d: &str) -> Option<String> {
    let d = d.trim();
    let valid = d.eq_ignore_ascii_case("inf")
        || (!d.is_empty()
            && d.chars().all(|c| c.is_ascii_alphanumeric())
            && d.starts_with(|c: char| c.is_ascii_digit()));
    valid.then(|| {
        if d.eq_ignore_ascii_case("inf") {
            "INF".to_string()
        } else {
            d.to_string()
        }
    })
}

async fn create_db(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "a database needs a name");
    };
    manage(
        &state,
        &id,
        &format!("CREATE DATABASE {}", quote_ident(name)),
        StatusCode::CREATED,
    )
    .await
}

async fn drop_db(
    State(state): State<AppState>,
    Path((id, db)): Path<(String, String)>,
) -> Response {
    manage(
        &state,
        &id,
        &format!("DROP DATABASE {}", quote_ident(&db)),
        StatusCode::NO_CONTENT,
    )
    .await
}

async fn create_rp(
    State(state): State<AppState>,
    Path((id, db)): Path<(String, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a retention policy needs a name",
        );
    };
    let Some(duration) = body["duration"].as_str().and_then(duration_literal) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid duration (7d, 24h, INF)",
        );
    };
    let replication = body["replication"].as_u64().unwrap_or(1).max(1);
    let default = if body["isDefault"].as_bool().unwrap_or(false) {
        " DEFAULT"
    } else {
        ""
    };
    let q = format!(
        "CREATE RETENTION POLICY {} ON {} DURATION {duration} REPLICATION {replication}{default}",
        quote_ident(name),
        quote_ident(&db)
    );
    manage(&state, &id, &q, StatusCode::CREATED).await
}

/// `PATCH …/rps/{rp}`: `ALTER RETENTION POLICY` with the `duration`, `replication` and
/// `isDefault` given (at least one).
async fn alter_rp(
    State(state): State<AppState>,
    Path((id, db, rp)): Path<(String, String, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut options = String::new();
    if let Some(d) = body.get("duration").filter(|d| !d.is_null()) {
        let Some(duration) = d.as_str().and_then(duration_literal) else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid duration (7d, 24h, INF)",
            );
        };
        options.push_str(&format!(" DURATION {duration}"));
    }
    if let Some(r) = body["replication"].as_u64() {
        options.push_str(&format!(" REPLICATION {}", r.max(1)));
    }
    if body["isDefault"].as_bool() == Some(true) {
        options.push_str(" DEFAULT");
    }
    if options.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing to change: give duration, replication or isDefault",
        );
    }
    let q = format!(
        "ALTER RETENTION POLICY {} ON {}{options}",
        quote_ident(&rp),
        quote_ident(&db)
    );
    manage(&state, &id, &q, StatusCode::OK).await
}

async fn drop_rp(
    State(state): State<AppState>,
    Path((id, db, rp)): Path<(String, String, String)>,
) -> Response {
    manage(
        &state,
        &id,
        &format!(
            "DROP RETENTION POLICY {} ON {}",
            quote_ident(&rp),
            quote_ident(&db)
        ),
        StatusCode::NO_CONTENT,
    )
    .await
}

/// One rule of the list.
struct RuleRow {
    id: String,
    kind: String,
    enabled: bool,
    dbrps: String,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    kapacitor: String,
    rules: Vec<RuleRow>,
    error: Option<String>,
}

async fn tasks(state: &AppState) -> Result<Vec<serde_json::Value>, String> {
    let k = &state.kapacitor;
    let (status, body) = k.call(k.client.get(k.tasks_url(""))).await?;
    if status != 200 {
        return Err(body["error"]
            .as_str()
            .unwrap_or("kapacitor error")
            .to_string());
    }
    Ok(body["tasks"].as_array().cloned().unwrap_or_default())
}

async fn rules_page(State(state): State<AppState>) -> Response {
    let (rules, error) = match tasks(&state).await {
        Ok(t) => (t, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let rules = rules
        .iter()
        .map(|t| RuleRow {
            id: t["id"].as_str().unwrap_or_default().to_string(),
            kind: t["type"].as_str().unwrap_or_default().to_string(),
            enabled: t["status"] == "enabled",
            dbrps: t["dbrps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{}.{}",
                        d["db"].as_str().unwrap_or(""),
                        d["rp"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    page(RulesPage {
        kapacitor: state.kapacitor.url.clone(),
        rules,
        error,
    })
}

/// The kapacitor-rs connection (id `1`) as Chronograf's API shows a kapacitor; `active` says
/// whether it answers its ping now.
async fn kapacitor_json(state: &AppState, source: &str) -> serde_json::Value {
    let ping = format!(
        "{}/kapacitor/v1/ping",
        state.kapacitor.url.trim_end_matches('/')
    );
    let active = state
        .kapacitor
        .client
        .get(ping)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    let base = format!("/chronograf/v1/sources/{source}/kapacitors/1");
    serde_json::json!({
        "id": "1",
        "name": "kapacitor-rs",
        "url": crate::source::redacted_url(&state.kapacitor.url),
        "active": active,
        "links": {
            "self": base,
            "rules": format!("{base}/rules"),
            "proxy": format!("{base}/proxy"),
        },
    })
}

/// `GET /chronograf/v1/sources/{id}/kapacitors`: the one configured kapacitor-rs.
async fn list_kapacitors(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if source(&state, &id).is_none() {
        return no_source(&id);
    }
    Json(serde_json::json!({ "kapacitors": [kapacitor_json(&state, &id).await] })).into_response()
}

/// `GET /chronograf/v1/sources/{id}/kapacitors/{kid}`.
async fn get_kapacitor(
    State(state): State<AppState>,
    Path((id, kid)): Path<(String, String)>,
) -> Response {
    if source(&state, &id).is_none() {
        return no_source(&id);
    }
    if kid != "1" {
        return error(StatusCode::NOT_FOUND, &format!("kapacitor {kid} not found"));
    }
    Json(kapacitor_json(&state, &id).await).into_response()
}

async fn list_rules(State(state): State<AppState>) -> Response {
    match tasks(&state).await {
        Ok(t) => Json(serde_json::json!({ "rules": t })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

async fn create_rule(
    State(state): State<AppState>,
    Json(rule): Json<crate::rules::AlertRule>,
) -> Response {
    let script = match crate::rules::rule_script(&rule) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    let task = serde_json::json!({
        "id": format!("chronograf-v1-{}", uuid::Uuid::new_v4()),
        "type": "stream",
        "dbrps": [{ "db": rule.db, "rp": rule.rp }],
        "script": script,
        "status": "enabled",
    });
    let k = &state.kapacitor;
    match k.call(k.client.post(k.tasks_url("")).json(&task)).await {
        Ok((200, body)) => (StatusCode::CREATED, Json(body)).into_response(),
        Ok((_, body)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            body["error"]
                .as_str()
                .unwrap_or("kapacitor refused the rule"),
        ),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

async fn update_rule(
    State(state): State<AppState>,
    Path((_, _, rid)): Path<(String, String, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let Some(status) = body["status"]
        .as_str()
        .filter(|s| matches!(*s, "enabled" | "disabled"))
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "status must be enabled or disabled",
        );
    };
    let k = &state.kapacitor;
    match k
        .call(
            k.client
                .patch(k.tasks_url(&format!("/{rid}")))
                .json(&serde_json::json!({ "status": status })),
        )
        .await
    {
        Ok((200, body)) => Json(body).into_response(),
        Ok((code, body)) => error(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY),
            body["error"].as_str().unwrap_or("kapacitor error"),
        ),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

async fn delete_rule(
    State(state): State<AppState>,
    Path((_, _, rid)): Path<(String, String, String)>,
) -> Response {
    let k = &state.kapacitor;
    match k
        .call(k.client.delete(k.tasks_url(&format!("/{rid}"))))
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

#[derive(Template)]
#[template(path = "tickscript.html")]
struct TickscriptPage {
    /// The task edited; empty for a new one.
    id: String,
    kapacitor: String,
}

/// The TICKscript editor for task `tid` (`new`: a new task).
async fn tickscript_page(
    State(state): State<AppState>,
    Path((_, tid)): Path<(String, String)>,
) -> Response {
    page(TickscriptPage {
        id: if tid == "new" { String::new() } else { tid },
        kapacitor: state.kapacitor.url.clone(),
    })
}

/// Chronograf's proxy to its kapacitor: `?path=/kapacitor/v1/…` with the request's method and
/// JSON body; kapacitor-rs's status and body come back as they were. Only the
/// `/kapacitor/v1/` API is reachable through it.
async fn kapacitor_proxy(
    State(state): State<AppState>,
    method: axum::http::Method,
    Query(params): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(path) = params
        .get("path")
        .filter(|p| p.starts_with("/kapacitor/v1/") && !p.contains(".."))
    else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "path must be under /kapacitor/v1/",
        );
    };
    let k = &state.kapacitor;
    let url = format!("{}{path}", k.url.trim_end_matches('/'));
    let mut req = k.client.request(method, url);
    if !body.is_empty() {
        req = req
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
    }
    match k.call(req).await {
        Ok((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            Json(body),
        )
            .into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

/// One row of the alert history.
struct AlertRow {
    time: String,
    name: String,
    level: String,
    host: String,
    value: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    alerts: Vec<AlertRow>,
    range: &'static str,
    ranges: &'static [Range],
    error: Option<String>,
}

async fn alerts_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let range = layouts::range(params.get("range").map(String::as_str).unwrap_or("24h"));
    let q = format!("SELECT host, value, level, alertName FROM alerts WHERE time > {} ORDER BY time desc LIMIT 1000", range.lower);
    let (alerts, error) = match src.query("chronograf", "", &q).await {
        Ok(a) => {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let rows = a["results"][0]["series"][0]["values"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let alerts = rows
                .iter()
                .map(|r| AlertRow {
                    time: r[0]
                        .as_i64()
                        .map(crate::layouts::rfc3339_ms)
                        .unwrap_or_default(),
                    host: text(&r[1]),
                    value: text(&r[2]),
                    level: text(&r[3]),
                    name: text(&r[4]),
                })
                .collect();
            (
                alerts,
                a["results"][0]["error"].as_str().map(str::to_string),
            )
        }
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    page(AlertsPage {
        alerts,
        range: range.name,
        ranges: RANGES,
        error,
    })
}

#[derive(Template)]
#[template(path = "explorer.html")]
struct ExplorerPage {
    databases: Vec<String>,
    database: String,
    query: String,
    /// The dashboards a query can be sent to.
    dashboards: Vec<Dashboard>,
}

/// Column 0 of every row of statement 0.
fn first_column(answer: &serde_json::Value) -> Vec<String> {
    answer["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|row| row.get(0).and_then(|v| v.as_str()).map(str::to_string))
        .collect()
}

async fn explorer_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let databases = match src.query("", "", "SHOW DATABASES").await {
        Ok(a) => first_column(&a),
        Err(e) => return error(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let database = params
        .get("db")
        .cloned()
        .unwrap_or_else(|| src.config.telegraf.clone());
    page(ExplorerPage {
        databases,
        database,
        query: params.get("q").cloned().unwrap_or_default(),
        dashboards: state.dashboards.list(),
    })
}

/// Measurements and retention policies of `db`, or the fields, tags and tag values of
/// `measurement`.
async fn schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let db = params.get("db").cloned().unwrap_or_default();
    let rows = |a: &serde_json::Value, statement: usize| -> Vec<Vec<String>> {
        a["results"][statement]["series"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .map(|r| {
                r.as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .collect()
            })
            .collect()
    };
    let result = match params.get("measurement") {
        None => {
            let q = format!(
                "SHOW MEASUREMENTS; SHOW RETENTION POLICIES ON {}",
                quote_ident(&db)
            );
            src.query(&db, "", &q).await.map(|a| {
                let policies: Vec<String> = rows(&a, 1)
                    .into_iter()
                    .filter_map(|r| r.into_iter().next())
                    .collect();
                serde_json::json!({ "measurements": first_column(&a), "retentionPolicies": policies })
            })
        }
        Some(m) => {
            let q = format!(
                "SHOW FIELD KEYS FROM {m}; SHOW TAG KEYS FROM {m}; SHOW TAG VALUES FROM {m} WITH KEY =~ /.*/",
                m = quote_ident(m)
            );
            src.query(&db, "", &q).await.map(|a| {
                let fields = first_column(&a);
                let tags: Vec<String> = rows(&a, 1)
                    .into_iter()
                    .filter_map(|r| r.into_iter().next())
                    .collect();
                let mut values: std::collections::BTreeMap<String, Vec<String>> =
                    std::collections::BTreeMap::new();
                for r in rows(&a, 2) {
                    if let [k, v] = r.as_slice() {
                        values.entry(k.clone()).or_default().push(v.clone());
                    }
                }
                serde_json::json!({ "fields": fields, "tags": tags, "tagValues": values })
            })
        }
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// Refuses a query sent with `GET` unless every statement only reads (`SELECT` without `INTO`,
/// `SHOW`): a `GET` can be made by any `<img>` on any page, so it must not change anything.
/// `405` as InfluxDB 1.x's own split of GET and POST implies; `400` if it does not parse.
fn read_only(q: &str) -> Result<(), Box<Response>> {
    let refuse = |status, message: &str| Box::new(error(status, message));
    let statements = influxql::parse_statements(q).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            &format!("error parsing query: {e}"),
        )
    })?;
    match statements.iter().find(|s| !s.is_read_only()) {
        None => Ok(()),
        Some(s) => Err(refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "{} changes the store: only SELECT (without INTO) and SHOW may be sent with GET; POST it to /chronograf/v1/sources/{{id}}/proxy",
                s.redacted()
            ),
        )),
    }
}

/// A query's result as CSV (`name,tags,time,<columns>` per series), for download.
async fn csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let (db, q) = (
        params.get("db").cloned().unwrap_or_default(),
        params.get("q").cloned().unwrap_or_default(),
    );
    if let Err(refusal) = read_only(&q) {
        return *refusal;
    }
    let answer = match src.query(&db, "", &q).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let cell = |v: &serde_json::Value| -> String {
        let text = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.contains([',', '"', '\n']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut out = String::new();
    let (series, _) = compact(&answer);
    for s in series {
        let columns: Vec<String> = s["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(cell)
            .collect();
        out.push_str(&format!("name,tags,time,{}\n", columns.join(",")));
        let tags = s["tags"]
            .as_object()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let times = s["times"].as_array().cloned().unwrap_or_default();
        for (n, t) in times.iter().enumerate() {
            let values: Vec<String> = s["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|col| cell(&col[n]))
                .collect();
            out.push_str(&format!(
                "{},{},{},{}\n",
                cell(&s["name"]),
                cell(&serde_json::Value::String(tags.clone())),
                t,
                values.join(",")
            ));
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"query.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}

async fn sources(State(state): State<AppState>) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = state.sources.list().iter().map(source_json).collect();
    Json(serde_json::json!({ "sources": list }))
}

/// A source as Chronograf's API shows it (never its password).
fn source_json(l: &crate::sources::Listed) -> serde_json::Value {
    let c = &l.source.config;
    let id = &l.id;
    serde_json::json!({
        "id": id,
        "name": c.name,
        "type": "influx",
        "username": c.username,
        "url": c.shown_url(),
        "default": id == "1",
        "telegraf": c.telegraf,
        "defaultRP": c.default_rp,
        "configured": l.configured,
        "links": {
            "self": format!("/chronograf/v1/sources/{id}"),
            "proxy": format!("/chronograf/v1/sources/{id}/proxy"),
        },
    })
}

/// The body of `POST`/`PATCH /chronograf/v1/sources`: Chronograf's field names.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    telegraf: String,
    #[serde(default, rename = "defaultRP")]
    default_rp: String,
}

impl SourceBody {
    fn into_config(self) -> crate::source::SourceConfig {
        crate::source::SourceConfig {
            name: self.name,
            url: self.url,
            username: self.username,
            password: self.password,
            telegraf: if self.telegraf.is_empty() {
                "telegraf".into()
            } else {
                self.telegraf
            },
            default_rp: self.default_rp,
        }
    }
}

fn sources_error(e: &crate::sources::SourcesError) -> Response {
    use crate::sources::SourcesError as E;
    let status = match e {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Configured(_) => StatusCode::FORBIDDEN,
        E::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        E::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

/// The listed source `id`, as JSON.
fn listed(state: &AppState, id: &str) -> Response {
    match state.sources.list().iter().find(|l| l.id == id) {
        Some(l) => Json(source_json(l)).into_response(),
        None => no_source(id),
    }
}

/// `POST /chronograf/v1/sources`: adds a source once it answers `/ping`.
async fn create_source(State(state): State<AppState>, Json(body): Json<SourceBody>) -> Response {
    let config = body.into_config();
    if let Err(e) = crate::sources::check(&config) {
        return sources_error(&e);
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    if !Source::new(config.clone(), client).ping().await {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Error contacting source {}: no answer to /ping", config.url),
        );
    }
    match state.sources.add(config) {
        Ok(id) => {
            let mut r = listed(&state, &id);
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        Err(e) => sources_error(&e),
    }
}

/// `GET /chronograf/v1/sources/{id}`.
async fn get_source(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    listed(&state, &id)
}

/// `PATCH /chronograf/v1/sources/{id}`: new settings for an added source.
async fn update_source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<SourceBody>,
) -> Response {
    match state.sources.update(&id, body.into_config()) {
        Ok(()) => listed(&state, &id),
        Err(e) => sources_error(&e),
    }
}

/// `DELETE /chronograf/v1/sources/{id}`.
async fn delete_source(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.sources.remove(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => sources_error(&e),
    }
}

/// A query from a page: InfluxQL and where to run it.
#[derive(serde::Deserialize)]
struct QueryRequest {
    query: String,
    #[serde(default)]
    db: String,
    #[serde(default)]
    rp: String,
}

async fn proxy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<QueryRequest>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match src.query(&req.db, &req.rp, &req.query).await {
        Ok(answer) => Json(serde_json::json!({ "results": answer })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// Chronograf's write proxy: the body (line protocol) goes to the source's `/write` with the
/// request's `db`, `rp` and `precision`; the store's answer comes back as it was.
async fn write(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    let param = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    match src
        .write(param("db"), param("rp"), param("precision"), body.to_vec())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(WriteRefused { status, message }) => error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            &message,
        ),
    }
}

/// Every series of the answer as compact columns: `times` (ms) and one array per column.
pub fn compact(answer: &serde_json::Value) -> (Vec<serde_json::Value>, Option<String>) {
    let mut out = Vec::new();
    let mut error = None;
    for result in answer["results"].as_array().into_iter().flatten() {
        if let Some(e) = result["error"].as_str() {
            error = Some(e.to_string());
        }
        for s in result["series"].as_array().into_iter().flatten() {
            let columns: Vec<&serde_json::Value> = s["columns"]
                .as_array()
                .map(|c| c.iter().skip(1).collect())
                .unwrap_or_default();
            let rows = s["values"].as_array().cloned().unwrap_or_default();
            let times: Vec<serde_json::Value> = rows.iter().map(|r| r[0].clone()).collect();
            let values: Vec<Vec<serde_json::Value>> = (1..=columns.len())
                .map(|i| rows.iter().map(|r| r[i].clone()).collect())
                .collect();
            out.push(serde_json::json!({
                "name": s["name"],
                "tags": s.get("tags").cloned().unwrap_or(serde_json::Value::Null),
                "columns": columns,
                "times": times,
                "values": values,
            }));
        }
    }
    (out, error)
}

async fn series(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<QueryRequest>,
) -> Response {
    let Some(src) = source(&state, &id) else {
        return no_source(&id);
    };
    match src.query(&req.db, &req.rp, &req.query).await {
        Ok(answer) => {
            let (series, error) = compact(&answer);
            Json(serde_json::json!({ "series": series, "error": error })).into_response()
        }
        Err(e) => Json(serde_json::json!({ "series": [], "error": e.to_string() })).into_response(),
    }
}

async fn layouts_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "layouts": *state.layouts }))
}

async fn env_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "telegrafSystemInterval": state.telegraf_interval }))
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "dygraph.min.js" => (DYGRAPH_JS, "application/javascript"),
        "dygraph.min.css" => (DYGRAPH_CSS, "text/css"),
        "app.js" => (APP_JS, "application/javascript"),
        "app.css" => (APP_CSS, "text/css"),
        "explorer.js" => (EXPLORER_JS, "application/javascript"),
        "dashboards.js" => (DASHBOARDS_JS, "application/javascript"),
        "sources.js" => (SOURCES_JS, "application/javascript"),
        "rules.js" => (RULES_JS, "application/javascript"),
        "admin.js" => (ADMIN_JS, "application/javascript"),
        "tickscript.js" => (TICKSCRIPT_JS, "application/javascript"),
        _ => return error(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_columns() {
        let answer = serde_json::json!({"results":[{"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","usage","x"],"values":[[1000,1.5,2],[2000,null,3]]}]}]});
        let (series, error) = compact(&answer);
        assert!(error.is_none());
        assert_eq!(series[0]["times"], serde_json::json!([1000, 2000]));
        assert_eq!(
            series[0]["values"],
            serde_json::json!([[1.5, null], [2, 3]])
        );
        assert_eq!(series[0]["columns"], serde_json::json!(["usage", "x"]));
    }
}
