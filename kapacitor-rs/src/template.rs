//! The subset of Go's `text/template` that alert `id`, `message` and `details` use:
//! `{{ .ID }}`, `{{ index .Tags "host" }}`, `{{ index .Fields "value" | printf "%0.2f" }}`,
//! `{{ if eq .Level "OK" }}…{{ else }}…{{ end }}`, `{{ json . }}`, with Go's printing of
//! numbers, times and durations. `details` templates escape their output as `html/template`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A value templates see.
#[derive(Debug, Clone, PartialEq)]
pub enum TValue {
    /// Text.
    Str(String),
    /// Float.
    Float(f64),
    /// Integer.
    Int(i64),
    /// Boolean.
    Bool(bool),
    /// A map (`.Tags`, `.Fields`, the data itself).
    Map(BTreeMap<String, TValue>),
    /// A time, ns since the epoch.
    Time(i64),
    /// A duration, ns.
    Duration(i64),
    /// Nothing (a missing key).
    Nil,
}

impl TValue {
    fn truthy(&self) -> bool {
        match self {
            TValue::Str(s) => !s.is_empty(),
            TValue::Float(f) => *f != 0.0,
            TValue::Int(i) | TValue::Duration(i) => *i != 0,
            TValue::Bool(b) => *b,
            TValue::Map(m) => !m.is_empty(),
            TValue::Time(_) => true,
            TValue::Nil => false,
        }
    }

    /// Go's `%v`.
    fn print(&self) -> String {
        match self {
            TValue::Str(s) => s.clone(),
            TValue::Float(f) => crate::point::go_float(*f),
            TValue::Int(i) => i.to_string(),
            TValue::Bool(b) => b.to_string(),
            TValue::Map(m) => {
                let inner: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", v.print()))
                    .collect();
                format!("map[{}]", inner.join(" "))
            }
            TValue::Time(t) => go_time(*t),
            TValue::Duration(d) => go_duration(*d),
            TValue::Nil => "<no value>".into(),
        }
    }

    /// JSON as Kapacitor's `json` function writes it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            TValue::Str(s) => s.clone().into(),
            TValue::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            TValue::Int(i) | TValue::Duration(i) => (*i).into(),
            TValue::Bool(b) => (*b).into(),
            TValue::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            TValue::Time(t) => crate::point::rfc3339(*t).into(),
            TValue::Nil => serde_json::Value::Null,
        }
    }
}

/// Go's `time.Time.String()` in UTC: `2016-11-01 00:00:00 +0000 UTC`, fractions trimmed.
pub fn go_time(ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp_nanos(ns);
    let frac = t.timestamp_subsec_nanos();
    let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
    if frac == 0 {
        format!("{base} +0000 UTC")
    } else {
        let digits = format!("{frac:09}");
        format!("{base}.{} +0000 UTC", digits.trim_end_matches('0'))
    }
}

/// Go's `time.Duration.String()`: `1h2m3s`, `1.5s`, `250ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let frac = |v: u64, div: u64| {
        let (w, f) = (v / div, v % div);
        if f == 0 {
            w.to_string()
        } else {
            let width = div.to_string().len() - 1;
            format!("{w}.{}", format!("{f:0width$}").trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", frac(u, 1_000));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", frac(u, 1_000_000));
    }
    let h = u / 3_600_000_000_000;
    let m = u % 3_600_000_000_000 / 60_000_000_000;
    let s = u % 60_000_000_000;
    let mut out = sign.to_string();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if h > 0 || m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{}s", frac(s, 1_000_000_000));
    out
}

/// Reads `1h30m`, `10s`, `500ms` (Go's syntax).
pub fn parse_go_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, mut rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * per;
        rest = &rest[u..];
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}

/// A template that does not parse or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {0}")]
pub struct TemplateError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Dot,
    Field(Vec<String>),
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Func(String),
    Sub(Pipeline),
}

type Command = Vec<Operand>;
type Pipeline = Vec<Command>;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
}

/// How deeply `{{if}}` blocks and parenthesised pipelines may nest: parsing and running
/// recurse once per level, and the template comes from a task anyone with the API can define.
const MAX_DEPTH: usize = 100;

