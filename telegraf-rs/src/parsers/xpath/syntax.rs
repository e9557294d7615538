//! XPath 1.0 expressions: the tokens (with the specification's rules for telling `*`, `and`,
//! `div`… as operators from names) and a recursive-descent parser into [`Expr`].

/// A step's direction through the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// `child::` (the default).
    Child,
    /// `descendant::`.
    Descendant,
    /// `descendant-or-self::` (what `//` stands for).
    DescendantOrSelf,
    /// `parent::` (`..`).
    Parent,
    /// `ancestor::`.
    Ancestor,
    /// `ancestor-or-self::`.
    AncestorOrSelf,
    /// `following-sibling::`.
    FollowingSibling,
    /// `preceding-sibling::`.
    PrecedingSibling,
    /// `following::`.
    Following,
    /// `preceding::`.
    Preceding,
    /// `attribute::` (`@`).
    Attribute,
    /// `self::` (`.`).
    SelfAxis,
    /// `namespace::` (namespace nodes are not kept: always empty).
    Namespace,
}

impl Axis {
    fn named(name: &str) -> Option<Axis> {
        Some(match name {
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "parent" => Axis::Parent,
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "following-sibling" => Axis::FollowingSibling,
            "preceding-sibling" => Axis::PrecedingSibling,
            "following" => Axis::Following,
            "preceding" => Axis::Preceding,
            "attribute" => Axis::Attribute,
            "self" => Axis::SelfAxis,
            "namespace" => Axis::Namespace,
            _ => return None,
        })
    }
}

/// What a step's nodes must be.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeTest {
    /// `name` or `prefix:name`.
    Name {
        /// The prefix (empty: none).
        prefix: String,
        /// The local name.
        local: String,
    },
    /// `*` or `prefix:*`: any node of the axis' principal kind (with that prefix).
    Any {
        /// The prefix (`None`: any).
        prefix: Option<String>,
    },
    /// `node()`.
    Node,
    /// `text()`.
    Text,
    /// `comment()`.
    Comment,
    /// `processing-instruction()`, with the target when given.
    ProcessingInstruction(Option<String>),
}

/// One step of a location path.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The axis.
    pub axis: Axis,
    /// The test.
    pub test: NodeTest,
    /// `[…]` predicates, in order.
    pub predicates: Vec<Expr>,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `div`.
    Div,
    /// `mod`.
    Mod,
}

/// An XPath expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// A comparison.
    Compare(Compare, Box<Expr>, Box<Expr>),
    /// Arithmetic.
    Arith(Arith, Box<Expr>, Box<Expr>),
    /// `-a`.
    Negate(Box<Expr>),
    /// `a | b`.
    Union(Box<Expr>, Box<Expr>),
    /// A location path: from the root when `absolute`, else from the context node.
    Path {
        /// Starts at the root.
        absolute: bool,
        /// Its steps.
        steps: Vec<Step>,
    },
    /// A primary expression filtered by predicates and followed by steps
    /// (`(//a)[1]/b`, `f()//c`).
    Filter {
        /// The expression.
        primary: Box<Expr>,
        /// Its predicates.
        predicates: Vec<Expr>,
        /// Steps after it.
        steps: Vec<Step>,
    },
    /// `'text'`.
    Literal(String),
    /// `1.5`.
    Number(f64),
    /// `name(args…)`.
    Call(String, Vec<Expr>),
}

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at character {at}: {why}")]
pub struct SyntaxError {
    /// Where, counted from 1.
    pub at: usize,
    /// What was wrong.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Slash,
    DoubleSlash,
    LBracket,
    RBracket,
    LParen,
    RParen,
    At,
    Comma,
    DoubleColon,
    Dot,
    DoubleDot,
    Pipe,
    Plus,
    Minus,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `and`, `or`, `div`, `mod` where an operator is expected.
    OperatorName(String),
    Name(String),
    /// `prefix:*`.
    PrefixStar(String),
    Literal(String),
    Number(f64),
    Variable(String),
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}')
}

