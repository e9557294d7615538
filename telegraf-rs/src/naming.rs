//! The renaming and tagging options (`name_override`, `name_prefix`, `name_suffix`, `tags`)
//! that inputs and aggregators take and `processors.override` is made of.

use crate::metric::Metric;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The renaming and tagging options of one plugin table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Naming {
    /// Replaces the measurement name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_override: Option<String>,
    /// Prepended to the measurement name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    /// Appended to the measurement name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    /// Tags added to the metrics.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Naming {
    /// Renames `m` and adds the tags: only those it lacks, or (`overwrite`) replacing.
    pub fn apply(&self, m: &mut Metric, overwrite: bool) {
        if let Some(name) = self.name_override.as_ref().filter(|n| !n.is_empty()) {
            m.name = name.clone();
        }
        if !self.name_prefix.is_empty() || !self.name_suffix.is_empty() {
            m.name = format!("{}{}{}", self.name_prefix, m.name, self.name_suffix);
        }
        for (k, v) in &self.tags {
            if overwrite || !m.tags.contains_key(k) {
                m.tags.insert(k.clone(), v.clone());
            }
        }
    }
}
