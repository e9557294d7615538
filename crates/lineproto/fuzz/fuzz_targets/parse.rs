//! Fuzz target: any bytes parse without panicking, and every line that parses survives a
//! write → parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lineproto::{parse_lines, FieldValue, LineWriter, Value};

fuzz_target!(|data: &[u8]| {
    for line in parse_lines(data).flatten() {
        let measurement = line.measurement.as_str();
        let tags: Vec<(String, String)> = line
            .tags
            .iter()
            .map(|(k, v)| (k.as_str().into_owned(), v.as_str().into_owned()))
            .collect();
        let strings: Vec<String> = line
            .fields
            .iter()
            .map(|(_, v)| match v {
                FieldValue::String(s) => s.as_str().into_owned(),
                _ => String::new(),
            })
            .collect();
        let fields: Vec<(String, Value<'_>)> = line
            .fields
            .iter()
            .zip(&strings)
            .map(|((k, v), s)| {
                let value = match *v {
                    FieldValue::Float(f) => Value::Float(f),
                    FieldValue::Integer(i) => Value::Integer(i),
                    FieldValue::UInteger(u) => Value::UInteger(u),
                    FieldValue::String(_) => Value::String(s),
                    FieldValue::Boolean(b) => Value::Boolean(b),
                };
                (k.as_str().into_owned(), value)
            })
            .collect();
        let mut w = LineWriter::default();
        if w.write_line(&measurement, &tags, &fields, line.timestamp).is_ok() {
            let again = parse_lines(w.as_bytes()).next();
            assert!(matches!(again, Some(Ok(_))), "writer output did not parse");
        }
    }
});
