//! The serializer: appends lines that [`crate::parse_lines`] reads back to the same values.

use crate::escape::{escape_into, Element};

/// A field value to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Written as the shortest text that reads back to the same `f64`.
    Float(f64),
    /// Written with the `i` suffix.
    Integer(i64),
    /// Written with the `u` suffix.
    UInteger(u64),
    /// Written quoted, with `"` and `\` escaped.
    String(&'a str),
    /// Written as `true` / `false`.
    Boolean(bool),
}

/// Something that cannot be expressed in line protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// Measurement, keys and tag values must not be empty.
    #[error("empty {0}")]
    Empty(&'static str),
    /// A line needs at least one field.
    #[error("missing fields")]
    NoFields,
    /// NaN and infinities have no line protocol form.
    #[error("non-finite float in field {0:?}")]
    NonFiniteFloat(String),
    /// Text that the parser would read differently (a newline, a leading `#` on the
    /// measurement, or an odd run of backslashes before an escaped character or the end).
    #[error("{0:?} cannot be written in line protocol")]
    Unrepresentable(String),
}

/// Appends escaped lines to an internal buffer.
///
/// ```
/// use lineproto::write::{LineWriter, Value};
/// let mut w = LineWriter::default();
/// w.write_line("cpu", &[("host", "a b")], &[("v", Value::Integer(1))], Some(10)).unwrap();
/// assert_eq!(w.as_bytes(), b"cpu,host=a\\ b v=1i 10\n");
/// ```
#[derive(Debug, Default, Clone)]
pub struct LineWriter {
    buf: Vec<u8>,
}

