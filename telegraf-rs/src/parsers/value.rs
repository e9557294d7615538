//! `data_format = "value"`: a body holding one value (the last whitespace-separated word,
//! unless the type is `string`) becomes one field, `value` by default.

use super::{parse_go_bool, parse_go_float, ParserConfig};
use crate::metric::{FieldValue, Metric};

/// The type the value is read as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DataType {
    Integer,
    Float,
    String,
    Boolean,
    AutoInteger,
    AutoFloat,
}

/// The `value` parser's settings.
#[derive(Debug, Clone)]
pub struct ValueParser {
    data_type: DataType,
    field: String,
}

impl ValueParser {
    /// Reads `data_type` and `value_field_name`.
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        let data_type = match config.data_type.as_str() {
            "" | "int" | "integer" | "long" => DataType::Integer,
            "float" => DataType::Float,
            "str" | "string" => DataType::String,
            "bool" | "boolean" => DataType::Boolean,
            "auto_integer" => DataType::AutoInteger,
            "auto_float" => DataType::AutoFloat,
            other => return Err(format!("data_type {other:?}: unknown type")),
        };
        let field = match config.value_field_name.as_str() {
            "" => "value".to_string(),
            name => name.to_string(),
        };
        Ok(ValueParser { data_type, field })
    }

    /// Parses one body into one metric (none for an empty body).
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let text = String::from_utf8_lossy(body);
        let text = text.trim_matches(|c: char| c == '\0').trim();
        let word = match self.data_type {
            DataType::String => text,
            _ => match text.split_whitespace().last() {
                Some(w) => w,
                None => return Ok(Vec::new()),
            },
        };
        let bad = |what: &str| format!("{word:?} is not {what}");
        let value = match self.data_type {
            DataType::Integer => FieldValue::Int(word.parse().map_err(|_| bad("an integer"))?),
            DataType::Float => {
                FieldValue::Float(parse_go_float(word).ok_or_else(|| bad("a float"))?)
            }
            DataType::String => FieldValue::Str(word.to_string()),
            DataType::Boolean => {
                FieldValue::Bool(parse_go_bool(word).ok_or_else(|| bad("a boolean"))?)
            }
            DataType::AutoInteger => match (word.parse::<i64>(), parse_go_float(word)) {
                (Ok(i), _) => FieldValue::Int(i),
                (_, Some(f)) => FieldValue::Float(f),
                _ => FieldValue::Str(word.to_string()),
            },
            DataType::AutoFloat => match parse_go_float(word) {
                Some(f) => FieldValue::Float(f),
                None => FieldValue::Str(word.to_string()),
            },
        };
        Ok(vec![
            Metric::new(name, now).with_field(self.field.clone(), value)
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(data_type: &str) -> ValueParser {
        ValueParser::new(&ParserConfig {
            data_type: data_type.into(),
            ..ParserConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn the_last_word_in_its_type() {
        let m = parser("integer")
            .parse(b"1 2 55\n", "exec", 3)
            .unwrap()
            .remove(0);
        assert_eq!((m.name.as_str(), m.time), ("exec", 3));
        assert_eq!(m.field("value"), Some(&FieldValue::Int(55)));
        let m = parser("float").parse(b"  2.5  ", "x", 0).unwrap().remove(0);
        assert_eq!(m.field("value"), Some(&FieldValue::Float(2.5)));
        let m = parser("string")
            .parse(b"hello world\n", "x", 0)
            .unwrap()
            .remove(0);
        assert_eq!(
            m.field("value"),
            Some(&FieldValue::Str("hello world".into()))
        );
        let m = parser("boolean").parse(b"T", "x", 0).unwrap().remove(0);
        assert_eq!(m.field("value"), Some(&FieldValue::Bool(true)));
        let m = parser("auto_integer")
            .parse(b"2.5", "x", 0)
            .unwrap()
            .remove(0);
        assert_eq!(m.field("value"), Some(&FieldValue::Float(2.5)));
        let m = parser("auto_float").parse(b"up", "x", 0).unwrap().remove(0);
        assert_eq!(m.field("value"), Some(&FieldValue::Str("up".into())));
        assert!(parser("integer").parse(b"", "x", 0).unwrap().is_empty());
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_naming_it() {
        let err = parser("integer").parse(b"2.5", "x", 0).unwrap_err();
        assert!(err.contains("\"2.5\" is not an integer"), "{err}");
        let named = ValueParser::new(&ParserConfig {
            value_field_name: "temp".into(),
            ..ParserConfig::default()
        })
        .unwrap();
        assert!(named.parse(b"1", "x", 0).unwrap()[0]
            .field("temp")
            .is_some());
    }
}
