//! Property tests: statement → text → statement is the identity, and the parser never panics
//! on any text.

use influxql::{
    parse_statement, BinaryOp, CardinalityOf, Dimension, Expr, Field, Fill, Measurement,
    MeasurementName, RetentionPolicyOptions, SelectStatement, ShowStatement, Statement,
    TagKeyFilter, VarType,
};
use proptest::prelude::*;

/// Names: plain words, keywords, `true`, and anything that needs quoting.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,8}",
        1 => Just("select".to_string()),
        1 => Just("true".to_string()),
        1 => Just("time".to_string()),
        1 => "[ -~]{1,10}",
        1 => "\\PC{1,6}",
    ]
}

/// Regex bodies (no `/` inside, which the printer escapes anyway; no leading `*`, which
/// would make `/*` the start of a comment).
fn regex() -> impl Strategy<Value = String> {
    "[a-z^$.][a-z^$.*+|]{0,7}"
}

/// Durations as InfluxQL writes them: a whole number of one unit.
fn duration() -> impl Strategy<Value = i64> {
    (
        1i64..1000,
        prop::sample::select(vec![
            1_000,
            1_000_000,
            1_000_000_000,
            60_000_000_000,
            3_600_000_000_000,
            86_400_000_000_000,
            604_800_000_000_000,
        ]),
    )
        .prop_map(|(n, unit)| n * unit)
}

/// Floats with a fraction (a whole float prints with `.0` and reads back the same too).
fn float() -> impl Strategy<Value = f64> {
    (-100_000i64..100_000, 1u32..1000).prop_map(|(i, frac)| i as f64 + f64::from(frac) / 1024.0)
}

fn literal() -> impl Strategy<Value = Expr> {
    prop_oneof![
        any::<i64>().prop_map(Expr::Integer),
        float().prop_map(Expr::Float),
        any::<bool>().prop_map(Expr::Bool),
        "\\PC{0,8}".prop_map(Expr::Str),
        duration().prop_map(Expr::Duration),
    ]
}

/// A binary operand: binary expressions go in parentheses so the text parses back to the
/// same tree whatever the precedences.
fn operand(e: Expr) -> Box<Expr> {
    Box::new(match e {
        Expr::Binary { .. } => Expr::Paren(Box::new(e)),
        other => other,
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        3 => name().prop_map(Expr::VarRef),
        2 => literal(),
        1 => (name(), prop::sample::select(VarType::ALL.to_vec()))
            .prop_map(|(name, to)| Expr::Typed { name, to }),
        1 => prop::sample::select(vec![VarType::Field, VarType::Tag]).prop_map(Expr::TypedWildcard),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![
                    BinaryOp::Or,
                    BinaryOp::And,
                    BinaryOp::Eq,
                    BinaryOp::Neq,
                    BinaryOp::Lt,
                    BinaryOp::Lte,
                    BinaryOp::Gt,
                    BinaryOp::Gte,
                    BinaryOp::EqRegex,
                    BinaryOp::NeqRegex,
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div,
                    BinaryOp::Mod,
                ]),
                inner.clone(),
                inner.clone(),
                regex(),
            )
                .prop_map(|(op, l, r, re)| Expr::Binary {
                    op,
                    lhs: operand(l),
                    // `=~` and `!~` take a regex literal.
                    rhs: match op {
                        BinaryOp::EqRegex | BinaryOp::NeqRegex => Box::new(Expr::Regex(re)),
                        _ => operand(r),
                    },
                }),
            (
                // Function names are written bare, so they cannot be keywords.
                "[a-z][a-z_0-9]{0,10}".prop_filter("not a keyword", |n| {
                    !influxql::lexer::is_keyword(n) && n != "true" && n != "false"
                }),
                // A regex literal stands alone as an argument (`mean(/u/)`), or after `=~`.
                prop::collection::vec(
                    prop_oneof![4 => inner.clone(), 1 => regex().prop_map(Expr::Regex)],
                    0..3
                )
            )
                .prop_map(|(name, args)| Expr::Call { name, args }),
            inner.prop_map(|e| Expr::Paren(Box::new(e))),
        ]
    })
}

