//! What a request to the store can end in, typed so callers decide by kind (retry, drop, create
//! the database, tell the user) instead of matching on text.

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The client's settings are unusable (a URL that does not parse, a bad header).
    #[error("influx-client settings: {0}")]
    Settings(String),
    /// No URL could be reached (connection refused, timeout, TLS); one entry per URL tried.
    #[error("{}", .0.join("; "))]
    Unreachable(Vec<String>),
    /// Every URL answered with a server error (5xx): the last answer.
    #[error("{status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's `error` text (or body).
        message: String,
    },
    /// The write named a database that does not exist.
    #[error("{0}")]
    DatabaseNotFound(String),
    /// Some points were written and the others refused (InfluxDB's "partial write").
    #[error("{message}")]
    PartialWrite {
        /// The server's text, naming the reason.
        message: String,
        /// Points dropped, when the server said (`dropped=N`).
        dropped: Option<usize>,
    },
    /// The credentials were refused (401) or do not allow this (403).
    #[error("{status}: {message}")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's text.
        message: String,
    },
    /// The server refused the request itself (4xx): bad line protocol, a query that does not
    /// parse, a body too large.
    #[error("{status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's text.
        message: String,
    },
    /// The server answered, and the statement failed (the `error` of its result).
    #[error("{0}")]
    Statement(String),
    /// The answer could not be read (not JSON, cut short).
    #[error("reading the answer: {0}")]
    Decode(String),
}

impl Error {
    /// The HTTP status the server answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Server { status, .. }
            | Error::Unauthorized { status, .. }
            | Error::Refused { status, .. } => Some(*status),
            Error::DatabaseNotFound(_) => Some(404),
            Error::PartialWrite { .. } => Some(400),
            Error::Settings(_) | Error::Unreachable(_) | Error::Statement(_) | Error::Decode(_) => {
                None
            }
        }
    }

    /// The server's own words, or this error's text when no server answered.
    pub fn message(&self) -> String {
        match self {
            Error::Server { message, .. }
            | Error::Unauthorized { message, .. }
            | Error::Refused { message, .. }
            | Error::PartialWrite { message, .. }
            | Error::Statement(message)
            | Error::DatabaseNotFound(message) => message.clone(),
            other => other.to_string(),
        }
    }

    /// Classifies a non-2xx answer by its status and `error` text.
    pub(crate) fn from_answer(status: u16, message: String) -> Self {
        match status {
            401 | 403 => Error::Unauthorized { status, message },
            _ if message.contains("database not found") => Error::DatabaseNotFound(message),
            _ if message.starts_with("partial write") => Error::PartialWrite {
                dropped: dropped_count(&message),
                message,
            },
            500.. => Error::Server { status, message },
            _ => Error::Refused { status, message },
        }
    }
}

/// The `dropped=N` at the end of an InfluxDB partial-write message.
fn dropped_count(message: &str) -> Option<usize> {
    let at = message.rfind("dropped=")?;
    let digits: String = message[at + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The `error` of a JSON error body, or the body's text when it is not one.
pub(crate) fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.trim().to_string())
}

/// An error with its causes (`error sending request: connection refused`): HTTP client errors
/// keep the useful part in their sources. Public for the daemons' other HTTP requests (the
/// agent's `http` and `prometheus` inputs), so that every request error reads the same.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers() {
        let partial = Error::from_answer(
            400,
            "partial write: field type conflict: input field \"v\" on measurement \"m\" is type integer, already exists as type float dropped=3".into(),
        );
        assert!(matches!(
            partial,
            Error::PartialWrite {
                dropped: Some(3),
                ..
            }
        ));
        assert!(matches!(
            Error::from_answer(404, "database not found: \"x\"".into()),
            Error::DatabaseNotFound(_)
        ));
        assert!(matches!(
            Error::from_answer(401, "authorization failed".into()),
            Error::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            Error::from_answer(503, "no quorum".into()),
            Error::Server { status: 503, .. }
        ));
        let bad = Error::from_answer(400, "unable to parse 'x': missing fields".into());
        assert_eq!(
            (bad.status(), bad.message().as_str()),
            (Some(400), "unable to parse 'x': missing fields")
        );
    }

    #[test]
    fn reads_error_bodies() {
        assert_eq!(error_text("{\"error\":\"boom\"}\n"), "boom");
        assert_eq!(error_text(" plain words \n"), "plain words");
        assert_eq!(dropped_count("partial write: x dropped=12"), Some(12));
        assert_eq!(dropped_count("partial write: x"), None);
    }
}
