//! Arithmetic in the select list (`100 - mean("usage_idle")`, `"used" / 1073741824`,
//! `a + b`, `round(mean(v))`, `pow(v, 2)`): an expression over the columns the query computes
//! anyway (fields of a raw query, calls of an aggregate one), number literals and InfluxDB's
//! row-wise math functions, evaluated per row with InfluxDB's rules.

use super::QueryError;
use crate::storage::Value;
use influxql::{BinaryOp, Expr, VarType};

/// An expression over the row's computed cells.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Math {
    /// The cell at this index.
    Cell(usize),
    /// A number literal.
    Const(serde_json::Value),
    /// `lhs op rhs`.
    Binary(BinaryOp, Box<Math>, Box<Math>),
    /// A math function (`abs`, `round`, `pow`, …) of its arguments.
    Func(MathFn, Vec<Math>),
    /// `name::type`: the value read as the type ([`super::cast`]).
    Cast(VarType, Box<Math>),
}

/// InfluxDB's row-wise math functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum MathFn {
    Abs,
    Ceil,
    Floor,
    Round,
    Sqrt,
    Exp,
    Ln,
    Log2,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    /// `pow(x, y)`.
    Pow,
    /// `log(x, base)`.
    Log,
    /// `atan2(y, x)`.
    Atan2,
}

impl MathFn {
    /// The math function called `name`, if it is one.
    pub(super) fn named(name: &str) -> Option<MathFn> {
        Some(match name {
            "abs" => MathFn::Abs,
            "ceil" => MathFn::Ceil,
            "floor" => MathFn::Floor,
            "round" => MathFn::Round,
            "sqrt" => MathFn::Sqrt,
            "exp" => MathFn::Exp,
            "ln" => MathFn::Ln,
            "log2" => MathFn::Log2,
            "log10" => MathFn::Log10,
            "sin" => MathFn::Sin,
            "cos" => MathFn::Cos,
            "tan" => MathFn::Tan,
            "asin" => MathFn::Asin,
            "acos" => MathFn::Acos,
            "atan" => MathFn::Atan,
            "pow" => MathFn::Pow,
            "log" => MathFn::Log,
            "atan2" => MathFn::Atan2,
            _ => return None,
        })
    }

    fn arity(self) -> usize {
        match self {
            MathFn::Pow | MathFn::Log | MathFn::Atan2 => 2,
            _ => 1,
        }
    }

    /// The function of number arguments: integers stay integers for `abs`, `ceil`, `floor`
    /// and `round`; everything else is a float, null when not finite (as InfluxDB shows NaN).
    fn apply(self, args: &[serde_json::Value]) -> serde_json::Value {
        use serde_json::Value as J;
        let Some(J::Number(x)) = args.first() else {
            return J::Null;
        };
        if !x.is_f64() {
            if let Some(i) = x.as_i64() {
                match self {
                    MathFn::Abs => return i.wrapping_abs().into(),
                    MathFn::Ceil | MathFn::Floor | MathFn::Round => return i.into(),
                    _ => {}
                }
            }
        }
        let Some(x) = x.as_f64() else {
            return J::Null;
        };
        let y = || args.get(1).and_then(J::as_f64);
        let r = match self {
            MathFn::Abs => x.abs(),
            MathFn::Ceil => x.ceil(),
            MathFn::Floor => x.floor(),
            MathFn::Round => x.round(),
            MathFn::Sqrt => x.sqrt(),
            MathFn::Exp => x.exp(),
            MathFn::Ln => x.ln(),
            MathFn::Log2 => x.log2(),
            MathFn::Log10 => x.log10(),
            MathFn::Sin => x.sin(),
            MathFn::Cos => x.cos(),
            MathFn::Tan => x.tan(),
            MathFn::Asin => x.asin(),
            MathFn::Acos => x.acos(),
            MathFn::Atan => x.atan(),
            MathFn::Pow => match y() {
                Some(y) => x.powf(y),
                None => return J::Null,
            },
            MathFn::Log => match y() {
                Some(b) => x.ln() / b.ln(),
                None => return J::Null,
            },
            MathFn::Atan2 => match y() {
                Some(y) => x.atan2(y),
                None => return J::Null,
            },
        };
        if r.is_finite() {
            float(r)
        } else {
            J::Null
        }
    }
}

/// Whether `e` is arithmetic or a math function (not a bare aggregate call or field).
pub(super) fn is_math(e: &Expr) -> bool {
    match e {
        Expr::Binary { .. } | Expr::Integer(_) | Expr::Float(_) => true,
        Expr::Call { name, .. } => MathFn::named(name).is_some(),
        Expr::Paren(inner) => is_math(inner),
        _ => false,
    }
}

