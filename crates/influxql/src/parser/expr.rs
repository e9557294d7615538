//! Expressions: binary operators by precedence, unary minus, calls and their arguments,
//! literals, variable references with `::type`, regexes, parentheses.

use super::{ParseError, Parser, Result};
use crate::ast::*;
use crate::lexer::{is_keyword, TokenKind};

impl Parser<'_> {
    pub(super) fn binary_op(&mut self) -> Option<BinaryOp> {
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
    pub(super) fn expr(&mut self, min_prec: u8) -> Result<Expr> {
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
                self.at_regex();
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

    /// `(arg, arg, …)` of a function call.
    pub(super) fn call_args(&mut self) -> Result<Vec<Expr>> {
        self.expect(TokenKind::LParen, "(")?;
        let mut args = Vec::new();
        if self.peek().kind != TokenKind::RParen {
            loop {
                // A `/regex/` is an argument only as a whole (`mean(/u/)`), as in InfluxDB:
                // elsewhere it follows `=~` or `!~`.
                if self.at_regex() {
                    self.advance();
                    args.push(Expr::Regex(self.regex_body()?));
                } else {
                    args.push(self.nested(|p| p.expr(0))?);
                }
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

    pub(super) fn unary(&mut self) -> Result<Expr> {
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
                if !self.type_follows()? {
                    return Ok(Expr::Wildcard);
                }
                match self.peek().kind.clone() {
                    TokenKind::Ident(w) => match VarType::named(&w) {
                        Some(to @ (VarType::Field | VarType::Tag)) => {
                            self.advance();
                            Ok(Expr::TypedWildcard(to))
                        }
                        _ => Err(self.unexpected(&["field", "tag"])),
                    },
                    _ => Err(self.unexpected(&["field", "tag"])),
                }
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
            // InfluxDB says only this, with no position.
            TokenKind::BadDuration(_) => Err(ParseError::without_position("invalid duration")),
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
                self.var_ref(s)
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
                self.var_ref(s)
            }
            _ => Err(self.unexpected(&["identifier", "string", "number", "bool"])),
        }
    }

    /// A name just read, with the `::type` that may follow it.
    fn var_ref(&mut self, name: String) -> Result<Expr> {
        match self.var_type()? {
            Some(to) => Ok(Expr::Typed { name, to }),
            None => Ok(Expr::VarRef(name)),
        }
    }

    /// Reads `::` written right after what came before (InfluxDB reads `name ::type` as a
    /// name and a stray `::`); errs when whitespace follows it, in InfluxDB's words.
    fn type_follows(&mut self) -> Result<bool> {
        let t = self.peek().clone();
        if t.kind != TokenKind::DoubleColon || t.spaced {
            return Ok(false);
        }
        self.advance();
        if self.peek().spaced {
            return Err(ParseError {
                found: " ".into(),
                expected: ["float", "integer", "string", "boolean", "field", "tag"]
                    .map(String::from)
                    .to_vec(),
                line: t.line,
                column: t.column + 2,
                message: None,
            });
        }
        Ok(true)
    }

    /// `::type` if `::` follows.
    pub(super) fn var_type(&mut self) -> Result<Option<VarType>> {
        if !self.type_follows()? {
            return Ok(None);
        }
        let expected = VarType::ALL.map(VarType::as_str);
        match self.peek().kind.clone() {
            TokenKind::Ident(w) => match VarType::named(&w) {
                Some(to) => {
                    self.advance();
                    Ok(Some(to))
                }
                None => Err(self.unexpected(&expected)),
            },
            _ => Err(self.unexpected(&expected)),
        }
    }

    pub(super) fn ident_or_keyword_time(&mut self) -> Result<String> {
        match self.peek().kind.clone() {
            TokenKind::Ident(s) | TokenKind::QuotedIdent(s) => {
                self.advance();
                Ok(s)
            }
            _ => Err(self.unexpected(&["identifier"])),
        }
    }
}