/// An error if `depth` is past [`MAX_DEPTH`].
fn check_depth(depth: usize) -> Result<(), TemplateError> {
    if depth > MAX_DEPTH {
        return Err(TemplateError(format!(
            "template nested too deeply (more than {MAX_DEPTH} levels)"
        )));
    }
    Ok(())
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
    html: bool,
    /// The source, as given.
    pub source: String,
}

impl Template {
    /// Parses `source`; `html` escapes printed values as `html/template` does (for `details`).
    pub fn parse(source: &str, html: bool) -> Result<Template, TemplateError> {
        let tokens = split(source)?;
        let mut pos = 0;
        let nodes = parse_nodes(&tokens, &mut pos, false, 0)?;
        if pos < tokens.len() {
            return Err(TemplateError(format!(
                "unexpected {{{{{}}}}}",
                tokens[pos].1
            )));
        }
        Ok(Template {
            nodes,
            html,
            source: source.to_string(),
        })
    }

    /// Runs the template on `data`.
    pub fn render(&self, data: &TValue) -> Result<String, TemplateError> {
        let mut out = String::new();
        run(&self.nodes, data, self.html, &mut out)?;
        Ok(out)
    }
}

/// Literal text (`false`) and action bodies (`true`) in order.
fn split(source: &str) -> Result<Vec<(bool, String)>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_string();
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| TemplateError("unclosed action".into()))?;
        let mut body = &after[..end];
        if let Some(b) = body.strip_prefix('-') {
            text = text.trim_end().to_string();
            body = b;
        }
        let mut trim_next = false;
        if let Some(b) = body.strip_suffix('-') {
            trim_next = true;
            body = b;
        }
        if !text.is_empty() {
            out.push((false, text));
        }
        out.push((true, body.trim().to_string()));
        rest = &after[end + 2..];
        if trim_next {
            rest = rest.trim_start();
        }
    }
    if !rest.is_empty() {
        out.push((false, rest.to_string()));
    }
    Ok(out)
}

fn parse_nodes(
    tokens: &[(bool, String)],
    pos: &mut usize,
    in_if: bool,
    depth: usize,
) -> Result<Vec<Node>, TemplateError> {
    check_depth(depth)?;
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let (action, body) = &tokens[*pos];
        if !action {
            nodes.push(Node::Text(body.clone()));
            *pos += 1;
            continue;
        }
        if body == "end" || body == "else" {
            if !in_if {
                return Err(TemplateError(format!("unexpected {{{{{body}}}}}")));
            }
            return Ok(nodes);
        }
        *pos += 1;
        if body.starts_with("/*") {
            continue;
        }
        if let Some(cond) = body.strip_prefix("if ") {
            let cond = parse_pipeline(cond, depth)?;
            let then = parse_nodes(tokens, pos, true, depth + 1)?;
            let mut otherwise = Vec::new();
            if tokens.get(*pos).is_some_and(|t| t.1 == "else") {
                *pos += 1;
                otherwise = parse_nodes(tokens, pos, true, depth + 1)?;
            }
            if tokens.get(*pos).is_none_or(|t| t.1 != "end") {
                return Err(TemplateError("missing {{end}}".into()));
            }
            *pos += 1;
            nodes.push(Node::If(cond, then, otherwise));
            continue;
        }
        nodes.push(Node::Action(parse_pipeline(body, depth)?));
    }
    if in_if {
        return Err(TemplateError("missing {{end}}".into()));
    }
    Ok(nodes)
}

/// Splits an action into words: quoted strings, parenthesised groups, `|`, bare words.
fn words(body: &str) -> Result<Vec<String>, TemplateError> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '"' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c == '"' {
                    i += 1;
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err(TemplateError("unterminated string".into()));
            }
            i += 1;
        } else if c == '(' {
            let mut depth = 0;
            while i < chars.len() {
                match chars[i] {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err(TemplateError("unclosed (".into()));
            }
            i += 1;
        } else if c == '|' {
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '|' && chars[i] != '('
            {
                i += 1;
            }
        }
        out.push(chars[start..i].iter().collect());
    }
    Ok(out)
}

fn parse_pipeline(body: &str, depth: usize) -> Result<Pipeline, TemplateError> {
    check_depth(depth)?;
    let mut pipeline = Vec::new();
    let mut command = Vec::new();
    for word in words(body)? {
        if word == "|" {
            if command.is_empty() {
                return Err(TemplateError("missing command before |".into()));
            }
            pipeline.push(std::mem::take(&mut command));
            continue;
        }
        command.push(operand(&word, depth)?);
    }
    if command.is_empty() {
        return Err(TemplateError(format!("empty command in {{{{{body}}}}}")));
    }
    pipeline.push(command);
    Ok(pipeline)
}