/// Whether `e` holds a call of an aggregate, selector or transformation anywhere (math
/// functions only pass on what their arguments hold).
pub(super) fn has_call(e: &Expr) -> bool {
    match e {
        Expr::Call { name, args } if MathFn::named(name).is_some() => args.iter().any(has_call),
        Expr::Call { .. } => true,
        Expr::Binary { lhs, rhs, .. } => has_call(lhs) || has_call(rhs),
        Expr::Paren(inner) => has_call(inner),
        _ => false,
    }
}

/// Whether `e` refers to a field outside any aggregate call.
pub(super) fn has_bare_ref(e: &Expr) -> bool {
    match e {
        Expr::VarRef(_) | Expr::Wildcard | Expr::Typed { .. } | Expr::TypedWildcard(_) => true,
        Expr::Call { name, args } if MathFn::named(name).is_some() => args.iter().any(has_bare_ref),
        Expr::Binary { lhs, rhs, .. } => has_bare_ref(lhs) || has_bare_ref(rhs),
        Expr::Paren(inner) => has_bare_ref(inner),
        _ => false,
    }
}

/// `f(*)` for a math function `f`: the function's name, to apply to every field.
pub(super) fn wildcard_call(e: &Expr) -> Option<&str> {
    match e {
        Expr::Call { name, args }
            if MathFn::named(name).is_some() && matches!(args.as_slice(), [Expr::Wildcard]) =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// The column name InfluxDB gives an expression without alias: the names of its calls and
/// fields joined by `_` (`mean(a) * 2` → `mean`, `a + b` → `a_b`).
pub(super) fn name(e: &Expr) -> String {
    match e {
        Expr::VarRef(n) | Expr::Typed { name: n, .. } => n.clone(),
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
        // A duration is no number: InfluxDB answers null where it is used (`usage + 5ms`).
        Expr::Duration(_) => Math::Const(serde_json::Value::Null),
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
        Expr::Call { name, args } => match MathFn::named(name) {
            Some(f) if args.len() == f.arity() => Math::Func(
                f,
                args.iter()
                    .map(|a| build(a, leaf))
                    .collect::<Result<_, _>>()?,
            ),
            Some(f) => {
                return Err(QueryError::Invalid(format!(
                    "invalid number of arguments for {name}, expected {}, got {}",
                    f.arity(),
                    args.len()
                )))
            }
            None => Math::Cell(leaf(e)?),
        },
        Expr::VarRef(_) => Math::Cell(leaf(e)?),
        Expr::Typed { to, .. } => Math::Cast(*to, Box::new(Math::Cell(leaf(e)?))),
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
            Math::Cast(to, inner) => {
                let value = match inner.eval(cells) {
                    J::Number(n) if n.is_f64() => n.as_f64().map(Value::Float),
                    J::Number(n) => n
                        .as_i64()
                        .map(Value::Integer)
                        .or_else(|| n.as_u64().map(Value::Unsigned)),
                    J::String(s) => Some(Value::String(s)),
                    J::Bool(b) => Some(Value::Boolean(b)),
                    _ => None,
                };
                value
                    .and_then(|v| super::cast::cast(&v, *to))
                    .map_or(J::Null, |v| v.to_json())
            }
            Math::Func(f, args) => {
                let args: Vec<J> = args.iter().map(|a| a.eval(cells)).collect();
                f.apply(&args)
            }
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
        let round = build(&field_expr("round(mean(v)) + 1"), &mut |_| Ok(0)).unwrap();
        // A float stays a float (written `-2` in the answer).
        assert_eq!(
            round.eval(&[serde_json::json!(-2.5)]),
            serde_json::json!(-2.0)
        );
        let ln = build(&field_expr("ln(v)"), &mut |_| Ok(0)).unwrap();
        assert_eq!(ln.eval(&[serde_json::json!(-1)]), serde_json::Value::Null);
        let abs = build(&field_expr("abs(v)"), &mut |_| Ok(0)).unwrap();
        assert_eq!(abs.eval(&[serde_json::json!(-7)]), serde_json::json!(7));
        assert_eq!(
            build(&field_expr("pow(v)"), &mut |_| Ok(0))
                .unwrap_err()
                .to_string(),
            "invalid number of arguments for pow, expected 2, got 1"
        );
        assert_eq!(
            build(&field_expr("a * 2"), &mut |_| Ok(0))
                .unwrap()
                .eval(&[serde_json::json!(21)]),
            serde_json::json!(42)
        );
    }
}
