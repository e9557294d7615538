//! A metric as inputs produce it and outputs write it, and its line-protocol form.

use lineproto::{LineWriter, Value, WriteError};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// One field value; Telegraf's types.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A float; NaN and infinities are left out when written.
    Float(f64),
    /// A signed integer.
    Int(i64),
    /// An unsigned counter; written as an integer unless `influx_uint_support`.
    UInt(u64),
    /// Text.
    Str(String),
    /// A boolean.
    Bool(bool),
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::Float(v)
    }
}
impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::Int(v)
    }
}
impl From<u64> for FieldValue {
    fn from(v: u64) -> Self {
        FieldValue::UInt(v)
    }
}
impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}
impl From<String> for FieldValue {
    fn from(v: String) -> Self {
        FieldValue::Str(v)
    }
}
impl From<&str> for FieldValue {
    fn from(v: &str) -> Self {
        FieldValue::Str(v.to_string())
    }
}

impl FieldValue {
    /// The value as a number, as aggregators read it: floats, integers and unsigned integers;
    /// strings and booleans have none.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Float(f) => Some(*f),
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::UInt(u) => Some(*u as f64),
            FieldValue::Str(_) | FieldValue::Bool(_) => None,
        }
    }

    /// The value as Go's `fmt.Sprint` writes it (`%v`): what Telegraf's plugins use when they
    /// turn any value into a tag, a key or a string field.
    pub fn to_text(&self) -> String {
        match self {
            FieldValue::Float(f) => go_float_text(*f),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::UInt(u) => u.to_string(),
            FieldValue::Str(s) => s.clone(),
            FieldValue::Bool(b) => b.to_string(),
        }
    }
}

/// A float as Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`) writes it: the shortest
/// digits, with an exponent below 1e-4 and from 1e+06 up.
pub fn go_float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let scientific = format!("{f:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if f == 0.0 || (-4..6).contains(&exponent) {
        return format!("{f}");
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// A named set of fields with tags at one instant (nanoseconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The measurement.
    pub name: String,
    /// Tags, kept sorted by key as Telegraf does.
    pub tags: BTreeMap<String, String>,
    /// Fields in the order the input added them.
    pub fields: Vec<(String, FieldValue)>,
    /// Timestamp in nanoseconds.
    pub time: i64,
}

impl Metric {
    /// An empty metric named `name` at `time`.
    pub fn new(name: impl Into<String>, time: i64) -> Self {
        Metric {
            name: name.into(),
            tags: BTreeMap::new(),
            fields: Vec::new(),
            time,
        }
    }

    /// Adds (or replaces) a tag; builder style.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Adds a field; builder style.
    pub fn with_field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.add_field(key, value);
        self
    }

    /// Adds a field, replacing one of the same name.
    pub fn add_field(&mut self, key: impl Into<String>, value: impl Into<FieldValue>) {
        let key = key.into();
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }

    /// Removes field `key`, returning its value.
    pub fn remove_field(&mut self, key: &str) -> Option<FieldValue> {
        let at = self.fields.iter().position(|(k, _)| k == key)?;
        Some(self.fields.remove(at).1)
    }

    /// The value of field `key`, if present.
    pub fn field(&self, key: &str) -> Option<&FieldValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Appends the metric as one line (nanosecond timestamp). Non-finite floats are left out;
    /// unsigned values become integers (clamped to `i64::MAX`) unless `uint_support`.
    /// A metric left without fields is an error and nothing is written.
    pub fn write_line(&self, out: &mut LineWriter, uint_support: bool) -> Result<(), WriteError> {
        let fields: Vec<(&str, Value<'_>)> = self
            .fields
            .iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    FieldValue::Float(f) if !f.is_finite() => return None,
                    FieldValue::Float(f) => Value::Float(*f),
                    FieldValue::Int(i) => Value::Integer(*i),
                    FieldValue::UInt(u) if uint_support => Value::UInteger(*u),
                    FieldValue::UInt(u) => Value::Integer(i64::try_from(*u).unwrap_or(i64::MAX)),
                    FieldValue::Str(s) => Value::String(s),
                    FieldValue::Bool(b) => Value::Boolean(*b),
                };
                Some((k.as_str(), value))
            })
            .collect();
        let tags: Vec<(&str, &str)> = self
            .tags
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        out.write_line(&self.name, &tags, &fields, Some(self.time))
    }

    /// The metric as one line of line protocol (with its `\n`), as the `--test` output and the
    /// buffers hold it.
    pub fn to_line(&self, uint_support: bool) -> Result<Vec<u8>, WriteError> {
        let mut w = LineWriter::with_capacity(128);
        self.write_line(&mut w, uint_support)?;
        Ok(w.into_bytes())
    }
}

