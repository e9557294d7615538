//! `data_format = "xml"`, `"xpath_json"` and `"xpath_msgpack"`: Telegraf's XPath parser. Each `[[….xpath]]`
//! table selects nodes (`metric_selection`), and for each makes a metric whose name, time,
//! tags and fields are XPath queries relative to the node (absolute when they start with
//! `/`): `tags`, `fields_int`, `fields` one by one, or `field_selection`/`tag_selection` in a
//! batch with `field_name`/`field_value`. XPath 1.0 is evaluated here ([`syntax`],
//! [`eval`]) over a tree ([`tree`]) made from XML, or from JSON the way Telegraf's JSON
//! document shows it to XPath; MessagePack is turned into JSON first, as Telegraf does
//! (`msgp.UnmarshalAsJSON`), so its numbers are JSON numbers too. The protocol-buffer and
//! CBOR forms are not implemented.

pub mod eval;
pub mod number;
pub mod syntax;
pub mod tree;

use crate::gotime::go_parse_in;
use crate::metric::{FieldValue, Metric};
use eval::{evaluate, Value};
use number::number_text;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use syntax::Expr;
use tree::{Document, Kind, Native, NodeId};

/// One `[[….xpath]]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct XpathConfig {
    /// The nodes each giving a metric (`/` when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_selection: String,
    /// The metric's name (a query: a constant is `"'name'"`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metric_name: String,
    /// The metric's time.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timestamp: String,
    /// `unix` (default), `unix_ms`, `unix_us`, `unix_ns` or a Go layout.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timestamp_format: String,
    /// The zone of times written without one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timezone: String,
    /// Tags: name = query.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Integer fields: name = query.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields_int: BTreeMap<String, String>,
    /// Fields typed by their query (`number()`, `boolean()`; text otherwise).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The nodes each giving a field.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_selection: String,
    /// A batch field's name (`name()`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_name: String,
    /// A batch field's value (`.`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field_value: String,
    /// Batch field names prefixed with their path below the metric's node.
    pub field_name_expansion: bool,
    /// The nodes each giving a tag.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_selection: String,
    /// A batch tag's name (`name()`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_name: String,
    /// A batch tag's value (`.`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag_value: String,
    /// Batch tag names prefixed with their path below the metric's node.
    pub tag_name_expansion: bool,
}

/// A query, compiled, with the text it came from.
#[derive(Debug, Clone)]
struct Query {
    text: String,
    expr: Expr,
}

impl Query {
    fn new(what: &str, text: &str) -> Result<Query, String> {
        let expr = syntax::parse(text).map_err(|e| format!("xpath: {what} query {text:?}: {e}"))?;
        Ok(Query {
            text: text.to_string(),
            expr,
        })
    }

    /// An optional query: `None` when the option is empty.
    fn optional(what: &str, text: &str) -> Result<Option<Query>, String> {
        match text.is_empty() {
            true => Ok(None),
            false => Query::new(what, text).map(Some),
        }
    }
}

/// A batch of tags or fields.
#[derive(Debug, Clone)]
struct Batch {
    selection: Query,
    /// `None`: the node's own name (a JSON array item: its array's name and its index).
    name: Option<Query>,
    value: Query,
    expand: bool,
}

impl Batch {
    fn new(
        what: &str,
        selection: &str,
        name: &str,
        value: &str,
        expand: bool,
    ) -> Result<Option<Batch>, String> {
        let Some(selection) = Query::optional(&format!("{what}_selection"), selection)? else {
            return Ok(None);
        };
        Ok(Some(Batch {
            selection,
            name: Query::optional(&format!("{what}_name"), name)?,
            value: Query::new(
                &format!("{what}_value"),
                if value.is_empty() { "." } else { value },
            )?,
            expand,
        }))
    }
}

/// One table, its queries compiled.
#[derive(Debug, Clone)]
struct Table {
    selection: Query,
    metric_name: Option<Query>,
    timestamp: Option<Query>,
    timestamp_format: String,
    timezone: String,
    tags: Vec<(String, Query)>,
    fields_int: Vec<(String, Query)>,
    fields: Vec<(String, Query)>,
    field_batch: Option<Batch>,
    tag_batch: Option<Batch>,
}

