//! The schema `SHOW` statements: tag keys, tag values, field keys, series.

use super::condition::{
    eval_condition, postings_only, series_filters, tag_values_wanted, time_range,
};
use super::{database, QueryContext, QueryError, Series};
use crate::storage::Engine;
use influxql::{MeasurementName, ShowStatement, TagKeyFilter};
use std::collections::BTreeMap;

/// The statement's database (`ON db` or the request's `db`), which must exist.
fn existing_database<'a>(
    engine: &Engine,
    s: &'a ShowStatement,
    ctx: &'a QueryContext,
) -> Result<&'a str, QueryError> {
    let db = database(&s.database, ctx)?;
    engine.catalog().database(db)?;
    Ok(db)
}

/// The measurements a `SHOW … FROM` names (all when there is no `FROM`), sorted.
fn measurements(engine: &Engine, db: &str, s: &ShowStatement) -> Result<Vec<String>, QueryError> {
    let all = engine.measurements(db);
    if s.sources.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for source in &s.sources {
        match &source.name {
            MeasurementName::Name(n) => {
                if all.contains(n) {
                    out.push(n.clone());
                }
            }
            MeasurementName::Regex(re) => {
                let re = regex::Regex::new(re).map_err(|e| QueryError::Invalid(e.to_string()))?;
                out.extend(all.iter().filter(|m| re.is_match(m)).cloned());
            }
            MeasurementName::Source => return Err(QueryError::TargetAsSource),
            MeasurementName::Subquery(_) => return Err(QueryError::MisplacedSubquery),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The time range of the `WHERE` clause: selects shards, not points (as InfluxDB).
fn range(s: &ShowStatement, ctx: &QueryContext) -> Result<(i64, i64), QueryError> {
    match &s.condition {
        Some(c) => time_range(c, ctx.now),
        None => Ok((i64::MIN, i64::MAX)),
    }
}

/// `SHOW MEASUREMENTS WHERE …`, as 1.x's in-memory index answers it: `AND` and `OR` intersect
/// and join; a comparison of a tag keeps the measurements that have that tag and whose values
/// of it include one that matches (`=`, `=~`), or include none that matches (`!=`, `!~`). A
/// measurement without the tag is never kept. Time cannot be compared.
pub(super) fn measurements_where(
    engine: &Engine,
    db: &str,
    names: Vec<String>,
    condition: &influxql::Expr,
) -> Result<Vec<String>, QueryError> {
    use influxql::{BinaryOp, Expr};
    if super::condition::mentions_time(condition) {
        return Err(QueryError::Invalid(
            "SHOW MEASUREMENTS doesn't support time in WHERE clause".into(),
        ));
    }
    super::condition::check_tag_comparisons(condition)?;
    match condition {
        Expr::Paren(inner) => measurements_where(engine, db, names, inner),
        Expr::Binary { op, lhs, rhs } if matches!(op, BinaryOp::And | BinaryOp::Or) => {
            let left: std::collections::BTreeSet<String> =
                measurements_where(engine, db, names.clone(), lhs)?
                    .into_iter()
                    .collect();
            let right: std::collections::BTreeSet<String> =
                measurements_where(engine, db, names.clone(), rhs)?
                    .into_iter()
                    .collect();
            Ok(names
                .into_iter()
                .filter(|n| match op {
                    BinaryOp::And => left.contains(n) && right.contains(n),
                    _ => left.contains(n) || right.contains(n),
                })
                .collect())
        }
        Expr::Binary { op, lhs, rhs } => {
            let (Expr::VarRef(key), wanted) = (&**lhs, &**rhs) else {
                return Ok(names);
            };
            let matches: Box<dyn Fn(&str) -> bool> = match (op, wanted) {
                (BinaryOp::Eq | BinaryOp::Neq, Expr::Str(v)) => {
                    let v = v.clone();
                    Box::new(move |t: &str| t == v)
                }
                (BinaryOp::EqRegex | BinaryOp::NeqRegex, Expr::Regex(r)) => {
                    let re =
                        regex::Regex::new(r).map_err(|e| QueryError::Invalid(e.to_string()))?;
                    Box::new(move |t: &str| re.is_match(t))
                }
                _ => return Ok(names),
            };
            let positive = matches!(op, BinaryOp::Eq | BinaryOp::EqRegex);
            // The index's values of the tag: no series key is read.
            Ok(names
                .into_iter()
                .filter(|m| {
                    let values = engine.tag_values(db, m, (i64::MIN, i64::MAX), &|k| k == key, &[]);
                    let matched = values.iter().any(|(_, v)| matches(v));
                    !values.is_empty() && matched == positive
                })
                .collect())
        }
        _ => Ok(names),
    }
}

/// A series key and its tags.
type KeyAndTags = (Vec<u8>, BTreeMap<String, String>);

/// Tags of each series of `measurement` that passes the `WHERE` clause's tag conditions:
/// the series its `tag = 'v'` conjuncts pick are looked up in the indexes' postings, then
/// each is checked against the whole clause.
fn series_tags(
    engine: &Engine,
    db: &str,
    measurement: &str,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<KeyAndTags>, QueryError> {
    let (min, max) = range(s, ctx)?;
    let wanted: Vec<(String, Vec<String>)> = match &s.condition {
        Some(c) => {
            let tag_keys = engine.tag_keys(db, measurement, min, max);
            series_filters(c, &tag_keys)
                .into_iter()
                .filter_map(|f| tag_values_wanted(f, &tag_keys))
                .collect()
        }
        None => Vec::new(),
    };
    let no_fields = |_: &str| None;
    Ok(engine
        .series_keys(db, measurement, min, max, &wanted)
        .into_iter()
        .filter_map(|key| {
            let tags: BTreeMap<String, String> = lineproto::series_key::split(&key)?
                .tags
                .into_iter()
                .collect();
            let keep = s
                .condition
                .as_ref()
                .is_none_or(|c| eval_condition(c, &tags, &no_fields));
            keep.then(|| (key.to_vec(), tags))
        })
        .collect())
}

fn paged<T>(rows: Vec<T>, s: &ShowStatement) -> Vec<T> {
    let (skip, take) = super::select::skip_and_take(s.offset, s.limit);
    rows.into_iter().skip(skip).take(take).collect()
}

/// Whether a tag key is one a `WITH KEY …` clause picks.
type KeyMatcher = Box<dyn Fn(&str) -> bool>;

/// Which tag keys a `WITH KEY …` clause picks.
fn key_matcher(filter: &TagKeyFilter) -> Result<KeyMatcher, QueryError> {
    Ok(match filter {
        TagKeyFilter::Eq(k) => {
            let k = k.clone();
            Box::new(move |key| key == k)
        }
        TagKeyFilter::Neq(k) => {
            let k = k.clone();
            Box::new(move |key| key != k)
        }
        TagKeyFilter::In(keys) => {
            let keys = keys.clone();
            Box::new(move |key| keys.iter().any(|k| k == key))
        }
        TagKeyFilter::Regex(re) | TagKeyFilter::NotRegex(re) => {
            let re = regex::Regex::new(re).map_err(|e| QueryError::Invalid(e.to_string()))?;
            let want = matches!(filter, TagKeyFilter::Regex(_));
            Box::new(move |key| re.is_match(key) == want)
        }
    })
}

/// `SHOW TAG KEYS`: one series per measurement, column `tagKey`.
pub(super) fn tag_keys(
    engine: &Engine,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    if let Some(c) = &s.condition {
        super::condition::check_tag_comparisons(c)?;
    }
    let db = existing_database(engine, s, ctx)?;
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        let keys: Vec<String> = match &s.condition {
            // Without WHERE the index's tag keys answer: no series key is read.
            None => engine
                .tag_keys(db, &m, i64::MIN, i64::MAX)
                .into_iter()
                .collect(),
            Some(_) => {
                let mut keys: Vec<String> = series_tags(engine, db, &m, s, ctx)?
                    .into_iter()
                    .flat_map(|(_, tags)| tags.into_keys())
                    .collect();
                keys.sort();
                keys.dedup();
                keys
            }
        };
        let values: Vec<Vec<serde_json::Value>> =
            paged(keys, s).into_iter().map(|k| vec![k.into()]).collect();
        if !values.is_empty() {
            out.push(Series {
                name: Some(m),
                tags: None,
                columns: vec!["tagKey".into()],
                values,
            });
        }
    }
    Ok(out)
}

/// `SHOW TAG VALUES … WITH KEY …`: one series per measurement, columns `key`, `value`.
pub(super) fn tag_values(
    engine: &Engine,
    s: &ShowStatement,
    filter: &TagKeyFilter,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    if let Some(c) = &s.condition {
        super::condition::check_tag_comparisons(c)?;
    }
    let db = existing_database(engine, s, ctx)?;
    let matcher = key_matcher(filter)?;
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        let range = range(s, ctx)?;
        // Without WHERE, or with one the postings answer alone, the index's value maps
        // answer: no series key is read (or only those of the series the postings pick).
        let by_postings = match &s.condition {
            None => Some(Vec::new()),
            Some(c) => postings_only(c, &engine.tag_keys(db, &m, range.0, range.1)),
        };
        let pairs: Vec<(String, String)> = match by_postings {
            Some(wanted) => engine
                .tag_values(db, &m, range, &*matcher, &wanted)
                .into_iter()
                .collect(),
            None => {
                let mut pairs: Vec<(String, String)> = series_tags(engine, db, &m, s, ctx)?
                    .into_iter()
                    .flat_map(|(_, tags)| tags.into_iter())
                    .filter(|(k, _)| matcher(k))
                    .collect();
                pairs.sort();
                pairs.dedup();
                pairs
            }
        };
        let values: Vec<Vec<serde_json::Value>> = paged(pairs, s)
            .into_iter()
            .map(|(k, v)| vec![k.into(), v.into()])
            .collect();
        if !values.is_empty() {
            out.push(Series {
                name: Some(m),
                tags: None,
                columns: vec!["key".into(), "value".into()],
                values,
            });
        }
    }
    Ok(out)
}

/// `SHOW FIELD KEYS`: one series per measurement, columns `fieldKey`, `fieldType`.
pub(super) fn field_keys(
    engine: &Engine,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    // `FROM db..m` names the database too (1.x reads SHOW FIELD KEYS as a select from it).
    let on = s.database.clone().or_else(|| {
        s.sources
            .iter()
            .find_map(|m| m.database.clone())
            .filter(|d| !d.is_empty())
    });
    let db = database(&on, ctx)?;
    let catalog = engine.catalog();
    let info = catalog.database(db)?;
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        // The first retention policy to list a field gives its type.
        let mut by_name: std::collections::BTreeMap<String, _> = Default::default();
        for rp in info.policies.keys() {
            for (name, ty) in engine.fields(db, rp, &m, i64::MIN, i64::MAX) {
                by_name.entry(name).or_insert(ty);
            }
        }
        let fields: Vec<_> = by_name.into_iter().collect();
        let values: Vec<Vec<serde_json::Value>> = paged(fields, s)
            .into_iter()
            .map(|(n, ty)| vec![n.into(), ty.name().into()])
            .collect();
        if !values.is_empty() {
            out.push(Series {
                name: Some(m),
                tags: None,
                columns: vec!["fieldKey".into(), "fieldType".into()],
                values,
            });
        }
    }
    Ok(out)
}

/// `SHOW SERIES`: one unnamed series, column `key`, every series key sorted.
pub(super) fn series(
    engine: &Engine,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    if let Some(c) = &s.condition {
        super::condition::check_tag_comparisons(c)?;
    }
    let db = existing_database(engine, s, ctx)?;
    // By measurement name, then by key within one (as 1.x: `cpu\,x` comes before `cpu=y`).
    // With LIMIT, the measurements after the page are not searched, and where the postings
    // answer the WHERE alone only the page's keys are copied.
    let (skip, take) = super::select::skip_and_take(s.offset, s.limit);
    let needed = skip.saturating_add(take);
    let range = range(s, ctx)?;
    let mut keys = Vec::new();
    for m in measurements(engine, db, s)? {
        if keys.len() >= needed {
            break;
        }
        let by_postings = match (&s.condition, needed) {
            (_, usize::MAX) => None,
            (None, _) => Some(Vec::new()),
            (Some(c), _) => postings_only(c, &engine.tag_keys(db, &m, range.0, range.1)),
        };
        let of_m: Vec<Vec<u8>> = match by_postings {
            Some(wanted) => engine
                .first_series_keys(db, &m, range, &wanted, needed - keys.len())
                .iter()
                .map(|k| k.to_vec())
                .collect(),
            None => {
                let mut of_m: Vec<_> = series_tags(engine, db, &m, s, ctx)?
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                of_m.sort();
                of_m
            }
        };
        keys.extend(of_m);
    }
    let values: Vec<Vec<serde_json::Value>> = paged(keys, s)
        .into_iter()
        .map(|k| vec![String::from_utf8_lossy(&k).into_owned().into()])
        .collect();
    if values.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Series {
        name: None,
        tags: None,
        columns: vec!["key".into()],
        values,
    }])
}

