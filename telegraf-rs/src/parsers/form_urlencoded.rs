//! `data_format = "form_urlencoded"`: an HTML form body (`a=1&b=2.5&tag=x`): numeric values
//! become float fields, `form_urlencoded_tag_keys` become tags, anything else is left out.

use super::{parse_go_float, ParserConfig};
use crate::metric::Metric;

/// The `form_urlencoded` parser's settings.
#[derive(Debug, Clone)]
pub struct FormParser {
    tag_keys: Vec<String>,
}

impl FormParser {
    /// Reads `form_urlencoded_tag_keys`.
    pub fn new(config: &ParserConfig) -> Self {
        FormParser {
            tag_keys: config.form_urlencoded_tag_keys.clone(),
        }
    }

    /// Parses one body into one metric (none when no value is numeric).
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let body = body.trim_ascii();
        let mut m = Metric::new(name, now);
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in form_urlencoded::parse(body) {
            // Go's url.ParseQuery keeps every value; Telegraf reads the first.
            if !seen.insert(key.to_string()) {
                continue;
            }
            if self.tag_keys.iter().any(|k| *k == key) {
                m.tags.insert(key.into_owned(), value.into_owned());
            } else if let Some(f) = parse_go_float(&value) {
                m.add_field(key.into_owned(), f);
            }
        }
        Ok(if m.fields.is_empty() {
            Vec::new()
        } else {
            vec![m]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    #[test]
    fn numbers_become_fields_and_tag_keys_tags() {
        let p = FormParser::new(&ParserConfig {
            form_urlencoded_tag_keys: vec!["tag1".into()],
            ..ParserConfig::default()
        });
        let ms = p
            .parse(
                b"field1=42&field2=69.5&tag1=foo%20bar&other=x&field1=7\n",
                "form",
                1,
            )
            .unwrap();
        let m = &ms[0];
        assert_eq!(m.field("field1"), Some(&FieldValue::Float(42.0)));
        assert_eq!(m.field("field2"), Some(&FieldValue::Float(69.5)));
        assert_eq!(m.field("other"), None);
        assert_eq!(m.tags["tag1"], "foo bar");
        assert!(p.parse(b"a=x", "form", 1).unwrap().is_empty());
    }
}
