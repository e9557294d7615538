//! The parser: tokens → [`Program`]. Errors name the line and column and what was expected.

use crate::ast::{BinaryOp, ChainOp, Expr, Program, Statement, UnaryOp};
use crate::lexer::{tokenize, LexError, Pos, Token, TokenKind};

/// A script that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ParseError {
    /// Where.
    pub pos: Pos,
    /// What: `found X, expected Y` or the lexer's words.
    pub message: String,
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        ParseError {
            pos: e.pos,
            message: e.message,
        }
    }
}

/// How deeply a script may nest: parentheses, lambdas, lists, call arguments, unary
/// operators, and the links of chains (`a|b().c()` is a tree as deep as the chain is long) and
/// of binary operators all count.
///
/// Every pass over the tree (printing, compiling, evaluating lambdas, dropping) recurses once
/// per level, so an unbounded depth lets one request overflow a thread's stack and abort the
/// process; real scripts stay far below this.
pub const MAX_DEPTH: usize = 1000;

/// Stack left below which a level of nesting is parsed on a new segment.
const RED_ZONE: usize = 64 * 1024;
/// The size of each segment the stack grows by.
const STACK_SEGMENT: usize = 1024 * 1024;

/// Parses a whole script.
///
/// ```
/// let p = tickscript::parse("stream|from().measurement('cpu')|alert().crit(lambda: \"usage\" > 90)").unwrap();
/// assert_eq!(p.statements.len(), 1);
/// ```
pub fn parse(text: &str) -> Result<Program, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    let mut statements = Vec::new();
    while p.peek().kind != TokenKind::Eof {
        statements.push(p.statement()?);
    }
    Ok(Program { statements })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Levels of nesting open at this point, bounded by [`MAX_DEPTH`].
    depth: usize,
}