/// `SHOW SUBSCRIPTIONS`: one series per database that has any.
pub(super) fn subscriptions(catalog: &crate::meta::Catalog) -> Vec<Series> {
    catalog
        .databases
        .iter()
        .filter_map(|(db, info)| {
            let values: Vec<Vec<serde_json::Value>> = info
                .policies
                .iter()
                .flat_map(|(rp, p)| {
                    p.subscriptions.iter().map(move |s| {
                        vec![
                            rp.clone().into(),
                            s.name.clone().into(),
                            s.mode.to_string().into(),
                            s.destinations.clone().into(),
                        ]
                    })
                })
                .collect();
            (!values.is_empty()).then(|| Series {
                name: Some(db.clone()),
                tags: None,
                columns: ["retention_policy", "name", "mode", "destinations"]
                    .map(String::from)
                    .to_vec(),
                values,
            })
        })
        .collect()
}

fn shard_row(
    loc: &crate::meta::ShardLocation,
    catalog: &crate::meta::Catalog,
    with_group: bool,
) -> Vec<serde_json::Value> {
    let duration = catalog
        .databases
        .get(&loc.database)
        .and_then(|d| d.policies.get(&loc.policy))
        .map_or(0, |p| p.duration);
    let g = loc.group;
    let mut row: Vec<serde_json::Value> = vec![
        g.id.into(),
        loc.database.clone().into(),
        loc.policy.clone().into(),
    ];
    if with_group {
        row.push(g.id.into());
    }
    row.push(super::rfc3339(g.start).into());
    row.push(super::rfc3339(g.end).into());
    row.push(super::rfc3339(g.end.saturating_add(duration)).into());
    row
}

