//! `data_format = "prometheus"`: the text exposition format — one family per measurement and
//! field (`<measurement>_<field>`, just `<measurement>` for a field named `value`), names
//! and labels sanitized, `# HELP`/`# TYPE` lines, families sorted.

use super::SerializerConfig;
use crate::metric::{FieldValue, Metric};
use std::collections::BTreeMap;

/// The `prometheus` serializer's settings.
#[derive(Debug, Clone)]
pub struct PrometheusSerializer {
    export_timestamp: bool,
    string_as_label: bool,
}

/// A name with what Prometheus does not allow replaced by `_` (a leading digit too).
pub fn sanitize(name: &str, colons: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic()
            || c == '_'
            || (colons && c == ':')
            || (i > 0 && c.is_ascii_digit());
        out.push(if ok { c } else { '_' });
    }
    out
}

/// A label value escaped for the text format.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Family name → labels → (value, time in ns).
pub type Families = BTreeMap<String, BTreeMap<BTreeMap<String, String>, (f64, i64)>>;

/// One sample: family name, labels, value, time.
pub type Sample = (String, BTreeMap<String, String>, f64, i64);

impl PrometheusSerializer {
    /// Reads `prometheus_export_timestamp` and `prometheus_string_as_label`.
    pub fn new(config: &SerializerConfig) -> Self {
        PrometheusSerializer {
            export_timestamp: config.prometheus_export_timestamp,
            string_as_label: config.prometheus_string_as_label,
        }
    }

    /// The samples of one metric.
    pub fn samples(&self, m: &Metric) -> Vec<Sample> {
        let mut labels: BTreeMap<String, String> = m
            .tags
            .iter()
            .map(|(k, v)| (sanitize(k, false), v.clone()))
            .collect();
        if self.string_as_label {
            for (k, v) in &m.fields {
                if let FieldValue::Str(s) = v {
                    labels.insert(sanitize(k, false), s.clone());
                }
            }
        }
        m.fields
            .iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    FieldValue::Bool(b) => f64::from(u8::from(*b)),
                    other => other.as_f64()?,
                };
                let name = match k.as_str() {
                    "value" => sanitize(&m.name, true),
                    field => sanitize(&format!("{}_{field}", m.name), true),
                };
                Some((name, labels.clone(), value, m.time))
            })
            .collect()
    }

    /// The exposition text of `metrics`, families sorted by name, samples by labels.
    pub fn write(&self, metrics: &[Metric], out: &mut Vec<u8>) {
        let mut families = Families::new();
        for m in metrics {
            for (name, labels, value, time) in self.samples(m) {
                families
                    .entry(name)
                    .or_default()
                    .insert(labels, (value, time));
            }
        }
        write_families(&families, self.export_timestamp, out);
    }
}

/// Families of samples as exposition text.
pub fn write_families(families: &Families, export_timestamp: bool, out: &mut Vec<u8>) {
    for (name, samples) in families {
        out.extend_from_slice(
            format!("# HELP {name} Telegraf collected metric\n# TYPE {name} untyped\n").as_bytes(),
        );
        for (labels, (value, time)) in samples {
            let mut line = name.clone();
            if !labels.is_empty() {
                let pairs: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                line.push_str(&format!("{{{}}}", pairs.join(",")));
            }
            let value = match value {
                v if v.is_nan() => "NaN".to_string(),
                v if v.is_infinite() && *v > 0.0 => "+Inf".to_string(),
                v if v.is_infinite() => "-Inf".to_string(),
                v => format!("{v}"),
            };
            line.push_str(&format!(" {value}"));
            if export_timestamp {
                line.push_str(&format!(" {}", time / 1_000_000));
            }
            line.push('\n');
            out.extend_from_slice(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_names_and_labels() {
        let m = Metric::new("cpu", 1_000_000_000)
            .with_tag("host", "a\"b")
            .with_tag("cpu-id", "0")
            .with_field("usage idle", 98.5)
            .with_field("state", "ok");
        let load = Metric::new("load", 2_000_000_000).with_field("value", 1i64);
        let mut out = Vec::new();
        PrometheusSerializer::new(&SerializerConfig::default()).write(&[m, load], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# HELP cpu_usage_idle Telegraf collected metric\n# TYPE cpu_usage_idle untyped\n\
             cpu_usage_idle{cpu_id=\"0\",host=\"a\\\"b\"} 98.5\n\
             # HELP load Telegraf collected metric\n# TYPE load untyped\nload 1\n"
        );
        assert_eq!(sanitize("9lives", false), "_lives");
    }
}
