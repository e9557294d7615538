//! kapacitor-rs: Kapacitor's alerting engine — TICKscript tasks on the points the store
//! forwards (stream) or on periodic queries (batch), alert state per group, and handlers that
//! tell people (e-mail above all).
//!
//! Layout:
//! - [`config`]: `kapacitor-rs.toml` and `KAPACITOR_RS_*` overrides;
//! - [`pipeline`]: a TICKscript (parsed by the `tickscript` crate) evaluated into a task graph;
//! - [`lambda`], [`template`]: lambda expressions and Go-style templates;
//! - [`point`]: points, batches and groups flowing between nodes;
//! - [`nodes`]: the node executors; [`alert`]: the alert node, its state machine and handlers;
//! - [`runner`]: a running task; [`tasks`]: task definitions, persistence and routing;
//! - [`services`]: what nodes reach outside (the store, handlers, `httpOut` caches);
//! - [`subscriptions`]: registering with the store; [`http`]: the `/kapacitor/v1` API;
//!   [`auth`]: its users and their permissions.
//!
//! Points arrive on `/write` → [`tasks::Tasks::route`] → each matching task's queue →
//! [`runner`] → nodes → alert events → handler deliveries (own tasks, retried).

pub mod alert;
pub mod auth;
pub mod config;
pub mod http;
pub mod lambda;
pub mod nodes;
pub mod pipeline;
pub mod point;
pub mod runner;
pub mod services;
pub mod subscriptions;
pub mod tasks;
pub mod template;
