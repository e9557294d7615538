//! `alert()`: levels from lambdas, Kapacitor's state machine per alert id (resets,
//! `stateChangesOnly`, recoveries, flapping), events rendered from templates and sent to the
//! handlers, alert state kept across restarts.

pub mod deadman;

use super::{unknown, Node};
use crate::alert::handlers::{HandlerJob, HandlerSpec};
use crate::alert::{Event, Level};
use crate::lambda::Lambda;
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{Batch, FieldValue, GroupKey, Message, Point};
use crate::services::Services;
use crate::template::{TValue, Template};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Per-id state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AlertState {
    level: Level,
    #[serde(default)]
    history: VecDeque<Level>,
    /// Time of the first non-OK event of the current episode.
    episode_start: Option<i64>,
    /// Time of the last event sent.
    last_sent: Option<i64>,
    #[serde(default)]
    flapping: bool,
}

/// The alert node.
pub struct AlertNode {
    name: String,
    levels: [Option<Arc<Lambda>>; 4],
    resets: [Option<Arc<Lambda>>; 4],
    id: Template,
    message: Template,
    details: Template,
    state_changes_only: Option<i64>,
    no_recoveries: bool,
    flapping: Option<(f64, f64)>,
    history: usize,
    all: bool,
    id_tag: Option<String>,
    level_tag: Option<String>,
    id_field: Option<String>,
    level_field: Option<String>,
    message_field: Option<String>,
    duration_field: Option<String>,
    handlers: Vec<HandlerSpec>,
    topic: String,
    services: Services,
    states: HashMap<String, AlertState>,
    /// Rendered ids by measurement, group and a hash of the tags: rendering the id template
    /// for every point would cost more than the rest of the node.
    ids: HashMap<u64, String>,
    counts: [i64; 5],
}

const DEFAULT_ID: &str = "{{ .Name }}:{{ .Group }}";

const DEFAULT_MESSAGE: &str = "{{ .ID }} is {{ .Level }}";

const DEFAULT_DETAILS: &str = "{{ json . }}";

fn template(p: &crate::pipeline::Property, html: bool) -> Result<Template, PipelineError> {
    Template::parse(&args::string(p)?, html).map_err(|e| PipelineError::at(p.pos, e.to_string()))
}

impl AlertNode {
    /// Reads every property; handler sub-properties apply to the handler before them.
    pub fn build(decl: &NodeDecl, services: &Services) -> Result<Self, PipelineError> {
        let mut a = AlertNode {
            name: decl.name.clone(),
            levels: Default::default(),
            resets: Default::default(),
            id: Template::parse(DEFAULT_ID, false)
                .map_err(|e| PipelineError::at(decl.pos, e.to_string()))?,
            message: Template::parse(DEFAULT_MESSAGE, false)
                .map_err(|e| PipelineError::at(decl.pos, e.to_string()))?,
            details: Template::parse(DEFAULT_DETAILS, true)
                .map_err(|e| PipelineError::at(decl.pos, e.to_string()))?,
            state_changes_only: None,
            no_recoveries: false,
            flapping: None,
            history: 21,
            all: false,
            id_tag: None,
            level_tag: None,
            id_field: None,
            level_field: None,
            message_field: None,
            duration_field: None,
            handlers: Vec::new(),
            topic: format!("main:{}:{}", services.task, decl.name),
            services: services.clone(),
            states: HashMap::new(),
            ids: HashMap::new(),
            counts: [0; 5],
        };
        for p in &decl.props {
            a.property(decl, p)?;
        }
        for h in &services.global_handlers {
            if !a.handlers.contains(h) {
                a.handlers.push(h.clone());
            }
        }
        a.states = a.load_state();
        Ok(a)
    }

