//! Bodies of `inputs.http` and `exec` output in `data_format = "json"`: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telegraf_rs::parsers::{Parser, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let config = ParserConfig { tag_keys: vec!["t*".into()], json_string_fields: vec!["s".into()], ..ParserConfig::default() };
    if let Ok(parser) = Parser::new(&config, "json") {
        let _ = parser.parse(data, "fuzz", 0);
    }
});
