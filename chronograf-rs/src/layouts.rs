//! Canned layouts in Chronograf's layout format: which app a measurement belongs to and the
//! cells a host page draws for it. The built-in ones are the JSON files of
//! `chronograf-rs/canned/` (one per measurement the agents collect), embedded at build time;
//! Chronograf's own layout files dropped into `--canned-path` are read at start and replace a
//! built-in layout with the same `id`. A cell's query is completed for a host and a time range
//! the way Chronograf's host page does it.

use crate::time_range::TimeWindow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One query of a cell, as Chronograf's layout files write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// InfluxQL before completion (`SELECT … FROM ":db:".":rp:"."cpu"`).
    pub query: String,
    /// The y axis label Chronograf's older layouts give per query.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Tags the series are grouped by besides time (a `time(…)` here replaces the range's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groupbys: Vec<String>,
    /// More conditions, AND-ed after the host's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wheres: Vec<String>,
}

/// One axis of a cell: its bounds, label and how its numbers are written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Axis {
    /// `["min", "max"]`, empty strings for automatic.
    pub bounds: Vec<String>,
    /// The axis title.
    pub label: String,
    /// Written before every tick value.
    pub prefix: String,
    /// Written after every tick value (`%`, ` MB/s`).
    pub suffix: String,
    /// `10` (k, M, G) or `2` (Ki, Mi, Gi).
    pub base: String,
    /// `linear` or `log`.
    pub scale: String,
}

/// A colour of a single-stat or gauge cell: a threshold or the ends of the scale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CellColor {
    /// Unique within the cell.
    pub id: String,
    /// `min`, `max`, `threshold`, `text` or `background`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `#rrggbb`.
    pub hex: String,
    /// The colour's name in Chronograf's palette.
    pub name: String,
    /// The value it starts at.
    pub value: String,
}

/// One cell of a layout: a rectangle of the page's 12-column grid and what it draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Column.
    #[serde(default)]
    pub x: i32,
    /// Row.
    #[serde(default)]
    pub y: i32,
    /// Width in columns.
    #[serde(default)]
    pub w: i32,
    /// Height in rows.
    #[serde(default)]
    pub h: i32,
    /// The cell's id.
    #[serde(default)]
    pub i: String,
    /// Title.
    #[serde(default)]
    pub name: String,
    /// Its queries.
    #[serde(default)]
    pub queries: Vec<Query>,
    /// `x`, `y`, `y2`.
    #[serde(default)]
    pub axes: BTreeMap<String, Axis>,
    /// `line` (the default), `line-stacked`, `bar`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Thresholds of single-stat and gauge cells.
    #[serde(default)]
    pub colors: Vec<CellColor>,
}

impl Cell {
    /// The visualization, `line` when the file names none (as Chronograf draws it).
    pub fn visualization(&self) -> &str {
        if self.kind.is_empty() {
            "line"
        } else {
            &self.kind
        }
    }

    /// The y axis, if the cell describes one.
    pub fn y_axis(&self) -> Option<&Axis> {
        self.axes.get("y")
    }
}

/// One layout: an app's view of one measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Unique id (a UUID in Chronograf's files).
    #[serde(default)]
    pub id: String,
    /// The app (`system`, `redis`).
    pub app: String,
    /// The measurement it needs.
    pub measurement: String,
    /// Whether the page packs the cells itself (every canned layout does).
    #[serde(default)]
    pub autoflow: bool,
    /// Its cells.
    #[serde(default)]
    pub cells: Vec<Cell>,
}

impl Layout {
    /// The layout as `GET /chronograf/v1/layouts` answers it: every cell with `x`, `y` and
    /// `y2` axes and a `colors` list, and a `link` to itself.
    pub fn to_api(&self) -> serde_json::Value {
        let mut layout = self.clone();
        for cell in &mut layout.cells {
            for axis in ["x", "y", "y2"] {
                cell.axes.entry(axis.to_string()).or_default();
            }
        }
        let mut value = serde_json::to_value(&layout).unwrap_or_default();
        value["link"] = serde_json::json!({
            "href": format!("/chronograf/v1/layouts/{}", self.id),
            "rel": "self",
        });
        value
    }
}

/// A layout file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The file or directory could not be read.
    #[error("layout {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a layout in Chronograf's format.
    #[error("layout {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why.
        source: serde_json::Error,
    },
    /// A layout without an app or a measurement.
    #[error("layout {path}: `{field}` is missing or empty")]
    Missing {
        /// The file.
        path: PathBuf,
        /// `app` or `measurement`.
        field: &'static str,
    },
}

