//! From a TICKscript to a task's graph: statements are evaluated in order, `var`s hold values or
//! nodes, `|name()` adds a child node, `.name()` records a property on the node it follows.
//! What each node accepts is checked when the node is built (`nodes`), with Kapacitor's
//! `no method or property X on Y` for anything else.

use crate::lambda::{Lambda, Value};
use regex::Regex;
use std::collections::HashMap;
use std::sync::Arc;
use tickscript::{ChainOp, Expr, Pos, Statement};

/// Whether points are pushed (`stream`) or queried (`batch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    /// Points written to Kapacitor.
    Stream,
    /// Periodic queries.
    Batch,
}

/// An argument of a node or property, with variables resolved.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A literal value.
    Value(Value),
    /// `*`
    Star,
    /// A compiled lambda.
    Lambda(Arc<Lambda>),
    /// `[a, b]`
    List(Vec<Arg>),
    /// Another node (`join(current)`).
    Node(usize),
}

impl Arg {
    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Arg::Value(v) => format!("{v:?}"),
            Arg::Star => "*".into(),
            Arg::Lambda(l) => format!("lambda: {}", l.text),
            Arg::List(items) => format!("list of {}", items.len()),
            Arg::Node(_) => "node".into(),
        }
    }
}

/// A `.name(args)` on a node.
#[derive(Debug, Clone)]
pub struct Property {
    /// Property name.
    pub name: String,
    /// Its arguments.
    pub args: Vec<Arg>,
    /// Where it is written.
    pub pos: Pos,
}

/// A node as the script declares it.
#[derive(Debug, Clone)]
pub struct NodeDecl {
    /// Index in the graph (creation order).
    pub id: usize,
    /// `alert4`: type and creation index.
    pub name: String,
    /// `alert`, `from`, `window`, ….
    pub kind: String,
    /// Constructor arguments.
    pub args: Vec<Arg>,
    /// Properties in script order.
    pub props: Vec<Property>,
    /// Parents (one, or several for `join`/`union`).
    pub parents: Vec<usize>,
    /// Where the node is created.
    pub pos: Pos,
}

/// A whole task graph.
#[derive(Debug, Clone)]
pub struct Graph {
    /// Stream or batch, from the root node.
    pub kind: TaskType,
    /// `dbrp` statements.
    pub dbrps: Vec<(String, String)>,
    /// Nodes in creation order; node 0 is the root.
    pub nodes: Vec<NodeDecl>,
}