    fn property(
        &mut self,
        decl: &NodeDecl,
        p: &crate::pipeline::Property,
    ) -> Result<(), PipelineError> {
        match p.name.as_str() {
            "info" => self.levels[Level::Info.index()] = Some(args::lambda(p)?),
            "warn" => self.levels[Level::Warning.index()] = Some(args::lambda(p)?),
            "crit" => self.levels[Level::Critical.index()] = Some(args::lambda(p)?),
            "infoReset" => self.resets[Level::Info.index()] = Some(args::lambda(p)?),
            "warnReset" => self.resets[Level::Warning.index()] = Some(args::lambda(p)?),
            "critReset" => self.resets[Level::Critical.index()] = Some(args::lambda(p)?),
            "id" => self.id = template(p, false)?,
            "message" => self.message = template(p, false)?,
            "details" => self.details = template(p, true)?,
            "stateChangesOnly" => {
                self.state_changes_only = Some(match p.args.as_slice() {
                    [] => 0,
                    _ => args::duration(p)?,
                })
            }
            "noRecoveries" => self.no_recoveries = args::flag(p)?,
            "flapping" => match p.args.as_slice() {
                [Arg::Value(crate::lambda::Value::Float(low)), Arg::Value(crate::lambda::Value::Float(high))] => {
                    self.flapping = Some((*low, *high))
                }
                _ => {
                    return Err(PipelineError::at(
                        p.pos,
                        "flapping takes two floats (low, high)",
                    ))
                }
            },
            "history" => self.history = usize::try_from(args::int(p)?).unwrap_or(2).max(2),
            "all" => self.all = args::flag(p)?,
            "idTag" => self.id_tag = Some(args::string(p)?),
            "levelTag" => self.level_tag = Some(args::string(p)?),
            "idField" => self.id_field = Some(args::string(p)?),
            "levelField" => self.level_field = Some(args::string(p)?),
            "messageField" => self.message_field = Some(args::string(p)?),
            "durationField" => self.duration_field = Some(args::string(p)?),
            "topic" => self.topic = args::string(p)?,
            "quiet" | "category" | "inhibit" => {}
            "email" => self.handlers.push(HandlerSpec::Email {
                to: args::strings(p)?,
            }),
            "post" => self.handlers.push(HandlerSpec::Post {
                url: args::string(p)?,
                headers: Vec::new(),
                timeout: Duration::from_secs(10),
            }),
            "log" => {
                let path = std::path::PathBuf::from(args::string(p)?);
                if !path.is_absolute() {
                    return Err(PipelineError::at(
                        p.pos,
                        format!("log path must be absolute: {}", path.display()),
                    ));
                }
                self.services
                    .sandbox
                    .check_log(&path)
                    .map_err(|e| PipelineError::at(p.pos, e))?;
                self.handlers.push(HandlerSpec::Log { path, mode: 0o600 })
            }
            "tcp" => self.handlers.push(HandlerSpec::Tcp {
                address: args::string(p)?,
            }),
            "exec" => {
                let argv = args::strings(p)?;
                let program = argv.first().map(String::as_str).unwrap_or("");
                self.services
                    .sandbox
                    .check_exec(program)
                    .map_err(|e| PipelineError::at(p.pos, e))?;
                self.handlers.push(HandlerSpec::Exec { argv })
            }
            "slack" => self.handlers.push(HandlerSpec::Slack {
                channel: String::new(),
                username: String::new(),
                icon_emoji: String::new(),
            }),
            "to" => match last_handler(&mut self.handlers, p)? {
                HandlerSpec::Email { to } => to.extend(args::strings(p)?),
                _ => return Err(unknown(decl, p)),
            },
            "header" => match (last_handler(&mut self.handlers, p)?, p.args.as_slice()) {
                (
                    HandlerSpec::Post { headers, .. },
                    [Arg::Value(crate::lambda::Value::Str(k)), Arg::Value(crate::lambda::Value::Str(v))],
                ) => headers.push((k.clone(), v.clone())),
                _ => return Err(unknown(decl, p)),
            },
            "timeout" => {
                let d = args::duration(p)?;
                match last_handler(&mut self.handlers, p)? {
                    HandlerSpec::Post { timeout, .. } => {
                        *timeout = Duration::from_nanos(u64::try_from(d).unwrap_or(0))
                    }
                    _ => return Err(unknown(decl, p)),
                }
            }
            "captureResponse" | "skipSSLVerification" | "endpoint" => {
                last_handler(&mut self.handlers, p)?;
            }
            "mode" => {
                let m = args::int(p)?;
                match last_handler(&mut self.handlers, p)? {
                    HandlerSpec::Log { mode, .. } => *mode = u32::try_from(m).unwrap_or(0o600),
                    _ => return Err(unknown(decl, p)),
                }
            }
            "channel" | "username" | "iconEmoji" | "workspace" => {
                let v = args::string(p)?;
                match last_handler(&mut self.handlers, p)? {
                    HandlerSpec::Slack {
                        channel,
                        username,
                        icon_emoji,
                    } => match p.name.as_str() {
                        "channel" => *channel = v,
                        "username" => *username = v,
                        "iconEmoji" => *icon_emoji = v,
                        _ => {}
                    },
                    _ => return Err(unknown(decl, p)),
                }
            }
            _ => return Err(unknown(decl, p)),
        }
        Ok(())
    }

