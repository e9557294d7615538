//! The `data_format` parsers of `exec`, `http` and `socket_listener`: `influx` (line protocol)
//! and Telegraf's legacy `json` (numbers become float fields, nested keys joined with `_`).

use crate::metric::{from_line, FieldValue, Metric};
use globset::GlobSet;
use serde::{Deserialize, Serialize};

/// The parser options a plugin table may hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ParserConfig {
    /// `influx` or `json`; the plugin's default when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format: Option<String>,
    /// JSON keys (globs) that become tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_keys: Vec<String>,
    /// JSON string values kept as fields (globs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_string_fields: Vec<String>,
    /// JSON key whose value names the measurement.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_name_key: String,
    /// JSON key holding the timestamp.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_time_key: String,
    /// `unix`, `unix_ms`, `unix_us` or `unix_ns`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_time_format: String,
}

/// Option names [`ParserConfig`] reads.
pub const PARSER_KEYS: &[&str] = &[
    "data_format",
    "tag_keys",
    "json_string_fields",
    "json_name_key",
    "json_time_key",
    "json_time_format",
];

/// A parser ready to turn bodies into metrics.
#[derive(Debug, Clone)]
pub enum Parser {
    /// Line protocol with nanosecond timestamps.
    Influx,
    /// Legacy JSON.
    Json(JsonParser),
}

/// The legacy JSON parser's settings, compiled.
#[derive(Debug, Clone)]
pub struct JsonParser {
    tag_keys: GlobSet,
    string_fields: GlobSet,
    name_key: String,
    time_key: String,
    time_unit_nanos: i64,
}

fn globs(option: &str, patterns: &[String]) -> Result<GlobSet, String> {
    super::glob_set(option, patterns)
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}

impl Parser {
    /// Builds the parser `config` names, `default_format` when it names none.
    pub fn new(config: &ParserConfig, default_format: &str) -> Result<Self, String> {
        match config.data_format.as_deref().unwrap_or(default_format) {
            "influx" => Ok(Parser::Influx),
            "json" => Ok(Parser::Json(JsonParser {
                tag_keys: globs("tag_keys", &config.tag_keys)?,
                string_fields: globs("json_string_fields", &config.json_string_fields)?,
                name_key: config.json_name_key.clone(),
                time_key: config.json_time_key.clone(),
                time_unit_nanos: match config.json_time_format.as_str() {
                    "" | "unix" => 1_000_000_000,
                    "unix_ms" => 1_000_000,
                    "unix_us" => 1_000,
                    "unix_ns" => 1,
                    other => {
                        return Err(format!(
                            "json_time_format {other:?} is not implemented by telegraf-rs"
                        ))
                    }
                },
            })),
            other => Err(format!(
                "data_format {other:?} is not implemented by telegraf-rs"
            )),
        }
    }

    /// Parses `body`; metrics without a timestamp get `now`, JSON ones are named `name`.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        match self {
            Parser::Influx => lineproto::parse_lines(body)
                .map(|line| {
                    line.map(|l| from_line(&l, lineproto::Precision::Nanoseconds, now))
                        .map_err(|e| e.to_string())
                })
                .collect(),
            Parser::Json(json) => json.parse(body, name, now),
        }
    }
}

impl JsonParser {
    fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
        let objects = match value {
            serde_json::Value::Array(items) => items,
            object @ serde_json::Value::Object(_) => vec![object],
            _ => return Err("JSON must be an object or an array of objects".into()),
        };
        objects.iter().map(|o| self.metric(o, name, now)).collect()
    }

    fn metric(&self, object: &serde_json::Value, name: &str, now: i64) -> Result<Metric, String> {
        let mut m = Metric::new(name, now);
        let mut flat = Vec::new();
        flatten("", object, &mut flat);
        for (key, value) in flat {
            if !self.name_key.is_empty() && key == self.name_key {
                if let serde_json::Value::String(s) = value {
                    m.name = s.clone();
                }
                continue;
            }
            if !self.time_key.is_empty() && key == self.time_key {
                let seconds = value
                    .as_f64()
                    .ok_or_else(|| format!("{key}: not a number"))?;
                m.time = (seconds * self.time_unit_nanos as f64) as i64;
                continue;
            }
            if self.tag_keys.is_match(&key) {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                m.tags.insert(key, text);
                continue;
            }
            match value {
                serde_json::Value::Number(n) => m.add_field(key, n.as_f64().unwrap_or(f64::NAN)),
                serde_json::Value::String(s) if self.string_fields.is_match(&key) => {
                    m.add_field(key, FieldValue::Str(s.clone()))
                }
                serde_json::Value::Bool(b) if self.string_fields.is_match(&key) => {
                    m.add_field(key, *b)
                }
                _ => {}
            }
        }
        Ok(m)
    }
}

/// Leaves of `value` with their keys joined by `_` (array elements by index).
fn flatten<'a>(
    prefix: &str,
    value: &'a serde_json::Value,
    out: &mut Vec<(String, &'a serde_json::Value)>,
) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}_{k}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        leaf => out.push((prefix.to_string(), leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_flattens_and_keeps_numbers_as_floats() {
        let config = ParserConfig {
            tag_keys: vec!["host".into()],
            json_string_fields: vec!["state".into()],
            json_time_key: "ts".into(),
            ..ParserConfig::default()
        };
        let parser = Parser::new(&config, "json").unwrap();
        let body =
            br#"{"host":"a","load":{"one":1,"list":[2,3]},"state":"ok","other":"dropped","ts":10}"#;
        let m = parser.parse(body, "exec", 5).unwrap().remove(0);
        assert_eq!(m.name, "exec");
        assert_eq!(m.tags["host"], "a");
        assert_eq!(m.field("load_one"), Some(&FieldValue::Float(1.0)));
        assert_eq!(m.field("load_list_1"), Some(&FieldValue::Float(3.0)));
        assert_eq!(m.field("state"), Some(&FieldValue::Str("ok".into())));
        assert_eq!(m.field("other"), None);
        assert_eq!(m.time, 10_000_000_000);
    }

    #[test]
    fn influx_uses_now_for_missing_timestamps_and_reports_bad_lines() {
        let parser = Parser::new(&ParserConfig::default(), "influx").unwrap();
        let ms = parser.parse(b"a v=1 7\nb v=2\n", "x", 99).unwrap();
        assert_eq!((ms[0].time, ms[1].time), (7, 99));
        let err = parser.parse(b"a v=1\nbad\n", "x", 0).unwrap_err();
        assert!(err.contains("missing fields"), "{err}");
    }

    #[test]
    fn unknown_formats_are_named() {
        let config = ParserConfig {
            data_format: Some("xml".into()),
            ..ParserConfig::default()
        };
        assert!(Parser::new(&config, "influx").unwrap_err().contains("xml"));
    }
}
