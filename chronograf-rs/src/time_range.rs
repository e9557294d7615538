//! The time ranges of the pages' pickers (Chronograf's, with its default `GROUP BY time()`
//! intervals), custom windows from drag-to-zoom, and the timestamps the alert history shows.

use serde::Serialize;

/// A time range of the picker: its name, InfluxQL lower bound and default `GROUP BY time()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    /// `1h`.
    pub name: &'static str,
    /// `now() - 1h`.
    pub lower: &'static str,
    /// `1m`.
    pub group_by: &'static str,
}

/// The picker's ranges with Chronograf's default group-by intervals.
pub const RANGES: &[Range] = &[
    Range {
        name: "5m",
        lower: "now() - 5m",
        group_by: "10s",
    },
    Range {
        name: "15m",
        lower: "now() - 15m",
        group_by: "1m",
    },
    Range {
        name: "1h",
        lower: "now() - 1h",
        group_by: "1m",
    },
    Range {
        name: "6h",
        lower: "now() - 6h",
        group_by: "1m",
    },
    Range {
        name: "12h",
        lower: "now() - 12h",
        group_by: "5m",
    },
    Range {
        name: "24h",
        lower: "now() - 24h",
        group_by: "10m",
    },
    Range {
        name: "2d",
        lower: "now() - 2d",
        group_by: "30m",
    },
    Range {
        name: "7d",
        lower: "now() - 7d",
        group_by: "1h",
    },
    Range {
        name: "30d",
        lower: "now() - 30d",
        group_by: "6h",
    },
];

/// The `GROUP BY time()` intervals a page may pick instead of its range's own.
pub const GROUP_BY_CHOICES: &[&str] = &["10s", "1m", "5m", "10m", "30m", "1h", "6h", "12h", "1d"];

/// The range named `name`, else 1h.
pub fn range(name: &str) -> Range {
    RANGES
        .iter()
        .copied()
        .find(|r| r.name == name)
        .unwrap_or(RANGES[2])
}

/// The time range a page queries: one of the picker's, or a custom one between two instants
/// (what drag-to-zoom on a chart asks for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    /// The picker's name (`1h`), or `custom`.
    pub name: String,
    /// InfluxQL lower bound (`now() - 1h`, `1500000000000ms`).
    pub lower: String,
    /// InfluxQL upper bound (`now()`, `1500000360000ms`).
    pub upper: String,
    /// `GROUP BY time()` interval.
    pub group_by: String,
    /// Whether the user picked `group_by` (else a chart may make `:interval:` fit its width).
    pub picked: bool,
    /// How long the window is.
    pub duration_ms: i64,
}

impl From<Range> for TimeWindow {
    fn from(r: Range) -> Self {
        TimeWindow {
            name: r.name.to_string(),
            lower: r.lower.to_string(),
            upper: "now()".to_string(),
            group_by: r.group_by.to_string(),
            picked: false,
            duration_ms: duration_ms(r.name),
        }
    }
}

/// `5m`, `24h`, `7d` in milliseconds (0 for anything else).
fn duration_ms(text: &str) -> i64 {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = digits.parse().unwrap_or(0);
    n * match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => 0,
    }
}

impl TimeWindow {
    /// From a page's parameters: `lower` and `upper` (ms since the epoch, lower < upper) make a
    /// custom window, else `range` names one of the picker's (`default` when absent); `interval`
    /// (one of [`GROUP_BY_CHOICES`]) replaces the window's own `:interval:`.
    pub fn from_params(params: &std::collections::HashMap<String, String>, default: &str) -> Self {
        let ms = |k: &str| params.get(k).and_then(|v| v.parse::<i64>().ok());
        let mut window: TimeWindow = match (ms("lower"), ms("upper")) {
            (Some(lower), Some(upper)) if lower < upper => TimeWindow::custom(lower, upper),
            _ => range(params.get("range").map(String::as_str).unwrap_or(default)).into(),
        };
        if let Some(chosen) = params
            .get("interval")
            .and_then(|i| GROUP_BY_CHOICES.iter().find(|c| *c == i))
        {
            window.group_by = chosen.to_string();
            window.picked = true;
        }
        window
    }

    /// The window between two instants (ms), grouped so that a chart gets about 300 points.
    pub fn custom(lower_ms: i64, upper_ms: i64) -> Self {
        let seconds = ((upper_ms - lower_ms) / 300_000).max(1);
        TimeWindow {
            name: "custom".into(),
            lower: format!("{lower_ms}ms"),
            upper: format!("{upper_ms}ms"),
            group_by: format!("{seconds}s"),
            picked: false,
            duration_ms: upper_ms - lower_ms,
        }
    }

    /// `time > lower`, and `AND time < upper` for a custom window.
    pub fn condition(&self) -> String {
        if self.upper == "now()" {
            format!("time > {}", self.lower)
        } else {
            format!("time > {} AND time < {}", self.lower, self.upper)
        }
    }
}

/// Milliseconds since the epoch as `2016-12-01 00:00:00` (UTC).
pub fn rfc3339_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_interval_replaces_the_ranges_own() {
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        };
        let w = TimeWindow::from_params(&params(&[("range", "24h"), ("interval", "1h")]), "1h");
        assert_eq!(
            (w.lower.as_str(), w.group_by.as_str()),
            ("now() - 24h", "1h")
        );
        let w = TimeWindow::from_params(&params(&[("range", "24h"), ("interval", "1h) x")]), "1h");
        assert_eq!(w.group_by, "10m", "only the offered intervals are taken");
        assert!(!w.picked);
        assert_eq!(w.duration_ms, 86_400_000);
        let w = TimeWindow::from_params(&params(&[("range", "30d"), ("interval", "1d")]), "1h");
        assert!(w.picked);
        assert_eq!(w.duration_ms, 30 * 86_400_000);
    }

    #[test]
    fn custom_windows_come_from_drag_to_zoom() {
        let params: std::collections::HashMap<String, String> = [
            ("lower".to_string(), "1500000000000".to_string()),
            ("upper".to_string(), "1500003600000".to_string()),
        ]
        .into();
        let w = TimeWindow::from_params(&params, "1h");
        assert_eq!(w.name, "custom");
        assert_eq!(
            w.condition(),
            "time > 1500000000000ms AND time < 1500003600000ms"
        );
        assert_eq!(w.group_by, "12s");
        let backwards: std::collections::HashMap<String, String> = [
            ("lower".to_string(), "2".to_string()),
            ("upper".to_string(), "1".to_string()),
            ("range".to_string(), "7d".to_string()),
        ]
        .into();
        assert_eq!(TimeWindow::from_params(&backwards, "1h").name, "7d");
    }

    #[test]
    fn ranges_and_timestamps() {
        assert_eq!(range("nope").name, "1h");
        assert_eq!(rfc3339_ms(1_480_550_400_000), "2016-12-01 00:00:00");
        assert_eq!(
            rfc3339_ms(951_782_400_000 + 3_723_000),
            "2000-02-29 01:02:03"
        );
    }
}
