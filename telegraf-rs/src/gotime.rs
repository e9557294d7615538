//! Go's time layouts (`2006-01-02T15:04:05Z07:00`, `Jan _2`, `.000`): formatting a time
//! with one, as Telegraf's `date` processor does, and reading a time written in one, as its
//! parsers' `*_timestamp_format` options do.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The layout elements Go's `time.Format` knows, longest first where one is a prefix of another.
const ELEMENTS: &[&str] = &[
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "002",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "__2",
    "_2",
    "15",
    "1",
    "2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
    "Z07:00:00",
    "Z070000",
    "Z07:00",
    "Z0700",
    "Z07",
    "-07:00:00",
    "-070000",
    "-07:00",
    "-0700",
    "-07",
];

/// Formats `t` with Go layout `layout` (`2006-01-02T15:04:05.000Z07:00` and its relatives).
pub fn go_format<Tz: TimeZone>(t: &DateTime<Tz>, layout: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = String::new();
    let mut rest = layout;
    let offset = t.offset().fix().local_minus_utc();
    while let Some(c) = rest.chars().next() {
        if let Some(digits) = fraction_digits(rest) {
            let (width, trim) = digits;
            let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
            let mut frac = nanos[..width].to_string();
            if trim {
                frac = frac.trim_end_matches('0').to_string();
            }
            if !frac.is_empty() {
                out.push('.');
                out.push_str(&frac);
            }
            rest = &rest[width + 1..];
            continue;
        }
        let Some(element) = ELEMENTS.iter().find(|e| rest.starts_with(**e)) else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let month = t.month0() as usize;
        let weekday = t.weekday().num_days_from_sunday() as usize;
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let zone = |colon: bool, seconds: bool, z: bool| -> String {
            if z && offset == 0 {
                return "Z".into();
            }
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
            match (colon, seconds) {
                (true, true) => format!("{sign}{h:02}:{m:02}:{s:02}"),
                (true, false) => format!("{sign}{h:02}:{m:02}"),
                (false, true) => format!("{sign}{h:02}{m:02}{s:02}"),
                (false, false) => format!("{sign}{h:02}{m:02}"),
            }
        };
        let text = match *element {
            "January" => MONTHS[month].to_string(),
            "Jan" => MONTHS[month][..3].to_string(),
            "Monday" => DAYS[weekday].to_string(),
            "Mon" => DAYS[weekday][..3].to_string(),
            "MST" => t.offset().to_string(),
            "2006" => format!("{:04}", t.year()),
            "06" => format!("{:02}", t.year().rem_euclid(100)),
            "002" => format!("{:03}", t.ordinal()),
            "01" => format!("{:02}", t.month()),
            "1" => t.month().to_string(),
            "02" => format!("{:02}", t.day()),
            "2" => t.day().to_string(),
            "_2" => format!("{:>2}", t.day()),
            "__2" => format!("{:>3}", t.ordinal()),
            "15" => format!("{:02}", t.hour()),
            "03" => format!("{hour12:02}"),
            "3" => hour12.to_string(),
            "04" => format!("{:02}", t.minute()),
            "4" => t.minute().to_string(),
            "05" => format!("{:02}", t.second()),
            "5" => t.second().to_string(),
            "PM" => if t.hour() >= 12 { "PM" } else { "AM" }.to_string(),
            "pm" => if t.hour() >= 12 { "pm" } else { "am" }.to_string(),
            "Z07:00:00" => zone(true, true, true),
            "Z070000" => zone(false, true, true),
            "Z07:00" => zone(true, false, true),
            "Z0700" => zone(false, false, true),
            "Z07" => zone(false, false, true).chars().take(3).collect(),
            "-07:00:00" => zone(true, true, false),
            "-070000" => zone(false, true, false),
            "-07:00" => zone(true, false, false),
            "-0700" => zone(false, false, false),
            _ => zone(false, false, false).chars().take(3).collect(),
        };
        out.push_str(&text);
        rest = &rest[element.len()..];
    }
    out
}

/// A fractional-seconds element at the start of `s` (`.000` fixed, `.999` trimmed, after a
/// `.` or `,`, when no digit follows): its digit count and whether zeros are trimmed.
fn fraction_digits(s: &str) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    if !matches!(b.first(), Some(b'.' | b',')) {
        return None;
    }
    let digit = *b.get(1).filter(|d| **d == b'0' || **d == b'9')?;
    let width = b[1..].iter().take_while(|d| **d == digit).count();
    if width > 9 || b.get(1 + width).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((width, digit == b'9'))
}

/// Reads `text` written in Go layout `layout` (or `unix`, `unix_ms`, `unix_us`, `unix_ns`)
/// as nanoseconds since the epoch; a layout without a zone reads UTC.
pub fn go_parse(layout: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit = match layout {
        "unix" => Some(1_000_000_000i64),
        "unix_ms" => Some(1_000_000),
        "unix_us" => Some(1_000),
        "unix_ns" => Some(1),
        _ => None,
    };
    if let Some(unit) = unit {
        if let Ok(n) = text.parse::<i64>() {
            return n
                .checked_mul(unit)
                .ok_or_else(|| format!("{text:?}: out of range"));
        }
        let f: f64 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a {layout} timestamp"))?;
        return Ok((f * unit as f64) as i64);
    }
    let bad = |e: chrono::ParseError| format!("{text:?} does not match layout {layout:?}: {e}");
    let (format, zoned) = strftime_of(layout);
    let nanos = |t: DateTime<chrono::FixedOffset>| {
        t.timestamp_nanos_opt()
            .ok_or_else(|| format!("{text:?}: out of range"))
    };
    if zoned {
        let rfc3339 = text.replace('z', "Z");
        if let Ok(t) = DateTime::parse_from_str(&rfc3339, &format) {
            return nanos(t);
        }
        // `Z07:00` reads `Z` for UTC.
        let utc = format.replace("%:z", "Z").replace("%z", "Z");
        return chrono::NaiveDateTime::parse_from_str(&rfc3339, &utc)
            .map_err(bad)
            .and_then(|t| nanos(t.and_utc().fixed_offset()));
    }
    match chrono::NaiveDateTime::parse_from_str(text, &format) {
        Ok(t) => nanos(t.and_utc().fixed_offset()),
        Err(e) => chrono::NaiveDate::parse_from_str(text, &format)
            .map_err(|_| bad(e))
            .and_then(|d| nanos(d.and_time(chrono::NaiveTime::MIN).and_utc().fixed_offset())),
    }
}

