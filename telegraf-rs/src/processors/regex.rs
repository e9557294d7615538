//! `processors.regex`: rewrites tag and string field values, and renames tags, fields and
//! measurements, with regular expressions and `$1`/`${name}` replacements (Go's RE2 syntax,
//! which the `regex` crate shares).

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use globset::GlobMatcher;
use serde::{Deserialize, Serialize};

/// Options of `[processors.regex]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RegexConfig {
    /// Rewrites of tag values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<ValueRule>,
    /// Rewrites of string field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ValueRule>,
    /// Renames of tag keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag_rename: Vec<RenameRule>,
    /// Renames of field keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_rename: Vec<RenameRule>,
    /// Renames of the measurement.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metric_rename: Vec<RenameRule>,
}

/// A rewrite of the values of the tags or fields named by `key` (a glob).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ValueRule {
    /// Which tags or fields.
    pub key: String,
    /// The expression.
    pub pattern: String,
    /// What a match becomes.
    pub replacement: String,
    /// Write the result here (only when the pattern matched) instead of over the value.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub result_key: String,
    /// Append the result to an existing value of `result_key`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub append: bool,
}

/// A rename of keys (or of the measurement) matching `pattern`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RenameRule {
    /// The expression.
    pub pattern: String,
    /// What a match becomes.
    pub replacement: String,
    /// `keep` (default: leave an existing key of the new name alone) or `overwrite`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub result_key: String,
}

struct CompiledValue {
    key: GlobMatcher,
    regex: regex::Regex,
    rule: ValueRule,
}

struct CompiledRename {
    regex: regex::Regex,
    replacement: String,
    overwrite: bool,
}

fn compile(what: &str, pattern: &str) -> Result<regex::Regex, ProcessorError> {
    regex::Regex::new(pattern).map_err(|e| ProcessorError(format!("{what}: {e}")))
}

fn value_rules(what: &str, rules: &[ValueRule]) -> Result<Vec<CompiledValue>, ProcessorError> {
    rules
        .iter()
        .map(|rule| {
            let key = globset::Glob::new(&rule.key)
                .map_err(|e| ProcessorError(format!("{what}.key: {e}")))?
                .compile_matcher();
            Ok(CompiledValue {
                key,
                regex: compile(what, &rule.pattern)?,
                rule: rule.clone(),
            })
        })
        .collect()
}

fn rename_rules(what: &str, rules: &[RenameRule]) -> Result<Vec<CompiledRename>, ProcessorError> {
    rules
        .iter()
        .map(|rule| {
            let overwrite = match rule.result_key.as_str() {
                "" | "keep" => false,
                "overwrite" => true,
                other => {
                    return Err(ProcessorError(format!(
                        "{what}.result_key {other:?}: expected keep or overwrite"
                    )))
                }
            };
            Ok(CompiledRename {
                regex: compile(what, &rule.pattern)?,
                replacement: rule.replacement.clone(),
                overwrite,
            })
        })
        .collect()
}

/// Builds the processor.
pub fn build(c: &RegexConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    Ok(Box::new(RegexProcessor {
        tags: value_rules("tags", &c.tags)?,
        fields: value_rules("fields", &c.fields)?,
        tag_rename: rename_rules("tag_rename", &c.tag_rename)?,
        field_rename: rename_rules("field_rename", &c.field_rename)?,
        metric_rename: rename_rules("metric_rename", &c.metric_rename)?,
    }))
}

struct RegexProcessor {
    tags: Vec<CompiledValue>,
    fields: Vec<CompiledValue>,
    tag_rename: Vec<CompiledRename>,
    field_rename: Vec<CompiledRename>,
    metric_rename: Vec<CompiledRename>,
}

impl CompiledValue {
    /// Where the rewrite of `value` (of key `key`) goes, and what it is; `None` when nothing
    /// is written.
    fn rewrite(&self, key: &str, value: &str) -> Option<(String, String)> {
        let result_key = &self.rule.result_key;
        if !result_key.is_empty() && !self.regex.is_match(value) {
            return None;
        }
        let new = self
            .regex
            .replace_all(value, self.rule.replacement.as_str())
            .into_owned();
        if new.is_empty() {
            return None;
        }
        let target = if result_key.is_empty() {
            key.to_string()
        } else {
            result_key.clone()
        };
        Some((target, new))
    }
}

impl CompiledRename {
    /// The new name of `key` when the rule renames it: it matches, changes, and (unless
    /// `overwrite`) does not land on a key that `exists`.
    fn new_key(&self, key: &str, exists: impl Fn(&str) -> bool) -> Option<String> {
        if !self.regex.is_match(key) {
            return None;
        }
        let new = self
            .regex
            .replace_all(key, self.replacement.as_str())
            .into_owned();
        (new != key && (self.overwrite || !exists(&new))).then_some(new)
    }
}

