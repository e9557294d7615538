//! One function of an aggregate select list as it is computed: an aggregate or selector over a
//! field, possibly transformed (`derivative(mean(v))`), or a transformation of the raw field.

use crate::query::aggregates::Function;
use crate::query::cast;
use crate::query::transforms::Transform;
use crate::query::QueryError;
use crate::storage::Value;
use influxql::{Expr, VarType};
use std::borrow::Cow;

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
