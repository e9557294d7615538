//! `EXPLAIN` and `EXPLAIN ANALYZE`, shaped as InfluxDB 1.x shapes them.
//!
//! `EXPLAIN` runs the query in planning mode: every read of the storage engine is replaced by
//! [`crate::storage::Engine::plan_measurement`], which counts the shards, series, cached values,
//! files and blocks the read would touch, and nothing is decoded. The answer is one
//! `QUERY PLAN` column of lines: the expressions, then those counts.
//!
//! `EXPLAIN ANALYZE` plans the query the same way, then runs it, and answers with a tree of
//! the planning and execution times, what was read and how many rows came out.

use super::planner::{PlannedRead, Planner};
use super::{select, QueryContext, QueryError, Series};
use crate::meta::go_duration;
use crate::storage::{Engine, FieldType, MeasurementPlan, ReadPlan};
use influxql::{Expr, SelectStatement};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers `EXPLAIN [ANALYZE] select`.
pub(super) fn explain(
    engine: &Engine,
    sel: &SelectStatement,
    analyze: bool,
    ctx: &QueryContext,
) -> Result<Vec<Series>, QueryError> {
    let planner = Arc::new(Planner::default());
    let planning = QueryContext {
        planner: Some(Arc::clone(&planner)),
        ..ctx.clone()
    };
    let started = Instant::now();
    select::select(engine, sel, &planning)?;
    let planning_time = started.elapsed();
    let reads = planner.0.lock().clone();
    let expressions = expressions(sel, &reads);
    let (column, lines) = if analyze {
        let started = Instant::now();
        select::select(engine, sel, ctx)?;
        let timings = Timings {
            planning: planning_time,
            execution: started.elapsed(),
        };
        let statement = qualified(sel, ctx);
        (
            "EXPLAIN ANALYZE",
            analysis(&statement, &expressions, &reads, timings),
        )
    } else {
        ("QUERY PLAN", plan_lines(&expressions, &reads))
    };
    Ok(vec![Series {
        name: None,
        tags: None,
        columns: vec![column.to_string()],
        values: lines.into_iter().map(|l| vec![l.into()]).collect(),
    }])
}

/// One iterator of the plan: a function call of the select list (none for a raw query) and
/// the fields read beside it.
#[derive(Debug, Clone, PartialEq)]
struct Expression {
    /// `max(v::float)`; `None` for a raw query.
    text: Option<String>,
    /// The fields the call reads.
    fields: Vec<String>,
    /// The fields read beside it, `v::float`.
    aux: Vec<String>,
    /// Their plain names.
    aux_fields: Vec<String>,
}

/// The iterators of the select list, written with the types of their fields.
fn expressions(sel: &SelectStatement, reads: &[PlannedRead]) -> Vec<Expression> {
    let mut types: BTreeMap<&str, FieldType> = BTreeMap::new();
    for r in reads {
        types.extend(r.types.iter().map(|(n, t)| (n.as_str(), *t)));
    }
    let (with_calls, aux): (Vec<&Expr>, Vec<&Expr>) = sel
        .fields
        .iter()
        .map(|f| &f.expr)
        .partition(|e| super::math::has_call(e));
    // Each call is an iterator of its own; the math around calls is applied to their rows.
    let calls: Vec<&Expr> = with_calls.into_iter().flat_map(outer_calls).collect();
    let aux_fields: Vec<String> = aux.iter().flat_map(|e| select::var_refs(e)).collect();
    let aux: Vec<String> = aux.iter().map(|e| typed(e, &types)).collect();
    if calls.is_empty() {
        return vec![Expression {
            text: None,
            fields: Vec::new(),
            aux,
            aux_fields,
        }];
    }
    calls
        .into_iter()
        .map(|e| Expression {
            text: Some(typed(e, &types)),
            fields: select::var_refs(e),
            aux: aux.clone(),
            aux_fields: aux_fields.clone(),
        })
        .collect()
}

/// The calls of `e` that are not inside another call.
fn outer_calls(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Call { .. } => vec![e],
        Expr::Binary { lhs, rhs, .. } => {
            let mut calls = outer_calls(lhs);
            calls.extend(outer_calls(rhs));
            calls
        }
        Expr::Paren(inner) => outer_calls(inner),
        _ => Vec::new(),
    }
}

/// `e` as InfluxQL with each field written `name::type` (as InfluxDB shows a plan).
fn typed(e: &Expr, types: &BTreeMap<&str, FieldType>) -> String {
    match e {
        Expr::VarRef(name) => match types.get(name.as_str()) {
            Some(t) => format!("{e}::{}", t.name()),
            None => e.to_string(),
        },
        Expr::Call { name, args } => {
            let args: Vec<String> = args.iter().map(|a| typed(a, types)).collect();
            format!("{name}({})", args.join(", "))
        }
        Expr::Binary { op, lhs, rhs } => {
            format!(
                "{} {} {}",
                typed(lhs, types),
                op.as_str(),
                typed(rhs, types)
            )
        }
        Expr::Paren(inner) => format!("({})", typed(inner, types)),
        other => other.to_string(),
    }
}

