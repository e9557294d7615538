//! Lambda expressions: compiled from the TICKscript tree once (variables resolved, regexes
//! built), then evaluated per point with Kapacitor's typing rules.

use crate::point::{FieldValue, Point};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::Arc;
use tickscript::{BinaryOp, Expr, UnaryOp};

/// A value inside a lambda.
#[derive(Debug, Clone)]
pub enum Value {
    /// Float.
    Float(f64),
    /// Integer.
    Int(i64),
    /// Text.
    Str(String),
    /// Boolean.
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    /// A point's time, ns since the epoch.
    Time(i64),
    /// A compiled regex.
    Regex(Arc<Regex>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Regex(a), Value::Regex(b)) => a.as_str() == b.as_str(),
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Duration(a), Value::Duration(b)) | (Value::Time(a), Value::Time(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Float(_) => "float",
            Value::Int(_) => "int",
            Value::Str(_) => "string",
            Value::Bool(_) => "bool",
            Value::Duration(_) => "duration",
            Value::Time(_) => "time",
            Value::Regex(_) => "regex",
        }
    }

    /// The value as a field value (durations and times as integers).
    pub fn to_field(&self) -> Option<FieldValue> {
        Some(match self {
            Value::Float(f) => FieldValue::Float(*f),
            Value::Int(i) | Value::Duration(i) | Value::Time(i) => FieldValue::Int(*i),
            Value::Str(s) => FieldValue::Str(s.clone()),
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::Regex(_) => return None,
        })
    }
}

impl From<&FieldValue> for Value {
    fn from(v: &FieldValue) -> Self {
        match v {
            FieldValue::Float(f) => Value::Float(*f),
            FieldValue::Int(i) => Value::Int(*i),
            FieldValue::Str(s) => Value::Str(s.clone()),
            FieldValue::Bool(b) => Value::Bool(*b),
        }
    }
}

/// Why a lambda could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LambdaError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, LambdaError> {
    Err(LambdaError(message.into()))
}

/// A compiled lambda.
#[derive(Debug, Clone)]
pub struct Lambda {
    root: Node,
    /// The text, for messages and `dot` output.
    pub text: String,
}

#[derive(Debug, Clone)]
enum Node {
    Lit(Value),
    Ref(String),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
    /// `count()`, `sigma(x)`, `spread(x)`: functions that remember earlier evaluations.
    Stateful(String, Vec<Node>, Arc<std::sync::Mutex<Running>>),
}

/// What a stateful function remembers.
#[derive(Debug, Default)]
struct Running {
    n: i64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Running {
    /// Adds `x` (Welford's running mean and variance, min and max).
    fn add(&mut self, x: f64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        }
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }
}

