//! The parser: body → lines → [`Line`] borrowing from the body.
//!
//! Lines are separated by `\n`; blank lines and lines starting with `#` (after leading
//! whitespace) are skipped. A `\r` before the `\n` is not stripped, as in InfluxDB 1.x, so CRLF
//! input fails with InfluxDB's own error for the element it lands in.

use crate::escape::{Element, EscapedStr};
use smallvec::SmallVec;
use std::fmt;

/// A field value as parsed; strings stay borrowed and escaped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// `1`, `1.5`, `-2e10`.
    Float(f64),
    /// `1i`.
    Integer(i64),
    /// `1u`.
    UInteger(u64),
    /// `"text"`.
    String(EscapedStr<'a>),
    /// `t`, `true`, `F`, `false`, ….
    Boolean(bool),
}

/// Tags of one line, in input order.
pub type Tags<'a> = SmallVec<[(EscapedStr<'a>, EscapedStr<'a>); 8]>;
/// Fields of one line, in input order.
pub type Fields<'a> = SmallVec<[(EscapedStr<'a>, FieldValue<'a>); 4]>;

/// One parsed line. Everything borrows from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// The measurement name.
    pub measurement: EscapedStr<'a>,
    /// Tag pairs in input order (no duplicates: those are rejected).
    pub tags: Tags<'a>,
    /// Field pairs in input order; at least one.
    pub fields: Fields<'a>,
    /// Measurement and tags exactly as written (the text before the field section).
    pub key: &'a [u8],
    /// The timestamp in the request's precision, when the line has one.
    pub timestamp: Option<i64>,
    /// 1-based number of the line in the body.
    pub line_number: usize,
    /// The whole line as written (for error messages of later stages).
    pub raw: &'a [u8],
}

/// Why a line was rejected, in InfluxDB's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The line starts with a separator.
    MissingMeasurement,
    /// No field section.
    MissingFields,
    /// A tag with an empty key.
    MissingTagKey,
    /// A tag without `=value` or with an empty value.
    MissingTagValue,
    /// A tag value with an unescaped `=`.
    InvalidTagFormat,
    /// A tag key that appears twice.
    DuplicateTags,
    /// A field with an empty key.
    MissingFieldKey,
    /// A field key without `=value`.
    MissingFieldValue,
    /// A field section that is not `key=value` pairs.
    InvalidFieldFormat,
    /// A numeric value that is not a number (or NaN/Inf, or `u` where not allowed).
    InvalidNumber,
    /// A float that does not parse (bad exponent) or is not finite.
    InvalidFloat,
    /// An integer that does not fit 64 bits.
    IntegerOutOfRange(String),
    /// An unsigned integer that does not fit 64 bits.
    UnsignedOutOfRange(String),
    /// A value starting like a boolean that is none of the spellings.
    InvalidBoolean,
    /// A string value without its closing quote.
    UnbalancedQuotes,
    /// A timestamp that is not an integer.
    BadTimestamp,
    /// A timestamp that does not fit 64 bits.
    TimestampOutOfRange(String),
    /// Text after the timestamp.
    PointIsInvalid,
    /// Names or strings that are not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::MissingMeasurement => f.write_str("missing measurement"),
            ParseErrorKind::MissingFields => f.write_str("missing fields"),
            ParseErrorKind::MissingTagKey => f.write_str("missing tag key"),
            ParseErrorKind::MissingTagValue => f.write_str("missing tag value"),
            ParseErrorKind::InvalidTagFormat => f.write_str("invalid tag format"),
            ParseErrorKind::DuplicateTags => f.write_str("duplicate tags"),
            ParseErrorKind::MissingFieldKey => f.write_str("missing field key"),
            ParseErrorKind::MissingFieldValue => f.write_str("missing field value"),
            ParseErrorKind::InvalidFieldFormat => f.write_str("invalid field format"),
            ParseErrorKind::InvalidNumber => f.write_str("invalid number"),
            ParseErrorKind::InvalidFloat => f.write_str("invalid float"),
            ParseErrorKind::IntegerOutOfRange(v) => write!(
                f,
                "unable to parse integer {v}: strconv.ParseInt: parsing {v:?}: value out of range"
            ),
            ParseErrorKind::UnsignedOutOfRange(v) => write!(
                f,
                "unable to parse unsigned {v}: strconv.ParseUint: parsing {v:?}: value out of range"
            ),
            ParseErrorKind::InvalidBoolean => f.write_str("invalid boolean"),
            ParseErrorKind::UnbalancedQuotes => f.write_str("unbalanced quotes"),
            ParseErrorKind::BadTimestamp => f.write_str("bad timestamp"),
            ParseErrorKind::TimestampOutOfRange(v) => {
                write!(f, "strconv.ParseInt: parsing {v:?}: value out of range")
            }
            ParseErrorKind::PointIsInvalid => f.write_str("point is invalid"),
            ParseErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
        }
    }
}

