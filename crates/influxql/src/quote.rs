//! Quoting: names and values written into InfluxQL so that they read back as exactly
//! themselves, whatever they hold. The printer of [`crate::ast`] uses it, and so must anything
//! that builds a query from values (never string concatenation).

use std::fmt;

/// Writes `name` as an identifier, quoting it when it is not a plain word or is a keyword.
pub fn write_ident(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::lexer::is_keyword(name);
    if plain {
        return f.write_str(name);
    }
    write!(f, "\"{}\"", Escaped(name, '"'))
}

/// Writes `s` as a single-quoted string literal.
pub(crate) fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", Escaped(s, '\''))
}

/// Text escaped to sit between `quote`s: the quote, backslashes and newlines get a backslash,
/// as InfluxDB's scanner reads them back.
struct Escaped<'a>(&'a str, char);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c if c == self.1 => write!(f, "\\{c}")?,
                c => write!(f, "{c}")?,
            }
        }
        Ok(())
    }
}

/// `name` as a double-quoted identifier, whatever it holds: the one way to put a database,
/// measurement, field or tag name into generated InfluxQL.
///
/// ```
/// assert_eq!(influxql::quote_ident("my \"db\""), r#""my \"db\"""#);
/// ```
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", Escaped(name, '"'))
}

/// `text` as a single-quoted string literal, whatever it holds: the one way to put a value
/// into generated InfluxQL.
///
/// ```
/// let q = format!("SELECT v FROM m WHERE host = {}", influxql::quote_string("x'; DROP DATABASE y"));
/// assert_eq!(influxql::parse_statements(&q).unwrap().len(), 1);
/// ```
pub fn quote_string(text: &str) -> String {
    format!("'{}'", Escaped(text, '\''))
}

/// The inside of a double-quoted identifier or single-quoted string (`quote` is `"` or `'`)
/// holding `text`, for a value put between quotes a template already has.
pub fn escape_quoted(text: &str, quote: char) -> String {
    Escaped(text, quote).to_string()
}

/// `text` escaped to match itself literally inside a `/regex/`: regex metacharacters, the
/// slash that would end the literal, and newlines.
///
/// ```
/// assert_eq!(influxql::escape_regex("a.b/c"), r"a\.b\/c");
/// ```
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            c if "\\/.^$|?*+()[]{}".contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