impl Lambda {
    /// Compiles the body of `lambda: …`; `vars` answers the task's variables.
    pub fn compile(
        body: &Expr,
        vars: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<Lambda, LambdaError> {
        Ok(Lambda {
            root: compile(body, vars)?,
            text: body.to_string(),
        })
    }

    /// Evaluates on `point`.
    pub fn eval(&self, point: &Point) -> Result<Value, LambdaError> {
        eval(&self.root, point, &BTreeMap::new())
    }

    /// Evaluates on `point`, with `extra` fields (earlier `eval` results) visible first.
    pub fn eval_with(
        &self,
        point: &Point,
        extra: &BTreeMap<String, FieldValue>,
    ) -> Result<Value, LambdaError> {
        eval(&self.root, point, extra)
    }

    /// Evaluates to a boolean (`where`, alert levels).
    pub fn test(&self, point: &Point) -> Result<bool, LambdaError> {
        match self.eval(point)? {
            Value::Bool(b) => Ok(b),
            other => fail(format!(
                "expression returned unexpected type {}",
                other.type_name()
            )),
        }
    }
}

fn compile(e: &Expr, vars: &dyn Fn(&str) -> Option<Value>) -> Result<Node, LambdaError> {
    Ok(match e {
        Expr::Str(s) => Node::Lit(Value::Str(s.clone())),
        Expr::Int(i) => Node::Lit(Value::Int(*i)),
        Expr::Float(f) => Node::Lit(Value::Float(*f)),
        Expr::Bool(b) => Node::Lit(Value::Bool(*b)),
        Expr::Duration(ns, _) => Node::Lit(Value::Duration(*ns)),
        Expr::Regex(r) => Node::Lit(Value::Regex(Arc::new(
            Regex::new(r).map_err(|e| LambdaError(format!("invalid regex /{r}/: {e}")))?,
        ))),
        Expr::Reference(r) => Node::Ref(r.clone()),
        Expr::Ident { name, .. } => match vars(name) {
            Some(v) => Node::Lit(v),
            None => return fail(format!("undefined variable {name}")),
        },
        Expr::Lambda(inner) => compile(inner, vars)?,
        Expr::Unary { op, expr } => Node::Unary(*op, Box::new(compile(expr, vars)?)),
        Expr::Binary { op, lhs, rhs } => Node::Binary(
            *op,
            Box::new(compile(lhs, vars)?),
            Box::new(compile(rhs, vars)?),
        ),
        Expr::Call { name, args, .. } if matches!(name.as_str(), "count" | "sigma" | "spread") => {
            let args: Vec<Node> = args
                .iter()
                .map(|a| compile(a, vars))
                .collect::<Result<_, _>>()?;
            if args.len() != usize::from(name != "count") {
                return fail(format!(
                    "{name}() takes {} argument(s)",
                    usize::from(name != "count")
                ));
            }
            Node::Stateful(name.clone(), args, Arc::default())
        }
        Expr::Call { name, args, .. } => {
            if !FUNCTIONS.contains(&name.as_str()) {
                return fail(format!("undefined function {name}()"));
            }
            Node::Call(
                name.clone(),
                args.iter()
                    .map(|a| compile(a, vars))
                    .collect::<Result<_, _>>()?,
            )
        }
        Expr::Star | Expr::List(_) | Expr::Chain { .. } => {
            return fail(format!("{e} cannot be used in a lambda"))
        }
    })
}

fn eval(
    node: &Node,
    point: &Point,
    extra: &BTreeMap<String, FieldValue>,
) -> Result<Value, LambdaError> {
    match node {
        Node::Lit(v) => Ok(v.clone()),
        Node::Ref(name) => reference(name, point, extra),
        Node::Unary(op, inner) => match (op, eval(inner, point, extra)?) {
            (UnaryOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
            (UnaryOp::Neg, Value::Int(i)) => Ok(Value::Int(-i)),
            (UnaryOp::Neg, Value::Duration(d)) => Ok(Value::Duration(-d)),
            (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
            (op, v) => fail(format!(
                "invalid unary operator {op:?} on {}",
                v.type_name()
            )),
        },
        Node::Binary(op, lhs, rhs) if is_comparison(*op) => {
            // The common `"tag" == 'x'` / `"field" > 1.0`: compared in place, nothing cloned.
            if let (Node::Ref(name), Node::Lit(lit)) = (lhs.as_ref(), rhs.as_ref()) {
                if let Some(b) = compare_in_place(*op, name, lit, point, extra) {
                    return Ok(Value::Bool(b));
                }
            }
            binary(*op, eval(lhs, point, extra)?, eval(rhs, point, extra)?)
        }
        Node::Binary(op, lhs, rhs) => {
            // AND/OR short-circuit.
            if matches!(op, BinaryOp::And | BinaryOp::Or) {
                let l = as_bool(eval(lhs, point, extra)?)?;
                if (*op == BinaryOp::And && !l) || (*op == BinaryOp::Or && l) {
                    return Ok(Value::Bool(l));
                }
                return Ok(Value::Bool(as_bool(eval(rhs, point, extra)?)?));
            }
            binary(*op, eval(lhs, point, extra)?, eval(rhs, point, extra)?)
        }
        Node::Stateful(name, args, state) => {
            let x = match args.first() {
                Some(a) => Some(num(&eval(a, point, extra)?, name)?),
                None => None,
            };
            let mut st = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match (name.as_str(), x) {
                ("count", _) => {
                    st.n += 1;
                    Ok(Value::Int(st.n))
                }
                ("spread", Some(x)) => {
                    st.add(x);
                    Ok(Value::Float(st.max - st.min))
                }
                (_, Some(x)) => {
                    st.add(x);
                    let sd = if st.n > 1 {
                        (st.m2 / (st.n - 1) as f64).sqrt()
                    } else {
                        0.0
                    };
                    Ok(Value::Float(if sd == 0.0 {
                        0.0
                    } else {
                        (x - st.mean).abs() / sd
                    }))
                }
                _ => fail(format!("{name}() needs an argument")),
            }
        }
        Node::Call(name, args) => {
            if name == "isPresent" {
                return match args.first() {
                    Some(Node::Ref(r)) => Ok(Value::Bool(reference(r, point, extra).is_ok())),
                    _ => fail("isPresent() takes a field or tag reference"),
                };
            }
            let values = args
                .iter()
                .map(|a| eval(a, point, extra))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, values)
        }
    }
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::Lt
            | BinaryOp::Lte
            | BinaryOp::Gt
            | BinaryOp::Gte
            | BinaryOp::RegexEq
            | BinaryOp::RegexNeq
    )
}

/// `reference op literal` without building values; `None` when the types need the general path.
fn compare_in_place(
    op: BinaryOp,
    name: &str,
    lit: &Value,
    point: &Point,
    extra: &BTreeMap<String, FieldValue>,
) -> Option<bool> {
    let field = extra.get(name).or_else(|| point.fields.get(name));
    let text = match field {
        Some(FieldValue::Str(s)) => Some(s.as_str()),
        Some(_) => None,
        None => point.tags.get(name).map(String::as_str),
    };
    match (field, text, lit) {
        (Some(FieldValue::Float(a)), _, Value::Float(b)) => Some(ordered(op, a.partial_cmp(b)?)),
        (Some(FieldValue::Float(a)), _, Value::Int(b)) => {
            Some(ordered(op, a.partial_cmp(&(*b as f64))?))
        }
        (Some(FieldValue::Int(a)), _, Value::Int(b)) => Some(ordered(op, a.cmp(b))),
        (Some(FieldValue::Int(a)), _, Value::Float(b)) => {
            Some(ordered(op, (*a as f64).partial_cmp(b)?))
        }
        (_, Some(a), Value::Str(b)) if !matches!(op, BinaryOp::RegexEq | BinaryOp::RegexNeq) => {
            Some(ordered(op, a.cmp(b.as_str())))
        }
        (_, Some(a), Value::Regex(re)) if op == BinaryOp::RegexEq => Some(re.is_match(a)),
        (_, Some(a), Value::Regex(re)) if op == BinaryOp::RegexNeq => Some(!re.is_match(a)),
        _ => None,
    }
}

fn ordered(op: BinaryOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinaryOp::Eq => o == Equal,
        BinaryOp::Neq => o != Equal,
        BinaryOp::Lt => o == Less,
        BinaryOp::Lte => o != Greater,
        BinaryOp::Gt => o == Greater,
        _ => o != Less,
    }
}

