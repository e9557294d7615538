//! `name::type`: reading a field as a type, as InfluxDB 1.x does. Floats, integers and
//! unsigned integers are cast into each other (a float to an integer is truncated toward zero,
//! as Go's conversions do); strings and booleans are read only as themselves. A field that
//! cannot be read as the type asked for is not read at all: it gives no values, not nulls.

use crate::storage::{FieldType, Value};
use influxql::{Expr, VarType};
use std::collections::BTreeMap;

/// Whether a field of type `field` can be read as `to`.
pub(super) fn can_read_as(field: FieldType, to: VarType) -> bool {
    use FieldType as F;
    match to {
        VarType::Field => true,
        VarType::Tag => false,
        VarType::Float | VarType::Integer | VarType::Unsigned => {
            matches!(field, F::Float | F::Integer | F::Unsigned)
        }
        VarType::String => field == F::String,
        VarType::Boolean => field == F::Boolean,
    }
}

/// `v` read as `to`; `None` when it cannot be.
pub(super) fn cast(v: &Value, to: VarType) -> Option<Value> {
    Some(match (to, v) {
        (VarType::Field, v) => v.clone(),
        (VarType::Float, Value::Float(f)) => Value::Float(*f),
        (VarType::Float, Value::Integer(i)) => Value::Float(*i as f64),
        (VarType::Float, Value::Unsigned(u)) => Value::Float(*u as f64),
        (VarType::Integer, Value::Float(f)) => Value::Integer(*f as i64),
        (VarType::Integer, Value::Integer(i)) => Value::Integer(*i),
        (VarType::Integer, Value::Unsigned(u)) => Value::Integer(*u as i64),
        // Go's conversion: a negative float goes through int64 (-4.5 → 2^64 - 4).
        (VarType::Unsigned, Value::Float(f)) if *f < 0.0 => Value::Unsigned(*f as i64 as u64),
        (VarType::Unsigned, Value::Float(f)) => Value::Unsigned(*f as u64),
        (VarType::Unsigned, Value::Integer(i)) => Value::Unsigned(*i as u64),
        (VarType::Unsigned, Value::Unsigned(u)) => Value::Unsigned(*u),
        (VarType::String, Value::String(s)) => Value::String(s.clone()),
        (VarType::Boolean, Value::Boolean(b)) => Value::Boolean(*b),
        _ => return None,
    })
}

/// A field name no field has (line protocol refuses empty keys): what a function reads for
/// `name::tag` or a field that cannot be read as the type asked for — no values.
const NO_FIELD: &str = "";

/// `e` with each `name::type` argument of its function calls resolved against the fields'
/// `types` (empty when unknown): `::field` and a cast to the field's own type are the plain
/// name; `::tag` and an impossible cast read nothing; a cast that converts stays, for the
/// function to take the values converted.
pub(super) fn resolve_in_calls(e: &Expr, types: &BTreeMap<String, FieldType>) -> Expr {
    e.rewrite(&mut |e| match e {
        Expr::Call { name, args } => Some(Expr::Call {
            name: name.clone(),
            args: args.iter().map(|a| resolve_argument(a, types)).collect(),
        }),
        _ => None,
    })
}

/// One argument of a call, as [`resolve_in_calls`] says.
fn resolve_argument(a: &Expr, types: &BTreeMap<String, FieldType>) -> Expr {
    match a {
        Expr::Typed { name, to } => match (*to, types.get(name)) {
            (VarType::Field, _) => Expr::VarRef(name.clone()),
            (VarType::Tag, _) => Expr::VarRef(NO_FIELD.into()),
            (to, Some(&t)) if is_own_type(t, to) => Expr::VarRef(name.clone()),
            (to, Some(&t)) if !can_read_as(t, to) => Expr::VarRef(NO_FIELD.into()),
            (_, None) if !types.is_empty() => Expr::VarRef(NO_FIELD.into()),
            _ => a.clone(),
        },
        Expr::TypedWildcard(VarType::Field) => Expr::Wildcard,
        Expr::TypedWildcard(_) => Expr::VarRef(NO_FIELD.into()),
        other => resolve_in_calls(other, types),
    }
}