/// A rejected line: where (line, column) and why.
///
/// `Display` gives InfluxDB's message (`unable to parse '<line>': <reason>`), which the store
/// returns verbatim; [`ParseError::line_number`] and [`ParseError::column`] locate it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse '{}': {kind}", String::from_utf8_lossy(line))]
pub struct ParseError {
    /// Why.
    pub kind: ParseErrorKind,
    /// 1-based line number in the body.
    pub line_number: usize,
    /// 1-based byte column in the line where the problem was found.
    pub column: usize,
    /// The offending line.
    pub line: Vec<u8>,
}

impl ParseError {
    /// 1-based line number in the body.
    pub fn line_number(&self) -> usize {
        self.line_number
    }

    /// 1-based byte column in the line.
    pub fn column(&self) -> usize {
        self.column
    }
}

/// Iterator over the lines of a body; see [`parse_lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    input: &'a [u8],
    pos: usize,
    line_number: usize,
}

/// Parses every non-blank, non-comment line of `input`, one result per line.
pub fn parse_lines(input: &[u8]) -> Lines<'_> {
    Lines {
        input,
        pos: 0,
        line_number: 0,
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Line<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.input.len() {
            let rest = &self.input[self.pos..];
            let end = line_end(rest);
            let raw = &rest[..end];
            self.pos += end + 1;
            self.line_number += 1;
            let start = raw
                .iter()
                .position(|&b| b != b' ' && b != b'\t' && b != 0)
                .unwrap_or(raw.len());
            // A string held open to the end of the body takes the last newline with it;
            // InfluxDB drops that one.
            let line = raw[start..].strip_suffix(b"\n").unwrap_or(&raw[start..]);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            return Some(
                parse_line(line, self.line_number).map_err(|(kind, col)| ParseError {
                    kind,
                    line_number: self.line_number,
                    column: start + col + 1,
                    line: line.to_vec(),
                }),
            );
        }
        None
    }
}

type LineResult<T> = Result<T, (ParseErrorKind, usize)>;

/// Scans a measurement or a tag key or value from `start` to the first byte of `stops` that
/// does not follow a backslash; returns (end, has_escape). This is InfluxDB's rule for the
/// series key: a separator right after a backslash is text, even when that backslash itself
/// follows another (`reg\\=ion=x` is the tag `reg\=ion` = `x`); the byte at `start` is
/// never a separator.
#[inline]
fn scan_key_element(l: &[u8], start: usize, stops: &[u8], backslashes: bool) -> (usize, bool) {
    // Most lines have no backslash at all: the first stop after `start` ends the element.
    if !backslashes {
        let end = l
            .get(start + 1..)
            .and_then(|rest| rest.iter().position(|b| stops.contains(b)))
            .map_or(l.len(), |p| start + 1 + p);
        return (end, false);
    }
    let mut has_escape = l.get(start) == Some(&b'\\');
    let mut i = start + 1;
    while i < l.len() {
        let b = l[i];
        if b == b'\\' {
            has_escape = true;
        } else if stops.contains(&b) && l[i - 1] != b'\\' {
            return (i, has_escape);
        }
        i += 1;
    }
    (l.len(), has_escape)
}

/// Scans a field key up to an unescaped byte of `stops`, a backslash taking the byte after
/// it (InfluxDB's rule for the field section); returns (end, has_escape).
#[inline]
fn scan_name(l: &[u8], mut i: usize, stops: &[u8]) -> (usize, bool) {
    let mut has_escape = false;
    while i < l.len() {
        let b = l[i];
        if b == b'\\' {
            has_escape = true;
            i += 2;
            continue;
        }
        if stops.contains(&b) {
            return (i, has_escape);
        }
        i += 1;
    }
    (l.len(), has_escape)
}

#[inline]
fn name<'a>(
    l: &'a [u8],
    start: usize,
    end: usize,
    element: Element,
    has_escape: bool,
) -> LineResult<EscapedStr<'a>> {
    let raw = &l[start..end];
    if !raw.is_ascii() && std::str::from_utf8(raw).is_err() {
        return Err((ParseErrorKind::InvalidUtf8, start));
    }
    Ok(EscapedStr::new(raw, element, has_escape))
}

