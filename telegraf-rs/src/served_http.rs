//! What the agent's own HTTP servers share (the `influxdb_listener` and `http_listener_v2`
//! inputs, the `prometheus_client` and `health` outputs): basic auth as their
//! `basic_username`/`basic_password` options ask, and request bodies bounded in size before
//! and after gzip.

use axum::http::{header, HeaderMap, StatusCode};
use base64::Engine;
use std::io::Read;

/// The whole `Authorization` header clients must send; `None` when neither a user nor a
/// password is set (no authentication).
pub fn basic_authorization(username: &str, password: &str) -> Option<String> {
    if username.is_empty() && password.is_empty() {
        return None;
    }
    let pair = format!("{username}:{password}");
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
}

/// Whether a request with `headers` may pass when `expected` is required.
pub fn authorized(expected: Option<&str>, headers: &HeaderMap) -> bool {
    match expected {
        None => true,
        Some(expected) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|given| given == expected),
    }
}

/// The body, gunzipped when `Content-Encoding` says so, at most `limit` bytes either way; the
/// status and message of the refusal otherwise.
pub fn decoded_body(
    headers: &HeaderMap,
    body: &[u8],
    limit: u64,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "http: request body too large".to_string(),
        )
    };
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad gzip body: {e}")))?;
    match out.len() as u64 > limit {
        true => Err(too_large()),
        false => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn auth_and_bodies() {
        assert_eq!(basic_authorization("", ""), None);
        let expected = basic_authorization("a", "b").unwrap();
        assert_eq!(expected, "Basic YTpi");
        let mut headers = HeaderMap::new();
        assert!(!authorized(Some(&expected), &headers));
        headers.insert(header::AUTHORIZATION, expected.parse().unwrap());
        assert!(authorized(Some(&expected), &headers));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&[b'x'; 100]).unwrap();
        let packed = gz.finish().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        assert_eq!(decoded_body(&headers, &packed, 100).unwrap().len(), 100);
        assert_eq!(
            decoded_body(&headers, &packed, 99).unwrap_err().0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            decoded_body(&headers, b"not gzip", 99).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
    }
}
