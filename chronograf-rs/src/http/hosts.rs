//! The host list and a host's page of charts, with the canned layouts and the environment they
//! use.

use super::{error, json_or_bad_gateway, no_source, page, source, AppState, SourceOf};
use crate::hosts::{self, Host};
use crate::layouts::{self, HostScope, Layout};
use crate::time_range::{Range, TimeWindow, RANGES};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::{BTreeSet, HashMap};

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    source: String,
    database: String,
    hosts: Vec<Host>,
    error: Option<String>,
}

pub(super) async fn hosts_page(State(state): State<AppState>, SourceOf(src): SourceOf) -> Response {
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

pub(super) async fn hosts_json(State(state): State<AppState>, SourceOf(src): SourceOf) -> Response {
    json_or_bad_gateway(
        "hosts",
        hosts::list(&src, &state.telegraf_interval, &state.layouts).await,
    )
}

/// One cell of a host page.
struct PageCell {
    name: String,
    kind: String,
    /// The completed queries, as JSON for the page's script.
    queries: String,
    /// The cell's y axis (label, units), as JSON for the page's script.
    y_axis: String,
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    host: String,
    database: String,
    rp: String,
    range: String,
    ranges: &'static [Range],
    /// The apps the host reports, `system` first: one tab each.
    apps: Vec<String>,
    /// The app shown.
    app: String,
    cells: Vec<PageCell>,
}

/// The apps of `layouts`, `system` first, then by name.
fn apps_in(layouts: &[&Layout]) -> Vec<String> {
    let names: BTreeSet<&str> = layouts.iter().map(|l| l.app.as_str()).collect();
    let (system, others): (Vec<&str>, Vec<&str>) = names.into_iter().partition(|a| *a == "system");
    system
        .into_iter()
        .chain(others)
        .map(str::to_string)
        .collect()
}

/// A host's page as Chronograf lays it out: the layouts of one app (`?app=`, else `system`)
/// whose measurement has series for the host, with a tab for each app the host reports.
pub(super) async fn host_page(
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
    let shown: Vec<&Layout> = state
        .layouts
        .iter()
        .filter(|l| present.contains(&l.measurement))
        .collect();
    let apps = apps_in(&shown);
    let app = params
        .get("app")
        .filter(|a| apps.contains(a))
        .or(apps.first())
        .cloned()
        .unwrap_or_default();
    let scope = HostScope {
        host: &host,
        db: &src.config.telegraf,
        rp: &src.config.default_rp,
    };
    let cells = shown
        .iter()
        .filter(|l| l.app == app)
        .flat_map(|l| l.cells.iter())
        .map(|c| PageCell {
            name: c.name.clone(),
            kind: c.visualization().to_string(),
            queries: serde_json::to_string(
                &c.queries
                    .iter()
                    .map(|q| layouts::complete(q, scope, &window))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            y_axis: c
                .y_axis()
                .and_then(|a| serde_json::to_string(a).ok())
                .unwrap_or_default(),
        })
        .collect();
    page(HostPage {
        host,
        database: src.config.telegraf.clone(),
        rp: src.config.default_rp.clone(),
        range: window.name,
        ranges: RANGES,
        apps,
        app,
        cells,
    })
}

/// `GET /chronograf/v1/layouts`: every layout, or those of the `app`s and `measurement`s
/// asked for (either matches, several of each allowed), as Chronograf answers.
pub(super) async fn layouts_json(
    State(state): State<AppState>,
    Query(params): Query<Vec<(String, String)>>,
) -> Json<serde_json::Value> {
    let wanted: BTreeSet<&str> = params
        .iter()
        .filter(|(k, _)| k == "app" || k == "measurement")
        .map(|(_, v)| v.as_str())
        .collect();
    let layouts: Vec<serde_json::Value> = state
        .layouts
        .iter()
        .filter(|l| {
            wanted.is_empty()
                || wanted.contains(l.app.as_str())
                || wanted.contains(l.measurement.as_str())
        })
        .map(Layout::to_api)
        .collect();
    Json(serde_json::json!({ "layouts": layouts }))
}

/// `GET /chronograf/v1/layouts/:id`.
pub(super) async fn layout_json(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.layouts.iter().find(|l| l.id == id) {
        Some(layout) => Json(layout.to_api()).into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("ID {id} not found")),
    }
}

pub(super) async fn env_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "telegrafSystemInterval": state.telegraf_interval }))
}
