//! The sources page and the `/chronograf/v1/sources` API (list, add once it answers, change,
//! remove; never a password).

use super::{error, no_source, page, AppState};
use crate::source::Source;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    sources: Vec<crate::sources::Listed>,
}

/// The sources: the configured ones, and those added here (which can be edited and removed).
pub(super) async fn sources_page(State(state): State<AppState>) -> Response {
    page(SourcesPage {
        sources: state.sources.list(),
    })
}

pub(super) async fn sources(State(state): State<AppState>) -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = state.sources.list().iter().map(source_json).collect();
    Json(serde_json::json!({ "sources": list }))
}

/// A source as Chronograf's API shows it (never its password).
fn source_json(l: &crate::sources::Listed) -> serde_json::Value {
    let c = &l.source.config;
    let id = &l.id;
    serde_json::json!({
        "id": id,
        "name": c.name,
        "type": "influx",
        "username": c.username,
        "url": c.shown_url(),
        "default": id == "1",
        "telegraf": c.telegraf,
        "defaultRP": c.default_rp,
        "configured": l.configured,
        "links": {
            "self": format!("/chronograf/v1/sources/{id}"),
            "proxy": format!("/chronograf/v1/sources/{id}/proxy"),
        },
    })
}

/// The body of `POST`/`PATCH /chronograf/v1/sources`: Chronograf's field names.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SourceBody {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    telegraf: String,
    #[serde(default, rename = "defaultRP")]
    default_rp: String,
}

impl SourceBody {
    fn into_config(self) -> crate::source::SourceConfig {
        crate::source::SourceConfig {
            failover_urls: Vec::new(),
            name: self.name,
            url: self.url,
            username: self.username,
            password: self.password,
            telegraf: if self.telegraf.is_empty() {
                "telegraf".into()
            } else {
                self.telegraf
            },
            default_rp: self.default_rp,
        }
    }
}

fn sources_error(e: &crate::sources::SourcesError) -> Response {
    use crate::sources::SourcesError as E;
    let status = match e {
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Configured(_) => StatusCode::FORBIDDEN,
        E::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        E::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

/// The listed source `id`, as JSON.
fn listed(state: &AppState, id: &str) -> Response {
    match state.sources.list().iter().find(|l| l.id == id) {
        Some(l) => Json(source_json(l)).into_response(),
        None => no_source(id),
    }
}

/// `POST /chronograf/v1/sources`: adds a source once it answers `/ping`.
pub(super) async fn create_source(
    State(state): State<AppState>,
    Json(body): Json<SourceBody>,
) -> Response {
    let config = body.into_config();
    if let Err(e) = crate::sources::check(&config) {
        return sources_error(&e);
    }
    let answers = match Source::new(config.clone(), std::time::Duration::from_secs(5)) {
        Ok(source) => source.ping().await,
        Err(_) => false,
    };
    if !answers {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Error contacting source {}: no answer to /ping", config.url),
        );
    }
    match state.sources.add(config) {
        Ok(id) => {
            let mut r = listed(&state, &id);
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        Err(e) => sources_error(&e),
    }
}

/// `GET /chronograf/v1/sources/{id}`.
pub(super) async fn get_source(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    listed(&state, &id)
}

/// `PATCH /chronograf/v1/sources/{id}`: new settings for an added source.
pub(super) async fn update_source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<SourceBody>,
) -> Response {
    match state.sources.update(&id, body.into_config()) {
        Ok(()) => listed(&state, &id),
        Err(e) => sources_error(&e),
    }
}

/// `DELETE /chronograf/v1/sources/{id}`.
pub(super) async fn delete_source(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    match state.sources.remove(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => sources_error(&e),
    }
}