impl Processor for RegexProcessor {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        for rule in &self.tags {
            let keys: Vec<String> = m
                .tags
                .keys()
                .filter(|k| rule.key.is_match(k))
                .cloned()
                .collect();
            for key in keys {
                let Some(value) = m.tags.get(&key) else {
                    continue;
                };
                if let Some((target, mut new)) = rule.rewrite(&key, value) {
                    if rule.rule.append {
                        if let Some(old) = m.tags.get(&target) {
                            new = format!("{old}{new}");
                        }
                    }
                    m.tags.insert(target, new);
                }
            }
        }
        for rule in &self.fields {
            let matching: Vec<(String, String)> = m
                .fields
                .iter()
                .filter_map(|(k, v)| match v {
                    FieldValue::Str(s) if rule.key.is_match(k) => Some((k.clone(), s.clone())),
                    _ => None,
                })
                .collect();
            for (key, value) in matching {
                if let Some((target, mut new)) = rule.rewrite(&key, &value) {
                    if rule.rule.append {
                        if let Some(FieldValue::Str(old)) = m.field(&target) {
                            new = format!("{old}{new}");
                        }
                    }
                    m.add_field(target, new);
                }
            }
        }
        for rule in &self.tag_rename {
            let keys: Vec<String> = m.tags.keys().cloned().collect();
            for key in keys {
                if let Some(new) = rule.new_key(&key, |k| m.tags.contains_key(k)) {
                    if let Some(v) = m.tags.remove(&key) {
                        m.tags.insert(new, v);
                    }
                }
            }
        }
        for rule in &self.field_rename {
            let keys: Vec<String> = m.fields.iter().map(|(k, _)| k.clone()).collect();
            for key in keys {
                if let Some(new) = rule.new_key(&key, |k| m.field(k).is_some()) {
                    if let Some(v) = m.remove_field(&key) {
                        m.add_field(new, v);
                    }
                }
            }
        }
        for rule in &self.metric_rename {
            if rule.regex.is_match(&m.name) {
                m.name = rule
                    .regex
                    .replace_all(&m.name, rule.replacement.as_str())
                    .into_owned();
            }
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    fn metric() -> Metric {
        Metric::new("nginx_requests", 1)
            .with_tag("resp_code", "200")
            .with_tag("verb", "GET")
            .with_field("request", "/users/42/profile?x=1")
            .with_field("count", 3i64)
    }

    #[test]
    fn values_rewritten_in_place_and_into_result_keys() {
        let mut p = processor(
            "regex",
            r#"
            [[tags]]
            key = "resp_code"
            pattern = "^(\\d)\\d\\d$"
            replacement = "${1}xx"
            [[fields]]
            key = "request"
            pattern = "^/api(?P<method>/[\\w/]+)\\S*"
            replacement = "${method}"
            result_key = "method"
            [[fields]]
            key = "request"
            pattern = ".*category=(\\w+).*"
            replacement = "${1}"
            result_key = "search_category"
            [[fields]]
            key = "req*"
            pattern = "\\?.*$"
            replacement = ""
            "#,
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.tags.get("resp_code").map(String::as_str), Some("2xx"));
        // No match with a result key: nothing written.
        assert_eq!(m.field("method"), None);
        assert_eq!(m.field("search_category"), None);
        assert_eq!(
            m.field("request"),
            Some(&FieldValue::Str("/users/42/profile".into()))
        );
    }

    #[test]
    fn append_to_an_existing_tag() {
        let mut p = processor(
            "regex",
            "[[tags]]\nkey = \"verb\"\npattern = \"^(.*)$\"\nreplacement = \"-$1\"\n\
             result_key = \"resp_code\"\nappend = true",
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.tags.get("resp_code").map(String::as_str), Some("200-GET"));
    }

    #[test]
    fn renames_keep_existing_keys_unless_overwrite() {
        let mut p = processor(
            "regex",
            r#"
            [[tag_rename]]
            pattern = "^resp_(\\w+)$"
            replacement = "${1}"
            [[field_rename]]
            pattern = "^count$"
            replacement = "request"
            [[metric_rename]]
            pattern = "^nginx_(\\w+)$"
            replacement = "web_$1"
            "#,
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.tags.get("code").map(String::as_str), Some("200"));
        assert_eq!(m.field("count"), Some(&FieldValue::Int(3)));
        assert_eq!(m.name, "web_requests");
        let mut p = processor(
            "regex",
            "[[field_rename]]\npattern = \"^count$\"\nreplacement = \"request\"\nresult_key = \"overwrite\"",
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.field("request"), Some(&FieldValue::Int(3)));
        assert_eq!(m.field("count"), None);
    }

    #[test]
    fn a_bad_pattern_is_refused() {
        let c: RegexConfig =
            toml::from_str("[[tags]]\nkey = \"a\"\npattern = \"(\"\nreplacement = \"\"").unwrap();
        assert!(build(&c, &ProcessorContext).is_err());
    }
}
