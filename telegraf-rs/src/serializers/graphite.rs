//! `data_format = "graphite"`: `bucket value timestamp` lines, the bucket built from a
//! template (`host.tags.measurement.field` by default), or with `graphite_tag_support`
//! Graphite 1.1 tags (`measurement.field;k=v`); string fields are left out, booleans are 1/0.

use super::{plain_number, SerializerConfig};
use crate::metric::Metric;
use std::collections::BTreeMap;

/// The `graphite` serializer's settings.
#[derive(Debug, Clone)]
pub struct GraphiteSerializer {
    template: String,
    prefix: String,
    tag_support: bool,
    separator: String,
}

/// Telegraf's legacy sanitizing of bucket names.
fn sanitize(bucket: &str) -> String {
    let mut out = String::with_capacity(bucket.len());
    for c in bucket.chars() {
        match c {
            '/' | '@' | '*' => out.push('-'),
            ' ' | ')' | '(' => out.push('_'),
            '\\' => {}
            c => out.push(c),
        }
    }
    while out.contains("..") {
        out = out.replace("..", ".");
    }
    out
}

impl GraphiteSerializer {
    /// Reads `template`, `prefix`, `graphite_tag_support`, `graphite_separator`.
    pub fn new(config: &SerializerConfig) -> Self {
        GraphiteSerializer {
            template: match config.template.as_str() {
                "" => "host.tags.measurement.field".into(),
                t => t.into(),
            },
            prefix: config.prefix.clone(),
            tag_support: config.graphite_tag_support,
            separator: match config.graphite_separator.as_str() {
                "" => ".".into(),
                s => s.into(),
            },
        }
    }

    /// The bucket of `m` and `field` by the template.
    fn bucket(&self, m: &Metric, field: &str) -> String {
        let mut tags: BTreeMap<&str, &str> = m
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut parts: Vec<String> = Vec::new();
        let mut tags_at = None;
        let mut field_at = None;
        for part in self.template.split('.') {
            match part {
                "measurement" => parts.push(m.name.clone()),
                "tags" => {
                    tags_at = Some(parts.len());
                    parts.push(String::new());
                }
                "field" => {
                    field_at = Some(parts.len());
                    parts.push(String::new());
                }
                tag => {
                    if let Some(v) = tags.remove(tag) {
                        parts.push(v.replace('.', "_"));
                    }
                }
            }
        }
        if let Some(at) = tags_at {
            parts[at] = tags
                .values()
                .map(|v| v.replace('.', "_"))
                .collect::<Vec<_>>()
                .join(".");
        }
        let value_field = field == "value";
        match field_at {
            Some(at) if value_field => {
                parts.remove(at);
            }
            Some(at) => parts[at] = field.to_string(),
            None if !value_field => parts.push(field.to_string()),
            None => {}
        }
        let joined = parts.join(".");
        match self.prefix.as_str() {
            "" => joined,
            p => format!("{p}.{joined}"),
        }
    }

    /// The lines of one metric, one per numeric field.
    pub fn metric(&self, m: &Metric, out: &mut Vec<u8>) {
        let seconds = m.time.div_euclid(1_000_000_000);
        for (field, value) in &m.fields {
            let Some(text) = plain_number(value) else {
                continue;
            };
            let bucket = if self.tag_support {
                let mut name = vec![m.name.as_str()];
                if field != "value" {
                    name.push(field);
                }
                let mut b = sanitize(&name.join(&self.separator));
                if !self.prefix.is_empty() {
                    b = format!("{}{}{b}", self.prefix, self.separator);
                }
                for (k, v) in &m.tags {
                    b.push_str(&format!(";{k}={v}"));
                }
                b
            } else {
                sanitize(&self.bucket(m, field))
            };
            out.extend_from_slice(format!("{bucket} {text} {seconds}\n").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> Metric {
        Metric::new("cpu", 1_455_320_660_004_257_758)
            .with_tag("cpu", "cpu0")
            .with_tag("host", "tars")
            .with_tag("dc", "us.east")
            .with_field("usage_idle", 98.09)
            .with_field("up", true)
            .with_field("label", "x")
    }

    fn lines(config: SerializerConfig, m: &Metric) -> String {
        let mut out = Vec::new();
        GraphiteSerializer::new(&config).metric(m, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn templates_as_documented() {
        assert_eq!(
            lines(SerializerConfig::default(), &cpu()),
            "tars.cpu0.us_east.cpu.usage_idle 98.09 1455320660\ntars.cpu0.us_east.cpu.up 1 1455320660\n"
        );
        let config = SerializerConfig {
            template: "host.measurement.tags.field".into(),
            prefix: "telegraf".into(),
            ..SerializerConfig::default()
        };
        let out = lines(config, &cpu());
        assert!(
            out.starts_with("telegraf.tars.cpu.cpu0.us_east.usage_idle 98.09 "),
            "{out}"
        );
        let value = Metric::new("load", 0)
            .with_tag("host", "a b")
            .with_field("value", 2i64);
        assert_eq!(lines(SerializerConfig::default(), &value), "a_b.load 2 0\n");
    }

    #[test]
    fn graphite_tags() {
        let config = SerializerConfig {
            graphite_tag_support: true,
            ..SerializerConfig::default()
        };
        let out = lines(config, &cpu());
        assert!(
            out.starts_with("cpu.usage_idle;cpu=cpu0;dc=us.east;host=tars 98.09 1455320660\n"),
            "{out}"
        );
    }
}
