//! Nodes that shape single points (and each point of a batch): `from`, `where`, `groupBy`,
//! `eval`, `default`, `delete`, `shift`, `log`, `derivative`, `stateDuration`/`stateCount`.

use super::{constructor, unknown, Node};
use crate::lambda::{Lambda, Value};
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{Dimensions, FieldValue, GroupKey, Message, Point};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Applies `f` to the point, or to each point of the batch (dropping those it rejects).
pub fn map_points(msg: Message, mut f: impl FnMut(Point) -> Option<Point>) -> Option<Message> {
    match msg {
        Message::Point(p) => f(p).map(Message::Point),
        Message::Batch(mut b) => {
            b.points = b.points.into_iter().filter_map(f).collect();
            Some(Message::Batch(b))
        }
    }
}

/// Regroups a point: new dimensions, new key (the measurement first when `by_measurement`).
pub fn regroup(mut p: Point, dims: &Dimensions, by_measurement: bool) -> Point {
    p.group = GroupKey::of(&p.tags, dims);
    if by_measurement {
        p.group = GroupKey(format!("{}\n{}", p.name, p.group.0));
    }
    p.dims = dims.clone();
    p
}

/// Dimensions from `groupBy` arguments: tag names, lists of them, or `*`.
pub fn dimensions(p: &crate::pipeline::Property) -> Result<Dimensions, PipelineError> {
    if p.args.iter().any(|a| matches!(a, Arg::Star))
        || matches!(p.args.as_slice(), [Arg::List(l)] if l.iter().any(|a| matches!(a, Arg::Star)))
    {
        return Ok(Dimensions::All);
    }
    let mut tags = args::strings(p)?;
    tags.sort();
    tags.dedup();
    Ok(Dimensions::Tags(tags.into()))
}

/// `stream` and `batch`: the root passes everything on.
pub struct PassThrough;

impl Node for PassThrough {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        vec![msg]
    }
}

/// `from()`: selects points by database, policy, measurement and `where`, and groups them.
pub struct From {
    database: Option<String>,
    retention_policy: Option<String>,
    measurement: Option<String>,
    condition: Option<Arc<Lambda>>,
    dims: Dimensions,
    by_measurement: bool,
    truncate: i64,
    round: i64,
    quiet: bool,
}

impl From {
    /// Reads the properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = From {
            database: None,
            retention_policy: None,
            measurement: None,
            condition: None,
            dims: Dimensions::default(),
            by_measurement: false,
            truncate: 0,
            round: 0,
            quiet: false,
        };
        for p in &decl.props {
            match p.name.as_str() {
                "database" => n.database = Some(args::string(p)?),
                "retentionPolicy" => n.retention_policy = Some(args::string(p)?),
                "measurement" => n.measurement = Some(args::string(p)?),
                "where" => n.condition = Some(args::lambda(p)?),
                "groupBy" => n.dims = dimensions(p)?,
                "groupByMeasurement" => n.by_measurement = args::flag(p)?,
                "truncate" => n.truncate = args::duration(p)?,
                "round" => n.round = args::duration(p)?,
                "quiet" => n.quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn wants(&self, p: &Point) -> bool {
        let matches = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == have)
        };
        if !(matches(&self.database, &p.db)
            && matches(&self.retention_policy, &p.rp)
            && matches(&self.measurement, &p.name))
        {
            return false;
        }
        match &self.condition {
            None => true,
            Some(l) => match l.test(p) {
                Ok(b) => b,
                Err(e) => {
                    if !self.quiet {
                        tracing::debug!("from where: {e}");
                    }
                    false
                }
            },
        }
    }
}

impl Node for From {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let Message::Point(mut p) = msg else {
            return Vec::new();
        };
        if !self.wants(&p) {
            return Vec::new();
        }
        if self.truncate > 0 {
            p.time -= p.time.rem_euclid(self.truncate);
        } else if self.round > 0 {
            p.time = (p.time + self.round / 2).div_euclid(self.round) * self.round;
        }
        vec![Message::Point(regroup(p, &self.dims, self.by_measurement))]
    }
}

/// `where(lambda)`.
pub struct Where {
    condition: Arc<Lambda>,
    quiet: bool,
}

impl Where {
    /// Reads the lambda.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let condition = args::lambda(&constructor(decl))?;
        let mut quiet = false;
        for p in &decl.props {
            match p.name.as_str() {
                "quiet" => quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(Where { condition, quiet })
    }
}

impl Node for Where {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let (condition, quiet) = (&self.condition, self.quiet);
        map_points(msg, |p| match condition.test(&p) {
            Ok(true) => Some(p),
            Ok(false) => None,
            Err(e) => {
                if !quiet {
                    tracing::debug!("where: {e}");
                }
                None
            }
        })
        .into_iter()
        .collect()
    }
}

/// `groupBy(…)`.
pub struct GroupBy {
    dims: Dimensions,
    by_measurement: bool,
}

