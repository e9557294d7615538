//! `inputs.http_response`: whether URLs answer as expected — status, a regular expression in
//! the body, time taken — as `http_response` with tags `server`, `method`, `status_code`,
//! `result` and Telegraf's fields and result codes.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::inputs::http_auth::HttpAuth;
use crate::options::{GoDuration, Size};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// Options of `[[inputs.http_response]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpResponseConfig {
    /// The URLs checked.
    pub urls: Vec<String>,
    /// How long a request may take.
    pub response_timeout: GoDuration,
    /// HTTP method.
    pub method: String,
    /// Follow redirects instead of reporting them.
    pub follow_redirects: bool,
    /// Request body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// File holding a bearer token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bearer_token: String,
    /// A regular expression the body must match.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_string_match: String,
    /// The status the answer must have (0: any).
    pub response_status_code: u16,
    /// A field that receives the body, when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_body_field: String,
    /// Largest body read.
    pub response_body_max_size: Size,
    /// Response header → tag.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_header_tags: BTreeMap<String, String>,
}

impl Default for HttpResponseConfig {
    fn default() -> Self {
        HttpResponseConfig {
            urls: vec!["http://localhost".into()],
            response_timeout: GoDuration::secs(5),
            method: "GET".into(),
            follow_redirects: false,
            body: String::new(),
            headers: BTreeMap::new(),
            username: String::new(),
            password: String::new(),
            bearer_token: String::new(),
            response_string_match: String::new(),
            response_status_code: 0,
            response_body_field: String::new(),
            response_body_max_size: Size(32 << 20),
            http_header_tags: BTreeMap::new(),
        }
    }
}

/// Builds the input.
pub fn build(c: &HttpResponseConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: String| InputError::Settings(m);
    let method = reqwest::Method::from_bytes(c.method.as_bytes())
        .map_err(|_| settings(format!("method {:?} is not an HTTP method", c.method)))?;
    let string_match = match c.response_string_match.as_str() {
        "" => None,
        re => Some(
            regex::bytes::Regex::new(re)
                .map_err(|e| settings(format!("response_string_match: {e}")))?,
        ),
    };
    let redirects = match c.follow_redirects {
        true => reqwest::redirect::Policy::limited(10),
        false => reqwest::redirect::Policy::none(),
    };
    let client = reqwest::Client::builder()
        .timeout(c.response_timeout.0)
        .redirect(redirects)
        .build()
        .map_err(|e| settings(e.to_string()))?;
    Ok(Box::new(HttpResponse {
        config: c.clone(),
        method,
        string_match,
        client,
    }))
}

struct HttpResponse {
    config: HttpResponseConfig,
    method: reqwest::Method,
    string_match: Option<regex::bytes::Regex>,
    client: reqwest::Client,
}

/// Telegraf's result names and codes.
fn result_code(result: &str) -> i64 {
    match result {
        "success" => 0,
        "response_string_mismatch" => 1,
        "body_read_error" => 2,
        "connection_failed" => 3,
        "timeout" => 4,
        "dns_error" => 5,
        _ => 6,
    }
}

impl HttpResponse {
    async fn check(
        &self,
        url: &str,
        m: &mut crate::metric::Metric,
    ) -> Result<&'static str, InputError> {
        let auth = HttpAuth {
            username: &self.config.username,
            password: &self.config.password,
            token: "",
            token_file: &self.config.bearer_token,
        };
        let req = auth.request(
            &self.client,
            &self.method,
            url,
            &self.config.headers,
            &self.config.body,
        )?;
        let start = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Ok("timeout"),
            Err(e) => {
                let chain = influx_client::error_chain(&e);
                let dns = chain.contains("dns error") || chain.contains("failed to lookup address");
                return Ok(if dns {
                    "dns_error"
                } else {
                    "connection_failed"
                });
            }
        };
        m.add_field("response_time", start.elapsed().as_secs_f64());
        for (header, tag) in &self.config.http_header_tags {
            if let Some(v) = resp.headers().get(header).and_then(|v| v.to_str().ok()) {
                m.tags.insert(tag.clone(), v.to_string());
            }
        }
        let status = resp.status().as_u16();
        m.tags.insert("status_code".into(), status.to_string());
        m.add_field("http_response_code", i64::from(status));
        let limit = usize::try_from(self.config.response_body_max_size.0).unwrap_or(usize::MAX);
        let mut body = Vec::new();
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > limit {
                        return Ok("body_read_error");
                    }
                }
                Ok(None) => break,
                Err(_) => return Ok("body_read_error"),
            }
        }
        if !self.config.response_body_field.is_empty() {
            match String::from_utf8(body.clone()) {
                Ok(text) => m.add_field(self.config.response_body_field.clone(), text),
                Err(_) => return Ok("body_read_error"),
            }
        }
        m.add_field("content_length", body.len() as i64);
        let mut result = "success";
        if let Some(re) = &self.string_match {
            let matched = re.is_match(&body);
            m.add_field("response_string_match", i64::from(matched));
            if !matched {
                result = "response_string_mismatch";
            }
        }
        if self.config.response_status_code > 0 {
            let matched = status == self.config.response_status_code;
            m.add_field("response_status_code_match", i64::from(matched));
            if !matched {
                result = "response_status_code_mismatch";
            }
        }
        Ok(result)
    }
}

impl Input for HttpResponse {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            for url in &self.config.urls {
                let mut m = acc
                    .metric("http_response")
                    .with_tag("server", url.clone())
                    .with_tag("method", self.config.method.clone());
                let result = self.check(url, &mut m).await?;
                m.tags.insert("result".into(), result.into());
                m.add_field("result_type", result);
                m.add_field("result_code", result_code(result));
                acc.push(m);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with, serve_http};
    use crate::metric::FieldValue;

    fn check(c: HttpResponseConfig) -> crate::metric::Metric {
        let fx = fixture(&[]);
        let mut input = build(&c, &fx.ctx()).unwrap();
        gather_with(&mut input).remove(0)
    }

    #[test]
    fn success_mismatch_and_failure() {
        let url = serve_http(200, "{\"service_status\": \"up\"}", 3);
        let ok = check(HttpResponseConfig {
            urls: vec![url.clone()],
            response_string_match: "\"service_status\": \"up\"".into(),
            response_status_code: 200,
            ..HttpResponseConfig::default()
        });
        assert_eq!(ok.tags["result"], "success");
        assert_eq!(ok.tags["status_code"], "200");
        assert_eq!(ok.field("content_length"), Some(&FieldValue::Int(24)));
        assert_eq!(ok.field("response_string_match"), Some(&FieldValue::Int(1)));
        assert!(ok.field("response_time").is_some());
        let mismatch = check(HttpResponseConfig {
            urls: vec![url.clone()],
            response_string_match: "down".into(),
            ..HttpResponseConfig::default()
        });
        assert_eq!(mismatch.field("result_code"), Some(&FieldValue::Int(1)));
        let status = check(HttpResponseConfig {
            urls: vec![url],
            response_status_code: 204,
            ..HttpResponseConfig::default()
        });
        assert_eq!(status.tags["result"], "response_status_code_mismatch");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let down = check(HttpResponseConfig {
            urls: vec![format!("http://127.0.0.1:{port}/")],
            ..HttpResponseConfig::default()
        });
        assert_eq!(down.tags["result"], "connection_failed");
        assert_eq!(down.field("result_code"), Some(&FieldValue::Int(3)));
        assert_eq!(down.field("response_time"), None);
    }
}
