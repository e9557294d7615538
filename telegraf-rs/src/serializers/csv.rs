//! `data_format = "csv"`: one row per metric — timestamp, measurement, tag values, field
//! values (tags and fields sorted by key) — with an optional header row.

use super::SerializerConfig;
use crate::metric::{FieldValue, Metric};

/// The `csv` serializer's settings.
#[derive(Debug, Clone)]
pub struct CsvSerializer {
    header: bool,
    separator: u8,
    timestamp_format: String,
    column_prefix: bool,
}

impl CsvSerializer {
    /// Reads `csv_header`, `csv_separator`, `csv_timestamp_format`, `csv_column_prefix`.
    pub fn new(config: &SerializerConfig) -> Result<Self, String> {
        let separator = match config.csv_separator.as_bytes() {
            [] => b',',
            [b] => *b,
            _ => {
                return Err(format!(
                    "csv_separator {:?} must be one character",
                    config.csv_separator
                ))
            }
        };
        Ok(CsvSerializer {
            header: config.csv_header,
            separator,
            timestamp_format: match config.csv_timestamp_format.as_str() {
                "" => "unix".into(),
                f => f.into(),
            },
            column_prefix: config.csv_column_prefix,
        })
    }

    fn timestamp(&self, ns: i64) -> String {
        match self.timestamp_format.as_str() {
            "unix" => ns.div_euclid(1_000_000_000).to_string(),
            "unix_ms" => ns.div_euclid(1_000_000).to_string(),
            "unix_us" => ns.div_euclid(1_000).to_string(),
            "unix_ns" => ns.to_string(),
            layout => {
                use chrono::TimeZone;
                crate::gotime::go_format(&chrono::Utc.timestamp_nanos(ns), layout)
            }
        }
    }

    /// The rows of `metrics` (a header before the first when asked).
    pub fn write(&self, metrics: &[Metric], out: &mut Vec<u8>) {
        let mut writer = ::csv::WriterBuilder::new()
            .delimiter(self.separator)
            .from_writer(Vec::new());
        for (i, m) in metrics.iter().enumerate() {
            let mut fields: Vec<&(String, FieldValue)> = m.fields.iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            if self.header && i == 0 {
                let (tag, field) = match self.column_prefix {
                    true => ("tag_", "field_"),
                    false => ("", ""),
                };
                let mut row = vec!["timestamp".to_string(), "measurement".to_string()];
                row.extend(m.tags.keys().map(|k| format!("{tag}{k}")));
                row.extend(fields.iter().map(|(k, _)| format!("{field}{k}")));
                let _ = writer.write_record(&row);
            }
            let mut row = vec![self.timestamp(m.time), m.name.clone()];
            row.extend(m.tags.values().cloned());
            row.extend(fields.iter().map(|(_, v)| match v {
                FieldValue::Float(f) => format!("{f}"),
                other => other.to_text(),
            }));
            let _ = writer.write_record(&row);
        }
        if let Ok(bytes) = writer.into_inner() {
            out.extend_from_slice(&bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_header() {
        let config = SerializerConfig {
            csv_header: true,
            csv_column_prefix: true,
            ..SerializerConfig::default()
        };
        let m = Metric::new("cpu", 1_653_643_420_000_000_000)
            .with_tag("host", "a,b")
            .with_field("usage_user", 1.5)
            .with_field("n", 2i64);
        let mut out = Vec::new();
        CsvSerializer::new(&config).unwrap().write(&[m], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "timestamp,measurement,tag_host,field_n,field_usage_user\n1653643420,cpu,\"a,b\",2,1.5\n"
        );
    }
}
