//! Escaping rules of line protocol, per element, as InfluxDB 1.x applies them.
//!
//! | element | escaped when written | unescaped when read |
//! |---|---|---|
//! | measurement | `,` and space | `\,` `\"` `\ ` `\=`, left to right (Go's `escape.Unescape`) |
//! | tag key, tag value | `,`, `=` and space | `\,` then `\ ` then `\=`, each replaced throughout in turn (Go's `unescapeTag`) |
//! | field key | `,`, `=` and space | as a measurement |
//! | string field value | `"` and `\` | `\\` `\"`, left to right |
//!
//! A backslash before any other character is kept literally, as InfluxDB does; so is a
//! backslash before another backslash, except in string values (`cpu\\=x` names the
//! measurement `cpu\=x`).

use std::borrow::Cow;
use std::fmt;

/// Which element a piece of text belongs to; decides the set of escaped characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// The measurement name.
    Measurement,
    /// A tag key or tag value.
    Key,
    /// A field key.
    FieldKey,
    /// The inside of a double-quoted string field value.
    StringValue,
}

impl Element {
    /// Whether `b` must be preceded by a backslash in this element.
    pub fn needs_escape(self, b: u8) -> bool {
        match self {
            Element::Measurement => matches!(b, b',' | b' '),
            Element::Key | Element::FieldKey => matches!(b, b',' | b' ' | b'='),
            Element::StringValue => matches!(b, b'"' | b'\\'),
        }
    }
}

/// A name or string value as it appears in the input, escapes included; unescaped on demand.
///
/// Keeping the raw slice makes parsing allocation-free; most names carry no escapes, and
/// [`EscapedStr::unescaped`] then borrows.
#[derive(Clone, Copy)]
pub struct EscapedStr<'a> {
    raw: &'a [u8],
    element: Element,
    has_escape: bool,
}

impl<'a> EscapedStr<'a> {
    /// Wraps `raw` (already validated as UTF-8 by the parser) of the given element.
    pub(crate) fn new(raw: &'a [u8], element: Element, has_escape: bool) -> Self {
        EscapedStr {
            raw,
            element,
            has_escape,
        }
    }

    /// Whether the input had a backslash in this element (then [`EscapedStr::unescaped`] copies).
    pub fn has_escape(&self) -> bool {
        self.has_escape
    }

    /// The bytes exactly as written in the input.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The unescaped bytes; borrows when the input had no escapes.
    pub fn unescaped(&self) -> Cow<'a, [u8]> {
        if !self.has_escape {
            return Cow::Borrowed(self.raw);
        }
        Cow::Owned(match self.element {
            Element::Measurement | Element::FieldKey => unescape_codes(self.raw, b",\" ="),
            Element::Key => replace_escapes(self.raw, b", ="),
            Element::StringValue => unescape_codes(self.raw, b"\\\""),
        })
    }

    /// The unescaped text. The parser validated UTF-8, so this never fails for parsed input.
    pub fn as_str(&self) -> Cow<'a, str> {
        match self.unescaped() {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(b),
            },
            Cow::Owned(v) => Cow::Owned(
                String::from_utf8(v)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }
}

impl PartialEq for EscapedStr<'_> {
    fn eq(&self, other: &Self) -> bool {
        if !self.has_escape && !other.has_escape {
            return self.raw == other.raw;
        }
        self.unescaped() == other.unescaped()
    }
}

impl fmt::Debug for EscapedStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_str(), f)
    }
}

impl PartialEq<str> for EscapedStr<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.unescaped() == *other.as_bytes()
    }
}

impl PartialEq<&str> for EscapedStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.unescaped() == *other.as_bytes()
    }
}

/// Go's `escape.Unescape`: left to right, a backslash before one of `codes` is dropped; any
/// other backslash is kept and the byte after it read on its own.
fn unescape_codes(raw: &[u8], codes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && raw.get(i + 1).is_some_and(|next| codes.contains(next)) {
            out.push(raw[i + 1]);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// Go's `unescapeTag`: for each code in turn, every `\c` of the text so far becomes `c`
/// (`bytes.Replace`, left to right, matches not overlapping).
pub(crate) fn replace_escapes(raw: &[u8], codes: &[u8]) -> Vec<u8> {
    let mut text = raw.to_vec();
    for &code in codes {
        if !text.windows(2).any(|w| w == [b'\\', code]) {
            continue;
        }
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'\\' && text.get(i + 1) == Some(&code) {
                out.push(code);
                i += 2;
            } else {
                out.push(text[i]);
                i += 1;
            }
        }
        text = out;
    }
    text
}

/// Appends `text` to `out`, escaping what `element` requires.
pub fn escape_into(out: &mut Vec<u8>, text: &[u8], element: Element) {
    if !text.iter().any(|&b| element.needs_escape(b)) {
        out.extend_from_slice(text);
        return;
    }
    for &b in text {
        if element.needs_escape(b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_as_influxdb_does() {
        let unescape =
            |raw: &[u8], element| EscapedStr::new(raw, element, true).unescaped().into_owned();
        // Measurements and field keys: Go's escape.Unescape, `=` and `"` included.
        assert_eq!(
            unescape(br#"a\,b\ c\=d\x\"e"#, Element::Measurement),
            br#"a,b c=d\x"e"#
        );
        assert_eq!(unescape(br"cpu\\=x", Element::Measurement), br"cpu\=x");
        assert_eq!(unescape(br#"f\=k\""#, Element::FieldKey), br#"f=k""#);
        // Tags: each code replaced in turn; a quote keeps its backslash.
        assert_eq!(
            unescape(br#"a\,b\ c\=d\x\"e"#, Element::Key),
            br#"a,b c=d\x\"e"#
        );
        assert_eq!(unescape(br"\\,\,\=", Element::Key), br"\,,=");
        assert_eq!(unescape(br"a\\\ b", Element::Key), br"a\\ b");
        assert_eq!(unescape(br"reg\\=ion", Element::Key), br"reg\=ion");
        // String values: `\\` and `\"`.
        assert_eq!(
            unescape(br#"a\"b\\c\d"#, Element::StringValue),
            br#"a"b\c\d"#
        );
    }

    #[test]
    fn escape_round_trips() {
        let mut out = Vec::new();
        escape_into(&mut out, b"a b,c=d", Element::Key);
        assert_eq!(out, br"a\ b\,c\=d");
    }
}
