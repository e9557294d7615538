//! Recursive-descent parser from text to [`Statement`]s, with InfluxDB's error wording.

use crate::ast::*;
use crate::lexer::{Lexer, Token, TokenKind};
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
    /// 1-based line.
    pub line: usize,
    /// 1-based character in the line.
    pub column: usize,
    /// A message replacing found/expected, for errors that are not about a token.
    pub message: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
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

    /// `GRANT|REVOKE READ|WRITE|ALL [PRIVILEGES] [ON db] TO|FROM user`; without `ON` only `ALL`
    /// (admin) is allowed.
    fn grant_or_revoke(&mut self) -> Result<Statement> {
        let grant = self.eat_keyword("GRANT");
        if !grant {
            self.expect_keyword("REVOKE")?;
        }
        let privilege = if self.eat_keyword("READ") {
            Privilege::Read
        } else if self.eat_keyword("WRITE") {
            Privilege::Write
        } else if self.eat_keyword("ALL") {
            self.eat_keyword("PRIVILEGES");
            Privilege::All
        } else {
            return Err(self.unexpected(&["READ", "WRITE", "ALL [PRIVILEGES]"]));
        };
        let to = if grant { "TO" } else { "FROM" };
        let database = if self.eat_keyword("ON") {
            Some(self.ident()?)
        } else if privilege == Privilege::All {
            None
        } else {
            return Err(self.unexpected(&["ON"]));
        };
        if database.is_none() && !self.at_keyword(to) {
            return Err(self.unexpected(&["ON", to]));
        }
        self.expect_keyword(to)?;
        let user = self.ident()?;
        Ok(if grant {
            Statement::Grant {
                privilege,
                database,
                user,
            }
        } else {
            Statement::Revoke {
                privilege,
                database,
                user,
            }
        })
    }

    /// `[EXACT] CARDINALITY [ON db]` after `SHOW MEASUREMENT` / `SHOW SERIES`.
    /// `[EXACT] CARDINALITY [ON db] [FROM …] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]`
    /// after `SHOW MEASUREMENT|SERIES|TAG KEY|TAG VALUES|FIELD KEY` (`WITH KEY` only, and
    /// always, for `TAG VALUES`).
    fn cardinality(&mut self, of: CardinalityOf) -> Result<Statement> {
        let exact = self.eat_keyword("EXACT");
        self.expect_keyword("CARDINALITY")?;
        let with_key = matches!(of, CardinalityOf::TagValues(_));
        let (scope, key) = self.show_statement(with_key)?;
        let of = match (of, key) {
            (CardinalityOf::TagValues(_), Some(key)) => CardinalityOf::TagValues(key),
            (CardinalityOf::TagValues(_), None) => return Err(self.unexpected(&["WITH"])),
            (of, _) => of,
        };
        Ok(Statement::ShowCardinality { of, exact, scope })
    }

    /// `ON db.rp` of the subscription statements.
    fn on_database_policy(&mut self) -> Result<(String, String)> {
        self.expect_keyword("ON")?;
        let database = self.ident()?;
        self.expect(TokenKind::Dot, ".")?;
        Ok((database, self.ident()?))
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

    fn on_database(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("ON") {
            Ok(Some(self.ident()?))
        } else {
            Ok(None)
        }
    }

    fn show(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASES") {
            return Ok(Statement::ShowDatabases);
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICIES")?;
            return Ok(Statement::ShowRetentionPolicies {
                database: self.on_database()?,
            });
        }
        if self.eat_keyword("MEASUREMENTS") {
            let database = self.on_database()?;
            let mut measurement = None;
            if self.eat_keyword("WITH") {
                self.expect_keyword("MEASUREMENT")?;
                measurement = Some(match self.peek().kind.clone() {
                    TokenKind::Eq => {
                        self.advance();
                        MeasurementName::Name(self.ident()?)
                    }
                    TokenKind::EqRegex => {
                        self.advance();
                        self.expect(TokenKind::Slash, "regex")?;
                        MeasurementName::Regex(self.regex_body()?)
                    }
                    _ => return Err(self.unexpected(&["=", "=~"])),
                });
            }
            return Ok(Statement::ShowMeasurements {
                database,
                measurement,
            });
        }
        if self.eat_keyword("MEASUREMENT") {
            return self.cardinality(CardinalityOf::Measurement);
        }
        if self.eat_keyword("SHARDS") {
            return Ok(Statement::ShowShards);
        }
        if self.eat_keyword("SHARD") {
            self.expect_keyword("GROUPS")?;
            return Ok(Statement::ShowShardGroups);
        }
        if self.eat_keyword("USERS") {
            return Ok(Statement::ShowUsers);
        }
        if self.eat_keyword("QUERIES") {
            return Ok(Statement::ShowQueries);
        }
        if self.eat_keyword("GRANTS") {
            self.expect_keyword("FOR")?;
            return Ok(Statement::ShowGrants {
                user: self.ident()?,
            });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERIES")?;
            return Ok(Statement::ShowContinuousQueries);
        }
        if self.eat_keyword("TAG") {
            if self.eat_keyword("KEYS") {
                return Ok(Statement::ShowTagKeys(self.show_statement(false)?.0));
            }
            if self.eat_keyword("KEY") {
                return self.cardinality(CardinalityOf::TagKey);
            }
            self.expect_keyword("VALUES")?;
            if self.at_keyword("EXACT") || self.at_keyword("CARDINALITY") {
                // The filter is read after the scope's `FROM`.
                return self.cardinality(CardinalityOf::TagValues(TagKeyFilter::In(Vec::new())));
            }
            let (stmt, key) = self.show_statement(true)?;
            let key = key.ok_or_else(|| self.unexpected(&["WITH"]))?;
            return Ok(Statement::ShowTagValues(stmt, key));
        }
        if self.eat_keyword("FIELD") {
            if self.eat_keyword("KEY") {
                return self.cardinality(CardinalityOf::FieldKey);
            }
            self.expect_keyword("KEYS")?;
            return Ok(Statement::ShowFieldKeys(self.show_statement(false)?.0));
        }
        if self.eat_keyword("SERIES") {
            if self.at_keyword("EXACT") || self.at_keyword("CARDINALITY") {
                return self.cardinality(CardinalityOf::Series);
            }
            return Ok(Statement::ShowSeries(self.show_statement(false)?.0));
        }
        if self.eat_keyword("SUBSCRIPTIONS") {
            return Ok(Statement::ShowSubscriptions);
        }
        if self.eat_keyword("STATS") {
            return Ok(Statement::ShowStats {
                module: self.for_module()?,
            });
        }
        if self.eat_keyword("DIAGNOSTICS") {
            return Ok(Statement::ShowDiagnostics {
                module: self.for_module()?,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "DATABASES",
            "DIAGNOSTICS",
            "FIELD",
            "GRANTS",
            "MEASUREMENT",
            "MEASUREMENTS",
            "QUERIES",
            "RETENTION",
            "SERIES",
            "SHARD",
            "SHARDS",
            "STATS",
            "SUBSCRIPTIONS",
            "TAG",
            "USERS",
        ]))
    }

    /// `FOR 'module'` of `SHOW STATS` and `SHOW DIAGNOSTICS`, when given.
    fn for_module(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("FOR") {
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }

    fn create(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASE") {
            let name = self.ident()?;
            let policy = if self.eat_keyword("WITH") {
                let options = self.policy_options(true)?;
                if options == RetentionPolicyOptions::default() {
                    return Err(self.unexpected(&["DURATION", "NAME", "REPLICATION", "SHARD"]));
                }
                Some(options)
            } else {
                None
            };
            return Ok(Statement::CreateDatabase { name, policy });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            if !self.at_keyword("DURATION") {
                return Err(self.unexpected(&["DURATION"]));
            }
            let options = self.policy_options(false)?;
            if options.replication.is_none() {
                return Err(self.unexpected(&["REPLICATION"]));
            }
            return Ok(Statement::CreateRetentionPolicy {
                name,
                database,
                options,
            });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            let (mut resample_every, mut resample_for) = (None, None);
            if self.eat_keyword("RESAMPLE") {
                loop {
                    if self.eat_keyword("EVERY") {
                        resample_every = Some(self.duration()?);
                    } else if self.eat_keyword("FOR") {
                        resample_for = Some(self.duration()?);
                    } else {
                        break;
                    }
                }
                if resample_every.is_none() && resample_for.is_none() {
                    return Err(self.unexpected(&["EVERY", "FOR"]));
                }
            }
            self.expect_keyword("BEGIN")?;
            if !self.at_keyword("SELECT") {
                return Err(self.unexpected(&["SELECT"]));
            }
            let query = Box::new(self.select()?);
            self.expect_keyword("END")?;
            return Ok(Statement::CreateContinuousQuery {
                name,
                database,
                resample_every,
                resample_for,
                query,
            });
        }
        if self.eat_keyword("USER") {
            let name = self.ident()?;
            self.expect_keyword("WITH")?;
            self.expect_keyword("PASSWORD")?;
            let password = self.string()?;
            let admin = if self.eat_keyword("WITH") {
                self.expect_keyword("ALL")?;
                self.expect_keyword("PRIVILEGES")?;
                true
            } else {
                false
            };
            return Ok(Statement::CreateUser {
                name,
                password,
                admin,
            });
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let name = self.ident()?;
            let (database, retention_policy) = self.on_database_policy()?;
            self.expect_keyword("DESTINATIONS")?;
            let mode = if self.eat_keyword("ANY") {
                SubscriptionMode::Any
            } else if self.eat_keyword("ALL") {
                SubscriptionMode::All
            } else {
                return Err(self.unexpected(&["ALL", "ANY"]));
            };
            let mut destinations = vec![self.string()?];
            while self.peek().kind == TokenKind::Comma {
                self.advance();
                destinations.push(self.string()?);
            }
            return Ok(Statement::CreateSubscription {
                name,
                database,
                retention_policy,
                mode,
                destinations,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "DATABASE",
            "USER",
            "RETENTION",
            "SUBSCRIPTION",
        ]))
    }

    fn drop(&mut self) -> Result<Statement> {
        self.advance();
        if self.eat_keyword("DATABASE") {
            return Ok(Statement::DropDatabase {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            return Ok(Statement::DropRetentionPolicy { name, database });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            return Ok(Statement::DropContinuousQuery {
                name,
                database: self.ident()?,
            });
        }
        if self.eat_keyword("SERIES") {
            let (sources, condition) = self.deletion_scope()?;
            return Ok(Statement::DropSeries { sources, condition });
        }
        if self.eat_keyword("SHARD") {
            return match self.peek().kind {
                TokenKind::Integer(n) if n >= 0 => {
                    self.advance();
                    Ok(Statement::DropShard { id: n as u64 })
                }
                _ => Err(self.unexpected(&["integer"])),
            };
        }
        if self.eat_keyword("MEASUREMENT") {
            return Ok(Statement::DropMeasurement {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("USER") {
            return Ok(Statement::DropUser {
                name: self.ident()?,
            });
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let name = self.ident()?;
            let (database, retention_policy) = self.on_database_policy()?;
            return Ok(Statement::DropSubscription {
                name,
                database,
                retention_policy,
            });
        }
        Err(self.unexpected(&[
            "CONTINUOUS",
            "MEASUREMENT",
            "RETENTION",
            "SERIES",
            "SHARD",
            "SUBSCRIPTION",
            "USER",
        ]))
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

    /// `[DURATION d|INF] [REPLICATION n] [SHARD DURATION d] [NAME n] [DEFAULT]` in any order.
    fn policy_options(&mut self, with_name: bool) -> Result<RetentionPolicyOptions> {
        let mut o = RetentionPolicyOptions::default();
        loop {
            if self.eat_keyword("DURATION") {
                o.duration = Some(if self.eat_keyword("INF") {
                    0
                } else {
                    self.duration()?
                });
            } else if self.eat_keyword("REPLICATION") {
                match self.peek().kind {
                    TokenKind::Integer(n) if n >= 1 && n <= i64::from(u32::MAX) => {
                        self.advance();
                        o.replication = u32::try_from(n).ok();
                    }
                    _ => return Err(self.unexpected(&["integer"])),
                }
            } else if self.eat_keyword("SHARD") {
                self.expect_keyword("DURATION")?;
                o.shard_duration = Some(self.duration()?);
            } else if with_name && self.eat_keyword("NAME") {
                o.name = Some(self.ident()?);
            } else if !with_name && self.eat_keyword("DEFAULT") {
                o.default = true;
            } else {
                return Ok(o);
            }
        }
    }

    fn select(&mut self) -> Result<SelectStatement> {
        self.advance();
        let mut fields = Vec::new();
        loop {
            let expr = self.expr(0)?;
            let alias = if self.eat_keyword("AS") {
                Some(self.ident()?)
            } else {
                None
            };
            fields.push(Field { expr, alias });
            if self.peek().kind == TokenKind::Comma {
                self.advance();
            } else {
                break;
            }
        }
        let into = if self.eat_keyword("INTO") {
            Some(self.target()?)
        } else {
            None
        };
        self.expect_keyword("FROM")?;
        let sources = self.sources(true)?;
        let condition = self.where_clause()?;
        let mut dimensions = Vec::new();
        if self.eat_keyword("GROUP") {
            self.expect_keyword("BY")?;
            loop {
                dimensions.push(self.dimension()?);
                if self.peek().kind != TokenKind::Comma {
                    break;
                }
                self.advance();
            }
        }
        let fill = self.fill()?;
        let mut descending = false;
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            let field = self.ident_or_keyword_time()?;
            if !field.eq_ignore_ascii_case("time") {
                return Err(self.error_here("only ORDER BY time supported at this time".into()));
            }
            if self.eat_keyword("DESC") {
                descending = true;
            } else {
                self.eat_keyword("ASC");
            }
        }
        let limit = self.optional_unsigned("LIMIT")?;
        let offset = self.optional_unsigned("OFFSET")?;
        let slimit = self.optional_unsigned("SLIMIT")?;
        let soffset = self.optional_unsigned("SOFFSET")?;
        let timezone = if self.at_ident("tz") {
            self.advance();
            self.expect(TokenKind::LParen, "(")?;
            let TokenKind::Str(tz) = self.peek().kind.clone() else {
                return Err(self.unexpected(&["string"]));
            };
            self.advance();
            self.expect(TokenKind::RParen, ")")?;
            Some(tz)
        } else {
            None
        };
        Ok(SelectStatement {
            fields,
            into,
            sources,
            condition,
            dimensions,
            fill,
            descending,
            limit,
            offset,
            slimit,
            soffset,
            timezone,
        })
    }

    /// Whether the next token is the unquoted word `word` (any case), keyword or not.
    fn at_ident(&mut self, word: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn where_clause(&mut self) -> Result<Option<Expr>> {
        if self.eat_keyword("WHERE") {
            Ok(Some(self.expr(0)?))
        } else {
            Ok(None)
        }
    }

    fn optional_unsigned(&mut self, keyword: &str) -> Result<Option<u64>> {
        if self.eat_keyword(keyword) {
            Ok(Some(self.unsigned()?))
        } else {
            Ok(None)
        }
    }

    /// A signed duration (`-5m` is allowed for time offsets).
    fn signed_duration(&mut self) -> Result<i64> {
        if self.peek().kind == TokenKind::Minus {
            self.advance();
            return Ok(-self.duration()?);
        }
        self.duration()
    }

    fn dimension(&mut self) -> Result<Dimension> {
        match self.peek().kind.clone() {
            TokenKind::Star => {
                self.advance();
                Ok(Dimension::Wildcard)
            }
            TokenKind::Slash => {
                self.advance();
                Ok(Dimension::Regex(self.regex_body()?))
            }
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("time") => {
                self.advance();
                if self.peek().kind != TokenKind::LParen {
                    return Ok(Dimension::Tag(w));
                }
                self.advance();
                let interval = self.duration()?;
                let offset = if self.peek().kind == TokenKind::Comma {
                    self.advance();
                    self.signed_duration()?
                } else {
                    0
                };
                self.expect(TokenKind::RParen, ")")?;
                Ok(Dimension::Time { interval, offset })
            }
            _ => Ok(Dimension::Tag(self.ident()?)),
        }
    }

    fn fill(&mut self) -> Result<Option<Fill>> {
        if !self.at_ident("fill") {
            return Ok(None);
        }
        self.advance();
        self.expect(TokenKind::LParen, "(")?;
        let fill = match self.peek().kind.clone() {
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("null") => Fill::Null,
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("none") => Fill::None,
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("previous") => Fill::Previous,
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("linear") => Fill::Linear,
            TokenKind::Integer(i) => Fill::Integer(i),
            TokenKind::Float(v) => Fill::Float(v),
            TokenKind::Minus => {
                self.advance();
                match self.peek().kind {
                    TokenKind::Integer(i) => Fill::Integer(-i),
                    TokenKind::Float(v) => Fill::Float(-v),
                    _ => return Err(self.unexpected(&["number"])),
                }
            }
            _ => return Err(self.unexpected(&["null", "none", "previous", "linear", "number"])),
        };
        self.advance();
        self.expect(TokenKind::RParen, ")")?;
        Ok(Some(fill))
    }

    /// `[ON db] [FROM sources] [WITH KEY …] [WHERE …] [LIMIT n] [OFFSET n]` of schema SHOWs.
    fn show_statement(&mut self, with_key: bool) -> Result<(ShowStatement, Option<TagKeyFilter>)> {
        let database = self.on_database()?;
        let mut sources = Vec::new();
        if self.eat_keyword("FROM") {
            loop {
                sources.push(self.measurement()?);
                if self.peek().kind != TokenKind::Comma {
                    break;
                }
                self.advance();
            }
        }
        let key = if with_key {
            self.expect_keyword("WITH")?;
            self.expect_keyword("KEY")?;
            Some(self.tag_key_filter()?)
        } else {
            None
        };
        let condition = self.where_clause()?;
        let limit = self.optional_unsigned("LIMIT")?;
        let offset = self.optional_unsigned("OFFSET")?;
        Ok((
            ShowStatement {
                database,
                sources,
                condition,
                limit,
                offset,
            },
            key,
        ))
    }

    fn tag_key_filter(&mut self) -> Result<TagKeyFilter> {
        let op = self.peek().kind.clone();
        match op {
            TokenKind::Eq | TokenKind::Neq => {
                self.advance();
                let key = self.ident_or_keyword_time()?;
                Ok(if op == TokenKind::Eq {
                    TagKeyFilter::Eq(key)
                } else {
                    TagKeyFilter::Neq(key)
                })
            }
            TokenKind::EqRegex | TokenKind::NeqRegex => {
                self.advance();
                self.expect(TokenKind::Slash, "regex")?;
                let re = self.regex_body()?;
                Ok(if op == TokenKind::EqRegex {
                    TagKeyFilter::Regex(re)
                } else {
                    TagKeyFilter::NotRegex(re)
                })
            }
            TokenKind::Ident(w) if w.eq_ignore_ascii_case("IN") => {
                self.advance();
                self.expect(TokenKind::LParen, "(")?;
                let mut keys = vec![self.ident_or_keyword_time()?];
                while self.peek().kind == TokenKind::Comma {
                    self.advance();
                    keys.push(self.ident_or_keyword_time()?);
                }
                self.expect(TokenKind::RParen, ")")?;
                Ok(TagKeyFilter::In(keys))
            }
            _ => Err(self.unexpected(&["=", "!=", "=~", "!~", "IN"])),
        }
    }

    fn ident_or_keyword_time(&mut self) -> Result<String> {
        match self.peek().kind.clone() {
            TokenKind::Ident(s) | TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(&["identifier"])),
        }
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

    /// A source: `m`, `/re/`, qualified by `db.rp.`, `rp.` or `db..`.
    fn measurement(&mut self) -> Result<Measurement> {
        self.measurement_or_target(false)
    }

    /// An `INTO` target: a measurement, or `:MEASUREMENT` (qualified or not).
    fn target(&mut self) -> Result<Measurement> {
        self.measurement_or_target(true)
    }

    fn measurement_or_target(&mut self, target: bool) -> Result<Measurement> {
        if self.peek().kind == TokenKind::Slash {
            self.advance();
            return Ok(Measurement {
                database: None,
                retention_policy: None,
                name: MeasurementName::Regex(self.regex_body()?),
            });
        }
        // Up to three dot-separated parts: db.rp.m, rp.m, db..m, m.
        let mut parts: Vec<Option<String>> = Vec::new();
        loop {
            if target && self.peek().kind == TokenKind::Colon {
                self.advance();
                if !self.eat_keyword("MEASUREMENT") {
                    return Err(self.unexpected(&["MEASUREMENT"]));
                }
                return Ok(qualified(parts, MeasurementName::Source));
            }
            if !parts.is_empty() && self.peek().kind == TokenKind::Slash {
                self.advance();
                let re = self.regex_body()?;
                return Ok(qualified(parts, MeasurementName::Regex(re)));
            }
            parts.push(Some(self.segment()?));
            if self.peek().kind != TokenKind::Dot || parts.len() >= 3 {
                break;
            }
            self.advance();
            while self.peek().kind == TokenKind::Dot && parts.len() < 2 {
                self.advance();
                parts.push(None);
            }
        }
        let last = parts
            .pop()
            .flatten()
            .ok_or_else(|| self.unexpected(&["identifier"]))?;
        Ok(qualified(parts, MeasurementName::Name(last)))
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

    fn regex_body(&mut self) -> Result<String> {
        // The lexer sits just after the `/` we consumed.
        debug_assert!(self.peeked.is_none());
        self.lexer
            .scan_regex_body()
            .map_err(|(line, column)| ParseError {
                found: "EOF".into(),
                expected: vec!["regex".into()],
                line,
                column,
                message: None,
            })
    }

    fn binary_op(&mut self) -> Option<BinaryOp> {
        Some(match &self.peek().kind {
            TokenKind::Eq => BinaryOp::Eq,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Gte => BinaryOp::Gte,
            TokenKind::EqRegex => BinaryOp::EqRegex,
            TokenKind::NeqRegex => BinaryOp::NeqRegex,
            TokenKind::Plus => BinaryOp::Add,
            TokenKind::Minus => BinaryOp::Sub,
            TokenKind::Star => BinaryOp::Mul,
            TokenKind::Slash => BinaryOp::Div,
            TokenKind::Percent => BinaryOp::Mod,
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("AND") => BinaryOp::And,
            TokenKind::Ident(s) if s.eq_ignore_ascii_case("OR") => BinaryOp::Or,
            _ => return None,
        })
    }

    /// Precedence climbing; operators of equal precedence associate to the left.
    ///
    /// Each link of a chain counts as a level of nesting, since the tree it builds is as deep
    /// as the chain is long.
    fn expr(&mut self, min_prec: u8) -> Result<Expr> {
        let mut lhs = self.nested(Self::unary)?;
        let mut links = 0;
        let out = loop {
            let Some(op) = self.binary_op() else {
                break Ok(lhs);
            };
            let prec = op.precedence();
            if prec <= min_prec {
                break Ok(lhs);
            }
            if let Err(e) = self.enter(1) {
                break Err(e);
            }
            links += 1;
            self.advance();
            let rhs = if matches!(op, BinaryOp::EqRegex | BinaryOp::NeqRegex) {
                self.expect(TokenKind::Slash, "regex")
                    .and_then(|()| self.regex_body())
                    .map(Expr::Regex)
            } else {
                self.expr(prec)
            };
            match rhs {
                Ok(rhs) => {
                    lhs = Expr::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    }
                }
                Err(e) => break Err(e),
            }
        };
        self.leave(links);
        out
    }

    /// `m, /re/, db.rp.m` after `FROM`, and `(SELECT …)` when `subqueries` are allowed.
    fn sources(&mut self, subqueries: bool) -> Result<Vec<Measurement>> {
        let mut sources = Vec::new();
        loop {
            if subqueries && self.peek().kind == TokenKind::LParen {
                self.advance();
                if !self.at_keyword("SELECT") {
                    return Err(self.unexpected(&["SELECT"]));
                }
                if self.subqueries >= MAX_SUBQUERY_DEPTH {
                    return Err(self.error_here(format!(
                        "subqueries nested too deeply (more than {MAX_SUBQUERY_DEPTH} levels)"
                    )));
                }
                self.subqueries += 1;
                let inner = self.nested(Self::select);
                self.subqueries -= 1;
                let inner = inner?;
                self.expect(TokenKind::RParen, ")")?;
                sources.push(Measurement {
                    database: None,
                    retention_policy: None,
                    name: MeasurementName::Subquery(Box::new(inner)),
                });
            } else {
                sources.push(self.measurement()?);
            }
            if self.peek().kind == TokenKind::Comma {
                self.advance();
            } else {
                return Ok(sources);
            }
        }
    }

    /// `[FROM sources] [WHERE cond]` of `DELETE` and `DROP SERIES`: at least one of them.
    fn deletion_scope(&mut self) -> Result<(Vec<Measurement>, Option<Expr>)> {
        let sources = if self.eat_keyword("FROM") {
            self.sources(false)?
        } else {
            Vec::new()
        };
        let condition = self.where_clause()?;
        if sources.is_empty() && condition.is_none() {
            return Err(self.unexpected(&["FROM", "WHERE"]));
        }
        Ok((sources, condition))
    }

    /// `(arg, arg, …)` of a function call.
    fn call_args(&mut self) -> Result<Vec<Expr>> {
        self.expect(TokenKind::LParen, "(")?;
        let mut args = Vec::new();
        if self.peek().kind != TokenKind::RParen {
            loop {
                args.push(self.nested(|p| p.expr(0))?);
                if self.peek().kind == TokenKind::Comma {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        self.expect(TokenKind::RParen, ")")?;
        Ok(args)
    }

    fn unary(&mut self) -> Result<Expr> {
        let t = self.peek().clone();
        match t.kind {
            TokenKind::LParen => {
                self.advance();
                let e = self.expr(0)?;
                self.expect(TokenKind::RParen, ")")?;
                Ok(Expr::Paren(Box::new(e)))
            }
            TokenKind::Star => {
                self.advance();
                Ok(Expr::Wildcard)
            }
            TokenKind::Slash => {
                self.advance();
                Ok(Expr::Regex(self.regex_body()?))
            }
            TokenKind::Str(s) => {
                self.advance();
                Ok(Expr::Str(s))
            }
            TokenKind::Integer(i) => {
                self.advance();
                Ok(Expr::Integer(i))
            }
            TokenKind::Float(v) => {
                self.advance();
                Ok(Expr::Float(v))
            }
            TokenKind::Duration(ns, _) => {
                self.advance();
                Ok(Expr::Duration(ns))
            }
            TokenKind::Minus => {
                self.advance();
                match self.peek().kind.clone() {
                    TokenKind::Integer(i) => {
                        self.advance();
                        Ok(Expr::Integer(-i))
                    }
                    TokenKind::Float(v) => {
                        self.advance();
                        Ok(Expr::Float(-v))
                    }
                    TokenKind::Duration(ns, _) => {
                        self.advance();
                        Ok(Expr::Duration(-ns))
                    }
                    _ => Err(self.unexpected(&["number"])),
                }
            }
            TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(Expr::VarRef(s))
            }
            TokenKind::Ident(s) => {
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") {
                    self.advance();
                    return Ok(Expr::Bool(s.eq_ignore_ascii_case("true")));
                }
                if s.eq_ignore_ascii_case("distinct") {
                    // `distinct(field)`, or `DISTINCT field` meaning the same.
                    self.advance();
                    let args = if self.peek().kind == TokenKind::LParen {
                        self.call_args()?
                    } else {
                        vec![Expr::VarRef(self.ident()?)]
                    };
                    return Ok(Expr::Call {
                        name: "distinct".into(),
                        args,
                    });
                }
                if is_keyword(&s) {
                    return Err(self.unexpected(&["identifier", "string", "number", "bool"]));
                }
                self.advance();
                if self.peek().kind == TokenKind::LParen {
                    return Ok(Expr::Call {
                        name: s.to_ascii_lowercase(),
                        args: self.call_args()?,
                    });
                }
                Ok(Expr::VarRef(s))
            }
            _ => Err(self.unexpected(&["identifier", "string", "number", "bool"])),
        }
    }
}

fn qualified(mut parts: Vec<Option<String>>, name: MeasurementName) -> Measurement {
    let (database, retention_policy) = match parts.len() {
        0 => (None, None),
        1 => (None, parts.pop().flatten()),
        _ => {
            let rp = parts.pop().flatten();
            (parts.pop().flatten(), rp)
        }
    };
    Measurement {
        database,
        retention_policy,
        name,
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
            "found EOF, expected identifier at line 1, char 16"
        );
        let e = parse_statement("SELECT * FROM").unwrap_err();
        assert_eq!(
            e.to_string(),
            "found EOF, expected identifier at line 1, char 14"
        );
    }

    #[test]
    fn multiple_statements() {
        let s = parse_statements("SHOW DATABASES;;CREATE DATABASE x;").unwrap();
        assert_eq!(s.len(), 2);
    }
}
