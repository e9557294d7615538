//! Scripts arrive through the task API: the parser must never panic, and a script of
//! declarations and pipelines must print to a script that parses to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(program) = tickscript::parse(text) else { return };
    let pipelines_only = program.statements.iter().all(|s| match s {
        tickscript::Statement::Expr(e) => rooted_at_a_name(e),
        _ => true,
    });
    if !pipelines_only {
        return;
    }
    let printed = program.to_string();
    if let Ok(again) = tickscript::parse(&printed) {
        assert_eq!(again.without_positions(), program.without_positions(), "{printed}");
    }
});

fn rooted_at_a_name(e: &tickscript::Expr) -> bool {
    match e {
        tickscript::Expr::Chain { target, .. } => rooted_at_a_name(target),
        tickscript::Expr::Ident { .. } => true,
        _ => false,
    }
}