fn reference(
    name: &str,
    point: &Point,
    extra: &BTreeMap<String, FieldValue>,
) -> Result<Value, LambdaError> {
    if let Some(v) = extra.get(name).or_else(|| point.fields.get(name)) {
        return Ok(v.into());
    }
    if let Some(t) = point.tags.get(name) {
        return Ok(Value::Str(t.clone()));
    }
    if name == "time" {
        return Ok(Value::Time(point.time));
    }
    fail(format!("no field or tag exists for {name}"))
}

fn as_bool(v: Value) -> Result<bool, LambdaError> {
    match v {
        Value::Bool(b) => Ok(b),
        other => fail(format!(
            "invalid type {} for AND/OR, expected bool",
            other.type_name()
        )),
    }
}

fn compare<T: PartialOrd>(op: BinaryOp, a: T, b: T) -> Value {
    Value::Bool(match op {
        BinaryOp::Eq => a == b,
        BinaryOp::Neq => a != b,
        BinaryOp::Lt => a < b,
        BinaryOp::Lte => a <= b,
        BinaryOp::Gt => a > b,
        _ => a >= b,
    })
}

fn binary(op: BinaryOp, l: Value, r: Value) -> Result<Value, LambdaError> {
    use BinaryOp::*;
    let comparison = matches!(op, Eq | Neq | Lt | Lte | Gt | Gte);
    match (l, r) {
        (Value::Str(s), Value::Regex(re)) if op == RegexEq => Ok(Value::Bool(re.is_match(&s))),
        (Value::Str(s), Value::Regex(re)) if op == RegexNeq => Ok(Value::Bool(!re.is_match(&s))),
        (l, r) if matches!(op, RegexEq | RegexNeq) => fail(format!("mismatched type to binary operator. got {} {} {}. see bool(), int(), float(), string(), duration()", l.type_name(), op.as_str(), r.type_name())),
        (Value::Float(a), Value::Float(b)) if comparison => Ok(compare(op, a, b)),
        (Value::Int(a), Value::Int(b)) if comparison => Ok(compare(op, a, b)),
        // Comparisons between int and float work.
        (Value::Int(a), Value::Float(b)) if comparison => Ok(compare(op, a as f64, b)),
        (Value::Float(a), Value::Int(b)) if comparison => Ok(compare(op, a, b as f64)),
        (Value::Str(a), Value::Str(b)) if comparison => Ok(compare(op, a, b)),
        (Value::Duration(a), Value::Duration(b)) | (Value::Time(a), Value::Time(b)) if comparison => Ok(compare(op, a, b)),
        (Value::Bool(a), Value::Bool(b)) if matches!(op, Eq | Neq) => Ok(compare(op, a, b)),
        (Value::Float(a), Value::Float(b)) => Ok(Value::Float(match op {
            Add => a + b,
            Sub => a - b,
            Mul => a * b,
            Div => a / b,
            Mod => a % b,
            _ => return fail(format!("invalid operator {} for float", op.as_str())),
        })),
        (Value::Int(a), Value::Int(b)) => Ok(Value::Int(match op {
            Add => a.wrapping_add(b),
            Sub => a.wrapping_sub(b),
            Mul => a.wrapping_mul(b),
            Div | Mod if b == 0 => return fail("integer divide by zero"),
            Div => a.wrapping_div(b),
            Mod => a.wrapping_rem(b),
            _ => return fail(format!("invalid operator {} for int", op.as_str())),
        })),
        (Value::Str(a), Value::Str(b)) if op == Add => Ok(Value::Str(a + &b)),
        (Value::Duration(a), Value::Duration(b)) if matches!(op, Add | Sub) => Ok(Value::Duration(if op == Add { a + b } else { a - b })),
        (Value::Time(t), Value::Duration(d)) if matches!(op, Add | Sub) => Ok(Value::Time(if op == Add { t + d } else { t - d })),
        (Value::Time(a), Value::Time(b)) if op == Sub => Ok(Value::Duration(a - b)),
        (Value::Duration(d), Value::Int(n)) if matches!(op, Mul | Div) && !(op == Div && n == 0) => Ok(Value::Duration(if op == Mul { d * n } else { d / n })),
        (l, r) => fail(format!(
            "mismatched type to binary operator. got {} {} {}. see bool(), int(), float(), string(), duration()",
            l.type_name(),
            op.as_str(),
            r.type_name()
        )),
    }
}

