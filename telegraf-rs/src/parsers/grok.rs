//! `data_format = "grok"`: each line matched against grok patterns — logstash's built-in
//! patterns (through the `grok` crate, on `fancy-regex` for their look-arounds), Telegraf's own
//! (`COMMON_LOG_FORMAT`, `COMBINED_LOG_FORMAT`, `HTTPD_ERRORLOG`, …) and the configuration's —
//! with Telegraf's capture modifiers: `%{NUMBER:bytes:int}`, `:float`, `:string` (the
//! default, quotes trimmed), `:tag`, `:drop`, `:duration` (to ns), `:measurement`, and the
//! timestamp ones (`:ts-httpd`, `:ts-rfc3339`, `:ts-epoch`, `:ts-syslog`, `:ts-"<Go layout>"`,
//! …) that set the metric's time. A line no pattern matches makes no metric.

use super::ParserConfig;
use crate::gotime::go_parse_in;
use crate::metric::{FieldValue, Metric};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

/// Telegraf's own patterns, on top of logstash's.
const TELEGRAF_PATTERNS: &str = r#"
DURATION %{NUMBER}[nuµm]?s
RESPONSE_CODE %{NUMBER:response_code:tag}
RESPONSE_TIME %{DURATION:response_time_ns:duration}
EXAMPLE_LOG \[%{HTTPDATE:ts:ts-httpd}\] %{NUMBER:myfloat:float} %{RESPONSE_CODE} %{IPORHOST:clientip} %{RESPONSE_TIME}
NGUSERNAME [a-zA-Z0-9\.\@\-\+_%]+
NGUSER %{NGUSERNAME}
CLIENT (?:%{IPV6}|%{IPV4}|%{HOSTNAME}|%{HOSTPORT})
COMMON_LOG_FORMAT %{CLIENT:client_ip} %{NOTSPACE:ident} %{NOTSPACE:auth} \[%{HTTPDATE:ts:ts-httpd}\] "(?:%{WORD:verb:tag} %{NOTSPACE:request}(?: HTTP/%{NUMBER:http_version:float})?|%{DATA})" %{NUMBER:resp_code:tag} (?:%{NUMBER:resp_bytes:int}|-)
COMBINED_LOG_FORMAT %{COMMON_LOG_FORMAT} %{QS:referrer} %{QS:agent}
HTTPD20_ERRORLOG \[%{HTTPDERROR_DATE:timestamp}\] \[%{LOGLEVEL:loglevel:tag}\] (?:\[client %{IPORHOST:clientip}\] ){0,1}%{GREEDYDATA:errormsg}
HTTPD24_ERRORLOG \[%{HTTPDERROR_DATE:timestamp}\] \[%{WORD:module}:%{LOGLEVEL:loglevel:tag}\] \[pid %{POSINT:pid:int}:tid %{NUMBER:tid:int}\]( \(%{POSINT:proxy_errorcode:int}\)%{DATA:proxy_errormessage}:)?( \[client %{IPORHOST:client}:%{POSINT:clientport}\])? %{DATA:errorcode}: %{GREEDYDATA:message}
HTTPD_ERRORLOG %{HTTPD20_ERRORLOG}|%{HTTPD24_ERRORLOG}
"#;

/// The grok parser: its compiled patterns, tried in order.
#[derive(Debug, Clone)]
pub struct GrokParser {
    patterns: Arc<Vec<grok::Pattern>>,
    /// Custom time layouts, by the number their `ts-"…"` modifier was renamed to.
    layouts: Arc<Vec<String>>,
    timezone: String,
    unique: bool,
    /// The last metric time and how many repeats of it were moved on (`unique_timestamp`).
    last: Arc<(AtomicI64, AtomicU32)>,
}