/// `SHOW SHARDS`: one series per database (one shard per group here), owners empty.
pub(super) fn shards(catalog: &crate::meta::Catalog) -> Vec<Series> {
    let all = catalog.shards();
    catalog
        .databases
        .keys()
        .map(|db| Series {
            name: Some(db.clone()),
            tags: None,
            columns: [
                "id",
                "database",
                "retention_policy",
                "shard_group",
                "start_time",
                "end_time",
                "expiry_time",
                "owners",
            ]
            .map(String::from)
            .to_vec(),
            values: all
                .iter()
                .filter(|l| l.database == *db)
                .map(|l| {
                    let mut row = shard_row(l, catalog, true);
                    row.push("".into());
                    row
                })
                .collect(),
        })
        .collect()
}

/// `SHOW SHARD GROUPS`: one series of every group.
pub(super) fn shard_groups(catalog: &crate::meta::Catalog) -> Vec<Series> {
    let mut all = catalog.shards();
    all.sort_by_key(|l| l.group.id);
    vec![Series {
        name: Some("shard groups".into()),
        tags: None,
        columns: [
            "id",
            "database",
            "retention_policy",
            "start_time",
            "end_time",
            "expiry_time",
        ]
        .map(String::from)
        .to_vec(),
        values: all.iter().map(|l| shard_row(l, catalog, false)).collect(),
    }]
}

