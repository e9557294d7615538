//! The data API of the pages' scripts: the query proxy, writes, and compact series for charts.

use super::{error, SourceOf};
use crate::source::WriteRefused;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

/// A query from a page: InfluxQL and where to run it.
#[derive(serde::Deserialize)]
pub(super) struct QueryRequest {
    query: String,
    #[serde(default)]
    db: String,
    #[serde(default)]
    rp: String,
}

pub(super) async fn proxy(SourceOf(src): SourceOf, Json(req): Json<QueryRequest>) -> Response {
    match src.query(&req.db, &req.rp, &req.query).await {
        Ok(answer) => Json(serde_json::json!({ "results": answer })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// Chronograf's write proxy: the body (line protocol) goes to the source's `/write` with the
/// request's `db`, `rp` and `precision`; the store's answer comes back as it was.
pub(super) async fn write(
    SourceOf(src): SourceOf,
    Query(params): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
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
pub(super) fn compact(answer: &serde_json::Value) -> (Vec<serde_json::Value>, Option<String>) {
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

pub(super) async fn series(SourceOf(src): SourceOf, Json(req): Json<QueryRequest>) -> Response {
    match src.query(&req.db, &req.rp, &req.query).await {
        Ok(answer) => {
            let (series, error) = compact(&answer);
            Json(serde_json::json!({ "series": series, "error": error })).into_response()
        }
        Err(e) => Json(serde_json::json!({ "series": [], "error": e.to_string() })).into_response(),
    }
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
