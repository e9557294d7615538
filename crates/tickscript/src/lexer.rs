//! Tokens of TICKscript with their positions, and the scanner producing them.

use std::fmt;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// A name or keyword (`var`, `dbrp`, `TRUE`, `AND` are recognised by the parser).
    Ident(String),
    /// `'text'` or `'''text'''`.
    Str(String),
    /// `"name"`: a field or tag reference.
    Reference(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A duration in nanoseconds, with its text.
    Duration(i64, String),
    /// `/pattern/`.
    Regex(String),
    /// `lambda:`
    Lambda,
    /// `|`
    Pipe,
    /// `.`
    Dot,
    /// `@`
    At,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `=`
    Assign,
    /// `*`
    Star,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `/`
    Slash,
    /// `%`
    Percent,
    /// `!`
    Not,
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `=~`
    RegexEq,
    /// `!~`
    RegexNeq,
    /// End of input.
    Eof,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Ident(s) => f.write_str(s),
            TokenKind::Str(s) => write!(f, "'{s}'"),
            TokenKind::Reference(s) => write!(f, "\"{s}\""),
            TokenKind::Int(i) => write!(f, "{i}"),
            TokenKind::Float(x) => write!(f, "{x}"),
            TokenKind::Duration(_, text) => f.write_str(text),
            TokenKind::Regex(r) => write!(f, "/{r}/"),
            TokenKind::Lambda => f.write_str("lambda:"),
            TokenKind::Eof => f.write_str("EOF"),
            other => f.write_str(punctuation(other)),
        }
    }
}

fn punctuation(kind: &TokenKind) -> &'static str {
    match kind {
        TokenKind::Pipe => "|",
        TokenKind::Dot => ".",
        TokenKind::At => "@",
        TokenKind::LParen => "(",
        TokenKind::RParen => ")",
        TokenKind::LBracket => "[",
        TokenKind::RBracket => "]",
        TokenKind::Comma => ",",
        TokenKind::Assign => "=",
        TokenKind::Star => "*",
        TokenKind::Plus => "+",
        TokenKind::Minus => "-",
        TokenKind::Slash => "/",
        TokenKind::Percent => "%",
        TokenKind::Not => "!",
        TokenKind::Eq => "==",
        TokenKind::Neq => "!=",
        TokenKind::Lt => "<",
        TokenKind::Lte => "<=",
        TokenKind::Gt => ">",
        TokenKind::Gte => ">=",
        TokenKind::RegexEq => "=~",
        TokenKind::RegexNeq => "!~",
        _ => "?",
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it starts.
    pub pos: Pos,
}

/// A character sequence that is no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct LexError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Scans `text` into tokens, ending with [`TokenKind::Eof`]. `/` starts a regex where an
/// operand is expected (after an operator, `(`, `,`, `[` or at the start), and divides
/// elsewhere.
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens: Vec<Token> = Vec::new();
    let (mut i, mut line, mut column) = (0usize, 1usize, 1usize);
    let advance = |i: &mut usize, line: &mut usize, column: &mut usize, n: usize| {
        for _ in 0..n {
            if chars.get(*i) == Some(&'\n') {
                *line += 1;
                *column = 1;
            } else {
                *column += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column };
        let err = |message: String| LexError { pos, message };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut column, 1);
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut column, 1);
            }
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let (kind, len) = if c == '\'' {
            let triple = chars[i..].starts_with(&['\'', '\'', '\'']);
            if triple {
                let body_start = i + 3;
                let end = (body_start..chars.len().saturating_sub(2))
                    .find(|&j| chars[j..].starts_with(&['\'', '\'', '\'']))
                    .ok_or_else(|| err("unterminated string".into()))?;
                (
                    TokenKind::Str(chars[body_start..end].iter().collect()),
                    end + 3 - i,
                )
            } else {
                let (text, len) = delimited(&chars[i..], '\'', true)
                    .ok_or_else(|| err("unterminated string".into()))?;
                (TokenKind::Str(text), len)
            }
        } else if c == '"' {
            let (text, len) = delimited(&chars[i..], '"', false)
                .ok_or_else(|| err("unterminated reference".into()))?;
            (TokenKind::Reference(text), len)
        } else if c.is_ascii_digit() {
            number(&chars[i..]).map_err(err)?
        } else if c.is_alphabetic() || c == '_' {
            let len = chars[i..]
                .iter()
                .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                .count();
            let word: String = chars[i..i + len].iter().collect();
            if word == "lambda" && chars.get(i + len) == Some(&':') {
                (TokenKind::Lambda, len + 1)
            } else {
                (TokenKind::Ident(word), len)
            }
        } else if c == '/' && expects_operand(tokens.last().map(|t| &t.kind)) {
            let (text, len) = delimited(&chars[i..], '/', false)
                .ok_or_else(|| err("unterminated regex".into()))?;
            (TokenKind::Regex(text), len)
        } else {
            match two.as_str() {
                "==" => (TokenKind::Eq, 2),
                "!=" => (TokenKind::Neq, 2),
                "<=" => (TokenKind::Lte, 2),
                ">=" => (TokenKind::Gte, 2),
                "=~" => (TokenKind::RegexEq, 2),
                "!~" => (TokenKind::RegexNeq, 2),
                _ => (
                    match c {
                        '|' => TokenKind::Pipe,
                        '.' => TokenKind::Dot,
                        '@' => TokenKind::At,
                        '(' => TokenKind::LParen,
                        ')' => TokenKind::RParen,
                        '[' => TokenKind::LBracket,
                        ']' => TokenKind::RBracket,
                        ',' => TokenKind::Comma,
                        '=' => TokenKind::Assign,
                        '*' => TokenKind::Star,
                        '+' => TokenKind::Plus,
                        '-' => TokenKind::Minus,
                        '/' => TokenKind::Slash,
                        '%' => TokenKind::Percent,
                        '!' => TokenKind::Not,
                        '<' => TokenKind::Lt,
                        '>' => TokenKind::Gt,
                        other => return Err(err(format!("unexpected character {other:?}"))),
                    },
                    1,
                ),
            }
        };
        tokens.push(Token { kind, pos });
        advance(&mut i, &mut line, &mut column, len);
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        pos: Pos { line, column },
    });
    Ok(tokens)
}

