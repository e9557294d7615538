//! Evaluates compiled XPath 1.0 expressions over a [`Document`]: node-sets in document order,
//! the specification's comparison and conversion rules, its core function library and the
//! string functions of XPath 2.0 that Telegraf's documentation uses (`ends-with`,
//! `lower-case`, `upper-case`, `string-join`, `matches`, `replace`).

use super::number::{number_text, text_number};
use super::syntax::{Arith, Axis, Compare, Expr, NodeTest, Step};
use super::tree::{Document, Kind, NodeId};

/// A value an expression gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Nodes, in document order, without repeats.
    Nodes(Vec<NodeId>),
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A function XPath does not have.
    #[error("unknown function {0}()")]
    UnknownFunction(String),
    /// A function called with the wrong number of arguments.
    #[error("{0}() takes {1}")]
    Arguments(String, &'static str),
    /// A node-set was needed.
    #[error("{0} needs a node-set")]
    NotNodes(&'static str),
    /// A regular expression that does not compile.
    #[error("bad regular expression {0:?}: {1}")]
    Regex(String, String),
    /// More nodes than an expression may gather.
    #[error("the expression selects more than {0} nodes")]
    TooMany(usize),
}

/// How many nodes one step may gather (`//*//*//*` on a large document grows fast).
const MAX_NODES: usize = 1 << 22;

/// Where an expression is evaluated.
#[derive(Debug, Clone, Copy)]
struct Context {
    node: NodeId,
    position: usize,
    size: usize,
}

/// Evaluates `expr` with `node` as the context node.
pub fn evaluate(doc: &Document, expr: &Expr, node: NodeId) -> Result<Value, EvalError> {
    Evaluator { doc }.eval(
        expr,
        Context {
            node,
            position: 1,
            size: 1,
        },
    )
}

struct Evaluator<'d> {
    doc: &'d Document,
}