/// Which document the bodies are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `xml`.
    Xml,
    /// `xpath_json`.
    Json,
    /// `xpath_msgpack`: MessagePack, read as the JSON it converts to.
    Msgpack,
}

/// The JSON text of a MessagePack document, as `msgp.UnmarshalAsJSON` writes it: binary as a
/// base64 string, an extension as `{"type": …, "data": base64}`, map keys strings (or binary).
fn msgpack_to_json(body: &[u8]) -> Result<String, String> {
    let value = rmpv::decode::read_value(&mut &body[..])
        .map_err(|e| format!("not a MessagePack document: {e}"))?;
    Ok(msgpack_json(value)?.to_string())
}

/// One MessagePack value as JSON, as [`msgpack_to_json`] describes.
fn msgpack_json(value: rmpv::Value) -> Result<serde_json::Value, String> {
    use base64::Engine as _;
    use rmpv::Value as M;
    use serde_json::Value as J;
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let utf8 = |s: rmpv::Utf8String, what: &str| {
        s.into_str()
            .ok_or_else(|| format!("MessagePack {what} that is not UTF-8"))
    };
    Ok(match value {
        M::Nil => J::Null,
        M::Boolean(b) => J::Bool(b),
        M::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => J::from(n),
            (None, Some(n)) => J::from(n),
            (None, None) => return Err(format!("MessagePack integer {i} out of range")),
        },
        M::F32(f) => float(f64::from(f))?,
        M::F64(f) => float(f)?,
        M::String(s) => J::String(utf8(s, "string")?),
        M::Binary(b) => J::String(base64(&b)),
        M::Array(items) => J::Array(
            items
                .into_iter()
                .map(msgpack_json)
                .collect::<Result<_, _>>()?,
        ),
        M::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                let key = match key {
                    M::String(s) => utf8(s, "map key")?,
                    M::Binary(b) => String::from_utf8(b)
                        .map_err(|_| "MessagePack map key that is not UTF-8".to_string())?,
                    other => return Err(format!("MessagePack map key {other} is not a string")),
                };
                map.insert(key, msgpack_json(value)?);
            }
            J::Object(map)
        }
        M::Ext(kind, data) => serde_json::json!({"type": kind, "data": base64(&data)}),
    })
}

/// A MessagePack float as a JSON number (JSON has no NaN or infinity).
fn float(f: f64) -> Result<serde_json::Value, String> {
    serde_json::Number::from_f64(f)
        .map(serde_json::Value::Number)
        .ok_or_else(|| format!("MessagePack float {f} has no JSON form"))
}

/// The XPath parser: its tables, compiled.
#[derive(Debug, Clone)]
pub struct XpathParser {
    format: Format,
    tables: Vec<Table>,
    native_types: bool,
    allow_empty_selection: bool,
    print_document: bool,
}

/// What a query gave, as Telegraf takes it: the first selected node's value, or the number,
/// string or boolean an expression computed.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Nothing,
    Text(String),
    Number(f64),
    Bool(bool),
}

/// Go's `strconv.FormatFloat(v, 'G', -1, 64)`, which Telegraf uses for number tags: the
/// shortest digits, in exponent form when the exponent is below -4 or from 6 up.
fn go_g_format(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let e = format!("{v:E}");
    let exponent: i32 = e
        .rsplit_once('E')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or_default();
    match !(-4..6).contains(&exponent) {
        true => go_exponent(&e),
        false => number_text(v),
    }
}

/// Rust's `1.5E6` written as Go writes it: `1.5E+06`.
fn go_exponent(e: &str) -> String {
    let Some((mantissa, exponent)) = e.split_once('E') else {
        return e.to_string();
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}E{sign}{digits:0>2}")
}

