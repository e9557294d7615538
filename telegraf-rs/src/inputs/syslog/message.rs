//! Syslog messages: RFC 5424 (`<165>1 2003-10-11T22:14:15.003Z host app 1234 ID47 [sd]
//! msg`) and RFC 3164, the BSD form (`<34>Oct 11 22:14:15 host app[123]: msg`), parsed into
//! their parts and turned into Telegraf's `syslog` metric.

use crate::metric::Metric;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

/// Why a message was refused: what was expected and at which byte.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what} at byte {at}")]
pub struct SyntaxError {
    /// What the parser expected.
    pub what: &'static str,
    /// Where (0-based).
    pub at: usize,
}

/// A parsed message; absent parts (`-` in RFC 5424) are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// Facility (0–23).
    pub facility: u8,
    /// Severity (0–7).
    pub severity: u8,
    /// RFC 5424's version (`None` for RFC 3164).
    pub version: Option<u16>,
    /// The message's own time, ns since the epoch.
    pub timestamp: Option<i64>,
    /// HOSTNAME.
    pub hostname: Option<String>,
    /// APP-NAME (RFC 3164: the tag).
    pub appname: Option<String>,
    /// PROCID.
    pub procid: Option<String>,
    /// MSGID.
    pub msgid: Option<String>,
    /// Structured data: element id → its parameters, in order.
    pub structured: Vec<(String, Vec<(String, String)>)>,
    /// MSG.
    pub message: Option<String>,
}

/// Telegraf's names of the severities.
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Telegraf's names of the facilities.
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl Message {
    /// The `syslog` metric, stamped `received`: tags `severity`, `facility`, `hostname`,
    /// `appname` and `source` (the sender's address, when known); fields `version`,
    /// `severity_code`, `facility_code`, `timestamp` (the message's own time), `procid`,
    /// `msgid`, `message`, and each structured-data parameter as `<id><sep><name>` (an element
    /// without parameters as `<id>` = true).
    pub fn to_metric(&self, received: i64, source: Option<&str>, separator: &str) -> Metric {
        let mut m = Metric::new("syslog", received)
            .with_tag("severity", SEVERITIES[usize::from(self.severity & 7)])
            .with_tag(
                "facility",
                FACILITIES
                    .get(usize::from(self.facility))
                    .copied()
                    .unwrap_or("unknown"),
            );
        let mut tag = |k: &str, v: &Option<String>| {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                m.tags.insert(k.into(), v.into());
            }
        };
        tag("hostname", &self.hostname);
        tag("appname", &self.appname);
        tag("source", &source.map(str::to_string));
        if let Some(v) = self.version {
            m.add_field("version", i64::from(v));
        }
        m.add_field("severity_code", i64::from(self.severity));
        m.add_field("facility_code", i64::from(self.facility));
        if let Some(t) = self.timestamp {
            m.add_field("timestamp", t);
        }
        for (k, v) in [
            ("procid", &self.procid),
            ("msgid", &self.msgid),
            ("message", &self.message),
        ] {
            if let Some(v) = v {
                m.add_field(k, v.clone());
            }
        }
        for (id, params) in &self.structured {
            if params.is_empty() {
                m.add_field(id.clone(), true);
            }
            for (name, value) in params {
                m.add_field(format!("{id}{separator}{name}"), value.clone());
            }
        }
        m
    }
}

