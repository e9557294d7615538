//! influx-rs: the tick-rs time-series store, speaking InfluxDB 1.x's HTTP API.
//!
//! # Layout
//! - [`config`]: typed configuration (defaults → file → env → flags).
//! - [`meta`]: the catalog of databases, retention policies and shard groups.
//! - [`storage`]: the engine — WAL, cache, column files, series index, compaction, retention.
//! - [`write`](mod@write): request body → points (line protocol, precision, validation) → engine.
//! - [`query`]: InfluxQL statements executed against the engine, in InfluxDB's JSON shape.
//! - [`subscriber`]: forwarding of accepted writes to subscription destinations (Kapacitor).
//! - [`cluster`]: a node of a cluster: writes and state-changing statements through a
//!   replicated log (NATS JetStream) that every node applies.
//! - [`http`]: the axum routes (`/ping`, `/health`, `/write`, `/api/v2/write`, `/query`, `/metrics`).
//!
//! A write flows `http` → `write` (parse, split per point) → `storage::Engine::write` →
//! shards (WAL + group commit + cache) → 204. Background threads snapshot caches into column
//! files and compact them; a tokio task drops expired shard groups.

/// The InfluxDB version this API is compatible with, announced to clients.
pub const COMPAT_VERSION: &str = "1.8.10";

pub mod backup;
pub mod bearer;
pub mod bootstrap;
pub mod cluster;
pub mod config;
pub mod continuous;
pub mod fsync;
pub mod http;
pub mod meta;
pub mod query;
pub mod storage;
pub mod subscriber;
pub mod users;
pub mod write;
