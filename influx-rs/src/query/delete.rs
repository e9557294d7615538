//! `DELETE`, `DROP SERIES` and `DROP MEASUREMENT`: which series and time range a statement
//! names, checked as InfluxDB 1.x checks it, then handed to the engine's delete.

use super::condition::{eval_condition, mentions_time, time_range};
use super::{QueryContext, QueryError};
use crate::storage::Engine;
use influxql::{Expr, Measurement, MeasurementName};
use std::collections::BTreeMap;

/// What a deleting statement names.
pub(super) enum Target<'a> {
    /// `DELETE [FROM …] [WHERE tags and time]`.
    Points {
        sources: &'a [Measurement],
        condition: Option<&'a Expr>,
    },
    /// `DROP SERIES [FROM …] [WHERE tags]`.
    Series {
        sources: &'a [Measurement],
        condition: Option<&'a Expr>,
    },
    /// `DROP MEASUREMENT name`.
    Measurement(&'a str),
}

/// Runs a deleting statement against the request's database.
pub(super) fn delete(
    engine: &Engine,
    target: Target<'_>,
    ctx: &QueryContext,
) -> Result<(), QueryError> {
    let db = ctx.database.as_deref().unwrap_or("");
    engine.catalog().database(db)?;
    let (sources, condition, range) = match target {
        Target::Measurement(name) => {
            let only = |m: &str| m == name;
            engine.delete(db, &only, &|_| true, (i64::MIN, i64::MAX))?;
            return Ok(());
        }
        Target::Series { sources, condition } => {
            if condition.is_some_and(mentions_time) {
                return Err(QueryError::Invalid(
                    "DROP SERIES doesn't support time in WHERE clause".into(),
                ));
            }
            (sources, condition, (i64::MIN, i64::MAX))
        }
        Target::Points { sources, condition } => {
            let range = match condition {
                Some(c) => time_range(c, ctx.now)?,
                None => (i64::MIN, i64::MAX),
            };
            (sources, condition, range)
        }
    };
    let regexes = sources
        .iter()
        .map(|s| match &s.name {
            MeasurementName::Name(n) => Ok(Matcher::Name(n.as_str())),
            MeasurementName::Regex(re) => regex::Regex::new(re)
                .map(Matcher::Regex)
                .map_err(|e| QueryError::Invalid(e.to_string())),
            MeasurementName::Source => Err(QueryError::TargetAsSource),
            MeasurementName::Subquery(_) => Err(QueryError::MisplacedSubquery),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let measurement = |m: &str| {
        regexes.is_empty()
            || regexes.iter().any(|r| match r {
                Matcher::Name(n) => *n == m,
                Matcher::Regex(re) => re.is_match(m),
            })
    };
    if let Some(c) = condition {
        reject_fields(engine, db, c, &measurement)?;
    }
    let no_fields = |_: &str| None;
    let series = |key: &[u8]| {
        condition.is_none_or(|c| {
            let tags: BTreeMap<String, String> = lineproto::series_key::split(key)
                .map(|k| k.tags.into_iter().collect())
                .unwrap_or_default();
            eval_condition(c, &tags, &no_fields)
        })
    };
    engine.delete(db, &measurement, &series, range)?;
    Ok(())
}

/// A `FROM` source: a name or a regex.
enum Matcher<'a> {
    Name(&'a str),
    Regex(regex::Regex),
}

/// InfluxDB deletes by tags and time only: a condition naming a field of one of the
/// measurements (and no tag of that name) is refused.
fn reject_fields(
    engine: &Engine,
    db: &str,
    condition: &Expr,
    measurement: &dyn Fn(&str) -> bool,
) -> Result<(), QueryError> {
    let mut refs = super::select::var_refs(condition);
    refs.retain(|r| !r.eq_ignore_ascii_case("time"));
    if refs.is_empty() {
        return Ok(());
    }
    for shard in engine.shards_for(db, None, i64::MIN, i64::MAX) {
        for m in shard.measurements().iter().filter(|m| measurement(m)) {
            let fields = shard.fields_of(m);
            let tags = engine.tag_keys(db, m, i64::MIN, i64::MAX);
            let field_named = refs
                .iter()
                .any(|r| !tags.contains(r) && fields.iter().any(|(f, _)| f == r));
            // 1.x refuses it from the first shard that holds such a measurement, naming it.
            if field_named {
                return Err(QueryError::Invalid(format!(
                    "shard {}: fields not supported in WHERE clause during deletion",
                    shard.id
                )));
            }
        }
    }
    Ok(())
}
