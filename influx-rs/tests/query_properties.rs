//! Property test of the query engine over subqueries and several measurements: statements
//! built by `statements` (the same generator the `select` fuzz target drives) run against a
//! small store, and each answers, right or with an error, without a panic; every row of an
//! answer has a cell per column.

mod statements;

use influx_rs::query::{execute, QueryContext};
use proptest::prelude::*;

/// Runs `text`; whether it answered with series.
fn run(text: &str) -> Result<bool, TestCaseError> {
    let statements = influxql::parse_statements(text)
        .map_err(|e| TestCaseError::fail(format!("{text} does not parse: {e}")))?;
    let ctx = QueryContext {
        database: Some("d".into()),
        // Windows without an upper bound run to now: ten minutes after the data.
        now: 600_000_000_000,
        ..Default::default()
    };
    let answer = execute(statements::store(), &statements, &ctx);
    for result in &answer.results {
        for series in &result.series {
            for row in &series.values {
                prop_assert_eq!(row.len(), series.columns.len(), "{}", text);
            }
        }
    }
    Ok(answer.results.iter().any(|r| !r.series.is_empty()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn subqueries_and_several_measurements_answer_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..24)
    ) {
        run(&statements::select(&bytes, 2))?;
    }
}

/// A few statements the generator reaches, run by name: what each shape answers is checked
/// against InfluxDB 1.6.7 in `compat.rs`; here only that they answer.
#[test]
fn the_generator_reaches_subqueries_side_by_side_and_two_databases() -> Result<(), TestCaseError> {
    let texts: Vec<String> = (0u8..=255)
        .map(|b| statements::select(&[b, b.wrapping_mul(7), b / 3, b / 5, b / 7], 1))
        .collect();
    assert!(texts
        .iter()
        .any(|t| t.contains("FROM (SELECT") && t.contains("), (SELECT")));
    assert!(texts.iter().any(|t| t.contains("d..cpu, d2..cpu")));
    let mut answered = 0;
    for t in &texts {
        answered += usize::from(run(t)?);
    }
    eprintln!("answered {answered} of {}", texts.len());
    // Many shapes answer with rows over this data: an engine that refused them all would
    // pass the no-panic check above without reading anything.
    assert!(
        answered * 3 > texts.len(),
        "{answered} of {} answered",
        texts.len()
    );
    Ok(())
}
