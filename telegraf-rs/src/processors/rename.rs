//! `processors.rename`: renames measurements, tags and fields, one `[[processors.rename.replace]]`
//! rule after another.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::Metric;
use serde::{Deserialize, Serialize};

/// Options of `[processors.rename]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RenameConfig {
    /// The rules, applied in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Replace>,
}

/// One rule: exactly one of `measurement`, `tag`, `field` names what is renamed to `dest`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Replace {
    /// A measurement name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub measurement: String,
    /// A tag key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// A field key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// The new name.
    pub dest: String,
}

/// Builds the processor.
pub fn build(c: &RenameConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    for (n, r) in c.replace.iter().enumerate() {
        let given = [&r.measurement, &r.tag, &r.field]
            .iter()
            .filter(|s| !s.is_empty())
            .count();
        if given != 1 || r.dest.is_empty() {
            return Err(ProcessorError(format!(
                "replace #{}: give one of measurement, tag or field, and dest",
                n + 1
            )));
        }
    }
    Ok(Box::new(Rename(c.replace.clone())))
}

struct Rename(Vec<Replace>);

impl Processor for Rename {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        for r in &self.0 {
            if !r.measurement.is_empty() {
                if m.name == r.measurement {
                    m.name = r.dest.clone();
                }
            } else if !r.tag.is_empty() {
                if let Some(v) = m.tags.remove(&r.tag) {
                    m.tags.insert(r.dest.clone(), v);
                }
            } else if let Some(v) = m.remove_field(&r.field) {
                m.add_field(r.dest.clone(), v);
            }
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use crate::processors::testing::{processor, run};

    #[test]
    fn renames_in_order() {
        let mut p = processor(
            "rename",
            r#"
            [[replace]]
            measurement = "network_interface_throughput"
            dest = "throughput"
            [[replace]]
            tag = "hostname"
            dest = "host"
            [[replace]]
            field = "lower"
            dest = "min"
            [[replace]]
            field = "min"
            dest = "minimum"
            "#,
        );
        let m = Metric::new("network_interface_throughput", 1)
            .with_tag("hostname", "a")
            .with_tag("host", "old")
            .with_field("lower", 1i64)
            .with_field("upper", 2i64);
        let m = run(&mut p, vec![m]).remove(0);
        assert_eq!(m.name, "throughput");
        assert_eq!(m.tags.get("host").map(String::as_str), Some("a"));
        assert_eq!(m.tags.len(), 1);
        assert_eq!(m.field("minimum"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("upper"), Some(&FieldValue::Int(2)));
    }

    #[test]
    fn a_rule_without_a_target_is_refused() {
        let c: RenameConfig = toml::from_str("[[replace]]\ndest = \"x\"").unwrap();
        assert!(build(&c, &ProcessorContext).is_err());
    }
}