/// A cursor over one message's bytes.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn fail<T>(&self, what: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError { what, at: self.at })
    }

    fn eat(&mut self, c: u8, what: &'static str) -> Result<(), SyntaxError> {
        match self.b.get(self.at) {
            Some(&x) if x == c => {
                self.at += 1;
                Ok(())
            }
            _ => self.fail(what),
        }
    }

    /// Up to the next space (or the end), at least one byte, at most `max`.
    fn word(&mut self, max: usize, what: &'static str) -> Result<&'a str, SyntaxError> {
        let start = self.at;
        while self.at < self.b.len() && self.b[self.at] != b' ' {
            if !(33..=126).contains(&self.b[self.at]) {
                return self.fail(what);
            }
            self.at += 1;
        }
        if self.at == start || self.at - start > max {
            self.at = start;
            return self.fail(what);
        }
        std::str::from_utf8(&self.b[start..self.at]).or_else(|_| self.fail(what))
    }

    /// A word where `-` means absent.
    fn nil_word(&mut self, max: usize, what: &'static str) -> Result<Option<String>, SyntaxError> {
        let w = self.word(max, what)?;
        Ok((w != "-").then(|| w.to_string()))
    }

    /// `<PRI>`: facility and severity.
    fn pri(&mut self) -> Result<(u8, u8), SyntaxError> {
        self.eat(b'<', "expecting a priority value (<PRI>)")?;
        let start = self.at;
        while self.at < self.b.len() && self.b[self.at].is_ascii_digit() && self.at - start < 3 {
            self.at += 1;
        }
        let digits = &self.b[start..self.at];
        let pri: u16 = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .filter(|p| *p <= 191 && (digits.len() == 1 || digits[0] != b'0'))
            .map_or_else(
                || self.fail("expecting a priority value in the range 0-191"),
                Ok,
            )?;
        self.eat(b'>', "expecting a priority value terminator (>)")?;
        Ok(((pri / 8) as u8, (pri % 8) as u8))
    }

    fn rest(&self) -> &'a [u8] {
        &self.b[self.at.min(self.b.len())..]
    }
}

/// The message text: UTF-8 (a leading BOM dropped), else kept as Latin-1-ish lossy text.
fn text(b: &[u8]) -> Option<String> {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let t = String::from_utf8_lossy(b);
    let t = t.trim_end_matches(['\n', '\r', '\0']);
    (!t.is_empty()).then(|| t.to_string())
}

/// Parses an RFC 5424 message. With `best_effort`, what parsed before an error is kept
/// (the priority and version at least must parse).
pub fn parse_rfc5424(b: &[u8], best_effort: bool) -> Result<Message, SyntaxError> {
    let mut c = Cursor { b, at: 0 };
    let (facility, severity) = c.pri()?;
    let start = c.at;
    while c.at < b.len() && b[c.at].is_ascii_digit() && c.at - start < 3 {
        c.at += 1;
    }
    let version = std::str::from_utf8(&b[start..c.at])
        .ok()
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|v| *v > 0)
        .map_or_else(
            || c.fail("expecting a version value in the range 1-999"),
            Ok,
        )?;
    let mut m = Message {
        facility,
        severity,
        version: Some(version),
        ..Message::default()
    };
    match rfc5424_rest(&mut c, &mut m) {
        Ok(()) => Ok(m),
        Err(_) if best_effort => Ok(m),
        Err(e) => Err(e),
    }
}

fn rfc5424_rest(c: &mut Cursor<'_>, m: &mut Message) -> Result<(), SyntaxError> {
    c.eat(b' ', "expecting a space after the version")?;
    let at = c.at;
    let stamp = c.word(64, "expecting a RFC3339MICRO timestamp or a nil value")?;
    if stamp != "-" {
        let t = DateTime::parse_from_rfc3339(stamp).map_err(|_| SyntaxError {
            what: "expecting a RFC3339MICRO timestamp or a nil value",
            at,
        })?;
        m.timestamp = t.timestamp_nanos_opt();
    }
    c.eat(b' ', "expecting a space after the timestamp")?;
    m.hostname = c.nil_word(
        255,
        "expecting a hostname (from 1 to max 255 US-ASCII characters) or a nil value",
    )?;
    c.eat(b' ', "expecting a space after the hostname")?;
    m.appname = c.nil_word(
        48,
        "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value",
    )?;
    c.eat(b' ', "expecting a space after the app-name")?;
    m.procid = c.nil_word(
        128,
        "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value",
    )?;
    c.eat(b' ', "expecting a space after the procid")?;
    m.msgid = c.nil_word(
        32,
        "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value",
    )?;
    c.eat(b' ', "expecting a space after the msgid")?;
    if c.rest().first() == Some(&b'-') {
        c.at += 1;
    } else {
        while c.rest().first() == Some(&b'[') {
            m.structured.push(sd_element(c)?);
        }
        if m.structured.is_empty() {
            return c.fail("expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value");
        }
    }
    match c.rest() {
        [] => Ok(()),
        [b' ', msg @ ..] => {
            m.message = text(msg);
            Ok(())
        }
        _ => c.fail("expecting a space before the message"),
    }
}

