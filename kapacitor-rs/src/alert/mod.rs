//! What alerts produce and where it goes: the levels, the events the `alert()` and
//! `deadman()` nodes ([`crate::nodes::alert`], [`crate::nodes::alert::deadman`]) raise, and the
//! handlers that deliver them.

pub mod handlers;

use crate::point::{rfc3339, FieldValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Alert levels, ordered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Level {
    /// Nothing wrong.
    #[default]
    #[serde(rename = "OK")]
    Ok,
    /// `info`
    #[serde(rename = "INFO")]
    Info,
    /// `warn`
    #[serde(rename = "WARNING")]
    Warning,
    /// `crit`
    #[serde(rename = "CRITICAL")]
    Critical,
}

impl Level {
    /// `OK`, `INFO`, `WARNING`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        }
    }

    /// Its place in arrays indexed by level (`Ok` = 0 … `Critical` = 3).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An alert event, as handlers receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Rendered id.
    pub id: String,
    /// Rendered message.
    pub message: String,
    /// Rendered details (HTML).
    pub details: String,
    /// Time of the triggering data, ns.
    pub time: i64,
    /// Time since the episode began, ns.
    pub duration: i64,
    /// The new level.
    pub level: Level,
    /// The level before.
    pub previous_level: Level,
    /// Whether recoveries are sent.
    pub recoverable: bool,
    /// The triggering data in InfluxDB's result shape.
    pub data: serde_json::Value,
    /// The node's topic (`main:<task>:<node>`).
    pub topic: String,
    /// Tags of the triggering data (for the history written to the store).
    pub tags: BTreeMap<String, String>,
    /// Fields of the triggering data.
    pub fields: BTreeMap<String, FieldValue>,
}

impl Event {
    /// Kapacitor's alert JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "message": self.message,
            "details": self.details,
            "time": rfc3339(self.time),
            "duration": self.duration,
            "level": self.level.as_str(),
            "data": self.data,
            "previousLevel": self.previous_level.as_str(),
            "recoverable": self.recoverable,
        })
    }
}
