//! The data that flows through a task: points (one time, tags, fields) and batches (the points
//! of one group over a window or query), each belonging to a group of tag values.

use std::collections::BTreeMap;
use std::fmt;

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Float.
    Float(f64),
    /// Integer (unsigned values arrive as integers too).
    Int(i64),
    /// Text.
    Str(String),
    /// Boolean.
    Bool(bool),
}

impl FieldValue {
    /// The value as a float, for numeric values.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Float(f) => Some(*f),
            FieldValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            FieldValue::Int(i) => (*i).into(),
            FieldValue::Str(s) => s.clone().into(),
            FieldValue::Bool(b) => (*b).into(),
        }
    }
}

impl fmt::Display for FieldValue {
    /// Go's `%v` of the value: `97.1`, `90`, `true`, text as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Float(x) => f.write_str(&go_float(*x)),
            FieldValue::Int(i) => write!(f, "{i}"),
            FieldValue::Str(s) => f.write_str(s),
            FieldValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A float as Go's `%v` prints it: shortest form, exponent for very large or small values.
pub fn go_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let abs = x.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{x:e}");
        // Rust writes 1e21, Go 1e+21.
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{:0>2}", e),
            Some((m, e)) => format!("{m}e-{:0>2}", &e[1..]),
            None => s,
        };
    }
    format!("{x}")
}

/// The tag values a point or batch is grouped by: `k1=v1,k2=v2` with keys sorted; empty when
/// not grouped (templates print it as `nil`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct GroupKey(pub String);

impl GroupKey {
    /// The key of `tags` for dimensions `dims` (`*` meaning every tag).
    pub fn of(tags: &BTreeMap<String, String>, dims: &Dimensions) -> GroupKey {
        let mut out = String::new();
        let mut push = |k: &str, v: &str| {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        };
        match dims {
            Dimensions::All => tags.iter().for_each(|(k, v)| push(k, v)),
            Dimensions::Tags(keys) => {
                for k in keys.iter() {
                    push(k, tags.get(k).map(String::as_str).unwrap_or(""));
                }
            }
        }
        GroupKey(out)
    }

    /// `nil` for the empty group, as Kapacitor's templates show it.
    pub fn display(&self) -> &str {
        if self.0.is_empty() {
            "nil"
        } else {
            &self.0
        }
    }
}

/// What points are grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimensions {
    /// `groupBy(*)`: every tag.
    All,
    /// These tag keys, sorted (empty: no grouping); shared, as every point carries them.
    Tags(std::sync::Arc<[String]>),
}

impl Default for Dimensions {
    /// No grouping.
    fn default() -> Self {
        Dimensions::Tags(Vec::new().into())
    }
}

impl Dimensions {
    /// The tags of `tags` that are dimensions.
    pub fn select(&self, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        match self {
            Dimensions::All => tags.clone(),
            Dimensions::Tags(keys) => keys
                .iter()
                .filter_map(|k| tags.get(k).map(|v| (k.clone(), v.clone())))
                .collect(),
        }
    }
}

/// One point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Measurement.
    pub name: String,
    /// Database it was written to.
    pub db: String,
    /// Retention policy it was written to.
    pub rp: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Fields.
    pub fields: BTreeMap<String, FieldValue>,
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// Its group.
    pub group: GroupKey,
    /// The dimensions that made the group.
    pub dims: Dimensions,
}

/// The points of one group over a window or query result, stamped with the batch time.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Measurement.
    pub name: String,
    /// Group.
    pub group: GroupKey,
    /// Dimensions of the group.
    pub dims: Dimensions,
    /// The group's tags.
    pub tags: BTreeMap<String, String>,
    /// Batch time (a window's upper edge, a query's stop).
    pub time: i64,
    /// The points, oldest first.
    pub points: Vec<Point>,
}

/// What moves between nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A single point (stream tasks).
    Point(Point),
    /// A batch (window output, query results).
    Batch(Batch),
}

impl Message {
    /// Its group.
    pub fn group(&self) -> &GroupKey {
        match self {
            Message::Point(p) => &p.group,
            Message::Batch(b) => &b.group,
        }
    }

    /// The data in InfluxDB's result shape (`{"series":[{"name","tags","columns","values"}]}`),
    /// as alert events and `httpOut` show it.
    pub fn to_result_json(&self) -> serde_json::Value {
        let points: Vec<&Point> = match self {
            Message::Point(p) => vec![p],
            Message::Batch(b) => b.points.iter().collect(),
        };
        let (name, tags) = match self {
            Message::Point(p) => (&p.name, p.dims.select(&p.tags)),
            Message::Batch(b) => (&b.name, b.tags.clone()),
        };
        let mut columns: Vec<String> = vec!["time".into()];
        for p in &points {
            for k in p.fields.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
        let values: Vec<serde_json::Value> = points
            .iter()
            .map(|p| {
                let mut row = vec![serde_json::Value::String(rfc3339(p.time))];
                row.extend(columns[1..].iter().map(|c| {
                    p.fields
                        .get(c)
                        .map_or(serde_json::Value::Null, FieldValue::to_json)
                }));
                serde_json::Value::Array(row)
            })
            .collect();
        let mut series = serde_json::json!({ "name": name, "columns": columns, "values": values });
        if !tags.is_empty() {
            series["tags"] = serde_json::json!(tags);
        }
        serde_json::json!({ "series": [series] })
    }
}

/// RFC 3339 with nanoseconds as needed, UTC (`2016-12-01T00:00:00Z`).
pub fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go() {
        assert_eq!(go_float(97.1), "97.1");
        assert_eq!(go_float(90.0), "90");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.00001), "1e-05");
    }

    #[test]
    fn group_keys() {
        let tags = BTreeMap::from([
            ("host".to_string(), "a".to_string()),
            ("cpu".to_string(), "0".to_string()),
        ]);
        assert_eq!(GroupKey::of(&tags, &Dimensions::All).0, "cpu=0,host=a");
        assert_eq!(
            GroupKey::of(&tags, &Dimensions::Tags(vec!["host".to_string()].into())).0,
            "host=a"
        );
        assert_eq!(GroupKey::of(&tags, &Dimensions::default()).display(), "nil");
    }
}
