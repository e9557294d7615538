//! `processors.strings`: string functions (`lowercase`, `trim`, `replace`, `left`,
//! `base64decode`, …) applied to tag values, string field values, tag and field keys and the
//! measurement name, selected by globs. Functions run in Telegraf's fixed order, whatever the
//! order of the tables in the file.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::{FieldValue, Metric};
use base64::Engine;
use globset::GlobMatcher;
use serde::{Deserialize, Serialize};

/// Options of `[processors.strings]`: a list of targets per function.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct StringsConfig {
    /// To lower case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lowercase: Vec<Target>,
    /// To upper case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uppercase: Vec<Target>,
    /// First letter of each word to upper case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub titlecase: Vec<Target>,
    /// `cutset` (default: white space) removed from both ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trim: Vec<Target>,
    /// `cutset` removed from the start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trim_left: Vec<Target>,
    /// `cutset` removed from the end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trim_right: Vec<Target>,
    /// `prefix` removed once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trim_prefix: Vec<Target>,
    /// `suffix` removed once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trim_suffix: Vec<Target>,
    /// Every `old` replaced by `new`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Target>,
    /// The first `width` bytes kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<Target>,
    /// Base64 decoded when the result is valid UTF-8.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub base64decode: Vec<Target>,
    /// Invalid UTF-8 replaced (telegraf-rs holds only valid UTF-8, so values pass unchanged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub valid_utf8: Vec<Target>,
}

/// What one function applies to (globs) and its arguments.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Target {
    /// String fields' values.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Tags' values.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// Field keys.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_key: String,
    /// Tag keys.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_key: String,
    /// The measurement name (when it matches).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub measurement: String,
    /// Where a single named field or tag's result goes instead.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dest: String,
    /// Characters trimmed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cutset: String,
    /// For `trim_prefix`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// For `trim_suffix`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub suffix: String,
    /// For `replace`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub old: String,
    /// For `replace`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub new: String,
    /// For `left`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// For `valid_utf8`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replacement: String,
}

#[derive(Debug, Clone, Copy)]
enum Function {
    Lower,
    Upper,
    Title,
    Trim,
    TrimLeft,
    TrimRight,
    TrimPrefix,
    TrimSuffix,
    Replace,
    Left,
    Base64,
    ValidUtf8,
}

struct Converter {
    function: Function,
    args: Target,
    field: Option<GlobMatcher>,
    tag: Option<GlobMatcher>,
    field_key: Option<GlobMatcher>,
    tag_key: Option<GlobMatcher>,
    measurement: Option<GlobMatcher>,
}

fn matcher(option: &str, pattern: &str) -> Result<Option<GlobMatcher>, ProcessorError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    globset::Glob::new(pattern)
        .map(|g| Some(g.compile_matcher()))
        .map_err(|e| ProcessorError(format!("{option}: {e}")))
}

/// Builds the processor.
pub fn build(
    c: &StringsConfig,
    _: &ProcessorContext,
) -> Result<Box<dyn Processor>, ProcessorError> {
    let lists = [
        (Function::Lower, &c.lowercase),
        (Function::Upper, &c.uppercase),
        (Function::Title, &c.titlecase),
        (Function::Trim, &c.trim),
        (Function::TrimLeft, &c.trim_left),
        (Function::TrimRight, &c.trim_right),
        (Function::TrimPrefix, &c.trim_prefix),
        (Function::TrimSuffix, &c.trim_suffix),
        (Function::Replace, &c.replace),
        (Function::Left, &c.left),
        (Function::Base64, &c.base64decode),
        (Function::ValidUtf8, &c.valid_utf8),
    ];
    let mut converters = Vec::new();
    for (function, targets) in lists {
        for t in targets {
            converters.push(Converter {
                function,
                args: t.clone(),
                field: matcher("field", &t.field)?,
                tag: matcher("tag", &t.tag)?,
                field_key: matcher("field_key", &t.field_key)?,
                tag_key: matcher("tag_key", &t.tag_key)?,
                measurement: matcher("measurement", &t.measurement)?,
            });
        }
    }
    Ok(Box::new(Strings(converters)))
}

struct Strings(Vec<Converter>);

/// Go's `strings.Title`: upper-cases each letter that follows a separator (anything but a
/// letter, digit or `_`).
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_separator = true;
    for c in s.chars() {
        if after_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        after_separator = !(c.is_alphanumeric() || c == '_');
    }
    out
}