fn measurement() -> impl Strategy<Value = Measurement> {
    (
        prop::option::of(name()),
        prop::option::of(name()),
        prop_oneof![
            3 => name().prop_map(MeasurementName::Name),
            1 => regex().prop_map(MeasurementName::Regex),
        ],
    )
        .prop_map(|(database, retention_policy, name)| {
            // A retention policy is written only with a database (`db.rp.m`, `db..m`).
            let database = database.or(retention_policy.as_ref().map(|_| String::new()));
            Measurement {
                database,
                retention_policy,
                name,
            }
        })
}

/// An `INTO` target: a measurement or `:MEASUREMENT`.
fn target() -> impl Strategy<Value = Measurement> {
    (measurement(), any::<bool>()).prop_map(|(m, source)| match (m.name, source) {
        (MeasurementName::Name(_), true) => Measurement {
            name: MeasurementName::Source,
            ..m
        },
        (name, _) => Measurement { name, ..m },
    })
}

fn field() -> impl Strategy<Value = Field> {
    (
        prop_oneof![5 => expr(), 1 => Just(Expr::Wildcard)],
        prop::option::of(name()),
    )
        .prop_map(|(expr, alias)| Field { expr, alias })
}

fn dimension() -> impl Strategy<Value = Dimension> {
    prop_oneof![
        (
            duration(),
            prop_oneof![Just(0i64), duration(), duration().prop_map(|d| -d)]
        )
            .prop_map(|(interval, offset)| Dimension::Time { interval, offset }),
        name().prop_map(Dimension::Tag),
        Just(Dimension::Wildcard),
        regex().prop_map(Dimension::Regex),
        prop::collection::vec(duration().prop_map(Expr::Duration), 3..5)
            .prop_map(Dimension::BadTime),
        Just(Dimension::BadTime(Vec::new())),
    ]
}

fn fill() -> impl Strategy<Value = Fill> {
    prop_oneof![
        Just(Fill::Null),
        Just(Fill::None),
        Just(Fill::Previous),
        Just(Fill::Linear),
        any::<i64>().prop_map(Fill::Integer),
        float().prop_map(Fill::Float),
    ]
}

fn select() -> impl Strategy<Value = SelectStatement> {
    (
        prop::collection::vec(field(), 1..4),
        prop::option::of(target()),
        prop::collection::vec(measurement(), 1..3),
        prop::option::of(expr()),
        prop::collection::vec(dimension(), 0..3),
        prop::option::of(fill()),
        any::<bool>(),
        prop::array::uniform4(prop::option::of(0u64..1_000_000)),
        prop::option::of("[A-Za-z/_]{1,20}"),
    )
        .prop_map(
            |(fields, into, sources, condition, dimensions, fill, descending, limits, tz)| {
                let [limit, offset, slimit, soffset] = limits;
                SelectStatement {
                    fields,
                    into,
                    sources,
                    condition,
                    dimensions,
                    fill,
                    descending,
                    limit,
                    offset,
                    slimit,
                    soffset,
                    timezone: tz,
                }
            },
        )
}

fn policy_options() -> impl Strategy<Value = RetentionPolicyOptions> {
    (
        prop::option::of(prop_oneof![Just(0i64), duration()]),
        prop::option::of(1u32..5),
        prop::option::of(duration()),
        prop::option::of(name()),
        any::<bool>(),
    )
        .prop_map(|(duration, replication, shard_duration, name, default)| {
            RetentionPolicyOptions {
                duration,
                replication,
                shard_duration,
                name,
                default,
            }
        })
}

/// `[ON db] [FROM …] [WHERE …] [LIMIT n] [OFFSET n]` of a `SHOW`.
fn show_scope() -> impl Strategy<Value = ShowStatement> {
    (
        prop::option::of(name()),
        prop::collection::vec(measurement(), 0..3),
        prop::option::of(expr()),
        prop::option::of(0u64..1000),
        prop::option::of(0u64..1000),
    )
        .prop_map(
            |(database, sources, condition, limit, offset)| ShowStatement {
                database,
                sources,
                condition,
                limit,
                offset,
            },
        )
}

