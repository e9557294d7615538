//! How requests prove who sends them: the ways InfluxDB 1.x and 2.x accept credentials.

/// Credentials sent with every request.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (a store with authentication off).
    #[default]
    None,
    /// HTTP basic authentication (`Authorization: Basic …`), what InfluxDB 1.x clients send.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `u=` and `p=` query parameters, the other 1.x style (old scripts and clients use it).
    QueryParams {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Token …`, the 2.x style (`user:password` for a 1.x server's v2 write).
    Token(String),
    /// `Authorization: Bearer …` with a JWT signed by the store's shared secret.
    Bearer(String),
}

impl Auth {
    /// Basic authentication, or none when `username` is empty (how configs spell "no auth").
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        let username = username.into();
        if username.is_empty() {
            return Auth::None;
        }
        Auth::Basic {
            username,
            password: password.into(),
        }
    }

    /// Token authentication, or none when `token` is empty.
    pub fn token(token: impl Into<String>) -> Self {
        let token = token.into();
        if token.is_empty() {
            Auth::None
        } else {
            Auth::Token(token)
        }
    }

    /// Adds these credentials to `req`.
    pub(crate) fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::None => req,
            Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
            Auth::QueryParams { username, password } => {
                req.query(&[("u", username), ("p", password)])
            }
            Auth::Token(t) => req.header(reqwest::header::AUTHORIZATION, format!("Token {t}")),
            Auth::Bearer(t) => req.bearer_auth(t),
        }
    }
}

/// Never prints a secret: credentials end up in logs through `Debug` of configs.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { username, .. } => write!(f, "Basic({username:?}, ***)"),
            Auth::QueryParams { username, .. } => write!(f, "QueryParams({username:?}, ***)"),
            Auth::Token(_) => f.write_str("Token(***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_names_mean_no_auth_and_debug_hides_secrets() {
        assert_eq!(Auth::basic("", "x"), Auth::None);
        assert_eq!(Auth::token(""), Auth::None);
        let shown = format!(
            "{:?} {:?}",
            Auth::basic("ann", "hunter2"),
            Auth::token("t0k")
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0k"),
            "{shown}"
        );
        assert!(shown.contains("ann"));
    }
}