impl Parser {
    /// Opens one more level of nesting, or errors at the next token with `what` went too deep.
    /// Each successful call is matched by [`Parser::leave`].
    fn enter(&mut self, what: &str) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                pos: self.peek().pos,
                message: format!("{what} (more than {MAX_DEPTH} levels)"),
            });
        }
        self.depth += 1;
        Ok(())
    }

    /// Closes levels opened by [`Parser::enter`].
    fn leave(&mut self, levels: usize) {
        self.depth -= levels;
    }

    /// Runs `inner` one level deeper, on a stack grown on the heap when the thread's runs
    /// low: how much stack a level takes depends on the build, the bound must not.
    fn nested<T>(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.enter("expression nested too deeply")?;
        let out = stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || inner(self));
        self.leave(1);
        out
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> ParseError {
        let t = self.peek();
        ParseError {
            pos: t.pos,
            message: format!("found {}, expected {expected}", t.kind),
        }
    }

    fn expect(&mut self, kind: TokenKind, text: &str) -> Result<Token, ParseError> {
        if self.peek().kind == kind {
            Ok(self.next())
        } else {
            Err(self.error(text))
        }
    }

    fn ident(&mut self) -> Result<(String, Pos), ParseError> {
        match self.peek().kind.clone() {
            TokenKind::Ident(name) => {
                let pos = self.next().pos;
                Ok((name, pos))
            }
            _ => Err(self.error("identifier")),
        }
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(w) if w == word)
    }

    fn statement(&mut self) -> Result<Statement, ParseError> {
        let pos = self.peek().pos;
        if self.at_word("var") {
            self.next();
            let (name, _) = self.ident()?;
            if self.peek().kind == TokenKind::Assign {
                self.next();
                let value = self.expr()?;
                return Ok(Statement::Var { name, value, pos });
            }
            let (type_name, _) = self.ident().map_err(|_| self.error("= or a type"))?;
            return Ok(Statement::Declare {
                name,
                type_name,
                pos,
            });
        }
        if self.at_word("dbrp") {
            self.next();
            let db = self.reference()?;
            self.expect(TokenKind::Dot, ".")?;
            let rp = self.reference()?;
            return Ok(Statement::Dbrp { db, rp, pos });
        }
        Ok(Statement::Expr(self.expr()?))
    }

    fn reference(&mut self) -> Result<String, ParseError> {
        match self.peek().kind.clone() {
            TokenKind::Reference(s) => {
                self.next();
                Ok(s)
            }
            _ => Err(self.error("a quoted name")),
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.binary(1)
    }

    fn binary_op(&self) -> Option<BinaryOp> {
        Some(match &self.peek().kind {
            TokenKind::Ident(w) if w == "OR" => BinaryOp::Or,
            TokenKind::Ident(w) if w == "AND" => BinaryOp::And,
            TokenKind::Eq => BinaryOp::Eq,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::RegexEq => BinaryOp::RegexEq,
            TokenKind::RegexNeq => BinaryOp::RegexNeq,
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Gte => BinaryOp::Gte,
            TokenKind::Plus => BinaryOp::Add,
            TokenKind::Minus => BinaryOp::Sub,
            TokenKind::Star => BinaryOp::Mul,
            TokenKind::Slash => BinaryOp::Div,
            TokenKind::Percent => BinaryOp::Mod,
            _ => return None,
        })
    }

    /// Precedence climbing: operators binding at least as tight as `min`.
    ///
    /// Each link of a chain counts as a level of nesting.
    fn binary(&mut self, min: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.nested(Self::unary)?;
        let mut links = 0;
        let out = loop {
            let Some(op) = self.binary_op().filter(|op| op.precedence() >= min) else {
                break Ok(lhs);
            };
            if let Err(e) = self.enter("expression nested too deeply") {
                break Err(e);
            }
            links += 1;
            self.next();
            match self.binary(op.precedence() + 1) {
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

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let op = match self.peek().kind {
            TokenKind::Minus => UnaryOp::Neg,
            TokenKind::Not => UnaryOp::Not,
            _ => return self.chained(),
        };
        self.next();
        Ok(Expr::Unary {
            op,
            expr: Box::new(self.nested(Self::unary)?),
        })
    }

    /// A primary followed by any `|x()`, `.x()`, `@x()`; each link is a level of nesting.
    fn chained(&mut self) -> Result<Expr, ParseError> {
        let expr = self.primary()?;
        let depth = self.depth;
        let out = self.links(expr);
        self.depth = depth;
        out
    }

    /// The `|x()`, `.x()`, `@x()` links after `expr`, each opening a level of nesting that
    /// [`Parser::chained`] closes.
    fn links(&mut self, mut expr: Expr) -> Result<Expr, ParseError> {
        loop {
            let op = match self.peek().kind {
                TokenKind::Pipe => ChainOp::Pipe,
                TokenKind::Dot => ChainOp::Dot,
                TokenKind::At => ChainOp::At,
                _ => return Ok(expr),
            };
            self.enter("chain too long or nested too deeply")?;
            self.next();
            let (name, pos) = self.ident()?;
            let args = if self.peek().kind == TokenKind::LParen {
                self.args()?
            } else if op == ChainOp::Dot {
                Vec::new()
            } else {
                return Err(self.error("("));
            };
            expr = Expr::Chain {
                target: Box::new(expr),
                op,
                name,
                args,
                pos,
            };
        }
    }

    fn args(&mut self) -> Result<Vec<Expr>, ParseError> {
        self.expect(TokenKind::LParen, "(")?;
        let mut args = Vec::new();
        if self.peek().kind == TokenKind::RParen {
            self.next();
            return Ok(args);
        }
        loop {
            args.push(self.nested(Self::expr)?);
            match self.peek().kind {
                TokenKind::Comma => {
                    self.next();
                }
                TokenKind::RParen => {
                    self.next();
                    return Ok(args);
                }
                _ => return Err(self.error(", or )")),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        let expr = match t.kind {
            TokenKind::Str(s) => Expr::Str(s),
            TokenKind::Int(i) => Expr::Int(i),
            TokenKind::Float(x) => Expr::Float(x),
            TokenKind::Duration(ns, text) => Expr::Duration(ns, text),
            TokenKind::Regex(r) => Expr::Regex(r),
            TokenKind::Reference(r) => Expr::Reference(r),
            TokenKind::Star => Expr::Star,
            TokenKind::Lambda => {
                self.next();
                return Ok(Expr::Lambda(Box::new(self.nested(Self::expr)?)));
            }
            TokenKind::LParen => {
                // Parentheses add no node: the expression inside counts its own level.
                self.next();
                let inner = self.expr()?;
                self.expect(TokenKind::RParen, ")")?;
                return Ok(inner);
            }
            TokenKind::LBracket => {
                self.next();
                let mut items = Vec::new();
                if self.peek().kind != TokenKind::RBracket {
                    loop {
                        items.push(self.nested(Self::expr)?);
                        if self.peek().kind == TokenKind::Comma {
                            self.next();
                        } else {
                            break;
                        }
                    }
                }
                self.expect(TokenKind::RBracket, "]")?;
                return Ok(Expr::List(items));
            }
            TokenKind::Ident(name) => {
                self.next();
                return Ok(match name.as_str() {
                    "TRUE" => Expr::Bool(true),
                    "FALSE" => Expr::Bool(false),
                    _ if self.peek().kind == TokenKind::LParen => Expr::Call {
                        args: self.args()?,
                        name,
                        pos: t.pos,
                    },
                    _ => Expr::Ident { name, pos: t.pos },
                });
            }
            _ => return Err(self.error("a value, a name, lambda: or (")),
        };
        self.next();
        Ok(expr)
    }
}