/// What a `SHOW … CARDINALITY` counts.
fn cardinality_of() -> impl Strategy<Value = CardinalityOf> {
    prop_oneof![
        Just(CardinalityOf::Measurement),
        Just(CardinalityOf::Series),
        Just(CardinalityOf::TagKey),
        Just(CardinalityOf::FieldKey),
        name().prop_map(|k| CardinalityOf::TagValues(TagKeyFilter::Eq(k))),
        name().prop_map(|k| CardinalityOf::TagValues(TagKeyFilter::Neq(k))),
        prop::collection::vec(name(), 1..3)
            .prop_map(|k| CardinalityOf::TagValues(TagKeyFilter::In(k))),
        regex().prop_map(|re| CardinalityOf::TagValues(TagKeyFilter::Regex(re))),
        regex().prop_map(|re| CardinalityOf::TagValues(TagKeyFilter::NotRegex(re))),
    ]
}

/// A measurement a deletion may name: no database or retention policy (InfluxDB refuses them).
fn deletion_source() -> impl Strategy<Value = Measurement> {
    measurement().prop_map(|m| Measurement {
        database: None,
        retention_policy: None,
        ..m
    })
}

fn statement() -> impl Strategy<Value = Statement> {
    prop_oneof![
        6 => select().prop_map(Statement::Select),
        1 => (prop::collection::vec(deletion_source(), 0..3), prop::option::of(expr()))
            .prop_filter("FROM or WHERE", |(s, c)| !s.is_empty() || c.is_some())
            .prop_map(|(sources, condition)| Statement::Delete { sources, condition }),
        1 => (prop::collection::vec(deletion_source(), 0..3), prop::option::of(expr()))
            .prop_filter("FROM or WHERE", |(s, c)| !s.is_empty() || c.is_some())
            .prop_map(|(sources, condition)| Statement::DropSeries { sources, condition }),
        1 => name().prop_map(|name| Statement::DropMeasurement { name }),
        1 => (
            prop::option::of(name()),
            prop::option::of(prop_oneof![
                name().prop_map(MeasurementName::Name),
                regex().prop_map(MeasurementName::Regex),
            ]),
            prop::option::of(expr()),
            prop::option::of(0u64..1000),
            prop::option::of(0u64..1000),
        )
            .prop_map(|(database, measurement, condition, limit, offset)| {
                Statement::ShowMeasurements { database, measurement, condition, limit, offset }
            }),
        1 => (name(), prop::option::of(policy_options().prop_filter("WITH needs an option", |o| {
            o.duration.is_some() || o.replication.is_some() || o.shard_duration.is_some() || o.name.is_some()
        }).prop_map(|o| RetentionPolicyOptions { default: false, ..o })))
            .prop_map(|(name, policy)| Statement::CreateDatabase { name, policy }),
        1 => name().prop_map(|name| Statement::DropDatabase { name }),
        1 => (cardinality_of(), any::<bool>(), show_scope())
            .prop_map(|(of, exact, scope)| Statement::ShowCardinality { of, exact, scope }),
        1 => (any::<bool>(), select())
            .prop_map(|(analyze, s)| Statement::Explain { analyze, select: Box::new(s) }),
        1 => prop::option::of("\\PC{0,10}").prop_map(|module| Statement::ShowStats { module }),
        1 => prop::option::of("\\PC{0,10}")
            .prop_map(|module| Statement::ShowDiagnostics { module }),
        1 => any::<u64>()
            .prop_filter("a non-negative int64", |id| i64::try_from(*id).is_ok())
            .prop_map(|id| Statement::DropShard { id }),
        1 => (name(), "\\PC{0,10}", any::<bool>()).prop_map(|(name, password, admin)| {
            Statement::CreateUser {
                name,
                password,
                admin,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_statements_parse_back_to_themselves(s in statement()) {
        let text = s.to_string();
        let parsed = parse_statement(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&s), "{} → {:?}", text, parsed);
    }

    #[test]
    fn any_text_parses_or_errors_without_panicking(text in "\\PC{0,80}") {
        let _ = parse_statement(&text);
    }
}

/// Found by fuzzing: a whole float past 1e15 printed as plain digits and read back as an
/// integer.
#[test]
fn large_whole_floats_print_as_floats() {
    for text in [
        "SELECT 3333333333333333333.3333 FROM m",
        "SELECT 100000000000000000000000000000.5 FROM m",
    ] {
        let s = parse_statement(text).unwrap();
        assert_eq!(parse_statement(&s.to_string()).unwrap(), s, "{s}");
    }
}
