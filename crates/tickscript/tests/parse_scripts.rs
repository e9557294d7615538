//! The corpus: the scripts Chronograf's rule builder writes (threshold, relative, deadman), a
//! batch script with the alert properties of the reference, and a template task. Each parses,
//! prints back to a script that parses to the same tree, and has the shape expected.

use tickscript::{parse, ChainOp, Expr, Statement};

fn corpus() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "chronograf_threshold",
            include_str!("scripts/chronograf_threshold.tick"),
        ),
        (
            "chronograf_relative",
            include_str!("scripts/chronograf_relative.tick"),
        ),
        (
            "chronograf_deadman",
            include_str!("scripts/chronograf_deadman.tick"),
        ),
        (
            "reference_batch",
            include_str!("scripts/reference_batch.tick"),
        ),
        ("template_vars", include_str!("scripts/template_vars.tick")),
    ]
}

#[test]
fn every_script_round_trips() {
    for (name, text) in corpus() {
        let program = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let printed = program.to_string();
        let again = parse(&printed).unwrap_or_else(|e| panic!("{name} printed: {e}\n{printed}"));
        assert_eq!(
            again.without_positions(),
            program.without_positions(),
            "{name}:\n{printed}"
        );
    }
}

/// Each script's tree (positions left out) against its golden file `scripts/<name>.ast`;
/// `TICKSCRIPT_BLESS=1` rewrites the files after a deliberate change.
#[test]
fn trees_match_their_golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts");
    let bless = std::env::var("TICKSCRIPT_BLESS").is_ok_and(|v| v == "1");
    for (name, text) in corpus() {
        let tree = format!("{:#?}\n", parse(text).unwrap().without_positions());
        let golden = dir.join(format!("{name}.ast"));
        if bless {
            std::fs::write(&golden, &tree).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e} (run with TICKSCRIPT_BLESS=1)", golden.display()));
        assert_eq!(
            tree,
            want,
            "{name}: the tree differs from {}",
            golden.display()
        );
    }
}

/// The chain of a pipeline statement, root first: `(op, name, argument count)`.
fn chain(e: &Expr) -> Vec<(ChainOp, String, usize)> {
    match e {
        Expr::Chain {
            target,
            op,
            name,
            args,
            ..
        } => {
            let mut v = chain(target);
            v.push((*op, name.clone(), args.len()));
            v
        }
        _ => Vec::new(),
    }
}

#[test]
fn threshold_script_shape() {
    let p = parse(include_str!("scripts/chronograf_threshold.tick")).unwrap();
    assert_eq!(p.statements.len(), 21);
    let Statement::Var { name, value, .. } = &p.statements[18] else {
        panic!()
    };
    assert_eq!(name, "trigger");
    let c = chain(value);
    assert_eq!(c[0], (ChainOp::Pipe, "alert".into(), 0));
    assert_eq!(c[1], (ChainOp::Dot, "crit".into(), 1));
    assert_eq!(c.last().unwrap(), &(ChainOp::Dot, "to".into(), 1));
    let Statement::Var {
        value: Expr::Binary { .. },
        ..
    } = &p.statements[6]
    else {
        panic!("idVar is a concatenation")
    };
}

#[test]
fn batch_script_shape() {
    let p = parse(include_str!("scripts/reference_batch.tick")).unwrap();
    assert!(
        matches!(&p.statements[0], Statement::Dbrp { db, rp, .. } if db == "telegraf" && rp == "autogen")
    );
    let Statement::Expr(e) = &p.statements[3] else {
        panic!()
    };
    let c = chain(e);
    assert_eq!(c[0].1, "query");
    assert_eq!(c[3], (ChainOp::Dot, "groupBy".into(), 2));
}

#[test]
fn template_declarations() {
    let p = parse(include_str!("scripts/template_vars.tick")).unwrap();
    assert!(
        matches!(&p.statements[0], Statement::Declare { name, type_name, .. } if name == "measurement" && type_name == "string")
    );
    let Statement::Expr(e) = p.statements.last().unwrap() else {
        panic!()
    };
    assert!(chain(e)
        .iter()
        .any(|(op, name, n)| *op == ChainOp::At && name == "myUdf" && *n == 0));
}

#[test]
fn broken_scripts_say_where() {
    let cases = [
        (
            "stream\n    |from(\n",
            "3:1: found EOF, expected a value, a name, lambda: or (",
        ),
        (
            "var x = \n",
            "2:1: found EOF, expected a value, a name, lambda: or (",
        ),
        (
            "stream|from()|alert().crit(lambda: \"v\" > )",
            "1:42: found ), expected a value, a name, lambda: or (",
        ),
        (
            "dbrp telegraf.autogen",
            "1:6: found telegraf, expected a quoted name",
        ),
        (
            "stream|from().where(lambda: 'x)",
            "1:29: unterminated string",
        ),
        (
            "stream|window().period(5x)",
            "1:25: found x, expected , or )",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert_eq!(err, want, "{text:?}");
    }
}

mod generated {
    use proptest::prelude::*;
    use tickscript::{BinaryOp, Expr, UnaryOp};

    fn leaf() -> impl Strategy<Value = Expr> {
        prop_oneof![
            "[a-z_][a-z0-9_ .]{0,8}".prop_map(Expr::Reference),
            "[ -&(-~]{0,8}".prop_map(Expr::Str),
            (0i64..1_000_000).prop_map(Expr::Int),
            (0.0f64..1e9).prop_map(Expr::Float),
            any::<bool>().prop_map(Expr::Bool),
            (1i64..1000).prop_map(|n| Expr::Duration(n * 60_000_000_000, format!("{n}m"))),
            "[a-z0-9^$.*+]{1,8}".prop_map(Expr::Regex),
        ]
    }

    fn op() -> impl Strategy<Value = BinaryOp> {
        prop_oneof![
            Just(BinaryOp::Or),
            Just(BinaryOp::And),
            Just(BinaryOp::Eq),
            Just(BinaryOp::Neq),
            Just(BinaryOp::Lt),
            Just(BinaryOp::Gte),
            Just(BinaryOp::Add),
            Just(BinaryOp::Sub),
            Just(BinaryOp::Mul),
            Just(BinaryOp::Div),
            Just(BinaryOp::Mod),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| Expr::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r)
                }),
                inner.clone().prop_map(|e| Expr::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(e)
                }),
                proptest::collection::vec(inner, 0..3).prop_map(|args| Expr::Call {
                    name: "f".into(),
                    args,
                    pos: Default::default()
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn printed_lambdas_parse_to_the_same_tree(e in expr()) {
            let text = format!("var x = lambda: {e}");
            let program = tickscript::parse(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
            let tickscript::Statement::Var { value, .. } = &program.statements[0] else { panic!() };
            prop_assert_eq!(value.without_positions(), Expr::Lambda(Box::new(e.without_positions())), "{}", text);
        }

        #[test]
        fn the_parser_never_panics(text in "\\PC{0,200}") {
            let _ = tickscript::parse(&text);
        }
    }
}