/// Names `call` knows.
const FUNCTIONS: &[&str] = &[
    "acosh",
    "asinh",
    "atanh",
    "erf",
    "erfc",
    "gamma",
    "j0",
    "j1",
    "jn",
    "logb",
    "y0",
    "y1",
    "yn",
    "strContainsAny",
    "strIndexAny",
    "strLastIndexAny",
    "bool",
    "int",
    "float",
    "string",
    "duration",
    "isPresent",
    "if",
    "abs",
    "acos",
    "asin",
    "atan",
    "atan2",
    "cbrt",
    "ceil",
    "cos",
    "cosh",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "hypot",
    "log",
    "log10",
    "log1p",
    "log2",
    "max",
    "min",
    "mod",
    "pow",
    "pow10",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
    "trunc",
    "strContains",
    "strHasPrefix",
    "strHasSuffix",
    "strIndex",
    "strLastIndex",
    "strLength",
    "strReplace",
    "strSubstring",
    "strToLower",
    "strToUpper",
    "strTrimSpace",
    "strTrimPrefix",
    "strTrimSuffix",
    "strTrim",
    "strTrimLeft",
    "strTrimRight",
    "strCount",
    "regexReplace",
    "unixNano",
    "minute",
    "hour",
    "weekday",
    "day",
    "month",
    "year",
    "humanBytes",
];

fn num(v: &Value, f: &str) -> Result<f64, LambdaError> {
    match v {
        Value::Float(x) => Ok(*x),
        Value::Int(i) => Ok(*i as f64),
        other => fail(format!(
            "cannot pass {} to {f}(), expected float",
            other.type_name()
        )),
    }
}

