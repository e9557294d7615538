//! Dashboards: named grids of cells, each with its queries, kept as one JSON file in the data
//! directory (written whole, atomically) and exported/imported in the same shape. Queries may
//! use Chronograf's template variables `:dashboardTime:`, `:upperDashboardTime:` and
//! `:interval:`, replaced for the chosen range when a cell is drawn.

use crate::time_range::TimeWindow;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One query of a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellQuery {
    /// InfluxQL, possibly with template variables.
    pub query: String,
    /// Database it runs on.
    #[serde(default)]
    pub db: String,
    /// Retention policy ("" = default).
    #[serde(default)]
    pub rp: String,
}

/// One cell of a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Id within the dashboard.
    #[serde(default)]
    pub i: String,
    /// Grid position and size.
    #[serde(default)]
    pub x: u32,
    /// Grid row.
    #[serde(default)]
    pub y: u32,
    /// Width in grid units.
    #[serde(default = "default_size")]
    pub w: u32,
    /// Height in grid units.
    #[serde(default = "default_size")]
    pub h: u32,
    /// Title.
    #[serde(default)]
    pub name: String,
    /// `line`, `line-stacked`, `line-stepplot`, `single-stat`, `gauge` or `table`.
    #[serde(rename = "type", default = "default_kind")]
    pub kind: String,
    /// Its queries.
    #[serde(default)]
    pub queries: Vec<CellQuery>,
    /// Axis settings, as Chronograf keeps them (only `y` is drawn).
    #[serde(default)]
    pub axes: Axes,
    /// Single-stat and gauge colours: the base colour and the thresholds.
    #[serde(default)]
    pub colors: Vec<crate::layouts::CellColor>,
    /// Where the legend is shown.
    #[serde(default)]
    pub legend: Legend,
    /// How many decimals values are shown with.
    #[serde(default, rename = "decimalPlaces")]
    pub decimal_places: DecimalPlaces,
    /// A note about the cell (markdown in Chronograf), shown with its title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// `default` or `showWhenNoData`, kept as Chronograf wrote it.
    #[serde(
        default,
        rename = "noteVisibility",
        skip_serializing_if = "String::is_empty"
    )]
    pub note_visibility: String,
    /// The table visualization's options (`verticalTimeAxis`, `sortBy`, `fixFirstColumn`…),
    /// kept as Chronograf wrote them so that a dashboard exported again loses nothing.
    #[serde(
        default,
        rename = "tableOptions",
        skip_serializing_if = "serde_json::Value::is_null"
    )]
    pub table_options: serde_json::Value,
    /// The table's columns (`internalName`, `displayName`, `visible`), kept likewise.
    #[serde(
        default,
        rename = "fieldOptions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub field_options: Vec<serde_json::Value>,
    /// The table's time format (`MM/DD/YYYY HH:mm:ss`), kept likewise.
    #[serde(
        default,
        rename = "timeFormat",
        skip_serializing_if = "String::is_empty"
    )]
    pub time_format: String,
}

/// A cell's legend, as Chronograf keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Legend {
    /// `static` (or empty): under the chart, always; `hover`: only while the pointer is on
    /// the chart.
    #[serde(rename = "type")]
    pub kind: String,
    /// `bottom`.
    pub orientation: String,
}

/// A cell's decimal places, as Chronograf keeps them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DecimalPlaces {
    /// Whether `digits` applies (else values get as many significant digits as they need).
    pub is_enforced: bool,
    /// Decimals after the point.
    pub digits: u32,
}

/// A cell's axes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Axes {
    /// The value axis.
    #[serde(default)]
    pub y: Axis,
}

/// One axis as Chronograf describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// `[min, max]` as text; `""` lets the data decide.
    #[serde(default)]
    pub bounds: [String; 2],
    /// The axis title.
    #[serde(default)]
    pub label: String,
    /// Written before each tick value.
    #[serde(default)]
    pub prefix: String,
    /// Written after each tick value.
    #[serde(default)]
    pub suffix: String,
    /// `10` (k, M, G; the default) or `2` (Ki, Mi, Gi).
    #[serde(default)]
    pub base: String,
    /// `linear` (default) or `log`.
    #[serde(default)]
    pub scale: String,
}

