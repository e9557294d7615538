//! The dashboard's scripts and styles, embedded at build time (dygraphs and Bootstrap 5 from
//! Debian's `libjs-dygraphs` and `libjs-bootstrap5`), served under `/assets/`.

use super::error;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

static DYGRAPH_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.js"));

static DYGRAPH_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.css"));

static BOOTSTRAP_CSS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.min.css"));

static BOOTSTRAP_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.bundle.min.js"));

static FAVICON: &[u8] = include_bytes!("../../assets/favicon.svg");

static THEME_JS: &[u8] = include_bytes!("../../assets/theme.js");

static APP_JS: &[u8] = include_bytes!("../../assets/app.js");

static APP_CSS: &[u8] = include_bytes!("../../assets/app.css");

static EXPLORER_JS: &[u8] = include_bytes!("../../assets/explorer.js");

static DASHBOARDS_JS: &[u8] = include_bytes!("../../assets/dashboards.js");

static SOURCES_JS: &[u8] = include_bytes!("../../assets/sources.js");

static RULES_JS: &[u8] = include_bytes!("../../assets/rules.js");

static ADMIN_JS: &[u8] = include_bytes!("../../assets/admin.js");

static TICKSCRIPT_JS: &[u8] = include_bytes!("../../assets/tickscript.js");

pub(super) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "dygraph.min.js" => (DYGRAPH_JS, "application/javascript"),
        "dygraph.min.css" => (DYGRAPH_CSS, "text/css"),
        "bootstrap.min.css" => (BOOTSTRAP_CSS, "text/css"),
        "bootstrap.bundle.min.js" => (BOOTSTRAP_JS, "application/javascript"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        "theme.js" => (THEME_JS, "application/javascript"),
        "app.js" => (APP_JS, "application/javascript"),
        "app.css" => (APP_CSS, "text/css"),
        "explorer.js" => (EXPLORER_JS, "application/javascript"),
        "dashboards.js" => (DASHBOARDS_JS, "application/javascript"),
        "sources.js" => (SOURCES_JS, "application/javascript"),
        "rules.js" => (RULES_JS, "application/javascript"),
        "admin.js" => (ADMIN_JS, "application/javascript"),
        "tickscript.js" => (TICKSCRIPT_JS, "application/javascript"),
        _ => return error(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
