//! The output data formats (`data_format` of `file`, `socket_writer`, `http`): one module per
//! format, each turning metrics into bytes as Telegraf's serializer of that name does.
//!
//! Buffers hold line protocol, so a batch arrives as lines and is read back into metrics for
//! every format but `influx`, which passes through unchanged.

use crate::metric::{from_line, Metric};
use serde::{Deserialize, Serialize};

pub mod carbon2;
pub mod csv;
pub mod graphite;
pub mod json;
pub mod prometheus;
pub mod splunkmetric;

/// The serializer options an output table may hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SerializerConfig {
    /// The format; `influx` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format: Option<String>,
    /// `json`: unit of the timestamp (`1s`, `1ms`, `1us`, `1ns`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_timestamp_units: Option<crate::options::GoDuration>,
    /// `json`: a Go layout for the timestamp instead of a number.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_timestamp_format: String,
    /// `graphite`: the bucket template (`host.tags.measurement.field`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template: String,
    /// `graphite`: prefix of every bucket.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// `graphite`: tags as Graphite 1.1 tags (`name;k=v`) instead of in the path.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub graphite_tag_support: bool,
    /// `graphite`: what joins path parts with tag support (`.`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub graphite_separator: String,
    /// `carbon2`: `field_separate` (default) or `metric_includes_field`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub carbon2_format: String,
    /// `carbon2`: what replaces characters Carbon2 does not allow (`:`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub carbon2_sanitize_replace_char: String,
    /// `splunkmetric`: the HEC envelope (`event`, `fields`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub splunkmetric_hec_routing: bool,
    /// `splunkmetric`: one event per metric with every field.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub splunkmetric_multimetric: bool,
    /// `csv`: a header line first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csv_header: bool,
    /// `csv`: the separator (`,`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_separator: String,
    /// `csv`: `unix` (default), `unix_ms`, `unix_us`, `unix_ns` or a Go layout.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_timestamp_format: String,
    /// `csv`: columns named `tag_…` and `field_…`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csv_column_prefix: bool,
    /// `prometheus`: write sample timestamps.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prometheus_export_timestamp: bool,
    /// `prometheus`: string fields as labels instead of dropped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub prometheus_string_as_label: bool,
}

/// Option names [`SerializerConfig`] reads.
pub const SERIALIZER_KEYS: &[&str] = &[
    "data_format",
    "json_timestamp_units",
    "json_timestamp_format",
    "template",
    "prefix",
    "graphite_tag_support",
    "graphite_separator",
    "carbon2_format",
    "carbon2_sanitize_replace_char",
    "splunkmetric_hec_routing",
    "splunkmetric_multimetric",
    "csv_header",
    "csv_separator",
    "csv_timestamp_format",
    "csv_column_prefix",
    "prometheus_export_timestamp",
    "prometheus_string_as_label",
];

/// A serializer ready to turn batches into bytes.
#[derive(Debug, Clone)]
pub enum Serializer {
    /// Line protocol, as buffered.
    Influx,
    /// One JSON document per metric, or `{"metrics":[…]}` per batch.
    Json(json::JsonSerializer),
    /// Graphite plaintext.
    Graphite(graphite::GraphiteSerializer),
    /// Carbon2.
    Carbon2(carbon2::Carbon2Serializer),
    /// Splunk metrics JSON.
    SplunkMetric(splunkmetric::SplunkSerializer),
    /// Delimited values.
    Csv(csv::CsvSerializer),
    /// Prometheus text exposition.
    Prometheus(prometheus::PrometheusSerializer),
}

impl Serializer {
    /// Builds the serializer `config` names (`influx` when none).
    pub fn new(config: &SerializerConfig) -> Result<Self, String> {
        Ok(match config.data_format.as_deref().unwrap_or("influx") {
            "influx" => Serializer::Influx,
            "json" => Serializer::Json(json::JsonSerializer::new(config)?),
            "graphite" => Serializer::Graphite(graphite::GraphiteSerializer::new(config)),
            "carbon2" => Serializer::Carbon2(carbon2::Carbon2Serializer::new(config)?),
            "splunkmetric" => Serializer::SplunkMetric(splunkmetric::SplunkSerializer::new(config)),
            "csv" => Serializer::Csv(csv::CsvSerializer::new(config)?),
            "prometheus" => Serializer::Prometheus(prometheus::PrometheusSerializer::new(config)),
            other => {
                return Err(format!(
                    "data_format {other:?} is not implemented by telegraf-rs (implemented: \
                     influx, json, graphite, carbon2, splunkmetric, csv, prometheus)"
                ))
            }
        })
    }

