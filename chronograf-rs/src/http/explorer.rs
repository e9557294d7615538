//! The Data Explorer: its page, the schema it browses, and query results as CSV.

use super::data::compact;
use super::{error, page, AppState, SourceOf};
use crate::dashboards::Dashboard;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use influxql::quote_ident;
use std::collections::HashMap;

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
pub(super) fn first_column(answer: &serde_json::Value) -> Vec<String> {
    answer["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|row| row.get(0).and_then(|v| v.as_str()).map(str::to_string))
        .collect()
}

pub(super) async fn explorer_page(
    State(state): State<AppState>,
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
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
pub(super) async fn schema(
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
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
pub(super) async fn csv(
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (db, q) = (
        params.get("db").cloned().unwrap_or_default(),
        params.get("q").cloned().unwrap_or_default(),
    );
    if let Err(refusal) = read_only(&q) {
        return *refusal;
    }
    let answer = match src.query_answer(&db, "", &q).await {
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
    let (series, _) = compact(answer);
    for s in series {
        let columns: Vec<String> = s
            .columns
            .iter()
            .map(|c| cell(&serde_json::Value::String(c.clone())))
            .collect();
        out.push_str(&format!("name,tags,time,{}\n", columns.join(",")));
        let tags = s
            .tags
            .as_ref()
            .map(|t| {
                t.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        for (n, t) in s.times.iter().enumerate() {
            let values: Vec<String> = s
                .values
                .iter()
                .map(|col| col.get(n).map(cell).unwrap_or_default())
                .collect();
            out.push_str(&format!(
                "{},{},{},{}\n",
                cell(&serde_json::Value::String(s.name.clone())),
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