fn operand(word: &str, depth: usize) -> Result<Operand, TemplateError> {
    Ok(if word == "." {
        Operand::Dot
    } else if let Some(path) = word.strip_prefix('.') {
        Operand::Field(path.split('.').map(str::to_string).collect())
    } else if word.starts_with('"') {
        Operand::Str(
            serde_json::from_str::<String>(word)
                .map_err(|e| TemplateError(format!("bad string {word}: {e}")))?,
        )
    } else if let Some(raw) = word.strip_prefix('`') {
        Operand::Str(raw.trim_end_matches('`').to_string())
    } else if let Some(inner) = word.strip_prefix('(') {
        Operand::Sub(parse_pipeline(
            inner.strip_suffix(')').unwrap_or(inner),
            depth + 1,
        )?)
    } else if word == "true" || word == "false" {
        Operand::Bool(word == "true")
    } else if let Ok(i) = word.parse::<i64>() {
        Operand::Int(i)
    } else if let Ok(f) = word.parse::<f64>() {
        Operand::Num(f)
    } else if [
        "index",
        "printf",
        "print",
        "println",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "and",
        "or",
        "not",
        "len",
        "json",
        "jsonCompact",
        "html",
        "urlquery",
    ]
    .contains(&word)
    {
        Operand::Func(word.to_string())
    } else {
        return Err(TemplateError(format!("function {word:?} not defined")));
    })
}

fn run(nodes: &[Node], data: &TValue, html: bool, out: &mut String) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let text = eval_pipeline(p, data)?.print();
                out.push_str(&if html { escape_html(&text) } else { text });
            }
            Node::If(cond, then, otherwise) => {
                let branch = if eval_pipeline(cond, data)?.truthy() {
                    then
                } else {
                    otherwise
                };
                run(branch, data, html, out)?;
            }
        }
    }
    Ok(())
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn eval_pipeline(p: &Pipeline, data: &TValue) -> Result<TValue, TemplateError> {
    let mut previous: Option<TValue> = None;
    for command in p {
        previous = Some(eval_command(command, data, previous)?);
    }
    Ok(previous.unwrap_or(TValue::Nil))
}

fn eval_operand(o: &Operand, data: &TValue) -> Result<TValue, TemplateError> {
    Ok(match o {
        Operand::Dot => data.clone(),
        Operand::Field(path) => {
            let mut v = data.clone();
            for key in path {
                v = match v {
                    TValue::Map(m) => m.get(key).cloned().unwrap_or(TValue::Nil),
                    _ => return Err(TemplateError(format!("can't evaluate field {key}"))),
                };
            }
            v
        }
        Operand::Str(s) => TValue::Str(s.clone()),
        Operand::Num(f) => TValue::Float(*f),
        Operand::Int(i) => TValue::Int(*i),
        Operand::Bool(b) => TValue::Bool(*b),
        Operand::Sub(p) => eval_pipeline(p, data)?,
        Operand::Func(f) => return Err(TemplateError(format!("{f} used as a value"))),
    })
}

fn eval_command(
    command: &Command,
    data: &TValue,
    piped: Option<TValue>,
) -> Result<TValue, TemplateError> {
    let Some(Operand::Func(name)) = command.first() else {
        if command.len() > 1 || piped.is_some() {
            return Err(TemplateError("can't give argument to non-function".into()));
        }
        return eval_operand(&command[0], data);
    };
    let mut args = command[1..]
        .iter()
        .map(|o| eval_operand(o, data))
        .collect::<Result<Vec<_>, _>>()?;
    args.extend(piped);
    call(name, args)
}

