//! Property tests: whatever a value holds (quotes, backslashes, newlines, semicolons), quoted
//! with the crate's functions it reads back as exactly that value, in one statement.

use influxql::{
    escape_quoted, escape_regex, parse_statements, quote_ident, quote_string, Expr, Statement,
};
use proptest::prelude::*;

/// Text rich in what breaks hand-made quoting.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z'\"\\\\;\n /.*()$^|]{0,12}",
        "\\PC{0,8}",
        Just("x' OR 1=1; DROP DATABASE y; --".to_string()),
        Just("ends with a backslash\\".to_string()),
    ]
}

/// The WHERE condition of the only statement of `q`.
fn condition(q: &str) -> Expr {
    let statements = parse_statements(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
    assert_eq!(statements.len(), 1, "{q:?}");
    match statements.into_iter().next() {
        Some(Statement::Select(s)) => s.condition.unwrap_or_else(|| panic!("{q:?}")),
        other => panic!("{q:?} gave {other:?}"),
    }
}

proptest! {
    #[test]
    fn quoted_values_read_back_whole(s in nasty()) {
        let q = format!("SELECT v FROM m WHERE {} = {}", quote_ident(&s), quote_string(&s));
        let Expr::Binary { lhs, rhs, .. } = condition(&q) else { panic!("{q:?}") };
        prop_assert_eq!(*lhs, Expr::VarRef(s.clone()));
        prop_assert_eq!(*rhs, Expr::Str(s.clone()));
    }

    #[test]
    fn values_inside_a_templates_quotes_read_back_whole(s in nasty()) {
        let q = format!(
            "SELECT v FROM m WHERE \"{}\" = '{}'",
            escape_quoted(&s, '"'),
            escape_quoted(&s, '\'')
        );
        let Expr::Binary { lhs, rhs, .. } = condition(&q) else { panic!("{q:?}") };
        prop_assert_eq!(*lhs, Expr::VarRef(s.clone()));
        prop_assert_eq!(*rhs, Expr::Str(s.clone()));
    }

    #[test]
    fn regex_escapes_stay_inside_the_literal(s in nasty()) {
        let q = format!("SELECT v FROM m WHERE host =~ /^{}$/", escape_regex(&s));
        let Expr::Binary { rhs, .. } = condition(&q) else { panic!("{q:?}") };
        let Expr::Regex(body) = *rhs else { panic!("{q:?}") };
        let re = regex::Regex::new(&body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
        prop_assert!(re.is_match(&s), "{body:?} does not match {s:?}");
        let other = format!("{s}x");
        prop_assert!(!re.is_match(&other), "{body:?} matches {other:?}");
    }
}
