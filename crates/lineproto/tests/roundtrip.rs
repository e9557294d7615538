//! Property tests: point → text → point is the identity, and the parser never panics.

use lineproto::write::{LineWriter, Value};
use lineproto::{parse_lines, FieldValue};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum OwnedValue {
    Float(f64),
    Integer(i64),
    UInteger(u64),
    String(String),
    Boolean(bool),
}

impl OwnedValue {
    fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Float(f) => Value::Float(*f),
            OwnedValue::Integer(i) => Value::Integer(*i),
            OwnedValue::UInteger(u) => Value::UInteger(*u),
            OwnedValue::String(s) => Value::String(s),
            OwnedValue::Boolean(b) => Value::Boolean(*b),
        }
    }

    fn from_parsed(v: &FieldValue<'_>) -> Self {
        match v {
            FieldValue::Float(f) => OwnedValue::Float(*f),
            FieldValue::Integer(i) => OwnedValue::Integer(*i),
            FieldValue::UInteger(u) => OwnedValue::UInteger(*u),
            FieldValue::String(s) => OwnedValue::String(s.as_str().into_owned()),
            FieldValue::Boolean(b) => OwnedValue::Boolean(*b),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, OwnedValue)>,
    timestamp: Option<i64>,
}

/// Names made of every troublesome character: separators, escapes, quotes, unicode.
fn name() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9 ,=\"\\\\#é_\\-]{1,12}").expect("valid regex")
}

fn value() -> impl Strategy<Value = OwnedValue> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(OwnedValue::Float),
        any::<i64>().prop_map(OwnedValue::Integer),
        any::<u64>().prop_map(OwnedValue::UInteger),
        proptest::string::string_regex("[a-z \\\\\",=é]{0,16}")
            .expect("valid regex")
            .prop_map(OwnedValue::String),
        any::<bool>().prop_map(OwnedValue::Boolean),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        name(),
        proptest::collection::btree_map(name(), name(), 0..4),
        proptest::collection::vec((name(), value()), 1..5),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(measurement, tags, fields, timestamp)| Point {
            measurement,
            tags: tags.into_iter().collect(),
            fields,
            timestamp,
        })
}

fn fields_as_values(p: &Point) -> Vec<(&str, Value<'_>)> {
    p.fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_value()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn written_points_parse_back_identically(points in proptest::collection::vec(point(), 1..8)) {
        let mut w = LineWriter::default();
        let mut written = Vec::new();
        for p in &points {
            if w.write_line(&p.measurement, &p.tags, &fields_as_values(p), p.timestamp).is_ok() {
                written.push(p.clone());
            }
        }
        let parsed: Vec<Point> = parse_lines(w.as_bytes())
            .map(|l| {
                let l = l.expect("writer output must parse");
                Point {
                    measurement: l.measurement.as_str().into_owned(),
                    tags: l.tags.iter().map(|(k, v)| (k.as_str().into_owned(), v.as_str().into_owned())).collect(),
                    fields: l.fields.iter().map(|(k, v)| (k.as_str().into_owned(), OwnedValue::from_parsed(v))).collect(),
                    timestamp: l.timestamp,
                }
            })
            .collect();
        prop_assert_eq!(&parsed, &written);
        // The series key of each line reads back to the same measurement and tags.
        for (line, p) in parse_lines(w.as_bytes()).zip(&written) {
            let line = line.expect("writer output must parse");
            let key = lineproto::series_key::split(&lineproto::series_key::of_line(&line))
                .expect("series keys split");
            let mut tags = p.tags.clone();
            tags.sort();
            prop_assert_eq!(&key.measurement, &p.measurement);
            prop_assert_eq!(key.tags, tags);
        }
    }

    #[test]
    fn parser_never_panics(input in proptest::collection::vec(any::<u8>(), 0..256)) {
        for line in parse_lines(&input) {
            if let Err(e) = line {
                prop_assert!(e.line_number() >= 1);
                prop_assert!(e.column() >= 1);
                prop_assert!(e.to_string().starts_with("unable to parse '"));
            }
        }
    }

    #[test]
    fn parser_never_panics_on_near_valid_text(input in "[a-z ,=\"\\\\0-9.\\-it#\r\n]{0,64}") {
        for line in parse_lines(input.as_bytes()) {
            let _ = line;
        }
    }
}
