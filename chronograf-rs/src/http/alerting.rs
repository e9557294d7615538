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
    /// The rule's name, else the task id.
    name: String,
    /// `threshold`, `relative`, `deadman`, or the task's type (`stream`, `batch`) for a
    /// TICKscript written by hand.
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
        .map(|t| {
            let id = t["id"].as_str().unwrap_or_default().to_string();
            let (name, trigger) = crate::rules::rule_identity(t["script"].as_str().unwrap_or(""));
            RuleRow {
                name: name.unwrap_or_else(|| id.clone()),
                kind: trigger.unwrap_or_else(|| {
                    format!("TICKscript ({})", t["type"].as_str().unwrap_or("stream"))
                }),
                id,
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
            }
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
    /// `2026-12-06 19:30:00 UTC`.
    time: String,
    name: String,
    level: String,
    /// The group's tags (`host=web1`, `cpu=cpu0`).
    tags: Vec<String>,
    /// Rounded to 2 decimals.
    value: String,
    message: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    alerts: Vec<AlertRow>,
    range: &'static str,
    ranges: &'static [Range],
    /// The level shown (`CRITICAL`), empty for all.
    level: String,
    levels: &'static [&'static str],
    error: Option<String>,
}

/// The alert levels, most severe first.
const LEVELS: &[&str] = &["CRITICAL", "WARNING", "INFO", "OK"];

/// The columns of an alert event that are not the group's tags.
const EVENT_COLUMNS: &[&str] = &[
    "time",
    "alertID",
    "alertName",
    "level",
    "triggerType",
    "value",
    "message",
    "duration",
];

/// The rows of the answer to `SELECT * FROM alerts …`, newest first.
fn alert_rows(answer: &serde_json::Value) -> Vec<AlertRow> {
    let series = &answer["results"][0]["series"][0];
    let columns: Vec<&str> = series["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
        .collect();
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{}", (f * 100.0).round() / 100.0),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    };
    series["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| row.as_array())
        .map(|row| {
            let column = |name: &str| {
                columns
                    .iter()
                    .position(|c| *c == name)
                    .and_then(|i| row.get(i))
            };
            let tags = columns
                .iter()
                .zip(row)
                .filter(|(c, v)| !EVENT_COLUMNS.contains(c) && !v.is_null())
                .map(|(c, v)| format!("{c}={}", text(Some(v))))
                .collect();
            AlertRow {
                time: column("time")
                    .and_then(|t| t.as_i64())
                    .map(|ms| format!("{} UTC", crate::time_range::rfc3339_ms(ms)))
                    .unwrap_or_default(),
                name: text(column("alertName")),
                level: text(column("level")),
                tags,
                value: text(column("value")),
                message: text(column("message")),
            }
        })
        .collect()
}

/// The alert history: the events the rules wrote into `chronograf.alerts`, in a range and
/// optionally of one level. A store without that database (no rule fired yet) has none.
pub(super) async fn alerts_page(
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let range = time_range::range(params.get("range").map(String::as_str).unwrap_or("24h"));
    let level = params
        .get("level")
        .filter(|l| LEVELS.contains(&l.as_str()))
        .cloned()
        .unwrap_or_default();
    let mut q = format!("SELECT * FROM alerts WHERE time > {}", range.lower);
    if !level.is_empty() {
        q.push_str(&format!(
            " AND \"level\" = {}",
            influxql::quote_string(&level)
        ));
    }
    q.push_str(" ORDER BY time desc LIMIT 1000");
    let (alerts, error) = match src.query("chronograf", "", &q).await {
        Ok(a) => {
            let error = a["results"][0]["error"]
                .as_str()
                .filter(|e| !e.starts_with("database not found"))
                .map(str::to_string);
            (alert_rows(&a), error)
        }
        Err(e) if e.to_string().contains("database not found") => (Vec::new(), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    page(AlertsPage {
        alerts,
        range: range.name,
        ranges: RANGES,
        level,
        levels: LEVELS,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_rows_show_the_group_rounded_values_and_the_zone() {
        let answer = serde_json::json!({"results": [{"series": [{
            "name": "alerts",
            "columns": ["time", "alertID", "alertName", "cpu", "duration", "host", "level", "message", "triggerType", "value"],
            "values": [
                [1480550400000i64, "cpu hot-host=a", "cpu hot", "cpu0", 0, "a", "CRITICAL", "a is CRITICAL", "threshold", 93.456789],
                [1480550300000i64, "dead-host=b", "dead", null, 0, "b", "OK", "b is OK", "deadman", 3]
            ]
        }]}]});
        let rows = alert_rows(&answer);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].time, "2016-12-01 00:00:00 UTC");
        assert_eq!(rows[0].name, "cpu hot");
        assert_eq!(rows[0].tags, ["cpu=cpu0", "host=a"]);
        assert_eq!(rows[0].value, "93.46");
        assert_eq!(rows[0].message, "a is CRITICAL");
        assert_eq!(rows[1].tags, ["host=b"]);
        assert_eq!(rows[1].value, "3");
        assert!(alert_rows(&serde_json::json!({"results": [{}]})).is_empty());
    }
}
