//! Tasks: definitions kept as JSON files in the data directory, and the running pipelines of
//! the enabled ones. Written points are routed here to every enabled stream task whose dbrps
//! contain the point's database and retention policy.

use crate::alert::handlers::HandlerJob;
use crate::config::AlertHistoryConfig;
use crate::lambda::Value;
use crate::pipeline::{self, Graph, TaskType};
use crate::point::{rfc3339, Point};
use crate::runner::{self, SharedStats, TaskRunner};
use crate::services::{HttpOutCache, Services, TaskInput};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

/// A database and retention policy a task reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct DbRp {
    /// Database.
    pub db: String,
    /// Retention policy.
    pub rp: String,
}

/// A task variable as the API carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Var {
    /// `float`, `int`, `string`, `bool`, `duration`, `regex`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its value (durations in ns).
    pub value: serde_json::Value,
}

/// What is stored of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDef {
    /// Id.
    pub id: String,
    /// Stream or batch.
    #[serde(rename = "type")]
    pub kind: TaskType,
    /// What it reads.
    pub dbrps: Vec<DbRp>,
    /// The TICKscript.
    pub script: String,
    /// Variables.
    #[serde(default)]
    pub vars: BTreeMap<String, Var>,
    /// `enabled` or `disabled`.
    pub status: String,
    /// RFC 3339.
    pub created: String,
    /// RFC 3339.
    pub modified: String,
    /// RFC 3339, empty when never enabled.
    #[serde(rename = "last-enabled", default)]
    pub last_enabled: String,
}

/// A request the API refuses: status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    /// HTTP status.
    pub status: u16,
    /// Kapacitor's words.
    pub message: String,
}

fn bad(message: impl Into<String>) -> TaskError {
    TaskError {
        status: 400,
        message: message.into(),
    }
}

fn not_found(id: &str) -> TaskError {
    TaskError {
        status: 404,
        message: format!("no task exists with id {id}"),
    }
}

