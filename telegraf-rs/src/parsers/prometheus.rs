//! `data_format = "prometheus"` and the `prometheus` input's metric shapes: Prometheus text
//! exposition families ([`super::prometheus_text`]) as Telegraf's `metric_version = 1`
//! metrics (one per family and label set, fields named by type) or `metric_version = 2`
//! (measurement `prometheus`, one field per sample named by the sample).

use super::prometheus_text::{self, Family, Kind};
use crate::metric::Metric;
use std::collections::BTreeMap;

fn time_of(ms: Option<i64>, now: i64) -> i64 {
    ms.and_then(|m| m.checked_mul(1_000_000)).unwrap_or(now)
}

/// Parses exposition text into `metric_version = 1` metrics, as the parser does.
pub fn parse(body: &[u8], now: i64) -> Result<Vec<Metric>, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("invalid UTF-8: {e}"))?;
    let families = prometheus_text::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for family in &families {
        version1(family, now, &mut out);
    }
    Ok(out)
}

/// Telegraf's `metric_version = 1` metrics of one family.
pub fn version1(family: &Family, now: i64, out: &mut Vec<Metric>) {
    match family.kind {
        Kind::Histogram | Kind::Summary => {
            let mut groups: BTreeMap<BTreeMap<String, String>, Metric> = BTreeMap::new();
            for s in &family.samples {
                let mut labels = s.labels.clone();
                let bucket = labels.remove(if family.kind == Kind::Histogram {
                    "le"
                } else {
                    "quantile"
                });
                let m = groups.entry(labels.clone()).or_insert_with(|| {
                    let mut m = Metric::new(family.name.clone(), time_of(s.timestamp_ms, now));
                    m.tags = labels;
                    m
                });
                let field = if s.name.ends_with("_sum") && bucket.is_none() {
                    "sum".to_string()
                } else if s.name.ends_with("_count") && bucket.is_none() {
                    "count".to_string()
                } else {
                    match bucket {
                        Some(b) => b,
                        None => continue,
                    }
                };
                m.add_field(field, s.value);
            }
            out.extend(groups.into_values());
        }
        kind => {
            let field = match kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                _ => "value",
            };
            for s in &family.samples {
                let mut m = Metric::new(s.name.clone(), time_of(s.timestamp_ms, now))
                    .with_field(field, s.value);
                m.tags = s.labels.clone();
                out.push(m);
            }
        }
    }
}

/// Telegraf's `metric_version = 2` metrics of one family.
pub fn version2(family: &Family, now: i64, out: &mut Vec<Metric>) {
    for s in &family.samples {
        let mut m = Metric::new("prometheus", time_of(s.timestamp_ms, now))
            .with_field(s.name.clone(), s.value);
        m.tags = s.labels.clone();
        out.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    const TEXT: &str = "# TYPE reqs counter\nreqs{code=\"200\"} 5\n# TYPE temp gauge\ntemp 21.5 1000\nup 1\n# TYPE lat histogram\nlat_bucket{le=\"0.1\",op=\"r\"} 2\nlat_bucket{le=\"+Inf\",op=\"r\"} 3\nlat_sum{op=\"r\"} 0.7\nlat_count{op=\"r\"} 3\n# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_sum 4\nq_count 2\n";

    fn metrics(version: u8) -> Vec<Metric> {
        let mut out = Vec::new();
        for f in prometheus_text::parse(TEXT).unwrap() {
            match version {
                2 => version2(&f, 7, &mut out),
                _ => version1(&f, 7, &mut out),
            }
        }
        out
    }

    #[test]
    fn version1_names() {
        let ms = metrics(1);
        assert_eq!(ms[0].name, "reqs");
        assert_eq!(ms[0].field("counter"), Some(&FieldValue::Float(5.0)));
        assert_eq!(ms[0].tags["code"], "200");
        assert_eq!(ms[1].field("gauge"), Some(&FieldValue::Float(21.5)));
        assert_eq!(ms[1].time, 1_000_000_000);
        assert_eq!(ms[2].field("value"), Some(&FieldValue::Float(1.0)));
        assert_eq!(ms[2].time, 7);
        let lat = &ms[3];
        assert_eq!(lat.name, "lat");
        assert_eq!(lat.tags["op"], "r");
        assert_eq!(lat.field("0.1"), Some(&FieldValue::Float(2.0)));
        assert_eq!(lat.field("+Inf"), Some(&FieldValue::Float(3.0)));
        assert_eq!(lat.field("sum"), Some(&FieldValue::Float(0.7)));
        assert_eq!(lat.field("count"), Some(&FieldValue::Float(3.0)));
        let q = &ms[4];
        assert_eq!(q.field("0.5"), Some(&FieldValue::Float(1.0)));
        assert_eq!(q.field("count"), Some(&FieldValue::Float(2.0)));
    }

    #[test]
    fn version2_names() {
        let ms = metrics(2);
        assert!(ms.iter().all(|m| m.name == "prometheus"));
        assert_eq!(ms[0].field("reqs"), Some(&FieldValue::Float(5.0)));
        let bucket = ms
            .iter()
            .find(|m| m.tags.get("le").is_some_and(|l| l == "0.1"))
            .unwrap();
        assert_eq!(bucket.field("lat_bucket"), Some(&FieldValue::Float(2.0)));
    }

    #[test]
    fn the_parser_gives_version1_metrics_and_names_bad_lines() {
        let ms = parse(TEXT.as_bytes(), 7).unwrap();
        assert_eq!(ms, metrics(1));
        let err = parse(b"ok 1\nbad{ 2\n", 0).unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
    }
}