/// Converts a parsed line-protocol line (from `exec`, `socket_listener`, `http`) into a metric;
/// `default_time` stands in for a missing timestamp, and `precision` scales a given one.
pub fn from_line(
    line: &lineproto::Line<'_>,
    precision: lineproto::Precision,
    default_time: i64,
) -> Metric {
    let mut m = Metric::new(line.measurement.as_str().into_owned(), default_time);
    if let Some(ts) = line.timestamp.and_then(|t| precision.to_nanos(t)) {
        m.time = ts;
    }
    for (k, v) in &line.tags {
        m.tags
            .insert(k.as_str().into_owned(), v.as_str().into_owned());
    }
    for (k, v) in &line.fields {
        let value = match v {
            lineproto::FieldValue::Float(f) => FieldValue::Float(*f),
            lineproto::FieldValue::Integer(i) => FieldValue::Int(*i),
            lineproto::FieldValue::UInteger(u) => FieldValue::UInt(*u),
            lineproto::FieldValue::String(s) => FieldValue::Str(s.as_str().into_owned()),
            lineproto::FieldValue::Boolean(b) => FieldValue::Bool(*b),
        };
        m.add_field(k.as_str().into_owned(), value);
    }
    m
}

/// Nanoseconds since the epoch now.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sorted_tags_and_skips_non_finite_floats() {
        let m = Metric::new("cpu", 5)
            .with_tag("host", "a")
            .with_tag("cpu", "cpu0")
            .with_field("usage", 1.5)
            .with_field("nan", f64::NAN)
            .with_field("n", 3i64)
            .with_field("big", u64::MAX);
        let line = m.to_line(false).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "cpu,cpu=cpu0,host=a usage=1.5,n=3i,big=9223372036854775807i 5\n"
        );
        assert!(String::from_utf8(m.to_line(true).unwrap())
            .unwrap()
            .contains("big=18446744073709551615u"));
    }

    #[test]
    fn values_as_go_prints_them() {
        assert_eq!(FieldValue::Float(1e6).to_text(), "1e+06");
        assert_eq!(FieldValue::Float(123456.5).to_text(), "123456.5");
        assert_eq!(FieldValue::Float(0.0001).to_text(), "0.0001");
        assert_eq!(FieldValue::Float(0.00001).to_text(), "1e-05");
        assert_eq!(FieldValue::Float(-2.5e-7).to_text(), "-2.5e-07");
        assert_eq!(FieldValue::Float(3.0).to_text(), "3");
        assert_eq!(FieldValue::Float(0.0).to_text(), "0");
        assert_eq!(FieldValue::Float(f64::NEG_INFINITY).to_text(), "-Inf");
        assert_eq!(FieldValue::Bool(true).to_text(), "true");
        assert_eq!(FieldValue::UInt(7).as_f64(), Some(7.0));
        assert_eq!(FieldValue::Str("1".into()).as_f64(), None);
    }

    #[test]
    fn a_metric_with_only_nan_fields_is_not_written() {
        let m = Metric::new("x", 1).with_field("v", f64::NAN);
        assert!(m.to_line(false).is_err());
    }

    #[test]
    fn reads_parsed_lines_with_precision_and_default_time() {
        let body = b"m,t=a v=1i,s=\"x\" 2\nm v=2\n";
        let lines: Vec<_> = lineproto::parse_lines(body).map(|l| l.unwrap()).collect();
        let a = from_line(&lines[0], lineproto::Precision::Seconds, 99);
        assert_eq!(a.time, 2_000_000_000);
        assert_eq!(a.tags.get("t").map(String::as_str), Some("a"));
        assert_eq!(a.field("s"), Some(&FieldValue::Str("x".into())));
        let b = from_line(&lines[1], lineproto::Precision::Seconds, 99);
        assert_eq!(b.time, 99);
    }
}
