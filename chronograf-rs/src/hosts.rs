//! The host list as Chronograf builds it: one multi-statement query for the hosts, their CPU,
//! load and whether they are up (uptime still rising), and the apps their series belong to.

use crate::layouts::Layout;
use crate::source::{Source, SourceError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One row of the hosts page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// The `host` tag.
    pub name: String,
    /// Mean `usage_user` of `cpu-total` over the last 10 minutes.
    pub cpu: Option<f64>,
    /// Mean `load1` over the last 10 minutes.
    pub load: Option<f64>,
    /// Uptime still rising in the last interval.
    pub up: bool,
    /// Apps with series for this host.
    pub apps: Vec<String>,
}

/// The statements of the host list, for `interval` (Chronograf's telegraf system interval).
pub fn host_list_query(interval: &str) -> String {
    [
        "SHOW TAG VALUES WITH KEY = \"host\" WHERE TIME > now() - 10m".to_string(),
        "SELECT mean(\"usage_user\") FROM \"cpu\" WHERE \"cpu\" = 'cpu-total' AND time > now() - 10m GROUP BY host".to_string(),
        "SELECT mean(\"load1\") FROM \"system\" WHERE time > now() - 10m GROUP BY host".to_string(),
        format!("SELECT non_negative_derivative(mean(uptime)) AS deltaUptime FROM \"system\" WHERE time > now() - {interval} * 10 GROUP BY host, time({interval}) fill(0)"),
    ]
    .join("; ")
}

/// `host` → last value of column 1 of each series of statement `i`.
fn by_host(answer: &serde_json::Value, i: usize) -> BTreeMap<String, f64> {
    answer["results"][i]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let host = s["tags"]["host"].as_str()?.to_string();
            let value = s["values"].as_array()?.last()?.get(1)?.as_f64()?;
            Some((host, value))
        })
        .collect()
}

/// The `SHOW SERIES` regex matching every layout's measurement (each once, escaped).
pub fn measurements_regex(layouts: &[Layout]) -> String {
    let measurements: BTreeSet<&str> = layouts.iter().map(|l| l.measurement.as_str()).collect();
    let parts: Vec<String> = measurements
        .into_iter()
        .map(|m| format!("^{}$", influxql::escape_regex(m)))
        .collect();
    format!("/{}/", parts.join("|"))
}

/// The apps of the layouts showing `measurement`.
fn apps_of<'a>(layouts: &'a [Layout], measurement: &'a str) -> impl Iterator<Item = &'a str> {
    layouts
        .iter()
        .filter(move |l| l.measurement == measurement)
        .map(|l| l.app.as_str())
}

/// Hosts, sorted by name.
pub async fn list(
    source: &Source,
    interval: &str,
    layouts: &[Layout],
) -> Result<Vec<Host>, SourceError> {
    let (db, rp) = (&source.config.telegraf, &source.config.default_rp);
    let answer = source.query(db, rp, &host_list_query(interval)).await?;
    let names: BTreeSet<String> = answer["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|row| row.get(1)?.as_str().map(str::to_string))
        .collect();
    let (cpu, load, uptime) = (
        by_host(&answer, 1),
        by_host(&answer, 2),
        by_host(&answer, 3),
    );
    let series = source
        .query(
            db,
            rp,
            &format!(
                "SHOW SERIES FROM {} WHERE time > now() - 10m",
                measurements_regex(layouts)
            ),
        )
        .await?;
    let mut apps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in series["results"][0]["series"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(key) = row.get(0).and_then(|k| k.as_str()) else {
            continue;
        };
        let mut parts = key.split(',');
        let measurement = parts.next().unwrap_or("");
        let host = parts.find_map(|p| p.strip_prefix("host="));
        if let Some(host) = host {
            let entry = apps.entry(host.to_string()).or_default();
            entry.extend(apps_of(layouts, measurement).map(str::to_string));
        }
    }
    Ok(names
        .into_iter()
        .map(|name| Host {
            cpu: cpu.get(&name).map(|v| (v * 100.0).round() / 100.0),
            load: load.get(&name).map(|v| (v * 100.0).round() / 100.0),
            up: uptime.get(&name).is_some_and(|d| *d > 0.0),
            apps: apps
                .get(&name)
                .map(|a| a.iter().cloned().collect())
                .unwrap_or_default(),
            name,
        })
        .collect())
}

/// The measurements with series for `host` (which layouts its page shows).
pub async fn measurements_of(
    source: &Source,
    host: &str,
    layouts: &[Layout],
) -> Result<BTreeSet<String>, SourceError> {
    let q = format!(
        "SHOW SERIES FROM {} WHERE host = {}",
        measurements_regex(layouts),
        influxql::quote_string(host)
    );
    let answer = source
        .query(&source.config.telegraf, &source.config.default_rp, &q)
        .await?;
    Ok(answer["results"][0]["series"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| row.get(0)?.as_str()?.split(',').next().map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_chronograf_sends() {
        let q = host_list_query("1m0s");
        assert!(
            q.ends_with("WHERE time > now() - 1m0s * 10 GROUP BY host, time(1m0s) fill(0)"),
            "{q}"
        );
        let layouts: Vec<Layout> = crate::layouts::built_in()
            .into_iter()
            .filter(|l| ["cpu", "system"].contains(&l.measurement.as_str()))
            .collect();
        let mut dotted = layouts[0].clone();
        dotted.measurement = "a.b".into();
        let both = [layouts.clone(), layouts, vec![dotted]].concat();
        assert_eq!(measurements_regex(&both), "/^a\\.b$|^cpu$|^system$/");
    }
}
