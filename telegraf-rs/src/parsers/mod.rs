//! The input data formats (`data_format`): one module per format, each turning a body an
//! input received (a command's output, an HTTP answer, a datagram, a line of a file) into
//! metrics, with Telegraf's options and Telegraf's types.
//!
//! [`ParserConfig`] holds every parser option a plugin table may carry (they are read apart
//! from the plugin's own); [`Parser::new`] builds the parser it names.

use crate::metric::Metric;
use serde::{Deserialize, Serialize};

pub mod collectd;
pub mod csv;
pub mod form_urlencoded;
pub mod graphite;
pub mod grok;
pub mod influx;
pub mod json;
pub mod json_v2;
pub mod logfmt;
pub mod nagios;
pub mod prometheus;
pub mod prometheus_text;
pub mod value;
pub mod xpath;

/// The parser options a plugin table may hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ParserConfig {
    /// The format; the plugin's default when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format: Option<String>,
    /// `json`: keys (globs) that become tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_keys: Vec<String>,
    /// `json`: string values kept as fields (globs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_string_fields: Vec<String>,
    /// `json`: key whose value names the measurement.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_name_key: String,
    /// `json`: key holding the timestamp.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_time_key: String,
    /// `json`: `unix`, `unix_ms`, `unix_us` or `unix_ns`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub json_time_format: String,
    /// `value`: `integer`, `float`, `string`, `boolean`, `auto_integer`, `auto_float`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data_type: String,
    /// `value`: the field's name (`value`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value_field_name: String,
    /// `logfmt`: keys that become tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logfmt_tag_keys: Vec<String>,
    /// `form_urlencoded`: keys that become tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub form_urlencoded_tag_keys: Vec<String>,
    /// `graphite`: `[filter] template [tags]` patterns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
    /// `graphite`: what joins matched parts (`.`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// `grok`: the patterns tried on each line, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grok_patterns: Vec<String>,
    /// `grok`: deprecated names of patterns to try (`%{NAME}`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grok_named_patterns: Vec<String>,
    /// `grok`: `NAME regex` lines defining more patterns.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grok_custom_patterns: String,
    /// `grok`: files of `NAME regex` lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grok_custom_pattern_files: Vec<String>,
    /// `grok`: the zone of times written without one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grok_timezone: String,
    /// `grok`: `auto` (default) moves repeated times apart; `disable` keeps them.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grok_unique_timestamp: String,
    /// `collectd`: types.db files naming the data sources of each type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collectd_typesdb: Vec<String>,
    /// `collectd`: `none` (the default), `sign` or `encrypt`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub collectd_security_level: String,
    /// `collectd`: the `user: password` file for signed and encrypted packets.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub collectd_auth_file: String,
    /// `collectd`: `split` (a metric per value) or `join` (a field per value).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub collectd_parse_multivalue: String,
    /// `json_v2`: the `[[….json_v2]]` tables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_v2: Vec<json_v2::JsonV2Config>,
    /// `xml`, `xpath_json`, `xpath_msgpack`: the `[[….xpath]]` tables (`[[….xml]]`, their older name, too).
    #[serde(alias = "xml", skip_serializing_if = "Vec::is_empty")]
    pub xpath: Vec<xpath::XpathConfig>,
    /// `xpath_json`, `xpath_msgpack`: JSON numbers and booleans keep their types.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub xpath_native_types: bool,
    /// `xml`, `xpath_json`, `xpath_msgpack`: a `metric_selection` that selects nothing is no error.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub xpath_allow_empty_selection: bool,
    /// `xml`, `xpath_json`, `xpath_msgpack`: log each document as XML (debug level).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub xpath_print_document: bool,
    /// `csv` options.
    #[serde(flatten)]
    pub csv: csv::CsvOptions,
}

/// Option names [`ParserConfig`] reads.
pub const PARSER_KEYS: &[&str] = &[
    "data_format",
    "tag_keys",
    "json_string_fields",
    "json_name_key",
    "json_time_key",
    "json_time_format",
    "json_v2",
    "xpath",
    "xml",
    "xpath_native_types",
    "xpath_allow_empty_selection",
    "xpath_print_document",
    "collectd_typesdb",
    "collectd_security_level",
    "collectd_auth_file",
    "collectd_parse_multivalue",
    "grok_patterns",
    "grok_named_patterns",
    "grok_custom_patterns",
    "grok_custom_pattern_files",
    "grok_timezone",
    "grok_unique_timestamp",
    "data_type",
    "value_field_name",
    "logfmt_tag_keys",
    "form_urlencoded_tag_keys",
    "templates",
    "separator",
    "csv_header_row_count",
    "csv_column_names",
    "csv_column_types",
    "csv_skip_rows",
    "csv_skip_columns",
    "csv_delimiter",
    "csv_comment",
    "csv_trim_space",
    "csv_tag_columns",
    "csv_tag_overwrite",
    "csv_measurement_column",
    "csv_timestamp_column",
    "csv_timestamp_format",
    "csv_skip_values",
    "csv_skip_errors",
];

/// A parser ready to turn bodies into metrics.
#[derive(Debug, Clone)]
pub enum Parser {
    /// Line protocol with nanosecond timestamps.
    Influx,
    /// Legacy JSON.
    Json(json::JsonParser),
    /// JSON read through GJSON paths.
    JsonV2(json_v2::JsonV2Parser),
    /// One value per body.
    Value(value::ValueParser),
    /// `key=value` lines.
    Logfmt(logfmt::LogfmtParser),
    /// An HTML form body.
    FormUrlencoded(form_urlencoded::FormParser),
    /// Comma (or other) separated values.
    Csv(csv::CsvParser),
    /// Graphite plaintext with templates.
    Graphite(graphite::GraphiteParser),
    /// Prometheus text exposition.
    Prometheus,
    /// A Nagios plugin's output.
    Nagios,
    /// Lines matched by grok patterns.
    Grok(grok::GrokParser),
    /// collectd's binary network protocol.
    Collectd(collectd::CollectdParser),
    /// XML or JSON read through XPath queries.
    Xpath(xpath::XpathParser),
}

