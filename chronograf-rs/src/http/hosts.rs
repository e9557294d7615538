//! The host list and a host's page of charts, with the canned layouts and the environment they
//! use.

use super::{error, json_or_bad_gateway, no_source, page, source, AppState, SourceOf};
use crate::hosts::{self, Host};
use crate::layouts::{self, Range, TimeWindow, RANGES};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use std::collections::HashMap;

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

pub(super) async fn layouts_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "layouts": *state.layouts }))
}

pub(super) async fn env_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "telegrafSystemInterval": state.telegraf_interval }))
}