impl Evaluator<'_> {
    fn string_of(&self, v: &Value) -> String {
        match v {
            Value::Nodes(n) => n
                .first()
                .map(|&id| self.doc.string_value(id))
                .unwrap_or_default(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => number_text(*n),
            Value::Text(s) => s.clone(),
        }
    }

    fn number_of(&self, v: &Value) -> f64 {
        match v {
            Value::Number(n) => *n,
            Value::Bool(b) => f64::from(u8::from(*b)),
            other => text_number(&self.string_of(other)),
        }
    }

    fn bool_of(v: &Value) -> bool {
        match v {
            Value::Nodes(n) => !n.is_empty(),
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::Text(s) => !s.is_empty(),
        }
    }

    fn eval(&self, expr: &Expr, ctx: Context) -> Result<Value, EvalError> {
        Ok(match expr {
            Expr::Or(a, b) => Value::Bool(
                Self::bool_of(&self.eval(a, ctx)?) || Self::bool_of(&self.eval(b, ctx)?),
            ),
            Expr::And(a, b) => Value::Bool(
                Self::bool_of(&self.eval(a, ctx)?) && Self::bool_of(&self.eval(b, ctx)?),
            ),
            Expr::Compare(op, a, b) => {
                let (a, b) = (self.eval(a, ctx)?, self.eval(b, ctx)?);
                Value::Bool(self.compare(*op, &a, &b))
            }
            Expr::Arith(op, a, b) => {
                let a = self.number_of(&self.eval(a, ctx)?);
                let b = self.number_of(&self.eval(b, ctx)?);
                Value::Number(match op {
                    Arith::Add => a + b,
                    Arith::Sub => a - b,
                    Arith::Mul => a * b,
                    Arith::Div => a / b,
                    Arith::Mod => a % b,
                })
            }
            Expr::Negate(a) => Value::Number(-self.number_of(&self.eval(a, ctx)?)),
            Expr::Union(a, b) => {
                let (Value::Nodes(mut x), Value::Nodes(y)) =
                    (self.eval(a, ctx)?, self.eval(b, ctx)?)
                else {
                    return Err(EvalError::NotNodes("`|`"));
                };
                x.extend(y);
                x.sort_unstable();
                x.dedup();
                Value::Nodes(x)
            }
            Expr::Path { absolute, steps } => {
                let start = if *absolute { 0 } else { ctx.node };
                Value::Nodes(self.steps(vec![start], steps)?)
            }
            Expr::Filter {
                primary,
                predicates,
                steps,
            } => {
                let value = self.eval(primary, ctx)?;
                if predicates.is_empty() && steps.is_empty() {
                    return Ok(value);
                }
                let Value::Nodes(nodes) = value else {
                    return Err(EvalError::NotNodes("a predicate or a path step"));
                };
                let nodes = self.filter(nodes, predicates)?;
                Value::Nodes(self.steps(nodes, steps)?)
            }
            Expr::Literal(s) => Value::Text(s.clone()),
            Expr::Number(n) => Value::Number(*n),
            Expr::Call(name, args) => self.call(name, args, ctx)?,
        })
    }

    /// Follows `steps` from each of `start`.
    fn steps(&self, start: Vec<NodeId>, steps: &[Step]) -> Result<Vec<NodeId>, EvalError> {
        let mut current = start;
        for step in steps {
            let mut next = Vec::new();
            for &node in &current {
                let mut on_axis: Vec<NodeId> = self
                    .axis(step.axis, node)
                    .into_iter()
                    .filter(|&n| self.matches(step, n))
                    .collect();
                // In JSON, `name[2]` is the array `name`'s second item (as Telegraf reads
                // `//nvme_namespaces[1]/id`): a named array stands for its items.
                if self.doc.json
                    && !step.predicates.is_empty()
                    && matches!(step.test, NodeTest::Name { .. })
                {
                    on_axis = on_axis
                        .into_iter()
                        .flat_map(|n| match self.doc.node(n).is_array {
                            true => self.doc.node(n).children.clone(),
                            false => vec![n],
                        })
                        .collect();
                }
                next.extend(self.filter(on_axis, &step.predicates)?);
                if next.len() > MAX_NODES {
                    return Err(EvalError::TooMany(MAX_NODES));
                }
            }
            next.sort_unstable();
            next.dedup();
            current = next;
        }
        Ok(current)
    }

    /// Keeps the nodes every predicate holds for; positions count in the order the nodes come
    /// (an axis' own order: nearest first on reverse axes).
    fn filter(
        &self,
        mut nodes: Vec<NodeId>,
        predicates: &[Expr],
    ) -> Result<Vec<NodeId>, EvalError> {
        for predicate in predicates {
            let size = nodes.len();
            let mut kept = Vec::new();
            for (i, &node) in nodes.iter().enumerate() {
                let position = i + 1;
                let v = self.eval(
                    predicate,
                    Context {
                        node,
                        position,
                        size,
                    },
                )?;
                let keep = match v {
                    Value::Number(n) => n == position as f64,
                    other => Self::bool_of(&other),
                };
                if keep {
                    kept.push(node);
                }
            }
            nodes = kept;
        }
        Ok(nodes)
    }

    /// The nodes on `axis` from `node`, in the axis' own order (reverse axes nearest first).
    fn axis(&self, axis: Axis, node: NodeId) -> Vec<NodeId> {
        let doc = self.doc;
        let n = doc.node(node);
        let parent = n.parent;
        match axis {
            Axis::Child => n.children.clone(),
            Axis::Attribute => n.attributes.clone(),
            Axis::SelfAxis => vec![node],
            Axis::Namespace => Vec::new(),
            Axis::Parent => parent.into_iter().collect(),
            Axis::Ancestor | Axis::AncestorOrSelf => {
                let mut out = match axis {
                    Axis::AncestorOrSelf => vec![node],
                    _ => Vec::new(),
                };
                let mut at = parent;
                while let Some(p) = at {
                    out.push(p);
                    at = doc.node(p).parent;
                }
                out
            }
            Axis::Descendant | Axis::DescendantOrSelf => {
                let mut out = match axis {
                    Axis::DescendantOrSelf => vec![node],
                    _ => Vec::new(),
                };
                self.descendants(node, &mut out);
                out
            }
            Axis::FollowingSibling | Axis::PrecedingSibling => {
                if n.kind == Kind::Attribute {
                    return Vec::new();
                }
                let Some(p) = parent else {
                    return Vec::new();
                };
                let siblings = &doc.node(p).children;
                let at = siblings.iter().position(|&s| s == node).unwrap_or(0);
                match axis {
                    Axis::FollowingSibling => siblings[at + 1..].to_vec(),
                    _ => siblings[..at].iter().rev().copied().collect(),
                }
            }
            Axis::Following => {
                // Everything after the node in document order but its descendants (and
                // attributes).
                let mut skip = vec![node];
                self.descendants(node, &mut skip);
                let last = skip.iter().copied().max().unwrap_or(node);
                (last + 1..doc.nodes.len())
                    .filter(|&m| doc.node(m).kind != Kind::Attribute)
                    .collect()
            }
            Axis::Preceding => {
                let mut ancestors = Vec::new();
                let mut at = parent;
                while let Some(p) = at {
                    ancestors.push(p);
                    at = doc.node(p).parent;
                }
                (0..node)
                    .rev()
                    .filter(|m| !ancestors.contains(m) && doc.node(*m).kind != Kind::Attribute)
                    .collect()
            }
        }
    }

    fn descendants(&self, node: NodeId, out: &mut Vec<NodeId>) {
        let mut stack: Vec<NodeId> = self.doc.node(node).children.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.doc.node(n).children.iter().rev());
        }
    }

    fn matches(&self, step: &Step, id: NodeId) -> bool {
        let n = self.doc.node(id);
        let principal = match step.axis {
            Axis::Attribute => Kind::Attribute,
            _ => Kind::Element,
        };
        match &step.test {
            NodeTest::Node => true,
            NodeTest::Text => n.kind == Kind::Text,
            NodeTest::Comment => n.kind == Kind::Comment,
            NodeTest::ProcessingInstruction(target) => {
                n.kind == Kind::ProcessingInstruction
                    && target.as_ref().is_none_or(|t| *t == n.name)
            }
            NodeTest::Any { prefix } => {
                n.kind == principal && prefix.as_ref().is_none_or(|p| *p == n.prefix)
            }
            NodeTest::Name { prefix, local } => {
                n.kind == principal && *local == n.name && *prefix == n.prefix
            }
        }
    }

    fn compare(&self, op: Compare, a: &Value, b: &Value) -> bool {
        use Value::{Bool, Nodes, Number, Text};
        let strings = |ids: &[NodeId]| -> Vec<String> {
            ids.iter().map(|&i| self.doc.string_value(i)).collect()
        };
        match (a, b) {
            (Nodes(x), Nodes(y)) => {
                let ys = strings(y);
                strings(x).iter().any(|s| {
                    ys.iter()
                        .any(|t| self.atoms(op, &Text(s.clone()), &Text(t.clone())))
                })
            }
            (Nodes(x), Bool(_)) | (Bool(_), Nodes(x)) => {
                let as_bool = Bool(!x.is_empty());
                match a {
                    Nodes(_) => self.atoms(op, &as_bool, b),
                    _ => self.atoms(op, a, &as_bool),
                }
            }
            (Nodes(x), other) => strings(x).into_iter().any(|s| {
                let atom = match other {
                    Number(_) => Number(text_number(&s)),
                    _ => Text(s),
                };
                self.atoms(op, &atom, other)
            }),
            (other, Nodes(y)) => strings(y).into_iter().any(|s| {
                let atom = match other {
                    Number(_) => Number(text_number(&s)),
                    _ => Text(s),
                };
                self.atoms(op, other, &atom)
            }),
            _ => self.atoms(op, a, b),
        }
    }

    /// Compares two values that are not node-sets.
    fn atoms(&self, op: Compare, a: &Value, b: &Value) -> bool {
        use Value::{Bool, Number};
        match op {
            Compare::Eq | Compare::Ne => {
                let equal = match (a, b) {
                    (Bool(_), _) | (_, Bool(_)) => Self::bool_of(a) == Self::bool_of(b),
                    (Number(_), _) | (_, Number(_)) => self.number_of(a) == self.number_of(b),
                    _ => self.string_of(a) == self.string_of(b),
                };
                equal == (op == Compare::Eq)
            }
            _ => {
                let (x, y) = (self.number_of(a), self.number_of(b));
                match op {
                    Compare::Lt => x < y,
                    Compare::Le => x <= y,
                    Compare::Gt => x > y,
                    _ => x >= y,
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[Expr], ctx: Context) -> Result<Value, EvalError> {
        let arity = |allowed: std::ops::RangeInclusive<usize>, says: &'static str| match allowed
            .contains(&args.len())
        {
            true => Ok(()),
            false => Err(EvalError::Arguments(name.to_string(), says)),
        };
        let arg = |i: usize| self.eval(&args[i], ctx);
        let text = |i: usize| -> Result<String, EvalError> { Ok(self.string_of(&arg(i)?)) };
        // The argument, or the context node when it is left out.
        let text_or_context = || -> Result<String, EvalError> {
            match args.is_empty() {
                true => Ok(self.doc.string_value(ctx.node)),
                false => text(0),
            }
        };
        let node_or_context = || -> Result<Option<NodeId>, EvalError> {
            match args.first() {
                None => Ok(Some(ctx.node)),
                Some(e) => match self.eval(e, ctx)? {
                    Value::Nodes(n) => Ok(n.first().copied()),
                    _ => Err(EvalError::NotNodes("this function")),
                },
            }
        };
        Ok(match name {
            "last" => {
                arity(0..=0, "no arguments")?;
                Value::Number(ctx.size as f64)
            }
            "position" => {
                arity(0..=0, "no arguments")?;
                Value::Number(ctx.position as f64)
            }
            "count" => {
                arity(1..=1, "one node-set")?;
                match arg(0)? {
                    Value::Nodes(n) => Value::Number(n.len() as f64),
                    _ => return Err(EvalError::NotNodes("count()")),
                }
            }
            "sum" => {
                arity(1..=1, "one node-set")?;
                match arg(0)? {
                    Value::Nodes(n) => Value::Number(
                        n.iter()
                            .map(|&i| text_number(&self.doc.string_value(i)))
                            .sum(),
                    ),
                    _ => return Err(EvalError::NotNodes("sum()")),
                }
            }
            "name" | "local-name" | "namespace-uri" => {
                arity(0..=1, "at most one node-set")?;
                let Some(node) = node_or_context()? else {
                    return Ok(Value::Text(String::new()));
                };
                Value::Text(match name {
                    "name" => self.doc.qualified_name(node),
                    "local-name" => self.doc.node(node).name.clone(),
                    _ => String::new(),
                })
            }
            "string" => {
                arity(0..=1, "at most one argument")?;
                Value::Text(text_or_context()?)
            }
            "number" => {
                arity(0..=1, "at most one argument")?;
                match args.is_empty() {
                    true => Value::Number(text_number(&self.doc.string_value(ctx.node))),
                    false => Value::Number(self.number_of(&arg(0)?)),
                }
            }
            "boolean" => {
                arity(1..=1, "one argument")?;
                Value::Bool(Self::bool_of(&arg(0)?))
            }
            "not" => {
                arity(1..=1, "one argument")?;
                Value::Bool(!Self::bool_of(&arg(0)?))
            }
            "true" | "false" => {
                arity(0..=0, "no arguments")?;
                Value::Bool(name == "true")
            }
            "lang" => {
                arity(1..=1, "one argument")?;
                Value::Bool(false)
            }
            "concat" => {
                arity(2..=usize::MAX, "two or more arguments")?;
                let mut out = String::new();
                for i in 0..args.len() {
                    out.push_str(&text(i)?);
                }
                Value::Text(out)
            }
            "starts-with" | "ends-with" | "contains" => {
                arity(2..=2, "two arguments")?;
                let (a, b) = (text(0)?, text(1)?);
                Value::Bool(match name {
                    "starts-with" => a.starts_with(&b),
                    "ends-with" => a.ends_with(&b),
                    _ => a.contains(&b),
                })
            }
            "substring-before" | "substring-after" => {
                arity(2..=2, "two arguments")?;
                let (a, b) = (text(0)?, text(1)?);
                Value::Text(match (a.find(&b), name) {
                    (None, _) => String::new(),
                    (Some(at), "substring-before") => a[..at].to_string(),
                    (Some(at), _) => a[at + b.len()..].to_string(),
                })
            }
            "substring" => {
                arity(2..=3, "two or three arguments")?;
                let s: Vec<char> = text(0)?.chars().collect();
                let start = xpath_round(self.number_of(&arg(1)?));
                let end = match args.len() {
                    3 => start + xpath_round(self.number_of(&arg(2)?)),
                    _ => f64::INFINITY,
                };
                Value::Text(
                    s.iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            let p = (*i + 1) as f64;
                            p >= start && p < end
                        })
                        .map(|(_, c)| c)
                        .collect(),
                )
            }
            "string-length" => {
                arity(0..=1, "at most one argument")?;
                Value::Number(text_or_context()?.chars().count() as f64)
            }
            "normalize-space" => {
                arity(0..=1, "at most one argument")?;
                Value::Text(
                    text_or_context()?
                        .split([' ', '\t', '\n', '\r'])
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }
            "translate" => {
                arity(3..=3, "three arguments")?;
                let (s, from, to) = (text(0)?, text(1)?, text(2)?);
                let from: Vec<char> = from.chars().collect();
                let to: Vec<char> = to.chars().collect();
                Value::Text(
                    s.chars()
                        .filter_map(|c| match from.iter().position(|&f| f == c) {
                            Some(i) => to.get(i).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }
            "lower-case" | "upper-case" => {
                arity(1..=1, "one argument")?;
                let s = text(0)?;
                Value::Text(match name {
                    "lower-case" => s.to_lowercase(),
                    _ => s.to_uppercase(),
                })
            }
            "string-join" => {
                arity(1..=2, "a node-set and a separator")?;
                let Value::Nodes(nodes) = arg(0)? else {
                    return Err(EvalError::NotNodes("string-join()"));
                };
                let separator = match args.len() {
                    2 => text(1)?,
                    _ => String::new(),
                };
                Value::Text(
                    nodes
                        .iter()
                        .map(|&n| self.doc.string_value(n))
                        .collect::<Vec<_>>()
                        .join(&separator),
                )
            }
            "matches" | "replace" => {
                arity(
                    if name == "matches" { 2..=2 } else { 3..=3 },
                    "a string, a pattern (and a replacement)",
                )?;
                let (s, pattern) = (text(0)?, text(1)?);
                let re = regex::Regex::new(&pattern)
                    .map_err(|e| EvalError::Regex(pattern.clone(), e.to_string()))?;
                match name {
                    "matches" => Value::Bool(re.is_match(&s)),
                    _ => Value::Text(re.replace_all(&s, text(2)?.as_str()).into_owned()),
                }
            }
            "floor" | "ceiling" | "round" | "abs" => {
                arity(1..=1, "one argument")?;
                let n = self.number_of(&arg(0)?);
                Value::Number(match name {
                    "floor" => n.floor(),
                    "ceiling" => n.ceil(),
                    "abs" => n.abs(),
                    _ => xpath_round(n),
                })
            }
            other => return Err(EvalError::UnknownFunction(other.to_string())),
        })
    }
}

/// XPath's `round()`: halves go up (towards positive infinity).
fn xpath_round(n: f64) -> f64 {
    if n.is_nan() || n.is_infinite() {
        return n;
    }
    (n + 0.5).floor()
}

#[cfg(test)]
mod tests {
    use super::super::syntax::parse;
    use super::*;

    fn eval_xml(xml: &str, expr: &str) -> Value {
        let doc = Document::from_xml(xml).unwrap();
        evaluate(&doc, &parse(expr).unwrap(), 0).unwrap()
    }

    const BUS: &str = r#"<Bus><Sensor name="A one" temp="20.5"><Mode>ok</Mode></Sensor><Sensor name="B two" temp="30"><Mode>error</Mode></Sensor><Count>2</Count></Bus>"#;

    #[test]
    fn paths_predicates_and_axes() {
        assert_eq!(eval_xml(BUS, "count(/Bus/Sensor)"), Value::Number(2.0));
        assert_eq!(
            eval_xml(BUS, "string(/Bus/Sensor[2]/@name)"),
            Value::Text("B two".into())
        );
        assert_eq!(
            eval_xml(BUS, "string(//Sensor[Mode='error']/@temp)"),
            Value::Text("30".into())
        );
        assert_eq!(
            eval_xml(
                BUS,
                "string(/Bus/Sensor[last()]/preceding-sibling::*[1]/@name)"
            ),
            Value::Text("A one".into())
        );
        assert_eq!(
            eval_xml(BUS, "name(//Mode[.='ok']/ancestor::*[last()])"),
            Value::Text("Bus".into())
        );
        assert_eq!(
            eval_xml(BUS, "sum(//Sensor/@temp) div /Bus/Count"),
            Value::Number(25.25)
        );
        assert_eq!(
            eval_xml(BUS, "count(//Mode/following::*)"),
            Value::Number(3.0)
        );
        assert_eq!(eval_xml(BUS, "count((//Sensor)[1]/*)"), Value::Number(1.0));
        assert_eq!(
            eval_xml(BUS, "count(//Sensor | //Mode | //Sensor)"),
            Value::Number(4.0)
        );
    }

    #[test]
    fn conversions_and_comparisons_follow_the_specification() {
        assert_eq!(eval_xml(BUS, "//Sensor/@temp > 25"), Value::Bool(true));
        assert_eq!(eval_xml(BUS, "//Sensor/@temp = '30'"), Value::Bool(true));
        assert_eq!(eval_xml(BUS, "//Mode != 'ok'"), Value::Bool(true));
        assert_eq!(eval_xml(BUS, "not(//Nothing)"), Value::Bool(true));
        assert!(matches!(eval_xml(BUS, "number('x')"), Value::Number(n) if n.is_nan()));
        assert_eq!(
            eval_xml(BUS, "string(1 div 0)"),
            Value::Text("Infinity".into())
        );
        assert_eq!(
            eval_xml(BUS, "string(7 mod 3 * 2)"),
            Value::Text("2".into())
        );
        assert_eq!(
            eval_xml(BUS, "round(2.5) + round(-2.5)"),
            Value::Number(1.0)
        );
        assert_eq!(
            eval_xml(BUS, "string(0.1 + 0.2)"),
            Value::Text("0.30000000000000004".into())
        );
    }

    #[test]
    fn string_functions() {
        let t = |e: &str| match eval_xml(BUS, e) {
            Value::Text(s) => s,
            other => panic!("{e}: {other:?}"),
        };
        assert_eq!(t("substring-after(/Bus/Sensor[1]/@name, ' ')"), "one");
        assert_eq!(t("substring('12345', 1.5, 2.6)"), "234");
        assert_eq!(t("normalize-space('  a   b ')"), "a b");
        assert_eq!(t("translate('bar', 'abc', 'AB')"), "BAr");
        assert_eq!(t("concat('a', 1, true())"), "a1true");
        assert_eq!(t("string-join(//Mode, ',')"), "ok,error");
        assert_eq!(t("upper-case(replace('a-b', '-', '_'))"), "A_B");
        assert_eq!(eval_xml(BUS, "matches('abc', '^a.c$')"), Value::Bool(true));
        assert_eq!(eval_xml(BUS, "ends-with('abc', 'bc')"), Value::Bool(true));
        let doc = Document::from_xml(BUS).unwrap();
        let err = evaluate(&doc, &parse("nope(1)").unwrap(), 0).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        assert!(evaluate(&doc, &parse("count(1)").unwrap(), 0).is_err());
    }

    #[test]
    fn json_documents_are_walked_as_xpath_json_sees_them() {
        let doc = Document::from_json(r#"{"a": [{"v": 1}, {"v": 2.5}], "b": "x y"}"#).unwrap();
        let e = |s: &str| evaluate(&doc, &parse(s).unwrap(), 0).unwrap();
        assert_eq!(e("sum(/a/*/v)"), Value::Number(3.5));
        assert_eq!(e("string(/a/*[2]/v)"), Value::Text("2.5".into()));
        assert_eq!(e("count(//v)"), Value::Number(2.0));
        assert_eq!(e("substring-before(/b, ' ')"), Value::Text("x".into()));
    }
}
