//! `processors.defaults`: gives fields a value when they are missing or hold only whitespace.

use super::{toml_field_value, Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[processors.defaults]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DefaultsConfig {
    /// Field → its default value.
    pub fields: BTreeMap<String, toml::Value>,
}

/// Builds the processor.
pub fn build(
    c: &DefaultsConfig,
    _: &ProcessorContext,
) -> Result<Box<dyn Processor>, ProcessorError> {
    let fields = c
        .fields
        .iter()
        .map(|(k, v)| {
            toml_field_value(v).map(|v| (k.clone(), v)).ok_or_else(|| {
                ProcessorError(format!(
                    "fields.{k}: expected a string, number or boolean, found {}",
                    v.type_str()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Defaults(fields)))
}

struct Defaults(Vec<(String, FieldValue)>);

impl Processor for Defaults {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        for (key, default) in &self.0 {
            let missing = match m.field(key) {
                None => true,
                Some(FieldValue::Str(s)) => s.trim().is_empty(),
                Some(_) => false,
            };
            if missing {
                m.add_field(key.clone(), default.clone());
            }
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    #[test]
    fn fills_missing_and_blank_fields_only() {
        let mut p = processor(
            "defaults",
            "[fields]\nstatus = \"unknown\"\ncount = 0\nname = \"x\"",
        );
        let m = Metric::new("m", 1)
            .with_field("status", "  ")
            .with_field("name", "kept");
        let m = run(&mut p, vec![m]).remove(0);
        assert_eq!(m.field("status"), Some(&FieldValue::Str("unknown".into())));
        assert_eq!(m.field("count"), Some(&FieldValue::Int(0)));
        assert_eq!(m.field("name"), Some(&FieldValue::Str("kept".into())));
    }
}