    fn state_file(&self) -> std::path::PathBuf {
        self.services
            .state_dir
            .join(format!("{}.{}.json", self.services.task, self.name))
    }

    fn load_state(&self) -> HashMap<String, AlertState> {
        std::fs::read(self.state_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_state(&self) {
        let path = self.state_file();
        let tmp = path.with_extension("tmp");
        let written = serde_json::to_vec(&self.states)
            .map_err(|e| e.to_string())
            .and_then(|bytes| std::fs::write(&tmp, bytes).map_err(|e| e.to_string()))
            .and_then(|_| std::fs::rename(&tmp, &path).map_err(|e| e.to_string()));
        if let Err(e) = written {
            tracing::warn!(task = %self.services.task, "saving alert state: {e}");
        }
    }

    /// The level of one point, given the current level (Kapacitor's order of evaluation).
    fn level_of(&self, p: &Point, current: Level) -> Level {
        let holds =
            |l: &Option<Arc<Lambda>>| l.as_ref().is_some_and(|l| l.test(p).unwrap_or(false));
        for level in [Level::Critical, Level::Warning, Level::Info] {
            if level > current && holds(&self.levels[level.index()]) {
                return level;
            }
        }
        if current != Level::Ok {
            if let Some(reset) = &self.resets[current.index()] {
                if !reset.test(p).unwrap_or(false) {
                    return current;
                }
            }
        }
        for level in [Level::Critical, Level::Warning, Level::Info] {
            if level <= current && holds(&self.levels[level.index()]) {
                return level;
            }
        }
        Level::Ok
    }

    fn data(
        &self,
        name: &str,
        group: &GroupKey,
        tags: &BTreeMap<String, String>,
    ) -> BTreeMap<String, TValue> {
        let tag_map = tags
            .iter()
            .map(|(k, v)| (k.clone(), TValue::Str(v.clone())))
            .collect();
        BTreeMap::from([
            ("Name".to_string(), TValue::Str(name.to_string())),
            (
                "TaskName".to_string(),
                TValue::Str(self.services.task.clone()),
            ),
            (
                "Group".to_string(),
                TValue::Str(group.display().to_string()),
            ),
            ("Tags".to_string(), TValue::Map(tag_map)),
            (
                "ServerInfo".to_string(),
                TValue::Map(BTreeMap::from([
                    (
                        "Hostname".to_string(),
                        TValue::Str(self.services.hostname.clone()),
                    ),
                    ("ClusterID".to_string(), TValue::Str(String::new())),
                    ("ServerID".to_string(), TValue::Str(String::new())),
                ])),
            ),
        ])
    }

    /// The alert id of data named `name` in `group` with `tags`.
    fn id_of(&mut self, name: &str, group: &GroupKey, tags: &BTreeMap<String, String>) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (name, &group.0, tags).hash(&mut h);
        let key = h.finish();
        if let Some(id) = self.ids.get(&key) {
            return id.clone();
        }
        let id = self
            .id
            .render(&TValue::Map(self.data(name, group, tags)))
            .unwrap_or_else(|e| e.to_string());
        if self.ids.len() > 100_000 {
            self.ids.clear();
        }
        self.ids.insert(key, id.clone());
        id
    }

    /// Updates the state of the id and returns the event to send, if any.
    fn handle(
        &mut self,
        id: String,
        msg: &Message,
        level: Level,
        trigger: &Point,
    ) -> Option<Event> {
        let (name, group, tags) = match msg {
            Message::Point(p) => (&p.name, &p.group, &p.tags),
            Message::Batch(b) => (&b.name, &b.group, &b.tags),
        };
        let history = self.history;
        if !self.states.contains_key(&id) {
            self.states.insert(id.clone(), AlertState::default());
        }
        let state = self.states.get_mut(&id)?;
        let previous = state.level;
        let time = trigger.time;
        state.history.push_back(level);
        while state.history.len() > history {
            state.history.pop_front();
        }
        if let Some((low, high)) = self.flapping {
            let p = flap_percentage(&state.history);
            state.flapping = if state.flapping { p >= low } else { p > high };
        }
        state.level = level;
        if level != Level::Ok && previous == Level::Ok {
            state.episode_start = Some(time);
        }
        let duration = state.episode_start.map_or(0, |start| time - start);
        let changed = level != previous;
        let suppressed = state.flapping
            || (!changed
                && self.state_changes_only.is_some_and(|max| {
                    max == 0 || state.last_sent.is_some_and(|last| time - last < max)
                }));
        let send =
            !suppressed && (level != Level::Ok || (previous != Level::Ok && !self.no_recoveries));
        if level == Level::Ok {
            state.episode_start = None;
        }
        if send {
            state.last_sent = Some(time);
        }
        if changed || send {
            self.save_state();
        }
        if !send {
            return None;
        }
        let mut data = self.data(name, group, tags);
        data.insert("ID".into(), TValue::Str(id.clone()));
        data.insert("Level".into(), TValue::Str(level.as_str().into()));
        data.insert(
            "Fields".into(),
            TValue::Map(
                trigger
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), field_tvalue(v)))
                    .collect(),
            ),
        );
        data.insert("Time".into(), TValue::Time(time));
        data.insert("Duration".into(), TValue::Duration(duration));
        let message = self
            .message
            .render(&TValue::Map(data.clone()))
            .unwrap_or_else(|e| e.to_string());
        data.insert("Message".into(), TValue::Str(message.clone()));
        let details = self
            .details
            .render(&TValue::Map(data))
            .unwrap_or_else(|e| e.to_string());
        self.counts[0] += 1;
        self.counts[1 + level.index()] += 1;
        Some(Event {
            id,
            message,
            details,
            time,
            duration,
            level,
            previous_level: previous,
            recoverable: !self.no_recoveries,
            data: msg.to_result_json(),
            topic: self.topic.clone(),
            tags: tags.clone(),
            fields: trigger.fields.clone(),
        })
    }

    fn emit(&self, event: &Arc<Event>) {
        self.record(event);
        self.services.events.record(event);
        for handler in &self.handlers {
            let job = HandlerJob {
                task: self.services.task.clone(),
                handler: handler.clone(),
                event: Arc::clone(event),
            };
            if self.services.handlers.try_send(job).is_err() {
                tracing::warn!(task = %self.services.task, id = %event.id, "alert handler queue full; event dropped");
            }
        }
    }

    /// Writes the event where Chronograf's alert history reads it: tags `alertID`, `level`,
    /// `alertName`, `triggerType` and the group's; fields `value`, `message`, `duration`.
    fn record(&self, event: &Event) {
        let Some(h) = &self.services.history else {
            return;
        };
        let mut tags: Vec<(String, String)> = event
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push(("alertID".into(), event.id.clone()));
        tags.push(("level".into(), event.level.as_str().into()));
        tags.push(("alertName".into(), self.services.task.clone()));
        tags.push(("triggerType".into(), "kapacitor-rs".into()));
        tags.retain(|(_, v)| !v.is_empty());
        tags.sort();
        let value = event
            .fields
            .get("value")
            .or_else(|| event.fields.values().find(|v| v.as_f64().is_some()))
            .and_then(FieldValue::as_f64);
        let mut fields: Vec<(&str, lineproto::Value<'_>)> = vec![
            ("message", lineproto::Value::String(&event.message)),
            ("duration", lineproto::Value::Integer(event.duration)),
        ];
        if let Some(v) = value.filter(|v| v.is_finite()) {
            fields.push(("value", lineproto::Value::Float(v)));
        }
        let mut w = lineproto::LineWriter::default();
        if w.write_line(&h.measurement, &tags, &fields, Some(event.time))
            .is_err()
        {
            return;
        }
        let (store, db, rp, body) = (
            self.services.store.clone(),
            h.database.clone(),
            h.retention_policy.clone(),
            w.into_bytes(),
        );
        self.services.runtime.spawn(async move {
            /// Tries of one event's write: the store may be busy or restarting for a while.
            const ATTEMPTS: u32 = 5;
            if let Err(e) = store.create_database(&db).await {
                tracing::warn!(db, "alert history: {e}");
            }
            for attempt in 1..=ATTEMPTS {
                match crate::services::write(&store, &db, &rp, body.clone()).await {
                    Ok(()) => return,
                    Err(e) if attempt == ATTEMPTS => {
                        tracing::warn!(
                            db,
                            attempt,
                            "alert history write failed, event not recorded: {e}"
                        );
                    }
                    Err(e) => {
                        tracing::warn!(db, attempt, "alert history write failed, retrying: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(500 << attempt)).await;
                    }
                }
            }
        });
    }

    /// Adds the id, level, message and duration tags/fields the script asked for.
    fn annotate(&self, mut p: Point, e: &Event) -> Point {
        if let Some(t) = &self.id_tag {
            p.tags.insert(t.clone(), e.id.clone());
        }
        if let Some(t) = &self.level_tag {
            p.tags.insert(t.clone(), e.level.as_str().into());
        }
        if let Some(f) = &self.id_field {
            p.fields.insert(f.clone(), FieldValue::Str(e.id.clone()));
        }
        if let Some(f) = &self.level_field {
            p.fields
                .insert(f.clone(), FieldValue::Str(e.level.as_str().into()));
        }
        if let Some(f) = &self.message_field {
            p.fields
                .insert(f.clone(), FieldValue::Str(e.message.clone()));
        }
        if let Some(f) = &self.duration_field {
            p.fields.insert(f.clone(), FieldValue::Int(e.duration));
        }
        p
    }
}

