//! The alerting pages and API: alert rules (list, create, change, delete), the TICKscript
//! editor and the alert history.

use super::kapacitor::tasks;
use super::{error, page, AppState, SourceOf};
use crate::time_range::{self, Range, RANGES};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

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

pub(super) async fn rules_page(State(state): State<AppState>) -> Response {
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

pub(super) async fn list_rules(State(state): State<AppState>) -> Response {
    match tasks(&state).await {
        Ok(t) => Json(serde_json::json!({ "rules": t })).into_response(),
        Err(e) => error(StatusCode::BAD_GATEWAY, &e),
    }
}

pub(super) async fn create_rule(
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

pub(super) async fn update_rule(
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

pub(super) async fn delete_rule(
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
pub(super) async fn tickscript_page(
    State(state): State<AppState>,
    Path((_, tid)): Path<(String, String)>,
) -> Response {
    page(TickscriptPage {
        id: if tid == "new" { String::new() } else { tid },
        kapacitor: state.kapacitor.url.clone(),
    })
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

pub(super) async fn alerts_page(
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let range = time_range::range(params.get("range").map(String::as_str).unwrap_or("24h"));
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
                        .map(crate::time_range::rfc3339_ms)
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