/// The values of `vars` for the pipeline builder.
pub fn var_values(
    vars: &BTreeMap<String, Var>,
) -> Result<HashMap<String, pipeline::Arg>, TaskError> {
    use pipeline::Arg;
    vars.iter()
        .map(|(name, v)| {
            let value = match (v.kind.as_str(), &v.value) {
                ("float", j) => Value::Float(
                    j.as_f64()
                        .ok_or_else(|| bad(format!("var {name}: expected a float")))?,
                ),
                ("int", j) => Value::Int(
                    j.as_i64()
                        .ok_or_else(|| bad(format!("var {name}: expected an int")))?,
                ),
                ("string", serde_json::Value::String(s)) => Value::Str(s.clone()),
                ("bool", serde_json::Value::Bool(b)) => Value::Bool(*b),
                ("duration", j) => Value::Duration(match j {
                    serde_json::Value::String(s) => crate::template::parse_go_duration(s)
                        .ok_or_else(|| bad(format!("var {name}: invalid duration")))?,
                    other => other
                        .as_i64()
                        .ok_or_else(|| bad(format!("var {name}: expected a duration")))?,
                }),
                ("regex", serde_json::Value::String(s)) => Value::Regex(Arc::new(
                    regex::Regex::new(s).map_err(|e| bad(format!("var {name}: {e}")))?,
                )),
                ("lambda", serde_json::Value::String(text)) => {
                    let program = tickscript::parse(&format!("var v = lambda: {text}"))
                        .map_err(|e| bad(format!("var {name}: {e}")))?;
                    let Some(tickscript::Statement::Var {
                        value: tickscript::Expr::Lambda(body),
                        ..
                    }) = program.statements.first()
                    else {
                        return Err(bad(format!("var {name}: not a lambda expression")));
                    };
                    let lambda = crate::lambda::Lambda::compile(body, &|_| None)
                        .map_err(|e| bad(format!("var {name}: {e}")))?;
                    return Ok((name.clone(), Arg::Lambda(Arc::new(lambda))));
                }
                ("star", _) => return Ok((name.clone(), Arg::Star)),
                ("list", serde_json::Value::Array(items)) => {
                    let list = items
                        .iter()
                        .map(|i| match i {
                            serde_json::Value::String(s) if s == "*" => Ok(Arg::Star),
                            serde_json::Value::String(s) => Ok(Arg::Value(Value::Str(s.clone()))),
                            serde_json::Value::Object(o) => match o.get("value") {
                                Some(serde_json::Value::String(s)) => {
                                    Ok(Arg::Value(Value::Str(s.clone())))
                                }
                                _ => Err(bad(format!("var {name}: list items must be strings"))),
                            },
                            _ => Err(bad(format!("var {name}: list items must be strings"))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    return Ok((name.clone(), Arg::List(list)));
                }
                (kind, _) => {
                    return Err(bad(format!(
                        "var {name}: type {kind} with this value is not supported"
                    )))
                }
            };
            Ok((name.clone(), Arg::Value(value)))
        })
        .collect()
}

struct Running {
    input: mpsc::Sender<TaskInput>,
    stats: SharedStats,
    dbrps: Vec<DbRp>,
    kind: TaskType,
}

struct Entry {
    def: TaskDef,
    running: Option<Running>,
    error: String,
}

/// What every task runs with.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// Data directory (`tasks/`, `alerts/`).
    pub data_dir: PathBuf,
    /// This server's host name.
    pub hostname: String,
    /// The store.
    pub store: influx_client::Client,
    /// Alert handler queue.
    pub handlers: mpsc::Sender<HandlerJob>,
    /// `httpOut` caches.
    pub http_out: HttpOutCache,
    /// Runtime for tasks and their background work.
    pub runtime: tokio::runtime::Handle,
    /// Where alert events are recorded.
    pub alert_history: AlertHistoryConfig,
    /// The last events per topic.
    pub events: crate::services::EventStore,
    /// Handlers every alert uses without naming them.
    pub global_handlers: Vec<crate::alert::handlers::HandlerSpec>,
    /// What `.exec()` and `.log()` may reach.
    pub sandbox: Arc<crate::config::SandboxConfig>,
}

/// All tasks.
pub struct Tasks {
    entries: Mutex<BTreeMap<String, Entry>>,
    ctx: TaskContext,
    /// Points dropped because a task's queue was full.
    pub dropped: AtomicU64,
    /// Points routed to the stream tasks (written to `/write`).
    pub received: AtomicU64,
}

/// Points a task may hold queued before new writes to it are dropped (counted).
const TASK_QUEUE: usize = 4096;

fn now_text() -> String {
    rfc3339(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

impl Tasks {
    /// Loads the stored tasks and starts the enabled ones.
    pub fn open(ctx: TaskContext) -> Result<Arc<Tasks>, std::io::Error> {
        std::fs::create_dir_all(ctx.data_dir.join("tasks"))?;
        std::fs::create_dir_all(ctx.data_dir.join("alerts"))?;
        let tasks = Arc::new(Tasks {
            entries: Mutex::new(BTreeMap::new()),
            ctx,
            dropped: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let mut defs = Vec::new();
        for entry in std::fs::read_dir(tasks.ctx.data_dir.join("tasks"))?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                match std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice::<TaskDef>(&b).map_err(|e| e.to_string()))
                {
                    Ok(def) => defs.push(def),
                    Err(e) => tracing::error!(file = %path.display(), "unreadable task: {e}"),
                }
            }
        }
        for def in defs {
            let mut entry = Entry {
                def,
                running: None,
                error: String::new(),
            };
            if entry.def.status == "enabled" {
                tasks.start(&mut entry);
            }
            tasks.lock().insert(entry.def.id.clone(), entry);
        }
        Ok(tasks)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self, def: &TaskDef) -> Result<(), TaskError> {
        let path = self
            .ctx
            .data_dir
            .join("tasks")
            .join(format!("{}.json", def.id));
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(def).map_err(|e| bad(e.to_string()))?;
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| TaskError {
                status: 500,
                message: format!("saving task {}: {e}", def.id),
            })
    }

    fn services(&self, id: &str, graph: &Graph, input: mpsc::Sender<TaskInput>) -> Services {
        let h = &self.ctx.alert_history;
        let writes_history = graph.nodes.iter().any(|n| {
            n.kind == "influxDBOut"
                && n.props.iter().any(|p| p.name == "database" && matches!(p.args.as_slice(), [pipeline::Arg::Value(Value::Str(d))] if *d == h.database))
        });
        Services {
            task: id.to_string(),
            hostname: self.ctx.hostname.clone(),
            store: self.ctx.store.clone(),
            handlers: self.ctx.handlers.clone(),
            http_out: self.ctx.http_out.clone(),
            input,
            state_dir: self.ctx.data_dir.join("alerts"),
            runtime: self.ctx.runtime.clone(),
            history: (h.enabled && !writes_history).then(|| h.clone()),
            events: self.ctx.events.clone(),
            global_handlers: self.ctx.global_handlers.clone(),
            sandbox: Arc::clone(&self.ctx.sandbox),
        }
    }

    /// Checks a definition the way starting it would (script, vars, every node's properties).
    fn validate(&self, def: &TaskDef) -> Result<Graph, TaskError> {
        let graph = pipeline::build(&def.script, &var_values(&def.vars)?)
            .map_err(|e| bad(e.to_string()))?;
        let (tx, _rx) = mpsc::channel(1);
        let services = Services {
            history: None,
            ..self.services(&def.id, &graph, tx)
        };
        TaskRunner::new(&graph, &services).map_err(|e| bad(e.to_string()))?;
        Ok(graph)
    }

    fn start(&self, entry: &mut Entry) {
        entry.running = None;
        let built = var_values(&entry.def.vars)
            .map_err(|e| e.message)
            .and_then(|vars| pipeline::build(&entry.def.script, &vars).map_err(|e| e.to_string()));
        let graph = match built {
            Ok(g) => g,
            Err(e) => {
                entry.error = e;
                return;
            }
        };
        let (tx, rx) = mpsc::channel(TASK_QUEUE);
        let services = self.services(&entry.def.id, &graph, tx.clone());
        let runner = match TaskRunner::new(&graph, &services) {
            Ok(r) => r,
            Err(e) => {
                entry.error = e.to_string();
                return;
            }
        };
        let stats: SharedStats = Arc::new(Mutex::new(runner.stats()));
        self.ctx
            .runtime
            .spawn(runner::run(runner, rx, Arc::clone(&stats)));
        entry.error.clear();
        entry.running = Some(Running {
            input: tx,
            stats,
            dbrps: entry.def.dbrps.clone(),
            kind: graph.kind,
        });
        tracing::info!(task = %entry.def.id, "task enabled");
    }

    /// Creates a task from the API's JSON body.
    pub fn create(&self, body: &serde_json::Value) -> Result<serde_json::Value, TaskError> {
        let id = match body["id"].as_str() {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        if !valid_id(&id) {
            return Err(bad(format!(
                "task ID must contain only letters, numbers, '-', '.' and '_'. {id:?}"
            )));
        }
        if self.lock().contains_key(&id) {
            return Err(bad(format!("task {id} already exists")));
        }
        let script = body["script"].as_str().unwrap_or_default().to_string();
        if script.trim().is_empty() {
            return Err(bad("must provide TICKscript"));
        }
        let vars: BTreeMap<String, Var> =
            serde_json::from_value(body["vars"].clone()).unwrap_or_default();
        let body_dbrps: Vec<DbRp> =
            serde_json::from_value(body["dbrps"].clone()).unwrap_or_default();
        let now = now_text();
        let mut def = TaskDef {
            id: id.clone(),
            kind: TaskType::Stream,
            dbrps: Vec::new(),
            script,
            vars,
            status: "disabled".into(),
            created: now.clone(),
            modified: now,
            last_enabled: String::new(),
        };
        let graph = self.validate(&def)?;
        def.kind = graph.kind;
        if let Some(t) = body["type"].as_str() {
            let wanted = if t == "batch" {
                TaskType::Batch
            } else {
                TaskType::Stream
            };
            if wanted != graph.kind {
                return Err(bad(format!(
                    "invalid TICKscript: task type {t} does not match the script's {:?} node",
                    graph.kind
                )));
            }
        }
        let script_dbrps = dbrps_of(&graph);
        def.dbrps = match (script_dbrps.is_empty(), body_dbrps.is_empty()) {
            (false, false) => {
                return Err(bad("cannot specify dbrp in both implicitly and explicitly"))
            }
            (true, true) => return Err(bad("must specify dbrp")),
            (false, true) => script_dbrps,
            (true, false) => body_dbrps,
        };
        let enable = body["status"].as_str() == Some("enabled");
        let mut entry = Entry {
            def,
            running: None,
            error: String::new(),
        };
        if enable {
            entry.def.status = "enabled".into();
            entry.def.last_enabled = now_text();
            self.start(&mut entry);
        }
        self.save(&entry.def)?;
        let json = self.to_json(&entry);
        self.lock().insert(id, entry);
        Ok(json)
    }

    /// Applies a PATCH body (status, script, dbrps, vars).
    pub fn update(
        &self,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, TaskError> {
        let mut entries = self.lock();
        let entry = entries.get_mut(id).ok_or_else(|| not_found(id))?;
        let mut def = entry.def.clone();
        if let Some(script) = body["script"].as_str() {
            def.script = script.to_string();
        }
        if !body["vars"].is_null() {
            def.vars = serde_json::from_value(body["vars"].clone())
                .map_err(|e| bad(format!("invalid vars: {e}")))?;
        }
        if !body["dbrps"].is_null() {
            def.dbrps = serde_json::from_value(body["dbrps"].clone())
                .map_err(|e| bad(format!("invalid dbrps: {e}")))?;
        }
        let graph = self.validate(&def)?;
        def.kind = graph.kind;
        if !graph.dbrps.is_empty() && body["dbrps"].is_null() {
            def.dbrps = dbrps_of(&graph);
        }
        def.modified = now_text();
        let status = body["status"].as_str().map(str::to_string);
        match status.as_deref() {
            Some("enabled") if entry.running.is_none() => {
                def.status = "enabled".into();
                def.last_enabled = now_text();
                entry.def = def;
                self.start(entry);
            }
            Some("disabled") => {
                def.status = "disabled".into();
                entry.def = def;
                entry.running = None;
                tracing::info!(task = id, "task disabled");
            }
            Some("enabled") | None => entry.def = def,
            Some(other) => return Err(bad(format!("invalid status {other:?}"))),
        }
        self.save(&entry.def)?;
        Ok(self.to_json(entry))
    }

    /// Deletes a task (no error if there is none).
    pub fn delete(&self, id: &str) {
        if self.lock().remove(id).is_some() {
            let _ =
                std::fs::remove_file(self.ctx.data_dir.join("tasks").join(format!("{id}.json")));
            tracing::info!(task = id, "task deleted");
        }
    }

    /// One task as JSON.
    pub fn get(&self, id: &str) -> Result<serde_json::Value, TaskError> {
        self.lock()
            .get(id)
            .map(|e| self.to_json(e))
            .ok_or_else(|| not_found(id))
    }

    /// Tasks whose id matches `pattern` (a glob), `offset`/`limit` applied.
    pub fn list(
        &self,
        pattern: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Vec<serde_json::Value> {
        let pattern = pattern.and_then(|p| {
            regex::Regex::new(&format!(
                "^{}$",
                regex::escape(p).replace("\\*", ".*").replace("\\?", ".")
            ))
            .ok()
        });
        self.lock()
            .values()
            .filter(|e| pattern.as_ref().is_none_or(|re| re.is_match(&e.def.id)))
            .skip(offset)
            .take(limit)
            .map(|e| self.to_json(e))
            .collect()
    }

    fn to_json(&self, e: &Entry) -> serde_json::Value {
        let d = &e.def;
        let node_stats = e
            .running
            .as_ref()
            .map(|r| {
                r.stats
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or(serde_json::json!({}));
        serde_json::json!({
            "link": { "rel": "self", "href": format!("/kapacitor/v1/tasks/{}", d.id) },
            "id": d.id,
            "template-id": "",
            "type": d.kind,
            "dbrps": d.dbrps,
            "script": d.script,
            "vars": d.vars,
            "dot": dot(&d.id, &d.script, &d.vars),
            "status": d.status,
            "executing": e.running.is_some(),
            "error": e.error,
            "stats": { "task-stats": { "throughput": 0.0 }, "node-stats": node_stats },
            "created": d.created,
            "modified": d.modified,
            "last-enabled": d.last_enabled,
        })
    }

    /// How many tasks are defined, and how many of them are executing.
    pub fn counts(&self) -> (usize, usize) {
        let entries = self.lock();
        let executing = entries.values().filter(|e| e.running.is_some()).count();
        (entries.len(), executing)
    }

    /// Sends points written to `db`.`rp` to every enabled stream task reading them.
    pub fn route(&self, db: &str, rp: &str, points: Arc<Vec<Point>>) {
        self.received
            .fetch_add(points.len() as u64, Ordering::Relaxed);
        let entries = self.lock();
        for e in entries.values() {
            let Some(r) = &e.running else { continue };
            if r.kind != TaskType::Stream || !r.dbrps.iter().any(|d| d.db == db && d.rp == rp) {
                continue;
            }
            if r.input
                .try_send(TaskInput::Points(Arc::clone(&points)))
                .is_err()
            {
                self.dropped
                    .fetch_add(points.len() as u64, Ordering::Relaxed);
                tracing::warn!(task = %e.def.id, "task queue full; {} points dropped", points.len());
            }
        }
    }

    /// Runs a copy of stream task `id` over the points `query` returns from the store, in time
    /// order, with fresh alert state and no handler called: what it would have raised.
    pub async fn replay(&self, id: &str, query: &str) -> Result<serde_json::Value, TaskError> {
        let def = self
            .lock()
            .get(id)
            .map(|e| e.def.clone())
            .ok_or_else(|| not_found(id))?;
        if def.kind != TaskType::Stream {
            return Err(bad("only stream tasks can be replayed over a query"));
        }
        let graph = pipeline::build(&def.script, &var_values(&def.vars)?)
            .map_err(|e| bad(e.to_string()))?;
        let replay_id = uuid::Uuid::new_v4().to_string();
        let state_dir = self.ctx.data_dir.join("replays").join(&replay_id);
        std::fs::create_dir_all(&state_dir).map_err(|e| TaskError {
            status: 500,
            message: e.to_string(),
        })?;
        let (input, _rx) = mpsc::channel(1);
        let (handlers, mut handled) = mpsc::channel(1_000_000);
        let events = crate::services::EventStore::recording();
        let services = Services {
            handlers,
            state_dir: state_dir.clone(),
            history: None,
            http_out: Default::default(),
            events: events.clone(),
            global_handlers: Vec::new(),
            ..self.services(id, &graph, input)
        };
        let mut runner = TaskRunner::new(&graph, &services).map_err(|e| bad(e.to_string()))?;
        let answer = crate::services::query(&self.ctx.store, "", query)
            .await
            .map_err(|e| bad(format!("replay query: {e}")))?;
        let (db, rp) = def
            .dbrps
            .first()
            .map(|d| (d.db.clone(), d.rp.clone()))
            .unwrap_or_default();
        let mut points = crate::nodes::query::points(&answer);
        for p in &mut points {
            p.db = db.clone();
            p.rp = rp.clone();
        }
        points.sort_by_key(|p| p.time);
        runner.push_points(&points);
        while handled.try_recv().is_ok() {}
        let _ = std::fs::remove_dir_all(&state_dir);
        let events: Vec<serde_json::Value> = events.log().iter().map(|e| e.to_json()).collect();
        Ok(serde_json::json!({
            "link": { "rel": "self", "href": format!("/kapacitor/v1/replays/{replay_id}") },
            "id": replay_id,
            "task": id,
            "recording": "",
            "clock": "fast",
            "recording-time": true,
            "status": "finished",
            "error": "",
            "progress": 1.0,
            "points": points.len(),
            "events": events,
        }))
    }

    /// The query that reads everything of task `id`'s first dbrp in `[start, stop)`.
    pub fn range_query(&self, id: &str, start: &str, stop: &str) -> Result<String, TaskError> {
        let def = self
            .lock()
            .get(id)
            .map(|e| e.def.clone())
            .ok_or_else(|| not_found(id))?;
        let d = def
            .dbrps
            .first()
            .ok_or_else(|| bad("the task has no dbrp"))?;
        for t in [start, stop] {
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| bad(format!("invalid time {t:?}: {e}")))?;
        }
        Ok(format!(
            "SELECT * FROM {}.{}./.*/ WHERE time >= {} AND time < {} GROUP BY *",
            influxql::quote_ident(&d.db),
            influxql::quote_ident(&d.rp),
            influxql::quote_string(start),
            influxql::quote_string(stop)
        ))
    }

    /// The `httpOut` data of a task's node.
    pub fn http_out(&self, task: &str, name: &str) -> Option<serde_json::Value> {
        crate::services::http_out_series(&self.ctx.http_out, task, name)
    }
}

/// The `dbrp` lines of a script.
fn dbrps_of(graph: &Graph) -> Vec<DbRp> {
    graph
        .dbrps
        .iter()
        .map(|(db, rp)| DbRp {
            db: db.clone(),
            rp: rp.clone(),
        })
        .collect()
}

/// GraphViz of the task's DAG.
fn dot(id: &str, script: &str, vars: &BTreeMap<String, Var>) -> String {
    let Ok(values) = var_values(vars) else {
        return String::new();
    };
    let Ok(graph) = pipeline::build(script, &values) else {
        return String::new();
    };
    let mut out = format!("digraph {id} {{\n");
    for n in &graph.nodes {
        for p in &n.parents {
            out.push_str(&format!("{} -> {};\n", graph.nodes[*p].name, n.name));
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_vars_of_every_type() {
        let vars: BTreeMap<String, Var> = serde_json::from_value(serde_json::json!({
            "measurement": { "type": "string", "value": "cpu" },
            "crit": { "type": "lambda", "value": "\"usage_idle\" < 10.0" },
            "groups": { "type": "list", "value": [{ "type": "string", "value": "host" }] },
            "window": { "type": "duration", "value": "5m" },
            "all": { "type": "star", "value": null },
        }))
        .unwrap();
        let values = var_values(&vars).unwrap();
        let script = "var measurement string\nvar crit lambda\nvar groups list\nvar window duration\nstream|from().measurement(measurement).groupBy(groups)|window().period(window).every(window)|mean('usage_idle').as('usage_idle')|alert().crit(crit)";
        let graph = pipeline::build(script, &values).unwrap();
        let alert = graph.nodes.iter().find(|n| n.kind == "alert").unwrap();
        assert!(
            matches!(alert.props[0].args.as_slice(), [pipeline::Arg::Lambda(l)] if l.text.contains("usage_idle"))
        );
        assert!(matches!(values["all"], pipeline::Arg::Star));
        let bad_lambda: BTreeMap<String, Var> = serde_json::from_value(
            serde_json::json!({ "crit": { "type": "lambda", "value": "\"a\" >" } }),
        )
        .unwrap();
        assert!(var_values(&bad_lambda)
            .unwrap_err()
            .message
            .starts_with("var crit:"));
    }
}
