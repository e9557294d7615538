//! `SHOW STATS` and `SHOW DIAGNOSTICS`, shaped as InfluxDB 1.x shapes them: one series per
//! module (and per tagged instance of it, such as a database or a shard), its columns the
//! counter names in order, one row of values. `FOR 'module'` keeps one module.
//!
//! Statistics come from the storage engine (`database`, `shard`), the query registry
//! (`queryExecutor`) and, through [`StatsSource`], from the layers above the query engine
//! (the HTTP handlers' `httpd`, the subscriptions' `subscriber`).

use super::{QueryContext, QueryError, Series};
use crate::storage::Engine;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::SystemTime;

/// One module's counters (or facts), as a series of `SHOW STATS` shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleStats {
    /// The module (`httpd`, `database`, …).
    pub module: String,
    /// What instance of the module (`database=…`); empty when there is one.
    pub tags: BTreeMap<String, String>,
    /// Counter name → value.
    pub values: BTreeMap<String, serde_json::Value>,
}

impl ModuleStats {
    /// A module's counters from `(name, value)` pairs.
    pub fn new(
        module: &str,
        tags: &[(&str, String)],
        values: impl IntoIterator<Item = (&'static str, serde_json::Value)>,
    ) -> ModuleStats {
        ModuleStats {
            module: module.to_string(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    fn into_series(self) -> Series {
        let (columns, row): (Vec<String>, Vec<serde_json::Value>) = self.values.into_iter().unzip();
        Series {
            name: Some(self.module),
            tags: (!self.tags.is_empty()).then_some(self.tags),
            columns,
            values: vec![row],
        }
    }
}

/// Counters kept outside the query engine, shown by `SHOW STATS`.
pub trait StatsSource: std::fmt::Debug + Send + Sync {
    /// The current values, per module.
    fn stats(&self) -> Vec<ModuleStats>;
}

/// When the process started, for `SHOW DIAGNOSTICS`' uptime: set by the first call (the
/// daemon calls [`mark_started`] as it starts).
static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Records the process start (first call wins).
pub fn mark_started() {
    STARTED.get_or_init(SystemTime::now);
}

/// Answers `SHOW STATS [FOR 'module']`.
pub(super) fn stats(
    engine: &Engine,
    module: Option<&str>,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let mut all = Vec::new();
    for db in engine.catalog().databases.keys() {
        all.push(ModuleStats::new(
            "database",
            &[("database", db.clone())],
            [
                ("numMeasurements", engine.measurements(db).len().into()),
                ("numSeries", engine.series_count(db).into()),
            ],
        ));
    }
    for shard in engine.shard_stats() {
        all.push(ModuleStats::new(
            "shard",
            &[
                ("database", shard.database),
                ("id", shard.id.to_string()),
                ("retentionPolicy", shard.policy),
            ],
            [
                ("cacheBytes", shard.cache_bytes.into()),
                ("diskBytes", shard.disk_bytes.into()),
                ("numMeasurements", shard.measurements.into()),
            ],
        ));
    }
    if let Some(running) = &ctx.running {
        all.push(ModuleStats::new(
            "queryExecutor",
            &[],
            [("queriesActive", running.list().len().into())],
        ));
    }
    for source in &ctx.stats {
        all.extend(source.stats());
    }
    Ok(shown(all, module))
}

/// Answers `SHOW DIAGNOSTICS [FOR 'module']`.
pub(super) fn diagnostics(
    engine: &Engine,
    module: Option<&str>,
) -> Result<Vec<Series>, QueryError> {
    let now = SystemTime::now();
    let started = *STARTED.get_or_init(|| now);
    let uptime = now.duration_since(started).unwrap_or_default();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let clock = |t: SystemTime| {
        let ns = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        serde_json::Value::from(super::rfc3339(ns))
    };
    let uptime_ns = i64::try_from(uptime.as_nanos()).unwrap_or(i64::MAX);
    let all = vec![
        ModuleStats::new(
            "build",
            &[],
            [
                ("Branch", "".into()),
                ("Build Time", "".into()),
                ("Commit", "".into()),
                ("Version", crate::COMPAT_VERSION.into()),
            ],
        ),
        ModuleStats::new(
            "config-data",
            &[],
            [(
                "dir",
                engine.data_dir().to_string_lossy().into_owned().into(),
            )],
        ),
        ModuleStats::new("network", &[], [("hostname", hostname.into())]),
        ModuleStats::new(
            "runtime",
            &[],
            [
                ("GOARCH", std::env::consts::ARCH.into()),
                (
                    "GOMAXPROCS",
                    std::thread::available_parallelism()
                        .map_or(1, |n| n.get())
                        .into(),
                ),
                ("GOOS", std::env::consts::OS.into()),
                (
                    "version",
                    concat!("influx-rs ", env!("CARGO_PKG_VERSION")).into(),
                ),
            ],
        ),
        ModuleStats::new(
            "system",
            &[],
            [
                ("PID", std::process::id().into()),
                ("currentTime", clock(now)),
                ("started", clock(started)),
                ("uptime", crate::meta::go_duration(uptime_ns).into()),
            ],
        ),
    ];
    Ok(shown(all, module))
}

/// The modules shown: all, or those named `module`, as series ordered by module then tags.
fn shown(mut all: Vec<ModuleStats>, module: Option<&str>) -> Vec<Series> {
    all.retain(|m| module.is_none_or(|wanted| m.module == wanted));
    all.sort_by(|a, b| (&a.module, &a.tags).cmp(&(&b.module, &b.tags)));
    all.into_iter().map(ModuleStats::into_series).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_become_series_with_sorted_columns() {
        let all = vec![
            ModuleStats::new("write", &[], [("pointReq", 5.into()), ("a", 1.into())]),
            ModuleStats::new("database", &[("database", "b".into())], [("n", 2.into())]),
            ModuleStats::new("database", &[("database", "a".into())], [("n", 1.into())]),
        ];
        let series = shown(all.clone(), None);
        let names: Vec<_> = series.iter().map(|s| s.name.clone().unwrap()).collect();
        assert_eq!(names, ["database", "database", "write"]);
        assert_eq!(
            series[0].tags,
            Some([("database".to_string(), "a".to_string())].into())
        );
        assert_eq!(series[2].columns, ["a", "pointReq"]);
        assert_eq!(
            series[2].values,
            vec![vec![serde_json::json!(1), serde_json::json!(5)]]
        );
        assert_eq!(series[2].tags, None);
        assert_eq!(shown(all.clone(), Some("write")).len(), 1);
        assert!(shown(all, Some("nothing")).is_empty());
    }
}
