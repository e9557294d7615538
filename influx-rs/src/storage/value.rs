//! Field values and types as the store keeps them.

use compact_str::CompactString;

/// The five field types of InfluxDB; the discriminant is the on-disk tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum FieldType {
    /// 64-bit float.
    Float = 1,
    /// Signed 64-bit integer.
    Integer = 2,
    /// Unsigned 64-bit integer.
    Unsigned = 3,
    /// UTF-8 string.
    String = 4,
    /// Boolean.
    Boolean = 5,
}

impl FieldType {
    /// InfluxDB's name of the type (`float`, `integer`, …).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
        }
    }

    /// The type of an on-disk tag byte.
    pub fn from_tag(tag: u8) -> Option<FieldType> {
        Some(match tag {
            1 => FieldType::Float,
            2 => FieldType::Integer,
            3 => FieldType::Unsigned,
            4 => FieldType::String,
            5 => FieldType::Boolean,
            _ => return None,
        })
    }
}

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Float.
    Float(f64),
    /// Integer.
    Integer(i64),
    /// Unsigned.
    Unsigned(u64),
    /// String.
    String(String),
    /// Boolean.
    Boolean(bool),
}

impl Value {
    /// The value's type.
    pub fn field_type(&self) -> FieldType {
        match self {
            Value::Float(_) => FieldType::Float,
            Value::Integer(_) => FieldType::Integer,
            Value::Unsigned(_) => FieldType::Unsigned,
            Value::String(_) => FieldType::String,
            Value::Boolean(_) => FieldType::Boolean,
        }
    }

    /// The value as JSON, as InfluxDB renders it in query results.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            // A float stays a float (`query::json` writes whole ones as Go does).
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Integer(i) => (*i).into(),
            Value::Unsigned(u) => (*u).into(),
            Value::String(s) => s.clone().into(),
            Value::Boolean(b) => (*b).into(),
        }
    }
}

/// A point ready for storage: canonical series key, ns time, typed fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The measurement name (unescaped).
    pub measurement: CompactString,
    /// `measurement,k=v,…` with sorted, escaped tags (see `lineproto::series_key`).
    pub series_key: Vec<u8>,
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// Field name → value. Names are short: kept inline, not on the heap.
    pub fields: Vec<(CompactString, Value)>,
}
