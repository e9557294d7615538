//! Escaping rules of line protocol, per element.
//!
//! | element | escaped characters |
//! |---|---|
//! | measurement | `,` and space |
//! | tag key, tag value, field key | `,`, `=` and space |
//! | string field value | `"` and `\` |
//!
//! A backslash before any other character is kept literally, as InfluxDB does.

use std::borrow::Cow;
use std::fmt;

/// Which element a piece of text belongs to; decides the set of escaped characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// The measurement name.
    Measurement,
    /// A tag key, tag value or field key.
    Key,
    /// The inside of a double-quoted string field value.
    StringValue,
}

impl Element {
    /// Whether `b` must be preceded by a backslash in this element.
    pub fn needs_escape(self, b: u8) -> bool {
        match self {
            Element::Measurement => matches!(b, b',' | b' '),
            Element::Key => matches!(b, b',' | b' ' | b'='),
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
        let mut out = Vec::with_capacity(self.raw.len());
        let mut i = 0;
        while i < self.raw.len() {
            let b = self.raw[i];
            if b == b'\\' && i + 1 < self.raw.len() {
                // The parser pairs a backslash with the byte after it; only escapable bytes
                // lose their backslash, any other pair is kept literally.
                let next = self.raw[i + 1];
                if !self.element.needs_escape(next) {
                    out.push(b);
                }
                out.push(next);
                i += 2;
            } else {
                out.push(b);
                i += 1;
            }
        }
        Cow::Owned(out)
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
    fn unescapes_only_the_element_set() {
        let s = EscapedStr::new(br"a\,b\ c\=d\x", Element::Measurement, true);
        assert_eq!(&*s.unescaped(), br"a,b c\=d\x");
        let k = EscapedStr::new(br"a\,b\ c\=d\x", Element::Key, true);
        assert_eq!(&*k.unescaped(), br"a,b c=d\x");
    }

    #[test]
    fn escape_round_trips() {
        let mut out = Vec::new();
        escape_into(&mut out, b"a b,c=d", Element::Key);
        assert_eq!(out, br"a\ b\,c\=d");
    }
}
