//! Nodes that send data out of the task: `influxDBOut` (line protocol to the store, buffered)
//! and `httpOut` (latest data per group, served by the API).

use super::{constructor, unknown, Node};
use crate::lambda::Value;
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{FieldValue, Message, Point};
use crate::services::{HttpOutCache, Services};
use lineproto::{LineWriter, Value as LpValue};
use std::sync::PoisonError;

/// `influxDBOut()`.
pub struct InfluxDbOut {
    database: String,
    retention_policy: String,
    measurement: Option<String>,
    tags: Vec<(String, String)>,
    buffer: usize,
    flush_interval: i64,
    pending: LineWriter,
    pending_points: usize,
    last_flush: i64,
    services: Services,
}

impl InfluxDbOut {
    /// Reads the properties; `.create()` creates the database at task start.
    pub fn build(decl: &NodeDecl, services: &Services) -> Result<Self, PipelineError> {
        let mut n = InfluxDbOut {
            database: String::new(),
            retention_policy: String::new(),
            measurement: None,
            tags: Vec::new(),
            buffer: 1000,
            flush_interval: 10_000_000_000,
            pending: LineWriter::default(),
            pending_points: 0,
            last_flush: 0,
            services: services.clone(),
        };
        let mut create = false;
        for p in &decl.props {
            match p.name.as_str() {
                "database" => n.database = args::string(p)?,
                "retentionPolicy" => n.retention_policy = args::string(p)?,
                "measurement" => n.measurement = Some(args::string(p)?),
                "tag" => match p.args.as_slice() {
                    [Arg::Value(Value::Str(k)), Arg::Value(Value::Str(v))] => {
                        n.tags.push((k.clone(), v.clone()))
                    }
                    _ => return Err(PipelineError::at(p.pos, "tag takes a key and a value")),
                },
                "buffer" => n.buffer = usize::try_from(args::int(p)?).unwrap_or(1).max(1),
                "flushInterval" => n.flush_interval = args::duration(p)?,
                "create" => create = args::flag(p)?,
                "precision" | "writeConsistency" | "cluster" => {}
                _ => return Err(unknown(decl, p)),
            }
        }
        if n.database.is_empty() {
            return Err(PipelineError::at(decl.pos, "influxDBOut needs .database()"));
        }
        if create {
            let (store, db) = (services.store.clone(), n.database.clone());
            services.runtime.spawn(async move {
                if let Err(e) = store.create_database(&db).await {
                    tracing::warn!(db, "influxDBOut create: {e}");
                }
            });
        }
        Ok(n)
    }

    fn add(&mut self, p: &Point) {
        let name = self.measurement.clone().unwrap_or_else(|| p.name.clone());
        let mut tags = p.tags.clone();
        for (k, v) in &self.tags {
            tags.insert(k.clone(), v.clone());
        }
        let tags: Vec<(&String, &String)> = tags.iter().filter(|(_, v)| !v.is_empty()).collect();
        let fields: Vec<(&String, LpValue<'_>)> = p
            .fields
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k,
                    match v {
                        FieldValue::Float(f) if f.is_finite() => LpValue::Float(*f),
                        FieldValue::Float(_) => return None,
                        FieldValue::Int(i) => LpValue::Integer(*i),
                        FieldValue::Str(s) => LpValue::String(s),
                        FieldValue::Bool(b) => LpValue::Boolean(*b),
                    },
                ))
            })
            .collect();
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let fields: Vec<(&str, LpValue<'_>)> =
            fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        match self.pending.write_line(&name, &tags, &fields, Some(p.time)) {
            Ok(()) => self.pending_points += 1,
            Err(e) => {
                tracing::warn!(task = %self.services.task, "influxDBOut: point cannot be written: {e}")
            }
        }
    }

    fn flush(&mut self, now: i64) {
        self.last_flush = now;
        if self.pending_points == 0 {
            return;
        }
        let body = std::mem::take(&mut self.pending).into_bytes();
        self.pending_points = 0;
        let (store, db, rp, task) = (
            self.services.store.clone(),
            self.database.clone(),
            self.retention_policy.clone(),
            self.services.task.clone(),
        );
        self.services.runtime.spawn(async move {
            if let Err(e) = crate::services::write(&store, &db, &rp, body).await {
                tracing::error!(task, db, "influxDBOut write failed: {e}");
            }
        });
    }
}

impl Node for InfluxDbOut {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        match &msg {
            Message::Point(p) => self.add(p),
            Message::Batch(b) => b.points.iter().for_each(|p| self.add(p)),
        }
        if self.pending_points >= self.buffer {
            self.flush(self.last_flush);
        }
        vec![msg]
    }

    fn tick(&mut self, now: i64) -> Vec<Message> {
        if now - self.last_flush >= self.flush_interval.min(1_000_000_000) {
            self.flush(now);
        }
        Vec::new()
    }
}

/// `httpOut('name')`: keeps the latest data of each group for `GET /kapacitor/v1/tasks/<task>/<name>`.
pub struct HttpOut {
    key: (String, String),
    cache: HttpOutCache,
}

impl HttpOut {
    /// Reads the endpoint name.
    pub fn build(decl: &NodeDecl, services: &Services) -> Result<Self, PipelineError> {
        if let Some(p) = decl.props.first() {
            return Err(unknown(decl, p));
        }
        let name = args::string(&constructor(decl))?;
        Ok(HttpOut {
            key: (services.task.clone(), name),
            cache: services.http_out.clone(),
        })
    }
}

impl Node for HttpOut {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let groups = cache.entry(self.key.clone()).or_default();
        groups.insert(msg.group().clone(), msg.to_result_json());
        drop(cache);
        vec![msg]
    }
}
