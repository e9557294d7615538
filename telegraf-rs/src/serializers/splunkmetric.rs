//! `data_format = "splunkmetric"`: Splunk's metric events — per numeric field
//! `{"_value":…,"metric_name":"<measurement>.<field>","time":…, <tags>}`, inside the HEC
//! envelope (`"event":"metric"`, `"fields"`) with `splunkmetric_hec_routing`, one event per
//! metric with `metric_name:<m>.<f>` keys with `splunkmetric_multimetric`.

use super::json::{go_json_float, go_json_string};
use super::{plain_number, SerializerConfig};
use crate::metric::{FieldValue, Metric};

/// The `splunkmetric` serializer's settings.
#[derive(Debug, Clone)]
pub struct SplunkSerializer {
    hec: bool,
    multimetric: bool,
}

impl SplunkSerializer {
    /// Reads `splunkmetric_hec_routing` and `splunkmetric_multimetric`.
    pub fn new(config: &SerializerConfig) -> Self {
        SplunkSerializer {
            hec: config.splunkmetric_hec_routing,
            multimetric: config.splunkmetric_multimetric,
        }
    }

    /// Seconds with milliseconds, as Splunk wants them.
    fn time(m: &Metric) -> String {
        go_json_float((m.time / 1_000_000) as f64 / 1000.0)
    }

    /// One event, laid out as Telegraf's encoder writes it: without HEC routing an object of
    /// the values, the tags and `time`, keys sorted; with it `time`, `event`, `host`, `index`,
    /// `source` (the last three from tags of those names) and then the sorted `fields`. Events
    /// follow one another without a separator, as Splunk's HEC takes a batch.
    fn event(&self, m: &Metric, values: &[(String, String)], out: &mut Vec<u8>) {
        let lifted = |k: &str| self.hec && matches!(k, "host" | "index" | "source");
        let mut inner: std::collections::BTreeMap<String, String> =
            values.iter().cloned().collect();
        for (k, v) in &m.tags {
            if !lifted(k) {
                inner.insert(k.clone(), go_json_string(v));
            }
        }
        let object = |pairs: &mut dyn Iterator<Item = (&str, &str)>| {
            let body: Vec<String> = pairs
                .map(|(k, v)| format!("{}:{v}", go_json_string(k)))
                .collect();
            format!("{{{}}}", body.join(","))
        };
        let text = match self.hec {
            true => {
                let fields = object(&mut inner.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                let mut outer = vec![("time", Self::time(m)), ("event", "\"metric\"".to_string())];
                for key in ["host", "index", "source"] {
                    if let Some(v) = m.tags.get(key) {
                        outer.push((key, go_json_string(v)));
                    }
                }
                outer.push(("fields", fields));
                object(&mut outer.iter().map(|(k, v)| (*k, v.as_str())))
            }
            false => {
                inner.insert("time".to_string(), Self::time(m));
                object(&mut inner.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        out.extend_from_slice(text.as_bytes());
    }

    /// Writes the events of one metric: one per numeric field, or one with them all with
    /// `splunkmetric_multimetric` (string fields are left out, as Telegraf does).
    pub fn metric(&self, m: &Metric, out: &mut Vec<u8>) {
        let numeric: Vec<(&String, String)> = m
            .fields
            .iter()
            .filter_map(|(k, v)| match v {
                FieldValue::Float(f) if f.is_finite() => Some((k, go_json_float(*f))),
                other => plain_number(other).map(|t| (k, t)),
            })
            .collect();
        if self.multimetric {
            let values: Vec<(String, String)> = numeric
                .iter()
                .map(|(k, v)| (format!("metric_name:{}.{k}", m.name), v.clone()))
                .collect();
            if !values.is_empty() {
                self.event(m, &values, out);
            }
            return;
        }
        for (k, v) in numeric {
            let values = [
                ("_value".to_string(), v),
                (
                    "metric_name".to_string(),
                    go_json_string(&format!("{}.{k}", m.name)),
                ),
            ];
            self.event(m, &values, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> Metric {
        Metric::new("cpu", 1_529_708_430_000_000_000)
            .with_tag("cpu", "cpu0")
            .with_tag("host", "mono")
            .with_field("usage_user", 0.6)
            .with_field("s", "x")
    }

    fn text(config: SerializerConfig) -> serde_json::Value {
        let mut out = Vec::new();
        SplunkSerializer::new(&config).metric(&cpu(), &mut out);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn plain_and_hec_events() {
        let plain = text(SerializerConfig::default());
        assert_eq!(plain["_value"], 0.6);
        assert_eq!(plain["metric_name"], "cpu.usage_user");
        assert_eq!(plain["cpu"], "cpu0");
        assert_eq!(plain["time"], 1_529_708_430);
        let hec = text(SerializerConfig {
            splunkmetric_hec_routing: true,
            ..SerializerConfig::default()
        });
        assert_eq!(hec["event"], "metric");
        assert_eq!(hec["host"], "mono");
        assert_eq!(hec["fields"]["metric_name"], "cpu.usage_user");
        let multi = text(SerializerConfig {
            splunkmetric_multimetric: true,
            ..SerializerConfig::default()
        });
        assert_eq!(multi["metric_name:cpu.usage_user"], 0.6);
        // Tags named index and source are the event's, with HEC routing.
        let mut out = Vec::new();
        SplunkSerializer::new(&SerializerConfig {
            splunkmetric_hec_routing: true,
            ..SerializerConfig::default()
        })
        .metric(
            &cpu().with_tag("index", "metrics").with_tag("source", "t"),
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"time\":1529708430,\"event\":\"metric\",\"host\":\"mono\",\"index\":\"metrics\",\
             \"source\":\"t\",\"fields\":{\"_value\":0.6,\"cpu\":\"cpu0\",\"metric_name\":\"cpu.usage_user\"}}"
        );
    }
}
