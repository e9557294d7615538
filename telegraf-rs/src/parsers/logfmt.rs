//! `data_format = "logfmt"`: each line of `key=value key2="quoted value"` pairs becomes a
//! metric; values are typed as integer, float, boolean or string, `logfmt_tag_keys` become
//! tags.

use super::{guess_value, ParserConfig};
use crate::metric::Metric;

/// The `logfmt` parser's settings.
#[derive(Debug, Clone)]
pub struct LogfmtParser {
    tag_keys: Vec<String>,
}

impl LogfmtParser {
    /// Reads `logfmt_tag_keys`.
    pub fn new(config: &ParserConfig) -> Self {
        LogfmtParser {
            tag_keys: config.logfmt_tag_keys.clone(),
        }
    }

    /// Parses every line; a line without any value is skipped.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let text = std::str::from_utf8(body).map_err(|e| format!("invalid UTF-8: {e}"))?;
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let mut m = Metric::new(name, now);
            for (key, value) in pairs(line).map_err(|e| format!("line {}: {e}", n + 1))? {
                if value.is_empty() {
                    continue;
                }
                if self.tag_keys.contains(&key) {
                    m.tags.insert(key, value);
                } else {
                    m.add_field(key, guess_value(&value));
                }
            }
            if !m.fields.is_empty() {
                out.push(m);
            }
        }
        Ok(out)
    }
}

/// The `key=value` pairs of one line, as go-logfmt reads them: bare keys have empty values,
/// quoted values take Go escapes.
fn pairs(line: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c <= ' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Ok(out);
        };
        if first == '=' || first == '"' {
            return Err(format!("unexpected {first:?}"));
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c <= ' ' || c == '=' || c == '"' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            out.push((key, String::new()));
            continue;
        }
        chars.next();
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some('r') => value.push('\r'),
                        Some(other) => value.push(other),
                        None => return Err("unterminated quoted value".into()),
                    },
                    other => value.push(other),
                }
            }
            if !closed {
                return Err("unterminated quoted value".into());
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c <= ' ' {
                    break;
                }
                if c == '"' || c == '=' {
                    return Err(format!("unexpected {c:?} in value of {key:?}"));
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use proptest::prelude::*;

    #[test]
    fn lines_become_typed_metrics() {
        let p = LogfmtParser::new(&ParserConfig {
            logfmt_tag_keys: vec!["lvl".into()],
            ..ParserConfig::default()
        });
        let body = b"ts=2018-07-24T19:43:40.275Z lvl=info msg=\"http request\" method=POST n=3 dur=0.25 ok=true bare\n\n";
        let ms = p.parse(body, "logfmt", 7).unwrap();
        assert_eq!(ms.len(), 1);
        let m = &ms[0];
        assert_eq!(m.tags["lvl"], "info");
        assert_eq!(
            m.field("msg"),
            Some(&FieldValue::Str("http request".into()))
        );
        assert_eq!(m.field("n"), Some(&FieldValue::Int(3)));
        assert_eq!(m.field("dur"), Some(&FieldValue::Float(0.25)));
        assert_eq!(m.field("ok"), Some(&FieldValue::Bool(true)));
        assert_eq!(m.field("bare"), None);
        assert_eq!(m.time, 7);
    }

    #[test]
    fn broken_lines_name_their_number() {
        let p = LogfmtParser::new(&ParserConfig::default());
        let err = p.parse(b"a=1\nb=\"open\n", "x", 0).unwrap_err();
        assert!(err.starts_with("line 2: unterminated"), "{err}");
        assert!(p.parse(b"=x\n", "x", 0).is_err());
    }

    proptest! {
        #[test]
        fn written_pairs_read_back(
            pairs_in in proptest::collection::vec(("[a-z][a-z0-9_]{0,8}", "[ -~]{1,12}"), 1..6)
        ) {
            let line: Vec<String> = pairs_in
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            let read = pairs(&line.join(" ")).unwrap();
            prop_assert_eq!(read, pairs_in);
        }

        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = LogfmtParser::new(&ParserConfig::default()).parse(text.as_bytes(), "x", 0);
        }
    }
}
