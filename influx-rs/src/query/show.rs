//! The schema `SHOW` statements: tag keys, tag values, field keys, series.

use super::condition::{eval_condition, time_range};
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

/// A series key and its tags.
type KeyAndTags = (Vec<u8>, BTreeMap<String, String>);

/// Tags of each series of `measurement` that passes the `WHERE` clause's tag conditions.
fn series_tags(
    engine: &Engine,
    db: &str,
    measurement: &str,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<KeyAndTags>, QueryError> {
    let (min, max) = range(s, ctx)?;
    let no_fields = |_: &str| None;
    Ok(engine
        .series_keys(db, measurement, min, max)
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
    let offset = usize::try_from(s.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    let limit = s
        .limit
        .filter(|&l| l > 0)
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    rows.into_iter().skip(offset).take(limit).collect()
}

/// `SHOW TAG KEYS`: one series per measurement, column `tagKey`.
pub(super) fn tag_keys(
    engine: &Engine,
    s: &ShowStatement,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let db = existing_database(engine, s, ctx)?;
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        let mut keys: Vec<String> = series_tags(engine, db, &m, s, ctx)?
            .into_iter()
            .flat_map(|(_, tags)| tags.into_keys())
            .collect();
        keys.sort();
        keys.dedup();
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
    let db = existing_database(engine, s, ctx)?;
    let matcher: Box<dyn Fn(&str) -> bool> = match filter {
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
    };
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        let mut pairs: Vec<(String, String)> = series_tags(engine, db, &m, s, ctx)?
            .into_iter()
            .flat_map(|(_, tags)| tags.into_iter())
            .filter(|(k, _)| matcher(k))
            .collect();
        pairs.sort();
        pairs.dedup();
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
    let db = database(&s.database, ctx)?;
    let catalog = engine.catalog();
    let info = catalog.database(db)?;
    let mut out = Vec::new();
    for m in measurements(engine, db, s)? {
        let mut fields = Vec::new();
        for rp in info.policies.keys() {
            for (name, ty) in engine.fields(db, rp, &m, i64::MIN, i64::MAX) {
                if !fields.iter().any(|(n, _)| *n == name) {
                    fields.push((name, ty));
                }
            }
        }
        fields.sort();
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
    let db = existing_database(engine, s, ctx)?;
    let mut keys = Vec::new();
    for m in measurements(engine, db, s)? {
        keys.extend(
            series_tags(engine, db, &m, s, ctx)?
                .into_iter()
                .map(|(k, _)| k),
        );
    }
    keys.sort();
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

/// `SHOW MEASUREMENT|SERIES [EXACT] CARDINALITY`: an estimate is one total (here counted
/// exactly), `EXACT` a count per measurement (series) or one count (measurements).
pub(super) fn cardinality(
    engine: &Engine,
    db: &str,
    of: influxql::CardinalityOf,
    exact: bool,
) -> Vec<Series> {
    let measurements = engine.measurements(db);
    // InfluxDB counts a series once per shard that holds it.
    let series_of = |m: &str| -> usize {
        engine
            .shards_for(db, None, i64::MIN, i64::MAX)
            .iter()
            .map(|s| s.series_of(m).len())
            .sum()
    };
    let one = |column: &str, n: usize| Series {
        name: None,
        tags: None,
        columns: vec![column.to_string()],
        values: vec![vec![n.into()]],
    };
    match (of, exact) {
        (influxql::CardinalityOf::Measurement, false) => {
            vec![one("cardinality estimation", measurements.len())]
        }
        (influxql::CardinalityOf::Series, false) => {
            // The estimate counts distinct series, whichever shards hold them.
            let distinct = measurements
                .iter()
                .map(|m| engine.series_keys(db, m, i64::MIN, i64::MAX).len())
                .sum();
            vec![one("cardinality estimation", distinct)]
        }
        (_, true) if measurements.is_empty() => Vec::new(),
        (influxql::CardinalityOf::Measurement, true) => vec![one("count", measurements.len())],
        (influxql::CardinalityOf::Series, true) => measurements
            .iter()
            .map(|m| Series {
                name: Some(m.clone()),
                tags: None,
                columns: vec!["count".into()],
                values: vec![vec![series_of(m).into()]],
            })
            .collect(),
    }
}
