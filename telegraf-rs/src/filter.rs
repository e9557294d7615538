//! Telegraf's metric filters (`namepass`, `tagdrop`, `fieldinclude`, …) with glob patterns.
//!
//! Selectors (`namepass`, `namedrop`, `tagpass`, `tagdrop`) decide whether a metric goes on;
//! modifiers (`fieldinclude`/`fieldpass`, `fieldexclude`/`fielddrop`, `taginclude`,
//! `tagexclude`) then remove fields and tags. A metric left without fields is dropped.

use crate::metric::Metric;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The filter options as written in a plugin table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FilterConfig {
    /// Keep only metrics whose name matches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namepass: Vec<String>,
    /// Drop metrics whose name matches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namedrop: Vec<String>,
    /// Keep only matching fields (old name of `fieldinclude`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fieldpass: Vec<String>,
    /// Keep only matching fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fieldinclude: Vec<String>,
    /// Remove matching fields (old name of `fieldexclude`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fielddrop: Vec<String>,
    /// Remove matching fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fieldexclude: Vec<String>,
    /// Keep metrics having any listed tag with a matching value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tagpass: BTreeMap<String, Vec<String>>,
    /// Drop metrics having any listed tag with a matching value.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tagdrop: BTreeMap<String, Vec<String>>,
    /// Keep only matching tag keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taginclude: Vec<String>,
    /// Remove matching tag keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tagexclude: Vec<String>,
}

/// The option names [`FilterConfig`] reads, so plugin tables can set them apart.
pub const FILTER_KEYS: &[&str] = &[
    "namepass",
    "namedrop",
    "fieldpass",
    "fieldinclude",
    "fielddrop",
    "fieldexclude",
    "tagpass",
    "tagdrop",
    "taginclude",
    "tagexclude",
];

/// A glob pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid pattern {pattern:?} in {option}: {reason}")]
pub struct FilterError {
    /// The option holding the pattern.
    pub option: String,
    /// The pattern as written.
    pub pattern: String,
    /// What the glob compiler said.
    pub reason: String,
}

/// A compiled [`FilterConfig`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    namepass: Option<GlobSet>,
    namedrop: Option<GlobSet>,
    fieldinclude: Option<GlobSet>,
    fieldexclude: Option<GlobSet>,
    tagpass: Vec<(String, GlobSet)>,
    tagdrop: Vec<(String, GlobSet)>,
    taginclude: Option<GlobSet>,
    tagexclude: Option<GlobSet>,
}

/// Compiles `patterns` (of option `option`) into one glob set; `None` when there are none.
pub fn compile(option: &str, patterns: &[String]) -> Result<Option<GlobSet>, FilterError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|e| FilterError {
            option: option.to_string(),
            pattern: pattern.clone(),
            reason: e.kind().to_string(),
        })?;
        builder.add(glob);
    }
    builder.build().map(Some).map_err(|e| FilterError {
        option: option.to_string(),
        pattern: patterns.join(", "),
        reason: e.to_string(),
    })
}