fn default_size() -> u32 {
    4
}

fn default_kind() -> String {
    "line".into()
}

/// The cell types the page can draw.
pub const CELL_TYPES: &[&str] = &[
    "line",
    "line-stacked",
    "line-stepplot",
    "single-stat",
    "gauge",
    "table",
];

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Id (assigned on creation).
    #[serde(default)]
    pub id: u64,
    /// Name.
    pub name: String,
    /// Cells.
    #[serde(default)]
    pub cells: Vec<Cell>,
    /// User template variables.
    #[serde(default)]
    pub templates: Vec<crate::template_vars::TemplateVar>,
    /// When it was last created or saved (`2026-12-06 20:30:00`, UTC), for the dashboards page.
    #[serde(
        default,
        rename = "updatedAt",
        skip_serializing_if = "String::is_empty"
    )]
    pub updated_at: String,
}

/// Now as `2026-12-06 20:30:00` (UTC).
fn now_text() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    crate::time_range::rfc3339_ms(ms)
}

/// A request the store refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DashboardError {
    /// No such dashboard.
    #[error("dashboard {0} not found")]
    NotFound(u64),
    /// Bad content.
    #[error("{0}")]
    Invalid(String),
    /// The file could not be written.
    #[error("saving dashboards: {0}")]
    Io(String),
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    next_id: u64,
    dashboards: Vec<Dashboard>,
}

/// All dashboards, persisted.
#[derive(Debug)]
pub struct DashboardStore {
    path: PathBuf,
    inner: Mutex<File>,
}

fn check(d: &Dashboard) -> Result<(), DashboardError> {
    if d.name.trim().is_empty() {
        return Err(DashboardError::Invalid("a dashboard needs a name".into()));
    }
    if let Some(problem) = d.templates.iter().find_map(|t| t.problem()) {
        return Err(DashboardError::Invalid(problem));
    }
    for c in &d.cells {
        if !CELL_TYPES.contains(&c.kind.as_str()) {
            return Err(DashboardError::Invalid(format!(
                "invalid cell type {:?} (one of {})",
                c.kind,
                CELL_TYPES.join(", ")
            )));
        }
    }
    Ok(())
}

impl DashboardStore {
    /// Opens `dir/dashboards.json` (empty when missing).
    pub fn open(dir: &std::path::Path) -> Result<DashboardStore, DashboardError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| DashboardError::Io(format!("{}: {e}", dir.display())))?;
        let path = dir.join("dashboards.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| DashboardError::Io(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File {
                next_id: 1,
                dashboards: Vec::new(),
            },
            Err(e) => return Err(DashboardError::Io(format!("{}: {e}", path.display()))),
        };
        Ok(DashboardStore {
            path,
            inner: Mutex::new(file),
        })
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self, file: &File) -> Result<(), DashboardError> {
        let tmp = self.path.with_extension("tmp");
        let bytes =
            serde_json::to_vec_pretty(file).map_err(|e| DashboardError::Io(e.to_string()))?;
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| DashboardError::Io(format!("{}: {e}", self.path.display())))
    }

    /// Every dashboard.
    pub fn list(&self) -> Vec<Dashboard> {
        self.lock().dashboards.clone()
    }

    /// One dashboard.
    pub fn get(&self, id: u64) -> Result<Dashboard, DashboardError> {
        self.lock()
            .dashboards
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or(DashboardError::NotFound(id))
    }

    /// Creates `d` (also how an exported dashboard is imported): new id, cell ids filled in.
    pub fn create(&self, mut d: Dashboard) -> Result<Dashboard, DashboardError> {
        check(&d)?;
        let mut file = self.lock();
        d.id = file.next_id.max(1);
        d.updated_at = now_text();
        file.next_id = d.id + 1;
        for (n, c) in d.cells.iter_mut().enumerate() {
            if c.i.is_empty() {
                c.i = format!("{}-{n}", d.id);
            }
        }
        file.dashboards.push(d.clone());
        self.save(&file)?;
        Ok(d)
    }

    /// Replaces dashboard `id` (name and cells).
    pub fn replace(&self, id: u64, mut d: Dashboard) -> Result<Dashboard, DashboardError> {
        check(&d)?;
        let mut file = self.lock();
        let slot = file
            .dashboards
            .iter_mut()
            .find(|x| x.id == id)
            .ok_or(DashboardError::NotFound(id))?;
        d.id = id;
        d.updated_at = now_text();
        for (n, c) in d.cells.iter_mut().enumerate() {
            if c.i.is_empty() {
                c.i = format!("{id}-{n}-{}", c.name.len());
            }
        }
        *slot = d.clone();
        self.save(&file)?;
        Ok(d)
    }

    /// Deletes dashboard `id`.
    pub fn delete(&self, id: u64) -> Result<(), DashboardError> {
        let mut file = self.lock();
        let before = file.dashboards.len();
        file.dashboards.retain(|d| d.id != id);
        if file.dashboards.len() == before {
            return Err(DashboardError::NotFound(id));
        }
        self.save(&file)
    }
}