/// `ts-"<layout>"` modifiers become `tscustom<N>` (grok extracts cannot hold quotes); the
/// layouts, in order.
fn rename_layouts(text: &str, layouts: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(":ts-\"") {
        let after = &rest[at + 5..];
        let Some(end) = after.find('"') else { break };
        out.push_str(&rest[..at]);
        out.push_str(&format!(":tscustom{}", layouts.len()));
        layouts.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `NAME regex` lines (comments and blank lines skipped).
fn pattern_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .map(|(name, definition)| (name, definition.trim()))
}

impl GrokParser {
    /// Compiles `grok_patterns` with the built-in, custom and file patterns.
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        let mut patterns = config.grok_patterns.clone();
        patterns.extend(
            config
                .grok_named_patterns
                .iter()
                .map(|n| format!("%{{{n}}}")),
        );
        if patterns.is_empty() {
            return Err("grok_patterns: at least one pattern is needed".into());
        }
        let mut custom = config.grok_custom_patterns.clone();
        for file in &config.grok_custom_pattern_files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("grok_custom_pattern_files: {file}: {e}"))?;
            custom.push('\n');
            custom.push_str(&text);
        }
        let mut layouts = Vec::new();
        let mut g = grok::Grok::with_default_patterns();
        for text in [TELEGRAF_PATTERNS, custom.as_str()] {
            let renamed = rename_layouts(text, &mut layouts);
            for (name, definition) in pattern_lines(&renamed) {
                g.add_pattern(name, definition);
            }
        }
        let compiled = patterns
            .iter()
            .map(|p| {
                let renamed = rename_layouts(p, &mut layouts);
                g.compile(&renamed, true)
                    .map_err(|e| format!("grok pattern {p:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unique = match config.grok_unique_timestamp.as_str() {
            "" | "auto" => true,
            "disable" => false,
            other => {
                return Err(format!(
                    "grok_unique_timestamp {other:?}: \"auto\" or \"disable\""
                ))
            }
        };
        Ok(GrokParser {
            patterns: Arc::new(compiled),
            layouts: Arc::new(layouts),
            timezone: config.grok_timezone.clone(),
            unique,
            last: Arc::new((AtomicI64::new(i64::MIN), AtomicU32::new(0))),
        })
    }

    /// Parses every line of `body`; lines that match no pattern are skipped.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let text = String::from_utf8_lossy(body);
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(m) = self.parse_line(line, name, now)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    fn parse_line(&self, line: &str, name: &str, now: i64) -> Result<Option<Metric>, String> {
        let Some((pattern, matches)) = self
            .patterns
            .iter()
            .find_map(|p| p.match_against(line).map(|m| (p, m)))
        else {
            return Ok(None);
        };
        let mut m = Metric::new(name, now);
        let mut time = None;
        for (key, value) in matches.iter() {
            if value.is_empty() {
                continue;
            }
            let modifier = pattern.get_extract(key).unwrap_or("string");
            let bad = |e: &dyn std::fmt::Display| {
                tracing::debug!("grok: {key}={value:?} as {modifier}: {e}");
            };
            match modifier {
                "int" => match value.parse::<i64>() {
                    Ok(v) => m.add_field(key, v),
                    Err(e) => bad(&e),
                },
                "float" => match super::parse_go_float(value) {
                    Some(v) => m.add_field(key, v),
                    None => bad(&"not a number"),
                },
                "tag" => {
                    m.tags.insert(key.to_string(), value.to_string());
                }
                "drop" => {}
                "measurement" => m.name = value.to_string(),
                "duration" => match crate::options::GoDuration::parse(value) {
                    Ok(d) => m.add_field(key, i64::try_from(d.0.as_nanos()).unwrap_or(i64::MAX)),
                    Err(e) => bad(&e),
                },
                ts if ts.starts_with("ts") => match self.timestamp(ts, value, now) {
                    Ok(t) => time = Some(t),
                    Err(e) => bad(&e),
                },
                _ => m.add_field(key, FieldValue::Str(value.trim_matches('"').to_string())),
            }
        }
        if m.fields.is_empty() {
            return Ok(None);
        }
        m.time = self.unique_time(time.unwrap_or(now));
        Ok(Some(m))
    }

    /// The time a `ts-*` modifier reads from `value`.
    fn timestamp(&self, modifier: &str, value: &str, now: i64) -> Result<i64, String> {
        let layout = match modifier {
            "ts-ansic" => "Mon Jan _2 15:04:05 2006",
            "ts-unix" => "Mon Jan _2 15:04:05 MST 2006",
            "ts-ruby" => "Mon Jan 02 15:04:05 -0700 2006",
            "ts-rfc822" => "02 Jan 06 15:04 MST",
            "ts-rfc822z" => "02 Jan 06 15:04 -0700",
            "ts-rfc850" => "Monday, 02-Jan-06 15:04:05 MST",
            "ts-rfc1123" => "Mon, 02 Jan 2006 15:04:05 MST",
            "ts-rfc1123z" => "Mon, 02 Jan 2006 15:04:05 -0700",
            "ts-rfc3339" => "2006-01-02T15:04:05Z07:00",
            "ts-rfc3339nano" => "2006-01-02T15:04:05.999999999Z07:00",
            "ts-httpd" => "02/Jan/2006:15:04:05 -0700",
            "ts-epoch" => "unix",
            "ts-epochmilli" => "unix_ms",
            "ts-epochnano" => "unix_ns",
            "ts-syslog" => return syslog_time(value, now, &self.timezone),
            custom => {
                let index: usize = custom
                    .strip_prefix("tscustom")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unknown timestamp modifier {custom:?}"))?;
                return go_parse_in(&self.layouts[index], value, &self.timezone);
            }
        };
        go_parse_in(layout, value, &self.timezone)
    }

    /// `time`, moved on by the smallest unit its precision leaves free when the previous
    /// line had the same time (Telegraf's `unique_timestamp = "auto"`), so that lines logged
    /// in one second do not overwrite each other.
    fn unique_time(&self, time: i64) -> i64 {
        if !self.unique {
            return time;
        }
        let (last, repeats) = &*self.last;
        if last.swap(time, Ordering::Relaxed) != time {
            repeats.store(0, Ordering::Relaxed);
            return time;
        }
        let n = i64::from(repeats.fetch_add(1, Ordering::Relaxed) + 1);
        let zeros = (1..=18).take_while(|d| time % 10i64.pow(*d) == 0).count();
        let step = match zeros {
            0..=5 => 1,
            6..=8 => 1_000,
            _ => 1_000_000,
        };
        time.saturating_add(step * n)
    }
}

/// `Jan _2 15:04:05` in `now`'s year.
fn syslog_time(value: &str, now: i64, timezone: &str) -> Result<i64, String> {
    use chrono::Datelike;
    let year = chrono::DateTime::from_timestamp_nanos(now).year();
    let normal = value.split_whitespace().collect::<Vec<_>>().join(" ");
    go_parse_in("2006 Jan 2 15:04:05", &format!("{year} {normal}"), timezone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parser(patterns: &[&str], custom: &str) -> GrokParser {
        GrokParser::new(&ParserConfig {
            data_format: Some("grok".into()),
            grok_patterns: patterns.iter().map(|p| p.to_string()).collect(),
            grok_custom_patterns: custom.into(),
            ..ParserConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn combined_log_format_as_telegraf_reads_it() {
        let p = parser(&["%{COMBINED_LOG_FORMAT}"], "");
        let line = r#"127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://localhost:8083/" "Chrome/51.0""#;
        let m = p.parse(line.as_bytes(), "tail", 0).unwrap().remove(0);
        assert_eq!(m.name, "tail");
        assert_eq!(m.tags["verb"], "GET");
        assert_eq!(m.tags["resp_code"], "200");
        assert_eq!(m.field("resp_bytes"), Some(&FieldValue::Int(2326)));
        assert_eq!(m.field("http_version"), Some(&FieldValue::Float(1.0)));
        assert_eq!(
            m.field("client_ip"),
            Some(&FieldValue::Str("127.0.0.1".into()))
        );
        assert_eq!(m.field("auth"), Some(&FieldValue::Str("frank".into())));
        assert_eq!(
            m.field("referrer"),
            Some(&FieldValue::Str("http://localhost:8083/".into())),
            "quotes trimmed"
        );
        assert_eq!(m.field("ts"), None, "the timestamp is the metric's");
        assert_eq!(m.time, 971_211_336_000_000_000);
    }

    #[test]
    fn custom_patterns_modifiers_and_layouts() {
        let p = parser(
            &[
                "%{EXAMPLE_LOG}",
                r#"%{TIMESTAMP_ISO8601:when:ts-"2006-01-02 15:04:05"} %{WORD:kind:measurement} %{NUMBER:n:int} %{WORD:secret:drop} %{MYWORD:w}"#,
            ],
            "MYWORD [a-z]+\n# a comment\n",
        );
        let example = "[04/Jun/2016:12:41:45 +0100] 1.25 200 192.168.1.1 5.432µs";
        let m = p.parse(example.as_bytes(), "file", 0).unwrap().remove(0);
        assert_eq!(m.field("myfloat"), Some(&FieldValue::Float(1.25)));
        assert_eq!(m.tags["response_code"], "200");
        assert_eq!(m.field("response_time_ns"), Some(&FieldValue::Int(5432)));
        assert_eq!(m.time, 1_465_040_505_000_000_000);
        let m = p
            .parse(b"2024-03-01 10:00:00 jobs 7 hush done", "file", 0)
            .unwrap()
            .remove(0);
        assert_eq!(m.name, "jobs");
        assert_eq!(m.field("n"), Some(&FieldValue::Int(7)));
        assert_eq!(m.field("secret"), None);
        assert_eq!(m.field("w"), Some(&FieldValue::Str("done".into())));
        assert_eq!(m.time, 1_709_287_200_000_000_000);
        assert!(p
            .parse(b"nothing matches this", "file", 0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn repeated_times_are_made_unique_and_syslog_times_get_the_year() {
        let p = parser(&["%{SYSLOGTIMESTAMP:t:ts-syslog} %{WORD:w}"], "");
        let now = 1_700_000_000_000_000_000; // 2023-11-14
        let out = p
            .parse(
                b"Mar  1 10:00:00 a\nMar  1 10:00:00 b\nMar  1 10:00:01 c\n",
                "x",
                now,
            )
            .unwrap();
        let times: Vec<i64> = out.iter().map(|m| m.time).collect();
        assert_eq!(times[1] - times[0], 1_000_000, "whole seconds move by 1 ms");
        assert_eq!(times[2] - times[0], 1_000_000_000);
        assert_eq!(times[0], 1_677_664_800_000_000_000, "2023-03-01T10:00:00Z");
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |c: ParserConfig| GrokParser::new(&c).unwrap_err();
        assert!(bad(ParserConfig::default()).contains("grok_patterns"));
        assert!(bad(ParserConfig {
            grok_patterns: vec!["%{NOSUCHPATTERN}".into()],
            ..ParserConfig::default()
        })
        .contains("NOSUCHPATTERN"));
        assert!(bad(ParserConfig {
            grok_patterns: vec!["%{WORD}".into()],
            grok_custom_pattern_files: vec!["/nonexistent/patterns".into()],
            ..ParserConfig::default()
        })
        .contains("/nonexistent/patterns"));
    }

    /// Compiled once for all the property tests' cases (compiling is the slow part).
    static LOGS: std::sync::LazyLock<GrokParser> =
        std::sync::LazyLock::new(|| parser(&["%{COMBINED_LOG_FORMAT}", "%{SYSLOGLINE}"], ""));
    static NUMBERS: std::sync::LazyLock<GrokParser> =
        std::sync::LazyLock::new(|| parser(&["%{INT:n:int} %{NUMBER:f:float}"], ""));

    proptest! {
        #[test]
        fn never_panics(line in "[ -~]{0,120}") {
            let _ = LOGS.parse(line.as_bytes(), "x", 0);
        }

        #[test]
        fn written_numbers_read_back(n in any::<i64>(), f in -1e9f64..1e9) {
            let m = NUMBERS.parse(format!("{n} {f}").as_bytes(), "x", 0).unwrap().remove(0);
            prop_assert_eq!(m.field("n"), Some(&FieldValue::Int(n)));
            prop_assert_eq!(m.field("f"), Some(&FieldValue::Float(f)));
        }
    }
}