fn skip_spaces(l: &[u8], mut i: usize) -> usize {
    while i < l.len() && l[i] == b' ' {
        i += 1;
    }
    i
}

fn parse_line(l: &[u8], line_number: usize) -> LineResult<Line<'_>> {
    // Measurement.
    if l.first() == Some(&b',') {
        return Err((ParseErrorKind::MissingMeasurement, 0));
    }
    let backslashes = memchr::memchr(b'\\', l).is_some();
    let (end, esc) = scan_key_element(l, 0, b", ", backslashes);
    let measurement = name(l, 0, end, Element::Measurement, esc)?;
    let mut i = end;
    if i >= l.len() {
        return Err((ParseErrorKind::MissingFields, i));
    }

    // Tags.
    let mut tags = Tags::new();
    while i < l.len() && l[i] == b',' {
        i += 1;
        let key_start = i;
        if key_start >= l.len() || matches!(l[key_start], b' ' | b',' | b'=') {
            return Err((ParseErrorKind::MissingTagKey, key_start));
        }
        let (key_end, key_esc) = scan_key_element(l, key_start, b",= ", backslashes);
        if key_end >= l.len() || l[key_end] != b'=' {
            return Err((ParseErrorKind::MissingTagValue, key_end));
        }
        let value_start = key_end + 1;
        if value_start >= l.len() || matches!(l[value_start], b' ' | b',') {
            return Err((ParseErrorKind::MissingTagValue, value_start));
        }
        let (value_end, value_esc) = scan_key_element(l, value_start, b",= ", backslashes);
        if value_end < l.len() && l[value_end] == b'=' {
            return Err((ParseErrorKind::InvalidTagFormat, value_end));
        }
        tags.push((
            name(l, key_start, key_end, Element::Key, key_esc)?,
            name(l, value_start, value_end, Element::Key, value_esc)?,
        ));
        i = value_end;
    }
    if tags.len() > 1 {
        check_duplicate_tags(&tags)?;
    }

    // Fields.
    if i >= l.len() {
        return Err((ParseErrorKind::MissingFields, i));
    }
    let key = &l[..i];
    i = skip_spaces(l, i);
    // InfluxDB first checks that no string of the field section is left open: if one is,
    // the line is unbalanced, whatever the values look like.
    if memchr::memchr(b'"', &l[i..]).is_some() && !quotes_pair_up(&l[i..]) {
        return Err((ParseErrorKind::UnbalancedQuotes, i));
    }
    let mut fields = Fields::new();
    loop {
        let key_start = i;
        let (key_end, key_esc) = scan_name(l, i, b",= ");
        if key_end >= l.len() || l[key_end] != b'=' {
            return Err((ParseErrorKind::InvalidFieldFormat, key_end));
        }
        if key_end == key_start {
            return Err((ParseErrorKind::MissingFieldKey, key_start));
        }
        let key = name(l, key_start, key_end, Element::FieldKey, key_esc)?;
        let (value, value_end) = parse_field_value(l, key_end + 1)?;
        fields.push((key, value));
        i = value_end;
        if i < l.len() && l[i] == b',' {
            i += 1;
            continue;
        }
        break;
    }

    // Timestamp.
    let i = skip_spaces(l, i);
    let timestamp = if i < l.len() {
        let mut end = i;
        while end < l.len() && l[end] != b' ' {
            end += 1;
        }
        let text = &l[i..end];
        let ts = match parse_i64(text) {
            Some(ts) => ts,
            None if is_integer_text(text) => {
                let v = String::from_utf8_lossy(text).into_owned();
                return Err((ParseErrorKind::TimestampOutOfRange(v), i));
            }
            None => return Err((ParseErrorKind::BadTimestamp, i)),
        };
        if skip_spaces(l, end) != l.len() {
            return Err((ParseErrorKind::PointIsInvalid, end));
        }
        Some(ts)
    } else {
        None
    };

    Ok(Line {
        measurement,
        tags,
        fields,
        key,
        timestamp,
        line_number,
        raw: l,
    })
}

