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
}
