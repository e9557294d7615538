//! `data_format = "json_v2"`: Telegraf's JSON parser driven by [GJSON] paths. Each
//! `[[….json_v2]]` table makes metrics from `field` and `tag` paths (an array result gives
//! one metric per element; several paths combine as a cartesian product) and from `object`
//! paths (an object becomes one metric, its nested keys joined with `_`; an array of objects
//! one metric per object; each array inside an object gives its own metrics, with the
//! object's other values; with `field`/`tag`
//! sub-paths, only the values they select), the two kinds then combined, as Telegraf's json_v2
//! does. Paths are evaluated by the `gjson` crate, the Rust
//! port by GJSON's author with the same syntax.
//!
//! [GJSON]: https://github.com/tidwall/gjson/blob/master/SYNTAX.md

use crate::gotime::go_parse_in;
use crate::metric::{go_float_text, FieldValue, Metric};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One `[[….json_v2]]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct JsonV2Config {
    /// The measurement; the input's name when empty.
    pub measurement_name: String,
    /// A path whose (scalar) value names the measurement.
    pub measurement_name_path: String,
    /// A path to the metrics' time.
    pub timestamp_path: String,
    /// `unix`, `unix_ms`, `unix_us`, `unix_ns` or a Go layout; required with `timestamp_path`.
    pub timestamp_format: String,
    /// The zone of times written without one.
    pub timestamp_timezone: String,
    /// `[[….json_v2.field]]`: paths to field values.
    pub field: Vec<DataSet>,
    /// `[[….json_v2.tag]]`: paths to tag values.
    pub tag: Vec<DataSet>,
    /// `[[….json_v2.object]]`: paths to objects (or arrays of them).
    pub object: Vec<ObjectConfig>,
}

/// A `field` or `tag` path.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DataSet {
    /// The GJSON path (required).
    pub path: String,
    /// The field or tag name; the path's last key when empty.
    pub rename: String,
    /// `int`, `uint`, `float`, `string` or `bool`; the JSON type when empty (numbers are
    /// floats). Tags are always strings.
    #[serde(rename = "type")]
    pub kind: String,
    /// A path that matches nothing is skipped instead of failing the parse.
    pub optional: bool,
}

/// An `object` path.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ObjectConfig {
    /// The GJSON path (required).
    pub path: String,
    /// A path that matches nothing is skipped instead of failing the parse.
    pub optional: bool,
    /// The key (full `_`-joined name) holding each metric's time.
    pub timestamp_key: String,
    /// Its format, as `timestamp_format` above.
    pub timestamp_format: String,
    /// Its zone, as `timestamp_timezone` above.
    pub timestamp_timezone: String,
    /// Key → new name.
    pub renames: BTreeMap<String, String>,
    /// Key → type (`int`, `uint`, `float`, `string`, `bool`).
    pub fields: BTreeMap<String, String>,
    /// Keys that become tags.
    pub tags: Vec<String>,
    /// Only these keys (and the tags) are kept, when set.
    pub included_keys: Vec<String>,
    /// These keys are dropped.
    pub excluded_keys: Vec<String>,
    /// Names are the keys themselves, not joined with their parents' keys.
    pub disable_prepend_keys: bool,
    /// `[[….object.field]]` sub-paths, relative to the object: with any of these or of `tag`,
    /// only the values they select are kept, as fields with their `rename` and `type`.
    pub field: Vec<DataSet>,
    /// `[[….object.tag]]` sub-paths: the values they select become tags.
    pub tag: Vec<DataSet>,
}

/// The json_v2 parser: its tables, checked.
#[derive(Debug, Clone)]
pub struct JsonV2Parser {
    configs: Vec<JsonV2Config>,
}

impl JsonV2Parser {
    /// Checks the tables: at least one, every path set, a format with every timestamp path.
    pub fn new(configs: &[JsonV2Config]) -> Result<Self, String> {
        if configs.is_empty() {
            return Err("data_format \"json_v2\" needs at least one [[….json_v2]] table".into());
        }
        for c in configs {
            if !c.timestamp_path.is_empty() && c.timestamp_format.is_empty() {
                return Err("json_v2: use of 'timestamp_path' requires 'timestamp_format'".into());
            }
            let sets = c.field.iter().chain(&c.tag);
            if sets.clone().any(|d| d.path.is_empty()) || c.object.iter().any(|o| o.path.is_empty())
            {
                return Err("json_v2: GJSON path is required".into());
            }
            for d in sets {
                check_type(&d.kind)?;
            }
            for o in &c.object {
                let subs = o.field.iter().chain(&o.tag);
                if subs.clone().any(|d| d.path.is_empty()) {
                    return Err("json_v2: GJSON path is required".into());
                }
                for d in subs {
                    check_type(&d.kind)?;
                }
                if !o.timestamp_key.is_empty() && o.timestamp_format.is_empty() {
                    return Err(
                        "json_v2: use of 'timestamp_key' requires 'timestamp_format'".into(),
                    );
                }
                o.fields.values().try_for_each(|t| check_type(t))?;
            }
        }
        Ok(JsonV2Parser {
            configs: configs.to_vec(),
        })
    }

    /// Parses one JSON document.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let text = std::str::from_utf8(body)
            .ok()
            .filter(|t| gjson::valid(t))
            .ok_or("invalid JSON provided, unable to parse")?;
        let mut metrics = Vec::new();
        for c in &self.configs {
            metrics.extend(self.parse_table(c, text, name, now)?);
        }
        Ok(metrics)
    }

    fn parse_table(
        &self,
        c: &JsonV2Config,
        text: &str,
        name: &str,
        now: i64,
    ) -> Result<Vec<Metric>, String> {
        let mut measurement = match c.measurement_name.is_empty() {
            true => name.to_string(),
            false => c.measurement_name.clone(),
        };
        if !c.measurement_name_path.is_empty() {
            if let Some(v) = scalar(&gjson::get(text, &c.measurement_name_path)) {
                measurement = scalar_text(&v);
            }
        }
        let mut time = now;
        if !c.timestamp_path.is_empty() {
            let found = gjson::get(text, &c.timestamp_path);
            if !found.exists() || found.kind() == gjson::Kind::Null {
                return Err(format!(
                    "the timestamp path {} returned NULL",
                    c.timestamp_path
                ));
            }
            if let Some(v) = scalar(&found) {
                time = go_parse_in(&c.timestamp_format, &scalar_text(&v), &c.timestamp_timezone)?;
            }
        }
        let fields = paths(text, &c.field, false)?;
        let tags = paths(text, &c.tag, true)?;
        let mut objects = Vec::new();
        for o in &c.object {
            let found = gjson::get(text, &o.path);
            if !found.exists() {
                match o.optional {
                    true => continue,
                    false => return Err(format!("the path {} doesn't exist", o.path)),
                }
            }
            let walk = ObjectWalk {
                config: o,
                selected: selections(o, found.json())?,
            };
            objects.extend(walk.rows(&found)?);
        }
        let rows = product(tags, fields);
        let rows = match (objects.is_empty(), rows.is_empty()) {
            (false, false) => product(objects, rows),
            _ => [rows, objects].concat(),
        };
        Ok(rows
            .into_iter()
            // A metric needs a field (rows of values that sub-paths left out have none).
            .filter(|r| !r.fields.is_empty())
            .map(|r| {
                let mut m = Metric::new(measurement.clone(), r.time.unwrap_or(time));
                m.tags = r.tags;
                for (k, v) in r.fields {
                    m.add_field(k, v);
                }
                m
            })
            .collect())
    }
}

fn check_type(kind: &str) -> Result<(), String> {
    match kind {
        "" | "int" | "uint" | "float" | "string" | "bool" => Ok(()),
        other => Err(format!(
            "json_v2: type {other:?} is not one of int, uint, float, string, bool"
        )),
    }
}

/// Part of a metric: what one path or object contributed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Row {
    tags: BTreeMap<String, String>,
    fields: Vec<(String, FieldValue)>,
    time: Option<i64>,
}

impl Row {
    fn merge(&mut self, other: &Row) {
        self.tags
            .extend(other.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (k, v) in &other.fields {
            match self.fields.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = v.clone(),
                None => self.fields.push((k.clone(), v.clone())),
            }
        }
        if other.time.is_some() {
            self.time = other.time;
        }
    }
}

/// Every row of `a` merged with every row of `b`; one side alone when the other is empty.
fn product(a: Vec<Row>, b: Vec<Row>) -> Vec<Row> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            let mut row = x.clone();
            row.merge(y);
            out.push(row);
        }
    }
    out
}

/// A scalar path result as JSON (`None` for objects and arrays).
fn scalar(found: &gjson::Value) -> Option<Value> {
    match found.kind() {
        gjson::Kind::Object | gjson::Kind::Array => None,
        _ if !found.exists() => None,
        _ => serde_json::from_str(found.json()).ok(),
    }
}

/// A scalar's text as Go's `fmt.Sprint` of the decoded value writes it.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => go_float_text(n.as_f64().unwrap_or_default()),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// `v` as the field type `kind` asks for (the JSON type when empty); `None` for null.
fn convert(v: &Value, kind: &str, name: &str) -> Result<Option<FieldValue>, String> {
    let fail = |why: String| format!("Unable to convert field '{name}' to type {kind}: {why}");
    Ok(Some(match (v, kind) {
        (Value::Null, _) => return Ok(None),
        (Value::String(s), "int") => FieldValue::Int(s.parse().map_err(|e| fail(format!("{e}")))?),
        (Value::String(s), "uint") => {
            FieldValue::UInt(s.parse().map_err(|e| fail(format!("{e}")))?)
        }
        (Value::String(s), "float") => FieldValue::Float(
            super::parse_go_float(s).ok_or_else(|| fail(format!("{s:?} is not a number")))?,
        ),
        (Value::String(s), "bool") => FieldValue::Bool(
            super::parse_go_bool(s).ok_or_else(|| fail(format!("{s:?} is not a boolean")))?,
        ),
        (Value::String(s), _) => FieldValue::Str(s.clone()),
        (Value::Bool(b), "string") => FieldValue::Str(b.to_string()),
        (Value::Bool(b), "int") => FieldValue::Int(i64::from(*b)),
        (Value::Bool(b), "uint") => FieldValue::UInt(u64::from(*b)),
        (Value::Bool(b), _) => FieldValue::Bool(*b),
        (Value::Number(n), "string") => {
            FieldValue::Str(go_float_text(n.as_f64().unwrap_or_default()))
        }
        (Value::Number(n), "int") => FieldValue::Int(
            n.as_i64()
                .unwrap_or_else(|| n.as_f64().unwrap_or_default() as i64),
        ),
        (Value::Number(n), "uint") => FieldValue::UInt(
            n.as_u64()
                .unwrap_or_else(|| n.as_f64().unwrap_or_default() as u64),
        ),
        (Value::Number(n), "bool") => match n.as_f64() {
            Some(0.0) => FieldValue::Bool(false),
            Some(1.0) => FieldValue::Bool(true),
            _ => return Err(format!("Unable to convert field '{name}' to type bool")),
        },
        (Value::Number(n), _) => FieldValue::Float(n.as_f64().unwrap_or_default()),
        (Value::Array(_) | Value::Object(_), _) => return Ok(None),
    }))
}

/// Adds `v` to `row` as tag or field `name`.
fn put(row: &mut Row, name: &str, v: &Value, kind: &str, tag: bool) -> Result<(), String> {
    let kind = if tag { "string" } else { kind };
    match convert(v, kind, name)? {
        None => {}
        Some(FieldValue::Str(s)) if tag => {
            row.tags.insert(name.to_string(), s);
        }
        Some(value) => row.fields.push((name.to_string(), value)),
    }
    Ok(())
}

/// The rows of the `field` or `tag` paths: one per array element, the paths' rows combined.
fn paths(text: &str, sets: &[DataSet], tag: bool) -> Result<Vec<Row>, String> {
    let mut rows: Vec<Row> = Vec::new();
    for d in sets {
        let found = gjson::get(text, &d.path);
        if !found.exists() {
            match d.optional {
                true => continue,
                false => return Err(format!("the path {} doesn't exist", d.path)),
            }
        }
        if found.kind() == gjson::Kind::Object {
            continue;
        }
        let name = match d.rename.is_empty() {
            true => d.path.rsplit('.').next().unwrap_or_default(),
            false => d.rename.as_str(),
        }
        .replace(' ', "_");
        let value: Value = serde_json::from_str(found.json()).map_err(|e| e.to_string())?;
        let mut these = Vec::new();
        expand(&value, &mut |v| {
            let mut row = Row::default();
            put(&mut row, &name, v, &d.kind, tag)?;
            these.push(row);
            Ok(())
        })?;
        rows = product(rows, these);
    }
    Ok(rows)
}

/// Calls `each` for every scalar of `v`, looking into nested arrays (objects are skipped: they
/// are what `object` paths are for).
fn expand(v: &Value, each: &mut dyn FnMut(&Value) -> Result<(), String>) -> Result<(), String> {
    match v {
        Value::Array(items) => items.iter().try_for_each(|i| expand(i, each)),
        Value::Object(_) => Ok(()),
        scalar => each(scalar),
    }
}

/// What an object's `field` or `tag` sub-path selected: the bytes its result spans in the
/// document (a scalar matches by where it starts, an array's elements by lying inside it).
#[derive(Debug)]
struct Selection<'c> {
    span: std::ops::Range<usize>,
    array: bool,
    set: &'c DataSet,
    tag: bool,
}

/// Where `part` lies in memory: results of the same document are compared by address.
fn span_of(part: &str) -> std::ops::Range<usize> {
    let start = part.as_ptr() as usize;
    start..start + part.len()
}

/// The sub-paths' selections inside the object's text `scoped` (Telegraf evaluates them
/// against the object alone).
fn selections<'c>(o: &'c ObjectConfig, scoped: &str) -> Result<Vec<Selection<'c>>, String> {
    let mut out = Vec::new();
    for (set, tag) in o
        .field
        .iter()
        .map(|d| (d, false))
        .chain(o.tag.iter().map(|d| (d, true)))
    {
        let Some(found) = locate(scoped, &set.path) else {
            match set.optional {
                true => continue,
                false => return Err(format!("the path {} doesn't exist", set.path)),
            }
        };
        if found.is_empty() {
            tracing::debug!(
                "json_v2: sub-path {:?} gives a computed result (a query or a modifier), which \
                 selects no value of the object",
                set.path
            );
        }
        out.extend(found.into_iter().map(|part| Selection {
            span: span_of(part),
            array: part.starts_with('['),
            set,
            tag,
        }));
    }
    Ok(out)
}

/// The part of `outer` that `part` (a slice of it, as gjson hands out) is; `None` when `part`
/// lies elsewhere (a result gjson built anew).
fn within<'a>(outer: &'a str, part: &str) -> Option<&'a str> {
    let (o, p) = (span_of(outer), span_of(part));
    (p.start >= o.start && p.end <= o.end)
        .then(|| outer.get(p.start - o.start..p.end - o.start))
        .flatten()
}

/// The places in `json` that `path` selects (`None`: the path leads nowhere). gjson builds a
/// new array for `#.rest` (the rest of the path in every element); here each element's result
/// is found in the document itself, as Telegraf does with GJSON's `Indexes`. Other computed
/// results (queries, modifiers) cannot be placed and select nothing.
fn locate<'a>(json: &'a str, path: &str) -> Option<Vec<&'a str>> {
    let split = match path.strip_prefix("#.") {
        Some(rest) => Some(("", rest)),
        None => path.find(".#.").map(|at| (&path[..at], &path[at + 3..])),
    };
    let Some((before, rest)) = split else {
        let found = gjson::get(json, path);
        return found
            .exists()
            .then(|| within(json, found.json()).into_iter().collect());
    };
    let array = match before.is_empty() {
        true => json,
        false => {
            let found = gjson::get(json, before);
            if !found.exists() {
                return None;
            }
            match within(json, found.json()) {
                Some(a) => a,
                None => return Some(Vec::new()),
            }
        }
    };
    let mut out = Vec::new();
    let mut exists = false;
    gjson::parse(array).each(|_, item| {
        if let Some(parts) = within(array, item.json()).and_then(|i| locate(i, rest)) {
            exists = true;
            out.extend(parts);
        }
        true
    });
    exists.then_some(out)
}