fn compile_tags(
    option: &str,
    table: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<(String, GlobSet)>, FilterError> {
    table
        .iter()
        .filter_map(|(key, patterns)| {
            compile(&format!("{option}.{key}"), patterns)
                .transpose()
                .map(|set| set.map(|s| (key.clone(), s)))
        })
        .collect()
}

impl Filter {
    /// Compiles every pattern; a bad one is an error naming the option.
    pub fn new(config: &FilterConfig) -> Result<Self, FilterError> {
        let include: Vec<String> = config
            .fieldinclude
            .iter()
            .chain(&config.fieldpass)
            .cloned()
            .collect();
        let exclude: Vec<String> = config
            .fieldexclude
            .iter()
            .chain(&config.fielddrop)
            .cloned()
            .collect();
        Ok(Filter {
            namepass: compile("namepass", &config.namepass)?,
            namedrop: compile("namedrop", &config.namedrop)?,
            fieldinclude: compile("fieldinclude", &include)?,
            fieldexclude: compile("fieldexclude", &exclude)?,
            tagpass: compile_tags("tagpass", &config.tagpass)?,
            tagdrop: compile_tags("tagdrop", &config.tagdrop)?,
            taginclude: compile("taginclude", &config.taginclude)?,
            tagexclude: compile("tagexclude", &config.tagexclude)?,
        })
    }

    /// Whether the selectors let the metric through.
    pub fn selects(&self, m: &Metric) -> bool {
        if let Some(set) = &self.namepass {
            if !set.is_match(&m.name) {
                return false;
            }
        }
        if let Some(set) = &self.namedrop {
            if set.is_match(&m.name) {
                return false;
            }
        }
        let tag_matches = |rules: &[(String, GlobSet)]| {
            rules
                .iter()
                .any(|(k, set)| m.tags.get(k).is_some_and(|v| set.is_match(v)))
        };
        if !self.tagpass.is_empty() && !tag_matches(&self.tagpass) {
            return false;
        }
        if !self.tagdrop.is_empty() && tag_matches(&self.tagdrop) {
            return false;
        }
        true
    }

    /// Runs selectors then modifiers; `None` when the metric is filtered out or left empty.
    pub fn apply(&self, m: Metric) -> Option<Metric> {
        match self.selects(&m) {
            true => self.modify(m),
            false => None,
        }
    }

    /// Runs the modifiers only (processors and aggregators select first, then modify what
    /// they took); `None` when no field is left.
    pub fn modify(&self, mut m: Metric) -> Option<Metric> {
        if let Some(set) = &self.fieldinclude {
            m.fields.retain(|(k, _)| set.is_match(k));
        }
        if let Some(set) = &self.fieldexclude {
            m.fields.retain(|(k, _)| !set.is_match(k));
        }
        if let Some(set) = &self.taginclude {
            m.tags.retain(|k, _| set.is_match(k));
        }
        if let Some(set) = &self.tagexclude {
            m.tags.retain(|k, _| !set.is_match(k));
        }
        (!m.fields.is_empty()).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric() -> Metric {
        Metric::new("cpu", 1)
            .with_tag("cpu", "cpu0")
            .with_tag("host", "a")
            .with_field("usage_idle", 1.0)
            .with_field("usage_user", 2.0)
            .with_field("time_user", 3.0)
    }

    fn filter(toml_text: &str) -> Filter {
        let config: FilterConfig = toml::from_str(toml_text).unwrap();
        Filter::new(&config).unwrap()
    }

    #[test]
    fn name_selectors() {
        assert!(filter("namepass = [\"c*\"]").apply(metric()).is_some());
        assert!(filter("namepass = [\"mem\"]").apply(metric()).is_none());
        assert!(filter("namedrop = [\"cp?\"]").apply(metric()).is_none());
    }

    #[test]
    fn tag_selectors_or_across_keys() {
        let f = filter("[tagpass]\ncpu = [\"cpu1\"]\nhost = [\"a\"]");
        assert!(f.apply(metric()).is_some());
        let f = filter("[tagpass]\ncpu = [\"cpu[12]\"]");
        assert!(f.apply(metric()).is_none());
        let f = filter("[tagdrop]\nhost = [\"*\"]");
        assert!(f.apply(metric()).is_none());
        let f = filter("[tagdrop]\nmissing = [\"*\"]");
        assert!(f.apply(metric()).is_some());
    }

    #[test]
    fn modifiers() {
        let m = filter("fieldpass = [\"usage_*\"]\ntagexclude = [\"cpu\"]")
            .apply(metric())
            .unwrap();
        assert_eq!(m.fields.len(), 2);
        assert_eq!(m.tags.keys().collect::<Vec<_>>(), ["host"]);
        let m = filter("fielddrop = [\"usage_*\"]\ntaginclude = [\"cpu\"]")
            .apply(metric())
            .unwrap();
        assert_eq!(m.fields.len(), 1);
        assert_eq!(m.tags.keys().collect::<Vec<_>>(), ["cpu"]);
        assert!(filter("fieldinclude = [\"nothing\"]")
            .apply(metric())
            .is_none());
    }

    #[test]
    fn a_bad_pattern_names_its_option() {
        let config: FilterConfig = toml::from_str("namepass = [\"a[\"]").unwrap();
        let err = Filter::new(&config).unwrap_err();
        assert_eq!(err.option, "namepass");
    }
}
