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

    fn event(&self, m: &Metric, values: &[(String, String)], out: &mut Vec<u8>) {
        let mut inner: Vec<(String, String)> = values.to_vec();
        for (k, v) in &m.tags {
            if !(self.hec && k == "host") {
                inner.push((k.clone(), go_json_string(v)));
            }
        }
        let object = |pairs: &[(String, String)]| {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{v}", go_json_string(k)))
                .collect();
            format!("{{{}}}", body.join(","))
        };
        let text = match self.hec {
            true => {
                let mut outer = vec![
                    ("event".to_string(), "\"metric\"".to_string()),
                    ("fields".to_string(), object(&inner)),
                ];
                if let Some(host) = m.tags.get("host") {
                    outer.push(("host".to_string(), go_json_string(host)));
                }
                outer.push(("time".to_string(), Self::time(m)));
                object(&outer)
            }
            false => {
                inner.push(("time".to_string(), Self::time(m)));
                object(&inner)
            }
        };
        out.extend_from_slice(text.as_bytes());
        out.push(b'\n');
    }

    /// The events of one metric.
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
    }
}
