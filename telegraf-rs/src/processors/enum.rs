//! `processors.enum`: maps string (and integer or boolean) values of fields and tags to other
//! values through a table — `"green" → 1`, `"1" → "up"` — with a default for values the table
//! does not hold.

use super::{globs, toml_field_value, Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use globset::GlobSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[processors.enum]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct EnumConfig {
    /// The tables, applied in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapping: Vec<Mapping>,
}

/// One table and what it applies to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Mapping {
    /// A field (glob); Telegraf's older spelling of `fields`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Fields (globs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A tag (glob); the older spelling of `tags`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// Tags (globs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Where the mapped value goes; the source key when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dest: String,
    /// The value for values the table does not hold; such values stay as they are without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<toml::Value>,
    /// The table.
    pub value_mappings: BTreeMap<String, toml::Value>,
}

struct Compiled {
    fields: Option<GlobSet>,
    tags: Option<GlobSet>,
    dest: String,
    default: Option<FieldValue>,
    table: BTreeMap<String, FieldValue>,
}

fn scalar(what: &str, v: &toml::Value) -> Result<FieldValue, ProcessorError> {
    toml_field_value(v).ok_or_else(|| {
        ProcessorError(format!(
            "{what}: expected a string, number or boolean, found {}",
            v.type_str()
        ))
    })
}

/// Builds the processor.
pub fn build(c: &EnumConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    let mut mappings = Vec::new();
    for m in &c.mapping {
        let with_single = |list: &[String], single: &str| {
            let mut all = list.to_vec();
            if !single.is_empty() {
                all.push(single.to_string());
            }
            all
        };
        let table = m
            .value_mappings
            .iter()
            .map(|(k, v)| Ok((k.clone(), scalar(&format!("value_mappings.{k}"), v)?)))
            .collect::<Result<_, ProcessorError>>()?;
        mappings.push(Compiled {
            fields: globs("fields", &with_single(&m.fields, &m.field))?,
            tags: globs("tags", &with_single(&m.tags, &m.tag))?,
            dest: m.dest.clone(),
            default: m
                .default
                .as_ref()
                .map(|d| scalar("default", d))
                .transpose()?,
            table,
        });
    }
    Ok(Box::new(Enum(mappings)))
}

struct Enum(Vec<Compiled>);

impl Compiled {
    fn map(&self, value: &str) -> Option<&FieldValue> {
        self.table.get(value).or(self.default.as_ref())
    }

    fn dest<'a>(&'a self, key: &'a str) -> &'a str {
        if self.dest.is_empty() {
            key
        } else {
            &self.dest
        }
    }
}

/// The text a field's value is looked up by: strings, integers and booleans; floats are not
/// mapped.
fn lookup_text(v: &FieldValue) -> Option<String> {
    match v {
        FieldValue::Float(_) => None,
        other => Some(other.to_text()),
    }
}

impl Processor for Enum {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        let mut new_fields = Vec::new();
        let mut new_tags = Vec::new();
        for mapping in &self.0 {
            if let Some(set) = &mapping.fields {
                for (key, value) in &m.fields {
                    if !set.is_match(key) {
                        continue;
                    }
                    let Some(text) = lookup_text(value) else {
                        continue;
                    };
                    if let Some(mapped) = mapping.map(&text) {
                        new_fields.push((mapping.dest(key).to_string(), mapped.clone()));
                    }
                }
            }
            if let Some(set) = &mapping.tags {
                for (key, value) in &m.tags {
                    if !set.is_match(key) {
                        continue;
                    }
                    match mapping.map(value) {
                        Some(FieldValue::Str(s)) => {
                            new_tags.push((mapping.dest(key).to_string(), s.clone()))
                        }
                        Some(_) => tracing::warn!(
                            "[processors.enum] mapped value for tag {key:?} is not a string; \
                             skipped"
                        ),
                        None => {}
                    }
                }
            }
        }
        for (k, v) in new_fields {
            m.remove_field(&k);
            m.add_field(k, v);
        }
        m.tags.extend(new_tags);
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    #[test]
    fn maps_fields_and_tags_with_defaults() {
        let mut p = processor(
            "enum",
            r#"
            [[mapping]]
            field = "status"
            dest = "status_code"
            default = -1
            [mapping.value_mappings]
            green = 1
            amber = 2
            [[mapping]]
            fields = ["up*"]
            [mapping.value_mappings]
            "true" = "yes"
            1 = "one"
            [[mapping]]
            tag = "level"
            [mapping.value_mappings]
            "0" = "ok"
            "1" = 1
            "#,
        );
        let m = Metric::new("m", 1)
            .with_tag("level", "0")
            .with_field("status", "green")
            .with_field("up", true)
            .with_field("upcount", 1i64)
            .with_field("upf", 1.0);
        let m = run(&mut p, vec![m]).remove(0);
        assert_eq!(m.field("status_code"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("status"), Some(&FieldValue::Str("green".into())));
        assert_eq!(m.field("up"), Some(&FieldValue::Str("yes".into())));
        assert_eq!(m.field("upcount"), Some(&FieldValue::Str("one".into())));
        assert_eq!(m.field("upf"), Some(&FieldValue::Float(1.0)));
        assert_eq!(m.tags.get("level").map(String::as_str), Some("ok"));

        let m = Metric::new("m", 1)
            .with_tag("level", "1")
            .with_field("status", "purple");
        let m = run(&mut p, vec![m]).remove(0);
        assert_eq!(m.field("status_code"), Some(&FieldValue::Int(-1)));
        // A non-string value cannot be a tag: left as it was.
        assert_eq!(m.tags.get("level").map(String::as_str), Some("1"));
    }
}