impl XpathParser {
    /// Compiles the tables of `data_format` `format` (`xml`, `xpath_json`, `xpath_msgpack`).
    pub fn new(format: Format, config: &super::ParserConfig) -> Result<Self, String> {
        if config.xpath.is_empty() {
            return Err("the XPath data formats need at least one [[….xpath]] table".into());
        }
        let mut tables = Vec::new();
        for c in &config.xpath {
            let queries = |what: &str, m: &BTreeMap<String, String>| {
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), Query::new(&format!("{what} {k:?}"), v)?)))
                    .collect::<Result<Vec<_>, String>>()
            };
            tables.push(Table {
                selection: Query::new(
                    "metric_selection",
                    if c.metric_selection.is_empty() {
                        "/"
                    } else {
                        &c.metric_selection
                    },
                )?,
                metric_name: Query::optional("metric_name", &c.metric_name)?,
                timestamp: Query::optional("timestamp", &c.timestamp)?,
                timestamp_format: match c.timestamp_format.is_empty() {
                    true => "unix".into(),
                    false => c.timestamp_format.clone(),
                },
                timezone: c.timezone.clone(),
                tags: queries("tag", &c.tags)?,
                fields_int: queries("field (int)", &c.fields_int)?,
                fields: queries("field", &c.fields)?,
                field_batch: Batch::new(
                    "field",
                    &c.field_selection,
                    &c.field_name,
                    &c.field_value,
                    c.field_name_expansion,
                )?,
                tag_batch: Batch::new(
                    "tag",
                    &c.tag_selection,
                    &c.tag_name,
                    &c.tag_value,
                    c.tag_name_expansion,
                )?,
            });
        }
        Ok(XpathParser {
            format,
            tables,
            native_types: config.xpath_native_types,
            allow_empty_selection: config.xpath_allow_empty_selection,
            print_document: config.xpath_print_document,
        })
    }

    /// Parses one document; `name` is the metrics' name unless `metric_name` gives one.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let utf8 = || std::str::from_utf8(body).map_err(|e| format!("not UTF-8: {e}"));
        let doc = match self.format {
            Format::Xml => Document::from_xml(utf8()?),
            Format::Json => Document::from_json(utf8()?),
            Format::Msgpack => Document::from_json(&msgpack_to_json(body)?),
        }
        .map_err(|e| e.to_string())?;
        if self.print_document {
            tracing::debug!("XML document equivalent: {:?}", doc.to_xml());
        }
        let mut metrics = Vec::new();
        for table in &self.tables {
            let selected = match self.run(&doc, &table.selection, 0)? {
                Value::Nodes(n) => n,
                _ => {
                    return Err(format!(
                        "metric_selection {:?} selects no nodes",
                        table.selection.text
                    ))
                }
            };
            if selected.is_empty() && !self.allow_empty_selection {
                return Err(format!(
                    "cannot parse with empty selection node (metric_selection {:?})",
                    table.selection.text
                ));
            }
            for node in selected {
                metrics.push(self.metric(&doc, table, node, name, now)?);
            }
        }
        Ok(metrics)
    }

    /// Evaluates `q` from `node`, or from the root for a query starting with `/`.
    fn run(&self, doc: &Document, q: &Query, node: NodeId) -> Result<Value, String> {
        let from = if q.text.trim_start().starts_with('/') {
            0
        } else {
            node
        };
        evaluate(doc, &q.expr, from).map_err(|e| format!("query {:?}: {e}", q.text))
    }

    /// What `q` gives from `node`, as Telegraf reads a query's result.
    fn answer(&self, doc: &Document, q: &Query, node: NodeId) -> Result<Answer, String> {
        Ok(match self.run(doc, q, node)? {
            Value::Nodes(nodes) => match nodes.first() {
                None => Answer::Nothing,
                Some(&n) => self.node_answer(doc, n),
            },
            Value::Text(s) => Answer::Text(s),
            Value::Number(n) => Answer::Number(n),
            Value::Bool(b) => Answer::Bool(b),
        })
    }

    /// A node's value: its text, or with `xpath_native_types` the JSON scalar it holds.
    fn node_answer(&self, doc: &Document, n: NodeId) -> Answer {
        if self.native_types {
            let node = doc.node(n);
            let holder = match node.kind {
                Kind::Text => node.parent.map(|p| doc.node(p)),
                _ => Some(node),
            };
            match holder.and_then(|h| h.native.as_ref()) {
                Some(Native::Number(x)) => return Answer::Number(*x),
                Some(Native::Bool(b)) => return Answer::Bool(*b),
                Some(Native::Text(s)) => return Answer::Text(s.clone()),
                None => {}
            }
        }
        Answer::Text(doc.string_value(n))
    }

    fn metric(
        &self,
        doc: &Document,
        t: &Table,
        node: NodeId,
        default_name: &str,
        now: i64,
    ) -> Result<Metric, String> {
        let name = match &t.metric_name {
            None => default_name.to_string(),
            Some(q) => match self.answer(doc, q, node)? {
                Answer::Text(s) => s,
                Answer::Nothing => {
                    return Err(format!(
                        "failed to query metric name: {:?} selects nothing (a constant is \
                         written metric_name = \"'name'\")",
                        q.text
                    ))
                }
                other => {
                    return Err(format!(
                    "failed to query metric name: the result of {:?} is {other:?}, not a string",
                    q.text
                ))
                }
            },
        };
        let time = match &t.timestamp {
            None => now,
            Some(q) => {
                let text = match self.answer(doc, q, node)? {
                    Answer::Nothing => None,
                    Answer::Text(s) => Some(s),
                    Answer::Number(n) => Some(number_text(n)),
                    Answer::Bool(b) => {
                        return Err(format!(
                            "failed to query timestamp: {:?} gives the boolean {b}",
                            q.text
                        ))
                    }
                };
                match text {
                    None => now,
                    Some(s) => go_parse_in(&t.timestamp_format, &s, &t.timezone)
                        .map_err(|e| format!("failed to parse timestamp: {e}"))?,
                }
            }
        };
        let mut m = Metric::new(name, time);
        for (key, q) in &t.tags {
            match self.answer(doc, q, node)? {
                Answer::Nothing => {}
                Answer::Text(s) => {
                    m.tags.insert(key.clone(), s);
                }
                Answer::Bool(b) => {
                    m.tags.insert(key.clone(), b.to_string());
                }
                Answer::Number(n) => {
                    m.tags.insert(key.clone(), go_g_format(n));
                }
            }
        }
        if let Some(b) = &t.tag_batch {
            for (key, value) in self.batch(doc, b, node, |k| m.tags.contains_key(k))? {
                let text = match value {
                    Answer::Text(s) => s,
                    Answer::Number(n) => number_text(n),
                    Answer::Bool(b) => b.to_string(),
                    Answer::Nothing => continue,
                };
                m.tags.insert(key, text);
            }
        }
        for (key, q) in &t.fields_int {
            let value = match self.answer(doc, q, node)? {
                Answer::Nothing => continue,
                Answer::Text(s) => s
                    .trim()
                    .parse::<i64>()
                    .map_err(|e| format!("failed to parse field (int) {key:?}: {s:?}: {e}"))?,
                Answer::Bool(b) => i64::from(b),
                Answer::Number(n) => n as i64,
            };
            m.add_field(key.clone(), FieldValue::Int(value));
        }
        for (key, q) in &t.fields {
            if let Some(v) = field_value(self.answer(doc, q, node)?) {
                m.add_field(key.clone(), v);
            }
        }
        if let Some(b) = &t.field_batch {
            let taken: Vec<String> = m.fields.iter().map(|(k, _)| k.clone()).collect();
            for (key, value) in self.batch(doc, b, node, |k| taken.iter().any(|t| t == k))? {
                if let Some(v) = field_value(value) {
                    m.add_field(key, v);
                }
            }
        }
        Ok(m)
    }

    /// The (name, value) pairs of a batch below `node`; a name already taken (`taken`, or by
    /// the batch itself) gets `_1`, `_2`… appended.
    fn batch(
        &self,
        doc: &Document,
        b: &Batch,
        node: NodeId,
        taken: impl Fn(&str) -> bool,
    ) -> Result<Vec<(String, Answer)>, String> {
        let Value::Nodes(selected) = self.run(doc, &b.selection, node)? else {
            return Err(format!("{:?} selects no nodes", b.selection.text));
        };
        let mut out: Vec<(String, Answer)> = Vec::new();
        for n in selected {
            let mut name = match &b.name {
                None => own_name(doc, n),
                Some(q) => match self.answer(doc, q, n)? {
                    Answer::Text(s) => s,
                    other => {
                        return Err(format!(
                            "the name query {:?} gives {other:?}, not a string",
                            q.text
                        ))
                    }
                },
            };
            if b.expand {
                // An array item's own name holds its array's: the path starts above it.
                let from = match (&b.name, doc.node(n).array_index) {
                    (None, Some(_)) => doc.node(n).parent.unwrap_or(n),
                    _ => n,
                };
                let path = node_path(doc, from, node);
                if !path.is_empty() {
                    name = format!("{path}_{name}");
                }
            }
            let used = |k: &str| taken(k) || out.iter().any(|(o, _)| o == k);
            if used(&name) {
                let free = (1..)
                    .map(|i| format!("{name}_{i}"))
                    .find(|k| !used(k))
                    .unwrap_or_default();
                name = free;
            }
            out.push((name, self.answer(doc, &b.value, n)?));
        }
        Ok(out)
    }
}

