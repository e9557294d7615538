//! `processors.converter`: changes the type of fields and tags — a tag becomes a field of a
//! given type or the measurement name, a field changes type, becomes a tag, the measurement
//! name or the metric's timestamp. A value that does not convert is removed (and logged), as
//! Telegraf does.

use super::{globs, Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use crate::parsers::{parse_go_bool, parse_go_float};
use globset::GlobSet;
use serde::{Deserialize, Serialize};

/// Options of `[processors.converter]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ConverterConfig {
    /// Tags to convert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Conversions>,
    /// Fields to convert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Conversions>,
}

/// Globs of the keys to convert, per target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Conversions {
    /// Becomes the measurement name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub measurement: Vec<String>,
    /// Becomes a tag (fields only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<String>,
    /// Becomes a string field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub string: Vec<String>,
    /// Becomes an integer field (floats are rounded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub integer: Vec<String>,
    /// Becomes an unsigned field (negative values become 0).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsigned: Vec<String>,
    /// Becomes a boolean field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boolean: Vec<String>,
    /// Becomes a float field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub float: Vec<String>,
    /// Becomes the metric's timestamp (fields only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timestamp: Vec<String>,
    /// `unix`, `unix_ms`, `unix_us` or `unix_ns`: how a `timestamp` field counts.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timestamp_format: String,
}

/// What a key converts to, in the order Telegraf tries them.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Measurement,
    Tag,
    String,
    Integer,
    Unsigned,
    Boolean,
    Float,
    Timestamp,
}

struct Compiled {
    rules: Vec<(Target, GlobSet)>,
    timestamp_unit: i64,
}

impl Compiled {
    fn new(c: &Conversions, section: &str) -> Result<Compiled, ProcessorError> {
        let lists = [
            (Target::Measurement, "measurement", &c.measurement),
            (Target::Tag, "tag", &c.tag),
            (Target::String, "string", &c.string),
            (Target::Integer, "integer", &c.integer),
            (Target::Unsigned, "unsigned", &c.unsigned),
            (Target::Boolean, "boolean", &c.boolean),
            (Target::Float, "float", &c.float),
            (Target::Timestamp, "timestamp", &c.timestamp),
        ];
        let mut rules = Vec::new();
        for (target, option, patterns) in lists {
            if let Some(set) = globs(&format!("{section}.{option}"), patterns)? {
                rules.push((target, set));
            }
        }
        let timestamp_unit = match c.timestamp_format.as_str() {
            "" | "unix" => 1_000_000_000,
            "unix_ms" => 1_000_000,
            "unix_us" => 1_000,
            "unix_ns" => 1,
            other if c.timestamp.is_empty() => {
                return Err(ProcessorError(format!(
                    "{section}.timestamp_format {other:?} is given without timestamp keys"
                )))
            }
            other => {
                return Err(ProcessorError(format!(
                    "{section}.timestamp_format {other:?}: only unix, unix_ms, unix_us and \
                     unix_ns are implemented by telegraf-rs"
                )))
            }
        };
        Ok(Compiled {
            rules,
            timestamp_unit,
        })
    }

    fn target(&self, key: &str) -> Option<Target> {
        self.rules
            .iter()
            .find(|(_, set)| set.is_match(key))
            .map(|(t, _)| *t)
    }
}

/// Builds the processor.
pub fn build(
    c: &ConverterConfig,
    _: &ProcessorContext,
) -> Result<Box<dyn Processor>, ProcessorError> {
    Ok(Box::new(Converter {
        tags: c
            .tags
            .as_ref()
            .map(|t| Compiled::new(t, "tags"))
            .transpose()?,
        fields: c
            .fields
            .as_ref()
            .map(|f| Compiled::new(f, "fields"))
            .transpose()?,
    }))
}

struct Converter {
    tags: Option<Compiled>,
    fields: Option<Compiled>,
}