/// The handler a sub-property (`.to()`, `.header()`) applies to: the last one named.
fn last_handler<'a>(
    handlers: &'a mut [HandlerSpec],
    p: &crate::pipeline::Property,
) -> Result<&'a mut HandlerSpec, PipelineError> {
    handlers.last_mut().ok_or_else(|| {
        PipelineError::at(
            p.pos,
            format!("no method or property \"{}\" on alert", p.name),
        )
    })
}

fn field_tvalue(v: &FieldValue) -> TValue {
    match v {
        FieldValue::Float(f) => TValue::Float(*f),
        FieldValue::Int(i) => TValue::Int(*i),
        FieldValue::Str(s) => TValue::Str(s.clone()),
        FieldValue::Bool(b) => TValue::Bool(*b),
    }
}

/// Share of level changes over the history, newer changes weighing more (0.8 → 1.2), as
/// Kapacitor computes it.
fn flap_percentage(history: &VecDeque<Level>) -> f64 {
    let n = history.len();
    if n < 2 {
        return 0.0;
    }
    let step = 0.4 / (n - 1) as f64;
    let mut changes = 0.0;
    let mut weight = 0.8;
    let mut total = 0.0;
    for pair in history.iter().collect::<Vec<_>>().windows(2) {
        weight += step;
        total += weight;
        if pair[0] != pair[1] {
            changes += weight;
        }
    }
    changes / total
}

