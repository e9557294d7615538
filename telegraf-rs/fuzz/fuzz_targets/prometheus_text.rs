//! Scraped `/metrics` bodies come from the network: the parser must never panic, and every
//! sample it accepts must serialize to line protocol that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::parsers::prometheus_text::parse;
use telegraf_rs::metric::Metric;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(families) = parse(text) else { return };
    for f in families {
        for s in f.samples {
            let mut m = Metric::new(s.name, 0).with_field("value", s.value);
            m.tags = s.labels;
            if let Ok(line) = m.to_line(false) {
                assert!(lineproto::parse_lines(&line).all(|l| l.is_ok()), "{line:?}");
            }
        }
    }
});