/// `strconv.ParseInt(s, 0, 64)`: an optional sign, then decimal, `0x`, `0o`, `0b` or a
/// leading-`0` octal number, `_` allowed between digits with a prefix.
fn parse_go_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.replace('_', ""))
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.replace('_', ""))
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.replace('_', ""))
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].replace('_', ""))
    } else if lower.contains('_') {
        return None;
    } else {
        (10, lower)
    };
    if body.is_empty() || body.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(&body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn to_float(v: &FieldValue) -> Option<f64> {
    match v {
        FieldValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        FieldValue::Str(s) => parse_go_float(s),
        other => other.as_f64(),
    }
}

fn round_to_i64(f: f64) -> Option<i64> {
    if f.is_nan() {
        return None;
    }
    // `as` saturates at the ends, as Telegraf clamps.
    Some(f.round() as i64)
}

fn to_integer(v: &FieldValue) -> Option<i64> {
    match v {
        FieldValue::Int(i) => Some(*i),
        FieldValue::UInt(u) => Some(i64::try_from(*u).unwrap_or(i64::MAX)),
        FieldValue::Float(f) => round_to_i64(*f),
        FieldValue::Bool(b) => Some(i64::from(*b)),
        FieldValue::Str(s) => parse_go_int(s).or_else(|| round_to_i64(parse_go_float(s)?)),
    }
}

fn to_unsigned(v: &FieldValue) -> Option<u64> {
    match v {
        FieldValue::UInt(u) => Some(*u),
        FieldValue::Int(i) => Some(u64::try_from(*i).unwrap_or(0)),
        FieldValue::Float(f) if f.is_nan() => None,
        FieldValue::Float(f) => Some(f.round() as u64),
        FieldValue::Bool(b) => Some(u64::from(*b)),
        FieldValue::Str(s) => match parse_go_int(s) {
            Some(i) => Some(u64::try_from(i).unwrap_or(0)),
            None => s.parse::<u64>().ok().or_else(|| {
                parse_go_float(s)
                    .filter(|f| !f.is_nan())
                    .map(|f| f.round() as u64)
            }),
        },
    }
}

fn to_boolean(v: &FieldValue) -> Option<bool> {
    match v {
        FieldValue::Bool(b) => Some(*b),
        FieldValue::Int(i) => Some(*i != 0),
        FieldValue::UInt(u) => Some(*u != 0),
        FieldValue::Float(f) => Some(*f != 0.0),
        FieldValue::Str(s) => parse_go_bool(s),
    }
}

/// The value as a string field or tag: floats in plain decimal (`FormatFloat(f, 'f', -1)`).
fn to_string(v: &FieldValue) -> String {
    match v {
        FieldValue::Float(f) if f.is_finite() => format!("{f}"),
        other => other.to_text(),
    }
}

fn convert(target: Target, v: &FieldValue) -> Option<FieldValue> {
    Some(match target {
        Target::String => FieldValue::Str(to_string(v)),
        Target::Integer => FieldValue::Int(to_integer(v)?),
        Target::Unsigned => FieldValue::UInt(to_unsigned(v)?),
        Target::Boolean => FieldValue::Bool(to_boolean(v)?),
        Target::Float => FieldValue::Float(to_float(v)?),
        Target::Measurement | Target::Tag | Target::Timestamp => return None,
    })
}

impl Converter {
    fn convert_tags(&self, rules: &Compiled, m: &mut Metric) {
        let keys: Vec<String> = m.tags.keys().cloned().collect();
        for key in keys {
            let Some(target) = rules.target(&key) else {
                continue;
            };
            let Some(value) = m.tags.remove(&key) else {
                continue;
            };
            if target == Target::Measurement {
                m.name = value;
                continue;
            }
            match convert(target, &FieldValue::Str(value.clone())) {
                Some(v) => m.add_field(key, v),
                None => tracing::error!(
                    "[processors.converter] error converting tag {key:?} value {value:?} to \
                     {target:?}; removed"
                ),
            }
        }
    }

    fn convert_fields(&self, rules: &Compiled, m: &mut Metric) {
        let keys: Vec<String> = m.fields.iter().map(|(k, _)| k.clone()).collect();
        for key in keys {
            let Some(target) = rules.target(&key) else {
                continue;
            };
            let Some(value) = m.remove_field(&key) else {
                continue;
            };
            match target {
                Target::Measurement => m.name = to_string(&value),
                Target::Tag => {
                    m.tags.insert(key, to_string(&value));
                }
                Target::Timestamp => {
                    match to_integer(&value).and_then(|t| t.checked_mul(rules.timestamp_unit)) {
                        Some(t) => m.time = t,
                        None => tracing::error!(
                        "[processors.converter] field {key:?} value {value:?} is not a timestamp; \
                         removed"
                    ),
                    }
                }
                _ => match convert(target, &value) {
                    Some(v) => m.add_field(key, v),
                    None => tracing::error!(
                        "[processors.converter] error converting field {key:?} value {value:?} \
                         to {target:?}; removed"
                    ),
                },
            }
        }
    }
}

impl Processor for Converter {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        if let Some(rules) = &self.tags {
            self.convert_tags(rules, &mut m);
        }
        if let Some(rules) = &self.fields {
            self.convert_fields(rules, &mut m);
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    fn metric() -> Metric {
        Metric::new("m", 1)
            .with_tag("port", "0x1F")
            .with_tag("ok", "true")
            .with_tag("name", "cpu")
            .with_field("a", 2.5)
            .with_field("b", "42")
            .with_field("c", -3i64)
            .with_field("d", "nope")
            .with_field("e", 7i64)
            .with_field("ts", 1_700_000_000i64)
    }

    #[test]
    fn tags_become_typed_fields_or_the_name() {
        let mut p = processor(
            "converter",
            "[tags]\ninteger = [\"port\"]\nboolean = [\"ok\"]\nmeasurement = [\"name\"]",
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.name, "cpu");
        assert!(m.tags.is_empty());
        assert_eq!(m.field("port"), Some(&FieldValue::Int(31)));
        assert_eq!(m.field("ok"), Some(&FieldValue::Bool(true)));
    }

    #[test]
    fn fields_change_type_and_bad_values_are_removed() {
        let mut p = processor(
            "converter",
            "[fields]\ninteger = [\"a\", \"b\", \"d\"]\nunsigned = [\"c\"]\nstring = [\"e\"]\n\
             tag = [\"e*\"]\ntimestamp = [\"ts\"]\ntimestamp_format = \"unix\"",
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.field("a"), Some(&FieldValue::Int(3)));
        assert_eq!(m.field("b"), Some(&FieldValue::Int(42)));
        assert_eq!(m.field("c"), Some(&FieldValue::UInt(0)));
        assert_eq!(m.field("d"), None);
        // `tag` is tried before `string`, as Telegraf does.
        assert_eq!(m.tags.get("e").map(String::as_str), Some("7"));
        assert_eq!(m.time, 1_700_000_000_000_000_000);
    }

    #[test]
    fn go_number_and_bool_syntax() {
        assert_eq!(parse_go_int("0x1f"), Some(31));
        assert_eq!(parse_go_int("-0b101"), Some(-5));
        assert_eq!(parse_go_int("017"), Some(15));
        assert_eq!(parse_go_int("1_000"), None);
        assert_eq!(parse_go_int("0x1_0"), Some(16));
        assert_eq!(parse_go_int("9223372036854775808"), None);
        assert_eq!(to_integer(&FieldValue::Str("2.5".into())), Some(3));
        assert_eq!(to_integer(&FieldValue::Float(1e300)), Some(i64::MAX));
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(
            to_string(&FieldValue::Float(1e21)),
            "1000000000000000000000"
        );
    }

    #[test]
    fn a_go_time_layout_is_refused_by_name() {
        let c: ConverterConfig =
            toml::from_str("[fields]\ntimestamp = [\"t\"]\ntimestamp_format = \"2006-01-02\"")
                .unwrap();
        let err = build(&c, &ProcessorContext).err().unwrap();
        assert!(err.0.contains("fields.timestamp_format"), "{err}");
    }
}