/// Compiles `patterns` (of option `option`) into one glob set, empty when there are none.
pub(crate) fn globs(option: &str, patterns: &[String]) -> Result<globset::GlobSet, String> {
    crate::filter::compile(option, patterns)
        .map(Option::unwrap_or_default)
        .map_err(|e| e.to_string())
}

impl Parser {
    /// Builds the parser `config` names, `default_format` when it names none.
    pub fn new(config: &ParserConfig, default_format: &str) -> Result<Self, String> {
        Ok(
            match config.data_format.as_deref().unwrap_or(default_format) {
                "influx" => Parser::Influx,
                "json" => Parser::Json(json::JsonParser::new(config)?),
                "json_v2" => Parser::JsonV2(json_v2::JsonV2Parser::new(&config.json_v2)?),
                "value" => Parser::Value(value::ValueParser::new(config)?),
                "logfmt" => Parser::Logfmt(logfmt::LogfmtParser::new(config)),
                "form_urlencoded" => {
                    Parser::FormUrlencoded(form_urlencoded::FormParser::new(config))
                }
                "csv" => Parser::Csv(csv::CsvParser::new(&config.csv)?),
                "graphite" => Parser::Graphite(graphite::GraphiteParser::new(config)?),
                "prometheus" => Parser::Prometheus,
                "nagios" => Parser::Nagios,
                "grok" => Parser::Grok(grok::GrokParser::new(config)?),
                "collectd" => Parser::Collectd(collectd::CollectdParser::new(config)?),
                "xml" => Parser::Xpath(xpath::XpathParser::new(xpath::Format::Xml, config)?),
                "xpath_json" => {
                    Parser::Xpath(xpath::XpathParser::new(xpath::Format::Json, config)?)
                }
                "xpath_msgpack" => {
                    Parser::Xpath(xpath::XpathParser::new(xpath::Format::Msgpack, config)?)
                }
                other => {
                    return Err(format!(
                        "data_format {other:?} is not implemented by telegraf-rs (implemented: \
                     influx, json, json_v2, value, logfmt, form_urlencoded, csv, graphite, prometheus, nagios, grok, collectd, xml, xpath_json, xpath_msgpack)"
                    ))
                }
            },
        )
    }

    /// Whether the format is binary: a datagram is parsed whole, not split into lines.
    pub fn is_binary(&self) -> bool {
        matches!(self, Parser::Collectd(_))
    }

    /// Parses `body`; metrics without a timestamp get `now`, formats without names of their
    /// own name them `name`.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        match self {
            Parser::Influx => influx::parse(body, now),
            Parser::Json(p) => p.parse(body, name, now),
            Parser::JsonV2(p) => p.parse(body, name, now),
            Parser::Value(p) => p.parse(body, name, now),
            Parser::Logfmt(p) => p.parse(body, name, now),
            Parser::FormUrlencoded(p) => p.parse(body, name, now),
            Parser::Csv(p) => p.parse(body, name, now),
            Parser::Graphite(p) => p.parse(body, now),
            Parser::Prometheus => prometheus::parse(body, now),
            Parser::Nagios => nagios::parse(body, now),
            Parser::Grok(p) => p.parse(body, name, now),
            Parser::Collectd(p) => p.parse(body, now),
            Parser::Xpath(p) => p.parse(body, name, now),
        }
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A text value typed as Telegraf's parsers guess it: integer, else float, else boolean,
/// else string.
pub(crate) fn guess_value(s: &str) -> crate::metric::FieldValue {
    use crate::metric::FieldValue;
    if let Ok(i) = s.parse::<i64>() {
        return FieldValue::Int(i);
    }
    if let Some(f) = parse_go_float(s) {
        return FieldValue::Float(f);
    }
    match parse_go_bool(s) {
        Some(b) => FieldValue::Bool(b),
        None => FieldValue::Str(s.to_string()),
    }
}

/// Go's `strconv.ParseFloat`: decimal or exponent forms, `inf`/`nan` words; not Rust's
/// `infinity` spellings beyond those Go takes.
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.trim_start_matches(['+', '-']);
    let word = body.to_ascii_lowercase();
    if body.is_empty()
        || (body.starts_with(|c: char| c.is_ascii_alphabetic())
            && !matches!(word.as_str(), "inf" | "infinity" | "nan"))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_formats_are_named() {
        let config = ParserConfig {
            data_format: Some("xpath_protobuf".into()),
            ..ParserConfig::default()
        };
        assert!(Parser::new(&config, "influx")
            .unwrap_err()
            .contains("xpath_protobuf"));
    }

    #[test]
    fn guesses_types_as_telegraf() {
        use crate::metric::FieldValue;
        assert_eq!(guess_value("42"), FieldValue::Int(42));
        assert_eq!(guess_value("4.5e1"), FieldValue::Float(45.0));
        assert_eq!(guess_value("true"), FieldValue::Bool(true));
        assert_eq!(guess_value("Inf"), FieldValue::Float(f64::INFINITY));
        assert_eq!(guess_value("infinite"), FieldValue::Str("infinite".into()));
        assert_eq!(guess_value("x1"), FieldValue::Str("x1".into()));
    }
}
