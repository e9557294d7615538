//! InfluxDB's type check of the select list: arithmetic over a string, a boolean or a tag is
//! refused before anything is read, in its words (`type error: usage::float + 'a':
//! incompatible types: float and string`), naming the innermost operation at fault with each
//! name annotated with its type.

use crate::query::QueryError;
use crate::storage::FieldType;
use influxql::{Expr, SelectStatement, VarType};
use std::collections::{BTreeMap, BTreeSet};

/// What an operand of arithmetic is, as the check names it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Float,
    Integer,
    Unsigned,
    String,
    Boolean,
    Tag,
}

impl Kind {
    fn of_field(t: FieldType) -> Kind {
        match t {
            FieldType::Float => Kind::Float,
            FieldType::Integer => Kind::Integer,
            FieldType::Unsigned => Kind::Unsigned,
            FieldType::String => Kind::String,
            FieldType::Boolean => Kind::Boolean,
        }
    }

    fn var_type(self) -> VarType {
        match self {
            Kind::Float => VarType::Float,
            Kind::Integer => VarType::Integer,
            Kind::Unsigned => VarType::Unsigned,
            Kind::String => VarType::String,
            Kind::Boolean => VarType::Boolean,
            Kind::Tag => VarType::Tag,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Float => "float",
            Kind::Integer => "integer",
            Kind::Unsigned => "unsigned",
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Tag => "tag",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Kind::Float | Kind::Integer | Kind::Unsigned)
    }
}

/// The names of a measurement the check knows: its fields' types and its tag keys.
pub(super) struct Names<'a> {
    pub(super) fields: &'a BTreeMap<String, FieldType>,
    pub(super) tags: &'a BTreeSet<String>,
}

impl Names<'_> {
    fn kind(&self, name: &str) -> Option<Kind> {
        match self.fields.get(name) {
            Some(t) => Some(Kind::of_field(*t)),
            None => self.tags.contains(name).then_some(Kind::Tag),
        }
    }
}

/// Whether the select list of `sel` holds arithmetic at all (only then is there anything to
/// check, and the names worth looking up).
pub(super) fn has_arithmetic(sel: &SelectStatement) -> bool {
    fn walk(e: &Expr) -> bool {
        match e {
            Expr::Binary { op, lhs, rhs } => op.is_arithmetic() || walk(lhs) || walk(rhs),
            Expr::Paren(inner) => walk(inner),
            Expr::Call { args, .. } => args.iter().any(walk),
            _ => false,
        }
    }
    sel.fields.iter().any(|f| walk(&f.expr))
}

/// Refuses arithmetic over a non-number in the select list of `sel`.
pub(super) fn check(sel: &SelectStatement, names: &Names<'_>) -> Result<(), QueryError> {
    for f in &sel.fields {
        kind_of(&f.expr, names)?;
    }
    Ok(())
}

/// The kind of `e` (`None`: unknown, such as a name the measurement lacks), or the error of
/// the innermost arithmetic over a non-number.
fn kind_of(e: &Expr, names: &Names<'_>) -> Result<Option<Kind>, QueryError> {
    Ok(match e {
        Expr::VarRef(n) => names.kind(n),
        Expr::Typed { name, to } => match to {
            VarType::Float => Some(Kind::Float),
            VarType::Integer => Some(Kind::Integer),
            VarType::Unsigned => Some(Kind::Unsigned),
            VarType::String => Some(Kind::String),
            VarType::Boolean => Some(Kind::Boolean),
            VarType::Tag => Some(Kind::Tag),
            VarType::Field => names.fields.get(name).map(|t| Kind::of_field(*t)),
        },
        Expr::Integer(_) => Some(Kind::Integer),
        Expr::Float(_) => Some(Kind::Float),
        Expr::Str(_) => Some(Kind::String),
        Expr::Bool(_) => Some(Kind::Boolean),
        Expr::Paren(inner) => kind_of(inner, names)?,
        Expr::Call { name, args } => {
            let mut arg = None;
            for a in args {
                let k = kind_of(a, names)?;
                arg = arg.or(k);
            }
            call_kind(name, arg)
        }
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (kind_of(lhs, names)?, kind_of(rhs, names)?);
            let arithmetic = op.is_arithmetic();
            match (l, r) {
                (Some(l), Some(r)) if arithmetic && !(l.numeric() && r.numeric()) => {
                    return Err(QueryError::Invalid(format!(
                        "type error: {}: incompatible types: {} and {}",
                        annotated(e, names),
                        l.name(),
                        r.name()
                    )));
                }
                (Some(Kind::Float), _) | (_, Some(Kind::Float)) => Some(Kind::Float),
                (Some(l), _) if arithmetic => Some(l),
                _ => None,
            }
        }
        _ => None,
    })
}

/// The kind a function answers with, given its field's.
fn call_kind(name: &str, arg: Option<Kind>) -> Option<Kind> {
    match name {
        "count" | "elapsed" => Some(Kind::Integer),
        "max"
        | "min"
        | "first"
        | "last"
        | "sum"
        | "spread"
        | "mode"
        | "top"
        | "bottom"
        | "sample"
        | "percentile"
        | "difference"
        | "non_negative_difference"
        | "cumulative_sum"
        | "distinct" => arg,
        _ => Some(Kind::Float),
    }
}

/// `e` with every known name written `name::type`, as the error shows it.
fn annotated(e: &Expr, names: &Names<'_>) -> Expr {
    match e {
        Expr::VarRef(n) => match names.kind(n) {
            Some(k) => Expr::Typed {
                name: n.clone(),
                to: k.var_type(),
            },
            None => e.clone(),
        },
        Expr::Paren(inner) => Expr::Paren(Box::new(annotated(inner, names))),
        Expr::Call { name, args } => Expr::Call {
            name: name.clone(),
            args: args.iter().map(|a| annotated(a, names)).collect(),
        },
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: Box::new(annotated(lhs, names)),
            rhs: Box::new(annotated(rhs, names)),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(q: &str) -> Result<(), QueryError> {
        let Ok(influxql::Statement::Select(sel)) = influxql::parse_statement(q) else {
            panic!("{q}");
        };
        let fields = BTreeMap::from([
            ("usage".to_string(), FieldType::Float),
            ("count".to_string(), FieldType::Integer),
            ("msg".to_string(), FieldType::String),
        ]);
        let tags = BTreeSet::from(["host".to_string()]);
        check(
            &sel,
            &Names {
                fields: &fields,
                tags: &tags,
            },
        )
    }

    #[test]
    fn arithmetic_over_non_numbers_is_refused_in_influxdbs_words() {
        let err = |q: &str| check_text(q).unwrap_err().to_string();
        assert_eq!(
            err("SELECT usage + 'a' FROM m"),
            "type error: usage::float + 'a': incompatible types: float and string"
        );
        assert_eq!(
            err("SELECT (count + host) * 2 FROM m"),
            "type error: count::integer + host::tag: incompatible types: integer and tag"
        );
        assert_eq!(
            err("SELECT mean(usage) + max(msg) FROM m"),
            "type error: mean(usage::float) + max(msg::string): incompatible types: float and string"
        );
        assert!(check_text("SELECT usage * 2 + count, usage + nope, msg FROM m").is_ok());
    }
}
