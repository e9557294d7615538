//! One function of an aggregate select list as it is computed: an aggregate or selector over a
//! field, possibly transformed (`derivative(mean(v))`), or a transformation of the raw field.

use crate::query::aggregates::Function;
use crate::query::cast;
use crate::query::transforms::Transform;
use crate::query::QueryError;
use crate::storage::{FieldType, Value};
use influxql::{Expr, VarType};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One function of the select list: an aggregate over a field, possibly transformed, or a
/// transformation of the raw field (`function` is `None`).
pub(super) struct Call {
    pub(super) function: Option<Function>,
    pub(super) field: usize,
    pub(super) transform: Option<Transform>,
    /// `f(name::type)`: the field's values read as that type first.
    pub(super) cast: Option<VarType>,
}

impl Call {
    /// A value of the call's field as the call takes it (`None`: it takes none).
    pub(super) fn value(&self, v: Option<Value>) -> Option<Value> {
        match self.cast {
            None => v,
            Some(to) => cast::cast(&v?, to),
        }
    }

    /// The points of the call's field as the call takes them.
    pub(super) fn points<'a>(&self, points: &'a [(i64, Value)]) -> Cow<'a, [(i64, Value)]> {
        match self.cast {
            None => Cow::Borrowed(points),
            Some(to) => points
                .iter()
                .filter_map(|(t, v)| Some((*t, cast::cast(v, to)?)))
                .collect(),
        }
    }
}

/// The first argument of a call without its `::type`, and that type.
fn without_cast(args: &[Expr]) -> (Vec<Expr>, Option<VarType>) {
    match args.split_first() {
        Some((Expr::Typed { name, to }, rest)) => (
            std::iter::once(Expr::VarRef(name.clone()))
                .chain(rest.iter().cloned())
                .collect(),
            Some(*to),
        ),
        _ => (args.to_vec(), None),
    }
}

/// A call of the select list as a [`Call`] (its field index still to set) and the field it reads.
pub(super) fn parse_call(
    name: &str,
    args: &[Expr],
    whole: &Expr,
) -> Result<(Call, String), QueryError> {
    let (transform, inner) = match Transform::parse(name, args)? {
        Some((t, inner)) => (Some(t), inner),
        None => (None, whole),
    };
    let (function, field, cast) = match inner {
        Expr::Call { name, args } => {
            let (args, cast) = without_cast(args);
            let (function, field) = Function::parse(name, &args)?;
            (Some(function), field, cast)
        }
        Expr::VarRef(v) => (None, v.clone(), None),
        // `sample(*, n)` beside other functions: every field, expanded by the select list.
        Expr::Wildcard => (None, "*".to_string(), None),
        Expr::Typed { name, to } => (None, name.clone(), Some(*to)),
        other => {
            return Err(QueryError::Invalid(format!(
                "unsupported call argument {other}"
            )))
        }
    };
    Ok((
        Call {
            function,
            field: 0,
            transform,
            cast,
        },
        field,
    ))
}

/// The field types `function(*)` expands to, as InfluxDB 1.x: numbers; booleans too for
/// `min`/`max`; strings and booleans too for functions that only pick or count points.
pub(super) fn wildcard_types(function: &str) -> Vec<FieldType> {
    let mut types = vec![FieldType::Float, FieldType::Integer, FieldType::Unsigned];
    match function {
        "count" | "first" | "last" | "distinct" | "elapsed" | "mode" | "sample" => {
            types.extend([FieldType::String, FieldType::Boolean])
        }
        "min" | "max" => types.push(FieldType::Boolean),
        "holt_winters" | "holt_winters_with_fit" => types.retain(|t| *t != FieldType::Unsigned),
        _ => {}
    }
    types
}

/// InfluxDB's refusal of a function over a field of a type it does not take (`sum` of
/// strings, `spread` of booleans), in its words: the Go iterator it could not build on. A
/// field read `::as` a type is taken as that type.
pub(super) fn check_field_type(
    function: &str,
    field: &str,
    cast: bool,
    types: &BTreeMap<String, FieldType>,
) -> Result<(), QueryError> {
    let Some(t) = types.get(field) else {
        return Ok(());
    };
    if cast || wildcard_types(function).contains(t) {
        return Ok(());
    }
    let go_name = match function {
        "cumulative_sum" => "cumulative sum",
        "moving_average" => "moving average",
        "non_negative_derivative" => "derivative",
        "non_negative_difference" => "difference",
        other => other,
    };
    let go_type = match t {
        FieldType::Float => "float",
        FieldType::Integer => "integer",
        FieldType::Unsigned => "unsigned",
        FieldType::String => "string",
        FieldType::Boolean => "boolean",
    };
    Err(QueryError::Invalid(format!(
        "unsupported {go_name} iterator type: *query.{go_type}InterruptIterator"
    )))
}
