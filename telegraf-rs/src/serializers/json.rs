//! `data_format = "json"`: `{"fields":{…},"name":…,"tags":{…},"timestamp":…}` per metric (a
//! line each), or `{"metrics":[…]}` per batch; keys sorted, numbers and strings written as
//! Go's `encoding/json` writes them.

use super::{sorted_fields, SerializerConfig};
use crate::metric::{FieldValue, Metric};

/// The `json` serializer's settings.
#[derive(Debug, Clone)]
pub struct JsonSerializer {
    /// Nanoseconds per timestamp unit.
    unit: i64,
    /// A Go layout for the timestamp, when set.
    layout: String,
}

impl JsonSerializer {
    /// Reads `json_timestamp_units` (at least 1 ns) and `json_timestamp_format`.
    pub fn new(config: &SerializerConfig) -> Result<Self, String> {
        let unit = config.json_timestamp_units.map_or(1_000_000_000, |d| {
            i64::try_from(d.0.as_nanos()).unwrap_or(i64::MAX)
        });
        if unit <= 0 {
            return Err("json_timestamp_units must be at least 1ns".into());
        }
        Ok(JsonSerializer {
            unit,
            layout: config.json_timestamp_format.clone(),
        })
    }

    fn object(&self, m: &Metric, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"fields\":{");
        let mut first = true;
        for (k, v) in sorted_fields(m) {
            let value = match v {
                FieldValue::Float(f) if !f.is_finite() => continue,
                FieldValue::Float(f) => go_json_float(*f),
                FieldValue::Int(i) => i.to_string(),
                FieldValue::UInt(u) => u.to_string(),
                FieldValue::Bool(b) => b.to_string(),
                FieldValue::Str(s) => go_json_string(s),
            };
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(go_json_string(k).as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(b"},\"name\":");
        out.extend_from_slice(go_json_string(&m.name).as_bytes());
        out.extend_from_slice(b",\"tags\":{");
        for (i, (k, v)) in m.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(go_json_string(k).as_bytes());
            out.push(b':');
            out.extend_from_slice(go_json_string(v).as_bytes());
        }
        out.extend_from_slice(b"},\"timestamp\":");
        let time = match self.layout.as_str() {
            "" => (m.time / self.unit).to_string(),
            layout => {
                use chrono::TimeZone;
                go_json_string(&crate::gotime::go_format(
                    &chrono::Utc.timestamp_nanos(m.time),
                    layout,
                ))
            }
        };
        out.extend_from_slice(time.as_bytes());
        out.push(b'}');
    }

    /// One metric, one line.
    pub fn metric(&self, m: &Metric, out: &mut Vec<u8>) {
        self.object(m, out);
        out.push(b'\n');
    }

    /// A batch as `{"metrics":[…]}` and a newline.
    pub fn batch(&self, metrics: &[Metric], out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"metrics\":[");
        for (i, m) in metrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.object(m, out);
        }
        out.extend_from_slice(b"]}\n");
    }
}

/// A float as Go's `encoding/json` writes it: plain decimal, exponent below 1e-6 and from
/// 1e21 (`1e-7`, `1e+21`).
pub fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        return match exponent.strip_prefix('-') {
            Some(e) => format!("{mantissa}e-{e}"),
            None => format!("{mantissa}e+{exponent}"),
        };
    }
    format!("{f}")
}

/// A string as Go's `encoding/json` writes it: quoted, with `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u….` for HTML safety.
pub fn go_json_string(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    if !quoted.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return quoted;
    }
    quoted
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GoDuration;

    fn metric() -> Metric {
        Metric::new("docker", 1_458_229_140_123_000_000)
            .with_tag("host", "raynor")
            .with_field("field_2", 4i64)
            .with_field("field_1", 30.0)
            .with_field("s", "<a&b>")
            .with_field("nan", f64::NAN)
    }

    #[test]
    fn telegrafs_documented_shape() {
        let s = JsonSerializer::new(&SerializerConfig::default()).unwrap();
        let mut out = Vec::new();
        s.metric(&metric(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"fields\":{\"field_1\":30,\"field_2\":4,\"s\":\"\\u003ca\\u0026b\\u003e\"},\"name\":\"docker\",\"tags\":{\"host\":\"raynor\"},\"timestamp\":1458229140}\n"
        );
        let ms = SerializerConfig {
            json_timestamp_units: Some(GoDuration(std::time::Duration::from_millis(1))),
            ..SerializerConfig::default()
        };
        let mut out = Vec::new();
        JsonSerializer::new(&ms)
            .unwrap()
            .batch(&[metric(), metric()], &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"metrics\":[{\"fields\""), "{text}");
        assert!(text.contains("\"timestamp\":1458229140123}"), "{text}");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["metrics"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn floats_as_go() {
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_json_float(-2.5), "-2.5");
    }
}
