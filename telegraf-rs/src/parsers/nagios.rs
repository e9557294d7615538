//! `data_format = "nagios"`: the output of a Nagios plugin (`TEXT | perfdata` on the first
//! line, long text after it, more perfdata after a second `|`), as Telegraf reads it: one
//! `nagios` metric per perfdata item (tags `perfdata` = label and `unit`; fields `value`,
//! `warning_lt`/`_gt` or, for `@` ranges, `warning_le`/`_ge`, the same for `critical`, `min`,
//! `max`) and one `nagios_state` metric with `service_output`, `long_service_output` and,
//! when `exec` ran the plugin, `state` (its exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
//! Golden files (`tests/golden/parsers/nagios_*`) hold the cases Telegraf tests its parser with.

use crate::metric::Metric;
use regex::Regex;
use std::sync::LazyLock;

/// `label=value…` items of a perfdata text (labels may be quoted and hold spaces).
static ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"('[^']*'|[^=\s]+)=\S+").unwrap_or_else(|e| unreachable!("{e}")));

/// One item: label, value, unit, warning, critical, min, max.
static PERFDATA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([^=]+)=([\d.\-+eE]+|U)([\w/%]*);?([\d.\-+eE:~@]+)?;?([\d.\-+eE:~@]+)?;?([\d.\-+eE]+)?;?([\d.\-+eE]+)?;?\s*$",
    )
    .unwrap_or_else(|e| unreachable!("{e}"))
});

/// Parses a plugin's output; metrics are stamped `now`.
pub fn parse(body: &[u8], now: i64) -> Result<Vec<Metric>, String> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines();
    let mut metrics = Vec::new();
    let first = lines.next().unwrap_or_default();
    let parts: Vec<&str> = first.split('|').collect();
    if parts.len() > 2 {
        return Err("illegal output format: more than one '|' on the first line".into());
    }
    if let Some(perf) = parts.get(1) {
        metrics.extend(perfdata(perf, now));
    }
    let service_output = parts[0].trim().to_string();
    let mut long = Vec::new();
    for line in lines.by_ref() {
        match line.split_once('|') {
            Some((text, perf)) => {
                long.push(text.trim());
                metrics.extend(perfdata(perf, now));
                break;
            }
            None => long.push(line.trim()),
        }
    }
    for line in lines {
        metrics.extend(perfdata(line, now));
    }
    let mut state = Metric::new("nagios_state", now).with_field("service_output", service_output);
    let long = long.join("\n");
    if !long.is_empty() {
        state.add_field("long_service_output", long);
    }
    metrics.push(state);
    Ok(metrics)
}

/// Adds `state` = the plugin's exit code to the `nagios_state` metric (made if missing).
pub fn add_state(metrics: &mut Vec<Metric>, exit_code: i64, now: i64) {
    match metrics.iter_mut().find(|m| m.name == "nagios_state") {
        Some(m) => m.add_field("state", exit_code),
        None => metrics.push(Metric::new("nagios_state", now).with_field("state", exit_code)),
    }
}

/// The `nagios` metrics of one perfdata text; items that do not parse (or whose value is `U`,
/// undetermined) are skipped.
fn perfdata(text: &str, now: i64) -> Vec<Metric> {
    let mut metrics = Vec::new();
    for item in ITEM.find_iter(text) {
        let Some(c) = PERFDATA.captures(item.as_str().trim()) else {
            continue;
        };
        let group = |i: usize| c.get(i).map(|g| g.as_str()).filter(|s| !s.is_empty());
        let (Some(label), Some(value)) = (group(1), group(2)) else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let mut m = Metric::new("nagios", now).with_tag("perfdata", label.trim_matches('\''));
        if let Some(unit) = group(3) {
            m.tags.insert("unit".into(), unit.into());
        }
        m.add_field("value", value);
        for (i, name) in [(4, "warning"), (5, "critical")] {
            let Some(range) = group(i) else { continue };
            if let Some((low, high)) = threshold(range) {
                let (lo, hi) = match range.starts_with('@') {
                    true => ("le", "ge"),
                    false => ("lt", "gt"),
                };
                m.add_field(format!("{name}_{lo}"), low);
                m.add_field(format!("{name}_{hi}"), high);
            }
        }
        for (i, name) in [(6, "min"), (7, "max")] {
            if let Some(v) = group(i).and_then(|v| v.parse::<f64>().ok()) {
                m.add_field(name, v);
            }
        }
        metrics.push(m);
    }
    metrics
}