/// A script that does not make a task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// Bad syntax.
    #[error("invalid TICKscript: {0}")]
    Parse(#[from] tickscript::ParseError),
    /// Bad meaning.
    #[error("invalid TICKscript: line {line} char {column}: {message}")]
    Invalid {
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl PipelineError {
    /// An error at `pos`.
    pub fn at(pos: Pos, message: impl Into<String>) -> Self {
        PipelineError::Invalid {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
enum Binding {
    Arg(Arg),
    Node(usize),
}

/// Builds the graph of `script`; `vars` are the values given through the API (template tasks
/// and overrides of `var`s): values, lambdas, `*` or lists.
pub fn build(script: &str, vars: &HashMap<String, Arg>) -> Result<Graph, PipelineError> {
    let program = tickscript::parse(script)?;
    let mut b = Builder {
        env: HashMap::new(),
        nodes: Vec::new(),
        root: None,
        given: vars,
    };
    let mut dbrps = Vec::new();
    for statement in &program.statements {
        match statement {
            Statement::Dbrp { db, rp, .. } => dbrps.push((db.clone(), rp.clone())),
            Statement::Var { name, value, pos } => {
                let bound = match vars.get(name) {
                    Some(v) => Binding::Arg(v.clone()),
                    None => b.eval(value).map_err(|m| m.located(*pos))?,
                };
                b.env.insert(name.clone(), bound);
            }
            Statement::Declare {
                name,
                type_name,
                pos,
            } => match vars.get(name) {
                Some(v) => {
                    b.env.insert(name.clone(), Binding::Arg(v.clone()));
                }
                None => {
                    return Err(PipelineError::at(
                        *pos,
                        format!("missing value for var {name:?} ({type_name})"),
                    ))
                }
            },
            Statement::Expr(e) => {
                b.eval(e)
                    .map_err(|m| m.located(Pos { line: 1, column: 1 }))?;
            }
        }
    }
    let Some((kind, _)) = b.root else {
        return Err(PipelineError::at(
            Pos { line: 1, column: 1 },
            "a task needs a stream or batch node",
        ));
    };
    Ok(Graph {
        kind,
        dbrps,
        nodes: b.nodes,
    })
}

/// An error not yet placed (the innermost position wins).
struct Located {
    pos: Option<Pos>,
    message: String,
}

impl Located {
    fn located(self, fallback: Pos) -> PipelineError {
        PipelineError::at(self.pos.unwrap_or(fallback), self.message)
    }
}

fn at(pos: Pos, message: impl Into<String>) -> Located {
    Located {
        pos: Some(pos),
        message: message.into(),
    }
}

struct Builder<'a> {
    env: HashMap<String, Binding>,
    nodes: Vec<NodeDecl>,
    root: Option<(TaskType, usize)>,
    given: &'a HashMap<String, Arg>,
}

impl Builder<'_> {
    fn var_value(&self, name: &str) -> Option<Value> {
        match self.env.get(name) {
            Some(Binding::Arg(Arg::Value(v))) => Some(v.clone()),
            _ => match self.given.get(name) {
                Some(Arg::Value(v)) => Some(v.clone()),
                _ => None,
            },
        }
    }

    fn add(&mut self, kind: &str, args: Vec<Arg>, parents: Vec<usize>, pos: Pos) -> usize {
        let id = self.nodes.len();
        self.nodes.push(NodeDecl {
            id,
            name: format!("{kind}{id}"),
            kind: kind.to_string(),
            args,
            props: Vec::new(),
            parents,
            pos,
        });
        id
    }

    fn eval(&mut self, e: &Expr) -> Result<Binding, Located> {
        match e {
            Expr::Ident { name, pos } => {
                if let Some(b) = self.env.get(name) {
                    return Ok(b.clone());
                }
                let kind = match name.as_str() {
                    "stream" => TaskType::Stream,
                    "batch" => TaskType::Batch,
                    _ => return Err(at(*pos, format!("undefined variable {name}"))),
                };
                match self.root {
                    Some((k, id)) if k == kind => Ok(Binding::Node(id)),
                    Some(_) => Err(at(*pos, "a task cannot have both stream and batch nodes")),
                    None => {
                        let id = self.add(name, Vec::new(), Vec::new(), *pos);
                        self.root = Some((kind, id));
                        Ok(Binding::Node(id))
                    }
                }
            }
            Expr::Chain {
                target,
                op,
                name,
                args,
                pos,
            } => {
                let Binding::Node(parent) = self.eval(target)? else {
                    return Err(at(*pos, format!("cannot call {name}() on a value")));
                };
                let args = args
                    .iter()
                    .map(|a| self.arg(a))
                    .collect::<Result<Vec<_>, _>>()?;
                match op {
                    ChainOp::Pipe => {
                        let mut parents = vec![parent];
                        // `join(other, …)` and `union(other, …)` take more parents.
                        let args: Vec<Arg> = args
                            .into_iter()
                            .filter(|a| match a {
                                Arg::Node(n) => {
                                    parents.push(*n);
                                    false
                                }
                                _ => true,
                            })
                            .collect();
                        Ok(Binding::Node(self.add(name, args, parents, *pos)))
                    }
                    ChainOp::Dot => {
                        self.nodes[parent].props.push(Property {
                            name: name.clone(),
                            args,
                            pos: *pos,
                        });
                        Ok(Binding::Node(parent))
                    }
                    ChainOp::At => Err(at(
                        *pos,
                        format!("user-defined functions are not supported (@{name})"),
                    )),
                }
            }
            other => Ok(Binding::Arg(self.arg(other)?)),
        }
    }

    fn arg(&mut self, e: &Expr) -> Result<Arg, Located> {
        let plain = |message: String| Located { pos: None, message };
        Ok(match e {
            Expr::Star => Arg::Star,
            Expr::List(items) => Arg::List(
                items
                    .iter()
                    .map(|i| self.arg(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Lambda(body) => {
                let lambda =
                    Lambda::compile(body, &|n| self.var_value(n)).map_err(|err| plain(err.0))?;
                Arg::Lambda(Arc::new(lambda))
            }
            Expr::Regex(r) => Arg::Value(Value::Regex(Arc::new(
                Regex::new(r).map_err(|err| plain(format!("invalid regex /{r}/: {err}")))?,
            ))),
            Expr::Ident { name, pos } => match self.env.get(name) {
                Some(Binding::Arg(a)) => a.clone(),
                Some(Binding::Node(n)) => Arg::Node(*n),
                None => return Err(at(*pos, format!("undefined variable {name}"))),
            },
            // `groupBy(time(1m), 'host')` in batch queries.
            Expr::Call { name, args, .. } if name == "time" => {
                let inner: Vec<String> = args.iter().map(ToString::to_string).collect();
                Arg::Value(Value::Str(format!("time({})", inner.join(", "))))
            }
            Expr::Chain { .. } => match self.eval(e)? {
                Binding::Node(n) => Arg::Node(n),
                Binding::Arg(a) => a,
            },
            // Literals and constant expressions (`name + ':x'`, `-5m`, `crit - 10.0`).
            other => {
                let lambda =
                    Lambda::compile(other, &|n| self.var_value(n)).map_err(|err| plain(err.0))?;
                let empty = crate::point::Point {
                    name: String::new(),
                    db: String::new(),
                    rp: String::new(),
                    tags: Default::default(),
                    fields: Default::default(),
                    time: 0,
                    group: Default::default(),
                    dims: Default::default(),
                };
                Arg::Value(lambda.eval(&empty).map_err(|err| plain(err.0))?)
            }
        })
    }
}

/// Typed reading of arguments, with errors naming the node and property.
pub mod args {
    use super::{Arg, PipelineError, Property};
    use crate::lambda::{Lambda, Value};
    use std::sync::Arc;

    fn wrong(p: &Property, what: &str) -> PipelineError {
        PipelineError::at(
            p.pos,
            format!(
                "invalid argument to {}: expected {what}, got {}",
                p.name,
                p.args
                    .iter()
                    .map(Arg::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    }

    /// Exactly `n` arguments.
    pub fn count(p: &Property, n: usize) -> Result<(), PipelineError> {
        if p.args.len() == n {
            Ok(())
        } else {
            Err(PipelineError::at(
                p.pos,
                format!("{} takes {n} argument(s), got {}", p.name, p.args.len()),
            ))
        }
    }

    /// One string.
    pub fn string(p: &Property) -> Result<String, PipelineError> {
        match p.args.as_slice() {
            [Arg::Value(Value::Str(s))] => Ok(s.clone()),
            _ => Err(wrong(p, "a string")),
        }
    }

    /// Strings, lists of strings expanded.
    pub fn strings(p: &Property) -> Result<Vec<String>, PipelineError> {
        fn collect(args: &[Arg], out: &mut Vec<String>) -> bool {
            args.iter().all(|a| match a {
                Arg::Value(Value::Str(s)) => {
                    out.push(s.clone());
                    true
                }
                Arg::List(items) => collect(items, out),
                _ => false,
            })
        }
        let mut out = Vec::new();
        if collect(&p.args, &mut out) {
            Ok(out)
        } else {
            Err(wrong(p, "strings"))
        }
    }

    /// One duration.
    pub fn duration(p: &Property) -> Result<i64, PipelineError> {
        match p.args.as_slice() {
            [Arg::Value(Value::Duration(d))] => Ok(*d),
            _ => Err(wrong(p, "a duration")),
        }
    }

    /// One number.
    pub fn float(p: &Property) -> Result<f64, PipelineError> {
        match p.args.as_slice() {
            [Arg::Value(Value::Float(f))] => Ok(*f),
            [Arg::Value(Value::Int(i))] => Ok(*i as f64),
            _ => Err(wrong(p, "a number")),
        }
    }

    /// One integer.
    pub fn int(p: &Property) -> Result<i64, PipelineError> {
        match p.args.as_slice() {
            [Arg::Value(Value::Int(i))] => Ok(*i),
            _ => Err(wrong(p, "an integer")),
        }
    }

    /// One lambda.
    pub fn lambda(p: &Property) -> Result<Arc<Lambda>, PipelineError> {
        match p.args.as_slice() {
            [Arg::Lambda(l)] => Ok(l.clone()),
            _ => Err(wrong(p, "a lambda")),
        }
    }

    /// No arguments, or one boolean (`.align()`, `.keep()`).
    pub fn flag(p: &Property) -> Result<bool, PipelineError> {
        match p.args.as_slice() {
            [] => Ok(true),
            [Arg::Value(Value::Bool(b))] => Ok(*b),
            _ => Err(wrong(p, "no argument")),
        }
    }

    /// A property as a pseudo-property for a node's constructor arguments.
    pub fn constructor(name: &str, args: &[Arg], pos: tickscript::Pos) -> Property {
        Property {
            name: name.to_string(),
            args: args.to_vec(),
            pos,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_chronograf_threshold_graph() {
        let script = "var crit = 90\nvar name = 'cpu'\nvar idVar = name + ':{{.Group}}'\nvar data = stream\n    |from()\n        .measurement('cpu')\n        .groupBy(['host'])\nvar trigger = data\n    |alert()\n        .crit(lambda: \"value\" > crit)\n        .id(idVar)\n        .email()\ntrigger\n    |httpOut('output')\n";
        let g = build(script, &HashMap::new()).unwrap();
        assert_eq!(g.kind, TaskType::Stream);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["stream0", "from1", "alert2", "httpOut3"]);
        assert_eq!(g.nodes[2].parents, [1]);
        let id = &g.nodes[2].props[1];
        assert!(matches!(&id.args[0], Arg::Value(Value::Str(s)) if s == "cpu:{{.Group}}"));
    }

    #[test]
    fn errors_name_the_place() {
        let e = build(
            "stream\n    |from()\n    |alert()\n        .crit(lambda: \"v\" > nope)\n",
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("undefined variable nope"), "{e}");
        let e = build("var x = 5\n", &HashMap::new()).unwrap_err();
        assert!(e.to_string().contains("needs a stream or batch"), "{e}");
        let e = build(
            "var f string\nstream|from().measurement(f)",
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing value for var \"f\""), "{e}");
        let g = build(
            "var f string\nstream|from().measurement(f)",
            &HashMap::from([("f".to_string(), Arg::Value(Value::Str("cpu".into())))]),
        )
        .unwrap();
        assert_eq!(g.nodes[1].props[0].args.len(), 1);
    }

    #[test]
    fn join_takes_two_parents() {
        let g = build(
            "var a = stream|from()\nvar b = stream|from()\na|join(b).as('a', 'b')",
            &HashMap::new(),
        )
        .unwrap();
        let join = g.nodes.iter().find(|n| n.kind == "join").unwrap();
        assert_eq!(join.parents, [1, 2]);
    }
}
