//! Expressions: operators, names with their `::type`, literals, calls; and their text.

use crate::quote::{write_ident, write_string};
use std::fmt;

/// Binary operators, by increasing precedence group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `OR`
    Or,
    /// `AND`
    And,
    /// `=`
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
    EqRegex,
    /// `!~`
    NeqRegex,
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
    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            op if op.is_comparison() => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            _ => 6,
        }
    }

    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `=~`, `!~`: the operators whose result is a boolean.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::Neq
                | BinaryOp::Lt
                | BinaryOp::Lte
                | BinaryOp::Gt
                | BinaryOp::Gte
                | BinaryOp::EqRegex
                | BinaryOp::NeqRegex
        )
    }

    /// `+`, `-`, `*`, `/`, `%`: the operators over numbers.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        )
    }

    /// The operator as InfluxQL writes it (`+`, `AND`, `=~`).
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::EqRegex => "=~",
            BinaryOp::NeqRegex => "!~",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }
}

/// Expressions of the select list and the `WHERE` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `*`
    Wildcard,
    /// A field or tag name (`time` included).
    VarRef(String),
    /// `'text'`
    Str(String),
    /// `42`
    Integer(i64),
    /// `4.2`
    Float(f64),
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// `10m`, in ns.
    Duration(i64),
    /// `/re/`
    Regex(String),
    /// `now()` and other function calls.
    Call {
        /// Lower-case function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `( expr )`
    Paren(Box<Expr>),
    /// `name::type`: a field or tag name with the type it is read as (`usage::integer`,
    /// `host::tag`).
    Typed {
        /// The field or tag name.
        name: String,
        /// The type asked for.
        to: VarType,
    },
    /// `*::field` or `*::tag`: every field, or every tag.
    TypedWildcard(VarType),
}

impl Expr {
    /// A copy of the expression with the nodes `replace` gives a replacement for replaced,
    /// and the others copied with their operands, parentheses and call arguments rewritten
    /// the same way: how a query engine resolves names before it evaluates.
    pub fn rewrite(&self, replace: &mut impl FnMut(&Expr) -> Option<Expr>) -> Expr {
        if let Some(new) = replace(self) {
            return new;
        }
        match self {
            Expr::Binary { op, lhs, rhs } => Expr::Binary {
                op: *op,
                lhs: Box::new(lhs.rewrite(replace)),
                rhs: Box::new(rhs.rewrite(replace)),
            },
            Expr::Paren(inner) => Expr::Paren(Box::new(inner.rewrite(replace))),
            Expr::Call { name, args } => Expr::Call {
                name: name.clone(),
                args: args.iter().map(|a| a.rewrite(replace)).collect(),
            },
            other => other.clone(),
        }
    }
}

/// What `::` after a name asks for: a value type the field is cast to, or which of a field and
/// a tag of that name is meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// `::float`
    Float,
    /// `::integer`
    Integer,
    /// `::unsigned`
    Unsigned,
    /// `::string`
    String,
    /// `::boolean`
    Boolean,
    /// `::field`: the field, not a tag of the same name.
    Field,
    /// `::tag`: the tag, not a field of the same name.
    Tag,
}

impl VarType {
    /// Every type, in the order InfluxDB lists them in its parse errors.
    pub const ALL: [VarType; 7] = [
        VarType::Float,
        VarType::Integer,
        VarType::Unsigned,
        VarType::String,
        VarType::Boolean,
        VarType::Field,
        VarType::Tag,
    ];

    /// Its InfluxQL name.
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::Float => "float",
            VarType::Integer => "integer",
            VarType::Unsigned => "unsigned",
            VarType::String => "string",
            VarType::Boolean => "boolean",
            VarType::Field => "field",
            VarType::Tag => "tag",
        }
    }

    /// The type named `word` (any case).
    pub fn named(word: &str) -> Option<VarType> {
        VarType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(word))
    }
}

/// Writes a duration in the largest units that divide it exactly (`90m` → `90m`, `0` → `0s`).
pub fn write_duration(f: &mut fmt::Formatter<'_>, ns: i64) -> fmt::Result {
    const UNITS: [(i64, &str); 7] = [
        (604_800_000_000_000, "w"),
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "u"),
    ];
    if ns == 0 {
        return f.write_str("0s");
    }
    for (unit, suffix) in UNITS {
        if ns % unit == 0 {
            return write!(f, "{}{suffix}", ns / unit);
        }
    }
    write!(f, "{ns}ns")
}

/// Writes `/re/`, a `/` inside escaped.
/// Writes arguments separated by `, ` (a call's, `time(…)`'s).
pub(super) fn write_args(f: &mut fmt::Formatter<'_>, args: &[Expr]) -> fmt::Result {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

pub(super) fn write_regex(f: &mut fmt::Formatter<'_>, re: &str) -> fmt::Result {
    write!(f, "/{}/", re.replace('/', "\\/"))
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Wildcard => f.write_str("*"),
            Expr::VarRef(name) => write_ident(f, name),
            Expr::Str(s) => write_string(f, s),
            Expr::Integer(i) => write!(f, "{i}"),
            Expr::Float(v) => {
                // Always with a decimal point, so that it reads back as a float: Rust prints
                // whole floats, however large, as plain digits.
                let text = v.to_string();
                if v.is_finite() && !text.contains(['.', 'e', 'E']) {
                    write!(f, "{text}.0")
                } else {
                    f.write_str(&text)
                }
            }
            Expr::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Expr::Duration(ns) => write_duration(f, *ns),
            Expr::Regex(re) => write_regex(f, re),
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                write_args(f, args)?;
                f.write_str(")")
            }
            Expr::Binary { op, lhs, rhs } => write!(f, "{lhs} {} {rhs}", op.as_str()),
            Expr::Paren(e) => write!(f, "({e})"),
            Expr::Typed { name, to } => {
                write_ident(f, name)?;
                write!(f, "::{}", to.as_str())
            }
            Expr::TypedWildcard(to) => write!(f, "*::{}", to.as_str()),
        }
    }
}
