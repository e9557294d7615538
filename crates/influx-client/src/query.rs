//! InfluxQL requests (`POST /query`) and their answers, typed as InfluxDB 1.x writes them: the
//! same fields, omitted when empty, so an answer read and written again is the same JSON.

use crate::error::{error_chain, Error};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The unit of the timestamps in an answer (`epoch=`); without one, times are RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// `ns`.
    Ns,
    /// `u`.
    Us,
    /// `ms`.
    Ms,
    /// `s`.
    S,
    /// `m`.
    M,
    /// `h`.
    H,
}

impl Epoch {
    /// The parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Epoch::Ns => "ns",
            Epoch::Us => "u",
            Epoch::Ms => "ms",
            Epoch::S => "s",
            Epoch::M => "m",
            Epoch::H => "h",
        }
    }
}

/// One `/query` request: the statements and where they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The InfluxQL text (one or more statements separated by `;`).
    pub text: String,
    /// `db=`: the database unqualified names refer to ("" = none).
    pub database: String,
    /// `rp=`: the retention policy unqualified names refer to ("" = the default).
    pub retention_policy: String,
    /// `epoch=`: timestamps as numbers in this unit (`None` = RFC 3339 text).
    pub epoch: Option<Epoch>,
    /// `chunk_size=`: points per chunk when read with [`crate::Client::query_chunks`].
    pub chunk_size: Option<usize>,
}

impl Query {
    /// A query with no database, RFC 3339 times.
    pub fn new(text: impl Into<String>) -> Self {
        Query {
            text: text.into(),
            database: String::new(),
            retention_policy: String::new(),
            epoch: None,
            chunk_size: None,
        }
    }

    /// Sets the database.
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = db.into();
        self
    }

    /// Sets the retention policy.
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = rp.into();
        self
    }

    /// Sets the epoch of the answer's timestamps.
    pub fn epoch(mut self, epoch: Epoch) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Sets the number of points per chunk.
    pub fn chunk_size(mut self, points: usize) -> Self {
        self.chunk_size = Some(points);
        self
    }

    /// The form fields of the request.
    pub(crate) fn form(&self, chunked: bool) -> Vec<(&'static str, String)> {
        let mut form = vec![("q", self.text.clone())];
        if !self.database.is_empty() {
            form.push(("db", self.database.clone()));
        }
        if !self.retention_policy.is_empty() {
            form.push(("rp", self.retention_policy.clone()));
        }
        if let Some(e) = self.epoch {
            form.push(("epoch", e.as_str().to_string()));
        }
        if chunked {
            form.push(("chunked", "true".to_string()));
            if let Some(n) = self.chunk_size {
                form.push(("chunk_size", n.to_string()));
            }
        }
        form
    }
}

/// A whole answer: one result per statement, or an `error` for the request as a whole.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QueryResponse {
    /// One per statement, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<StatementResult>,
    /// An error about the whole request (for example one that does not parse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl QueryResponse {
    /// The first error in the answer: the request's, else the first statement's.
    pub fn first_error(&self) -> Option<&str> {
        self.error
            .as_deref()
            .or_else(|| self.results.iter().find_map(|r| r.error.as_deref()))
    }
}

/// The answer to one statement.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatementResult {
    /// Its position in the request, from 0.
    #[serde(default)]
    pub statement_id: usize,
    /// The series it returned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
    /// Informational messages (for example deprecation warnings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
    /// More chunks of this statement follow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Why the statement failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StatementResult {
    /// The values of column `column` of every row of every series, as strings (the names
    /// `SHOW DATABASES` and its kin answer with).
    pub fn column_strings(&self, column: usize) -> Vec<String> {
        self.series
            .iter()
            .flat_map(|s| &s.values)
            .filter_map(|row| row.get(column)?.as_str().map(str::to_string))
            .collect()
    }
}

/// One series of an answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    /// The measurement (or what a SHOW statement names).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The group's tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Column names; `time` first for SELECT answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Rows, one value per column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Vec<serde_json::Value>>,
    /// More chunks of this series follow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// An informational message of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Message {
    /// `warning`, `info`.
    pub level: String,
    /// The words.
    pub text: String,
}

/// The answers of a chunked query, one JSON document per chunk, read as they arrive.
#[derive(Debug)]
pub struct Chunks {
    response: reqwest::Response,
    buffer: Vec<u8>,
    done: bool,
}

impl Chunks {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Chunks {
            response,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// The next chunk, `None` after the last.
    pub async fn next(&mut self) -> Option<Result<QueryResponse, Error>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(decode(&line));
            }
            if self.done {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let rest = std::mem::take(&mut self.buffer);
                return Some(decode(&rest));
            }
            match self.response.chunk().await {
                Ok(Some(bytes)) => self.buffer.extend_from_slice(&bytes),
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    self.buffer.clear();
                    return Some(Err(Error::Decode(error_chain(&e))));
                }
            }
        }
    }
}

/// One JSON answer.
pub(crate) fn decode(body: &[u8]) -> Result<QueryResponse, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        Error::Decode(format!("{e}: {start:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_and_writes_influxdb_answers_unchanged() {
        let text = r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[1000,0.5],[2000,null]],"partial":true}],"partial":true},{"statement_id":1,"messages":[{"level":"warning","text":"deprecated"}]},{"statement_id":2,"error":"database not found: x"}]}"#;
        let answer = decode(text.as_bytes()).unwrap();
        assert_eq!(serde_json::to_string(&answer).unwrap(), text);
        assert_eq!(answer.first_error(), Some("database not found: x"));
        assert_eq!(answer.results[0].column_strings(1), Vec::<String>::new());
        let whole: QueryResponse =
            serde_json::from_str(r#"{"error":"error parsing query: x"}"#).unwrap();
        assert_eq!(whole.first_error(), Some("error parsing query: x"));
    }

    #[test]
    fn form_names_only_what_is_set() {
        let q = Query::new("SHOW DATABASES");
        assert_eq!(q.form(false), vec![("q", "SHOW DATABASES".to_string())]);
        let q = Query::new("SELECT 1")
            .database("d")
            .retention_policy("r")
            .epoch(Epoch::Us)
            .chunk_size(5);
        let form = q.form(true);
        assert!(
            form.contains(&("epoch", "u".into())) && form.contains(&("chunk_size", "5".into()))
        );
        assert!(!q.form(false).iter().any(|(k, _)| *k == "chunked"));
    }

    fn arb_value() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN or infinities", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
        ]
    }

    proptest! {
        #[test]
        fn answers_round_trip(
            name in ".*",
            tags in proptest::collection::btree_map(".*", ".*", 0..3),
            columns in proptest::collection::vec(".*", 0..4),
            values in proptest::collection::vec(proptest::collection::vec(arb_value(), 0..4), 0..4),
            partial in any::<bool>(),
            error in proptest::option::of(".*"),
        ) {
            let answer = QueryResponse {
                results: vec![StatementResult {
                    statement_id: 3,
                    series: vec![Series { name, tags, columns, values, partial }],
                    messages: Vec::new(),
                    partial,
                    error,
                }],
                error: None,
            };
            let text = serde_json::to_vec(&answer).unwrap();
            prop_assert_eq!(decode(&text).unwrap(), answer);
        }
    }
}
