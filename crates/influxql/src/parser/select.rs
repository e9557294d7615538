//! `SELECT` and its clauses (`INTO`, `FROM` with subqueries, `WHERE`, `GROUP BY`, `fill()`,
//! `ORDER BY`, the limits, `tz()`), and the measurement names `FROM`, `INTO` and `DELETE` take.

use super::{ParseError, Parser, Result, MAX_SUBQUERY_DEPTH};
use crate::ast::*;
use crate::lexer::TokenKind;

impl Parser<'_> {
    pub(super) fn select(&mut self) -> Result<SelectStatement> {
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
            // The name is compared as written: `Time` is no `time`.
            if field != "time" {
                return Err(ParseError::without_position(
                    "only ORDER BY time supported at this time",
                ));
            }
            if self.eat_keyword("DESC") {
                descending = true;
            } else {
                self.eat_keyword("ASC");
            }
            // InfluxDB reads a list of sort fields and then refuses any but `time`.
            if self.peek().kind == TokenKind::Comma {
                return Err(ParseError::without_position(
                    "only ORDER BY time supported at this time",
                ));
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
                return Err(ParseError::without_position(
                    "expected string argument in tz()",
                ));
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

    pub(super) fn where_clause(&mut self) -> Result<Option<Expr>> {
        if self.eat_keyword("WHERE") {
            Ok(Some(self.expr(0)?))
        } else {
            Ok(None)
        }
    }

    pub(super) fn optional_unsigned(&mut self, keyword: &str) -> Result<Option<u64>> {
        if self.eat_keyword(keyword) {
            Ok(Some(self.unsigned()?))
        } else {
            Ok(None)
        }
    }

    /// A signed duration (`-5m` is allowed for time offsets).
    pub(super) fn signed_duration(&mut self) -> Result<i64> {
        if self.peek().kind == TokenKind::Minus {
            self.advance();
            return Ok(-self.duration()?);
        }
        self.duration()
    }

    pub(super) fn dimension(&mut self) -> Result<Dimension> {
        self.at_regex();
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
                if self.peek().kind == TokenKind::RParen {
                    self.advance();
                    return Ok(Dimension::BadTime(Vec::new()));
                }
                let interval = self.duration()?;
                let offset = if self.peek().kind == TokenKind::Comma {
                    self.advance();
                    self.signed_duration()?
                } else {
                    0
                };
                if self.peek().kind == TokenKind::Comma {
                    let mut args = vec![Expr::Duration(interval), Expr::Duration(offset)];
                    while self.peek().kind == TokenKind::Comma {
                        self.advance();
                        args.push(self.expr(0)?);
                    }
                    self.expect(TokenKind::RParen, ")")?;
                    return Ok(Dimension::BadTime(args));
                }
                self.expect(TokenKind::RParen, ")")?;
                Ok(Dimension::Time { interval, offset })
            }
            // InfluxDB reads a dimension as an expression: its errors name what one starts with.
            TokenKind::Ident(_) | TokenKind::QuotedIdent(_) => {
                let name = self.ident()?;
                // `host::tag` (any type is read; a dimension is a tag).
                self.var_type()?;
                Ok(Dimension::Tag(name))
            }
            _ => Err(self.unexpected(&["identifier", "string", "number", "bool"])),
        }
    }

    pub(super) fn fill(&mut self) -> Result<Option<Fill>> {
        if !self.at_ident("fill") {
            return Ok(None);
        }
        self.advance();
        self.expect(TokenKind::LParen, "(")?;
        let fill = match self.peek().kind.clone() {
            // Written in lower case only, as InfluxDB compares them (`fill(NULL)` is refused).
            TokenKind::Ident(w) if w == "null" => Fill::Null,
            TokenKind::Ident(w) if w == "none" => Fill::None,
            TokenKind::Ident(w) if w == "previous" => Fill::Previous,
            TokenKind::Ident(w) if w == "linear" => Fill::Linear,
            TokenKind::Integer(i) => Fill::Integer(i),
            TokenKind::Float(v) => Fill::Float(v),
            TokenKind::Minus => {
                self.advance();
                match self.peek().kind {
                    TokenKind::Integer(i) => Fill::Integer(-i),
                    TokenKind::Float(v) => Fill::Float(-v),
                    _ => {
                        return Err(ParseError::without_position(
                            "expected number argument in fill()",
                        ))
                    }
                }
            }
            TokenKind::RParen => {
                return Err(ParseError::without_position(
                    "fill requires an argument, e.g.: 0, null, none, previous, linear",
                ))
            }
            _ => {
                return Err(ParseError::without_position(
                    "expected number argument in fill()",
                ))
            }
        };
        self.advance();
        self.expect(TokenKind::RParen, ")")?;
        Ok(Some(fill))
    }

    /// A source: `m`, `/re/`, qualified by `db.rp.`, `rp.` or `db..`.
    pub(super) fn measurement(&mut self) -> Result<Measurement> {
        self.measurement_or_target(false)
    }

    /// An `INTO` target: a measurement, or `:MEASUREMENT` (qualified or not).
    pub(super) fn target(&mut self) -> Result<Measurement> {
        self.measurement_or_target(true)
    }

    pub(super) fn measurement_or_target(&mut self, target: bool) -> Result<Measurement> {
        if self.at_regex() {
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

    pub(super) fn regex_body(&mut self) -> Result<String> {
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

    /// `m, /re/, db.rp.m` after `FROM`, and `(SELECT …)` when `subqueries` are allowed.
    pub(super) fn sources(&mut self, subqueries: bool) -> Result<Vec<Measurement>> {
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
    pub(super) fn deletion_scope(&mut self) -> Result<(Vec<Measurement>, Option<Expr>)> {
        let sources = if self.eat_keyword("FROM") {
            self.sources(false)?
        } else {
            Vec::new()
        };
        // A deletion covers every retention policy of the query's database: naming either in
        // FROM is refused, as InfluxDB refuses it (placed at the start of the text).
        for source in &sources {
            let refused = match (&source.database, &source.retention_policy) {
                (_, Some(_)) => "retention policy not supported",
                (Some(_), None) => "database not supported",
                (None, None) => continue,
            };
            return Err(ParseError {
                found: String::new(),
                expected: Vec::new(),
                line: 1,
                column: 1,
                message: Some(refused.into()),
            });
        }
        let condition = self.where_clause()?;
        if sources.is_empty() && condition.is_none() {
            return Err(self.unexpected(&["FROM", "WHERE"]));
        }
        Ok((sources, condition))
    }
}

pub(super) fn qualified(mut parts: Vec<Option<String>>, name: MeasurementName) -> Measurement {
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
