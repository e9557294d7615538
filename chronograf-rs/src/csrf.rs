//! Cross-site request forgery defence, with login on or off. A page on another site can make
//! the user's browser send requests here, cookies included; it cannot read our cookies, set
//! custom headers without a CORS preflight we never grant, or hide where it comes from. So
//! every state-changing request (anything but `GET`, `HEAD`, `OPTIONS`) must:
//!
//! - come from our own origin: `Sec-Fetch-Site` is `same-origin` (or `none`, typed by the
//!   user), or else `Origin` names the host the request was sent to; a request with neither
//!   header is not from a browser and goes on to the token check;
//! - carry the CSRF token in `X-CSRF-Token`: the session's (with login), or else the value of
//!   the `tick_csrf` cookie the pages are given (double submit), which only our pages' script
//!   can read;
//! - when it goes to a JSON API, say `Content-Type: application/json`, which a cross-site
//!   form or a "simple" `fetch` cannot send.
//!
//! Scripts that drive the API send any random value as both the `tick_csrf` cookie and the
//! `X-CSRF-Token` header (with login: the session's token, from the `tick_csrf` cookie set at
//! login).

use axum::http::{header, HeaderMap, Method, StatusCode};

/// The CSRF cookie's name: readable by the pages' script, sent back as `X-CSRF-Token`.
pub const COOKIE: &str = "tick_csrf";

/// The header state-changing requests carry the token in.
pub const HEADER: &str = "X-CSRF-Token";

/// Why a request was refused, with the status to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The browser says the request comes from another site.
    #[error("cross-site request refused: {0} does not match this dashboard's origin")]
    CrossSite(&'static str),
    /// No token, or not the session's or the cookie's.
    #[error("missing or wrong CSRF token (send the tick_csrf cookie's value as X-CSRF-Token)")]
    Token,
    /// A JSON API was sent something else.
    #[error("this endpoint takes JSON: send Content-Type: application/json")]
    NotJson,
}

impl Refused {
    /// The HTTP status of the refusal.
    pub fn status(self) -> StatusCode {
        match self {
            Refused::CrossSite(_) | Refused::Token => StatusCode::FORBIDDEN,
            Refused::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// A fresh random token, for sessions and CSRF cookies.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `method` may change state (and so needs the checks).
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks that a request comes from our own origin, as far as the browser tells.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Refused> {
    if let Some(site) = header_str(headers, "sec-fetch-site") {
        return match site.to_ascii_lowercase().as_str() {
            "same-origin" | "none" => Ok(()),
            _ => Err(Refused::CrossSite("Sec-Fetch-Site")),
        };
    }
    let Some(origin) = header_str(headers, header::ORIGIN) else {
        return Ok(());
    };
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .ok_or(Refused::CrossSite("Origin"))?;
    let matches = |name: &str| {
        header_str(headers, name).is_some_and(|host| host.eq_ignore_ascii_case(authority))
    };
    if matches("host") || matches("x-forwarded-host") {
        Ok(())
    } else {
        Err(Refused::CrossSite("Origin"))
    }
}

/// Checks the request's token against `expected` (the session's), or, without a session,
/// against the request's own `tick_csrf` cookie.
pub fn token(headers: &HeaderMap, expected: Option<&str>) -> Result<(), Refused> {
    let sent = header_str(headers, HEADER).unwrap_or("");
    let expected = expected.or_else(|| cookie(headers, COOKIE)).unwrap_or("");
    if !sent.is_empty() && same(sent, expected) {
        Ok(())
    } else {
        Err(Refused::Token)
    }
}

/// Whether `path` is one of the JSON APIs: everything under `/chronograf/v1/` but the write
/// endpoint, which takes line protocol.
fn json_api(path: &str) -> bool {
    path.starts_with("/chronograf/v1/") && !path.ends_with("/write")
}

/// Checks that a request with a body to a JSON API says it is JSON.
pub fn json_body(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), Refused> {
    if !matches!(*method, Method::POST | Method::PUT | Method::PATCH) || !json_api(path) {
        return Ok(());
    }
    let media_type = header_str(headers, header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Refused::NotJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }

    #[test]
    fn only_our_origin_passes() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        for site in ["cross-site", "same-site"] {
            let h = headers(&[("sec-fetch-site", site), ("origin", "http://h:8888")]);
            assert_eq!(same_origin(&h), Err(Refused::CrossSite("Sec-Fetch-Site")));
        }
        let ours = headers(&[("host", "dash:8888"), ("origin", "http://dash:8888")]);
        assert!(same_origin(&ours).is_ok());
        let theirs = headers(&[("host", "dash:8888"), ("origin", "https://evil.example")]);
        assert!(same_origin(&theirs).is_err());
        let sandboxed = headers(&[("host", "dash:8888"), ("origin", "null")]);
        assert!(same_origin(&sandboxed).is_err());
        let proxied = headers(&[
            ("host", "127.0.0.1:8888"),
            ("x-forwarded-host", "dash.example"),
            ("origin", "https://dash.example"),
        ]);
        assert!(same_origin(&proxied).is_ok());
        // Not a browser: left to the token.
        assert!(same_origin(&headers(&[("host", "dash:8888")])).is_ok());
    }

    #[test]
    fn the_token_must_match_the_session_or_the_cookie() {
        let h = headers(&[("x-csrf-token", "abc"), ("cookie", "a=1; tick_csrf=abc")]);
        assert!(token(&h, None).is_ok());
        assert_eq!(token(&h, Some("xyz")), Err(Refused::Token));
        assert!(token(&h, Some("abc")).is_ok());
        let no_header = headers(&[("cookie", "tick_csrf=abc")]);
        assert_eq!(token(&no_header, None), Err(Refused::Token));
        let empty = headers(&[("x-csrf-token", ""), ("cookie", "tick_csrf=")]);
        assert_eq!(token(&empty, None), Err(Refused::Token));
        let no_cookie = headers(&[("x-csrf-token", "abc")]);
        assert_eq!(token(&no_cookie, None), Err(Refused::Token));
    }

    #[test]
    fn json_apis_take_only_json() {
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        let plain = headers(&[("content-type", "text/plain")]);
        let tasks = "/chronograf/v1/sources/1/kapacitors/1/proxy";
        assert!(json_body(&Method::POST, tasks, &json).is_ok());
        assert_eq!(
            json_body(&Method::POST, tasks, &plain),
            Err(Refused::NotJson)
        );
        assert_eq!(
            json_body(&Method::PATCH, tasks, &HeaderMap::new()),
            Err(Refused::NotJson)
        );
        assert!(json_body(&Method::DELETE, tasks, &plain).is_ok());
        assert!(json_body(&Method::POST, "/chronograf/v1/sources/1/write", &plain).is_ok());
        assert!(json_body(&Method::POST, "/login", &plain).is_ok());
    }
}
