//! Property tests: whatever a value holds (quotes, backslashes, newlines, semicolons), quoted
//! with the crate's functions it reads back as exactly that value, or is refused.

use proptest::prelude::*;
use tickscript::{parse, quote_reference, quote_string, Expr, Statement};

fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z'\"\\\\;\n |()]{0,12}",
        "\\PC{0,8}",
        Just("x')\n    |exec('/bin/sh')\n//".to_string()),
        Just("ends with a backslash\\".to_string()),
    ]
}

/// The value of `var x = <text>`.
fn value(text: &str) -> Expr {
    let program = parse(&format!("var x = {text}\n")).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(program.statements.len(), 1, "{text:?}");
    match program.statements.into_iter().next() {
        Some(Statement::Var { value, .. }) => value,
        other => panic!("{text:?} gave {other:?}"),
    }
}

proptest! {
    #[test]
    fn strings_read_back_whole(s in nasty()) {
        match quote_string(&s) {
            Ok(quoted) => prop_assert_eq!(value(&quoted), Expr::Str(s.clone())),
            Err(_) => prop_assert!(s.ends_with('\\') && s.contains("'''")),
        }
    }

    #[test]
    fn references_read_back_whole(s in nasty()) {
        match quote_reference(&s) {
            Ok(quoted) => prop_assert_eq!(value(&quoted), Expr::Reference(s.clone())),
            Err(_) => prop_assert!(s.ends_with('\\') || s.contains('\n')),
        }
    }
}
