//! `data_format = "json"`: Telegraf's legacy JSON parser — objects or arrays of objects,
//! nested keys joined with `_` (array elements by index), every number a float field, strings
//! and booleans kept only when listed in `json_string_fields`, `tag_keys` as tags.

use super::{globs, ParserConfig};
use crate::metric::{FieldValue, Metric};
use globset::GlobSet;

/// The legacy JSON parser's settings, compiled.
#[derive(Debug, Clone)]
pub struct JsonParser {
    tag_keys: GlobSet,
    string_fields: GlobSet,
    name_key: String,
    time_key: String,
    time_unit_nanos: i64,
}

impl JsonParser {
    /// Compiles the `json_*` and `tag_keys` options.
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        Ok(JsonParser {
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
        })
    }

    /// Parses one JSON document.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
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
    use super::super::{Parser, ParserConfig};
    use crate::metric::FieldValue;

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
}
