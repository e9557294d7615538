//! `${VAR}` substitution on the raw text of a config file, as Telegraf does it.
//!
//! Forms: `$VAR`, `${VAR}`, `${VAR:-default}` (default when unset or empty), `${VAR-default}`
//! (default when unset), `${VAR:?msg}` (error when unset or empty), `${VAR?msg}` (error when
//! unset) and `$$` for a literal `$`. A variable that is not set is left in the text unchanged.
//! Text inside `#` comments is left alone, so a `${X}` in a comment never fails a load.

/// A `${VAR:?msg}` / `${VAR?msg}` whose variable is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: environment variable {var} is required: {message}")]
pub struct EnvError {
    /// The variable's name.
    pub var: String,
    /// The message written after `?`.
    pub message: String,
    /// 1-based line of the reference.
    pub line: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Code,
    Comment,
    Basic,
    Literal,
    MultiBasic,
    MultiLiteral,
}

/// Substitutes every variable reference outside comments with `lookup`'s answer.
pub fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut state = State::Code;
    let mut line = 1;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        match state {
            State::Comment if c == b'\n' => state = State::Code,
            State::Comment => {}
            State::Code => {
                if rest.starts_with("\"\"\"") {
                    out.push_str("\"\"\"");
                    i += 3;
                    state = State::MultiBasic;
                    continue;
                }
                if rest.starts_with("'''") {
                    out.push_str("'''");
                    i += 3;
                    state = State::MultiLiteral;
                    continue;
                }
                match c {
                    b'#' => state = State::Comment,
                    b'"' => state = State::Basic,
                    b'\'' => state = State::Literal,
                    _ => {}
                }
            }
            State::Basic | State::MultiBasic if c == b'\\' && i + 1 < bytes.len() => {
                out.push('\\');
                let next = rest[1..].chars().next().unwrap_or('\\');
                out.push(next);
                i += 1 + next.len_utf8();
                continue;
            }
            State::Basic if c == b'"' || c == b'\n' => state = State::Code,
            State::Literal if c == b'\'' || c == b'\n' => state = State::Code,
            State::MultiBasic if rest.starts_with("\"\"\"") => {
                out.push_str("\"\"\"");
                i += 3;
                state = State::Code;
                continue;
            }
            State::MultiLiteral if rest.starts_with("'''") => {
                out.push_str("'''");
                i += 3;
                state = State::Code;
                continue;
            }
            _ => {}
        }
        if c == b'$' && state != State::Comment {
            if let Some((replacement, used)) = reference(rest, &lookup, line)? {
                out.push_str(&replacement);
                i += used;
                continue;
            }
        }
        if c == b'\n' {
            line += 1;
        }
        let ch = rest.chars().next().unwrap_or('\0');
        out.push(ch);
        i += ch.len_utf8();
    }
    Ok(out)
}

fn name_len(s: &str) -> usize {
    let mut n = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        n = i + 1;
    }
    n
}

/// The replacement for the reference at the start of `s` (which starts with `$`) and how many
/// bytes it spans; `None` leaves the `$` as it is.
fn reference(
    s: &str,
    lookup: &impl Fn(&str) -> Option<String>,
    line: usize,
) -> Result<Option<(String, usize)>, EnvError> {
    let body = &s[1..];
    if body.starts_with('$') {
        return Ok(Some(("$".to_string(), 2)));
    }
    if let Some(inner) = body.strip_prefix('{') {
        let Some(end) = inner.find('}') else {
            return Ok(None);
        };
        let expr = &inner[..end];
        let used = end + 3;
        let n = name_len(expr);
        if n == 0 {
            return Ok(None);
        }
        let (name, op) = expr.split_at(n);
        let value = lookup(name);
        let unset_or_empty = value.as_deref().is_none_or(str::is_empty);
        let missing = |message: &str| EnvError {
            var: name.to_string(),
            message: message.to_string(),
            line,
        };
        let replacement = if op.is_empty() {
            match value {
                Some(v) => v,
                None => return Ok(None),
            }
        } else if let Some(default) = op.strip_prefix(":-") {
            if unset_or_empty {
                default.to_string()
            } else {
                value.unwrap_or_default()
            }
        } else if let Some(message) = op.strip_prefix(":?") {
            if unset_or_empty {
                return Err(missing(message));
            }
            value.unwrap_or_default()
        } else if let Some(default) = op.strip_prefix('-') {
            value.unwrap_or_else(|| default.to_string())
        } else if let Some(message) = op.strip_prefix('?') {
            match value {
                Some(v) => v,
                None => return Err(missing(message)),
            }
        } else {
            return Ok(None);
        };
        return Ok(Some((replacement, used)));
    }
    let n = name_len(body);
    if n == 0 {
        return Ok(None);
    }
    Ok(lookup(&body[..n]).map(|v| (v, n + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db1".into()),
            "EMPTY" => Some(String::new()),
            "N" => Some("5".into()),
            _ => None,
        }
    }

    fn sub(s: &str) -> Result<String, EnvError> {
        substitute(s, env)
    }

    #[test]
    fn every_form() {
        assert_eq!(sub("a = \"${HOST}\"").unwrap(), "a = \"db1\"");
        assert_eq!(sub("a = $N").unwrap(), "a = 5");
        assert_eq!(sub("a = \"${NOPE}\"").unwrap(), "a = \"${NOPE}\"");
        assert_eq!(sub("a = \"$NOPE\"").unwrap(), "a = \"$NOPE\"");
        assert_eq!(sub("a = \"${EMPTY:-x}\"").unwrap(), "a = \"x\"");
        assert_eq!(sub("a = \"${EMPTY-x}\"").unwrap(), "a = \"\"");
        assert_eq!(sub("a = \"${NOPE-x y}\"").unwrap(), "a = \"x y\"");
        assert_eq!(sub("a = \"${HOST:-x}\"").unwrap(), "a = \"db1\"");
        assert_eq!(sub("a = \"$$HOST\"").unwrap(), "a = \"$HOST\"");
        assert_eq!(sub("a = \"^x$\"").unwrap(), "a = \"^x$\"");
        let err = sub("\n\nb = \"${NOPE:?set it}\"").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.var, "NOPE");
        assert!(sub("b = \"${EMPTY?m}\"").is_ok());
        assert!(sub("b = \"${EMPTY:?m}\"").is_err());
    }

    #[test]
    fn comments_are_left_alone() {
        let text = "# ${NOPE:?never}\na = \"#${HOST}\" # ${HOST}\n";
        assert_eq!(
            sub(text).unwrap(),
            "# ${NOPE:?never}\na = \"#db1\" # ${HOST}\n"
        );
        let literal = "a = '''#\n${HOST}'''\nb = 'x#' # $HOST";
        assert_eq!(sub(literal).unwrap(), "a = '''#\ndb1'''\nb = 'x#' # $HOST");
    }

    proptest::proptest! {
        #[test]
        fn text_without_dollars_is_unchanged(s in "[^$]{0,200}") {
            proptest::prop_assert_eq!(sub(&s).unwrap(), s);
        }
    }
}
