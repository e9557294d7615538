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

/// One series of an answer as the charts take it: `times` (ms) and one array per column.
#[derive(Debug, serde::Serialize)]
pub(super) struct Columns {
    pub(super) name: String,
    /// The group's tags; `null` without a GROUP BY.
    pub(super) tags: Option<std::collections::BTreeMap<String, String>>,
    /// Column names after `time`.
    pub(super) columns: Vec<String>,
    pub(super) times: Vec<serde_json::Value>,
    /// One array per column, as long as `times`.
    pub(super) values: Vec<Vec<serde_json::Value>>,
}

/// Every series of the answer as compact columns (the rows are moved, not copied), and the
/// last statement error (else the request's).
pub(super) fn compact(answer: influx_client::QueryResponse) -> (Vec<Columns>, Option<String>) {
    let mut out = Vec::new();
    let mut error = None;
    for result in answer.results {
        if result.error.is_some() {
            error = result.error;
        }
        for s in result.series {
            let width = s.columns.len().saturating_sub(1);
            let mut times = Vec::with_capacity(s.values.len());
            let mut values: Vec<Vec<serde_json::Value>> = (0..width)
                .map(|_| Vec::with_capacity(s.values.len()))
                .collect();
            for row in s.values {
                let mut cells = row.into_iter();
                times.push(cells.next().unwrap_or(serde_json::Value::Null));
                for column in values.iter_mut() {
                    column.push(cells.next().unwrap_or(serde_json::Value::Null));
                }
            }
            out.push(Columns {
                name: s.name,
                tags: (!s.tags.is_empty()).then_some(s.tags),
                columns: s.columns.into_iter().skip(1).collect(),
                times,
                values,
            });
        }
    }
    (out, error.or(answer.error))
}

pub(super) async fn series(SourceOf(src): SourceOf, Json(req): Json<QueryRequest>) -> Response {
    match src.query_answer(&req.db, &req.rp, &req.query).await {
        Ok(answer) => {
            let (series, error) = compact(answer);
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
        let answer: influx_client::QueryResponse = serde_json::from_value(serde_json::json!({"results":[
            {"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","usage","x"],"values":[[1000,1.5,2],[2000,null,3],[3000]]}]},
            {"series":[{"name":"mem","columns":["time","used"],"values":[[1000,7]]}]}
        ]}))
        .unwrap();
        let (series, error) = compact(answer);
        assert!(error.is_none());
        let json = serde_json::to_value(&series).unwrap();
        assert_eq!(json[0]["times"], serde_json::json!([1000, 2000, 3000]));
        assert_eq!(
            json[0]["values"],
            serde_json::json!([[1.5, null, null], [2, 3, null]])
        );
        assert_eq!(json[0]["columns"], serde_json::json!(["usage", "x"]));
        assert_eq!(json[0]["tags"], serde_json::json!({"host": "a"}));
        assert_eq!(json[1]["tags"], serde_json::Value::Null);
        let failed: influx_client::QueryResponse = serde_json::from_value(
            serde_json::json!({"results":[{"error":"database not found: x"}]}),
        )
        .unwrap();
        assert_eq!(compact(failed).1.as_deref(), Some("database not found: x"));
    }
}
