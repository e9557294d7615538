//! Syslog messages come from anyone who can reach the port: never a panic, whatever the bytes,
//! in either standard, strict or best effort; and every metric made of them serializes to line
//! protocol that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::inputs::syslog::message::{parse_rfc3164, parse_rfc5424};

fuzz_target!(|data: &[u8]| {
    let parsed = [
        parse_rfc5424(data, false),
        parse_rfc5424(data, true),
        parse_rfc3164(data, 0, false),
        parse_rfc3164(data, 1_700_000_000_000_000_000, true),
    ];
    for m in parsed.into_iter().flatten() {
        if let Ok(line) = m.to_metric(1, Some("127.0.0.1"), "_").to_line(false) {
            assert!(lineproto::parse_lines(&line).all(|l| l.is_ok()), "{line:?}");
        }
    }
});