fn text<'a>(v: &'a Value, f: &str) -> Result<&'a str, LambdaError> {
    match v {
        Value::Str(s) => Ok(s),
        other => fail(format!(
            "cannot pass {} to {f}(), expected string",
            other.type_name()
        )),
    }
}

fn call(name: &str, args: Vec<Value>) -> Result<Value, LambdaError> {
    let arity = |n: usize| -> Result<(), LambdaError> {
        if args.len() == n {
            Ok(())
        } else {
            fail(format!("{name}() takes {n} arguments, got {}", args.len()))
        }
    };
    let time_part = |f: fn(&chrono::DateTime<chrono::Utc>) -> i64| -> Result<Value, LambdaError> {
        arity(1)?;
        match &args[0] {
            Value::Time(t) => Ok(Value::Int(f(&chrono::DateTime::from_timestamp_nanos(*t)))),
            other => fail(format!(
                "{name}() expects a time, got {}",
                other.type_name()
            )),
        }
    };
    use chrono::{Datelike, Timelike};
    match name {
        "float" => {
            arity(1)?;
            Ok(Value::Float(match &args[0] {
                Value::Str(s) => s
                    .parse()
                    .map_err(|_| LambdaError(format!("cannot convert string {s:?} to float")))?,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Duration(d) => *d as f64,
                v => num(v, name)?,
            }))
        }
        "int" => {
            arity(1)?;
            Ok(Value::Int(match &args[0] {
                Value::Float(f) => *f as i64,
                Value::Int(i) | Value::Duration(i) | Value::Time(i) => *i,
                Value::Bool(b) => i64::from(*b),
                Value::Str(s) => s
                    .parse()
                    .map_err(|_| LambdaError(format!("cannot convert string {s:?} to int")))?,
                Value::Regex(_) => return fail("cannot convert regex to int"),
            }))
        }
        "string" => {
            arity(1)?;
            Ok(Value::Str(match &args[0] {
                Value::Float(f) => crate::point::go_float(*f),
                Value::Int(i) => i.to_string(),
                Value::Str(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Duration(d) => crate::template::go_duration(*d),
                Value::Time(t) => crate::point::rfc3339(*t),
                Value::Regex(r) => r.as_str().to_string(),
            }))
        }
        "bool" => {
            arity(1)?;
            Ok(Value::Bool(match &args[0] {
                Value::Bool(b) => *b,
                Value::Str(s) => matches!(s.as_str(), "true" | "TRUE" | "True" | "t" | "T" | "1"),
                Value::Int(i) => *i != 0,
                Value::Float(f) => *f != 0.0,
                other => return fail(format!("cannot convert {} to bool", other.type_name())),
            }))
        }
        "if" => {
            arity(3)?;
            let mut it = args.into_iter();
            let (c, a, b) = (it.next(), it.next(), it.next());
            match (c, a, b) {
                (Some(Value::Bool(c)), Some(a), Some(b)) if a.type_name() == b.type_name() => {
                    Ok(if c { a } else { b })
                }
                _ => fail("if() needs a bool condition and two values of the same type"),
            }
        }
        "abs" | "acos" | "asin" | "atan" | "cbrt" | "ceil" | "cos" | "cosh" | "exp" | "exp2"
        | "expm1" | "floor" | "log" | "log10" | "log1p" | "log2" | "sin" | "sinh" | "sqrt"
        | "tan" | "tanh" | "trunc" | "pow10" => {
            arity(1)?;
            let x = num(&args[0], name)?;
            Ok(Value::Float(match name {
                "abs" => x.abs(),
                "acos" => x.acos(),
                "asin" => x.asin(),
                "atan" => x.atan(),
                "cbrt" => x.cbrt(),
                "ceil" => x.ceil(),
                "cos" => x.cos(),
                "cosh" => x.cosh(),
                "exp" => x.exp(),
                "exp2" => x.exp2(),
                "expm1" => x.exp_m1(),
                "floor" => x.floor(),
                "log" => x.ln(),
                "log10" => x.log10(),
                "log1p" => x.ln_1p(),
                "log2" => x.log2(),
                "sin" => x.sin(),
                "sinh" => x.sinh(),
                "sqrt" => x.sqrt(),
                "tan" => x.tan(),
                "tanh" => x.tanh(),
                "pow10" => 10f64.powf(x),
                _ => x.trunc(),
            }))
        }
        "acosh" | "asinh" | "atanh" | "erf" | "erfc" | "gamma" | "j0" | "j1" | "logb" | "y0"
        | "y1" => {
            arity(1)?;
            let x = num(&args[0], name)?;
            Ok(Value::Float(match name {
                "acosh" => x.acosh(),
                "asinh" => x.asinh(),
                "atanh" => x.atanh(),
                "erf" => libm::erf(x),
                "erfc" => libm::erfc(x),
                "gamma" => libm::tgamma(x),
                "j0" => libm::j0(x),
                "j1" => libm::j1(x),
                "y0" => libm::y0(x),
                "y1" => libm::y1(x),
                // Go's Logb: the binary exponent, as a float.
                _ => f64::from(libm::ilogb(x)),
            }))
        }
        "jn" | "yn" => {
            arity(2)?;
            let Value::Int(n) = args[0] else {
                return fail(format!("{name}() takes an int order first"));
            };
            let x = num(&args[1], name)?;
            let n = i32::try_from(n)
                .map_err(|_| LambdaError(format!("{name}() order out of range")))?;
            Ok(Value::Float(if name == "jn" {
                libm::jn(n, x)
            } else {
                libm::yn(n, x)
            }))
        }
        "strContainsAny" | "strIndexAny" | "strLastIndexAny" => {
            arity(2)?;
            let (s, chars) = (text(&args[0], name)?, text(&args[1], name)?);
            let any = |c: char| chars.contains(c);
            Ok(match name {
                "strContainsAny" => Value::Bool(s.contains(any)),
                "strIndexAny" => Value::Int(s.find(any).map_or(-1, |i| i as i64)),
                _ => Value::Int(s.rfind(any).map_or(-1, |i| i as i64)),
            })
        }
        "atan2" | "hypot" | "max" | "min" | "mod" | "pow" => {
            arity(2)?;
            let (a, b) = (num(&args[0], name)?, num(&args[1], name)?);
            Ok(Value::Float(match name {
                "atan2" => a.atan2(b),
                "hypot" => a.hypot(b),
                "max" => a.max(b),
                "min" => a.min(b),
                "mod" => a % b,
                _ => a.powf(b),
            }))
        }
        "strLength" => {
            arity(1)?;
            Ok(Value::Int(text(&args[0], name)?.chars().count() as i64))
        }
        "strToLower" | "strToUpper" | "strTrimSpace" => {
            arity(1)?;
            let s = text(&args[0], name)?;
            Ok(Value::Str(match name {
                "strToLower" => s.to_lowercase(),
                "strToUpper" => s.to_uppercase(),
                _ => s.trim().to_string(),
            }))
        }
        "strContains" | "strHasPrefix" | "strHasSuffix" => {
            arity(2)?;
            let (s, p) = (text(&args[0], name)?, text(&args[1], name)?);
            Ok(Value::Bool(match name {
                "strContains" => s.contains(p),
                "strHasPrefix" => s.starts_with(p),
                _ => s.ends_with(p),
            }))
        }
        "strIndex" | "strLastIndex" | "strCount" => {
            arity(2)?;
            let (s, p) = (text(&args[0], name)?, text(&args[1], name)?);
            Ok(Value::Int(match name {
                "strIndex" => s.find(p).map_or(-1, |i| i as i64),
                "strLastIndex" => s.rfind(p).map_or(-1, |i| i as i64),
                _ => s.matches(p).count() as i64,
            }))
        }
        "strTrimPrefix" | "strTrimSuffix" | "strTrim" | "strTrimLeft" | "strTrimRight" => {
            arity(2)?;
            let (s, p) = (text(&args[0], name)?, text(&args[1], name)?);
            let set = |c: char| p.contains(c);
            Ok(Value::Str(match name {
                "strTrimPrefix" => s.strip_prefix(p).unwrap_or(s).to_string(),
                "strTrimSuffix" => s.strip_suffix(p).unwrap_or(s).to_string(),
                "strTrim" => s.trim_matches(set).to_string(),
                "strTrimLeft" => s.trim_start_matches(set).to_string(),
                _ => s.trim_end_matches(set).to_string(),
            }))
        }
        "strReplace" => {
            arity(4)?;
            let (s, old, new) = (
                text(&args[0], name)?,
                text(&args[1], name)?,
                text(&args[2], name)?,
            );
            let Value::Int(n) = args[3] else {
                return fail("strReplace() count must be an int");
            };
            Ok(Value::Str(if n < 0 {
                s.replace(old, new)
            } else {
                s.replacen(old, new, n as usize)
            }))
        }
        "strSubstring" => {
            arity(3)?;
            let s = text(&args[0], name)?;
            let (Value::Int(a), Value::Int(b)) = (&args[1], &args[2]) else {
                return fail("strSubstring() takes int bounds");
            };
            let chars: Vec<char> = s.chars().collect();
            let (a, b) = (*a as usize, (*b as usize).min(chars.len()));
            if a > b {
                return fail("strSubstring() start is after stop");
            }
            Ok(Value::Str(chars[a..b].iter().collect()))
        }
        "regexReplace" => {
            arity(3)?;
            let Value::Regex(re) = &args[0] else {
                return fail("regexReplace() takes a regex first");
            };
            Ok(Value::Str(
                re.replace_all(text(&args[1], name)?, text(&args[2], name)?)
                    .into_owned(),
            ))
        }
        "duration" => match args.as_slice() {
            [Value::Duration(d)] => Ok(Value::Duration(*d)),
            [Value::Str(s)] => crate::template::parse_go_duration(s)
                .map(Value::Duration)
                .ok_or_else(|| LambdaError(format!("invalid duration string {s:?}"))),
            [v, Value::Duration(unit)] => {
                Ok(Value::Duration((num(v, name)? * *unit as f64) as i64))
            }
            _ => fail("duration() takes a duration string, or a number and a unit"),
        },
        "unixNano" => {
            arity(1)?;
            match &args[0] {
                Value::Time(t) => Ok(Value::Int(*t)),
                other => fail(format!(
                    "unixNano() expects a time, got {}",
                    other.type_name()
                )),
            }
        }
        "minute" => time_part(|t| i64::from(t.minute())),
        "hour" => time_part(|t| i64::from(t.hour())),
        "weekday" => time_part(|t| i64::from(t.weekday().num_days_from_sunday())),
        "day" => time_part(|t| i64::from(t.day())),
        "month" => time_part(|t| i64::from(t.month())),
        "year" => time_part(|t| i64::from(t.year())),
        "humanBytes" => {
            arity(1)?;
            let mut v = num(&args[0], name)?;
            let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
            let mut u = 0;
            while v >= 1000.0 && u < units.len() - 1 {
                v /= 1000.0;
                u += 1;
            }
            Ok(Value::Str(if u == 0 {
                format!("{v} B")
            } else {
                format!("{v:.1} {}", units[u])
            }))
        }
        other => fail(format!("undefined function {other}()")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point() -> Point {
        Point {
            name: "cpu".into(),
            db: "telegraf".into(),
            rp: "autogen".into(),
            tags: BTreeMap::from([("host".to_string(), "web-1".to_string())]),
            fields: BTreeMap::from([
                ("usage".to_string(), FieldValue::Float(91.5)),
                ("count".to_string(), FieldValue::Int(7)),
                ("name".to_string(), FieldValue::Str("x".into())),
            ]),
            time: 1_480_550_400_000_000_000,
            group: Default::default(),
            dims: Default::default(),
        }
    }

    fn lambda(text: &str) -> Lambda {
        let program = tickscript::parse(&format!("var l = lambda: {text}")).unwrap();
        let tickscript::Statement::Var { value, .. } = &program.statements[0] else {
            panic!()
        };
        Lambda::compile(value, &|name| {
            (name == "crit").then_some(Value::Float(90.0))
        })
        .unwrap()
    }

    fn eval(text: &str) -> Result<Value, LambdaError> {
        lambda(text).eval(&point())
    }

    #[test]
    fn typing_rules() {
        assert_eq!(eval("\"usage\" > crit").unwrap(), Value::Bool(true));
        assert_eq!(
            eval("\"count\" > 5.5").unwrap(),
            Value::Bool(true),
            "int vs float comparison works"
        );
        assert_eq!(
            eval("\"count\" / 2").unwrap(),
            Value::Int(3),
            "integer division"
        );
        let err = eval("\"count\" + 1.0").unwrap_err().0;
        assert!(
            err.starts_with("mismatched type to binary operator. got int + float"),
            "{err}"
        );
        assert_eq!(eval("float(\"count\") + 1.0").unwrap(), Value::Float(8.0));
        assert_eq!(
            eval("\"host\" =~ /^web-\\d+$/ AND \"host\" != 'db'").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(eval("'a' + 'b'").unwrap(), Value::Str("ab".into()));
        assert_eq!(
            eval("-\"usage\" < 0.0 OR \"missing\" > 1").unwrap(),
            Value::Bool(true),
            "OR short-circuits"
        );
        assert!(eval("\"missing\" > 1")
            .unwrap_err()
            .0
            .contains("no field or tag exists for missing"));
    }

    #[test]
    fn functions() {
        assert_eq!(
            eval("if(\"usage\" > 90.0, 'hot', 'ok')").unwrap(),
            Value::Str("hot".into())
        );
        assert_eq!(eval("abs(-2)").unwrap(), Value::Float(2.0));
        assert_eq!(
            eval("isPresent(\"usage\") AND !isPresent(\"nope\")").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            eval("strToUpper(\"host\")").unwrap(),
            Value::Str("WEB-1".into())
        );
        assert_eq!(eval("hour(\"time\")").unwrap(), Value::Int(0));
        assert_eq!(
            eval("weekday(\"time\")").unwrap(),
            Value::Int(4),
            "2016-12-01 was a Thursday"
        );
        assert_eq!(
            eval("strReplace('aaa', 'a', 'b', 2)").unwrap(),
            Value::Str("bba".into())
        );
        assert!(Lambda::compile(
            &tickscript::Expr::Call {
                name: "nope".into(),
                args: vec![],
                pos: Default::default()
            },
            &|_| None
        )
        .is_err());
    }

    #[test]
    fn the_rest_of_the_math_and_string_functions() {
        let f = |t: &str| match eval(t).unwrap() {
            Value::Float(x) => x,
            other => panic!("{t}: {other:?}"),
        };
        assert!((f("erf(1.0)") - 0.842_700_792_949_714_9).abs() < 1e-12);
        assert!((f("gamma(5.0)") - 24.0).abs() < 1e-9);
        assert!((f("jn(2, 1.0)") - 0.114_903_484_931_900_5).abs() < 1e-12);
        assert_eq!(f("logb(8.0)"), 3.0);
        assert_eq!(
            eval("strContainsAny(\"host\", 'xyz-')").unwrap(),
            Value::Bool(true)
        );
        assert_eq!(eval("strIndexAny('web-1', '-1')").unwrap(), Value::Int(3));
        assert_eq!(
            eval("strLastIndexAny('a-b-c', '-')").unwrap(),
            Value::Int(3)
        );
    }

    #[test]
    fn stateful_functions_remember() {
        let count = lambda("count()");
        let values: Vec<Value> = (0..3).map(|_| count.eval(&point()).unwrap()).collect();
        assert_eq!(values, [Value::Int(1), Value::Int(2), Value::Int(3)]);
        let spread = lambda("spread(\"usage\")");
        let mut p = point();
        spread.eval(&p).unwrap();
        p.fields.insert("usage".into(), FieldValue::Float(80.0));
        assert_eq!(spread.eval(&p).unwrap(), Value::Float(11.5));
        let sigma = lambda("sigma(\"usage\")");
        for v in [10.0, 12.0, 10.0, 12.0] {
            p.fields.insert("usage".into(), FieldValue::Float(v));
            sigma.eval(&p).unwrap();
        }
        p.fields.insert("usage".into(), FieldValue::Float(40.0));
        let Value::Float(s) = sigma.eval(&p).unwrap() else {
            panic!()
        };
        assert!(s > 1.5, "{s}");
    }

    proptest::proptest! {
        #[test]
        fn in_place_comparisons_agree_with_the_general_rules(a in -1e6f64..1e6, b in -1e6f64..1e6, op in 0usize..6, int_field: bool) {
            let ops = [BinaryOp::Eq, BinaryOp::Neq, BinaryOp::Lt, BinaryOp::Lte, BinaryOp::Gt, BinaryOp::Gte];
            let mut p = point();
            let field = if int_field { FieldValue::Int(a as i64) } else { FieldValue::Float(a) };
            p.fields.insert("x".into(), field.clone());
            let fast = compare_in_place(ops[op], "x", &Value::Float(b), &p, &BTreeMap::new());
            let slow = binary(ops[op], Value::from(&field), Value::Float(b)).unwrap();
            proptest::prop_assert_eq!(fast.map(Value::Bool), Some(slow));
        }
    }
}