fn call(name: &str, args: Vec<TValue>) -> Result<TValue, TemplateError> {
    let need = |n: usize| {
        if args.len() < n {
            Err(TemplateError(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            )))
        } else {
            Ok(())
        }
    };
    match name {
        "index" => {
            need(2)?;
            let mut v = args[0].clone();
            for key in &args[1..] {
                v = match (v, key) {
                    (TValue::Map(m), TValue::Str(k)) => m.get(k).cloned().unwrap_or(TValue::Nil),
                    _ => return Err(TemplateError("index of a non-map".into())),
                };
            }
            Ok(v)
        }
        "printf" => {
            need(1)?;
            let TValue::Str(format) = &args[0] else {
                return Err(TemplateError("printf format must be a string".into()));
            };
            Ok(TValue::Str(sprintf(format, &args[1..])))
        }
        "print" | "println" => {
            let mut s: String = args.iter().map(TValue::print).collect::<Vec<_>>().join(" ");
            if name == "println" {
                s.push('\n');
            }
            Ok(TValue::Str(s))
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            need(2)?;
            let ord = compare(&args[0], &args[1]);
            Ok(TValue::Bool(match name {
                "eq" => args[1..]
                    .iter()
                    .any(|b| compare(&args[0], b) == Some(std::cmp::Ordering::Equal)),
                "ne" => ord != Some(std::cmp::Ordering::Equal),
                "lt" => ord == Some(std::cmp::Ordering::Less),
                "le" => matches!(
                    ord,
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                ),
                "gt" => ord == Some(std::cmp::Ordering::Greater),
                _ => matches!(
                    ord,
                    Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                ),
            }))
        }
        "and" => Ok(args
            .iter()
            .find(|a| !a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(TValue::Nil)),
        "or" => Ok(args
            .iter()
            .find(|a| a.truthy())
            .or(args.last())
            .cloned()
            .unwrap_or(TValue::Nil)),
        "not" => {
            need(1)?;
            Ok(TValue::Bool(!args[0].truthy()))
        }
        "len" => {
            need(1)?;
            Ok(TValue::Int(match &args[0] {
                TValue::Str(s) => s.len() as i64,
                TValue::Map(m) => m.len() as i64,
                _ => return Err(TemplateError("len of a value without length".into())),
            }))
        }
        "json" | "jsonCompact" => {
            need(1)?;
            let v = args[0].to_json();
            // Both are compact, as Go's json.Marshal writes.
            Ok(TValue::Str(v.to_string()))
        }
        "html" => Ok(TValue::Str(escape_html(
            &args.iter().map(TValue::print).collect::<String>(),
        ))),
        _ => Ok(TValue::Str(
            args.iter().map(TValue::print).collect::<String>(),
        )),
    }
}

fn compare(a: &TValue, b: &TValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (TValue::Str(x), TValue::Str(y)) => Some(x.cmp(y)),
        (TValue::Bool(x), TValue::Bool(y)) => Some(x.cmp(y)),
        (TValue::Int(x), TValue::Int(y))
        | (TValue::Duration(x), TValue::Duration(y))
        | (TValue::Time(x), TValue::Time(y)) => Some(x.cmp(y)),
        (TValue::Float(x), TValue::Float(y)) => x.partial_cmp(y),
        (TValue::Int(x), TValue::Float(y)) => (*x as f64).partial_cmp(y),
        (TValue::Float(x), TValue::Int(y)) => x.partial_cmp(&(*y as f64)),
        _ => None,
    }
}

