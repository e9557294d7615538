//! Bodies the listeners and pollers receive from the network, in every data format
//! (`graphite`, `logfmt`, `csv`, `value`, `form_urlencoded`, `influx`, `prometheus`, `nagios`,
//! `collectd`, `grok`, `json_v2`, `xml`, `xpath_json`, `xpath_msgpack`): never a
//! panic, and every metric a parser accepts serializes to line protocol that parses back
//! (or is refused as unwritable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::parsers::{Parser, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let mut config = ParserConfig::default();
    let format = match selector % 14 {
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
        6 => "nagios",
        7 => "collectd",
        8 => {
            config.grok_patterns = vec!["%{COMBINED_LOG_FORMAT}".into(), "%{SYSLOGLINE}".into()];
            "grok"
        }
        9 => {
            config.json_v2 = vec![telegraf_rs::parsers::json_v2::JsonV2Config {
                object: vec![telegraf_rs::parsers::json_v2::ObjectConfig {
                    path: "@this".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }];
            "json_v2"
        }
        10 | 11 | 12 => {
            config.xpath = vec![telegraf_rs::parsers::xpath::XpathConfig {
                metric_selection: "//*[not(*)]/..".into(),
                field_selection: "descendant::*[not(*)] | @*".into(),
                field_name_expansion: true,
                tags: [("n".to_string(), "name(.)".to_string())].into(),
                ..Default::default()
            }];
            config.xpath_native_types = selector % 2 == 0;
            match selector % 14 {
                10 => "xml",
                11 => "xpath_json",
                _ => "xpath_msgpack",
            }
        }
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