/// `SHOW … CARDINALITY`. Without `FROM` or `WHERE`, measurements and series are counted as
/// InfluxDB 1.x does: the estimate is one total (counted exactly here), `EXACT` a count per
/// measurement (series) or one count (measurements). Otherwise, and for tag keys, tag values
/// and field keys, 1.x runs the query as `SELECT count(distinct(…)) … GROUP BY _name`: a
/// count per measurement of what the matching `SHOW` lists.
pub(super) fn cardinality(
    engine: &Engine,
    db: &str,
    of: &influxql::CardinalityOf,
    exact: bool,
    scope: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    use influxql::CardinalityOf;
    // A tag compared with `<`/`>` matches nothing in 1.x's index: no count, and no error.
    if scope
        .condition
        .as_ref()
        .is_some_and(|c| super::condition::check_tag_comparisons(c).is_err())
    {
        return Ok(Vec::new());
    }
    // 1.x counts these from its index, which knows no time: a time condition is refused, in
    // its words (which say EXACT for the estimated forms too).
    let refused = match of {
        CardinalityOf::Measurement => Some("MEASUREMENT EXACT"),
        CardinalityOf::Series => Some("SERIES EXACT"),
        CardinalityOf::TagKey => Some("TAG KEY EXACT"),
        CardinalityOf::FieldKey => Some("FIELD KEY"),
        CardinalityOf::TagValues(_) => None,
    };
    if let Some(what) = refused.filter(|_| {
        scope
            .condition
            .as_ref()
            .is_some_and(super::condition::mentions_time)
    }) {
        return Err(QueryError::Invalid(format!(
            "SHOW {what} CARDINALITY doesn't support time in WHERE clause"
        )));
    }
    let whole_database = scope.sources.is_empty() && scope.condition.is_none();
    let per_measurement = |listed: Vec<Series>, count: &dyn Fn(&Series) -> usize| {
        listed
            .iter()
            .map(|s| counted(s.name.clone(), "count", count(s)))
            .filter(|s| s.values[0][0] != 0)
            .collect::<Vec<_>>()
    };
    let unlimited = ShowStatement {
        limit: None,
        offset: None,
        ..scope.clone()
    };
    Ok(match of {
        CardinalityOf::Measurement | CardinalityOf::Series if whole_database => {
            whole_database_cardinality(engine, db, of, exact)
        }
        CardinalityOf::Measurement => {
            let keys = series_by_measurement(&series(engine, &unlimited, ctx)?);
            vec![counted(None, "count", keys.len())]
        }
        CardinalityOf::Series => {
            // As without FROM or WHERE, a series counts once per shard that holds it.
            let shards = engine.shards_for(db, None, i64::MIN, i64::MAX);
            series_by_measurement(&series(engine, &unlimited, ctx)?)
                .into_iter()
                .map(|(m, keys)| {
                    let n = keys
                        .iter()
                        .map(|k| shards.iter().filter(|s| s.has_series(k.as_bytes())).count())
                        .sum();
                    counted(Some(m), "count", n)
                })
                .collect()
        }
        CardinalityOf::TagKey => {
            per_measurement(tag_keys(engine, &unlimited, ctx)?, &|s| s.values.len())
        }
        CardinalityOf::FieldKey => {
            per_measurement(field_keys(engine, &unlimited, ctx)?, &|s| s.values.len())
        }
        CardinalityOf::TagValues(key) if scope.condition.is_none() => {
            // Counted from the index's value maps, without listing the values.
            let matcher = key_matcher(key)?;
            let mut out = Vec::new();
            for m in measurements(engine, db, scope)? {
                let n = engine.tag_value_count(db, &m, &*matcher, exact);
                if n > 0 {
                    out.push(counted(Some(m), "count", n));
                }
            }
            out
        }
        CardinalityOf::TagValues(key) => {
            per_measurement(tag_values(engine, &unlimited, key, ctx)?, &|s| {
                let mut values: Vec<&serde_json::Value> =
                    s.values.iter().filter_map(|row| row.get(1)).collect();
                values.sort_by_key(|v| v.to_string());
                values.dedup();
                values.len()
            })
        }
    })
}

