//! The kapacitor-rs connection: Chronograf's kapacitor API (`…/kapacitors`) and its proxy to
//! `/kapacitor/v1/`.

use super::{error, no_source, source, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

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
    pub(super) fn tasks_url(&self, rest: &str) -> String {
        format!(
            "{}/kapacitor/v1/tasks{rest}",
            self.url.trim_end_matches('/')
        )
    }

    /// Sends a request and returns status and JSON body (`{}` when empty).
    pub(super) async fn call(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, serde_json::Value), String> {
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

pub(super) async fn tasks(state: &AppState) -> Result<Vec<serde_json::Value>, String> {
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
pub(super) async fn list_kapacitors(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    if source(&state, &id).is_none() {
        return no_source(&id);
    }
    Json(serde_json::json!({ "kapacitors": [kapacitor_json(&state, &id).await] })).into_response()
}

/// `GET /chronograf/v1/sources/{id}/kapacitors/{kid}`.
pub(super) async fn get_kapacitor(
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

/// Chronograf's proxy to its kapacitor: `?path=/kapacitor/v1/…` with the request's method and
/// JSON body; kapacitor-rs's status and body come back as they were. Only the
/// `/kapacitor/v1/` API is reachable through it.
pub(super) async fn kapacitor_proxy(
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