/// `query` with the template variables of `window` replaced; `:interval:` only when the user
/// picked one (else each chart makes it fit its width, as Chronograf does).
pub fn render_query(query: &str, window: &TimeWindow) -> String {
    let q = query
        .replace(":dashboardTime:", &window.lower)
        .replace(":upperDashboardTime:", &window.upper);
    if window.picked {
        q.replace(":interval:", &window.group_by)
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboard(name: &str) -> Dashboard {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "cells": [{ "name": "cpu", "type": "line", "queries": [{ "query": "SELECT mean(usage_idle) FROM cpu WHERE time > :dashboardTime: GROUP BY time(:interval:)", "db": "telegraf" }] }]
        }))
        .unwrap()
    }

    #[test]
    fn create_replace_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = DashboardStore::open(dir.path()).unwrap();
        let a = store.create(dashboard("A")).unwrap();
        let b = store.create(dashboard("B")).unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert!(a.updated_at.starts_with("20"), "{}", a.updated_at);
        assert_eq!(a.cells[0].i, "1-0");
        let mut renamed = a.clone();
        renamed.name = "A2".into();
        store.replace(a.id, renamed).unwrap();
        store.delete(b.id).unwrap();
        assert_eq!(store.delete(b.id), Err(DashboardError::NotFound(2)));
        let again = DashboardStore::open(dir.path()).unwrap();
        assert_eq!(
            again
                .list()
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>(),
            ["A2"]
        );
        assert_eq!(
            again.create(dashboard("C")).unwrap().id,
            3,
            "ids are not reused"
        );
        let mut bad = dashboard("D");
        bad.cells[0].kind = "pie".into();
        assert!(matches!(again.create(bad), Err(DashboardError::Invalid(_))));
    }

    #[test]
    fn template_variables() {
        let text = "SELECT x FROM m WHERE time > :dashboardTime: AND time < :upperDashboardTime: GROUP BY time(:interval:)";
        let mut window: TimeWindow = crate::time_range::range("24h").into();
        assert_eq!(
            render_query(text, &window),
            "SELECT x FROM m WHERE time > now() - 24h AND time < now() GROUP BY time(:interval:)"
        );
        window.picked = true;
        assert_eq!(
            render_query(text, &window),
            "SELECT x FROM m WHERE time > now() - 24h AND time < now() GROUP BY time(10m)"
        );
    }

    #[test]
    fn chronografs_legend_and_decimal_places_are_kept() {
        let cell: Cell = serde_json::from_value(serde_json::json!({
            "name": "load", "type": "single-stat",
            "legend": { "type": "static", "orientation": "bottom" },
            "decimalPlaces": { "isEnforced": true, "digits": 1 },
            "colors": [{ "id": "base", "type": "text", "hex": "#00C9FF", "name": "laser", "value": "-1000000000000000000" }]
        }))
        .unwrap();
        assert_eq!(cell.legend.kind, "static");
        assert_eq!(
            cell.decimal_places,
            DecimalPlaces {
                is_enforced: true,
                digits: 1
            }
        );
        let back = serde_json::to_value(&cell).unwrap();
        assert_eq!(back["decimalPlaces"]["isEnforced"], true);
        assert_eq!(back["legend"]["type"], "static");
        assert_eq!(back["colors"][0]["hex"], "#00C9FF");
    }
}