/// Rejects a tag key given twice. Keys are first compared by a cheap fingerprint (length and
/// end bytes of the raw text); only keys that may be equal are compared in full.
fn check_duplicate_tags(tags: &Tags<'_>) -> LineResult<()> {
    let fingerprint = |k: &EscapedStr<'_>| {
        let raw = k.raw();
        (
            raw.len(),
            raw.first().copied(),
            raw.last().copied(),
            k.has_escape(),
        )
    };
    let prints: SmallVec<[_; 16]> = tags.iter().map(|(k, _)| fingerprint(k)).collect();
    for n in 1..tags.len() {
        for m in 0..n {
            let may_match = prints[n] == prints[m] || prints[n].3 || prints[m].3;
            if may_match && tags[n].0 == tags[m].0 {
                return Err((ParseErrorKind::DuplicateTags, 0));
            }
        }
    }
    Ok(())
}

/// Parses the value starting at `i`; returns it and the index just past it.
#[inline]
fn parse_field_value(l: &[u8], i: usize) -> LineResult<(FieldValue<'_>, usize)> {
    if i >= l.len() || l[i] == b' ' || l[i] == b',' {
        return Err((ParseErrorKind::MissingFieldValue, i));
    }
    match l[i] {
        b'"' => {
            let start = i + 1;
            let mut j = start;
            let mut has_escape = false;
            while j < l.len() {
                match l[j] {
                    b'\\' => {
                        has_escape = true;
                        j += 2;
                    }
                    b'"' => {
                        // InfluxDB 1.x reads on to the next separator and drops the first and
                        // last byte of the token, so `"a"x` is the string `a"`.
                        let next = token_end(l, j + 1);
                        let raw = &l[start..next - 1];
                        if std::str::from_utf8(raw).is_err() {
                            return Err((ParseErrorKind::InvalidUtf8, start));
                        }
                        let value = EscapedStr::new(raw, Element::StringValue, has_escape);
                        return Ok((FieldValue::String(value), next));
                    }
                    _ => j += 1,
                }
            }
            Err((ParseErrorKind::UnbalancedQuotes, i))
        }
        b'0'..=b'9' | b'-' | b'.' => {
            let end = token_end(l, i);
            Ok((parse_number(&l[i..end]).map_err(|k| (k, i))?, end))
        }
        _ => {
            let end = token_end(l, i);
            let value = match &l[i..end] {
                b"t" | b"T" | b"true" | b"True" | b"TRUE" => true,
                b"f" | b"F" | b"false" | b"False" | b"FALSE" => false,
                _ => return Err((ParseErrorKind::InvalidBoolean, i)),
            };
            Ok((FieldValue::Boolean(value), end))
        }
    }
}

#[inline]
fn token_end(l: &[u8], mut i: usize) -> usize {
    while i < l.len() && l[i] != b',' && l[i] != b' ' {
        i += 1;
    }
    i
}

fn parse_number(tok: &[u8]) -> Result<FieldValue<'static>, ParseErrorKind> {
    let (last, body) = match tok.split_last() {
        Some(x) => x,
        None => return Err(ParseErrorKind::InvalidNumber),
    };
    match last {
        b'i' => {
            if !is_integer_text(body) {
                return Err(ParseErrorKind::InvalidNumber);
            }
            parse_i64(body).map(FieldValue::Integer).ok_or_else(|| {
                ParseErrorKind::IntegerOutOfRange(String::from_utf8_lossy(body).into_owned())
            })
        }
        b'u' => {
            if body.first() == Some(&b'-') || !is_integer_text(body) {
                return Err(ParseErrorKind::InvalidNumber);
            }
            parse_u64(body).map(FieldValue::UInteger).ok_or_else(|| {
                ParseErrorKind::UnsignedOutOfRange(String::from_utf8_lossy(body).into_owned())
            })
        }
        _ => parse_float(tok).map(FieldValue::Float),
    }
}

/// `-?[0-9]+`
fn is_integer_text(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// Floats as InfluxDB 1.x reads them: a number scan that allows digits, one `.` and an
/// exponent (else `invalid number`), then a float parse that must give a finite value (else
/// `invalid float`).
fn parse_float(tok: &[u8]) -> Result<f64, ParseErrorKind> {
    let body = tok.strip_prefix(b"-").unwrap_or(tok);
    let valid_chars = body
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    let starts_well = body
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'.');
    let dots = body.iter().filter(|&&b| b == b'.').count();
    let has_digit = body.iter().any(u8::is_ascii_digit);
    let has_exponent = body.iter().any(|&b| b == b'e' || b == b'E');
    if !valid_chars || !starts_well || dots > 1 || !has_digit {
        return Err(ParseErrorKind::InvalidNumber);
    }
    if !has_exponent && body.iter().any(|&b| b == b'+' || b == b'-') {
        return Err(ParseErrorKind::InvalidNumber);
    }
    let text = std::str::from_utf8(tok).map_err(|_| ParseErrorKind::InvalidNumber)?;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ParseErrorKind::InvalidFloat),
    }
}