    /// Serializes a batch held as line protocol: `batch_format` writes formats that have one
    /// (`json`) as a single document, as `http` does; otherwise metric after metric.
    pub fn batch(&self, lines: &[u8], batch_format: bool) -> Vec<u8> {
        if let Serializer::Influx = self {
            return lines.to_vec();
        }
        let metrics = metrics_of(lines);
        let mut out = Vec::with_capacity(lines.len());
        match (self, batch_format) {
            (Serializer::Json(j), true) => j.batch(&metrics, &mut out),
            (Serializer::Prometheus(p), _) => p.write(&metrics, &mut out),
            (Serializer::Csv(c), _) => c.write(&metrics, &mut out),
            _ => {
                for m in &metrics {
                    self.metric(m, &mut out);
                }
            }
        }
        out
    }

    /// Serializes one metric.
    pub fn metric(&self, m: &Metric, out: &mut Vec<u8>) {
        match self {
            Serializer::Influx => {
                if let Ok(line) = m.to_line(false) {
                    out.extend_from_slice(&line);
                }
            }
            Serializer::Json(j) => j.metric(m, out),
            Serializer::Graphite(g) => g.metric(m, out),
            Serializer::Carbon2(c) => c.metric(m, out),
            Serializer::SplunkMetric(s) => s.metric(m, out),
            Serializer::Csv(c) => c.write(std::slice::from_ref(m), out),
            Serializer::Prometheus(p) => p.write(std::slice::from_ref(m), out),
        }
    }
}

/// The metrics of buffered line protocol (lines that do not parse, which the agent never
/// writes, are skipped).
pub fn metrics_of(lines: &[u8]) -> Vec<Metric> {
    lineproto::parse_lines(lines)
        .filter_map(Result::ok)
        .map(|l| from_line(&l, lineproto::Precision::Nanoseconds, 0))
        .collect()
}

/// A value as Telegraf's text serializers write numbers: floats plain (`FormatFloat 'f'`),
/// booleans as 1 or 0; `None` for strings and non-finite floats.
pub(crate) fn plain_number(v: &crate::metric::FieldValue) -> Option<String> {
    use crate::metric::FieldValue;
    Some(match v {
        FieldValue::Float(f) if !f.is_finite() => return None,
        FieldValue::Float(f) => format!("{f}"),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::UInt(u) => u.to_string(),
        FieldValue::Bool(b) => u8::from(*b).to_string(),
        FieldValue::Str(_) => return None,
    })
}

