//! Deep nesting is an error naming where it went too deep, never a stack overflow: run on a
//! thread with a small stack, as a server's worker would, so a recursion the depth bound
//! misses aborts the test.

use influxql::{parse_statement, parse_statements, MAX_DEPTH, MAX_SUBQUERY_DEPTH};
use proptest::prelude::*;

/// Runs `f` on a thread with an 8 MiB stack: half of what the daemons give their workers.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawning the test thread")
        .join()
        .expect("the parser panicked")
}

fn parens(levels: usize) -> String {
    format!(
        "SELECT v FROM m WHERE {}v > 1{}",
        "(".repeat(levels),
        ")".repeat(levels)
    )
}

fn subqueries(levels: usize) -> String {
    let mut q = "SELECT v FROM m".to_string();
    for _ in 0..levels {
        q = format!("SELECT v FROM ({q})");
    }
    q
}

#[test]
fn parentheses_past_the_bound_are_an_error_at_their_place() {
    let e = on_small_stack(|| parse_statement(&parens(3000)).unwrap_err());
    let text = e.to_string();
    assert!(text.starts_with("expression nested too deeply"), "{text}");
    // The error points into the run of parentheses, on line 1.
    assert_eq!(e.line, 1);
    assert!(e.column > 23 && e.column < 23 + 3000, "{text}");
}

#[test]
fn nesting_people_write_still_parses_and_prints_back() {
    let q = on_small_stack(|| parse_statement(&parens(200)).map(|s| s.to_string()));
    assert_eq!(q.unwrap(), parens(200));
}

#[test]
fn nested_subqueries_past_the_bound_are_an_error() {
    let ok = on_small_stack(|| parse_statement(&subqueries(MAX_SUBQUERY_DEPTH)).is_ok());
    assert!(ok);
    let e = on_small_stack(|| parse_statement(&subqueries(1000)).unwrap_err());
    assert!(
        e.to_string().starts_with("subqueries nested too deeply"),
        "{e}"
    );
}

#[test]
fn long_chains_of_operators_are_bounded_too() {
    // `v + v + … + v` is a tree as deep as the chain is long.
    let long = format!("SELECT {} FROM m", vec!["v"; 50_000].join(" + "));
    let e = on_small_stack(move || parse_statement(&long).unwrap_err());
    assert!(e.to_string().contains("nested too deeply"), "{e}");
    let or_chain = (0..300)
        .map(|i| format!("host = 'h{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let q = format!("SELECT v FROM m WHERE {or_chain}");
    assert!(on_small_stack(move || parse_statement(&q).is_ok()));
}

#[test]
fn nested_calls_and_unclosed_nesting_are_errors() {
    let calls = format!("SELECT {}v{} FROM m", "abs(".repeat(5000), ")".repeat(5000));
    assert!(on_small_stack(move || parse_statement(&calls).is_err()));
    // Opened and never closed: still an error, not a crash.
    let open = format!("SELECT v FROM m WHERE {}", "(".repeat(100_000));
    assert!(on_small_stack(move || parse_statements(&open).is_err()));
    let open = format!("SELECT v FROM {}", "(SELECT v FROM ".repeat(100_000));
    assert!(on_small_stack(move || parse_statements(&open).is_err()));
}

/// One level of nesting around `inner`.
fn wrap(kind: u8, inner: String) -> String {
    match kind % 5 {
        0 => format!("({inner})"),
        1 => format!("abs({inner})"),
        2 => format!("{inner} + 1"),
        3 => format!("1 - ({inner})"),
        _ => format!("({inner}) AND x = 'y'"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of nesting, however deep, parses or errors; what parses prints back to itself.
    #[test]
    fn any_nesting_parses_or_errors(kinds in prop::collection::vec(any::<u8>(), 0..(MAX_DEPTH * 3))) {
        let mut expr = "v".to_string();
        for k in &kinds {
            expr = wrap(*k, expr);
        }
        let q = format!("SELECT v FROM m WHERE {expr}");
        let result = on_small_stack(move || {
            parse_statement(&q).map(|s| {
                let printed = s.to_string();
                (parse_statement(&printed).ok() == Some(s), printed)
            })
        });
        if let Ok((same, printed)) = result {
            prop_assert!(same, "{printed}");
        }
    }
}
