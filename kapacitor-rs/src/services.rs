//! What running nodes reach outside their task: the store (writes and queries), the alert
//! handlers, the `httpOut` caches, and the task's own input (for query results).

use crate::alert::handlers::HandlerJob;
use crate::point::{GroupKey, Message};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

/// How to reach the store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Base URL (`http://localhost:8086`).
    pub url: String,
    /// Basic-auth user (empty: none).
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// The HTTP client.
    pub client: reqwest::Client,
}

impl Store {
    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.username.is_empty() {
            req
        } else {
            req.basic_auth(&self.username, Some(&self.password))
        }
    }

    /// Writes line protocol (ns) to `db`.`rp`.
    pub async fn write(&self, db: &str, rp: &str, body: Vec<u8>) -> Result<(), String> {
        let mut params = vec![("db", db)];
        if !rp.is_empty() {
            params.push(("rp", rp));
        }
        let req = self
            .client
            .post(format!("{}/write", self.url.trim_end_matches('/')))
            .query(&params)
            .body(body);
        let resp = self.auth(req).send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "{}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default().trim()
            ))
        }
    }

    /// Runs InfluxQL `q` (POST) and returns the JSON answer.
    pub async fn query(&self, db: &str, q: &str) -> Result<serde_json::Value, String> {
        let req = self
            .client
            .post(format!("{}/query", self.url.trim_end_matches('/')))
            .form(&[("db", db), ("q", q), ("epoch", "ns")]);
        let resp = self.auth(req).send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(body["error"].as_str().unwrap_or("query failed").to_string());
        }
        if let Some(e) = body["results"][0]["error"].as_str() {
            return Err(e.to_string());
        }
        Ok(body)
    }
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
    pub store: Store,
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