/// Go's `fmt.Sprintf` for the verbs alert templates use: `%v %s %d %f %g %e %q %t %%` with
/// flags, width and precision.
pub fn sprintf(format: &str, args: &[TValue]) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    let chars: Vec<char> = format.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        let spec_start = i;
        while i < chars.len() && "+-# 0".contains(chars[i]) {
            i += 1;
        }
        let flags: String = chars[spec_start..i].iter().collect();
        let w_start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let width: usize = chars[w_start..i]
            .iter()
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        let mut precision = None;
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let p_start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            precision = Some(
                chars[p_start..i]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0),
            );
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = next.next() else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        let number = match arg {
            TValue::Float(f) => Some(*f),
            TValue::Int(n) => Some(*n as f64),
            _ => None,
        };
        let body = match (verb, arg, number) {
            ('d', TValue::Int(n), _) => n.to_string(),
            ('d', _, Some(f)) => format!("%!d(float64={})", crate::point::go_float(f)),
            ('f' | 'F', _, Some(f)) => format!("{f:.prec$}", prec = precision.unwrap_or(6)),
            ('e', _, Some(f)) => {
                let s = format!("{f:.prec$e}", prec = precision.unwrap_or(6));
                match s.split_once('e') {
                    Some((m, e)) if e.starts_with('-') => format!("{m}e-{:0>2}", &e[1..]),
                    Some((m, e)) => format!("{m}e+{e:0>2}"),
                    None => s,
                }
            }
            ('g', _, Some(f)) => crate::point::go_float(f),
            ('q', v, _) => format!("{:?}", v.print()),
            ('t', TValue::Bool(b), _) => b.to_string(),
            (_, v, _) => {
                let s = v.print();
                match (verb, precision) {
                    ('s', Some(p)) => s.chars().take(p).collect(),
                    _ => s,
                }
            }
        };
        let body = if flags.contains('+') && number.is_some_and(|f| f >= 0.0) {
            format!("+{body}")
        } else {
            body
        };
        let pad = width.saturating_sub(body.chars().count());
        if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && number.is_some() {
            let (sign, digits) = body.split_at(usize::from(body.starts_with(['-', '+'])));
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TValue {
        TValue::Map(BTreeMap::from([
            ("ID".into(), TValue::Str("cpu:host=a".into())),
            ("Level".into(), TValue::Str("CRITICAL".into())),
            (
                "Tags".into(),
                TValue::Map(BTreeMap::from([("host".into(), TValue::Str("a".into()))])),
            ),
            (
                "Fields".into(),
                TValue::Map(BTreeMap::from([("value".into(), TValue::Float(97.123))])),
            ),
            ("Time".into(), TValue::Time(1_477_958_400_000_000_000)),
            ("Duration".into(), TValue::Duration(90_000_000_000)),
        ]))
    }

    fn render(t: &str) -> String {
        Template::parse(t, false).unwrap().render(&data()).unwrap()
    }

    #[test]
    fn nesting_is_bounded() {
        let ifs = format!(
            "{}x{}",
            "{{ if true }}".repeat(5000),
            "{{ end }}".repeat(5000)
        );
        let e = Template::parse(&ifs, false).unwrap_err();
        assert!(e.0.contains("nested too deeply"), "{e:?}");
        let parens = format!("{{{{ {}1{} }}}}", "(print ".repeat(5000), ")".repeat(5000));
        let e = Template::parse(&parens, false).unwrap_err();
        assert!(e.0.contains("nested too deeply"), "{e:?}");
        let fine = format!("{}x{}", "{{ if true }}".repeat(20), "{{ end }}".repeat(20));
        assert_eq!(render(&fine), "x");
    }

    #[test]
    fn kapacitor_templates() {
        assert_eq!(
            render("{{ .ID }} is {{ .Level }}"),
            "cpu:host=a is CRITICAL"
        );
        assert_eq!(render("{{ index .Tags \"host\" }}"), "a");
        assert_eq!(
            render("{{ index .Fields \"value\" | printf \"%0.2f\" }}"),
            "97.12"
        );
        assert_eq!(
            render("{{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}"),
            "dead"
        );
        assert_eq!(
            render("{{ .Time }} / {{ .Duration }}"),
            "2016-11-01 00:00:00 +0000 UTC / 1m30s"
        );
        assert_eq!(render("{{- .Level -}}  x"), "CRITICALx");
        assert_eq!(render("{{ index .Fields \"missing\" }}"), "<no value>");
        assert!(render("{{ json . }}").contains("\"Duration\":90000000000"));
        let html = Template::parse("<b>{{ json .Tags }}</b>", true)
            .unwrap()
            .render(&data())
            .unwrap();
        assert_eq!(html, "<b>{&#34;host&#34;:&#34;a&#34;}</b>");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{{ .ID ", false).is_err());
        assert!(Template::parse("{{ if .ID }}x", false).is_err());
        assert!(Template::parse("{{ nope .ID }}", false).is_err());
    }

    #[test]
    fn printf_and_go_formats() {
        assert_eq!(
            sprintf(
                "%5.1f|%-4d|%s|%03d|%v|%e",
                &[
                    TValue::Float(3.25),
                    TValue::Int(7),
                    TValue::Str("x".into()),
                    TValue::Int(5),
                    TValue::Bool(true),
                    TValue::Float(1234.5)
                ]
            ),
            "  3.2|7   |x|005|true|1.234500e+03"
        );
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(
            go_time(1_477_958_400_500_000_000),
            "2016-11-01 00:00:00.5 +0000 UTC"
        );
    }
}