/// The tokens of `text`, each with where it starts (counted from 1).
fn tokens(text: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<(Token, usize)> = Vec::new();
    let mut i = 0;
    let fail = |at: usize, why: &str| SyntaxError {
        at: at + 1,
        why: why.to_string(),
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        // The specification's rule: after a token that ends an operand, `*` and the operator
        // names are operators.
        let operand_before = out.last().is_some_and(|t| !operator_like(&t.0));
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            i += 1;
            continue;
        }
        if let Some((symbol, length)) = symbol(&chars[i..]) {
            i += length;
            let symbol = match symbol {
                Token::Star if operand_before => Token::OperatorName("*".into()),
                t => t,
            };
            out.push((symbol, start + 1));
            continue;
        }
        let token = match c {
            '"' | '\'' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .ok_or_else(|| fail(start, "unterminated string literal"))?;
                let s: String = chars[i + 1..i + 1 + close].iter().collect();
                i += close + 2;
                Token::Literal(s)
            }
            d if d.is_ascii_digit() || d == '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                Token::Number(s.parse().map_err(|_| fail(start, "bad number"))?)
            }
            '$' => {
                i += 1;
                let from = i;
                while i < chars.len() && is_name_char(chars[i]) {
                    i += 1;
                }
                Token::Variable(chars[from..i].iter().collect())
            }
            n if is_name_start(n) => {
                while i < chars.len() && is_name_char(chars[i]) {
                    i += 1;
                }
                let mut name: String = chars[start..i].iter().collect();
                // `prefix:local` or `prefix:*` (not `name::`).
                if chars.get(i) == Some(&':') && chars.get(i + 1) != Some(&':') {
                    if chars.get(i + 1) == Some(&'*') {
                        i += 2;
                        out.push((Token::PrefixStar(name), start + 1));
                        continue;
                    }
                    if chars.get(i + 1).is_some_and(|&c| is_name_start(c)) {
                        i += 1;
                        let from = i;
                        while i < chars.len() && is_name_char(chars[i]) {
                            i += 1;
                        }
                        name.push(':');
                        name.extend(&chars[from..i]);
                    }
                }
                if operand_before && matches!(name.as_str(), "and" | "or" | "div" | "mod") {
                    Token::OperatorName(name)
                } else {
                    Token::Name(name)
                }
            }
            _ => return Err(fail(start, &format!("unexpected character {c:?}"))),
        };
        out.push((token, start + 1));
    }
    Ok(out)
}

/// The operator or punctuation `chars` starts with, and its length in characters.
fn symbol(chars: &[char]) -> Option<(Token, usize)> {
    let two = |t| Some((t, 2));
    let one = |t| Some((t, 1));
    match (*chars.first()?, chars.get(1).copied()) {
        ('/', Some('/')) => two(Token::DoubleSlash),
        (':', Some(':')) => two(Token::DoubleColon),
        ('!', Some('=')) => two(Token::Ne),
        ('<', Some('=')) => two(Token::Le),
        ('>', Some('=')) => two(Token::Ge),
        ('.', Some('.')) => two(Token::DoubleDot),
        // `.5` is a number.
        ('.', Some(d)) if d.is_ascii_digit() => None,
        ('.', _) => one(Token::Dot),
        ('/', _) => one(Token::Slash),
        ('[', _) => one(Token::LBracket),
        (']', _) => one(Token::RBracket),
        ('(', _) => one(Token::LParen),
        (')', _) => one(Token::RParen),
        ('@', _) => one(Token::At),
        (',', _) => one(Token::Comma),
        ('|', _) => one(Token::Pipe),
        ('+', _) => one(Token::Plus),
        ('-', _) => one(Token::Minus),
        ('=', _) => one(Token::Eq),
        ('<', _) => one(Token::Lt),
        ('>', _) => one(Token::Gt),
        ('*', _) => one(Token::Star),
        _ => None,
    }
}