impl LineWriter {
    /// A writer whose buffer starts with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        LineWriter {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Appends one line terminated by `\n`. On error nothing is appended.
    pub fn write_line<K, V, F>(
        &mut self,
        measurement: &str,
        tags: &[(K, V)],
        fields: &[(F, Value<'_>)],
        timestamp: Option<i64>,
    ) -> Result<(), WriteError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
        F: AsRef<str>,
    {
        if fields.is_empty() {
            return Err(WriteError::NoFields);
        }
        check_name(measurement, Element::Measurement, "measurement")?;
        // The parser skips leading tabs and NULs and takes `#` for a comment.
        if measurement.starts_with(['#', '\t', '\0']) {
            return Err(WriteError::Unrepresentable(measurement.to_string()));
        }
        for (k, v) in tags {
            check_name(k.as_ref(), Element::Key, "tag key")?;
            check_name(v.as_ref(), Element::Key, "tag value")?;
        }
        for (k, v) in fields {
            check_name(k.as_ref(), Element::FieldKey, "field key")?;
            match v {
                Value::Float(f) if !f.is_finite() => {
                    return Err(WriteError::NonFiniteFloat(k.as_ref().to_string()))
                }
                Value::String(s) if s.contains('\n') => {
                    return Err(WriteError::Unrepresentable(s.to_string()))
                }
                _ => {}
            }
        }

        let buf = &mut self.buf;
        escape_into(buf, measurement.as_bytes(), Element::Measurement);
        for (k, v) in tags {
            buf.push(b',');
            escape_into(buf, k.as_ref().as_bytes(), Element::Key);
            buf.push(b'=');
            escape_into(buf, v.as_ref().as_bytes(), Element::Key);
        }
        buf.push(b' ');
        for (n, (k, v)) in fields.iter().enumerate() {
            if n > 0 {
                buf.push(b',');
            }
            escape_into(buf, k.as_ref().as_bytes(), Element::FieldKey);
            buf.push(b'=');
            write_value(buf, v);
        }
        if let Some(ts) = timestamp {
            buf.push(b' ');
            buf.extend_from_slice(itoa::Buffer::new().format(ts).as_bytes());
        }
        buf.push(b'\n');
        Ok(())
    }

    /// The lines written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets what was written, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

/// A finite float as InfluxDB and Telegraf write it (Go's `FormatFloat(f, 'f', -1, 64)`):
/// the shortest digits that read back exactly, never an exponent, no `.0` on whole numbers.
fn write_float(buf: &mut Vec<u8>, f: f64) {
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(f);
    if text.contains('e') {
        buf.extend_from_slice(format!("{f}").as_bytes());
    } else {
        buf.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
    }
}

fn write_value(buf: &mut Vec<u8>, v: &Value<'_>) {
    match *v {
        Value::Float(f) => write_float(buf, f),
        Value::Integer(i) => {
            buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            buf.push(b'i');
        }
        Value::UInteger(u) => {
            buf.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
            buf.push(b'u');
        }
        Value::String(s) => {
            buf.push(b'"');
            escape_into(buf, s.as_bytes(), Element::StringValue);
            buf.push(b'"');
        }
        Value::Boolean(b) => buf.extend_from_slice(if b { b"true" } else { b"false" }),
    }
}

/// Rejects names the parser would read back differently.
fn check_name(text: &str, element: Element, what: &'static str) -> Result<(), WriteError> {
    if text.is_empty() {
        return Err(WriteError::Empty(what));
    }
    let bytes = text.as_bytes();
    if bytes.contains(&b'\n') {
        return Err(WriteError::Unrepresentable(text.to_string()));
    }
    let unrepresentable = match element {
        // Read as InfluxDB reads a series key: a separator right after a backslash is text,
        // so a name cannot end in one, and a backslash before an escaped byte reads as an
        // escaped space or comma where InfluxDB looks for the end of a line; a measurement
        // also loses the backslash of `\"` and `\=`.
        Element::Measurement | Element::Key => {
            bytes.ends_with(b"\\")
                || bytes.windows(2).any(|w| {
                    w[0] == b'\\'
                        && (element.needs_escape(w[1])
                            || (element == Element::Measurement && matches!(w[1], b'"' | b'=')))
                })
        }
        // The field section pairs each backslash with the next byte, so an odd run of
        // backslashes before an escaped byte (or before the `=` after the key) would swallow
        // it; `\"` loses its backslash.
        Element::FieldKey | Element::StringValue => {
            odd_backslash_run_before_escape(bytes, element)
                || bytes.windows(2).any(|w| w == b"\\\"")
        }
    };
    if unrepresentable {
        return Err(WriteError::Unrepresentable(text.to_string()));
    }
    Ok(())
}

/// Whether an odd run of backslashes comes before a byte `element` escapes, or ends the text.
fn odd_backslash_run_before_escape(bytes: &[u8], element: Element) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < bytes.len() && bytes[i] == b'\\' {
            i += 1;
        }
        let odd = (i - run_start) % 2 == 1;
        let before_escaped = i == bytes.len() || element.needs_escape(bytes[i]);
        if odd && before_escaped {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_lines, FieldValue};

    #[test]
    fn writes_every_type() {
        let mut w = LineWriter::default();
        w.write_line(
            "m",
            &[("t", "v")],
            &[
                ("f", Value::Float(1.5)),
                ("i", Value::Integer(-1)),
                ("u", Value::UInteger(2)),
                ("s", Value::String("a\"\\b")),
                ("b", Value::Boolean(false)),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            w.as_bytes(),
            b"m,t=v f=1.5,i=-1i,u=2u,s=\"a\\\"\\\\b\",b=false\n"
        );
        let line = parse_lines(w.as_bytes()).next().unwrap().unwrap();
        match line.fields[3].1 {
            FieldValue::String(s) => assert_eq!(s, "a\"\\b"),
            ref other => panic!("{other:?}"),
        }
    }

    #[test]
    fn floats_as_go_formats_them() {
        let cases = [
            (10.0, "10"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (1e21, "1000000000000000000000"),
            (1.5e-7, "0.00000015"),
            (123456.789, "123456.789"),
        ];
        for (f, text) in cases {
            let mut buf = Vec::new();
            write_float(&mut buf, f);
            assert_eq!(String::from_utf8(buf).unwrap(), text);
        }
    }

    #[test]
    fn rejects_what_cannot_round_trip() {
        let mut w = LineWriter::default();
        let f = [("v", Value::Integer(1))];
        let no_tags: [(&str, &str); 0] = [];
        assert!(w.write_line("a\\", &no_tags, &f, None).is_err());
        assert!(w.write_line("#a", &no_tags, &f, None).is_err());
        assert!(w.write_line("\0a", &no_tags, &f, None).is_err());
        // A backslash before the separator after a name escapes it (InfluxDB reads `e\\\\ v=1`
        // as a measurement without fields), so no name may end in one.
        assert!(w.write_line("a", &[("k", "x\\")], &f, None).is_err());
        assert!(w.write_line("a\\\\", &no_tags, &f, None).is_err());
        assert!(w.write_line("a\\=", &no_tags, &f, None).is_err());
        assert!(w
            .write_line("a", &no_tags, &[("k\\\"", Value::Integer(1))], None)
            .is_err());
        assert!(w
            .write_line("a", &no_tags, &[("v", Value::Float(f64::NAN))], None)
            .is_err());
        assert!(w.write_line("a\\\\b", &no_tags, &f, None).is_ok());
        assert!(w.write_line("a", &[("k", "x\\y")], &f, None).is_ok());
        assert!(w.is_empty() || w.as_bytes().ends_with(b"\n"));
    }
}