/// `(file name, text)` of every file in `chronograf-rs/canned/`.
const BUILT_IN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/canned.rs"));

/// One layout file's text; a file without an `id` gets its file name's stem.
pub fn parse(path: &Path, text: &str) -> Result<Layout, LayoutError> {
    let mut layout: Layout = serde_json::from_str(text).map_err(|source| LayoutError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    for (field, value) in [("app", &layout.app), ("measurement", &layout.measurement)] {
        if value.trim().is_empty() {
            return Err(LayoutError::Missing {
                path: path.to_path_buf(),
                field,
            });
        }
    }
    if layout.id.is_empty() {
        layout.id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(layout)
}

/// The layouts built into the binary.
pub fn built_in() -> Vec<Layout> {
    BUILT_IN
        .iter()
        .filter_map(|(name, text)| match parse(Path::new(name), text) {
            Ok(layout) => Some(layout),
            Err(e) => {
                tracing::error!(error = %e, "a built-in layout is broken");
                None
            }
        })
        .collect()
}

/// Every `*.json` file of `dir`, by name, and the files that could not be used. A missing
/// directory holds no layouts.
pub fn load_dir(dir: &Path) -> (Vec<Layout>, Vec<LayoutError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), Vec::new()),
        Err(source) => {
            let path = dir.to_path_buf();
            return (Vec::new(), vec![LayoutError::Read { path, source }]);
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let (mut layouts, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        let read = std::fs::read_to_string(&path).map_err(|source| LayoutError::Read {
            path: path.clone(),
            source,
        });
        match read.and_then(|text| parse(&path, &text)) {
            Ok(layout) => layouts.push(layout),
            Err(e) => errors.push(e),
        }
    }
    (layouts, errors)
}

/// The built-in layouts with `extra` (from `--canned-path`) added; an extra layout replaces a
/// built-in one with the same id.
pub fn merged(built_in: Vec<Layout>, extra: Vec<Layout>) -> Vec<Layout> {
    let mut all: Vec<Layout> = built_in
        .into_iter()
        .filter(|b| !extra.iter().any(|e| e.id == b.id))
        .collect();
    all.extend(extra);
    all
}

/// Where a cell's queries look: the host and the agents' database and retention policy.
#[derive(Debug, Clone, Copy)]
pub struct HostScope<'a> {
    /// The `host` tag.
    pub host: &'a str,
    /// The agents' database (`:db:`).
    pub db: &'a str,
    /// Its retention policy (`:rp:`), empty for the default.
    pub rp: &'a str,
}