/// Whether reading a field of type `field` as `to` leaves its values as they are.
fn is_own_type(field: FieldType, to: VarType) -> bool {
    matches!(
        (field, to),
        (FieldType::Float, VarType::Float)
            | (FieldType::Integer, VarType::Integer)
            | (FieldType::Unsigned, VarType::Unsigned)
            | (FieldType::String, VarType::String)
            | (FieldType::Boolean, VarType::Boolean)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_cast_into_each_other_and_the_rest_only_to_themselves() {
        assert_eq!(
            cast(&Value::Float(3.9), VarType::Integer),
            Some(Value::Integer(3))
        );
        assert_eq!(
            cast(&Value::Float(-3.9), VarType::Integer),
            Some(Value::Integer(-3))
        );
        assert_eq!(
            cast(&Value::Integer(10), VarType::Float),
            Some(Value::Float(10.0))
        );
        assert_eq!(
            cast(&Value::Float(1.5), VarType::Unsigned),
            Some(Value::Unsigned(1))
        );
        assert_eq!(
            cast(&Value::Float(-4.5), VarType::Unsigned),
            Some(Value::Unsigned(u64::MAX - 3))
        );
        assert_eq!(cast(&Value::Float(1.5), VarType::String), None);
        assert_eq!(cast(&Value::String("x".into()), VarType::Float), None);
        assert_eq!(
            cast(&Value::Boolean(true), VarType::Boolean),
            Some(Value::Boolean(true))
        );
        assert_eq!(cast(&Value::Boolean(true), VarType::Integer), None);
        assert!(can_read_as(FieldType::Integer, VarType::Float));
        assert!(!can_read_as(FieldType::Float, VarType::String));
        assert!(!can_read_as(FieldType::Float, VarType::Tag));
    }

    #[test]
    fn typed_arguments_of_functions_resolve_against_the_fields() {
        let types: BTreeMap<String, FieldType> = [
            ("f".to_string(), FieldType::Float),
            ("s".to_string(), FieldType::String),
        ]
        .into();
        let resolve = |q: &str| {
            let influxql::Statement::Select(sel) = influxql::parse_statement(q).unwrap() else {
                unreachable!("a SELECT")
            };
            resolve_in_calls(&sel.fields[0].expr, &types).to_string()
        };
        assert_eq!(resolve("SELECT mean(f::float) FROM m"), "mean(f)");
        assert_eq!(resolve("SELECT mean(f::field) FROM m"), "mean(f)");
        assert_eq!(
            resolve("SELECT derivative(mean(f::float), 1s) FROM m"),
            "derivative(mean(f), 1s)"
        );
        // Nothing to read: a tag, a string read as a number, a field that is not there.
        for q in [
            "SELECT mean(h::tag) FROM m",
            "SELECT mean(s::float) FROM m",
            "SELECT mean(x::float) FROM m",
        ] {
            assert_eq!(resolve(q), r#"mean("")"#, "{q}");
        }
        // Converting: the function takes the values converted.
        assert_eq!(resolve("SELECT sum(f::integer) FROM m"), "sum(f::integer)");
    }

    proptest! {
        /// What `can_read_as` allows, `cast` does; and what it refuses, `cast` refuses.
        #[test]
        fn cast_agrees_with_can_read_as(f in any::<f64>(), i in any::<i64>(), s in ".{0,4}", b in any::<bool>(), t in 0usize..7) {
            let to = VarType::ALL[t];
            for (v, ty) in [
                (Value::Float(f), FieldType::Float),
                (Value::Integer(i), FieldType::Integer),
                (Value::Unsigned(i as u64), FieldType::Unsigned),
                (Value::String(s.clone()), FieldType::String),
                (Value::Boolean(b), FieldType::Boolean),
            ] {
                prop_assert_eq!(cast(&v, to).is_some(), can_read_as(ty, to) && to != VarType::Tag);
            }
        }
    }
}