/// Parses `-?[0-9]+` into an i64 without overflow; `None` on any other text.
/// Whether the field section `fields` leaves no string open, by InfluxDB's `scanFields`: a
/// backslash skips the byte after it; a `"` opens or closes a string only where a value stands
/// (more `=` than `,` seen outside strings), so quotes in keys do not count; the section ends
/// at a space outside a string.
fn quotes_pair_up(fields: &[u8]) -> bool {
    let (mut quoted, mut equals, mut commas) = (false, 0usize, 0usize);
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            b'\\' if i + 1 < fields.len() => {
                i += 2;
                continue;
            }
            b'"' if equals > commas => quoted = !quoted,
            b'=' if !quoted => equals += 1,
            b',' if !quoted => commas += 1,
            b' ' if !quoted => break,
            _ => {}
        }
        i += 1;
    }
    !quoted
}

/// Where the line at the start of `rest` ends: at its first newline, unless a quoted string
/// field value holds that newline (InfluxDB's `scanLine`: after the first space, a `"` opens or
/// closes a string when more `=` than `,` were seen outside strings; a backslash skips the byte
/// after it). Lines without a `"` before their first newline take the fast path.
fn line_end(rest: &[u8]) -> usize {
    let newline = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    if memchr::memchr(b'"', &rest[..newline]).is_none() {
        return newline;
    }
    let (mut quoted, mut fields) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    let mut i = 0;
    while i < rest.len() {
        let b = rest[i];
        if b == b'\\' && i + 2 < rest.len() {
            i += 2;
            continue;
        }
        if b == b' ' {
            fields = true;
        }
        if fields {
            if !quoted && b == b'=' {
                equals += 1;
            } else if !quoted && b == b',' {
                commas += 1;
            } else if b == b'"' && equals > commas {
                quoted = !quoted;
            }
        }
        if b == b'\n' && !quoted {
            break;
        }
        i += 1;
    }
    i
}

fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, b),
    };
    // Any number of leading zeros, as Go's ParseInt takes them; the checked arithmetic
    // finds what does not fit.
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        v = if neg {
            v.checked_mul(10)?.checked_sub(digit)?
        } else {
            v.checked_mul(10)?.checked_add(digit)?
        };
    }
    Some(v)
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &str) -> Result<Line<'_>, ParseError> {
        let mut it = parse_lines(input.as_bytes());
        let r = it.next().expect("one line");
        assert!(it.next().is_none());
        r
    }

    fn err(input: &str) -> ParseErrorKind {
        one(input).expect_err("should fail").kind
    }

    #[test]
    fn parses_every_type() {
        let l = one(r#"m,t=1 f=1.5,i=-2i,u=3u,s="a\"b",b=true 123"#).unwrap();
        assert_eq!(l.measurement, "m");
        assert_eq!(l.tags[0].0, "t");
        assert_eq!(l.fields[0].1, FieldValue::Float(1.5));
        assert_eq!(l.fields[1].1, FieldValue::Integer(-2));
        assert_eq!(l.fields[2].1, FieldValue::UInteger(3));
        match l.fields[3].1 {
            FieldValue::String(s) => assert_eq!(s, "a\"b"),
            ref other => panic!("{other:?}"),
        }
        assert_eq!(l.fields[4].1, FieldValue::Boolean(true));
        assert_eq!(l.timestamp, Some(123));
    }

    #[test]
    fn skips_blank_and_comment_lines() {
        let lines: Vec<_> = parse_lines(b"\n  \n# c\n  # c2\nm v=1\n\n").collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].as_ref().unwrap().line_number, 5);
    }

    #[test]
    fn escapes() {
        let l = one(r"m\ x\,y,t\ k=v\=1 f\,k=1").unwrap();
        assert_eq!(l.measurement, "m x,y");
        assert_eq!(l.tags[0].0, "t k");
        assert_eq!(l.tags[0].1, "v=1");
        assert_eq!(l.fields[0].0, "f,k");
        let l = one(r"m=x,t=a\b v=1").unwrap();
        assert_eq!(l.measurement, "m=x");
        assert_eq!(l.tags[0].1, r"a\b");
    }

    #[test]
    fn errors_in_influxdb_words() {
        assert_eq!(err("m"), ParseErrorKind::MissingFields);
        assert_eq!(err("m,t=1"), ParseErrorKind::MissingFields);
        assert_eq!(err(",t=1 v=1"), ParseErrorKind::MissingMeasurement);
        assert_eq!(err("m,=1 v=1"), ParseErrorKind::MissingTagKey);
        assert_eq!(err("m,t= v=1"), ParseErrorKind::MissingTagValue);
        assert_eq!(err("m,t=1,t=2 v=1"), ParseErrorKind::DuplicateTags);
        assert_eq!(err("m v=tru"), ParseErrorKind::InvalidBoolean);
        assert_eq!(err("m v=1x"), ParseErrorKind::InvalidNumber);
        assert_eq!(err("m v=\"abc"), ParseErrorKind::UnbalancedQuotes);
        assert_eq!(err("m v=1 12a"), ParseErrorKind::BadTimestamp);
        assert_eq!(err("m v=1 1 2"), ParseErrorKind::PointIsInvalid);
        assert_eq!(err("m v"), ParseErrorKind::InvalidFieldFormat);
        assert_eq!(err("m v=1,"), ParseErrorKind::InvalidFieldFormat);
        assert_eq!(err("m "), ParseErrorKind::InvalidFieldFormat);
        assert_eq!(err("m,a=b=c v=1"), ParseErrorKind::InvalidTagFormat);
        assert_eq!(err("m v=1e400"), ParseErrorKind::InvalidFloat);
        assert_eq!(err("m v=1ee5"), ParseErrorKind::InvalidFloat);
        assert_eq!(err("m v=+1"), ParseErrorKind::InvalidBoolean);
        assert_eq!(err("m v=abc"), ParseErrorKind::InvalidBoolean);
        assert_eq!(
            err("m v=1 9999999999999999999"),
            ParseErrorKind::TimestampOutOfRange("9999999999999999999".into())
        );
        assert_eq!(err("m v=1 1\r"), ParseErrorKind::BadTimestamp);
        assert_eq!(err("m v="), ParseErrorKind::MissingFieldValue);
        assert_eq!(err("m v= 1"), ParseErrorKind::MissingFieldValue);
        assert_eq!(err("m =1"), ParseErrorKind::MissingFieldKey);
        assert_eq!(
            err("m v=99999999999999999999i"),
            ParseErrorKind::IntegerOutOfRange("99999999999999999999".into())
        );
    }

    #[test]
    fn error_message_and_position() {
        let e = parse_lines(b"m v=1\nm v=tru")
            .nth(1)
            .unwrap()
            .expect_err("bad bool");
        assert_eq!(e.to_string(), "unable to parse 'm v=tru': invalid boolean");
        assert_eq!(e.line_number(), 2);
        assert_eq!(e.column(), 5);
    }

    #[test]
    fn floats() {
        let ok = [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("1e+78", 1e78),
            ("1.E+78", 1e78),
            (".5", 0.5),
            ("01", 1.0),
            ("1.", 1.0),
        ];
        for (t, v) in ok {
            assert_eq!(parse_float(t.as_bytes()), Ok(v), "{t}");
        }
        for t in ["NaN", "inf", "+1", "1.2.3", "-", ".", "--1", "1-", "0x10"] {
            assert_eq!(
                parse_float(t.as_bytes()),
                Err(ParseErrorKind::InvalidNumber),
                "{t}"
            );
        }
        for t in ["1e", "1e400", "1ee5"] {
            assert_eq!(
                parse_float(t.as_bytes()),
                Err(ParseErrorKind::InvalidFloat),
                "{t}"
            );
        }
    }

    #[test]
    fn a_quoted_string_may_hold_a_newline() {
        let lines: Vec<_> = parse_lines(b"s v=\"one\ntwo\",w=1i 4\nm v=1 5\nq,t=a\"b v=\"x\" 6")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(lines.len(), 3);
        match &lines[0].fields[0].1 {
            FieldValue::String(s) => assert_eq!(s, "one\ntwo"),
            other => panic!("{other:?}"),
        }
        assert_eq!(lines[1].measurement, "m");
        // An unterminated string runs to the end, as InfluxDB reads it.
        let mut it = parse_lines(b"s v=\"open 1\nm v=1 2");
        assert_eq!(
            it.next().map(|r| r.map_err(|e| e.kind)),
            Some(Err(ParseErrorKind::UnbalancedQuotes))
        );
        assert!(it.next().is_none());
    }

    #[test]
    fn integers_at_the_edges() {
        assert_eq!(parse_i64(b"0009223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-0009223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_u64(b"00018446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
    }
}
