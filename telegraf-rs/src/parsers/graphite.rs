//! `data_format = "graphite"`: plaintext `path value [timestamp]` lines, with Graphite 1.1
//! tags (`path;tag=value`), turned into measurement, tags and field by templates
//! (`[filter] template [tag=value,…]`, parts `measurement`, `measurement*`, `field`,
//! `field*`, a tag name or nothing), the most specific matching filter winning.

use super::{parse_go_float, ParserConfig};
use crate::metric::Metric;
use std::collections::BTreeMap;

/// One compiled template.
#[derive(Debug, Clone)]
struct Template {
    /// Filter parts (`*` matches any one part); empty for the default template.
    filter: Vec<String>,
    parts: Vec<String>,
    tags: BTreeMap<String, String>,
}

/// The `graphite` parser's settings.
#[derive(Debug, Clone)]
pub struct GraphiteParser {
    separator: String,
    templates: Vec<Template>,
    default: Template,
}

fn template(text: &str) -> Result<Template, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (filter, pattern, tags) = match words[..] {
        [pattern] => ("", pattern, ""),
        [pattern, tags] if tags.contains('=') => ("", pattern, tags),
        [filter, pattern] => (filter, pattern, ""),
        [filter, pattern, tags] => (filter, pattern, tags),
        _ => {
            return Err(format!(
                "template {text:?}: expected [filter] template [tags]"
            ))
        }
    };
    let parts: Vec<String> = pattern.split('.').map(str::to_string).collect();
    let greedy = |p: &str| parts.iter().any(|x| x == p);
    if greedy("measurement*") && greedy("field*") {
        return Err(format!(
            "template {text:?}: either 'field*' or 'measurement*' can be used, not both"
        ));
    }
    let mut tag_map = BTreeMap::new();
    for pair in tags.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("template {text:?}: bad tag {pair:?}"))?;
        tag_map.insert(k.to_string(), v.to_string());
    }
    Ok(Template {
        filter: match filter {
            "" => Vec::new(),
            f => f.split('.').map(str::to_string).collect(),
        },
        parts,
        tags: tag_map,
    })
}

impl Template {
    /// How specifically the filter matches `path`: per filter part 2 for an exact match, 1
    /// for a wildcard; `None` when it does not match.
    fn score(&self, path: &[&str]) -> Option<Vec<u8>> {
        if self.filter.len() > path.len() {
            return None;
        }
        self.filter
            .iter()
            .zip(path)
            .map(|(f, p)| match f.as_str() {
                "*" => Some(1),
                f if f == *p => Some(2),
                f if f.contains('*') => globset::Glob::new(f)
                    .ok()
                    .filter(|g| g.compile_matcher().is_match(p))
                    .map(|_| 1),
                _ => None,
            })
            .collect()
    }

    /// Measurement, tags and field of `path`.
    fn apply(&self, path: &[&str], separator: &str) -> (String, BTreeMap<String, String>, String) {
        let mut measurement = Vec::new();
        let mut field = Vec::new();
        let mut tags: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (i, part) in self.parts.iter().enumerate() {
            let Some(value) = path.get(i) else {
                break;
            };
            match part.as_str() {
                "" => {}
                "measurement" => measurement.push(*value),
                "field" => field.push(*value),
                "measurement*" => {
                    measurement.extend(&path[i..]);
                    break;
                }
                "field*" => {
                    field.extend(&path[i..]);
                    break;
                }
                tag => tags.entry(tag.to_string()).or_default().push(value),
            }
        }
        let mut joined: BTreeMap<String, String> = self.tags.clone();
        for (k, v) in tags {
            joined.insert(k, v.join(separator));
        }
        (measurement.join(separator), joined, field.join(separator))
    }
}

