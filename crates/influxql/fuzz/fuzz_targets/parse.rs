//! Fuzz target: any text parses or fails without panicking, and whatever parses prints back
//! to text that parses to the same statements.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(statements) = influxql::parse_statements(text) {
        for s in statements {
            let printed = s.to_string();
            let again = influxql::parse_statement(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}"));
            assert_eq!(again, s, "{printed:?}");
        }
    }
});