/// One row of one count.
fn counted(name: Option<String>, column: &str, n: usize) -> Series {
    Series {
        name,
        tags: None,
        columns: vec![column.to_string()],
        values: vec![vec![n.into()]],
    }
}

/// The series keys `SHOW SERIES` listed, per measurement.
fn series_by_measurement(listed: &[Series]) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in listed
        .iter()
        .flat_map(|s| &s.values)
        .filter_map(|row| row.first()?.as_str())
    {
        if let Some(k) = lineproto::series_key::split(key.as_bytes()) {
            keys.entry(k.measurement).or_default().push(key.to_string());
        }
    }
    keys
}

/// `SHOW MEASUREMENT|SERIES [EXACT] CARDINALITY [ON db]` over the whole database.
fn whole_database_cardinality(
    engine: &Engine,
    db: &str,
    of: &influxql::CardinalityOf,
    exact: bool,
) -> Vec<Series> {
    let measurements = engine.measurements(db);
    // InfluxDB counts a series once per shard that holds it.
    let series_of = |m: &str| -> usize {
        engine
            .shards_for(db, None, i64::MIN, i64::MAX)
            .iter()
            .map(|s| usize::try_from(s.series_count_of(m)).unwrap_or(usize::MAX))
            .sum()
    };
    let series = matches!(of, influxql::CardinalityOf::Series);
    match (series, exact) {
        (false, false) => vec![counted(None, "cardinality estimation", measurements.len())],
        (true, false) => {
            // Estimated as 1.x estimates it: the shards' HyperLogLog sketches merged, so a
            // series several shards hold counts once. Exact below 10,000 series or so; within
            // about 1 % above.
            let estimate = usize::try_from(engine.series_estimate(db)).unwrap_or(usize::MAX);
            vec![counted(None, "cardinality estimation", estimate)]
        }
        (_, true) if measurements.is_empty() => Vec::new(),
        (false, true) => vec![counted(None, "count", measurements.len())],
        (true, true) => measurements
            .iter()
            .map(|m| counted(Some(m.clone()), "count", series_of(m)))
            .collect(),
    }
}
