//! One function of an aggregate select list as it is computed: an aggregate or selector over a
//! field, possibly transformed (`derivative(mean(v))`), or a transformation of the raw field.

use crate::query::aggregates::Function;
use crate::query::transforms::Transform;
use crate::query::QueryError;
use influxql::Expr;

/// One function of the select list: an aggregate over a field, possibly transformed, or a
/// transformation of the raw field (`function` is `None`).
pub(super) struct Call {
    pub(super) function: Option<Function>,
    pub(super) field: usize,
    pub(super) transform: Option<Transform>,
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
    let (function, field) = match inner {
        Expr::Call { name, args } => {
            let (function, field) = Function::parse(name, args)?;
            (Some(function), field)
        }
        Expr::VarRef(v) => (None, v.clone()),
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
        },
        field,
    ))
}
