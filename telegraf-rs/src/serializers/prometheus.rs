//! `data_format = "prometheus"`: the text exposition format — one family per measurement and
//! field (`<measurement>_<field>`; just `<field>` for the measurement `prometheus`, as the
//! `prometheus` input names it), names and labels sanitized as Telegraf does, `# HELP`/`# TYPE`
//! lines, families sorted, of two samples of one series the newer kept. `prometheus_client`'s
//! `metric_version = 1` names differ: a field `value` is the measurement alone, and booleans
//! and strings are left out.

use super::SerializerConfig;
use crate::metric::{go_float_text, FieldValue, Metric};
use std::collections::BTreeMap;

/// The `prometheus` serializer's settings.
#[derive(Debug, Clone)]
pub struct PrometheusSerializer {
    export_timestamp: bool,
    string_as_label: bool,
    /// `prometheus_client`'s `metric_version = 1` naming.
    client_v1: bool,
}

/// A metric (`colons`) or label name as Telegraf makes it valid: kept when valid; otherwise
/// an invalid first character dropped, the others replaced by `_`, and `_` trimmed from both
/// ends. `None` when nothing is left.
pub fn sanitize(name: &str, colons: bool) -> Option<String> {
    let allowed = |c: char, first: bool| {
        c.is_ascii_alphabetic()
            || c == '_'
            || (colons && c == ':')
            || (!first && c.is_ascii_digit())
    };
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| allowed(c, true)) && chars.all(|c| allowed(c, false));
    if valid {
        return Some(name.to_string());
    }
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        match (i, allowed(c, i == 0)) {
            (_, true) => out.push(c),
            (0, false) => {}
            (_, false) => out.push('_'),
        }
    }
    let out = out.trim_matches('_');
    (!out.is_empty()).then(|| out.to_string())
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
            client_v1: false,
        }
    }

    /// `prometheus_client`'s `metric_version = 1` samples (`string_as_label` as it is set).
    pub fn client_v1(string_as_label: bool) -> Self {
        PrometheusSerializer {
            export_timestamp: false,
            string_as_label,
            client_v1: true,
        }
    }

    /// The samples of one metric.
    pub fn samples(&self, m: &Metric) -> Vec<Sample> {
        let mut labels: BTreeMap<String, String> = m
            .tags
            .iter()
            .filter_map(|(k, v)| Some((sanitize(k, false)?, v.clone())))
            .collect();
        if self.string_as_label {
            for (k, v) in &m.fields {
                if let (FieldValue::Str(s), Some(k)) = (v, sanitize(k, false)) {
                    // A tag of the same name wins (version 1: the string does).
                    if self.client_v1 || !labels.contains_key(&k) {
                        labels.insert(k, s.clone());
                    }
                }
            }
        }
        m.fields
            .iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    FieldValue::Bool(b) if !self.client_v1 => f64::from(u8::from(*b)),
                    FieldValue::Bool(_) => return None,
                    other => other.as_f64()?,
                };
                let name = match (self.client_v1, k.as_str()) {
                    (true, "value") => m.name.clone(),
                    (false, field) if m.name == "prometheus" => field.to_string(),
                    (_, field) => format!("{}_{field}", m.name),
                };
                Some((sanitize(&name, true)?, labels.clone(), value, m.time))
            })
            .collect()
    }

    /// The exposition text of `metrics`, families sorted by name, samples by labels.
    pub fn write(&self, metrics: &[Metric], out: &mut Vec<u8>) {
        let mut families = Families::new();
        for m in metrics {
            for (name, labels, value, time) in self.samples(m) {
                let slot = families
                    .entry(name)
                    .or_default()
                    .entry(labels)
                    .or_insert((value, time));
                if time >= slot.1 {
                    *slot = (value, time);
                }
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
            line.push_str(&format!(" {}", go_float_text(*value)));
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
             # HELP load_value Telegraf collected metric\n# TYPE load_value untyped\nload_value 1\n"
        );
        // prometheus_client's version 1: a `value` field is the measurement; no booleans.
        let v1 = PrometheusSerializer::client_v1(false);
        let flag = Metric::new("up", 0)
            .with_field("value", 1i64)
            .with_field("ok", true);
        let names: Vec<String> = v1.samples(&flag).into_iter().map(|s| s.0).collect();
        assert_eq!(names, ["up"]);
        assert_eq!(sanitize("9lives", false).as_deref(), Some("lives"));
        assert_eq!(sanitize("host-name", false).as_deref(), Some("host_name"));
        assert_eq!(sanitize("cpu::x", true).as_deref(), Some("cpu::x"));
        assert_eq!(sanitize("a:b", false).as_deref(), Some("a_b"));
        assert_eq!(sanitize("-_-", false), None);
    }
}
