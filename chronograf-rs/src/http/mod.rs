//! Pages (server-rendered with askama, escaped) and the JSON endpoints they call: the host
//! list, a host's charts, the `/chronograf/v1` sources, layouts, environment, a proxy and
//! compact series for charts. InfluxQL only ever goes to configured sources.

mod assets;
mod cluster;
mod kapacitor;

pub use kapacitor::Kapacitor;
mod admin;
mod alerting;
mod dashboards;
mod data;
mod explorer;
mod hosts;
mod sources;

use crate::dashboards::DashboardStore;
use crate::layouts::Layout;
use crate::source::Source;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
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

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/sources/1/hosts") }))
        .route("/ping", get(|| async { StatusCode::NO_CONTENT }))
        .route("/sources/{id}/hosts", get(hosts::hosts_page))
        .route("/sources/{id}/hosts/{host}", get(hosts::host_page))
        .route(
            "/sources/{id}/chronograf/data-explorer",
            get(explorer::explorer_page),
        )
        .route("/chronograf/v1/sources/{id}/schema", get(explorer::schema))
        .route("/chronograf/v1/sources/{id}/csv", get(explorer::csv))
        .route("/sources/{id}/dashboards", get(dashboards::dashboards_page))
        .route(
            "/sources/{id}/dashboards/{did}",
            get(dashboards::dashboard_page),
        )
        .route(
            "/chronograf/v1/dashboards",
            get(dashboards::list_dashboards).post(dashboards::create_dashboard),
        )
        .route(
            "/chronograf/v1/dashboards/{did}",
            get(dashboards::get_dashboard)
                .put(dashboards::replace_dashboard)
                .delete(dashboards::delete_dashboard),
        )
        .route(
            "/chronograf/v1/dashboards/{did}/render",
            get(dashboards::render),
        )
        .route("/sources/{id}/alert-rules", get(alerting::rules_page))
        .route("/sources/{id}/alerts", get(alerting::alerts_page))
        .route(
            "/chronograf/v1/sources/{id}/kapacitors",
            get(kapacitor::list_kapacitors),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}",
            get(kapacitor::get_kapacitor),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/rules",
            get(alerting::list_rules).post(alerting::create_rule),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/rules/{rid}",
            axum::routing::patch(alerting::update_rule).delete(alerting::delete_rule),
        )
        .route("/sources/{id}/admin", get(admin::admin_page))
        .route("/sources/{id}/cluster", get(cluster::cluster_page))
        .route(
            "/chronograf/v1/sources/{id}/cluster",
            get(cluster::cluster_json),
        )
        .route(
            "/sources/{id}/tickscripts/{tid}",
            get(alerting::tickscript_page),
        )
        .route(
            "/chronograf/v1/sources/{id}/kapacitors/{kid}/proxy",
            axum::routing::any(kapacitor::kapacitor_proxy),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs",
            get(admin::list_dbs).post(admin::create_db),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs/{db}",
            axum::routing::delete(admin::drop_db),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs/{db}/rps",
            post(admin::create_rp),
        )
        .route(
            "/chronograf/v1/sources/{id}/users",
            get(admin::list_users).post(admin::change_user),
        )
        .route(
            "/chronograf/v1/sources/{id}/queries",
            get(admin::list_queries),
        )
        .route(
            "/chronograf/v1/sources/{id}/queries/{qid}",
            axum::routing::delete(admin::kill_query),
        )
        .route(
            "/chronograf/v1/sources/{id}/dbs/{db}/rps/{rp}",
            axum::routing::delete(admin::drop_rp).patch(admin::alter_rp),
        )
        .route(
            "/chronograf/v1/sources",
            get(sources::sources).post(sources::create_source),
        )
        .route(
            "/chronograf/v1/sources/{id}",
            get(sources::get_source)
                .patch(sources::update_source)
                .delete(sources::delete_source),
        )
        .route("/sources", get(sources::sources_page))
        .route("/chronograf/v1/sources/{id}/proxy", post(data::proxy))
        .route("/chronograf/v1/sources/{id}/write", post(data::write))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/chronograf/v1/sources/{id}/series", post(data::series))
        .route("/chronograf/v1/sources/{id}/hosts", get(hosts::hosts_json))
        .route("/chronograf/v1/layouts", get(hosts::layouts_json))
        .route("/chronograf/v1/layouts/{id}", get(hosts::layout_json))
        .route("/chronograf/v1/env", get(hosts::env_json))
        .route("/assets/{file}", get(assets::asset))
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

/// The source a request's `{id}` names, looked up before the handler runs: a handler that takes
/// it never sees an id that is not in the list, and an unknown id is answered 404 in one place.
struct SourceOf(Source);

impl axum::extract::FromRequestParts<AppState> for SourceOf {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        source(state, id).map(SourceOf).ok_or_else(|| no_source(id))
    }
}

/// `{key: value}` when the store answered, else 502 with its words: how the JSON endpoints that
/// read from a source answer.
fn json_or_bad_gateway<T: serde::Serialize, E: std::fmt::Display>(
    key: &str,
    read: Result<T, E>,
) -> Response {
    match read {
        Ok(value) => Json(serde_json::json!({ key: value })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

fn page<T: Template>(t: T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