/// One `[id name="value" …]` element; values unescape `\"`, `\\` and `\]`.
fn sd_element(c: &mut Cursor<'_>) -> Result<(String, Vec<(String, String)>), SyntaxError> {
    c.eat(b'[', "expecting a structured data element")?;
    let name = |c: &mut Cursor<'_>, what| {
        let start = c.at;
        while let Some(&x) = c.b.get(c.at) {
            if !(33..=126).contains(&x) || matches!(x, b'=' | b']' | b'"' | b' ') {
                break;
            }
            c.at += 1;
        }
        match c.at - start {
            1..=32 => Ok(String::from_utf8_lossy(&c.b[start..c.at]).into_owned()),
            _ => c.fail(what),
        }
    };
    let id = name(c, "expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"`)")?;
    let mut params = Vec::new();
    loop {
        match c.rest().first() {
            Some(b']') => {
                c.at += 1;
                return Ok((id, params));
            }
            Some(b' ') => {
                c.at += 1;
                let key = name(c, "expecting a structured data parameter name")?;
                c.eat(
                    b'=',
                    "expecting a `=` after a structured data parameter name",
                )?;
                c.eat(
                    b'"',
                    "expecting a `\"` to open a structured data parameter value",
                )?;
                let mut value = Vec::new();
                loop {
                    match c.rest() {
                        [b'\\', e @ (b'"' | b'\\' | b']'), ..] => {
                            value.push(*e);
                            c.at += 2;
                        }
                        [b'"', ..] => {
                            c.at += 1;
                            break;
                        }
                        [x, ..] => {
                            value.push(*x);
                            c.at += 1;
                        }
                        [] => {
                            return c.fail(
                                "expecting a `\"` to close a structured data parameter value",
                            )
                        }
                    }
                }
                let value = String::from_utf8(value).map_err(|_| SyntaxError {
                    what: "expecting UTF-8 in a structured data parameter value",
                    at: c.at,
                })?;
                params.push((key, value));
            }
            _ => return c.fail("expecting a `]` or a space in a structured data element"),
        }
    }
}

