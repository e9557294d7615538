//! Deep nesting and long chains are an error naming line:column, never a stack overflow: run
//! on a thread with a small stack, so a recursion the depth bound misses aborts the test.

use proptest::prelude::*;
use tickscript::{parse, MAX_DEPTH};

/// Runs `f` on a thread with an 8 MiB stack: half of what the daemons give their workers.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawning the test thread")
        .join()
        .expect("the parser panicked")
}

fn lambda_in_parens(levels: usize) -> String {
    format!(
        "stream\n    |from()\n    |where(lambda: {}\"v\" > 1{})\n",
        "(".repeat(levels),
        ")".repeat(levels)
    )
}

fn chain(links: usize) -> String {
    format!("stream\n    |from()\n{}", "    |log()\n".repeat(links))
}

#[test]
fn lambdas_nested_past_the_bound_are_an_error_at_their_place() {
    let e = on_small_stack(|| parse(&lambda_in_parens(2000)).unwrap_err());
    assert!(e.message.starts_with("expression nested too deeply"), "{e}");
    assert_eq!(e.pos.line, 3);
    assert!(e.to_string().starts_with("3:"), "{e}");
    assert!(on_small_stack(|| parse(&lambda_in_parens(200)).is_ok()));
}

#[test]
fn chains_past_the_bound_are_an_error() {
    let e = on_small_stack(|| parse(&chain(6000)).unwrap_err());
    assert!(e.message.starts_with("chain too long"), "{e}");
    // `stream` is one level, so the link on line 1 + MAX_DEPTH is the first too many.
    assert_eq!(e.pos.line, 1 + MAX_DEPTH);
    let printed = on_small_stack(|| parse(&chain(300)).map(|p| p.to_string()));
    assert!(printed.is_ok());
}

#[test]
fn other_nesting_is_bounded_too() {
    for text in [
        format!("var x = {}1", "-".repeat(50_000)),
        format!("var x = {}1{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!("var x = {}1", "lambda: ".repeat(50_000)),
        format!("var x = {}1{}", "abs(".repeat(50_000), ")".repeat(50_000)),
        format!("var x = {}", vec!["1"; 50_000].join(" + ")),
        format!("var x = {}", "(".repeat(100_000)),
    ] {
        assert!(on_small_stack(move || parse(&text).is_err()));
    }
}

/// One level of nesting around `inner`.
fn wrap(kind: u8, inner: String) -> String {
    match kind % 6 {
        0 => format!("({inner})"),
        1 => format!("abs({inner})"),
        2 => format!("{inner} + 1"),
        3 => format!("!({inner})"),
        4 => format!("[{inner}, 2]"),
        _ => format!("({inner}) AND \"x\" == 'y'"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of nesting and chain lengths parses or errors, and what parses prints back.
    #[test]
    fn any_nesting_parses_or_errors(
        kinds in prop::collection::vec(any::<u8>(), 0..(MAX_DEPTH * 2)),
        links in 0..(MAX_DEPTH * 2),
    ) {
        let mut expr = "\"v\"".to_string();
        for k in &kinds {
            expr = wrap(*k, expr);
        }
        let script = format!("stream\n    |from()\n    |eval(lambda: {expr})\n{}", "    .as('x')\n".repeat(links));
        let result = on_small_stack(move || {
            parse(&script).map(|p| {
                let printed = p.to_string();
                let again = parse(&printed).map(|a| a.without_positions());
                (again == Ok(p.without_positions()), printed)
            })
        });
        if let Ok((same, printed)) = result {
            prop_assert!(same, "{printed}");
        }
    }
}