impl GroupBy {
    /// Reads the dimensions.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let dims = dimensions(&constructor(decl))?;
        let mut by_measurement = false;
        for p in &decl.props {
            match p.name.as_str() {
                "byMeasurement" => by_measurement = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(GroupBy {
            dims,
            by_measurement,
        })
    }
}

impl Node for GroupBy {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let (dims, by) = (&self.dims, self.by_measurement);
        match msg {
            Message::Point(p) => vec![Message::Point(regroup(p, dims, by))],
            Message::Batch(b) => {
                // A batch splits into one batch per new group.
                let mut groups: BTreeMap<GroupKey, crate::point::Batch> = BTreeMap::new();
                for p in b.points {
                    let p = regroup(p, dims, by);
                    let entry =
                        groups
                            .entry(p.group.clone())
                            .or_insert_with(|| crate::point::Batch {
                                name: b.name.clone(),
                                group: p.group.clone(),
                                dims: dims.clone(),
                                tags: dims.select(&p.tags),
                                time: b.time,
                                points: Vec::new(),
                            });
                    entry.points.push(p);
                }
                groups.into_values().map(Message::Batch).collect()
            }
        }
    }
}

/// `eval(lambda, …)`: computes fields (or tags) named by `.as()`.
pub struct Eval {
    lambdas: Vec<Arc<Lambda>>,
    names: Vec<String>,
    keep: Option<Vec<String>>,
    tags: Vec<String>,
    quiet: bool,
}

