//! What running nodes reach outside their task: the store (writes and queries), the alert
//! handlers, the `httpOut` caches, and the task's own input (for query results).

use crate::alert::handlers::HandlerJob;
use crate::point::{GroupKey, Message};
use influx_client::{Client, Epoch, Query, QueryResponse, Write};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// Runs InfluxQL `q` on `db` with nanosecond epochs; a statement's error is an error here, as
/// every node and the subscriber treat it.
pub async fn query(store: &Client, db: &str, q: &str) -> Result<QueryResponse, String> {
    let answer = store
        .query(&Query::new(q).database(db).epoch(Epoch::Ns))
        .await
        .map_err(|e| e.to_string())?;
    match answer.first_error() {
        Some(e) => Err(e.to_string()),
        None => Ok(answer),
    }
}

/// Writes line protocol (ns) to `db`.`rp`.
pub async fn write(store: &Client, db: &str, rp: &str, body: Vec<u8>) -> Result<(), String> {
    store
        .write(&Write::new(db).retention_policy(rp), body)
        .await
        .map_err(|e| e.to_string())
}

/// Latest data of every `httpOut` node, by task and node name, then group.
pub type HttpOutCache =
    Arc<Mutex<HashMap<(String, String), BTreeMap<GroupKey, serde_json::Value>>>>;

/// Reads the cache of one `httpOut`.
pub fn http_out_series(cache: &HttpOutCache, task: &str, name: &str) -> Option<serde_json::Value> {
    let map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    let groups = map.get(&(task.to_string(), name.to_string()))?;
    let series: Vec<serde_json::Value> = groups
        .values()
        .flat_map(|v| v["series"].as_array().cloned().unwrap_or_default())
        .collect();
    Some(serde_json::json!({ "series": series }))
}

/// The last event of every alert id, by topic, for the alert topics API.
#[derive(Debug, Clone, Default)]
pub struct EventStore {
    inner: Arc<Mutex<BTreeMap<String, Topic>>>,
    /// Every event in order, when recording a replay.
    log: Option<Arc<Mutex<Vec<Arc<crate::alert::Event>>>>>,
}

/// One topic's events and how many it has collected.
#[derive(Debug, Clone, Default)]
pub struct Topic {
    /// Events received since start.
    pub collected: u64,
    /// The last event of each id.
    pub events: BTreeMap<String, Arc<crate::alert::Event>>,
}

impl EventStore {
    /// A store that also keeps every event in order (for replays).
    pub fn recording() -> Self {
        EventStore {
            inner: Arc::default(),
            log: Some(Arc::default()),
        }
    }

    /// Every event recorded, in order (empty unless [`EventStore::recording`]).
    pub fn log(&self) -> Vec<Arc<crate::alert::Event>> {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .unwrap_or_default()
    }

    /// Records `event` under its topic.
    pub fn record(&self, event: &Arc<crate::alert::Event>) {
        if let Some(log) = &self.log {
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Arc::clone(event));
        }
        let mut topics = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let topic = topics.entry(event.topic.clone()).or_default();
        topic.collected += 1;
        topic.events.insert(event.id.clone(), Arc::clone(event));
    }

    /// A copy of every topic.
    pub fn topics(&self) -> BTreeMap<String, Topic> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets a topic; whether it existed.
    pub fn delete(&self, topic: &str) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(topic)
            .is_some()
    }
}

/// Something a node started that comes back into its task later.
#[derive(Debug)]
pub enum TaskInput {
    /// Points written to Kapacitor.
    Points(Arc<Vec<crate::point::Point>>),
    /// Messages a node produced asynchronously (query results), for its children.
    Deliver {
        /// The node.
        node: usize,
        /// What it produced.
        messages: Vec<Message>,
    },
}

/// Handles given to every node of one task.
#[derive(Debug, Clone)]
pub struct Services {
    /// The task id.
    pub task: String,
    /// This server's host name (templates' `.ServerInfo.Hostname`).
    pub hostname: String,
    /// The store.
    pub store: Client,
    /// Where alert events go.
    pub handlers: mpsc::Sender<HandlerJob>,
    /// `httpOut` caches.
    pub http_out: HttpOutCache,
    /// The task's own input.
    pub input: mpsc::Sender<TaskInput>,
    /// Where the task's alert state is kept across restarts.
    pub state_dir: std::path::PathBuf,
    /// Runtime for what nodes start in the background.
    pub runtime: tokio::runtime::Handle,
    /// Where alert events are recorded (`None` when the task records them itself).
    pub history: Option<crate::config::AlertHistoryConfig>,
    /// The last events per topic.
    pub events: EventStore,
    /// Handlers every alert uses without naming them (`[smtp] global = true`).
    pub global_handlers: Vec<crate::alert::handlers::HandlerSpec>,
    /// What `.exec()` and `.log()` may reach.
    pub sandbox: std::sync::Arc<crate::config::SandboxConfig>,
}