/// `<query> WHERE <time condition> AND "host" = '<host>'[ AND <wheres>] GROUP BY
/// time(<g>)[, <groupbys>]`, with `":db:".":rp:"` replaced by the scope's database and retention
/// policy (`"telegraf".."cpu"` for the default one).
pub fn complete(query: &Query, scope: HostScope<'_>, window: &TimeWindow) -> String {
    let db = influxql::quote_ident(scope.db);
    let db_rp = if scope.rp.is_empty() {
        format!("{db}.")
    } else {
        format!("{db}.{}", influxql::quote_ident(scope.rp))
    };
    let text = query
        .query
        .replace("\":db:\".\":rp:\"", &db_rp)
        .replace("\":db:\"", &db)
        .replace("\":rp:\"", &influxql::quote_ident(scope.rp));
    let mut q = format!(
        "{text} WHERE {} AND \"host\" = {}",
        window.condition(),
        influxql::quote_string(scope.host),
    );
    for w in &query.wheres {
        q.push_str(" AND ");
        q.push_str(w);
    }
    let has_time = query.groupbys.iter().any(|g| g.starts_with("time("));
    let mut group_by: Vec<String> = Vec::new();
    if !has_time {
        group_by.push(format!("time({})", window.group_by));
    }
    group_by.extend(query.groupbys.iter().cloned());
    q.push_str(" GROUP BY ");
    q.push_str(&group_by.join(", "));
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time_range::range;

    fn scope() -> HostScope<'static> {
        HostScope {
            host: "h",
            db: "telegraf",
            rp: "",
        }
    }

    #[test]
    fn every_built_in_layout_parses_and_completes_to_valid_influxql() {
        let layouts = built_in();
        assert_eq!(
            layouts.len(),
            BUILT_IN.len(),
            "a built-in file did not parse"
        );
        let mut ids = std::collections::BTreeSet::new();
        for layout in &layouts {
            assert!(ids.insert(layout.id.clone()), "id twice: {}", layout.id);
            assert!(!layout.cells.is_empty(), "{}: no cells", layout.measurement);
            for cell in &layout.cells {
                assert!(ids.insert(cell.i.clone()), "cell id twice: {}", cell.i);
                let y = cell.y_axis().map(|a| a.label.as_str()).unwrap_or("");
                assert!(!y.is_empty(), "{}: y axis without a label", cell.name);
                for query in &cell.queries {
                    assert!(
                        query.query.contains(&format!("\"{}\"", layout.measurement)),
                        "{}: {} reads another measurement",
                        layout.measurement,
                        query.query
                    );
                    let text = complete(query, scope(), &range("1h").into());
                    if let Err(e) = influxql::parse_statement(&text) {
                        panic!("{}: {text}: {e}", layout.measurement);
                    }
                }
            }
        }
    }

    #[test]
    fn completes_cell_queries_as_chronograf() {
        let disk = Query {
            query:
                "SELECT mean(\"used_percent\") AS \"used_percent\" FROM \":db:\".\":rp:\".\"disk\""
                    .into(),
            label: String::new(),
            groupbys: vec!["\"path\"".into()],
            wheres: vec!["\"fstype\" != 'tmpfs'".into()],
        };
        let s = HostScope {
            host: "web'1",
            db: "telegraf",
            rp: "",
        };
        assert_eq!(
            complete(&disk, s, &range("24h").into()),
            "SELECT mean(\"used_percent\") AS \"used_percent\" FROM \"telegraf\"..\"disk\" WHERE time > now() - 24h AND \"host\" = 'web\\'1' AND \"fstype\" != 'tmpfs' GROUP BY time(10m), \"path\""
        );
        let weekly = HostScope { rp: "a week", ..s };
        let own_time = Query {
            groupbys: vec!["time(1h)".into()],
            wheres: Vec::new(),
            ..disk
        };
        assert_eq!(
            complete(&own_time, weekly, &TimeWindow::custom(1_000, 3_601_000)),
            "SELECT mean(\"used_percent\") AS \"used_percent\" FROM \"telegraf\".\"a week\".\"disk\" WHERE time > 1000ms AND time < 3601000ms AND \"host\" = 'web\\'1' GROUP BY time(1h)"
        );
    }

    #[test]
    fn reads_chronograf_layout_files_and_reports_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        // Chronograf's shape: no `type`, no `axes`, fields this format does not know.
        std::fs::write(
            dir.path().join("varnish.json"),
            r#"{"id":"83c57d16-a778-43ed-8941-0f9fec3408fa","measurement":"varnish","app":"varnish","autoflow":true,
               "cells":[{"x":0,"y":0,"w":4,"h":4,"i":"c1","name":"Varnish - Cache Hits/Misses",
               "queries":[{"query":"SELECT max(\"cache_hit\") AS \"hits\" FROM \":db:\".\":rp:\".\"varnish\"","groupbys":[]}],
               "legend":{}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("broken.json"), "{\"app\": \"x\",").unwrap();
        std::fs::write(
            dir.path().join("nameless.json"),
            r#"{"app":"x","measurement":""}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("README"), "not a layout").unwrap();
        let (layouts, errors) = load_dir(dir.path());
        assert_eq!(layouts.len(), 1);
        assert_eq!(layouts[0].cells[0].visualization(), "line");
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].contains("broken.json") && errors[0].contains("EOF"),
            "{errors:?}"
        );
        assert!(errors[1].contains("`measurement` is missing"), "{errors:?}");
        let api = layouts[0].to_api();
        assert_eq!(
            api["link"]["href"],
            "/chronograf/v1/layouts/83c57d16-a778-43ed-8941-0f9fec3408fa"
        );
        assert_eq!(
            api["cells"][0]["axes"]["y2"]["bounds"],
            serde_json::json!([])
        );
        assert_eq!(api["cells"][0]["colors"], serde_json::json!([]));
        assert!(load_dir(&dir.path().join("absent")).0.is_empty());
    }

    #[test]
    fn a_dropped_in_layout_replaces_the_built_in_one_with_its_id() {
        let mut cpu = built_in()
            .into_iter()
            .find(|l| l.measurement == "cpu")
            .unwrap();
        cpu.cells.truncate(1);
        cpu.cells[0].name = "Mine".into();
        let all = merged(built_in(), vec![cpu.clone()]);
        assert_eq!(all.len(), built_in().len());
        let cpus: Vec<&Layout> = all.iter().filter(|l| l.id == cpu.id).collect();
        assert_eq!(cpus.len(), 1);
        assert_eq!(cpus[0].cells[0].name, "Mine");
    }
}