impl GraphiteParser {
    /// Compiles `templates` and `separator` (`.` by default).
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        let mut templates = Vec::new();
        let mut default = template("measurement*")?;
        for text in &config.templates {
            let t = template(text)?;
            match t.filter.is_empty() {
                true => default = t,
                false => templates.push(t),
            }
        }
        Ok(GraphiteParser {
            separator: config.separator.clone().unwrap_or_else(|| ".".into()),
            templates,
            default,
        })
    }

    /// Parses every line; the first bad one is the error, naming its number.
    pub fn parse(&self, body: &[u8], now: i64) -> Result<Vec<Metric>, String> {
        let text = std::str::from_utf8(body).map_err(|e| format!("invalid UTF-8: {e}"))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                self.line(l, now)
                    .map_err(|e| format!("line {}: {e}", n + 1))
            })
            .collect()
    }

    /// Measurement, tags and field of a dotted `path` by the most specific matching template
    /// (the whole path when the template names no measurement) — also how `statsd` names
    /// its buckets.
    pub fn name_of(&self, path_text: &str) -> (String, BTreeMap<String, String>, String) {
        let path: Vec<&str> = path_text.split('.').collect();
        let template = self
            .templates
            .iter()
            .filter_map(|t| t.score(&path).map(|s| (s, t)))
            .fold(None::<(Vec<u8>, &Template)>, |best, (s, t)| match &best {
                Some((b, _)) if *b >= s => best,
                _ => Some((s, t)),
            })
            .map_or(&self.default, |(_, t)| t);
        let (mut measurement, tags, field) = template.apply(&path, &self.separator);
        if measurement.is_empty() {
            measurement = path_text.to_string();
        }
        (measurement, tags, field)
    }

    fn line(&self, line: &str, now: i64) -> Result<Metric, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() != 2 && words.len() != 3 {
            return Err(format!(
                "received {line:?} which doesn't have required fields"
            ));
        }
        let mut name_and_tags = words[0].split(';');
        let path_text = name_and_tags.next().unwrap_or_default();
        let (measurement, mut tags, field) = self.name_of(path_text);
        for pair in name_and_tags {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("bad tag {pair:?}"))?;
            tags.insert(k.to_string(), v.to_string());
        }
        let value = parse_go_float(words[1])
            .ok_or_else(|| format!("field {:?} value: not a number", words[1]))?;
        let mut m = Metric::new(measurement, now);
        m.tags = tags;
        m.add_field(
            if field.is_empty() {
                "value".to_string()
            } else {
                field
            },
            value,
        );
        if let Some(ts) = words.get(2) {
            let seconds: f64 = ts
                .parse()
                .map_err(|_| format!("timestamp {ts:?}: not a number"))?;
            // -1 stands for now (carbon's convention).
            if seconds != -1.0 {
                if !(0.0..=253_402_300_799.0).contains(&seconds) {
                    return Err(format!("timestamp {ts:?} out of range"));
                }
                m.time = (seconds * 1e9) as i64;
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use proptest::prelude::*;

    fn parser(templates: &[&str], separator: &str) -> GraphiteParser {
        GraphiteParser::new(&ParserConfig {
            templates: templates.iter().map(|t| t.to_string()).collect(),
            separator: Some(separator.into()),
            ..ParserConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn templates_from_telegrafs_documentation() {
        let p = parser(
            &[
                "*.app env.service.resource.measurement",
                "stats.* .host.measurement* region=eu-east,agent=sensu",
                "servers.localhost .host.measurement*",
                "measurement.measurement.field",
            ],
            "_",
        );
        let m = &p
            .parse(b"stats.local.memory.free 10 1700000000\n", 0)
            .unwrap()[0];
        assert_eq!(m.name, "memory_free");
        assert_eq!(m.tags["host"], "local");
        assert_eq!(m.tags["region"], "eu-east");
        assert_eq!(m.time, 1_700_000_000_000_000_000);
        let m = &p.parse(b"prod.app.checkout.latency 3.5", 7).unwrap()[0];
        assert_eq!((m.name.as_str(), m.time), ("latency", 7));
        assert_eq!(m.tags["env"], "prod");
        assert_eq!(m.tags["service"], "app");
        assert_eq!(m.tags["resource"], "checkout");
        assert_eq!(m.field("value"), Some(&FieldValue::Float(3.5)));
        let m = &p.parse(b"cpu.load.idle 99", 0).unwrap()[0];
        assert_eq!(m.name, "cpu_load");
        assert_eq!(m.field("idle"), Some(&FieldValue::Float(99.0)));
        let m = &p.parse(b"servers.localhost.cpu.user 1", 0).unwrap()[0];
        assert_eq!(m.name, "cpu_user");
    }

    #[test]
    fn default_template_and_graphite_tags() {
        let p = parser(&[], ".");
        let m = &p.parse(b"a.b.c;dc=x;rack=1 5 -1", 3).unwrap()[0];
        assert_eq!(m.name, "a.b.c");
        assert_eq!(m.tags["dc"], "x");
        assert_eq!(m.time, 3);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let p = parser(&[], ".");
        assert!(p
            .parse(b"a 1\nb\n", 0)
            .unwrap_err()
            .starts_with("line 2: received"));
        assert!(p.parse(b"a x", 0).unwrap_err().contains("not a number"));
        assert!(GraphiteParser::new(&ParserConfig {
            templates: vec!["measurement*.field*".into()],
            ..ParserConfig::default()
        })
        .is_err());
    }

    proptest! {
        #[test]
        fn never_panics(body in "\\PC{0,80}") {
            let p = parser(&["a.* .host.measurement* x=y", "field*"], "_");
            let _ = p.parse(body.as_bytes(), 0);
        }

        #[test]
        fn written_lines_read_back(
            path in proptest::collection::vec("[a-z]{1,6}", 1..5),
            value in -1e9f64..1e9,
            ts in 0i64..4_000_000_000,
        ) {
            let p = parser(&[], ".");
            let line = format!("{} {value} {ts}\n", path.join("."));
            let m = p.parse(line.as_bytes(), 0).unwrap().remove(0);
            prop_assert_eq!(&m.name, &path.join("."));
            prop_assert_eq!(m.field("value"), Some(&FieldValue::Float(value)));
            prop_assert_eq!(m.time, ts * 1_000_000_000);
        }
    }
}
