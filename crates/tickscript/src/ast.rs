//! The syntax tree of a TICKscript, and its printing back to TICKscript.

use crate::lexer::Pos;
use std::fmt;

/// A whole script.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// Statements in order.
    pub statements: Vec<Statement>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `dbrp "db"."rp"`
    Dbrp {
        /// Database.
        db: String,
        /// Retention policy.
        rp: String,
        /// Where it starts.
        pos: Pos,
    },
    /// `var name = value`
    Var {
        /// The variable.
        name: String,
        /// Its value.
        value: Expr,
        /// Where it starts.
        pos: Pos,
    },
    /// `var name type` (a template task's variable, given a value through the API).
    Declare {
        /// The variable.
        name: String,
        /// `string`, `duration`, `int`, `float`, `lambda`, ….
        type_name: String,
        /// Where it starts.
        pos: Pos,
    },
    /// A pipeline or other expression.
    Expr(Expr),
}

/// How a chained call attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainOp {
    /// `|name()`: a new child node.
    Pipe,
    /// `.name()`: a property of the node.
    Dot,
    /// `@name()`: a user-defined function node.
    At,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

/// A binary operator, in lambda expressions (and `+` on strings or durations anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `==`
    Eq,
    /// `!=`
    Neq,
    /// `=~`
    RegexEq,
    /// `!~`
    RegexNeq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

impl BinaryOp {
    /// Binding strength; higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Neq | BinaryOp::RegexEq | BinaryOp::RegexNeq => 3,
            BinaryOp::Lt | BinaryOp::Lte | BinaryOp::Gt | BinaryOp::Gte => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
        }
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "==",
            BinaryOp::Neq => "!=",
            BinaryOp::RegexEq => "=~",
            BinaryOp::RegexNeq => "!~",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A variable or node name (`stream`, `data`).
    Ident {
        /// The name.
        name: String,
        /// Where it is.
        pos: Pos,
    },
    /// `'text'`
    Str(String),
    /// `42`
    Int(i64),
    /// `4.2`
    Float(f64),
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// `5m`: nanoseconds and the text.
    Duration(i64, String),
    /// `/re/`
    Regex(String),
    /// `*`
    Star,
    /// `"field"`
    Reference(String),
    /// `[a, 'b']`
    List(Vec<Expr>),
    /// `lambda: expr`
    Lambda(Box<Expr>),
    /// `f(args)` inside an expression (`sigma("v")`, `if(…)`).
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// Where it is.
        pos: Pos,
    },
    /// `target|name(args)`, `target.name(args)`, `target@name(args)`.
    Chain {
        /// What it is chained on.
        target: Box<Expr>,
        /// How.
        op: ChainOp,
        /// Node or property name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// Where the name is.
        pos: Pos,
    },
    /// `-x`, `!x`
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `a op b`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left side.
        lhs: Box<Expr>,
        /// Right side.
        rhs: Box<Expr>,
    },
}

impl Program {
    /// The same program with every position zeroed, to compare trees parsed from texts laid
    /// out differently.
    pub fn without_positions(&self) -> Program {
        let statements = self
            .statements
            .iter()
            .map(|s| match s {
                Statement::Dbrp { db, rp, .. } => Statement::Dbrp {
                    db: db.clone(),
                    rp: rp.clone(),
                    pos: Pos::default(),
                },
                Statement::Var { name, value, .. } => Statement::Var {
                    name: name.clone(),
                    value: value.without_positions(),
                    pos: Pos::default(),
                },
                Statement::Declare {
                    name, type_name, ..
                } => Statement::Declare {
                    name: name.clone(),
                    type_name: type_name.clone(),
                    pos: Pos::default(),
                },
                Statement::Expr(e) => Statement::Expr(e.without_positions()),
            })
            .collect();
        Program { statements }
    }
}

impl Expr {
    /// The same expression with every position zeroed.
    pub fn without_positions(&self) -> Expr {
        let all = |args: &[Expr]| args.iter().map(Expr::without_positions).collect();
        match self {
            Expr::Ident { name, .. } => Expr::Ident {
                name: name.clone(),
                pos: Pos::default(),
            },
            Expr::List(items) => Expr::List(all(items)),
            Expr::Lambda(body) => Expr::Lambda(Box::new(body.without_positions())),
            Expr::Call { name, args, .. } => Expr::Call {
                name: name.clone(),
                args: all(args),
                pos: Pos::default(),
            },
            Expr::Chain {
                target,
                op,
                name,
                args,
                ..
            } => Expr::Chain {
                target: Box::new(target.without_positions()),
                op: *op,
                name: name.clone(),
                args: all(args),
                pos: Pos::default(),
            },
            Expr::Unary { op, expr } => Expr::Unary {
                op: *op,
                expr: Box::new(expr.without_positions()),
            },
            Expr::Binary { op, lhs, rhs } => Expr::Binary {
                op: *op,
                lhs: Box::new(lhs.without_positions()),
                rhs: Box::new(rhs.without_positions()),
            },
            other => other.clone(),
        }
    }
}

