//! Bodies the listeners and pollers receive from the network, in every text data format
//! (`graphite`, `logfmt`, `csv`, `value`, `form_urlencoded`, `influx`, `prometheus`): never a
//! panic, and every metric a parser accepts serializes to line protocol that parses back
//! (or is refused as unwritable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::parsers::{Parser, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let mut config = ParserConfig::default();
    let format = match selector % 7 {
        0 => {
            config.templates = vec!["a.* .host.measurement* x=y".into(), "field*".into()];
            config.separator = Some("_".into());
            "graphite"
        }
        1 => "logfmt",
        2 => {
            config.csv.csv_header_row_count = 1;
            config.csv.csv_tag_columns = vec!["t".into()];
            "csv"
        }
        3 => {
            config.data_type = "auto_integer".into();
            "value"
        }
        4 => "form_urlencoded",
        5 => "influx",
        _ => "prometheus",
    };
    config.data_format = Some(format.into());
    let Ok(parser) = Parser::new(&config, "influx") else { return };
    let Ok(metrics) = parser.parse(body, "fuzz", 0) else { return };
    for m in metrics {
        if let Ok(line) = m.to_line(false) {
            assert!(lineproto::parse_lines(&line).all(|l| l.is_ok()), "{format}: {line:?}");
        }
    }
});