/// Parses an RFC 3164 (BSD) message; its timestamp has no year, so `now`'s is used (the
/// previous one when that would put it more than a day in the future). RFC 3339 timestamps
/// are read too, as rsyslog sends them. With `best_effort`, what parsed before an error is
/// kept.
pub fn parse_rfc3164(b: &[u8], now: i64, best_effort: bool) -> Result<Message, SyntaxError> {
    let mut c = Cursor { b, at: 0 };
    let (facility, severity) = c.pri()?;
    let mut m = Message {
        facility,
        severity,
        ..Message::default()
    };
    match rfc3164_rest(&mut c, &mut m, now) {
        Ok(()) => Ok(m),
        Err(_) if best_effort => Ok(m),
        Err(e) => Err(e),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn rfc3164_rest(c: &mut Cursor<'_>, m: &mut Message, now: i64) -> Result<(), SyntaxError> {
    let rest = c.rest();
    if rest.len() >= 15 && MONTHS.iter().any(|mon| rest.starts_with(mon.as_bytes())) {
        let stamp = std::str::from_utf8(&rest[..15]).unwrap_or_default();
        m.timestamp =
            Some(bsd_time(stamp, now).map_or_else(|| c.fail("expecting a Stamp timestamp"), Ok)?);
        c.at += 15;
    } else {
        let at = c.at;
        let word = c.word(64, "expecting a Stamp or a RFC3339 timestamp")?;
        let t = DateTime::parse_from_rfc3339(word).map_err(|_| SyntaxError {
            what: "expecting a Stamp or a RFC3339 timestamp",
            at,
        })?;
        m.timestamp = t.timestamp_nanos_opt();
    }
    c.eat(b' ', "expecting a space after the timestamp")?;
    m.hostname = Some(c.word(255, "expecting a hostname")?.to_string());
    c.eat(b' ', "expecting a space after the hostname")?;
    // TAG[PID]: — the tag is up to 32 alphanumerics; without a colon the rest is the message.
    let rest = c.rest();
    let tag_len = rest
        .iter()
        .take_while(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b':'))
        .count();
    let after = &rest[tag_len..];
    let (procid, skip) = match after.strip_prefix(b"[") {
        Some(inner) => match inner.iter().position(|&x| x == b']') {
            Some(end) => (
                Some(String::from_utf8_lossy(&inner[..end]).into_owned()),
                end + 2,
            ),
            None => (None, 0),
        },
        None => (None, 0),
    };
    let after_pid = &after[skip..];
    if tag_len > 0 && tag_len <= 48 && after_pid.starts_with(b":") {
        m.appname = Some(String::from_utf8_lossy(&rest[..tag_len]).into_owned());
        m.procid = procid;
        let body = &after_pid[1..];
        m.message = text(body.strip_prefix(b" ").unwrap_or(body));
    } else {
        m.message = text(rest);
    }
    Ok(())
}

/// `Mmm dd hh:mm:ss` (day space-padded) in `now`'s year, UTC.
fn bsd_time(stamp: &str, now: i64) -> Option<i64> {
    let month = MONTHS.iter().position(|m| stamp.starts_with(m))? as u32 + 1;
    let day: u32 = stamp.get(4..6)?.trim().parse().ok()?;
    let (h, mi, s) = (
        stamp.get(7..9)?.parse().ok()?,
        stamp.get(10..12)?.parse().ok()?,
        stamp.get(13..15)?.parse().ok()?,
    );
    let now = Utc.timestamp_nanos(now);
    let at = |year: i32| {
        NaiveDate::from_ymd_opt(year, month, day)
            .and_then(|d| d.and_hms_opt(h, mi, s))
            .map(|t| t.and_utc())
    };
    let mut t = at(now.year())?;
    if t > now + chrono::Duration::days(1) {
        t = at(now.year() - 1)?;
    }
    t.timestamp_nanos_opt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use proptest::prelude::*;

    #[test]
    fn rfc5424_with_structured_data_as_telegraf_reports_it() {
        let raw = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"][x] An application event log entry..."#;
        let m = parse_rfc5424(raw, false).unwrap();
        let metric = m.to_metric(7, Some("127.0.0.1"), "_");
        let tags: Vec<String> = metric
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            tags,
            [
                "appname=evntslog",
                "facility=local4",
                "hostname=mymachine.example.com",
                "severity=notice",
                "source=127.0.0.1"
            ]
        );
        assert_eq!(metric.field("version"), Some(&FieldValue::Int(1)));
        assert_eq!(metric.field("facility_code"), Some(&FieldValue::Int(20)));
        assert_eq!(metric.field("severity_code"), Some(&FieldValue::Int(5)));
        assert_eq!(
            metric.field("timestamp"),
            Some(&FieldValue::Int(1_065_910_455_003_000_000))
        );
        assert_eq!(metric.field("msgid"), Some(&FieldValue::Str("ID47".into())));
        assert_eq!(metric.field("procid"), None, "nil");
        assert_eq!(
            metric.field("exampleSDID@32473_eventSource"),
            Some(&FieldValue::Str("Application".into()))
        );
        assert_eq!(metric.field("x"), Some(&FieldValue::Bool(true)));
        assert_eq!(
            metric.field("message"),
            Some(&FieldValue::Str("An application event log entry...".into()))
        );
        assert_eq!(metric.time, 7, "stamped when received");
    }

    #[test]
    fn rfc5424_errors_name_what_was_expected_and_best_effort_keeps_the_start() {
        assert_eq!(
            parse_rfc5424(b"<192>1 - - - - - -", false)
                .unwrap_err()
                .what,
            "expecting a priority value in the range 0-191"
        );
        let e = parse_rfc5424(b"<13>1 yesterday host app - - -", false).unwrap_err();
        assert_eq!(e.at, 6, "{e}");
        assert!(e.to_string().contains("timestamp"), "{e}");
        let m = parse_rfc5424(b"<13>1 yesterday host", true).unwrap();
        assert_eq!((m.facility, m.severity, m.version), (1, 5, Some(1)));
        assert!(parse_rfc5424(b"<13>1 - - - - - [a b=\"unclosed]", false).is_err());
        let escaped = parse_rfc5424(br#"<13>1 - - - - - [a b="q\"\]\\"]"#, false).unwrap();
        assert_eq!(escaped.structured[0].1[0].1, r#"q"]\"#);
    }

    #[test]
    fn rfc3164_tag_pid_and_yearless_time() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let now_ns = now.timestamp_nanos_opt().unwrap();
        let m = parse_rfc3164(
            b"<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed",
            now_ns,
            false,
        )
        .unwrap();
        assert_eq!((m.facility, m.severity), (4, 2));
        assert_eq!(m.hostname.as_deref(), Some("mymachine"));
        assert_eq!(m.appname.as_deref(), Some("su"));
        assert_eq!(m.procid.as_deref(), Some("230"));
        assert_eq!(m.message.as_deref(), Some("'su root' failed"));
        let expected = Utc.with_ymd_and_hms(2025, 10, 11, 22, 14, 15).unwrap();
        assert_eq!(
            m.timestamp,
            expected.timestamp_nanos_opt(),
            "last year's October"
        );
        let plain =
            parse_rfc3164(b"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", now_ns, false).unwrap();
        assert_eq!(plain.appname, None);
        assert_eq!(plain.message.as_deref(), Some("Use the BFG!"));
        let rfc3339 =
            parse_rfc3164(b"<13>2026-02-05T17:32:18+01:00 host app: hi", now_ns, false).unwrap();
        assert_eq!(rfc3339.appname.as_deref(), Some("app"));
        assert!(parse_rfc3164(b"<13>Feb 31 17:32:18 host x", now_ns, false).is_err());
        assert!(parse_rfc3164(b"no pri", now_ns, false).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_rfc5424(&b, false);
            let _ = parse_rfc5424(&b, true);
            let _ = parse_rfc3164(&b, 0, true);
        }

        #[test]
        fn written_messages_read_back(
            pri in 0u16..192,
            host in "[a-z][a-z0-9.-]{0,20}",
            app in "[a-z]{1,10}",
            msgid in "[A-Z0-9]{1,8}",
            value in "[ -~]{0,20}",
            msg in "[ -~]{1,60}",
        ) {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
            let raw = format!("<{pri}>1 2024-01-02T03:04:05.123456Z {host} {app} 42 {msgid} [id k=\"{escaped}\"] {msg}");
            let m = parse_rfc5424(raw.as_bytes(), false).unwrap();
            prop_assert_eq!(u16::from(m.facility) * 8 + u16::from(m.severity), pri);
            prop_assert_eq!(m.hostname.as_deref(), Some(host.as_str()));
            prop_assert_eq!(m.appname.as_deref(), Some(app.as_str()));
            prop_assert_eq!(m.msgid.as_deref(), Some(msgid.as_str()));
            prop_assert_eq!(&m.structured[0].1[0].1, &value);
            prop_assert_eq!(m.message.as_deref(), Some(msg.trim_end_matches(['\n', '\r', '\0'])).filter(|s| !s.is_empty()));
        }
    }
}
