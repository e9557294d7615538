//! `data_format = "carbon2"`: `metric=<name> field=<field> <tag>=<value>…  <value> <ts>` per
//! numeric field (or `metric=<name>_<field>` with `carbon2_format = "metric_includes_field"`).

use super::{plain_number, SerializerConfig};
use crate::metric::Metric;

/// The `carbon2` serializer's settings.
#[derive(Debug, Clone)]
pub struct Carbon2Serializer {
    includes_field: bool,
    replace: String,
}

impl Carbon2Serializer {
    /// Reads `carbon2_format` and `carbon2_sanitize_replace_char`.
    pub fn new(config: &SerializerConfig) -> Result<Self, String> {
        let includes_field = match config.carbon2_format.as_str() {
            "" | "field_separate" => false,
            "metric_includes_field" => true,
            other => {
                return Err(format!(
                    "carbon2_format {other:?}: field_separate or metric_includes_field"
                ))
            }
        };
        let replace = match config.carbon2_sanitize_replace_char.as_str() {
            "" => ":".to_string(),
            c if c.chars().count() == 1 => c.to_string(),
            c => {
                return Err(format!(
                    "carbon2_sanitize_replace_char {c:?} must be one character"
                ))
            }
        };
        Ok(Carbon2Serializer {
            includes_field,
            replace,
        })
    }

    fn clean(&self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if c == '=' || c.is_whitespace() {
                    self.replace.clone()
                } else {
                    c.to_string()
                }
            })
            .collect()
    }

    /// The lines of one metric.
    pub fn metric(&self, m: &Metric, out: &mut Vec<u8>) {
        let seconds = m.time.div_euclid(1_000_000_000);
        for (field, value) in &m.fields {
            let Some(text) = plain_number(value) else {
                continue;
            };
            let mut line = match self.includes_field {
                true => format!("metric={}_{} ", self.clean(&m.name), self.clean(field)),
                false => format!(
                    "metric={} field={} ",
                    self.clean(&m.name),
                    self.clean(field)
                ),
            };
            for (k, v) in &m.tags {
                line.push_str(&format!("{}={} ", self.clean(k), self.clean(v)));
            }
            line.push_str(&format!(" {text} {seconds}\n"));
            out.extend_from_slice(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        let m = Metric::new("weather", 1_465_839_830_100_400_200)
            .with_tag("location", "us-midwest")
            .with_tag("season", "summer")
            .with_field("temperature", 82i64);
        let mut out = Vec::new();
        Carbon2Serializer::new(&SerializerConfig::default())
            .unwrap()
            .metric(&m, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "metric=weather field=temperature location=us-midwest season=summer  82 1465839830\n"
        );
        let config = SerializerConfig {
            carbon2_format: "metric_includes_field".into(),
            ..SerializerConfig::default()
        };
        let mut out = Vec::new();
        Carbon2Serializer::new(&config)
            .unwrap()
            .metric(&m, &mut out);
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("metric=weather_temperature location="));
    }
}