/// The metric's fields sorted by key, as Go's maps marshal them.
pub(crate) fn sorted_fields(m: &Metric) -> Vec<&(String, crate::metric::FieldValue)> {
    let mut fields: Vec<_> = m.fields.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn influx_passes_through_and_others_read_lines_back() {
        let lines = b"cpu,host=a usage=1.5,n=2i 1000000000\n";
        let influx = Serializer::new(&SerializerConfig::default()).unwrap();
        assert_eq!(influx.batch(lines, true), lines);
        let config = SerializerConfig {
            data_format: Some("graphite".into()),
            ..SerializerConfig::default()
        };
        let graphite = Serializer::new(&config).unwrap();
        assert_eq!(
            String::from_utf8(graphite.batch(lines, true)).unwrap(),
            "a.cpu.usage 1.5 1\na.cpu.n 2 1\n"
        );
        let config = SerializerConfig {
            data_format: Some("msgpack".into()),
            ..SerializerConfig::default()
        };
        assert!(Serializer::new(&config).unwrap_err().contains("msgpack"));
    }

    use proptest::prelude::*;

    fn metric_strategy() -> impl Strategy<Value = Metric> {
        (
            "[a-z][a-z0-9_]{0,8}",
            proptest::collection::btree_map("[a-z][a-z0-9]{0,5}", -1e9f64..1e9, 1..4),
            0i64..4_000_000_000,
        )
            .prop_map(|(name, fields, secs)| {
                let mut m = Metric::new(name, secs * 1_000_000_000);
                for (k, v) in fields {
                    m.add_field(format!("f_{k}"), v);
                }
                m
            })
    }

    proptest! {
        #[test]
        fn graphite_reads_back_what_graphite_wrote(m in metric_strategy()) {
            let config = SerializerConfig {
                data_format: Some("graphite".into()),
                template: "measurement.field".into(),
                ..SerializerConfig::default()
            };
            let mut text = Vec::new();
            Serializer::new(&config).unwrap().metric(&m, &mut text);
            let parser = crate::parsers::Parser::new(
                &crate::parsers::ParserConfig {
                    templates: vec!["measurement.field".into()],
                    ..crate::parsers::ParserConfig::default()
                },
                "graphite",
            )
            .unwrap();
            let back = parser.parse(&text, "x", 0).unwrap();
            prop_assert_eq!(back.len(), m.fields.len());
            for b in back {
                prop_assert_eq!(&b.name, &m.name);
                prop_assert_eq!(b.time, m.time);
                let (k, v) = &b.fields[0];
                prop_assert_eq!(Some(v), m.field(k));
            }
        }

        #[test]
        fn csv_reads_back_what_csv_wrote(m in metric_strategy()) {
            let config = SerializerConfig {
                data_format: Some("csv".into()),
                csv_header: true,
                ..SerializerConfig::default()
            };
            let mut text = Vec::new();
            Serializer::new(&config).unwrap().metric(&m, &mut text);
            let mut options = crate::parsers::csv::CsvOptions {
                csv_header_row_count: 1,
                csv_measurement_column: "measurement".into(),
                csv_timestamp_column: "timestamp".into(),
                csv_timestamp_format: "unix".into(),
                ..Default::default()
            };
            options.csv_column_types = std::iter::repeat_n("float".to_string(), m.fields.len() + 2).collect();
            options.csv_column_types[0] = "int".into();
            options.csv_column_types[1] = "string".into();
            let back = crate::parsers::csv::CsvParser::new(&options).unwrap().parse(&text, "x", 0).unwrap();
            prop_assert_eq!(back.len(), 1);
            let mut want = m.clone();
            want.fields.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(&back[0], &want);
        }

        #[test]
        fn prometheus_reads_back_what_prometheus_wrote(
            m in metric_strategy(),
            tags in proptest::collection::btree_map("[a-z][a-z0-9_]{0,5}", "[ -~]{0,8}", 0..3),
        ) {
            let mut m = m;
            m.tags = tags;
            let config = SerializerConfig {
                data_format: Some("prometheus".into()),
                prometheus_export_timestamp: true,
                ..SerializerConfig::default()
            };
            let mut text = Vec::new();
            Serializer::new(&config).unwrap().metric(&m, &mut text);
            // Read as the parser's version 1: one metric per family, its value in `value`.
            let back = crate::parsers::prometheus::parse(&text, 0).unwrap();
            prop_assert_eq!(back.len(), m.fields.len());
            for b in back {
                let field = b.name.strip_prefix(&format!("{}_", m.name)).unwrap_or_default();
                prop_assert_eq!(b.field("value").and_then(|v| v.as_f64()), m.field(field).and_then(|v| v.as_f64()));
                prop_assert_eq!(&b.tags, &m.tags);
                prop_assert_eq!(b.time, m.time);
            }
        }

        #[test]
        fn json_is_valid_json_holding_every_value(m in metric_strategy()) {
            let config = SerializerConfig { data_format: Some("json".into()), ..SerializerConfig::default() };
            let mut text = Vec::new();
            Serializer::new(&config).unwrap().metric(&m, &mut text);
            let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
            prop_assert_eq!(v["name"].as_str(), Some(m.name.as_str()));
            for (k, value) in &m.fields {
                prop_assert_eq!(v["fields"][k].as_f64(), value.as_f64());
            }
        }
    }
}