/// A Nagios threshold range (`10`, `10:`, `~:10`, `10:20`, `@10:20`) as its two ends; an
/// open end is the largest float, `~` the smallest positive one, as Telegraf writes them.
fn threshold(range: &str) -> Option<(f64, f64)> {
    let range = range.trim_start_matches('@');
    match range.split_once(':') {
        None => Some((0.0, range.parse().ok()?)),
        Some((low, high)) => {
            let low = match low {
                "~" => f64::from_bits(1),
                _ => low.parse().unwrap_or(0.0),
            };
            let high = match high {
                "" => f64::MAX,
                _ => high.parse().ok()?,
            };
            Some((low, high))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(body: &str) -> Vec<String> {
        parse(body.as_bytes(), 0)
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    #[test]
    fn first_line_perfdata_and_state() {
        assert_eq!(
            lines("PING OK - Packet loss = 0%, RTA = 0.30 ms|rta=0.298000ms;4000.000000;6000.000000;0.000000 pl=0%;80;90;0;100\n"),
            [
                "nagios,perfdata=rta,unit=ms value=0.298,warning_lt=0,warning_gt=4000,critical_lt=0,critical_gt=6000,min=0 0",
                "nagios,perfdata=pl,unit=% value=0,warning_lt=0,warning_gt=80,critical_lt=0,critical_gt=90,min=0,max=100 0",
                "nagios_state service_output=\"PING OK - Packet loss = 0%, RTA = 0.30 ms\" 0",
            ]
        );
    }

    /// Telegraf's own case: perfdata on the first line, then long text without any.
    #[test]
    fn long_text_after_first_line_perfdata() {
        let body = "PING OK - Packet loss = 0%, RTA = 0.30 ms|rta=0.298000ms;4000.000000;6000.000000;0.000000 pl=0%;80;90;0;100\n\
                    This is a long output\nwith three lines\n";
        let metrics = parse(body.as_bytes(), 0).unwrap();
        assert_eq!(metrics.len(), 3, "{metrics:#?}");
        assert_eq!(
            metrics[2].field("long_service_output"),
            Some(&crate::metric::FieldValue::Str(
                "This is a long output\nwith three lines".into()
            ))
        );
    }

    #[test]
    fn long_output_ranges_and_quoted_labels() {
        let body = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
                    / 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n\
                    /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
                    'ram used'=69357MB;@10:20;~:30;0;253404\n/var/log=818MB;970;;0;975\n";
        let metrics = parse(body.as_bytes(), 0).unwrap();
        let state = metrics.last().unwrap();
        assert_eq!(
            state.field("long_service_output"),
            Some(&crate::metric::FieldValue::Str(
                "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);"
                    .into()
            ))
        );
        let out: Vec<String> = metrics[..4]
            .iter()
            .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(metrics.len(), 5, "{metrics:#?}");
        assert_eq!(out[0], "nagios,perfdata=/,unit=MB value=2643,warning_lt=0,warning_gt=5948,critical_lt=0,critical_gt=5958,min=0,max=5968 0");
        assert!(
            out[2].starts_with("nagios,perfdata=ram\\ used,unit=MB value=69357,warning_le=10,warning_ge=20,critical_lt=0.0"),
            "{}",
            out[2]
        );
        assert_eq!(
            metrics[2].field("critical_lt").and_then(|v| v.as_f64()),
            Some(f64::from_bits(1)),
            "`~` is the smallest float"
        );
        assert_eq!(
            metrics[2].field("critical_gt").and_then(|v| v.as_f64()),
            Some(30.0)
        );
        assert!(
            out[3].contains("warning_gt=970") && !out[3].contains("critical"),
            "{}",
            out[3]
        );
        assert_eq!(
            state.field("service_output"),
            Some(&crate::metric::FieldValue::Str(
                "DISK OK - free space: / 3326 MB (56%);".into()
            ))
        );
    }

    #[test]
    fn undetermined_values_and_bad_first_lines() {
        assert_eq!(
            lines("UNKNOWN | x=U;1;2"),
            ["nagios_state service_output=\"UNKNOWN\" 0"]
        );
        assert!(parse(b"a | b | c", 0).is_err());
        let mut m = parse(b"OK", 0).unwrap();
        add_state(&mut m, 2, 0);
        assert_eq!(
            m[0].field("state"),
            Some(&crate::metric::FieldValue::Int(2))
        );
        let mut none = Vec::new();
        add_state(&mut none, 3, 5);
        assert_eq!(none[0].name, "nagios_state");
    }

    proptest! {
        #[test]
        fn never_panics(body in "[ -~\n|;=:@~]{0,200}") {
            let _ = parse(body.as_bytes(), 0);
        }

        #[test]
        fn written_perfdata_reads_back(value in -1e6f64..1e6, warn in 0f64..1e6, label in "[a-z]{1,8}") {
            let out = parse(format!("OK | {label}={value}s;{warn}").as_bytes(), 0).unwrap();
            prop_assert_eq!(out[0].tags.get("perfdata"), Some(&label));
            prop_assert_eq!(out[0].field("value").and_then(|v| v.as_f64()), Some(value));
            prop_assert_eq!(out[0].field("warning_gt").and_then(|v| v.as_f64()), Some(warn));
        }
    }
}