/// One `object` path's walk over its result.
struct ObjectWalk<'c> {
    config: &'c ObjectConfig,
    selected: Vec<Selection<'c>>,
}

impl ObjectWalk<'_> {
    /// The rows of the object path's result: an object is one row (times those of its
    /// arrays), an array of objects one row per object.
    fn rows(&self, v: &gjson::Value) -> Result<Vec<Row>, String> {
        match v.kind() {
            gjson::Kind::Array => {
                let mut rows = Vec::new();
                let mut failed = Ok(());
                v.each(|_, item| {
                    match self.rows(&item) {
                        Ok(r) => rows.extend(r),
                        Err(e) => failed = Err(e),
                    }
                    failed.is_ok()
                });
                failed.map(|()| rows)
            }
            gjson::Kind::Object => self.flatten("", v),
            _ => Ok(Vec::new()),
        }
    }

    /// The sub-path selection a scalar starting at `at` falls under.
    fn selection_of(&self, at: usize) -> Option<&Selection<'_>> {
        self.selected
            .iter()
            .find(|s| s.span.start == at)
            .or_else(|| {
                self.selected
                    .iter()
                    .find(|s| s.array && s.span.contains(&at))
            })
    }

    /// The rows of value `v` found under the `_`-joined key `prefix`.
    fn flatten(&self, prefix: &str, v: &gjson::Value) -> Result<Vec<Row>, String> {
        let o = self.config;
        match v.kind() {
            gjson::Kind::Object => {
                // The object's single values make one row; each array (or nested value that
                // gives several rows) makes its own rows, each with those values — arrays side
                // by side are separate metrics, not combined with one another.
                let mut single = vec![Row::default()];
                let mut groups: Vec<Vec<Row>> = Vec::new();
                let mut failed = Ok(());
                v.each(|key, child| {
                    let key = key.str().replace(' ', "_");
                    let name = match prefix.is_empty() {
                        true => key.clone(),
                        false => format!("{prefix}_{key}"),
                    };
                    if o.excluded_keys.contains(&name) || !included(o, &name, &child) {
                        return true;
                    }
                    match self.flatten(&name, &child) {
                        Ok(sub) if sub.len() == 1 && child.kind() != gjson::Kind::Array => {
                            single = product(std::mem::take(&mut single), sub)
                        }
                        Ok(sub) if !sub.is_empty() => groups.push(sub),
                        Ok(_) => {}
                        Err(e) => failed = Err(e),
                    }
                    failed.is_ok()
                });
                failed.map(|()| match groups.is_empty() {
                    true => single,
                    false => groups
                        .into_iter()
                        .flat_map(|g| product(single.clone(), g))
                        .collect(),
                })
            }
            gjson::Kind::Array => {
                let mut rows = Vec::new();
                let mut failed = Ok(());
                v.each(|_, item| {
                    match self.flatten(prefix, &item) {
                        Ok(r) => rows.extend(r),
                        Err(e) => failed = Err(e),
                    }
                    failed.is_ok()
                });
                failed.map(|()| rows)
            }
            _ => {
                let mut row = Row::default();
                let Ok(scalar) = serde_json::from_str::<Value>(v.json()) else {
                    return Ok(vec![row]);
                };
                if !o.timestamp_key.is_empty() && prefix == o.timestamp_key {
                    let text = scalar_text(&scalar);
                    row.time = Some(go_parse_in(
                        &o.timestamp_format,
                        &text,
                        &o.timestamp_timezone,
                    )?);
                    return Ok(vec![row]);
                }
                let key = prefix.rsplit('_').next().unwrap_or_default();
                let mut out = match o.disable_prepend_keys {
                    true => key.to_string(),
                    false => prefix.to_string(),
                };
                if let Some(renamed) = o.renames.get(prefix) {
                    out = renamed.clone();
                }
                let mut kind = o.fields.get(prefix).map(String::as_str).unwrap_or_default();
                let mut tag = o.tags.iter().any(|t| t == prefix);
                if !o.field.is_empty() || !o.tag.is_empty() {
                    // With sub-paths, only what they select is kept, as they name it.
                    let Some(s) = self.selection_of(span_of(v.json()).start) else {
                        return Ok(vec![row]);
                    };
                    tag |= s.tag;
                    if !s.tag {
                        kind = &s.set.kind;
                    }
                    if !s.set.rename.is_empty() {
                        out = s.set.rename.clone();
                    }
                }
                put(&mut row, &out, &scalar, kind, tag)?;
                Ok(vec![row])
            }
        }
    }
}