impl Converter {
    fn run(&self, s: &str) -> String {
        let a = &self.args;
        let cut = |c: char| match a.cutset.is_empty() {
            true => c.is_whitespace(),
            false => a.cutset.contains(c),
        };
        match self.function {
            Function::Lower => s.to_lowercase(),
            Function::Upper => s.to_uppercase(),
            Function::Title => title(s),
            Function::Trim => s.trim_matches(cut).to_string(),
            Function::TrimLeft => s.trim_start_matches(cut).to_string(),
            Function::TrimRight => s.trim_end_matches(cut).to_string(),
            Function::TrimPrefix => s.strip_prefix(a.prefix.as_str()).unwrap_or(s).to_string(),
            Function::TrimSuffix => s.strip_suffix(a.suffix.as_str()).unwrap_or(s).to_string(),
            Function::Replace if a.old.is_empty() => s.to_string(),
            Function::Replace => s.replace(&a.old, &a.new),
            Function::Left => {
                let mut width = a.width.unwrap_or(0).min(s.len());
                while !s.is_char_boundary(width) {
                    width -= 1;
                }
                s[..width].to_string()
            }
            Function::Base64 => base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_else(|| s.to_string()),
            Function::ValidUtf8 => s.to_string(),
        }
    }

    /// Where the result for `key` goes: `dest` when the target names one key, else `key`.
    fn dest(&self, pattern: &str, key: &str) -> String {
        let single = !pattern.contains(['*', '?', '[', '{']);
        match single && !self.args.dest.is_empty() {
            true => self.args.dest.clone(),
            false => key.to_string(),
        }
    }

    fn convert(&self, m: &mut Metric) {
        if let Some(glob) = &self.field {
            let selected: Vec<(String, String)> = m
                .fields
                .iter()
                .filter_map(|(k, v)| match v {
                    FieldValue::Str(s) if glob.is_match(k) => Some((k.clone(), s.clone())),
                    _ => None,
                })
                .collect();
            for (key, value) in selected {
                m.add_field(self.dest(&self.args.field, &key), self.run(&value));
            }
        }
        if let Some(glob) = &self.field_key {
            let keys: Vec<String> = m
                .fields
                .iter()
                .filter(|(k, _)| glob.is_match(k))
                .map(|(k, _)| k.clone())
                .collect();
            for key in keys {
                if let Some(v) = m.remove_field(&key) {
                    m.add_field(self.run(&key), v);
                }
            }
        }
        if let Some(glob) = &self.tag {
            let selected: Vec<(String, String)> = m
                .tags
                .iter()
                .filter(|(k, _)| glob.is_match(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (key, value) in selected {
                m.tags
                    .insert(self.dest(&self.args.tag, &key), self.run(&value));
            }
        }
        if let Some(glob) = &self.tag_key {
            let keys: Vec<String> = m
                .tags
                .keys()
                .filter(|k| glob.is_match(k))
                .cloned()
                .collect();
            for key in keys {
                if let Some(v) = m.tags.remove(&key) {
                    m.tags.insert(self.run(&key), v);
                }
            }
        }
        if let Some(glob) = &self.measurement {
            if glob.is_match(&m.name) {
                m.name = self.run(&m.name);
            }
        }
    }
}

impl Processor for Strings {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        for c in &self.0 {
            c.convert(&mut m);
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    fn metric() -> Metric {
        Metric::new("IIS_log", 1)
            .with_tag("verb", "get")
            .with_tag("Resp_Code", "200")
            .with_field("uri_stem", "/API/Users ")
            .with_field("cs-host", "  My.Host  ")
            .with_field("payload", "aGVsbG8=")
            .with_field("n", 1i64)
    }

    #[test]
    fn functions_on_values_keys_and_names() {
        let mut p = processor(
            "strings",
            r#"
            [[uppercase]]
            tag = "verb"
            dest = "method"
            [[lowercase]]
            field = "uri_stem"
            [[lowercase]]
            measurement = "*"
            [[trim]]
            field = "cs-host"
            [[trim_right]]
            field = "uri_stem"
            [[replace]]
            field_key = "cs-*"
            old = "-"
            new = "_"
            [[lowercase]]
            tag_key = "Resp_Code"
            [[base64decode]]
            field = "payload"
            [[left]]
            field = "uri_stem"
            width = 4
            [[titlecase]]
            tag = "verb"
            "#,
        );
        let m = run(&mut p, vec![metric()]).remove(0);
        assert_eq!(m.name, "iis_log");
        assert_eq!(m.tags.get("method").map(String::as_str), Some("GET"));
        assert_eq!(m.tags.get("verb").map(String::as_str), Some("Get"));
        assert_eq!(m.tags.get("resp_code").map(String::as_str), Some("200"));
        assert_eq!(m.field("uri_stem"), Some(&FieldValue::Str("/api".into())));
        assert_eq!(m.field("cs_host"), Some(&FieldValue::Str("My.Host".into())));
        assert_eq!(m.field("payload"), Some(&FieldValue::Str("hello".into())));
        assert_eq!(m.field("n"), Some(&FieldValue::Int(1)));
    }

    #[test]
    fn title_and_left_as_go() {
        assert_eq!(title("hello wORLD-foo_bar"), "Hello WORLD-Foo_bar");
        let c = Converter {
            function: Function::Left,
            args: Target {
                width: Some(2),
                ..Target::default()
            },
            field: None,
            tag: None,
            field_key: None,
            tag_key: None,
            measurement: None,
        };
        assert_eq!(c.run("héllo"), "h");
        assert_eq!(c.run("a"), "a");
    }
}
