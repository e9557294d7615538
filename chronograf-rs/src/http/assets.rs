//! The dashboard's scripts and styles, embedded at build time (dygraphs, Bootstrap 5 and
//! CodeMirror from Debian's `libjs-dygraphs`, `libjs-bootstrap5` and `libjs-codemirror`),
//! served under `/assets/` — gzipped (once, at the first request) to browsers that take it.

use super::error;
use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

const JS: &str = "application/javascript";
const CSS: &str = "text/css";

/// Every asset: its name under `/assets/`, its bytes and its content type.
static ASSETS: &[(&str, &[u8], &str)] = &[
    (
        "dygraph.min.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.js")),
        JS,
    ),
    (
        "dygraph.min.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/dygraph.min.css")),
        CSS,
    ),
    (
        "bootstrap.min.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.min.css")),
        CSS,
    ),
    (
        "bootstrap.bundle.min.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/bootstrap.bundle.min.js")),
        JS,
    ),
    (
        "codemirror.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/codemirror.js")),
        JS,
    ),
    (
        "codemirror.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/codemirror.css")),
        CSS,
    ),
    (
        "favicon.svg",
        include_bytes!("../../assets/favicon.svg"),
        "image/svg+xml",
    ),
    ("theme.js", include_bytes!("../../assets/theme.js"), JS),
    ("app.js", include_bytes!("../../assets/app.js"), JS),
    ("app.css", include_bytes!("../../assets/app.css"), CSS),
    ("editor.js", include_bytes!("../../assets/editor.js"), JS),
    ("builder.js", include_bytes!("../../assets/builder.js"), JS),
    (
        "explorer.js",
        include_bytes!("../../assets/explorer.js"),
        JS,
    ),
    (
        "dashboards.js",
        include_bytes!("../../assets/dashboards.js"),
        JS,
    ),
    ("sources.js", include_bytes!("../../assets/sources.js"), JS),
    ("rules.js", include_bytes!("../../assets/rules.js"), JS),
    ("admin.js", include_bytes!("../../assets/admin.js"), JS),
    (
        "tickscript.js",
        include_bytes!("../../assets/tickscript.js"),
        JS,
    ),
];

/// The assets gzipped, by name.
fn gzipped() -> &'static HashMap<&'static str, Vec<u8>> {
    static GZIPPED: OnceLock<HashMap<&'static str, Vec<u8>>> = OnceLock::new();
    GZIPPED.get_or_init(|| {
        ASSETS
            .iter()
            .filter_map(|(name, body, _)| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                gz.write_all(body).ok()?;
                Some((*name, gz.finish().ok()?))
            })
            .collect()
    })
}

/// Whether the request's `Accept-Encoding` takes gzip.
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.trim().split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (coding == "gzip" || coding == "*") && !refused
        })
}

pub(super) async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((name, body, kind)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return error(StatusCode::NOT_FOUND, "no such asset");
    };
    let cache = (header::CACHE_CONTROL, "public, max-age=3600");
    let vary = (header::VARY, "Accept-Encoding");
    match gzipped().get(name).filter(|_| takes_gzip(&headers)) {
        Some(gz) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CONTENT_ENCODING, "gzip"),
                cache,
                vary,
            ],
            gz.clone(),
        )
            .into_response(),
        None => ([(header::CONTENT_TYPE, *kind), cache, vary], *body).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_only_when_taken() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            takes_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("gzip;q=0, br"));
        assert!(!with("identity"));
        assert!(!takes_gzip(&HeaderMap::new()));
        for (name, body, _) in ASSETS {
            let gz = &gzipped()[name];
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut back)
                .unwrap();
            assert_eq!(&back[..], *body, "{name}");
        }
    }
}
