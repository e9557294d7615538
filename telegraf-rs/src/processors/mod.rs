//! Processor plugins: each changes, adds or drops metrics on their way from the inputs to the
//! outputs (and, a second time, the metrics aggregators produce), in the order of their
//! `order` option, then of the configuration files.
//!
//! Each plugin is a file behind the [`Processor`] trait, registered in [`ProcessorSettings`]
//! under Telegraf's name with Telegraf's options.

use crate::metric::Metric;

pub mod converter;
pub mod date;
pub mod dedup;
pub mod defaults;
pub mod r#enum;
pub mod r#override;
pub mod printer;
pub mod regex;
pub mod rename;
pub mod strings;
pub mod topk;

/// Settings that cannot work, found when the processor is built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProcessorError(pub String);

/// A plugin that sees every metric its filters select and passes on what it makes of it.
pub trait Processor: Send {
    /// Processes one metric, pushing what goes on (none, it, or more) to `out`.
    fn apply(&mut self, m: Metric, out: &mut Vec<Metric>);
}

/// What processors are built with (nothing yet: they need no host access).
#[derive(Debug, Clone, Default)]
pub struct ProcessorContext;

crate::registry::registry! {
    kind = "processors", settings = ProcessorSettings, plugin = dyn Processor,
    context = ProcessorContext, error = ProcessorError;
    Converter => "converter", converter::ConverterConfig;
    Date => "date", date::DateConfig;
    Dedup => "dedup", dedup::DedupConfig;
    Defaults => "defaults", defaults::DefaultsConfig;
    Enum => "enum", r#enum::EnumConfig;
    Override => "override", r#override::OverrideConfig;
    Printer => "printer", printer::PrinterConfig;
    Regex => "regex", regex::RegexConfig;
    Rename => "rename", rename::RenameConfig;
    Strings => "strings", strings::StringsConfig;
    Topk => "topk", topk::TopkConfig;
}

/// Compiles a list of globs naming fields, tags or measurements; `None` when it is empty.
pub(crate) fn globs(
    option: &str,
    patterns: &[String],
) -> Result<Option<globset::GlobSet>, ProcessorError> {
    crate::filter::compile(option, patterns).map_err(|e| ProcessorError(e.to_string()))
}

/// A TOML value given in a plugin's options (`value_mappings`, `defaults`) as a field value.
pub(crate) fn toml_field_value(value: &toml::Value) -> Option<crate::metric::FieldValue> {
    use crate::metric::FieldValue;
    Some(match value {
        toml::Value::String(s) => FieldValue::Str(s.clone()),
        toml::Value::Integer(i) => FieldValue::Int(*i),
        toml::Value::Float(f) => FieldValue::Float(*f),
        toml::Value::Boolean(b) => FieldValue::Bool(*b),
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builds a processor from TOML options and runs metrics through it.
    use super::*;

    /// The processor `name` with the options in `options`.
    pub(crate) fn processor(name: &str, options: &str) -> Box<dyn Processor> {
        crate::registry::parse_for_test("processors", name, options, ProcessorSettings::parse_own)
            .build(&ProcessorContext)
            .unwrap()
    }

    /// What `p` makes of `metrics`.
    pub(crate) fn run(p: &mut Box<dyn Processor>, metrics: Vec<Metric>) -> Vec<Metric> {
        let mut out = Vec::new();
        for m in metrics {
            p.apply(m, &mut out);
        }
        out
    }
}