/// What one expression touches reading one measurement.
fn touched(expression: &Expression, read: &PlannedRead) -> ReadPlan {
    let mut plan = ReadPlan::default();
    for field in expression.fields.iter().chain(&expression.aux_fields) {
        if let Some(p) = read.plan.fields.get(field) {
            plan += *p;
        }
    }
    plan
}

/// The `EXPLAIN` lines: per expression and measurement read, the expression, the fields
/// read beside it, and what its reads touch; separated by empty lines, as InfluxDB writes
/// them.
fn plan_lines(expressions: &[Expression], reads: &[PlannedRead]) -> Vec<String> {
    let unread = [PlannedRead {
        measurement: String::new(),
        types: BTreeMap::new(),
        plan: MeasurementPlan::default(),
    }];
    let reads = if reads.is_empty() { &unread[..] } else { reads };
    let mut lines = Vec::new();
    for e in expressions {
        for read in reads {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push(format!(
                "EXPRESSION: {}",
                e.text.as_deref().unwrap_or("<nil>")
            ));
            if !e.aux.is_empty() {
                lines.push(format!("AUXILIARY FIELDS: {}", e.aux.join(", ")));
            }
            let plan = touched(e, read);
            lines.extend([
                format!("NUMBER OF SHARDS: {}", read.plan.shards),
                format!("NUMBER OF SERIES: {}", read.plan.series),
                format!("CACHED VALUES: {}", plan.cached_values),
                format!("NUMBER OF FILES: {}", plan.files),
                format!("NUMBER OF BLOCKS: {}", plan.blocks),
                format!("SIZE OF BLOCKS: {}", plan.block_bytes),
            ]);
        }
    }
    lines
}

/// The statement with its sources written `db.rp.measurement`.
fn qualified(sel: &SelectStatement, ctx: &QueryContext) -> String {
    let mut sel = sel.clone();
    for source in &mut sel.sources {
        if source.database.is_none() {
            source.database = ctx.database.clone();
        }
        if source.retention_policy.is_none() {
            source.retention_policy = Some(
                ctx.retention_policy
                    .clone()
                    .unwrap_or_else(|| "autogen".to_string()),
            );
        }
    }
    sel.to_string()
}

/// How long the two passes of `EXPLAIN ANALYZE` took.
#[derive(Debug, Clone, Copy)]
struct Timings {
    planning: Duration,
    execution: Duration,
}

/// The `EXPLAIN ANALYZE` tree, drawn as InfluxDB draws it: the times, then per expression
/// an iterator per measurement with its cursors and the blocks it decoded, by type.
fn analysis(
    statement: &str,
    expressions: &[Expression],
    reads: &[PlannedRead],
    timings: Timings,
) -> Vec<String> {
    let duration = |d: Duration| go_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let leaf = |name: &str, value: String| Node {
        name: format!("{name}: {value}"),
        children: Vec::new(),
    };
    let labels = |pairs: Vec<(&str, String)>| Node {
        name: "labels".into(),
        children: pairs.into_iter().map(|(k, v)| leaf(k, v)).collect(),
    };
    let scanners = expressions.iter().map(|e| {
        let iterators = reads.iter().map(|r| {
            let mut children = vec![
                labels(vec![("measurement", r.measurement.clone())]),
                leaf("cursors_ref", (r.plan.series * e.fields.len()).to_string()),
                leaf(
                    "cursors_aux",
                    (r.plan.series * e.aux_fields.len()).to_string(),
                ),
                leaf("cursors_cond", "0".into()),
            ];
            for ty in [
                FieldType::Float,
                FieldType::Integer,
                FieldType::Unsigned,
                FieldType::String,
                FieldType::Boolean,
            ] {
                let mut of_type = ReadPlan::default();
                for field in e.fields.iter().chain(&e.aux_fields) {
                    if r.types.get(field) == Some(&ty) {
                        of_type += r.plan.fields.get(field).copied().unwrap_or_default();
                    }
                }
                children.push(leaf(
                    &format!("{}_blocks_decoded", ty.name()),
                    of_type.blocks.to_string(),
                ));
                children.push(leaf(
                    &format!("{}_blocks_size_bytes", ty.name()),
                    of_type.block_bytes.to_string(),
                ));
            }
            Node {
                name: "create_iterator".into(),
                children,
            }
        });
        let mut children = vec![labels(vec![(
            "expr",
            e.text.clone().unwrap_or_else(|| "<nil>".into()),
        )])];
        children.extend(iterators);
        Node {
            name: "iterator_scanner".into(),
            children,
        }
    });
    let mut cursor = vec![labels(vec![("statement", statement.to_string())])];
    cursor.extend(scanners);
    let tree = Node {
        name: ".".into(),
        children: vec![Node {
            name: "select".into(),
            children: vec![
                leaf("execution_time", duration(timings.execution)),
                leaf("planning_time", duration(timings.planning)),
                leaf("total_time", duration(timings.planning + timings.execution)),
                Node {
                    name: "build_cursor".into(),
                    children: cursor,
                },
            ],
        }],
    };
    let mut lines = vec![tree.name.clone()];
    tree.draw_children("", &mut lines);
    lines.push(String::new());
    lines
}