/// Whether a token is an operator or opens a group, after which `*` and `and`/`or`/`div`/`mod`
/// are names (the specification's disambiguation rule).
fn operator_like(t: &Token) -> bool {
    matches!(
        t,
        Token::At
            | Token::DoubleColon
            | Token::LParen
            | Token::LBracket
            | Token::Comma
            | Token::OperatorName(_)
            | Token::Slash
            | Token::DoubleSlash
            | Token::Pipe
            | Token::Plus
            | Token::Minus
            | Token::Eq
            | Token::Ne
            | Token::Lt
            | Token::Le
            | Token::Gt
            | Token::Ge
    )
}

/// Compiles an XPath 1.0 expression.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let tokens = tokens(text)?;
    let mut p = ExprParser {
        tokens,
        at: 0,
        end: text.chars().count() + 1,
        nesting: 0,
    };
    let e = p.or()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(p.fail(&format!("unexpected {t:?}"))),
    }
}

/// How a binary operator joins its two operands.
type Join = fn(Box<Expr>, Box<Expr>) -> Expr;

/// How deeply expressions may nest (the parser is recursive).
const MAX_NESTING: usize = 64;

struct ExprParser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end: usize,
    /// Expressions being parsed inside one another.
    nesting: usize,
}

impl ExprParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|t| &t.0)
    }

    fn peek_at(&self, n: usize) -> Option<&Token> {
        self.tokens.get(self.at + n).map(|t| &t.0)
    }

    fn fail(&self, why: &str) -> SyntaxError {
        SyntaxError {
            at: self.tokens.get(self.at).map_or(self.end, |t| t.1),
            why: why.to_string(),
        }
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, t: &Token, what: &str) -> Result<(), SyntaxError> {
        match self.eat(t) {
            true => Ok(()),
            false => Err(self.fail(&format!("expected {what}"))),
        }
    }

    fn operator(&mut self, names: &[&str]) -> Option<String> {
        match self.peek() {
            Some(Token::OperatorName(n)) if names.contains(&n.as_str()) => {
                let n = n.clone();
                self.at += 1;
                Some(n)
            }
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        if self.nesting >= MAX_NESTING {
            return Err(self.fail("the expression nests too deeply"));
        }
        self.nesting += 1;
        let result = self.or_inner();
        self.nesting -= 1;
        result
    }

    fn or_inner(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.and()?;
        while self.operator(&["or"]).is_some() {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.equality()?;
        while self.operator(&["and"]).is_some() {
            e = Expr::And(Box::new(e), Box::new(self.equality()?));
        }
        Ok(e)
    }

    /// A left-associative chain of the binary operators `ops` (each token with how it joins
    /// two operands) between operands read by `operand`.
    fn chain(
        &mut self,
        ops: &[(Token, Join)],
        operand: fn(&mut Self) -> Result<Expr, SyntaxError>,
    ) -> Result<Expr, SyntaxError> {
        let mut e = operand(self)?;
        while let Some(join) = ops
            .iter()
            .find(|(t, _)| self.peek() == Some(t))
            .map(|(_, j)| *j)
        {
            self.at += 1;
            e = join(Box::new(e), Box::new(operand(self)?));
        }
        Ok(e)
    }

    fn equality(&mut self) -> Result<Expr, SyntaxError> {
        self.chain(
            &[
                (Token::Eq, |a, b| Expr::Compare(Compare::Eq, a, b)),
                (Token::Ne, |a, b| Expr::Compare(Compare::Ne, a, b)),
            ],
            Self::relational,
        )
    }

    fn relational(&mut self) -> Result<Expr, SyntaxError> {
        self.chain(
            &[
                (Token::Lt, |a, b| Expr::Compare(Compare::Lt, a, b)),
                (Token::Le, |a, b| Expr::Compare(Compare::Le, a, b)),
                (Token::Gt, |a, b| Expr::Compare(Compare::Gt, a, b)),
                (Token::Ge, |a, b| Expr::Compare(Compare::Ge, a, b)),
            ],
            Self::additive,
        )
    }

    fn additive(&mut self) -> Result<Expr, SyntaxError> {
        self.chain(
            &[
                (Token::Plus, |a, b| Expr::Arith(Arith::Add, a, b)),
                (Token::Minus, |a, b| Expr::Arith(Arith::Sub, a, b)),
            ],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.unary()?;
        while let Some(op) = self.operator(&["*", "div", "mod"]) {
            let op = match op.as_str() {
                "*" => Arith::Mul,
                "div" => Arith::Div,
                _ => Arith::Mod,
            };
            e = Expr::Arith(op, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let mut negations = 0usize;
        while self.eat(&Token::Minus) {
            negations += 1;
        }
        let mut e = self.path()?;
        while self.eat(&Token::Pipe) {
            e = Expr::Union(Box::new(e), Box::new(self.path()?));
        }
        // `--x` is the number `x`: one negation for an odd count, two for an even one.
        if negations > 0 {
            e = Expr::Negate(Box::new(e));
            if negations.is_multiple_of(2) {
                e = Expr::Negate(Box::new(e));
            }
        }
        Ok(e)
    }

    /// Whether the next tokens start a filter expression (a primary expression) rather than
    /// a location path.
    fn at_primary(&self) -> bool {
        match self.peek() {
            Some(Token::Literal(_) | Token::Number(_) | Token::Variable(_) | Token::LParen) => true,
            Some(Token::Name(n)) => {
                self.peek_at(1) == Some(&Token::LParen)
                    && !matches!(
                        n.as_str(),
                        "node" | "text" | "comment" | "processing-instruction"
                    )
            }
            _ => false,
        }
    }

    fn path(&mut self) -> Result<Expr, SyntaxError> {
        if self.at_primary() {
            let primary = self.primary()?;
            let predicates = self.predicates()?;
            let mut steps = Vec::new();
            if matches!(self.peek(), Some(Token::Slash | Token::DoubleSlash)) {
                self.relative_steps(&mut steps, true)?;
            }
            if predicates.is_empty() && steps.is_empty() {
                return Ok(primary);
            }
            return Ok(Expr::Filter {
                primary: Box::new(primary),
                predicates,
                steps,
            });
        }
        let mut steps = Vec::new();
        let absolute = match self.peek() {
            Some(Token::Slash) => {
                self.at += 1;
                if self.starts_step() {
                    self.relative_steps(&mut steps, false)?;
                }
                true
            }
            Some(Token::DoubleSlash) => {
                self.relative_steps(&mut steps, true)?;
                true
            }
            _ => {
                self.relative_steps(&mut steps, false)?;
                false
            }
        };
        Ok(Expr::Path { absolute, steps })
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Some(
                Token::Name(_)
                    | Token::PrefixStar(_)
                    | Token::Star
                    | Token::At
                    | Token::Dot
                    | Token::DoubleDot
            )
        )
    }

    /// Steps separated by `/` or `//`; `separated`: a separator comes first.
    fn relative_steps(
        &mut self,
        steps: &mut Vec<Step>,
        separated: bool,
    ) -> Result<(), SyntaxError> {
        let mut need_separator = separated;
        loop {
            if need_separator {
                match self.peek() {
                    Some(Token::Slash) => self.at += 1,
                    Some(Token::DoubleSlash) => {
                        self.at += 1;
                        steps.push(Step {
                            axis: Axis::DescendantOrSelf,
                            test: NodeTest::Node,
                            predicates: Vec::new(),
                        });
                    }
                    _ => return Ok(()),
                }
            }
            steps.push(self.step()?);
            need_separator = true;
        }
    }

    fn step(&mut self) -> Result<Step, SyntaxError> {
        if self.eat(&Token::Dot) {
            return Ok(Step {
                axis: Axis::SelfAxis,
                test: NodeTest::Node,
                predicates: Vec::new(),
            });
        }
        if self.eat(&Token::DoubleDot) {
            return Ok(Step {
                axis: Axis::Parent,
                test: NodeTest::Node,
                predicates: Vec::new(),
            });
        }
        let mut axis = Axis::Child;
        if self.eat(&Token::At) {
            axis = Axis::Attribute;
        } else if let (Some(Token::Name(n)), Some(Token::DoubleColon)) =
            (self.peek(), self.peek_at(1))
        {
            axis = Axis::named(n).ok_or_else(|| self.fail(&format!("unknown axis {n:?}")))?;
            self.at += 2;
        }
        let test = match self.peek().cloned() {
            Some(Token::Star) => {
                self.at += 1;
                NodeTest::Any { prefix: None }
            }
            Some(Token::PrefixStar(p)) => {
                self.at += 1;
                NodeTest::Any { prefix: Some(p) }
            }
            Some(Token::Name(n)) => {
                self.at += 1;
                if self.peek() == Some(&Token::LParen) {
                    self.at += 1;
                    let test = match n.as_str() {
                        "node" => NodeTest::Node,
                        "text" => NodeTest::Text,
                        "comment" => NodeTest::Comment,
                        "processing-instruction" => {
                            let target = match self.peek().cloned() {
                                Some(Token::Literal(l)) => {
                                    self.at += 1;
                                    Some(l)
                                }
                                _ => None,
                            };
                            NodeTest::ProcessingInstruction(target)
                        }
                        other => return Err(self.fail(&format!("{other}() is not a node test"))),
                    };
                    self.expect(&Token::RParen, "`)`")?;
                    test
                } else {
                    match n.split_once(':') {
                        Some((prefix, local)) => NodeTest::Name {
                            prefix: prefix.to_string(),
                            local: local.to_string(),
                        },
                        None => NodeTest::Name {
                            prefix: String::new(),
                            local: n,
                        },
                    }
                }
            }
            _ => return Err(self.fail("expected a step")),
        };
        Ok(Step {
            axis,
            test,
            predicates: self.predicates()?,
        })
    }

    fn predicates(&mut self) -> Result<Vec<Expr>, SyntaxError> {
        let mut out = Vec::new();
        while self.eat(&Token::LBracket) {
            out.push(self.or()?);
            self.expect(&Token::RBracket, "`]`")?;
        }
        Ok(out)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        match self.peek().cloned() {
            Some(Token::Literal(s)) => {
                self.at += 1;
                Ok(Expr::Literal(s))
            }
            Some(Token::Number(n)) => {
                self.at += 1;
                Ok(Expr::Number(n))
            }
            Some(Token::Variable(v)) => Err(self.fail(&format!("variable ${v} is not defined"))),
            Some(Token::LParen) => {
                self.at += 1;
                let e = self.or()?;
                self.expect(&Token::RParen, "`)`")?;
                Ok(e)
            }
            Some(Token::Name(name)) => {
                self.at += 2;
                let mut args = Vec::new();
                if !self.eat(&Token::RParen) {
                    loop {
                        args.push(self.or()?);
                        if self.eat(&Token::RParen) {
                            break;
                        }
                        self.expect(&Token::Comma, "`,` or `)`")?;
                    }
                }
                Ok(Expr::Call(name, args))
            }
            _ => Err(self.fail("expected an expression")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_names_are_told_apart() {
        // `*` after an operand multiplies; `div` after one divides; otherwise they are names.
        let e = parse("a * 2 div b").unwrap();
        assert!(matches!(e, Expr::Arith(Arith::Div, _, _)), "{e:?}");
        let e = parse("div/*").unwrap();
        let Expr::Path { steps, .. } = e else {
            panic!("a path");
        };
        assert_eq!(
            steps[0].test,
            NodeTest::Name {
                prefix: String::new(),
                local: "div".into()
            }
        );
        assert_eq!(steps[1].test, NodeTest::Any { prefix: None });
        assert!(parse("count(//a[@x='1']) > 2 and not(b)").is_ok());
        assert!(parse("/a/b[last()]/@c | ../d").is_ok());
        assert!(parse("(//a)[2]/b").is_ok());
        assert!(parse("child::*[position() mod 2 = 0]").is_ok());
        assert!(parse("p:x/p:*").is_ok());
    }

    #[test]
    fn errors_say_where() {
        let e = parse("a[").unwrap_err();
        assert_eq!(e.at, 3, "{e}");
        assert!(parse("'open").is_err());
        assert!(parse("a ? b").unwrap_err().why.contains('?'));
        assert!(parse("foo::a").unwrap_err().why.contains("foo"));
        assert!(parse("$v").is_err());
        assert!(parse(&"(".repeat(200)).is_err());
    }
}
