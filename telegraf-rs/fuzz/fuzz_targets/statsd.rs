//! statsd packets come from anyone who can reach the port: never a panic, whatever the bytes,
//! and every metric a gather makes of them serializes to line protocol that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::inputs::statsd::{Aggregates, StatsdConfig};

fuzz_target!(|data: &[u8]| {
    let config = StatsdConfig {
        datadog_extensions: true,
        templates: vec!["a.* measurement.field".into(), "measurement.host*".into()],
        percentiles: vec![50.0, 99.9, 100.0],
        ..StatsdConfig::default()
    };
    let Ok(mut aggregates) = Aggregates::new(&config) else { return };
    aggregates.packet(data);
    for m in aggregates.gather(0) {
        if let Ok(line) = m.to_line(false) {
            assert!(lineproto::parse_lines(&line).all(|l| l.is_ok()), "{line:?}");
        }
    }
});