impl Node for AlertNode {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let id = match &msg {
            Message::Point(p) => self.id_of(&p.name, &p.group, &p.tags),
            Message::Batch(b) => self.id_of(&b.name, &b.group, &b.tags),
        };
        let now = self.states.get(&id).map(|s| s.level).unwrap_or_default();
        let (level, batch_trigger) = match &msg {
            Message::Point(p) => (self.level_of(p, now), None),
            Message::Batch(b) => {
                let levels: Vec<(Level, &Point)> = b
                    .points
                    .iter()
                    .map(|p| (self.level_of(p, now), p))
                    .collect();
                let chosen = if self.all {
                    levels.iter().min_by_key(|(l, _)| *l)
                } else {
                    levels.iter().max_by_key(|(l, _)| *l)
                };
                match chosen {
                    Some((l, p)) if *l != Level::Ok && !self.all => (*l, Some((*p).clone())),
                    Some((l, _)) => (*l, Some(batch_point(b))),
                    None => (Level::Ok, Some(batch_point(b))),
                }
            }
        };
        let trigger = match (&msg, &batch_trigger) {
            (_, Some(t)) => t,
            (Message::Point(p), None) => p,
            (Message::Batch(_), None) => return Vec::new(),
        };
        let Some(event) = self.handle(id, &msg, level, trigger) else {
            return Vec::new();
        };
        let event = Arc::new(event);
        self.emit(&event);
        let out = match msg {
            Message::Point(p) => Message::Point(self.annotate(p, &event)),
            Message::Batch(mut b) => {
                b.points = b
                    .points
                    .into_iter()
                    .map(|p| self.annotate(p, &event))
                    .collect();
                Message::Batch(b)
            }
        };
        vec![out]
    }

    fn stats(&self) -> Vec<(&'static str, i64)> {
        vec![
            ("alerts_triggered", self.counts[0]),
            ("oks_triggered", self.counts[1]),
            ("infos_triggered", self.counts[2]),
            ("warns_triggered", self.counts[3]),
            ("crits_triggered", self.counts[4]),
        ]
    }
}

fn batch_point(b: &Batch) -> Point {
    Point {
        name: b.name.clone(),
        db: String::new(),
        rp: String::new(),
        tags: b.tags.clone(),
        fields: b
            .points
            .last()
            .map(|p| p.fields.clone())
            .unwrap_or_default(),
        time: b.time,
        group: b.group.clone(),
        dims: b.dims.clone(),
    }
}

#[cfg(test)]
mod tests;