/// [`go_parse`] with Telegraf's `*_timezone` option: a time written without a zone is read in
/// `timezone` (an IANA name such as `Europe/Berlin`; empty, `UTC` or `Local` read UTC, the
/// agent's zone in a container).
pub fn go_parse_in(layout: &str, text: &str, timezone: &str) -> Result<i64, String> {
    let utc = go_parse(layout, text)?;
    if matches!(timezone, "" | "UTC" | "Local") || layout.starts_with("unix") {
        return Ok(utc);
    }
    if strftime_of(layout).1 {
        return Ok(utc);
    }
    let zone: chrono_tz::Tz = timezone
        .parse()
        .map_err(|_| format!("unknown timezone {timezone:?}"))?;
    let naive = DateTime::from_timestamp_nanos(utc).naive_utc();
    let offset = zone
        .offset_from_local_datetime(&naive)
        .earliest()
        .map(|o| o.fix().local_minus_utc())
        .ok_or_else(|| format!("{text:?} does not exist in {timezone}"))?;
    Ok(utc - i64::from(offset) * 1_000_000_000)
}

/// The `strftime` form of a Go layout, for chrono's parser, and whether it holds a zone.
fn strftime_of(layout: &str) -> (String, bool) {
    let mut out = String::new();
    let mut zoned = false;
    let mut rest = layout;
    while let Some(c) = rest.chars().next() {
        if let Some((width, _)) = fraction_digits(rest) {
            out.push_str("%.f");
            rest = &rest[width + 1..];
            continue;
        }
        let Some(element) = ELEMENTS.iter().find(|e| rest.starts_with(**e)) else {
            match c {
                '%' => out.push_str("%%"),
                other => out.push(other),
            }
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let spec = match *element {
            "January" => "%B",
            "Jan" => "%b",
            "Monday" => "%A",
            "Mon" => "%a",
            "MST" => "%Z",
            "2006" => "%Y",
            "06" => "%y",
            "002" | "__2" => "%j",
            "01" | "1" => "%m",
            "02" | "2" | "_2" => "%d",
            "15" => "%H",
            "03" | "3" => "%I",
            "04" | "4" => "%M",
            "05" | "5" => "%S",
            "PM" | "pm" => "%p",
            "-07:00:00" | "Z07:00:00" | "-07:00" | "Z07:00" => "%:z",
            _ => "%z",
        };
        zoned |= spec.ends_with('z');
        out.push_str(spec);
        rest = &rest[element.len()..];
    }
    (out, zoned)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2023-11-14T22:13:20.123456789Z, a Tuesday.
    const T: i64 = 1_700_000_000_123_456_789;

    #[test]
    fn go_layouts() {
        let t = chrono::Utc.timestamp_nanos(T);
        assert_eq!(
            go_format(&t, "2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            go_format(&t, "Jan _2 3:04PM .000 .999 .999999999"),
            "Nov 14 10:13PM .123 .123 .123456789"
        );
        assert_eq!(
            go_format(&t, "Monday January 06 002"),
            "Tuesday November 23 318"
        );
        let tz: chrono_tz::Tz = "America/Los_Angeles".parse().unwrap();
        let t = tz.timestamp_nanos(T);
        assert_eq!(
            go_format(&t, "15:04 -07:00 MST Z0700"),
            "14:13 -08:00 PST -0800"
        );
    }

    #[test]
    fn short_zones_in_utc_and_elsewhere() {
        let t = chrono::Utc.timestamp_nanos(T);
        assert_eq!(go_format(&t, "15Z07 -07"), "22Z +00");
        let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(go_format(&tz.timestamp_nanos(T), "Z07"), "+05");
    }

    #[test]
    fn reads_layouts_and_unix_counts() {
        assert_eq!(
            go_parse("unix", "1700000000"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            go_parse("unix_ms", "1700000000123"),
            Ok(1_700_000_000_123_000_000)
        );
        assert_eq!(go_parse("unix", "1.5"), Ok(1_500_000_000));
        let rfc = "2006-01-02T15:04:05Z07:00";
        assert_eq!(
            go_parse(rfc, "2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            go_parse(rfc, "2023-11-15T00:13:20+02:00"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            go_parse("2006-01-02 15:04:05.000", "2023-11-14 22:13:20.123"),
            Ok(1_700_000_000_123_000_000)
        );
        assert_eq!(
            go_parse("02/01/2006", "14/11/2023"),
            Ok(1_699_920_000_000_000_000)
        );
        assert!(go_parse("2006-01-02", "yesterday")
            .unwrap_err()
            .contains("does not match"));
    }

    proptest::proptest! {
        #[test]
        fn any_layout_formats_and_parses_without_panic(layout in "\\PC{0,24}", ns in proptest::num::i64::ANY) {
            let t = chrono::Utc.timestamp_nanos(ns);
            let text = go_format(&t, &layout);
            let _ = go_parse(&layout, &text);
        }
    }
}
