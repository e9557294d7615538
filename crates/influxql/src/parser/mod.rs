//! Recursive-descent parser from text to [`Statement`]s, with InfluxDB's error wording.

mod expr;
mod manage;
mod select;

use crate::ast::*;
use crate::lexer::{is_keyword, Lexer, Token, TokenKind};
use std::fmt;

/// A syntax error: what was found, what would have been accepted, and where.
///
/// Displays as InfluxDB does: `found X, expected Y at line 1, char 8`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The text of the token found.
    pub found: String,
    /// What the parser would have accepted there.
    pub expected: Vec<String>,
    /// 1-based line; 0 for an error InfluxDB reports without a position.
    pub line: usize,
    /// 1-based character in the line.
    pub column: usize,
    /// A message replacing found/expected, for errors that are not about a token.
    pub message: Option<String>,
}

impl ParseError {
    /// An error InfluxDB reports by its message alone (line 0 marks it).
    pub fn without_position(message: &str) -> ParseError {
        ParseError {
            found: String::new(),
            expected: Vec::new(),
            line: 0,
            column: 0,
            message: Some(message.into()),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) if self.line == 0 => f.write_str(m),
            Some(m) => write!(f, "{m} at line {}, char {}", self.line, self.column),
            None => write!(
                f,
                "found {}, expected {} at line {}, char {}",
                self.found,
                self.expected.join(", "),
                self.line,
                self.column
            ),
        }
    }
}

type Result<T, E = ParseError> = std::result::Result<T, E>;

/// How deeply expressions may nest: parentheses, function calls, subqueries and the links of
/// a chain of binary operators (`a OR b OR c` is a tree as deep as it is long) all count.
///
/// Every pass over the tree (printing, planning, evaluation, dropping) recurses once per
/// level, so an unbounded depth lets one request overflow a thread's stack and abort the
/// process. InfluxDB's Go stacks grow instead; queries people write stay far below this.
pub const MAX_DEPTH: usize = 1000;

/// How deeply `SELECT`s may nest as subqueries of one another: each level is planned and
/// run as a query of its own, so it costs much more than a level of an expression.
pub const MAX_SUBQUERY_DEPTH: usize = 32;

/// Stack left below which a level of nesting is parsed on a new segment.
const RED_ZONE: usize = 64 * 1024;
/// The size of each segment the stack grows by.
const STACK_SEGMENT: usize = 1024 * 1024;

/// Parses one or more statements separated by `;`.
///
/// ```
/// let stmts = influxql::parse_statements("SHOW DATABASES; DROP DATABASE \"my-db\"").unwrap();
/// assert_eq!(stmts.len(), 2);
/// assert_eq!(stmts[1].to_string(), "DROP DATABASE \"my-db\"");
/// ```
pub fn parse_statements(text: &str) -> Result<Vec<Statement>> {
    let mut p = Parser::new(text);
    let mut out = Vec::new();
    loop {
        while p.peek().kind == TokenKind::Semicolon {
            p.advance();
        }
        if p.peek().kind == TokenKind::Eof {
            return Ok(out);
        }
        out.push(p.statement()?);
        match p.peek().kind {
            TokenKind::Semicolon | TokenKind::Eof => {}
            _ => return Err(p.unexpected(&[";"])),
        }
    }
}

