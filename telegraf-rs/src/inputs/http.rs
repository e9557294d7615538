//! `inputs.http`: fetches URLs each interval and parses the bodies (`influx` by default, or
//! `json`); each metric gets a `url` tag unless it has one.

use super::http_auth::HttpAuth;
use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::options::GoDuration;
use crate::parsers::{Parser, ParserConfig};
use influx_client::error_chain;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[inputs.http]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpConfig {
    /// URLs to fetch.
    pub urls: Vec<String>,
    /// HTTP method.
    pub method: String,
    /// Extra request headers.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Basic-auth user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Bearer token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// File holding a bearer token.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Request timeout.
    pub timeout: GoDuration,
    /// Statuses counted as success.
    pub success_status_codes: Vec<u16>,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            urls: Vec::new(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            body: String::new(),
            username: String::new(),
            password: String::new(),
            token: String::new(),
            token_file: String::new(),
            timeout: GoDuration::secs(5),
            success_status_codes: vec![200],
            parser: ParserConfig::default(),
        }
    }
}

/// Builds the input.
pub fn build(config: &HttpConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let parser = Parser::new(&config.parser, "influx").map_err(InputError::Settings)?;
    let method = reqwest::Method::from_bytes(config.method.as_bytes()).map_err(|_| {
        InputError::Settings(format!("method {:?} is not an HTTP method", config.method))
    })?;
    let client = reqwest::Client::builder()
        .timeout(config.timeout.0)
        .build()
        .map_err(|e| InputError::Settings(e.to_string()))?;
    Ok(Box::new(Http {
        config: config.clone(),
        parser,
        method,
        client,
    }))
}

struct Http {
    config: HttpConfig,
    parser: Parser,
    method: reqwest::Method,
    client: reqwest::Client,
}

impl Http {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, InputError> {
        let fail = |message: String| InputError::Command {
            command: format!("{} {url}", self.method),
            message,
        };
        let auth = HttpAuth {
            username: &self.config.username,
            password: &self.config.password,
            token: &self.config.token,
            token_file: &self.config.token_file,
        };
        let resp = auth
            .request(
                &self.client,
                &self.method,
                url,
                &self.config.headers,
                &self.config.body,
            )?
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = resp.status().as_u16();
        if !self.config.success_status_codes.contains(&status) {
            return Err(fail(format!(
                "received status code {status}, expected any value out of {:?}",
                self.config.success_status_codes
            )));
        }
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| fail(e.to_string()))
    }
}

impl Input for Http {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for url in &self.config.urls {
                let parsed = self.fetch(url).await.and_then(|body| {
                    self.parser
                        .parse(&body, "http", acc.time)
                        .map_err(|message| InputError::Parse {
                            what: url.clone(),
                            message,
                        })
                });
                match parsed {
                    Ok(metrics) => {
                        for mut m in metrics {
                            m.tags.entry("url".into()).or_insert_with(|| url.clone());
                            acc.push(m);
                        }
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(InputError::Command {
                    command: "http".into(),
                    message: errors.join("; "),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_error, gather_with, serve_http};
    use crate::metric::FieldValue;

    #[test]
    fn fetches_and_tags_with_the_url() {
        let url = serve_http(200, "app,url=mine v=1i\napp v=2i\n", 1);
        let fx = fixture(&[]);
        let config = HttpConfig {
            urls: vec![url.clone()],
            ..HttpConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].tags["url"], "mine");
        assert_eq!(metrics[1].tags["url"], url);
        assert_eq!(metrics[1].field("v"), Some(&FieldValue::Int(2)));
    }

    #[test]
    fn unexpected_status_is_an_error() {
        let url = serve_http(500, "oops", 1);
        let fx = fixture(&[]);
        let config = HttpConfig {
            urls: vec![url],
            ..HttpConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let (err, _) = gather_error(&mut input);
        assert!(err.contains("received status code 500"), "{err}");
    }
}
