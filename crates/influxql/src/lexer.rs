//! Tokens of InfluxQL and the scanner that produces them with their positions.

use std::fmt;

/// One token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What was read.
    pub kind: TokenKind,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based character (not byte) column of the first character.
    pub column: usize,
    /// Whether whitespace or a comment came right before it (`name::type` must be written
    /// without).
    pub spaced: bool,
}

/// The kinds of token InfluxQL has.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An unquoted identifier or keyword (keywords are recognised by the parser).
    Ident(String),
    /// A double-quoted identifier; never a keyword.
    QuotedIdent(String),
    /// A single-quoted string.
    Str(String),
    /// An integer literal.
    Integer(i64),
    /// A float literal.
    Float(f64),
    /// A duration literal in nanoseconds, with its text.
    Duration(i64, String),
    /// A number glued to letters that is no duration (`0xdb0`, `10sec`): one token, as
    /// InfluxDB scans it, refused as `invalid duration` where a value stands.
    BadDuration(String),
    /// `/regex/`.
    Regex(String),
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// `.`
    Dot,
    /// `(`
    LParen,
    /// `)`
    RParen,
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
    /// `=`
    Eq,
    /// `!=` or `<>`
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
    EqRegex,
    /// `!~`
    NeqRegex,
    /// `::`
    DoubleColon,
    /// `:` (of `:MEASUREMENT`)
    Colon,
    /// A quoted string or identifier left open at a newline or the end of the text, with
    /// what it held so far (InfluxDB's `BADSTRING`).
    BadString(String),
    /// A backslash in a quoted string or identifier before anything but `n`, `\\`, `"` or `'`:
    /// the two characters (InfluxDB's `BADESCAPE`; the end of the text reads as NUL).
    BadEscape(String),
    /// A character that starts no token.
    Illegal(char),
    /// End of input.
    Eof,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Ident(s) => f.write_str(s),
            TokenKind::QuotedIdent(s) => f.write_str(s),
            TokenKind::Str(s) => f.write_str(s),
            TokenKind::Integer(i) => write!(f, "{i}"),
            TokenKind::Float(v) => write!(f, "{v}"),
            TokenKind::Duration(_, text) | TokenKind::BadDuration(text) => f.write_str(text),
            TokenKind::Regex(r) => write!(f, "/{r}/"),
            TokenKind::Comma => f.write_str(","),
            TokenKind::Semicolon => f.write_str(";"),
            TokenKind::Dot => f.write_str("."),
            TokenKind::LParen => f.write_str("("),
            TokenKind::RParen => f.write_str(")"),
            TokenKind::Star => f.write_str("*"),
            TokenKind::Plus => f.write_str("+"),
            TokenKind::Minus => f.write_str("-"),
            TokenKind::Slash => f.write_str("/"),
            TokenKind::Percent => f.write_str("%"),
            TokenKind::Eq => f.write_str("="),
            TokenKind::Neq => f.write_str("!="),
            TokenKind::Lt => f.write_str("<"),
            TokenKind::Lte => f.write_str("<="),
            TokenKind::Gt => f.write_str(">"),
            TokenKind::Gte => f.write_str(">="),
            TokenKind::EqRegex => f.write_str("=~"),
            TokenKind::NeqRegex => f.write_str("!~"),
            TokenKind::DoubleColon => f.write_str("::"),
            TokenKind::Colon => f.write_str(":"),
            TokenKind::BadString(s) | TokenKind::BadEscape(s) => f.write_str(s),
            TokenKind::Illegal(c) => write!(f, "{c}"),
            TokenKind::Eof => f.write_str("EOF"),
        }
    }
}

/// Scans InfluxQL text on demand; the parser decides when a `/` starts a regex.
#[derive(Debug, Clone)]
pub struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
    /// Whether scanning has already read past the last character once (an unquoted name,
    /// whitespace or a `--` comment running to the end): InfluxDB's scanner then counts one
    /// more column before the end.
    read_past_end: bool,
    _text: std::marker::PhantomData<&'a str>,
}