/// Parses exactly one statement.
pub fn parse_statement(text: &str) -> Result<Statement> {
    let mut p = Parser::new(text);
    let s = p.statement()?;
    while p.peek().kind == TokenKind::Semicolon {
        p.advance();
    }
    if p.peek().kind != TokenKind::Eof {
        return Err(p.unexpected(&["EOF"]));
    }
    Ok(s)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// Levels of nesting open at this point, bounded by [`MAX_DEPTH`].
    depth: usize,
    /// Subqueries open at this point, bounded by [`MAX_SUBQUERY_DEPTH`].
    subqueries: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(text),
            peeked: None,
            depth: 0,
            subqueries: 0,
        }
    }

    /// Opens `levels` more levels of nesting, or errors at the token that would go past
    /// [`MAX_DEPTH`]. Each successful call is matched by [`Parser::leave`].
    fn enter(&mut self, levels: usize) -> Result<()> {
        if self.depth + levels > MAX_DEPTH {
            return Err(self.error_here(format!(
                "expression nested too deeply (more than {MAX_DEPTH} levels)"
            )));
        }
        self.depth += levels;
        Ok(())
    }

    /// Closes levels opened by [`Parser::enter`].
    fn leave(&mut self, levels: usize) {
        self.depth -= levels;
    }

    /// Runs `inner` one level deeper, on a stack grown on the heap when the thread's runs
    /// low: how much stack a level takes depends on the build, the bound must not.
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.enter(1)?;
        let out = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || inner(self));
        self.leave(1);
        out
    }

    fn peek(&mut self) -> &Token {
        let lexer = &mut self.lexer;
        self.peeked.get_or_insert_with(|| lexer.next_token())
    }

    /// Whether the next token is `/` (a regex may start here). InfluxDB looks at the next
    /// character itself there, reading the end of the text if nothing is left: an `EOF` found
    /// next is then placed one column further, as its scanner counts the end only once.
    fn at_regex(&mut self) -> bool {
        if self.peek().kind == TokenKind::Eof && !self.lexer.read_past_end() {
            self.lexer.mark_read_past_end();
            if let Some(t) = self.peeked.as_mut() {
                t.column += 1;
            }
        }
        self.peek().kind == TokenKind::Slash
    }

    fn advance(&mut self) -> Token {
        match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token(),
        }
    }

    fn unexpected(&mut self, expected: &[&str]) -> ParseError {
        let t = self.peek().clone();
        ParseError {
            found: t.kind.to_string(),
            expected: expected.iter().map(|s| s.to_string()).collect(),
            line: t.line,
            column: t.column,
            message: None,
        }
    }

    fn error_here(&mut self, message: String) -> ParseError {
        let t = self.peek().clone();
        ParseError {
            found: t.kind.to_string(),
            expected: Vec::new(),
            line: t.line,
            column: t.column,
            message: Some(message),
        }
    }

    /// Whether the next token is the keyword `kw`.
    fn at_keyword(&mut self, kw: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&[kw]))
        }
    }

    fn expect(&mut self, kind: TokenKind, text: &str) -> Result<()> {
        if self.peek().kind == kind {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(&[text]))
        }
    }

    /// An identifier: unquoted non-keyword, or quoted.
    fn ident(&mut self) -> Result<String> {
        match self.peek().kind.clone() {
            TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(s)
            }
            TokenKind::Ident(s) if !is_keyword(&s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(&["identifier"])),
        }
    }

    fn statement(&mut self) -> Result<Statement> {
        let t = self.peek().clone();
        let TokenKind::Ident(word) = &t.kind else {
            return Err(self.unexpected(&[
                "SELECT", "DELETE", "SHOW", "CREATE", "DROP", "EXPLAIN", "GRANT", "REVOKE",
                "ALTER", "SET", "KILL",
            ]));
        };
        match word.to_ascii_uppercase().as_str() {
            "SELECT" => Ok(Statement::Select(self.select()?)),
            "SHOW" => self.show(),
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "DELETE" => {
                self.advance();
                let (sources, condition) = self.deletion_scope()?;
                Ok(Statement::Delete { sources, condition })
            }
            "GRANT" | "REVOKE" => self.grant_or_revoke(),
            "EXPLAIN" => {
                self.advance();
                let analyze = self.eat_keyword("ANALYZE");
                if !self.at_keyword("SELECT") {
                    return Err(self.unexpected(&["SELECT"]));
                }
                Ok(Statement::Explain {
                    analyze,
                    select: Box::new(self.select()?),
                })
            }
            "KILL" => {
                self.advance();
                self.expect_keyword("QUERY")?;
                let id = match self.peek().kind {
                    TokenKind::Integer(n) if n >= 0 => {
                        self.advance();
                        n as u64
                    }
                    _ => return Err(self.unexpected(&["integer"])),
                };
                let host = if self.eat_keyword("ON") {
                    Some(self.ident()?)
                } else {
                    None
                };
                Ok(Statement::KillQuery { id, host })
            }
            "SET" => {
                self.advance();
                self.expect_keyword("PASSWORD")?;
                self.expect_keyword("FOR")?;
                let name = self.ident()?;
                self.expect(TokenKind::Eq, "=")?;
                Ok(Statement::SetPassword {
                    name,
                    password: self.string()?,
                })
            }
            "ALTER" => {
                self.advance();
                self.expect_keyword("RETENTION")?;
                self.expect_keyword("POLICY")?;
                let name = self.ident()?;
                self.expect_keyword("ON")?;
                let database = self.ident()?;
                let options = self.policy_options(false)?;
                if options == RetentionPolicyOptions::default() {
                    return Err(self.unexpected(&["DURATION", "REPLICATION", "SHARD", "DEFAULT"]));
                }
                Ok(Statement::AlterRetentionPolicy {
                    name,
                    database,
                    options,
                })
            }
            _ => Err(self.unexpected(&[
                "SELECT", "DELETE", "SHOW", "CREATE", "DROP", "EXPLAIN", "GRANT", "REVOKE",
                "ALTER", "SET", "KILL",
            ])),
        }
    }

    /// A single-quoted string literal.
    fn string(&mut self) -> Result<String> {
        match self.peek().kind.clone() {
            TokenKind::Str(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(&["string"])),
        }
    }

    fn duration(&mut self) -> Result<i64> {
        match self.peek().kind {
            TokenKind::Duration(ns, _) => {
                self.advance();
                Ok(ns)
            }
            _ => Err(self.unexpected(&["duration"])),
        }
    }

    /// Whether the next token is the unquoted word `word` (any case), keyword or not.
    fn at_ident(&mut self, word: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn unsigned(&mut self) -> Result<u64> {
        match self.peek().kind {
            TokenKind::Integer(n) if n >= 0 => {
                self.advance();
                Ok(n.unsigned_abs())
            }
            _ => Err(self.unexpected(&["integer"])),
        }
    }

    /// A name segment of a source: identifiers and keywords-as-names are both accepted here.
    fn segment(&mut self) -> Result<String> {
        match self.peek().kind.clone() {
            TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(s)
            }
            TokenKind::Ident(s) if !is_keyword(&s) || s.eq_ignore_ascii_case("time") => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(&["identifier"])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let s = parse_statement(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let printed = s.to_string();
        assert_eq!(parse_statement(&printed).unwrap(), s, "{printed}");
        printed
    }

    #[test]
    fn names_with_a_type_read_and_print_as_influxdb_writes_them() {
        assert_eq!(
            round_trip(
                r#"SELECT "usage"::float, host::tag, *::field FROM cpu WHERE core::tag = 'a' GROUP BY host::tag"#
            ),
            "SELECT usage::float, host::tag, *::field FROM cpu WHERE core::tag = 'a' GROUP BY host"
        );
        round_trip("SELECT mean(idle::integer), u::unsigned + v::float FROM cpu");
        // InfluxDB's words and positions.
        let e = parse_statement("SELECT usage::bogus FROM cpu").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found bogus, expected float, integer, unsigned, string, boolean, field, tag at line 1, char 15"
        );
        let e = parse_statement("SELECT *::integer FROM cpu").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found integer, expected field, tag at line 1, char 11"
        );
        // `::` belongs to the name only when written right after it, and the type right after.
        let e = parse_statement("SELECT usage ::float FROM cpu").unwrap_err();
        assert_eq!(e.to_string(), "found ::, expected FROM at line 1, char 14");
        let e = parse_statement("SELECT usage:: float FROM cpu").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found  , expected float, integer, string, boolean, field, tag at line 1, char 15"
        );
    }

    #[test]
    fn rewriting_replaces_the_nodes_asked_for_everywhere() {
        let Statement::Select(sel) =
            parse_statement("SELECT derivative(mean(a), 1s) + (a * b) FROM m").unwrap()
        else {
            unreachable!("a SELECT")
        };
        let renamed = sel.fields[0].expr.rewrite(&mut |e| match e {
            Expr::VarRef(n) if n == "a" => Some(Expr::VarRef("z".into())),
            _ => None,
        });
        assert_eq!(renamed.to_string(), "derivative(mean(z), 1s) + (z * b)");
    }

    #[test]
    fn management_statements() {
        assert_eq!(round_trip("create database foo"), "CREATE DATABASE foo");
        assert_eq!(
            round_trip("CREATE DATABASE \"a b\" WITH DURATION 1d REPLICATION 1 NAME x"),
            "CREATE DATABASE \"a b\" WITH DURATION 1d REPLICATION 1 NAME x"
        );
        assert_eq!(
            round_trip("CREATE RETENTION POLICY rp ON db DURATION INF REPLICATION 1 DEFAULT"),
            "CREATE RETENTION POLICY rp ON db DURATION INF REPLICATION 1 DEFAULT"
        );
        round_trip("ALTER RETENTION POLICY rp ON db SHARD DURATION 2h");
        round_trip("DROP RETENTION POLICY rp ON db");
        round_trip("SHOW RETENTION POLICIES ON db");
        round_trip("SHOW MEASUREMENTS");
        round_trip("SHOW DATABASES");
        round_trip("DROP DATABASE \"select\"");
        assert_eq!(
            round_trip("create subscription \"kapacitor-1\" on telegraf.autogen destinations any 'http://k:9092', 'udp://k:9100'"),
            "CREATE SUBSCRIPTION \"kapacitor-1\" ON telegraf.autogen DESTINATIONS ANY 'http://k:9092', 'udp://k:9100'"
        );
        round_trip("DROP SUBSCRIPTION s ON \"db\".\"rp\"");
        round_trip("SHOW SUBSCRIPTIONS");
        round_trip("SHOW SHARDS");
        round_trip("SHOW SHARD GROUPS");
        round_trip("SHOW USERS");
        assert_eq!(
            round_trip("create user \"jo\" with password 'it\\'s' with all privileges"),
            "CREATE USER jo WITH PASSWORD 'it\\'s' WITH ALL PRIVILEGES"
        );
        round_trip("CREATE USER r WITH PASSWORD 'x'");
        round_trip("DROP USER r");
        round_trip("SET PASSWORD FOR r = 'y'");
        assert_eq!(round_trip("GRANT read ON db TO r"), "GRANT READ ON db TO r");
        assert_eq!(
            round_trip("GRANT ALL ON db TO r"),
            "GRANT ALL PRIVILEGES ON db TO r"
        );
        assert_eq!(round_trip("GRANT ALL TO r"), "GRANT ALL PRIVILEGES TO r");
        round_trip("REVOKE WRITE ON db FROM r");
        round_trip("REVOKE ALL PRIVILEGES FROM r");
        round_trip("SHOW GRANTS FOR r");
        round_trip("SHOW QUERIES");
        round_trip("SELECT mean(v) INTO db.autogen.m_1h FROM db.autogen.m GROUP BY time(1h)");
        round_trip("SELECT v INTO copy FROM m");
        assert_eq!(
            round_trip("create continuous query cq on db resample every 30m for 2h begin select max(v) into m2 from m group by time(30m), * fill(none) end"),
            "CREATE CONTINUOUS QUERY cq ON db RESAMPLE EVERY 30m FOR 2h BEGIN SELECT max(v) INTO m2 FROM m GROUP BY time(30m), * fill(none) END"
        );
        round_trip("CREATE CONTINUOUS QUERY \"cq 2\" ON db BEGIN SELECT mean(v) INTO m_1h FROM m GROUP BY time(1h) END");
        round_trip("DROP CONTINUOUS QUERY cq ON db");
        let e = parse_statement(
            "CREATE CONTINUOUS QUERY cq ON db RESAMPLE BEGIN SELECT v INTO x FROM m END",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("found BEGIN, expected EVERY, FOR"),
            "{e}"
        );
        round_trip("KILL QUERY 36");
        round_trip("KILL QUERY 36 ON \"host:8088\"");
        let e = parse_statement("KILL QUERY x").unwrap_err();
        assert!(
            e.to_string().starts_with("found x, expected integer"),
            "{e}"
        );
        let e = parse_statement("GRANT READ TO r").unwrap_err();
        assert!(e.to_string().starts_with("found TO, expected ON"), "{e}");
        let e = parse_statement("CREATE USER r WITH PASSWORD").unwrap_err();
        assert!(
            e.to_string().starts_with("found EOF, expected string"),
            "{e}"
        );
        round_trip("SHOW CONTINUOUS QUERIES");
        round_trip("SHOW SERIES EXACT CARDINALITY ON db");
        round_trip("SHOW MEASUREMENT CARDINALITY");
        round_trip("SHOW MEASUREMENTS ON db WITH MEASUREMENT =~ /^c/");
        round_trip("SHOW MEASUREMENTS WITH MEASUREMENT = cpu");
        let e =
            parse_statement("CREATE SUBSCRIPTION s ON db.rp DESTINATIONS SOME 'x'").unwrap_err();
        assert!(
            e.to_string().starts_with("found SOME, expected ALL, ANY"),
            "{e}"
        );
    }

    #[test]
    fn select_statements() {
        round_trip("SELECT * FROM cpu");
        round_trip("SELECT * FROM \"db\".\"rp\".cpu WHERE time > now() - 1h AND host = 'a'");
        round_trip("SELECT usage AS u, x FROM db..cpu WHERE time >= '2020-01-01T00:00:00Z' ORDER BY time DESC LIMIT 3 OFFSET 1");
        round_trip("SELECT * FROM /^cp/ WHERE host =~ /a\\/b/");
        round_trip("SELECT mean(v), max(v) AS m FROM cpu WHERE time > now() - 1h GROUP BY time(10m, -1m), host, * fill(linear) LIMIT 3 SLIMIT 2 SOFFSET 1 tz('Europe/Paris')");
        round_trip("SELECT count(v) FROM cpu GROUP BY /^h/ fill(-1.5)");
        round_trip("DELETE FROM cpu, /^m/ WHERE host = 'a' AND time < '2020-01-01T00:00:00Z'");
        round_trip("DELETE WHERE time < 10");
        round_trip("SELECT mean(*) INTO \"db\".\"rp\".:MEASUREMENT FROM /.*/ GROUP BY time(1h), *");
        round_trip("SELECT v INTO db..:MEASUREMENT FROM cpu");
        round_trip("SELECT mean(max) FROM (SELECT max(v) FROM cpu WHERE host = 'a' GROUP BY time(1m), host), mem WHERE time > now() - 1h GROUP BY time(5m)");
        round_trip("SELECT a FROM (SELECT b AS a FROM (SELECT c AS b FROM m))");
        round_trip("SELECT v INTO :MEASUREMENT FROM db.rp.cpu, db../^m/");
        round_trip("DROP SERIES FROM cpu");
        round_trip("DROP SERIES WHERE host = 'a'");
        round_trip("DROP MEASUREMENT \"my cpu\"");
        assert!(parse_statement("DROP SERIES")
            .unwrap_err()
            .to_string()
            .starts_with("found EOF, expected FROM, WHERE at line 1"));
        round_trip("SELECT distinct(v), count(distinct(w)), top(v, host, 3) FROM cpu");
        assert_eq!(
            parse_statement("SELECT DISTINCT v FROM cpu")
                .unwrap()
                .to_string(),
            "SELECT distinct(v) FROM cpu"
        );
        round_trip("SHOW TAG KEYS ON db FROM cpu WHERE host = 'a' LIMIT 2");
        round_trip(
            "SHOW TAG VALUES FROM cpu, mem WITH KEY IN (host, \"region\") WHERE time > now() - 10m",
        );
        round_trip("SHOW TAG VALUES WITH KEY =~ /^h/");
        round_trip("SHOW FIELD KEYS FROM cpu");
        round_trip("SHOW SERIES FROM /^cpu$|^mem$/ WHERE TIME > now() - 10m");
        let s = parse_statement("SELECT * FROM m WHERE a = 1 OR b = 2 AND c = 3").unwrap();
        let Statement::Select(sel) = s else { panic!() };
        let Some(Expr::Binary { op, .. }) = sel.condition else {
            panic!()
        };
        assert_eq!(op, BinaryOp::Or);
    }

    #[test]
    fn errors_in_influxdb_words() {
        let e = parse_statement("SELEC * FROM m").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found SELEC, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1"
        );
        let e = parse_statement("CREATE DATABASE").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found EOF, expected identifier at line 1, char 17"
        );
        let e = parse_statement("SELECT * FROM").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found EOF, expected identifier at line 1, char 15"
        );
    }

    #[test]
    fn multiple_statements() {
        let s = parse_statements("SHOW DATABASES;;CREATE DATABASE x;").unwrap();
        assert_eq!(s.len(), 2);
    }
}