fn write_args(f: &mut fmt::Formatter<'_>, args: &[Expr]) -> fmt::Result {
    f.write_str("(")?;
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{a}")?;
    }
    f.write_str(")")
}

fn write_operand(
    f: &mut fmt::Formatter<'_>,
    e: &Expr,
    parent: BinaryOp,
    right: bool,
) -> fmt::Result {
    let needs_parens = match e {
        Expr::Binary { op, .. } => {
            op.precedence() < parent.precedence()
                || (right && op.precedence() == parent.precedence())
        }
        // `a * *` would read as a multiplication missing its operand.
        Expr::Star => true,
        _ => false,
    };
    if needs_parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

/// A text no TICKscript literal can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// Ends with a backslash (which would escape a closing `'`) and holds `'''` (which would
    /// close a triple-quoted string).
    #[error(
        "{0:?} cannot be written as a TICKscript string: it ends with a backslash and holds '''"
    )]
    String(String),
    /// Holds a newline, or ends with a backslash (which would escape the closing `"`).
    #[error(
        "{0:?} cannot be a TICKscript field reference: it holds a newline or ends with a backslash"
    )]
    Reference(String),
}

/// `text` as a TICKscript string literal that reads back as exactly `text`: the one way to
/// put a value into a generated script.
///
/// Kapacitor's lexer unescapes only `\'` in `'…'` and nothing in `'''…'''`, so a text with a
/// final backslash goes between triple quotes.
///
/// ```
/// assert_eq!(tickscript::quote_string("it's").unwrap(), r"'it\'s'");
/// assert_eq!(tickscript::quote_string(r"C:\").unwrap(), r"'''C:\'''");
/// assert!(tickscript::quote_string(r"''' and \").is_err());
/// ```
pub fn quote_string(text: &str) -> Result<String, QuoteError> {
    if !text.ends_with('\\') {
        return Ok(format!("'{}'", text.replace('\'', "\\'")));
    }
    if text.contains("'''") {
        return Err(QuoteError::String(text.to_string()));
    }
    Ok(format!("'''{text}'''"))
}

/// `name` as a TICKscript field or tag reference (`"name"`) that reads back as `name`.
///
/// ```
/// assert_eq!(tickscript::quote_reference(r#"a "b""#).unwrap(), r#""a \"b\"""#);
/// ```
pub fn quote_reference(name: &str) -> Result<String, QuoteError> {
    if name.contains('\n') || name.ends_with('\\') {
        return Err(QuoteError::Reference(name.to_string()));
    }
    Ok(format!("\"{}\"", name.replace('"', "\\\"")))
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ident { name, .. } => f.write_str(name),
            // The one text no literal can hold is printed as near as it gets.
            Expr::Str(s) => match quote_string(s) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => write!(f, "'{}'", s.replace('\'', "\\'")),
            },
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => {
                // Always with a decimal point, so it reads back as a float.
                let text = x.to_string();
                if text.contains('.') {
                    f.write_str(&text)
                } else {
                    write!(f, "{text}.0")
                }
            }
            Expr::Bool(true) => f.write_str("TRUE"),
            Expr::Bool(false) => f.write_str("FALSE"),
            Expr::Duration(_, text) => f.write_str(text),
            Expr::Regex(r) => write!(f, "/{}/", r.replace('/', "\\/")),
            Expr::Star => f.write_str("*"),
            Expr::Reference(r) => match quote_reference(r) {
                Ok(quoted) => f.write_str(&quoted),
                Err(_) => write!(f, "\"{}\"", r.replace('"', "\\\"")),
            },
            Expr::List(items) => {
                f.write_str("[")?;
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str("]")
            }
            Expr::Lambda(body) => write!(f, "lambda: {body}"),
            Expr::Call { name, args, .. } => {
                f.write_str(name)?;
                write_args(f, args)
            }
            Expr::Chain {
                target,
                op,
                name,
                args,
                ..
            } => {
                let sep = match op {
                    ChainOp::Pipe => "\n    |",
                    ChainOp::Dot => "\n        .",
                    ChainOp::At => "\n    @",
                };
                write!(f, "{target}{sep}{name}")?;
                write_args(f, args)
            }
            Expr::Unary { op, expr } => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                })?;
                match **expr {
                    Expr::Binary { .. } => write!(f, "({expr})"),
                    _ => write!(f, "{expr}"),
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                write_operand(f, lhs, *op, false)?;
                write!(f, " {} ", op.as_str())?;
                write_operand(f, rhs, *op, true)
            }
        }
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::Dbrp { db, rp, .. } => write!(f, "dbrp \"{db}\".\"{rp}\""),
            Statement::Var { name, value, .. } => write!(f, "var {name} = {value}"),
            Statement::Declare {
                name, type_name, ..
            } => write!(f, "var {name} {type_name}"),
            Statement::Expr(e) => write!(f, "{e}"),
        }
    }
}

/// Prints the script. Newlines do not end TICKscript statements, so only scripts whose
/// expression statements are pipelines (chains on a name) are sure to read back the same; a bare
/// `-1` or `*` statement would join the one before it, as it would in the original.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.statements {
            writeln!(f, "{s}\n")?;
        }
        Ok(())
    }
}