impl<'a> Lexer<'a> {
    /// A lexer over `text`.
    pub fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            line: 1,
            column: 1,
            read_past_end: false,
            _text: std::marker::PhantomData,
        }
    }

    fn peek_char(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_whitespace_and_comments(&mut self) {
        loop {
            match (self.peek_char(0), self.peek_char(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                    self.read_past_end |= self.peek_char(0).is_none();
                }
                (Some('-'), Some('-')) => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                    self.read_past_end |= self.peek_char(0).is_none();
                }
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    while let Some(c) = self.bump() {
                        if c == '*' && self.peek_char(0) == Some('/') {
                            self.bump();
                            break;
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// Whether the end of the text was read past once (see the field).
    pub fn read_past_end(&self) -> bool {
        self.read_past_end
    }

    /// Notes that the parser looked past the end of the text (for a regex).
    pub fn mark_read_past_end(&mut self) {
        self.read_past_end = true;
    }

    /// Reads the next token; `/` is read as [`TokenKind::Slash`].
    pub fn next_token(&mut self) -> Token {
        let before = (self.line, self.column);
        self.skip_whitespace_and_comments();
        let (line, column) = (self.line, self.column);
        let spaced = (line, column) != before;
        let kind = self.scan();
        // InfluxDB's scanner places EOF just past the last character, or one column further
        // when a name or whitespace ran to the end (it read past the end once already). A
        // quoted string or identifier is placed one column before its quote, as a string left
        // open; a bad escape at its second character.
        let (line, column) = match &kind {
            TokenKind::Eof if self.read_past_end => (line, column + 1),
            TokenKind::Str(_) | TokenKind::QuotedIdent(_) => {
                (line, column.saturating_sub(1).max(1))
            }
            TokenKind::BadString(_) => (line, column.saturating_sub(1).max(1)),
            TokenKind::BadEscape(e) if e.ends_with('\0') => (self.line, self.column),
            TokenKind::BadEscape(_) => (self.line, self.column.saturating_sub(1).max(1)),
            _ => (line, column),
        };
        Token {
            kind,
            line,
            column,
            spaced,
        }
    }

    /// Reads a regex body after the parser consumed an opening `/` (positioned just after it).
    pub fn scan_regex_body(&mut self) -> Result<String, (usize, usize)> {
        let (line, column) = (self.line, self.column);
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err((line, column)),
                Some('\\') if self.peek_char(0) == Some('/') => {
                    self.bump();
                    out.push('/');
                }
                Some('\\') => {
                    out.push('\\');
                    if let Some(c) = self.bump() {
                        out.push(c);
                    }
                }
                Some('/') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn scan(&mut self) -> TokenKind {
        let Some(c) = self.bump() else {
            return TokenKind::Eof;
        };
        match c {
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semicolon,
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '*' => TokenKind::Star,
            '+' => TokenKind::Plus,
            '-' => TokenKind::Minus,
            '/' => TokenKind::Slash,
            '%' => TokenKind::Percent,
            '=' => {
                if self.peek_char(0) == Some('~') {
                    self.bump();
                    TokenKind::EqRegex
                } else {
                    TokenKind::Eq
                }
            }
            '!' => match self.peek_char(0) {
                Some('=') => {
                    self.bump();
                    TokenKind::Neq
                }
                Some('~') => {
                    self.bump();
                    TokenKind::NeqRegex
                }
                _ => TokenKind::Illegal('!'),
            },
            '<' => match self.peek_char(0) {
                Some('=') => {
                    self.bump();
                    TokenKind::Lte
                }
                Some('>') => {
                    self.bump();
                    TokenKind::Neq
                }
                _ => TokenKind::Lt,
            },
            '>' => {
                if self.peek_char(0) == Some('=') {
                    self.bump();
                    TokenKind::Gte
                } else {
                    TokenKind::Gt
                }
            }
            ':' if self.peek_char(0) == Some(':') => {
                self.bump();
                TokenKind::DoubleColon
            }
            ':' => TokenKind::Colon,
            '"' => self
                .scan_quoted('"')
                .map_or_else(|e| e, TokenKind::QuotedIdent),
            '\'' => self.scan_quoted('\'').map_or_else(|e| e, TokenKind::Str),
            '.' if self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) => self.scan_number('.'),
            '.' => TokenKind::Dot,
            c if c.is_ascii_digit() => self.scan_number(c),
            c if c.is_alphabetic() || c == '_' => {
                let mut s = String::from(c);
                while let Some(n) = self.peek_char(0) {
                    if n.is_alphanumeric() || n == '_' {
                        s.push(n);
                        self.bump();
                    } else {
                        break;
                    }
                }
                self.read_past_end |= self.peek_char(0).is_none();
                TokenKind::Ident(s)
            }
            other => TokenKind::Illegal(other),
        }
    }

    /// Reads a quoted string or identifier after its opening quote, as InfluxDB's `ScanString`:
    /// `\\n`, `\\\\`, `\\"` and `\\'` are escapes in either quote, any other escape is an error.
    fn scan_quoted(&mut self, quote: char) -> Result<String, TokenKind> {
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some(c @ ('\\' | '"' | '\'')) => out.push(c),
                    other => {
                        return Err(TokenKind::BadEscape(format!("\\{}", other.unwrap_or('\0'))))
                    }
                },
                None | Some('\n') => return Err(TokenKind::BadString(out)),
                Some(c) if c == quote => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn scan_number(&mut self, first: char) -> TokenKind {
        let mut text = String::from(first);
        while let Some(c) = self.peek_char(0) {
            if c.is_ascii_digit() || (c == '.' && !text.contains('.')) {
                text.push(c);
                self.bump();
            } else {
                break;
            }
        }
        // An integer glued to a letter is one duration token, as InfluxDB scans it: the
        // letters, then letters and digits (`1h30m`, and `0xdb0`, which is no duration).
        if !text.contains('.') && self.peek_char(0).is_some_and(|c| c.is_alphabetic()) {
            while let Some(c) = self.peek_char(0).filter(|c| c.is_alphabetic()) {
                text.push(c);
                self.bump();
            }
            while let Some(c) = self
                .peek_char(0)
                .filter(|c| c.is_alphabetic() || c.is_ascii_digit())
            {
                text.push(c);
                self.bump();
            }
            return match parse_duration(&text) {
                Some(ns) => TokenKind::Duration(ns, text),
                None => TokenKind::BadDuration(text),
            };
        }
        if text.contains('.') {
            text.parse()
                .map_or(TokenKind::Illegal(first), TokenKind::Float)
        } else {
            match text.parse::<i64>() {
                Ok(i) => TokenKind::Integer(i),
                Err(_) => text
                    .parse()
                    .map_or(TokenKind::Illegal(first), TokenKind::Float),
            }
        }
    }
}

/// A duration literal's nanoseconds, by InfluxDB's `ParseDuration`: one or more integers each
/// followed by a unit (`ns`, `u`/`µ`, `ms`, `s`, `m`, `h`, `d`, `w`); `None` for anything else.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut chars = text.chars().peekable();
    let mut total: i64 = 0;
    let mut any = false;
    while chars.peek().is_some() {
        let mut digits = String::new();
        while let Some(c) = chars.next_if(char::is_ascii_digit) {
            digits.push(c);
        }
        let n: i64 = digits.parse().ok()?;
        let unit: i64 = match chars.next()? {
            'n' if chars.next_if_eq(&'s').is_some() => 1,
            'u' | 'µ' => 1_000,
            'm' if chars.next_if_eq(&'s').is_some() => 1_000_000,
            'm' => 60_000_000_000,
            's' => 1_000_000_000,
            'h' => 3_600_000_000_000,
            'd' => 86_400_000_000_000,
            'w' => 604_800_000_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        any = true;
    }
    any.then_some(total)
}

/// InfluxQL keywords; an unquoted identifier equal to one of these (any case) is the keyword.
const KEYWORDS: &[&str] = &[
    "ALL",
    "ALTER",
    "ANALYZE",
    "ANY",
    "AS",
    "ASC",
    "BEGIN",
    "BY",
    "CARDINALITY",
    "CREATE",
    "CONTINUOUS",
    "DATABASE",
    "DATABASES",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESTINATIONS",
    "DIAGNOSTICS",
    "DISTINCT",
    "DROP",
    "DURATION",
    "END",
    "EVERY",
    "EXACT",
    "EXPLAIN",
    "FIELD",
    "FOR",
    "FROM",
    "GRANT",
    "GRANTS",
    "GROUP",
    "GROUPS",
    "IN",
    "INF",
    "INSERT",
    "INTO",
    "KEY",
    "KEYS",
    "KILL",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "NAME",
    "OFFSET",
    "ON",
    "ORDER",
    "PASSWORD",
    "POLICY",
    "POLICIES",
    "PRIVILEGES",
    "QUERIES",
    "QUERY",
    "READ",
    "REPLICATION",
    "RESAMPLE",
    "RETENTION",
    "REVOKE",
    "SELECT",
    "SERIES",
    "SET",
    "SHOW",
    "SHARD",
    "SHARDS",
    "SLIMIT",
    "SOFFSET",
    "STATS",
    "SUBSCRIPTION",
    "SUBSCRIPTIONS",
    "TAG",
    "TO",
    "USER",
    "USERS",
    "VALUES",
    "WHERE",
    "WITH",
    "WRITE",
    "AND",
    "OR",
    "TRUE",
    "FALSE",
];

/// Whether `word` is a reserved keyword (case-insensitive).
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<TokenKind> {
        let mut l = Lexer::new(s);
        let mut out = Vec::new();
        loop {
            let t = l.next_token();
            if t.kind == TokenKind::Eof {
                return out;
            }
            out.push(t.kind);
        }
    }

    #[test]
    fn quoted_text_takes_influxdbs_escapes_only() {
        let first = |s: &str| {
            let t = Lexer::new(s).next_token();
            (t.kind, t.column)
        };
        assert_eq!(
            first(r#"'a\"b\'c\\d\ne'"#),
            (TokenKind::Str("a\"b'c\\d\ne".into()), 1)
        );
        assert_eq!(
            first(r#"  "ab\x""#),
            (TokenKind::BadEscape(r"\x".into()), 7)
        );
        assert_eq!(first(r#"  "ab\"#), (TokenKind::BadEscape("\\\0".into()), 7));
        assert_eq!(first("  'ab"), (TokenKind::BadString("ab".into()), 2));
        assert_eq!(first("  'ab\nc'"), (TokenKind::BadString("ab".into()), 2));
    }

    #[test]
    fn scans_durations_numbers_and_strings() {
        assert_eq!(
            kinds("1h30m 10 1.5 'a\\'b' \"x y\" >= <> -- c\n/* c */ ;"),
            vec![
                TokenKind::Duration(5_400_000_000_000, "1h30m".into()),
                TokenKind::Integer(10),
                TokenKind::Float(1.5),
                TokenKind::Str("a'b".into()),
                TokenKind::QuotedIdent("x y".into()),
                TokenKind::Gte,
                TokenKind::Neq,
                TokenKind::Semicolon,
            ]
        );
    }

    #[test]
    fn positions_are_one_based() {
        let mut l = Lexer::new("SELECT\n  x");
        assert_eq!(l.next_token().column, 1);
        let t = l.next_token();
        assert_eq!((t.line, t.column), (2, 3));
    }
}