impl Eval {
    /// Reads lambdas and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let lambdas = decl
            .args
            .iter()
            .map(|a| match a {
                Arg::Lambda(l) => Ok(l.clone()),
                other => Err(PipelineError::at(
                    decl.pos,
                    format!("eval takes lambdas, got {}", other.describe()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut n = Eval {
            names: Vec::new(),
            lambdas,
            keep: None,
            tags: Vec::new(),
            quiet: false,
        };
        for p in &decl.props {
            match p.name.as_str() {
                "as" => n.names = args::strings(p)?,
                "keep" => {
                    n.keep = Some(if p.args.is_empty() {
                        Vec::new()
                    } else {
                        args::strings(p)?
                    })
                }
                "tags" => n.tags = args::strings(p)?,
                "quiet" => n.quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        if n.names.len() != n.lambdas.len() {
            return Err(PipelineError::at(
                decl.pos,
                format!(
                    "eval has {} expressions but {} names in .as()",
                    n.lambdas.len(),
                    n.names.len()
                ),
            ));
        }
        Ok(n)
    }

    fn apply(&self, mut p: Point) -> Option<Point> {
        let mut computed: BTreeMap<String, FieldValue> = BTreeMap::new();
        for (lambda, name) in self.lambdas.iter().zip(&self.names) {
            match lambda.eval_with(&p, &computed) {
                Ok(v) => {
                    let f = v.to_field()?;
                    computed.insert(name.clone(), f);
                }
                Err(e) => {
                    if !self.quiet {
                        tracing::warn!("eval: {e}");
                    }
                    return None;
                }
            }
        }
        let mut fields = match &self.keep {
            None => BTreeMap::new(),
            Some(k) if k.is_empty() => std::mem::take(&mut p.fields),
            Some(k) => k
                .iter()
                .filter_map(|name| p.fields.get(name).map(|v| (name.clone(), v.clone())))
                .collect(),
        };
        for (name, value) in computed {
            if self.tags.contains(&name) {
                p.tags.insert(name, value.to_string());
            } else {
                fields.insert(name, value);
            }
        }
        p.fields = fields;
        Some(p)
    }
}

impl Node for Eval {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.apply(p)).into_iter().collect()
    }
}

/// `default()`: sets fields and tags a point lacks.
pub struct Default {
    fields: Vec<(String, FieldValue)>,
    tags: Vec<(String, String)>,
}

impl Default {
    /// Reads `.field(name, value)` and `.tag(name, value)`.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = Default {
            fields: Vec::new(),
            tags: Vec::new(),
        };
        for p in &decl.props {
            match (p.name.as_str(), p.args.as_slice()) {
                ("field", [Arg::Value(Value::Str(k)), Arg::Value(v)]) => n.fields.push((
                    k.clone(),
                    v.to_field()
                        .ok_or_else(|| PipelineError::at(p.pos, "invalid default value"))?,
                )),
                ("tag", [Arg::Value(Value::Str(k)), Arg::Value(Value::Str(v))]) => {
                    n.tags.push((k.clone(), v.clone()))
                }
                ("field" | "tag", _) => {
                    return Err(PipelineError::at(
                        p.pos,
                        format!("{} takes a name and a value", p.name),
                    ))
                }
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Default {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |mut p| {
            for (k, v) in &self.fields {
                p.fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &self.tags {
                p.tags.entry(k.clone()).or_insert_with(|| v.clone());
            }
            Some(p)
        })
        .into_iter()
        .collect()
    }
}

/// `delete()`: removes fields and tags.
pub struct Delete {
    fields: Vec<String>,
    tags: Vec<String>,
}

impl Delete {
    /// Reads `.field(name)` and `.tag(name)`.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = Delete {
            fields: Vec::new(),
            tags: Vec::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "field" => n.fields.push(args::string(p)?),
                "tag" => n.tags.push(args::string(p)?),
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Delete {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |mut p| {
            self.fields.iter().for_each(|f| {
                p.fields.remove(f);
            });
            self.tags.iter().for_each(|t| {
                p.tags.remove(t);
            });
            Some(p)
        })
        .into_iter()
        .collect()
    }
}

/// `shift(d)`: moves times.
pub struct Shift(i64);

impl Shift {
    /// Reads the duration.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        if let Some(p) = decl.props.first() {
            return Err(unknown(decl, p));
        }
        Ok(Shift(args::duration(&constructor(decl))?))
    }
}

impl Node for Shift {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let d = self.0;
        let msg = match msg {
            Message::Batch(mut b) => {
                b.time += d;
                Message::Batch(b)
            }
            other => other,
        };
        map_points(msg, |mut p| {
            p.time += d;
            Some(p)
        })
        .into_iter()
        .collect()
    }
}

/// `log()`: logs everything that passes.
pub struct Log {
    level: tracing::Level,
    prefix: String,
    task: String,
}

impl Log {
    /// Reads `.level()` and `.prefix()`.
    pub fn build(decl: &NodeDecl, task: &str) -> Result<Self, PipelineError> {
        let mut n = Log {
            level: tracing::Level::INFO,
            prefix: String::new(),
            task: task.to_string(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "level" => {
                    n.level = match args::string(p)?.to_uppercase().as_str() {
                        "DEBUG" => tracing::Level::DEBUG,
                        "INFO" => tracing::Level::INFO,
                        "WARN" => tracing::Level::WARN,
                        "ERROR" => tracing::Level::ERROR,
                        other => {
                            return Err(PipelineError::at(
                                p.pos,
                                format!("invalid log level {other:?}"),
                            ))
                        }
                    }
                }
                "prefix" => n.prefix = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Log {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let data = msg.to_result_json();
        match self.level {
            tracing::Level::ERROR => {
                tracing::error!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            tracing::Level::WARN => {
                tracing::warn!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            tracing::Level::DEBUG => {
                tracing::debug!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            _ => tracing::info!(task = %self.task, prefix = %self.prefix, "{data}"),
        }
        vec![msg]
    }
}

/// `derivative('field')`: rate of change per `unit` between consecutive points of a group.
pub struct Derivative {
    field: String,
    unit: i64,
    non_negative: bool,
    name: String,
    previous: HashMap<GroupKey, (i64, f64)>,
}

impl Derivative {
    /// Reads the field and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let field = args::string(&constructor(decl))?;
        let mut n = Derivative {
            name: field.clone(),
            field,
            unit: 1_000_000_000,
            non_negative: false,
            previous: HashMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "unit" => n.unit = args::duration(p)?,
                "nonNegative" => n.non_negative = args::flag(p)?,
                "as" => n.name = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn step(&mut self, mut p: Point) -> Option<Point> {
        let value = p.fields.get(&self.field)?.as_f64()?;
        let previous = self.previous.insert(p.group.clone(), (p.time, value));
        let (t0, v0) = previous?;
        if p.time <= t0 {
            return None;
        }
        let rate = (value - v0) / ((p.time - t0) as f64 / self.unit as f64);
        if self.non_negative && rate < 0.0 {
            return None;
        }
        p.fields = BTreeMap::from([(self.name.clone(), FieldValue::Float(rate))]);
        Some(p)
    }
}

impl Node for Derivative {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.step(p)).into_iter().collect()
    }
}

/// `stateDuration(lambda)` / `stateCount(lambda)`: how long (in `unit`s) or how many points in a
/// row the condition has held per group; -1 when it does not.
pub struct State {
    condition: Arc<Lambda>,
    duration: bool,
    unit: i64,
    name: String,
    state: HashMap<GroupKey, (i64, i64)>,
}

impl State {
    /// Reads the lambda and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let duration = decl.kind == "stateDuration";
        let mut n = State {
            condition: args::lambda(&constructor(decl))?,
            duration,
            unit: 1_000_000_000,
            name: if duration {
                "state_duration"
            } else {
                "state_count"
            }
            .into(),
            state: HashMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "unit" if duration => n.unit = args::duration(p)?,
                "as" => n.name = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn step(&mut self, mut p: Point) -> Option<Point> {
        let holds = self.condition.test(&p).ok()?;
        let value = if holds {
            let (start, count) = self.state.entry(p.group.clone()).or_insert((p.time, 0));
            *count += 1;
            if self.duration {
                FieldValue::Float((p.time - *start) as f64 / self.unit as f64)
            } else {
                FieldValue::Int(*count)
            }
        } else {
            self.state.remove(&p.group);
            if self.duration {
                FieldValue::Float(-1.0)
            } else {
                FieldValue::Int(-1)
            }
        };
        p.fields.insert(self.name.clone(), value);
        Some(p)
    }
}

impl Node for State {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.step(p)).into_iter().collect()
    }
}
