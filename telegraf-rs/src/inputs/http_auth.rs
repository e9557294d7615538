//! Credentials of the inputs that fetch over HTTP (`http`, `prometheus`): basic auth and a
//! bearer token given inline or read from a file at each fetch (so a rotated token is picked
//! up), as Telegraf's options name them.

use super::InputError;

/// The credentials options of one input.
#[derive(Debug, Clone, Copy)]
pub struct HttpAuth<'a> {
    /// `username` (empty: no basic auth).
    pub username: &'a str,
    /// `password`.
    pub password: &'a str,
    /// The bearer token itself (`token`, `bearer_token_string`); wins over the file.
    pub token: &'a str,
    /// A file holding the bearer token (`token_file`, `bearer_token`).
    pub token_file: &'a str,
}

impl HttpAuth<'_> {
    /// A request of `method` to `url` with the plugin's `headers`, `body` (none when empty)
    /// and these credentials.
    pub fn request(
        &self,
        client: &reqwest::Client,
        method: &reqwest::Method,
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        body: &str,
    ) -> Result<reqwest::RequestBuilder, InputError> {
        let mut req = client.request(method.clone(), url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if !body.is_empty() {
            req = req.body(body.to_string());
        }
        self.apply(req)
    }

    /// `req` with these credentials; a token file that cannot be read is an error naming it.
    pub fn apply(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, InputError> {
        if !self.username.is_empty() {
            req = req.basic_auth(self.username, Some(self.password));
        }
        let token = if !self.token.is_empty() {
            Some(self.token.to_string())
        } else if !self.token_file.is_empty() {
            Some(
                super::read(std::path::Path::new(self.token_file))?
                    .trim()
                    .to_string(),
            )
        } else {
            None
        };
        Ok(match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_and_tokens_inline_or_from_a_file() {
        let client = reqwest::Client::new();
        let header = |auth: HttpAuth<'_>| {
            let req = auth
                .apply(client.get("http://127.0.0.1:1/"))
                .unwrap()
                .build()
                .unwrap();
            req.headers()
                .get(reqwest::header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let none = HttpAuth {
            username: "",
            password: "",
            token: "",
            token_file: "",
        };
        assert_eq!(header(none), None);
        assert_eq!(
            header(HttpAuth {
                username: "ann",
                password: "pw",
                ..none
            }),
            Some("Basic YW5uOnB3".to_string())
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let path = file.to_string_lossy();
        assert_eq!(
            header(HttpAuth {
                token_file: &path,
                ..none
            }),
            Some("Bearer from-file".to_string())
        );
        assert_eq!(
            header(HttpAuth {
                token: "inline",
                token_file: &path,
                ..none
            }),
            Some("Bearer inline".to_string())
        );
        let missing = HttpAuth {
            token_file: "/nonexistent/token",
            ..none
        };
        assert!(missing.apply(client.get("http://127.0.0.1:1/")).is_err());
    }
}
