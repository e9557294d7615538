//! `processors.date`: adds a tag or field holding the metric's timestamp formatted with a Go
//! time layout (`Jan`, `2006-01-02`, `Mon`, …) in a time zone, or as a Unix count.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::gotime::go_format;
use crate::metric::Metric;
use crate::options::GoDuration;
use chrono::TimeZone;
use serde::{Deserialize, Serialize};

/// Options of `[processors.date]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DateConfig {
    /// The tag to add (exactly one of `tag_key` and `field_key`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_key: String,
    /// The field to add.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_key: String,
    /// A Go layout, or `unix`, `unix_ms`, `unix_us`, `unix_ns`.
    pub date_format: String,
    /// Added to the timestamp first.
    pub date_offset: GoDuration,
    /// `UTC` (default), `Local`, or an IANA zone name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timezone: String,
}

#[derive(Debug, Clone, Copy)]
enum Zone {
    Utc,
    Local,
    Named(chrono_tz::Tz),
}

/// Builds the processor.
pub fn build(c: &DateConfig, _: &ProcessorContext) -> Result<Box<dyn Processor>, ProcessorError> {
    match (c.tag_key.is_empty(), c.field_key.is_empty()) {
        (true, true) => {
            return Err(ProcessorError(
                "one of field_key or tag_key must be set".into(),
            ))
        }
        (false, false) => {
            return Err(ProcessorError(
                "only one of field_key or tag_key can be set".into(),
            ))
        }
        _ => {}
    }
    if c.date_format.is_empty() {
        return Err(ProcessorError("date_format is required".into()));
    }
    let zone = match c.timezone.as_str() {
        "" | "UTC" => Zone::Utc,
        "Local" => Zone::Local,
        name => Zone::Named(
            name.parse()
                .map_err(|_| ProcessorError(format!("timezone {name:?}: unknown time zone")))?,
        ),
    };
    Ok(Box::new(Date {
        config: c.clone(),
        offset: i64::try_from(c.date_offset.0.as_nanos()).unwrap_or(i64::MAX),
        zone,
    }))
}

struct Date {
    config: DateConfig,
    offset: i64,
    zone: Zone,
}

/// The count a `unix*` format names, for time `ns`.
fn unix_count(format: &str, ns: i64) -> Option<i64> {
    Some(match format {
        "unix" => ns.div_euclid(1_000_000_000),
        "unix_ms" => ns.div_euclid(1_000_000),
        "unix_us" => ns.div_euclid(1_000),
        "unix_ns" => ns,
        _ => return None,
    })
}

impl Processor for Date {
    fn apply(&mut self, mut m: Metric, out: &mut Vec<Metric>) {
        let ns = m.time.saturating_add(self.offset);
        let c = &self.config;
        let text = || match self.zone {
            Zone::Utc => go_format(&chrono::Utc.timestamp_nanos(ns), &c.date_format),
            Zone::Local => go_format(&chrono::Local.timestamp_nanos(ns), &c.date_format),
            Zone::Named(tz) => go_format(&tz.timestamp_nanos(ns), &c.date_format),
        };
        if !c.tag_key.is_empty() {
            let value = unix_count(&c.date_format, ns).map_or_else(text, |n| n.to_string());
            m.tags.insert(c.tag_key.clone(), value);
        } else {
            match unix_count(&c.date_format, ns) {
                Some(n) => m.add_field(c.field_key.clone(), n),
                None => m.add_field(c.field_key.clone(), text()),
            }
        }
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::testing::{processor, run};

    // 2023-11-14T22:13:20.123456789Z, a Tuesday.
    const T: i64 = 1_700_000_000_123_456_789;

    #[test]
    fn tag_or_field_with_offset_and_zone() {
        let mut p = processor("date", "tag_key = \"month\"\ndate_format = \"Jan\"");
        let m = run(&mut p, vec![Metric::new("m", T).with_field("v", 1i64)]).remove(0);
        assert_eq!(m.tags.get("month").map(String::as_str), Some("Nov"));
        let mut p = processor(
            "date",
            "field_key = \"day\"\ndate_format = \"2006-01-02\"\ndate_offset = \"2h\"\n\
             timezone = \"Asia/Tokyo\"",
        );
        let m = run(&mut p, vec![Metric::new("m", T).with_field("v", 1i64)]).remove(0);
        assert_eq!(
            m.field("day"),
            Some(&crate::metric::FieldValue::Str("2023-11-15".into()))
        );
        let mut p = processor("date", "field_key = \"s\"\ndate_format = \"unix\"");
        let m = run(&mut p, vec![Metric::new("m", T).with_field("v", 1i64)]).remove(0);
        assert_eq!(
            m.field("s"),
            Some(&crate::metric::FieldValue::Int(1_700_000_000))
        );
    }

    #[test]
    fn both_or_neither_key_is_refused() {
        let c: DateConfig = toml::from_str("date_format = \"Jan\"").unwrap();
        assert!(build(&c, &ProcessorContext).is_err());
        let c: DateConfig =
            toml::from_str("date_format = \"Jan\"\ntag_key = \"a\"\nfield_key = \"b\"").unwrap();
        assert!(build(&c, &ProcessorContext).is_err());
    }
}
