//! Dashboards: the `/chronograf/v1/dashboards` API, the list page and a dashboard's page with
//! its template variables.

use super::{error, page, AppState};
use crate::dashboards::{render_query, Dashboard, DashboardError, CELL_TYPES};
use crate::source::Source;
use crate::time_range::{Range, TimeWindow, RANGES};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

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

pub(super) async fn list_dashboards(State(state): State<AppState>) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = state.dashboards.list().iter().map(with_links).collect();
    Json(serde_json::json!({ "dashboards": list }))
}

pub(super) async fn create_dashboard(
    State(state): State<AppState>,
    Json(d): Json<Dashboard>,
) -> Response {
    match state.dashboards.create(d) {
        Ok(d) => (StatusCode::CREATED, Json(with_links(&d))).into_response(),
        Err(e) => dashboard_error(e),
    }
}

pub(super) async fn get_dashboard(State(state): State<AppState>, Path(did): Path<u64>) -> Response {
    match state.dashboards.get(did) {
        Ok(d) => Json(with_links(&d)).into_response(),
        Err(e) => dashboard_error(e),
    }
}

/// `GET /chronograf/v1/dashboards/{did}/render?query=…`: `query` with the dashboard's
/// variables (chosen by the same `tempVars[…]` parameters as its page, else their defaults)
/// and the page's time range put in, exactly as the page draws its cells — so that the cell
/// editor's preview asks what the saved cell will ask.
pub(super) async fn render(
    State(state): State<AppState>,
    Path(did): Path<u64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let d = match state.dashboards.get(did) {
        Ok(d) => d,
        Err(e) => return dashboard_error(e),
    };
    let window = TimeWindow::from_params(&params, "1h");
    let (_, bindings) = resolve_vars(state.sources.first().as_ref(), &d.templates, &params).await;
    let query = params.get("query").map(String::as_str).unwrap_or_default();
    Json(serde_json::json!({
        "query": crate::template_vars::substitute(&render_query(query, &window), &bindings)
    }))
    .into_response()
}

pub(super) async fn replace_dashboard(
    State(state): State<AppState>,
    Path(did): Path<u64>,
    Json(d): Json<Dashboard>,
) -> Response {
    match state.dashboards.replace(did, d) {
        Ok(d) => Json(with_links(&d)).into_response(),
        Err(e) => dashboard_error(e),
    }
}

pub(super) async fn delete_dashboard(
    State(state): State<AppState>,
    Path(did): Path<u64>,
) -> Response {
    match state.dashboards.delete(did) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => dashboard_error(e),
    }
}

#[derive(Template)]
#[template(path = "dashboards.html")]
struct DashboardsPage {
    dashboards: Vec<Dashboard>,
}

pub(super) async fn dashboards_page(State(state): State<AppState>) -> Response {
    page(DashboardsPage {
        dashboards: state.dashboards.list(),
    })
}

/// A cell as the dashboard page draws it.
struct DrawnCell {
    i: String,
    name: String,
    /// The cell's note, shown with its title (empty: none).
    note: String,
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
    /// The single-stat and gauge colours, as JSON.
    colors: String,
    /// `hover` for a legend shown only on hover, else empty.
    legend: String,
    /// Fixed decimals of the values, empty for automatic.
    decimals: String,
    /// For a table: its `tableOptions`, `fieldOptions` and `timeFormat`, as JSON; else empty.
    table: String,
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
    /// The window's length, from which each chart computes its `:interval:`.
    range_ms: i64,
    range: String,
    ranges: &'static [Range],
    cell_types: &'static [&'static str],
    cells: Vec<DrawnCell>,
}

pub(super) async fn dashboard_page(
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
            colors: serde_json::to_string(&c.colors).unwrap_or_default(),
            legend: if c.legend.kind == "hover" {
                "hover".into()
            } else {
                String::new()
            },
            decimals: if c.decimal_places.is_enforced {
                c.decimal_places.digits.min(10).to_string()
            } else {
                String::new()
            },
            table: if c.kind == "table" {
                serde_json::json!({
                    "tableOptions": c.table_options,
                    "fieldOptions": c.field_options,
                    "timeFormat": c.time_format,
                })
                .to_string()
            } else {
                String::new()
            },
            x: c.x.min(11),
            y: c.y,
            w: c.w.clamp(1, 12 - c.x.min(11)),
            h: c.h.max(1),
            i: c.i,
            name: c.name,
            note: c.note,
            kind: c.kind,
        })
        .collect();
    page(DashboardPage {
        id: d.id,
        name: d.name,
        vars,
        range_ms: window.duration_ms,
        range: window.name,
        ranges: RANGES,
        cell_types: CELL_TYPES,
        cells,
    })
}
