//! Arithmetic in the select list (`100 - mean("usage_idle")`, `"used" / 1073741824`,
//! `a + b`): an expression over the columns the query computes anyway (fields of a raw query,
//! calls of an aggregate one) and number literals, evaluated per row with InfluxDB's rules.

use super::QueryError;
use influxql::{BinaryOp, Expr};

/// An expression over the row's computed cells.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Math {
    /// The cell at this index.
    Cell(usize),
    /// A number literal.
    Const(serde_json::Value),
    /// `lhs op rhs`.
    Binary(BinaryOp, Box<Math>, Box<Math>),
}

/// Whether `e` is arithmetic (not a bare call or field).
pub(super) fn is_math(e: &Expr) -> bool {
    match e {
        Expr::Binary { .. } | Expr::Integer(_) | Expr::Float(_) => true,
        Expr::Paren(inner) => is_math(inner),
        _ => false,
    }
}

/// Whether `e` holds a function call anywhere.
pub(super) fn has_call(e: &Expr) -> bool {
    match e {
        Expr::Call { .. } => true,
        Expr::Binary { lhs, rhs, .. } => has_call(lhs) || has_call(rhs),
        Expr::Paren(inner) => has_call(inner),
        _ => false,
    }
}

/// Whether `e` refers to a field outside any call.
pub(super) fn has_bare_ref(e: &Expr) -> bool {
    match e {
        Expr::VarRef(_) => true,
        Expr::Binary { lhs, rhs, .. } => has_bare_ref(lhs) || has_bare_ref(rhs),
        Expr::Paren(inner) => has_bare_ref(inner),
        _ => false,
    }
}

/// The column name InfluxDB gives an expression without alias: the names of its calls and
/// fields joined by `_` (`mean(a) * 2` → `mean`, `a + b` → `a_b`).
pub(super) fn name(e: &Expr) -> String {
    match e {
        Expr::VarRef(n) => n.clone(),
        Expr::Call { name, .. } => name.clone(),
        Expr::Paren(inner) => self::name(inner),
        Expr::Binary { lhs, rhs, .. } => {
            let (l, r) = (self::name(lhs), self::name(rhs));
            match (l.is_empty(), r.is_empty()) {
                (true, _) => r,
                (_, true) => l,
                _ => format!("{l}_{r}"),
            }
        }
        _ => String::new(),
    }
}

/// Builds the expression, asking `leaf` for the cell index of each call or field.
pub(super) fn build(
    e: &Expr,
    leaf: &mut dyn FnMut(&Expr) -> Result<usize, QueryError>,
) -> Result<Math, QueryError> {
    Ok(match e {
        Expr::Integer(i) => Math::Const((*i).into()),
        Expr::Float(f) => Math::Const(
            serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        ),
        Expr::Paren(inner) => build(inner, leaf)?,
        Expr::Binary { op, lhs, rhs }
            if matches!(
                op,
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
            ) =>
        {
            Math::Binary(
                *op,
                Box::new(build(lhs, leaf)?),
                Box::new(build(rhs, leaf)?),
            )
        }
        Expr::Binary { .. } => {
            return Err(QueryError::Invalid(format!(
                "invalid expression in the select list: {e}"
            )))
        }
        Expr::VarRef(_) | Expr::Call { .. } => Math::Cell(leaf(e)?),
        other => {
            return Err(QueryError::Invalid(format!(
                "invalid expression in the select list: {other}"
            )))
        }
    })
}

impl Math {
    /// The value for a row whose computed cells are `cells`: null if any operand is null or
    /// not a number; integers stay integers except in division.
    pub(super) fn eval(&self, cells: &[serde_json::Value]) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Math::Cell(i) => cells.get(*i).cloned().unwrap_or(J::Null),
            Math::Const(v) => v.clone(),
            Math::Binary(op, lhs, rhs) => {
                let (l, r) = (lhs.eval(cells), rhs.eval(cells));
                let ints = match (&l, &r) {
                    (J::Number(a), J::Number(b)) if !a.is_f64() && !b.is_f64() => {
                        a.as_i64().zip(b.as_i64())
                    }
                    _ => None,
                };
                if let Some((a, b)) = ints {
                    return match op {
                        BinaryOp::Add => a.wrapping_add(b).into(),
                        BinaryOp::Sub => a.wrapping_sub(b).into(),
                        BinaryOp::Mul => a.wrapping_mul(b).into(),
                        BinaryOp::Mod if b == 0 => 0.into(),
                        BinaryOp::Mod => a.wrapping_rem(b).into(),
                        _ if b == 0 => 0.into(),
                        _ => float(a as f64 / b as f64),
                    };
                }
                let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                    return J::Null;
                };
                match op {
                    BinaryOp::Add => float(a + b),
                    BinaryOp::Sub => float(a - b),
                    BinaryOp::Mul => float(a * b),
                    BinaryOp::Mod => float(a % b),
                    _ if b == 0.0 => float(0.0),
                    _ => float(a / b),
                }
            }
        }
    }
}

/// A float result written as the rest of the answer writes floats (`4`, not `4.0`).
fn float(f: f64) -> serde_json::Value {
    crate::storage::Value::Float(f).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_expr(text: &str) -> Expr {
        let influxql::Statement::Select(s) =
            influxql::parse_statement(&format!("SELECT {text} FROM m")).unwrap()
        else {
            panic!()
        };
        s.fields[0].expr.clone()
    }

    #[test]
    fn names_and_values() {
        let e = field_expr("100 - mean(\"usage_idle\")");
        assert_eq!(name(&e), "mean");
        let m = build(&e, &mut |_| Ok(0)).unwrap();
        assert_eq!(m.eval(&[serde_json::json!(97.5)]), serde_json::json!(2.5));
        assert_eq!(m.eval(&[serde_json::Value::Null]), serde_json::Value::Null);
        let e = field_expr("(a + b) / 2");
        assert_eq!(name(&e), "a_b");
        let mut n = 0;
        let m = build(&e, &mut |_| {
            n += 1;
            Ok(n - 1)
        })
        .unwrap();
        assert_eq!(
            m.eval(&[serde_json::json!(3), serde_json::json!(4)]),
            serde_json::json!(3.5)
        );
        assert_eq!(
            build(&field_expr("a * 2"), &mut |_| Ok(0))
                .unwrap()
                .eval(&[serde_json::json!(21)]),
            serde_json::json!(42)
        );
    }
}