/// The text between `chars[0]` and the next unescaped `close`, with `\close` unescaped (other
/// backslashes kept), and the length including both delimiters; `None` when it does not end
/// (or reaches a newline where `multiline` is false).
fn delimited(chars: &[char], close: char, multiline: bool) -> Option<(String, usize)> {
    let mut text = String::new();
    let mut j = 1;
    loop {
        match chars.get(j) {
            None => return None,
            Some('\n') if !multiline => return None,
            Some('\\') if chars.get(j + 1) == Some(&close) => {
                text.push(close);
                j += 2;
            }
            Some(c) if *c == close => return Some((text, j + 1)),
            Some(c) => {
                text.push(*c);
                j += 1;
            }
        }
    }
}

/// Whether a `/` after `previous` starts an operand (a regex) rather than dividing.
fn expects_operand(previous: Option<&TokenKind>) -> bool {
    if let Some(TokenKind::Ident(word)) = previous {
        return word == "AND" || word == "OR";
    }
    !matches!(
        previous,
        Some(
            TokenKind::Ident(_)
                | TokenKind::Reference(_)
                | TokenKind::Int(_)
                | TokenKind::Float(_)
                | TokenKind::Duration(..)
                | TokenKind::Str(_)
                | TokenKind::Regex(_)
                | TokenKind::RParen
                | TokenKind::RBracket
        )
    )
}

/// A number, float or duration at the start of `chars`, and its length.
fn number(chars: &[char]) -> Result<(TokenKind, usize), String> {
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let int_text: String = chars[..digits].iter().collect();
    if chars.get(digits) == Some(&'.') && chars.get(digits + 1).is_some_and(char::is_ascii_digit) {
        let frac = chars[digits + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let text: String = chars[..digits + 1 + frac].iter().collect();
        let value = text
            .parse::<f64>()
            .map_err(|e| format!("invalid float {text}: {e}"))?;
        return Ok((TokenKind::Float(value), digits + 1 + frac));
    }
    let rest: String = chars[digits..].iter().take(2).collect();
    let unit = [
        ("ms", 1_000_000i64),
        ("u", 1_000),
        ("µ", 1_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
        ("w", 604_800_000_000_000),
    ]
    .into_iter()
    .find(|(u, _)| {
        rest.starts_with(u)
            && !chars
                .get(digits + u.chars().count())
                .is_some_and(|c| c.is_alphanumeric())
    });
    if let Some((u, per)) = unit {
        let n: i64 = int_text
            .parse()
            .map_err(|_| format!("invalid duration {int_text}{u}"))?;
        let len = digits + u.chars().count();
        let text: String = chars[..len].iter().collect();
        let ns = n
            .checked_mul(per)
            .ok_or_else(|| format!("duration {text} is too large"))?;
        return Ok((TokenKind::Duration(ns, text), len));
    }
    let value = if int_text.len() > 1 && int_text.starts_with('0') {
        i64::from_str_radix(&int_text[1..], 8)
            .map_err(|e| format!("invalid octal integer {int_text}: {e}"))?
    } else {
        int_text
            .parse::<i64>()
            .map_err(|e| format!("invalid integer {int_text}: {e}"))?
    };
    Ok((TokenKind::Int(value), digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn scans_the_elements() {
        assert_eq!(
            kinds("var x = 5m // comment\n|where(lambda: \"host\" =~ /a\\/b/ AND \"v\" / 2 > 1.5)"),
            vec![
                TokenKind::Ident("var".into()),
                TokenKind::Ident("x".into()),
                TokenKind::Assign,
                TokenKind::Duration(300_000_000_000, "5m".into()),
                TokenKind::Pipe,
                TokenKind::Ident("where".into()),
                TokenKind::LParen,
                TokenKind::Lambda,
                TokenKind::Reference("host".into()),
                TokenKind::RegexEq,
                TokenKind::Regex("a/b".into()),
                TokenKind::Ident("AND".into()),
                TokenKind::Reference("v".into()),
                TokenKind::Slash,
                TokenKind::Int(2),
                TokenKind::Gt,
                TokenKind::Float(1.5),
                TokenKind::RParen,
                TokenKind::Eof,
            ]
        );
        assert_eq!(
            kinds("'it\\'s' '''a 'b' c'''")[..2],
            [
                TokenKind::Str("it's".into()),
                TokenKind::Str("a 'b' c".into())
            ]
        );
        assert_eq!(
            kinds("10ms 3u 2w 010")[..4],
            [
                TokenKind::Duration(10_000_000, "10ms".into()),
                TokenKind::Duration(3_000, "3u".into()),
                TokenKind::Duration(1_209_600_000_000_000, "2w".into()),
                TokenKind::Int(8),
            ]
        );
    }

    #[test]
    fn positions_and_errors() {
        let t = tokenize("a\n  |b").unwrap();
        assert_eq!(t[1].pos, Pos { line: 2, column: 3 });
        let e = tokenize("x = 'open").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, column: 5 });
        assert!(tokenize("a # b").unwrap_err().message.contains("'#'"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,120}") {
            let _ = tokenize(&text);
        }
    }
}