/// A field from a query's answer: text, float or boolean as the query made it.
fn field_value(a: Answer) -> Option<FieldValue> {
    match a {
        Answer::Nothing => None,
        Answer::Text(s) => Some(FieldValue::Str(s)),
        Answer::Number(n) => Some(FieldValue::Float(n)),
        Answer::Bool(b) => Some(FieldValue::Bool(b)),
    }
}

/// A node's name for a batch: its qualified name, or for a JSON array item its array's name
/// and its index (`cpus_0`), as Telegraf names them.
fn own_name(doc: &Document, n: NodeId) -> String {
    let node = doc.node(n);
    match (node.array_index, node.parent) {
        (Some(i), Some(p)) if node.name.is_empty() => {
            let array = doc.qualified_name(p);
            match array.is_empty() {
                true => i.to_string(),
                false => format!("{array}_{i}"),
            }
        }
        _ => doc.qualified_name(n),
    }
}

/// The names of `node`'s ancestors below `top`, outermost first, joined with `_` (a JSON
/// array item is named by its index), as Telegraf's name expansion writes them.
fn node_path(doc: &Document, node: NodeId, top: NodeId) -> String {
    let mut names = Vec::new();
    let mut at = doc.node(node).parent;
    while let Some(p) = at {
        if p == top || p == 0 {
            break;
        }
        let n = doc.node(p);
        names.push(match n.array_index {
            Some(i) => format!("{}{i}", n.name),
            None => doc.qualified_name(p),
        });
        at = n.parent;
    }
    names.reverse();
    names.join("_")
}

impl Document {
    /// The document written as XML, for `xpath_print_document`.
    pub fn to_xml(&self) -> String {
        fn write(doc: &Document, id: NodeId, out: &mut String) {
            let n = doc.node(id);
            match n.kind {
                Kind::Root => doc
                    .node(id)
                    .children
                    .iter()
                    .for_each(|&c| write(doc, c, out)),
                Kind::Text => out.push_str(&n.text),
                Kind::Comment => out.push_str(&format!("<!--{}-->", n.text)),
                Kind::ProcessingInstruction => out.push_str(&format!("<?{} {}?>", n.name, n.text)),
                Kind::Attribute => {}
                Kind::Element => {
                    let name = match n.array_index {
                        Some(_) if n.name.is_empty() => "element".to_string(),
                        _ => doc.qualified_name(id),
                    };
                    out.push('<');
                    out.push_str(&name);
                    for &a in &n.attributes {
                        out.push_str(&format!(
                            " {}={:?}",
                            doc.qualified_name(a),
                            doc.node(a).text
                        ));
                    }
                    out.push('>');
                    n.children.iter().for_each(|&c| write(doc, c, out));
                    out.push_str(&format!("</{name}>"));
                }
            }
        }
        let mut out = String::new();
        write(self, 0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests;