/// A node of the `EXPLAIN ANALYZE` tree.
struct Node {
    name: String,
    children: Vec<Node>,
}

impl Node {
    /// Appends the children's lines, each under `prefix` with its branch drawn.
    fn draw_children(&self, prefix: &str, out: &mut Vec<String>) {
        let last = self.children.len().saturating_sub(1);
        for (i, child) in self.children.iter().enumerate() {
            let (branch, indent) = if i == last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            out.push(format!("{prefix}{branch}{}", child.name));
            child.draw_children(&format!("{prefix}{indent}"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select_of(text: &str) -> SelectStatement {
        match influxql::parse_statement(text) {
            Ok(influxql::Statement::Select(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    /// Measurement `m` with float `v` and integer `w` over 2 series in 1 shard.
    fn reads() -> Vec<PlannedRead> {
        let read = |cached, blocks| ReadPlan {
            cached_values: cached,
            files: 1,
            blocks,
            block_bytes: 100 * blocks as u64,
        };
        vec![PlannedRead {
            measurement: "m".into(),
            types: [
                ("v".to_string(), FieldType::Float),
                ("w".to_string(), FieldType::Integer),
            ]
            .into(),
            plan: MeasurementPlan {
                shards: 1,
                series: 2,
                fields: [("v".to_string(), read(2, 1)), ("w".to_string(), read(3, 2))].into(),
            },
        }]
    }

    #[test]
    fn plans_list_each_expression_with_what_it_reads() {
        let sel = select_of("SELECT max(v), mean(w) FROM m");
        let lines = plan_lines(&expressions(&sel, &reads()), &reads());
        assert_eq!(
            lines,
            [
                "EXPRESSION: max(v::float)",
                "NUMBER OF SHARDS: 1",
                "NUMBER OF SERIES: 2",
                "CACHED VALUES: 2",
                "NUMBER OF FILES: 1",
                "NUMBER OF BLOCKS: 1",
                "SIZE OF BLOCKS: 100",
                "",
                "EXPRESSION: mean(w::integer)",
                "NUMBER OF SHARDS: 1",
                "NUMBER OF SERIES: 2",
                "CACHED VALUES: 3",
                "NUMBER OF FILES: 1",
                "NUMBER OF BLOCKS: 2",
                "SIZE OF BLOCKS: 200",
            ]
        );
        let raw = select_of("SELECT v, w FROM m");
        let lines = plan_lines(&expressions(&raw, &reads()), &reads());
        assert_eq!(
            lines[..4],
            [
                "EXPRESSION: <nil>",
                "AUXILIARY FIELDS: v::float, w::integer",
                "NUMBER OF SHARDS: 1",
                "NUMBER OF SERIES: 2",
            ]
        );
        assert_eq!(lines[4], "CACHED VALUES: 5");
    }

    #[test]
    fn analysis_is_drawn_as_a_tree() {
        let timings = Timings {
            planning: Duration::from_micros(15),
            execution: Duration::from_millis(2),
        };
        let sel = select_of("SELECT max(v) FROM m");
        let lines = analysis(
            "SELECT max(v::float) FROM d.autogen.m",
            &expressions(&sel, &reads()),
            &reads(),
            timings,
        );
        assert_eq!(
            lines[..16],
            [
                ".",
                "└── select",
                "    ├── execution_time: 2ms",
                "    ├── planning_time: 15µs",
                "    ├── total_time: 2.015ms",
                "    └── build_cursor",
                "        ├── labels",
                "        │   └── statement: SELECT max(v::float) FROM d.autogen.m",
                "        └── iterator_scanner",
                "            ├── labels",
                "            │   └── expr: max(v::float)",
                "            └── create_iterator",
                "                ├── labels",
                "                │   └── measurement: m",
                "                ├── cursors_ref: 2",
                "                ├── cursors_aux: 0",
            ]
        );
        assert!(lines.contains(&"                ├── float_blocks_decoded: 1".to_string()));
        assert_eq!(lines.last().map(String::as_str), Some(""));
    }
}