/// Whether key `name` (with value `v`) passes `included_keys` (tags are always included; a
/// container is kept when an included key lies below it).
fn included(o: &ObjectConfig, name: &str, v: &gjson::Value) -> bool {
    if o.included_keys.is_empty() {
        return true;
    }
    let container = matches!(v.kind(), gjson::Kind::Array | gjson::Kind::Object);
    o.included_keys
        .iter()
        .chain(&o.tags)
        .any(|k| k == name || (container && k.starts_with(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parser(toml_text: &str) -> JsonV2Parser {
        #[derive(Deserialize)]
        struct Tables {
            json_v2: Vec<JsonV2Config>,
        }
        let t: Tables = toml::from_str(toml_text).unwrap();
        JsonV2Parser::new(&t.json_v2).unwrap()
    }

    fn lines(p: &JsonV2Parser, body: &str) -> Vec<String> {
        p.parse(body.as_bytes(), "file", 0)
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
            .map(|l| l.trim_end().to_string())
            .collect()
    }

    #[test]
    fn fields_and_tags_from_paths_as_in_telegrafs_readme() {
        let p = parser(
            "[[json_v2]]\nmeasurement_name = \"weather\"\ntimestamp_path = \"time\"\n\
             timestamp_format = \"unix\"\n[[json_v2.tag]]\npath = \"station.id\"\n\
             rename = \"station\"\n[[json_v2.field]]\npath = \"temp\"\n[[json_v2.field]]\n\
             path = \"humidity\"\ntype = \"int\"\n[[json_v2.field]]\npath = \"ok\"\n",
        );
        assert_eq!(
            lines(
                &p,
                r#"{"station":{"id":"s1"},"temp":21.5,"humidity":"40","ok":true,"time":1700000000}"#
            ),
            ["weather,station=s1 temp=21.5,humidity=40i,ok=true 1700000000000000000"]
        );
    }

    #[test]
    fn number_tags_and_per_element_fields_as_telegrafs_issue_1363_example() {
        let p = parser(
            "[[json_v2]]\n[[json_v2.tag]]\npath = \"fields.status\"\n[[json_v2.field]]\n\
             path = \"fields.json.#.duration\"\nrename = \"json_duration\"\n\
             [[json_v2.field]]\npath = \"fields.duration\"\ntype = \"int\"\n",
        );
        let body = r#"{"message":"x","fields":{"status":200,"json":[
            {"duration":100,"code":1,"nest":{"a":2}},{"duration":60,"code":1}],"duration":2}}"#;
        assert_eq!(
            lines(&p, body),
            [
                "file,status=200 json_duration=100,duration=2i 0",
                "file,status=200 json_duration=60,duration=2i 0"
            ]
        );
    }

    #[test]
    fn array_results_make_one_metric_per_element_combined_across_paths() {
        let p = parser(
            "[[json_v2]]\n[[json_v2.field]]\npath = \"readings.#.v\"\nrename = \"v\"\n\
             [[json_v2.tag]]\npath = \"site\"\n",
        );
        assert_eq!(
            lines(&p, r#"{"site":"a","readings":[{"v":1},{"v":2}]}"#),
            ["file,site=a v=1 0", "file,site=a v=2 0"]
        );
    }

    #[test]
    fn objects_flatten_nested_keys_and_arrays_multiply() {
        let p = parser(
            "[[json_v2]]\nmeasurement_name = \"dev\"\n[[json_v2.object]]\npath = \"devices\"\n\
             tags = [\"id\"]\nexcluded_keys = [\"secret\"]\ntimestamp_key = \"ts\"\n\
             timestamp_format = \"unix_ms\"\n[json_v2.object.renames]\nenv_temp = \"t\"\n\
             [json_v2.object.fields]\nbattery = \"int\"\n",
        );
        let body = r#"{"devices":[
            {"id":"d1","secret":"x","ts":1700000000000,"battery":97.0,"env":{"temp":20.5,"hum":40}},
            {"id":"d2","ts":1700000001000,"battery":50,"env":{"temp":19},"ports":[1,2]}]}"#;
        assert_eq!(
            lines(&p, body),
            [
                "dev,id=d1 battery=97i,t=20.5,env_hum=40 1700000000000000000",
                "dev,id=d2 battery=50i,t=19,ports=1 1700000001000000000",
                "dev,id=d2 battery=50i,t=19,ports=2 1700000001000000000",
            ]
        );
    }

    #[test]
    fn included_keys_and_disabled_prefixes() {
        let p = parser(
            "[[json_v2]]\n[[json_v2.object]]\npath = \"@this\"\nincluded_keys = [\"a_b\"]\n\
             disable_prepend_keys = true\n",
        );
        assert_eq!(lines(&p, r#"{"a":{"b":1,"c":2},"d":3}"#), ["file b=1 0"]);
    }

    #[test]
    fn fields_combine_with_objects() {
        let p = parser(
            "[[json_v2]]\n[[json_v2.field]]\npath = \"batch\"\n[[json_v2.object]]\n\
             path = \"items\"\n",
        );
        assert_eq!(
            lines(&p, r#"{"batch":7,"items":[{"x":1},{"x":2}]}"#),
            ["file x=1,batch=7 0", "file x=2,batch=7 0"]
        );
    }

    #[test]
    fn missing_paths_fail_unless_optional_and_bad_json_is_named() {
        let p = parser("[[json_v2]]\n[[json_v2.field]]\npath = \"nope\"\n");
        assert_eq!(
            p.parse(b"{}", "file", 0).unwrap_err(),
            "the path nope doesn't exist"
        );
        let p = parser("[[json_v2]]\n[[json_v2.field]]\npath = \"nope\"\noptional = true\n");
        assert!(p.parse(b"{}", "file", 0).unwrap().is_empty());
        assert!(p
            .parse(b"{\"a\":", "file", 0)
            .unwrap_err()
            .contains("invalid JSON"));
        assert!(p.parse(&[0xff, 0xfe], "file", 0).is_err());
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let refuse = |t: &str| {
            #[derive(Deserialize)]
            struct Tables {
                json_v2: Vec<JsonV2Config>,
            }
            let t: Tables = toml::from_str(t).unwrap();
            JsonV2Parser::new(&t.json_v2).unwrap_err()
        };
        assert!(refuse("[[json_v2]]\ntimestamp_path = \"t\"\n").contains("timestamp_format"));
        assert!(refuse("[[json_v2]]\n[[json_v2.field]]\npath = \"\"\n").contains("path"));
        assert!(
            refuse("[[json_v2]]\n[[json_v2.field]]\npath = \"a\"\ntype = \"integer\"\n")
                .contains("integer")
        );
        assert!(refuse(
            "[[json_v2]]\n[[json_v2.object]]\npath = \"a\"\n[[json_v2.object.tag]]\npath = \"\"\n"
        )
        .contains("path"));
        assert!(JsonV2Parser::new(&[]).is_err());
    }

    #[test]
    fn object_sub_paths_keep_only_what_they_select_as_they_name_it() {
        // The shape of Telegraf's `subfieldtag_in_object` case: `#.` paths pick values in every
        // element, found in the document itself; the rest of the object is left out.
        let p = parser(
            "[[json_v2]]\n[[json_v2.object]]\npath = \"root.trains\"\n\
             [[json_v2.object.field]]\npath = \"#.legs.0.eta.0.min\"\ntype = \"int\"\n\
             [[json_v2.object.tag]]\npath = \"#.code\"\nrename = \"from\"\n\
             [[json_v2.object.tag]]\npath = \"#.legs.0.to\"\nrename = \"to\"\n\
             [[json_v2.object.tag]]\npath = \"#.legs.0.eta.0.dir\"\n",
        );
        let body = r#"{"root": {"trains": [{"name": "North", "code": "NO",
            "legs": [{"to": "AA", "eta": [{"min": "4", "dir": "up", "len": "8"}, {"min": "19", "dir": "up"}]},
                     {"to": "BB", "eta": [{"min": "7", "dir": "up"}]}]}]}}"#;
        assert_eq!(
            lines(&p, body),
            ["file,from=NO,legs_eta_dir=up,to=AA legs_eta_min=4i 0"]
        );
        // An array a sub-path selects gives each of its values; `optional` paths may be missing.
        let p = parser(
            "[[json_v2]]\n[[json_v2.object]]\npath = \"@this\"\n\
             [[json_v2.object.field]]\npath = \"temps\"\nrename = \"t\"\n\
             [[json_v2.object.tag]]\npath = \"missing\"\noptional = true\n",
        );
        assert_eq!(
            lines(&p, r#"{"temps": [20.5, 21], "site": "lab"}"#),
            ["file t=20.5 0", "file t=21 0"]
        );
        let p = parser(
            "[[json_v2]]\n[[json_v2.object]]\npath = \"@this\"\n[[json_v2.object.tag]]\npath = \"missing\"\n",
        );
        assert!(p.parse(b"{\"a\": 1}", "file", 1).is_err());
    }

    #[test]
    fn timestamps_in_a_zone_and_go_layouts() {
        let p = parser(
            "[[json_v2]]\ntimestamp_path = \"t\"\ntimestamp_format = \"2006-01-02 15:04:05\"\n\
             timestamp_timezone = \"Europe/Berlin\"\n[[json_v2.field]]\npath = \"v\"\n",
        );
        assert_eq!(
            lines(&p, r#"{"t":"2023-11-14 23:13:20","v":1}"#),
            ["file v=1 1700000000000000000"]
        );
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), path in "[a-z#.*?0-9@|()=\"]{0,12}") {
            let p = JsonV2Parser::new(&[JsonV2Config {
                field: vec![DataSet { path: path.clone(), optional: true, ..DataSet::default() }],
                object: vec![ObjectConfig { path: format!("{path}.x"), optional: true, ..ObjectConfig::default() }],
                ..JsonV2Config::default()
            }]);
            if let Ok(p) = p {
                let _ = p.parse(&body, "m", 0);
            }
        }

        #[test]
        fn numbers_written_as_json_read_back(values in proptest::collection::vec(-1e9f64..1e9, 1..8)) {
            let body = serde_json::json!({ "v": values }).to_string();
            let p = JsonV2Parser::new(&[JsonV2Config {
                field: vec![DataSet { path: "v".into(), ..DataSet::default() }],
                ..JsonV2Config::default()
            }]).unwrap();
            let got: Vec<f64> = p.parse(body.as_bytes(), "m", 0).unwrap().iter()
                .map(|m| m.field("v").and_then(FieldValue::as_f64).unwrap()).collect();
            prop_assert_eq!(got, values);
        }
    }
}
