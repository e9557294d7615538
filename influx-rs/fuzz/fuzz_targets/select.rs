//! Fuzz target: SELECT statements over subqueries and several measurements (built from the
//! input by the generator the query property test uses) run against a small store; each
//! answers, right or with an error, and never panics. Run with
//! `cargo fuzz run select` in `influx-rs/`.
#![no_main]

#[path = "../../tests/statements/mod.rs"]
mod statements;

use influx_rs::query::{execute, QueryContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = statements::select(data, 3);
    let Ok(parsed) = influxql::parse_statements(&text) else {
        panic!("{text} does not parse");
    };
    let ctx = QueryContext {
        database: Some("d".into()),
        now: 600_000_000_000,
        ..Default::default()
    };
    for result in execute(statements::store(), &parsed, &ctx).results {
        for series in result.series {
            for row in series.values {
                assert_eq!(row.len(), series.columns.len(), "{text}");
            }
        }
    }
});
